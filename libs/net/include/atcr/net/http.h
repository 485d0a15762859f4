// Beast-free HTTP types shared by the server, its handlers and the client: methods, headers,
// requests with a pull-based streaming body, and responses whose body is a string, a file
// range (sent zero-copy) or a producer coroutine. Handlers are C++20 coroutines on Asio.
// A Request/Response belongs to one connection at a time; nothing here is thread-safe.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "atcr/base/encoding.h"
#include "atcr/base/result.h"

namespace atcr::net {

// GCC 12 destroys braced temporaries inside a co_await expression twice: write
// `Foo f{...}; co_await Bar(std::move(f));`, never `co_await Bar({...})` (see README.md).
template <typename T>
using Task = boost::asio::awaitable<T>;

enum class Method : uint8_t { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };
std::string_view MethodName(Method m);
Method ParseMethod(std::string_view name);

// Ordered header list; names compare case-insensitively.
class Headers {
 public:
  std::optional<std::string_view> Get(std::string_view name) const;
  std::vector<std::string_view> GetAll(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }
  void Add(std::string name, std::string value);
  void Set(std::string name, std::string value);  // replaces every existing value
  void Remove(std::string_view name);
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

// The request body, pulled by the handler. Bytes arrive only as fast as the handler reads
// them (TCP backpressure). The limit starts at the route's max_body and may be changed by the
// handler before the first Read (e.g. raised for blob uploads, lowered for manifests).
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Up to buf.size() bytes; 0 means the body is complete. Errors: kResourceExhausted when the
  // body is larger than the limit; kDeadlineExceeded / kUnavailable on timeout or disconnect.
  virtual Task<Result<size_t>> Read(std::span<uint8_t> buf) = 0;
  // nullopt for a chunked body whose length is not known yet.
  virtual std::optional<uint64_t> content_length() const = 0;
  virtual void set_limit(uint64_t max_bytes) = 0;
  virtual uint64_t limit() const = 0;
  virtual uint64_t bytes_read() const = 0;

  // Reads the rest of the body into a string; kResourceExhausted beyond min(limit, max_bytes).
  Task<Result<std::string>> ReadAll(uint64_t max_bytes);
  // Reads and discards the rest of the body (so the connection can be kept alive).
  Task<Result<void>> Drain();
};

struct Request {
  Method method = Method::kGet;
  std::string method_name;  // as sent, e.g. "GET"
  std::string target;       // raw request target: path plus "?query"
  std::string path;         // percent-decoded path, no query
  std::string raw_path;     // path as sent
  std::string query;        // raw query string without '?'
  Headers headers;
  std::string remote;       // "ip:port" of the peer
  BodyReader* body = nullptr;  // never null inside a handler
  std::string route;        // label for metrics and the access log; handlers may refine it

  // First value of a query parameter, percent-decoded ('+' as space).
  std::optional<std::string> Query(std::string_view key) const;
  std::vector<std::string> QueryAll(std::string_view key) const;
};

// A byte range of an open file, sent with sendfile(2). The server takes ownership of fd and
// closes it on every path (HEAD, errors, client gone). A file shorter than the range closes
// the connection, since the announced Content-Length can no longer be met.
struct FileBody {
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// Sink for streaming response bodies.
class BodyWriter {
 public:
  virtual ~BodyWriter() = default;
  virtual Task<Result<void>> Write(ByteSpan data) = 0;
};
using StreamBody = std::function<Task<Result<void>>(BodyWriter&)>;

class WebSocket;  // websocket.h
// Runs on the connection once the server has accepted a WebSocket upgrade (websocket.h).
using WebSocketSession = std::function<Task<void>(WebSocket&)>;

struct Response {
  int status = 200;
  Headers headers;
  std::variant<std::monostate, std::string, FileBody, StreamBody> body;
  // Content-Length to announce when the body is a stream of known size, or for a HEAD
  // response (which never carries a body). Otherwise derived from the body.
  std::optional<uint64_t> content_length;

  static Response Empty(int status);
  static Response Text(int status, std::string text,
                       std::string content_type = "text/plain; charset=utf-8");
  static Response Json(int status, std::string json);

  // Set by WebSocketUpgrade: the server answers the request's WebSocket handshake (101) and
  // runs the session on the connection; status, body and content_length are then unused, and
  // headers are added to the 101 response. See websocket.h.
  WebSocketSession websocket;
  uint64_t websocket_max_message_bytes = 0;  // 0: ServerOptions::websocket_max_message_bytes
  static Response WebSocketUpgrade(WebSocketSession session, uint64_t max_message_bytes = 0);
};

using Handler = std::function<Task<Response>(Request&)>;

// Percent-decoding for paths and query components; fails on a malformed escape.
Result<std::string> PercentDecode(std::string_view in, bool plus_as_space = false);
std::string PercentEncode(std::string_view in);  // unreserved characters kept

// Runs fn on the process-wide bounded pool for blocking work (file I/O, fsync, SQLite) and
// resumes the calling coroutine on its executor when fn returns.
Task<void> RunBlocking(std::function<void()> fn);

}  // namespace atcr::net
