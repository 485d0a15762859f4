// HTTP/1.1 server on Boost.Beast + Asio: one io_context, one thread per core, a coroutine per
// connection, keep-alive, streaming bodies with backpressure, header/body/idle/total limits,
// graceful shutdown, an access-log line per request, /metrics and /healthz built in.
// Construct, Start() (binds; port 0 picks a free port), then Stop() or RunUntilSignal().
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "atcr/base/result.h"
#include "atcr/net/metrics.h"
#include "atcr/net/router.h"

namespace atcr::net {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;
  int threads = 0;  // 0 = one per core
  size_t max_header_bytes = 16 * 1024;
  std::chrono::seconds header_timeout{30};   // to receive a complete request head
  std::chrono::seconds idle_timeout{60};     // keep-alive idle, and stalls while streaming
  std::chrono::seconds total_timeout{3600};  // one request, start to finish
  std::chrono::seconds drain_timeout{10};    // graceful shutdown wait for in-flight requests
  // WebSocket sessions (Response::WebSocketUpgrade): the largest incoming message (a
  // response may lower or raise it), and the idle timeout (ping after half of it without
  // traffic from the peer, close after all of it).
  uint64_t websocket_max_message_bytes = 1 << 20;
  std::chrono::seconds websocket_idle_timeout{60};
  bool access_log = true;
  // Answered by the server (GET/HEAD) before the router; empty disables.
  std::string health_path = "/healthz";
  std::string metrics_path = "/metrics";
  // Shared with handlers that publish their own gauges; the server creates one if null.
  std::shared_ptr<Metrics> metrics;
};

class Server {
 public:
  Server(ServerOptions options, Router router);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  Status Start();            // binds and starts the worker threads
  uint16_t port() const;     // the bound port, after Start()
  // Stop accepting, close idle connections, send a close frame (1001) to open WebSockets, let
  // in-flight requests and sessions finish (up to drain_timeout), join threads. Idempotent; never call it from a handler. The destructor
  // calls it.
  void Stop();
  Status RunUntilSignal();   // Start(), wait for SIGTERM/SIGINT (or Stop()), Stop()
  Metrics& metrics();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace atcr::net
