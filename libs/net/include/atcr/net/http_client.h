// HTTP/1.1 client for atcr's outbound calls (identity resolution, PDS and hold XRPC): one
// keep-alive connection pool per scheme://host:port, a coroutine API for code running on an
// Asio executor and a blocking API for tests and CLI tools. https uses OpenSSL with the system
// trust store, hostname verification and SNI. Redirects are returned as they are, never
// followed. Thread-safe: one HttpClient is meant to be shared by a whole process.
//
//   HttpClient client;
//   auto r = co_await client.Send({.method = Method::kGet, .url = "http://127.0.0.1:2583/x"});
//   if (!r.ok()) co_return r.error();  // kUnavailable, kDeadlineExceeded, kResourceExhausted
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "atcr/base/result.h"
#include "atcr/net/http.h"

namespace atcr::net {

struct ClientRequest {
  Method method = Method::kGet;  // kOther is rejected
  std::string url;               // absolute "http[s]://host[:port]/path?query"
  Headers headers;               // Host, Content-Length and Connection are set by the client
  std::string body;
  // The whole exchange: connect, send, receive the complete response.
  std::chrono::milliseconds timeout{30000};
};

struct ClientResponse {
  int status = 0;
  Headers headers;
  std::string body;
};

struct HttpClientOptions {
  uint64_t max_response_bytes = 64 * 1024 * 1024;  // larger bodies fail with kResourceExhausted
  size_t max_header_bytes = 64 * 1024;
  size_t max_idle_per_host = 16;
  // Pooled connections unused for longer are closed rather than reused (kept below the
  // common 60 s server idle timeout so a reused connection is rarely already closed).
  std::chrono::seconds idle_timeout{45};
  std::string user_agent = "atcr/0.1";
  // https: server certificates are verified against the system trust store (ca-certificates)
  // and this PEM file of extra CAs when set (private deployments, tests). A file that cannot
  // be loaded makes every https request fail with kInvalidArgument.
  std::string tls_ca_file;
  // Accept any server certificate and name. Only for local debugging against self-signed
  // peers; never set it for production traffic.
  bool insecure_skip_verify = false;
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Errors: kInvalidArgument (bad URL or header, unloadable tls_ca_file),
  // kUnavailable (DNS, connect, TLS handshake or certificate verification, reset, malformed
  // response), kDeadlineExceeded,
  // kResourceExhausted (response larger than max_response_bytes or its header too large).
  // A request on a reused connection that fails before any response byte arrives is retried
  // once on a new connection when the method is idempotent.
  Task<Result<ClientResponse>> Send(ClientRequest request);
  // Blocking flavour: runs its own io_context on the calling thread. Never call it from a
  // thread that runs an io_context (it would stall every coroutine on that thread).
  Result<ClientResponse> SendSync(ClientRequest request);

  // Idle pooled connections across all hosts (for tests and metrics).
  size_t idle_connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace atcr::net
