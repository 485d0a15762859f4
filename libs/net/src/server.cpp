// The HTTP/1.1 server: acceptor, per-connection coroutines, streaming request bodies,
// response writing (string, sendfile, stream), limits, graceful shutdown, access log, metrics.
// All Beast code of the server lives in this file (Beast TUs are slow to compile).
#include "atcr/net/server.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <ctime>
#include <future>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "internal/ascii.h"
#include "internal/watchdog.h"
#include "internal/websocket_core.h"

namespace atcr::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using internal::Clock;
using internal::Watchdog;
using ServerWebSocketCore = internal::WebSocketCore<tcp::socket>;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// A body the handler left unread is drained (to keep the connection) up to this many bytes;
// anything larger closes the connection instead.
constexpr uint64_t kMaxDrainBytes = 1024 * 1024;
// Lingering close: after the last response, read and discard for this long / this much so the
// client receives the response instead of a reset caused by its unread upload.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr uint64_t kMaxLingerBytes = 4 * 1024 * 1024;
// Largest amount handed to one write_some / sendfile call.
constexpr size_t kMaxWriteChunk = 4 * 1024 * 1024;
constexpr size_t kReadChunk = 16 * 1024;
// After the drain timeout, how long Stop() waits for force-closed connections to unwind.
constexpr auto kForceCloseGrace = std::chrono::seconds(2);

Method FromVerb(http::verb v) {
  switch (v) {
    case http::verb::get: return Method::kGet;
    case http::verb::head: return Method::kHead;
    case http::verb::post: return Method::kPost;
    case http::verb::put: return Method::kPut;
    case http::verb::patch: return Method::kPatch;
    case http::verb::delete_: return Method::kDelete;
    case http::verb::options: return Method::kOptions;
    default: return Method::kOther;
  }
}

// "Sun, 06 Nov 1994 08:49:37 GMT", recomputed at most once a second per thread.
std::string_view HttpDate() {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  thread_local time_t cached_at = -1;
  thread_local char buf[40];
  thread_local size_t len = 0;
  time_t now = time(nullptr);
  if (now != cached_at) {
    struct tm tm;
    gmtime_r(&now, &tm);
    int n = snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                     tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
    len = n > 0 ? static_cast<size_t>(n) : 0;
    cached_at = now;
  }
  return {buf, len};
}

std::string_view ReasonPhrase(int status) {
  auto r = http::obsolete_reason(static_cast<http::status>(status));
  if (r == "<unknown-status>") return {};
  return {r.data(), r.size()};
}

// Query values of keys that look like credentials are replaced before logging: signed URLs
// and OAuth callbacks carry bearer secrets in the query.
std::string RedactTarget(std::string_view target) {
  size_t q = target.find('?');
  std::string out(target.substr(0, q));
  if (q == std::string_view::npos) return out;
  out.push_back('?');
  std::string_view query = target.substr(q + 1);
  bool first = true;
  while (true) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    if (!first) out.push_back('&');
    first = false;
    size_t eq = pair.find('=');
    std::string lower;
    for (char c : pair.substr(0, eq)) lower.push_back(internal::ToLower(c));
    bool secret = eq != std::string_view::npos &&
                  (lower.find("sig") != std::string::npos ||
                   lower.find("token") != std::string::npos ||
                   lower.find("credential") != std::string::npos ||
                   lower.find("secret") != std::string::npos ||
                   lower.find("password") != std::string::npos || lower == "code" ||
                   lower.find("key") != std::string::npos);
    if (secret) {
      out += pair.substr(0, eq);
      out += "=REDACTED";
    } else {
      out += pair;
    }
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  if (out.size() > 2048) {
    out.resize(2048);
    out += "...";
  }
  return out;
}

// Closes an fd handed over in a FileBody on every path.
struct FdCloser {
  int fd = -1;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

class Connection;

// State shared by the acceptor, the connections and Server; outlives every connection.
struct ServerCore {
  ServerOptions options;
  Router router;
  std::shared_ptr<Metrics> metrics;
  Gauge* in_flight = nullptr;
  Gauge* connections_open = nullptr;
  Gauge* websockets_open = nullptr;
  std::atomic<bool> stopping{false};

  std::mutex mu;
  std::condition_variable cv;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> connections;  // guarded by mu

  void Register(Connection* c, std::weak_ptr<Connection> w) {
    std::lock_guard lock(mu);
    connections.emplace(c, std::move(w));
  }
  void Unregister(Connection* c) {
    std::lock_guard lock(mu);
    connections.erase(c);
    cv.notify_all();
  }
  // Runs fn(connection) on each live connection's strand.
  void PostToConnections(const std::function<void(Connection&)>& fn);
};

class BodyReaderImpl;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ServerCore& core, tcp::socket socket) : core_(core), socket_(std::move(socket)) {
    buffer_.max_size(core_.options.max_header_bytes + 64 * 1024);
    beast::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    if (!ec) {
      remote_ = ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
      remote_ += ":" + std::to_string(ep.port());
    }
    socket_.set_option(tcp::no_delay(true), ec);
    core_.connections_open->Add(1);
  }
  ~Connection() { core_.connections_open->Add(-1); }

  Task<void> Run();
  const tcp::socket::executor_type& executor() { return socket_.get_executor(); }

  // Both run on the connection's strand (posted by Server::Stop).
  // Graceful: an idle connection closes now, a WebSocket gets a close frame (1001).
  void OnStop() {
    if (ws_) {
      if (ws_->is_open()) {
        asio::co_spawn(ws_->executor(),
                       ServerWebSocketCore::Close(ws_, 1001, "server shutting down"),
                       asio::detached);
      }
    } else if (idle_) {
      CloseSocket();
    }
  }
  void CloseSocket() {
    beast::error_code ec;
    socket_.close(ec);
    if (ws_) ws_->ForceClose();
  }

 private:
  friend class BodyReaderImpl;
  friend class StreamWriter;

  // Deadline for one socket operation: idle timeout, capped by the request's total timeout.
  Clock::time_point OpDeadline() const {
    return std::min(Clock::now() + core_.options.idle_timeout, request_deadline_);
  }
  ErrorCode IoErrorCode() const {
    return watchdog_->fired() ? ErrorCode::kDeadlineExceeded : ErrorCode::kUnavailable;
  }

  Task<bool> ServeOne(Clock::time_point head_deadline);
  Task<Response> Dispatch(Request& req, BodyReaderImpl& body);
  // Accepts the WebSocket handshake of the current request and runs resp.websocket on it.
  // The connection ends afterwards.
  Task<void> ServeWebSocket(const Request& req, Response& resp, uint64_t head_bytes,
                            std::string_view method_label, Clock::time_point start);
  // Writes buffers completely; refreshes the idle deadline after every partial write.
  template <typename Buffers>
  Task<beast::error_code> WriteAll(const Buffers& buffers, uint64_t& bytes_out);
  Task<Result<void>> SendFile(int fd, uint64_t offset, uint64_t length, uint64_t& bytes_out);
  // Writes the response; false when the connection must close (broken framing, I/O error).
  Task<bool> WriteResponse(const Request& req, Response& resp, bool close, unsigned version,
                           uint64_t& bytes_out);
  Task<void> SendPlainError(int status, std::string_view text, uint64_t& bytes_out);
  Task<void> LingeringClose();
  void LogAndObserve(std::string_view method, std::string_view target, int status,
                     std::string_view route, uint64_t bytes_in, uint64_t bytes_out,
                     Clock::time_point start);

  ServerCore& core_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  std::shared_ptr<Watchdog> watchdog_;
  std::optional<http::request_parser<http::buffer_body>> parser_;
  std::string remote_;
  Clock::time_point request_deadline_ = Clock::time_point::max();
  bool idle_ = false;
  bool linger_ = false;  // the peer may still be sending: read before closing
  // Set once the connection became a WebSocket; it then owns the socket.
  std::shared_ptr<ServerWebSocketCore> ws_;
};

void ServerCore::PostToConnections(const std::function<void(Connection&)>& fn) {
  std::lock_guard lock(mu);
  for (auto& [ptr, weak] : connections) {
    if (auto c = weak.lock()) {
      asio::post(c->executor(), [c, fn] { fn(*c); });
    }
  }
}

class BodyReaderImpl final : public BodyReader {
 public:
  BodyReaderImpl(Connection& c, bool expect_continue)
      : c_(c), continue_pending_(expect_continue && !c.parser_->is_done()) {
    if (auto cl = c.parser_->content_length()) content_length_ = *cl;
  }

  Task<Result<size_t>> Read(std::span<uint8_t> buf) override {
    if (failed_) co_return *failed_;
    auto& p = *c_.parser_;
    if (p.is_done()) co_return size_t{0};
    if (buf.empty()) co_return Internal("BodyReader::Read called with an empty buffer");
    if (content_length_ && *content_length_ > limit_) {
      co_return Fail(ResourceExhausted("request body of " + std::to_string(*content_length_) +
                                       " bytes exceeds the limit of " + std::to_string(limit_) +
                                       " bytes"));
    }
    if (continue_pending_) {
      continue_pending_ = false;
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      uint64_t ignored = 0;
      auto ec = co_await c_.WriteAll(asio::buffer(kContinue.data(), kContinue.size()), ignored);
      if (ec) {
        broken_ = true;
        co_return Fail(Error(c_.IoErrorCode(), "sending 100 Continue: " + ec.message()));
      }
    }
    // Ask for at most one byte more than the limit allows, to detect an oversized body.
    uint64_t allowed = limit_ >= bytes_read_ ? limit_ - bytes_read_ : 0;
    // Saturating: set_limit(UINT64_MAX) means "no limit" and must not wrap to zero.
    uint64_t allowed_plus_one = allowed == UINT64_MAX ? allowed : allowed + 1;
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), allowed_plus_one));
    for (;;) {
      p.get().body().data = buf.data();
      p.get().body().size = want;
      c_.watchdog_->ExpireAt(c_.OpDeadline());
      auto [ec, n] = co_await http::async_read_some(c_.socket_, c_.buffer_, p, kUseTuple);
      c_.watchdog_->ExpireAt(c_.request_deadline_);
      if (ec == http::error::need_buffer) ec = {};
      size_t got = want - p.get().body().size;
      wire_bytes_ += n;
      if (ec) {
        broken_ = true;
        if (ec == http::error::end_of_stream || ec == asio::error::eof ||
            ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor ||
            ec == asio::error::connection_reset || ec == http::error::partial_message) {
          co_return Fail(Error(c_.IoErrorCode(), "reading request body: " + ec.message()));
        }
        co_return Fail(InvalidArgument("malformed request body: " + ec.message()));
      }
      if (got == 0 && !p.is_done()) continue;
      bytes_read_ += got;
      if (bytes_read_ > limit_) {
        co_return Fail(ResourceExhausted("request body exceeds the limit of " +
                                         std::to_string(limit_) + " bytes"));
      }
      co_return got;
    }
  }

  std::optional<uint64_t> content_length() const override { return content_length_; }
  void set_limit(uint64_t max_bytes) override { limit_ = max_bytes; }
  uint64_t limit() const override { return limit_; }
  uint64_t bytes_read() const override { return bytes_read_; }

  bool complete() const { return !broken_ && c_.parser_->is_done(); }
  bool continue_pending() const { return continue_pending_; }
  uint64_t wire_bytes() const { return wire_bytes_; }

  // After the handler: reads what is left of a small body so the connection can be reused.
  // A body over its limit is still well-framed and can be drained; a broken one cannot, and
  // one the client has not started sending (it waits for 100 Continue) must not be.
  Task<bool> DrainForReuse() {
    if (complete()) co_return true;
    if (broken_ || continue_pending_) co_return false;
    if (content_length_ && *content_length_ - bytes_read_ > kMaxDrainBytes) co_return false;
    failed_.reset();
    content_length_.reset();  // skip the up-front length check; the limit still applies
    limit_ = bytes_read_ + kMaxDrainBytes;
    auto r = co_await Drain();
    co_return r.ok();
  }

 private:
  Error Fail(Error e) {
    failed_ = e;
    return e;
  }

  Connection& c_;
  std::optional<uint64_t> content_length_;
  uint64_t limit_ = 0;
  uint64_t bytes_read_ = 0;
  uint64_t wire_bytes_ = 0;
  bool continue_pending_;
  bool broken_ = false;          // I/O or framing error: the connection cannot be reused
  std::optional<Error> failed_;  // returned by every Read after the first error
};

// Streams a StreamBody: Content-Length framing when the length is known, chunked otherwise
// (close-delimited for HTTP/1.0 peers). The head is written lazily with the first bytes so a
// producer that fails before writing anything can still be answered with a 500.
class StreamWriter final : public BodyWriter {
 public:
  enum class Mode { kFixed, kChunked, kUntilClose };
  StreamWriter(Connection& c, std::string head, Mode mode, uint64_t expected, uint64_t& bytes_out)
      : c_(c), head_(std::move(head)), mode_(mode), expected_(expected), bytes_out_(bytes_out) {}

  Task<Result<void>> Write(ByteSpan data) override {
    if (failed_) co_return Error(ErrorCode::kUnavailable, "response stream already failed");
    if (data.empty()) co_return Ok();
    if (mode_ == Mode::kFixed && written_ + data.size() > expected_) {
      failed_ = true;
      co_return Internal("stream body is longer than its content_length of " +
                         std::to_string(expected_) + " bytes");
    }
    std::array<asio::const_buffer, 4> bufs;
    size_t n = 0;
    if (!head_written_) bufs[n++] = asio::buffer(head_);
    char chunk_head[24];
    if (mode_ == Mode::kChunked) {
      int len = snprintf(chunk_head, sizeof chunk_head, "%zx\r\n", data.size());
      bufs[n++] = asio::buffer(chunk_head, static_cast<size_t>(len));
    }
    bufs[n++] = asio::buffer(data.data(), data.size());
    if (mode_ == Mode::kChunked) bufs[n++] = asio::buffer("\r\n", 2);
    auto ec = co_await c_.WriteAll(std::span<const asio::const_buffer>(bufs.data(), n), bytes_out_);
    head_written_ = true;
    if (ec) {
      failed_ = true;
      co_return Error(c_.IoErrorCode(), "writing response body: " + ec.message());
    }
    written_ += data.size();
    co_return Ok();
  }

  // After the producer returned ok: the terminating chunk, or the head of an empty body.
  Task<bool> Finish() {
    if (failed_) co_return false;
    if (mode_ == Mode::kFixed && written_ != expected_) co_return false;
    std::array<asio::const_buffer, 2> bufs;
    size_t n = 0;
    if (!head_written_) bufs[n++] = asio::buffer(head_);
    if (mode_ == Mode::kChunked) bufs[n++] = asio::buffer("0\r\n\r\n", 5);
    if (n == 0) co_return true;
    auto ec = co_await c_.WriteAll(std::span<const asio::const_buffer>(bufs.data(), n), bytes_out_);
    head_written_ = true;
    co_return !ec;
  }

  bool head_written() const { return head_written_; }

 private:
  Connection& c_;
  std::string head_;
  Mode mode_;
  uint64_t expected_;
  uint64_t& bytes_out_;
  uint64_t written_ = 0;
  bool head_written_ = false;
  bool failed_ = false;
};

template <typename Buffers>
Task<beast::error_code> Connection::WriteAll(const Buffers& buffers, uint64_t& bytes_out) {
  watchdog_->ExpireAt(OpDeadline());
  auto [ec, n] = co_await asio::async_write(
      socket_, buffers,
      [this](const beast::error_code& e, size_t) -> size_t {
        if (e) return 0;
        watchdog_->ExpireAt(OpDeadline());  // progress: the idle clock starts again
        return kMaxWriteChunk;
      },
      kUseTuple);
  watchdog_->ExpireAt(request_deadline_);
  bytes_out += n;
  co_return ec;
}

Task<Result<void>> Connection::SendFile(int fd, uint64_t offset, uint64_t length,
                                        uint64_t& bytes_out) {
  beast::error_code ec;
  socket_.native_non_blocking(true, ec);
  if (ec) co_return Internal("setting socket non-blocking: " + ec.message());
  auto off = static_cast<off_t>(offset);
  uint64_t remaining = length;
  while (remaining > 0) {
    ssize_t n = ::sendfile(socket_.native_handle(), fd, &off,
                           static_cast<size_t>(std::min<uint64_t>(remaining, kMaxWriteChunk)));
    if (n > 0) {
      remaining -= static_cast<uint64_t>(n);
      bytes_out += static_cast<uint64_t>(n);
      continue;
    }
    if (n == 0) {
      co_return Error(ErrorCode::kDataLoss,
                      "file ended " + std::to_string(remaining) + " bytes before the range");
    }
    int err = errno;
    if (err == EINTR) continue;
    if (err != EAGAIN && err != EWOULDBLOCK) co_return ErrnoError("sendfile", err);
    watchdog_->ExpireAt(OpDeadline());
    auto [wec] = co_await socket_.async_wait(tcp::socket::wait_write, kUseTuple);
    watchdog_->ExpireAt(request_deadline_);
    if (wec) co_return Error(IoErrorCode(), "waiting to send file: " + wec.message());
  }
  co_return Ok();
}

Task<void> Connection::Run() {
  auto self = shared_from_this();
  watchdog_ = Watchdog::Start(socket_.get_executor(), [this] { CloseSocket(); });
  bool first = true;
  try {
    for (;;) {
      if (core_.stopping.load()) break;
      // A new connection has header_timeout for its first request head; a kept-alive one
      // may sit idle for idle_timeout, then has header_timeout from the first byte.
      Clock::time_point head_deadline = Clock::now() + core_.options.header_timeout;
      if (buffer_.size() == 0) {
        // Waiting for the next request: the only state in which Stop() closes us right away.
        idle_ = true;
        watchdog_->ExpireAt(first ? head_deadline : Clock::now() + core_.options.idle_timeout);
        auto [ec, n] = co_await socket_.async_read_some(buffer_.prepare(kReadChunk), kUseTuple);
        idle_ = false;
        if (ec) break;
        buffer_.commit(n);
        if (!first) head_deadline = Clock::now() + core_.options.header_timeout;
      }
      watchdog_->reset_fired();
      if (!co_await ServeOne(head_deadline)) break;
      first = false;
    }
  } catch (const std::exception& e) {
    spdlog::error("http: connection {}: unexpected exception: {}", remote_, e.what());
    linger_ = false;
  }
  co_await LingeringClose();
  watchdog_->Stop();
  CloseSocket();
  core_.Unregister(this);
}

Task<void> Connection::LingeringClose() {
  if (!socket_.is_open()) co_return;
  beast::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  if (!linger_ || ec) co_return;
  watchdog_->ExpireAfter(kLingerTime);
  uint64_t discarded = 0;
  std::array<char, 16 * 1024> sink;
  while (discarded < kMaxLingerBytes) {
    auto [rec, n] = co_await socket_.async_read_some(asio::buffer(sink), kUseTuple);
    if (rec) break;
    discarded += n;
  }
}

Task<void> Connection::SendPlainError(int status, std::string_view text, uint64_t& bytes_out) {
  std::string msg = "HTTP/1.1 " + std::to_string(status) + " " +
                    std::string(ReasonPhrase(status)) + "\r\nDate: " + std::string(HttpDate()) +
                    "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                    std::to_string(text.size() + 1) + "\r\nConnection: close\r\n\r\n" +
                    std::string(text) + "\n";
  request_deadline_ = Clock::now() + core_.options.idle_timeout;
  co_await WriteAll(asio::buffer(msg), bytes_out);
}

void Connection::LogAndObserve(std::string_view method, std::string_view target, int status,
                               std::string_view route, uint64_t bytes_in, uint64_t bytes_out,
                               Clock::time_point start) {
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  core_.metrics->ObserveRequest(route, method, status, seconds, bytes_in, bytes_out);
  if (core_.options.access_log) {
    spdlog::info("http {} {} {} {} in={} out={} {:.3f}ms route={}", remote_, method,
                 RedactTarget(target), status, bytes_in, bytes_out, seconds * 1000.0, route);
  }
}

Task<bool> Connection::ServeOne(Clock::time_point head_deadline) {
  const auto& opt = core_.options;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(
      std::min<size_t>(opt.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());  // BodyReader enforces limits
  watchdog_->ExpireAt(head_deadline);
  auto [ec, head_bytes] = co_await http::async_read_header(socket_, buffer_, *parser_, kUseTuple);
  const auto start = Clock::now();
  uint64_t bytes_out = 0;
  if (ec) {
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      linger_ = true;
      co_await SendPlainError(431, "request header fields too large", bytes_out);
      LogAndObserve("-", "-", 431, "-", head_bytes, bytes_out, start);
    } else if (ec == http::error::end_of_stream || ec == asio::error::eof ||
               ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor ||
               ec == asio::error::connection_reset || ec == http::error::partial_message) {
      // The peer went away, or the header timeout closed the socket.
      if (watchdog_->fired()) spdlog::debug("http: {}: header timeout", remote_);
    } else {
      linger_ = true;
      co_await SendPlainError(400, "malformed request: " + ec.message(), bytes_out);
      LogAndObserve("-", "-", 400, "-", head_bytes, bytes_out, start);
    }
    co_return false;
  }
  request_deadline_ = start + opt.total_timeout;
  watchdog_->ExpireAt(request_deadline_);

  auto& head = parser_->get();
  Request req;
  req.method = FromVerb(head.method());
  req.method_name = std::string(head.method_string());
  req.target = std::string(head.target());
  req.remote = remote_;
  for (const auto& field : head) {
    req.headers.Add(std::string(field.name_string()), std::string(field.value()));
  }
  const std::string_view method_label =
      req.method == Method::kOther ? std::string_view("OTHER") : MethodName(req.method);

  // Request target: origin-form ("/path?query"), absolute-form (proxies), or "*" for OPTIONS.
  std::string_view target = req.target;
  std::string bad_request;
  if (target.starts_with('/')) {
    size_t q = target.find('?');
    req.raw_path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
  } else if (target == "*" && req.method == Method::kOptions) {
    req.raw_path = "*";
  } else if (auto u = boost::urls::parse_absolute_uri(target); u.has_value()) {
    req.raw_path = std::string(u->encoded_path());
    if (req.raw_path.empty()) req.raw_path = "/";
    if (u->has_query()) req.query = std::string(u->encoded_query());
  } else {
    bad_request = "malformed request target";
  }
  if (bad_request.empty()) {
    auto decoded = PercentDecode(req.raw_path);
    if (!decoded.ok()) {
      bad_request = "malformed request path: " + decoded.error().message;
    } else if (decoded->find('\0') != std::string::npos) {
      bad_request = "request path contains NUL";
    } else {
      req.path = std::move(*decoded);
    }
  }
  if (bad_request.empty() && head.version() >= 11 && head.find(http::field::host) == head.end()) {
    bad_request = "HTTP/1.1 request without a Host header";
  }
  if (!bad_request.empty()) {
    linger_ = true;
    co_await SendPlainError(400, bad_request, bytes_out);
    LogAndObserve(method_label, req.target, 400, "-", head_bytes, bytes_out, start);
    co_return false;
  }

  bool expect_continue = false;
  if (auto it = head.find(http::field::expect); it != head.end()) {
    expect_continue = head.version() >= 11 && internal::IEquals(it->value(), "100-continue");
  }
  BodyReaderImpl body(*this, expect_continue);
  req.body = &body;
  core_.in_flight->Add(1);

  Response resp = co_await Dispatch(req, body);
  if (resp.websocket) {
    if (!beast::websocket::is_upgrade(head)) {
      resp = Response::Json(
          400, R"({"error":"InvalidRequest","message":"this endpoint needs a WebSocket upgrade: GET with Connection: Upgrade and Upgrade: websocket"})");
    } else if (core_.stopping.load()) {
      resp = Response::Json(503, R"({"error":"NotEnoughResources","message":"server shutting down"})");
    } else if (!body.complete() || buffer_.size() != 0) {
      // A client must wait for the 101 before sending frames, and an upgrade has no body.
      resp = Response::Json(
          400, R"({"error":"InvalidRequest","message":"data sent before the WebSocket handshake completed"})");
      resp.headers.Set("Connection", "close");
    } else {
      core_.in_flight->Add(-1);
      co_await ServeWebSocket(req, resp, head_bytes, method_label, start);
      co_return false;
    }
  }
  FdCloser file_guard;
  if (auto* f = std::get_if<FileBody>(&resp.body)) file_guard.fd = f->fd;

  bool close = !head.keep_alive() || core_.stopping.load();
  if (auto c = resp.headers.Get("Connection"); c && internal::IEquals(*c, "close")) close = true;
  if (!body.complete()) {
    bool drained = co_await body.DrainForReuse();
    if (!drained) {
      close = true;
      linger_ = true;
    }
  }
  const unsigned version = head.version();
  bool keep = co_await WriteResponse(req, resp, close, version, bytes_out);
  core_.in_flight->Add(-1);
  LogAndObserve(method_label, req.target, resp.status, req.route, head_bytes + body.wire_bytes(),
                bytes_out, start);
  co_return keep && !close;
}

Task<void> Connection::ServeWebSocket(const Request& req, Response& resp, uint64_t head_bytes,
                                      std::string_view method_label, Clock::time_point start) {
  namespace websocket = beast::websocket;
  const auto& opt = core_.options;
  // The WebSocket has its own timers (handshake, idle pings); the connection's watchdog would
  // otherwise cut the session at total_timeout.
  watchdog_->Disarm();
  auto core = std::make_shared<ServerWebSocketCore>(remote_, std::move(socket_));
  ws_ = core;
  auto& ws = core->stream();
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = opt.header_timeout;
  timeouts.idle_timeout = opt.websocket_idle_timeout;
  timeouts.keep_alive_pings = true;
  ws.set_option(timeouts);
  core->set_max_message_bytes(resp.websocket_max_message_bytes != 0
                                  ? resp.websocket_max_message_bytes
                                  : opt.websocket_max_message_bytes);
  ws.auto_fragment(false);
  Headers extra;
  for (const auto& [name, value] : resp.headers.entries()) {
    if (internal::IsToken(name) && internal::IsSafeHeaderText(value) &&
        !internal::IEquals(name, "Connection") && !internal::IEquals(name, "Upgrade") &&
        !internal::IEquals(name, "Content-Length") &&
        !internal::IEquals(name, "Transfer-Encoding") &&
        !internal::IEquals(name.substr(0, std::min<size_t>(name.size(), 14)), "Sec-WebSocket-")) {
      extra.Add(name, value);
    }
  }
  ws.set_option(websocket::stream_base::decorator([extra](websocket::response_type& res) {
    for (const auto& [name, value] : extra.entries()) res.insert(name, value);
  }));
  auto [ec] = co_await ws.async_accept(parser_->get(), kUseTuple);
  if (ec) {
    // Beast has answered a malformed handshake (bad key or version) with 400 itself.
    LogAndObserve(method_label, req.target, 400, req.route, head_bytes, 0, start);
    spdlog::debug("http: {}: WebSocket handshake failed: {}", remote_, ec.message());
    core->ForceClose();
    co_return;
  }
  LogAndObserve(method_label, req.target, 101, req.route, head_bytes, 0, start);
  core_.websockets_open->Add(1);
  core->StartReader();
  uint16_t close_code = 1000;
  {
    internal::WebSocketHandle<tcp::socket> handle(core, /*close_on_destroy=*/false);
    try {
      co_await resp.websocket(handle);
    } catch (const std::exception& e) {
      spdlog::error("http: WebSocket session for route {} threw: {}", req.route, e.what());
      close_code = 1011;
    } catch (...) {
      spdlog::error("http: WebSocket session for route {} threw", req.route);
      close_code = 1011;
    }
  }
  std::string no_reason;
  co_await ServerWebSocketCore::Close(core, close_code, std::move(no_reason));
  core_.websockets_open->Add(-1);
}

Task<Response> Connection::Dispatch(Request& req, BodyReaderImpl& body) {
  const auto& opt = core_.options;
  const bool get_or_head = req.method == Method::kGet || req.method == Method::kHead;
  body.set_limit(0);
  if (get_or_head && !opt.health_path.empty() && req.path == opt.health_path) {
    req.route = "health";
    co_return Response::Text(200, "ok");
  }
  if (get_or_head && !opt.metrics_path.empty() && req.path == opt.metrics_path) {
    req.route = "metrics";
    co_return Response::Text(200, core_.metrics->Render(), "text/plain; version=0.0.4; charset=utf-8");
  }
  auto match = core_.router.Find(req.method, req.path);
  if (!match.handler) {
    req.route = "unmatched";
    if (match.method_not_allowed) {
      auto resp = Response::Json(
          405, R"({"error":"MethodNotAllowed","message":"method not allowed for this path"})");
      std::string allow;
      for (Method m : core_.router.AllowedMethods(req.path)) {
        if (!allow.empty()) allow += ", ";
        allow += MethodName(m);
      }
      resp.headers.Set("Allow", std::move(allow));
      co_return resp;
    }
    co_return Response::Json(404, R"({"error":"NotFound","message":"no route for this path"})");
  }
  req.route = match.options->name;
  body.set_limit(match.options->max_body);
  std::string failure;
  try {
    co_return co_await (*match.handler)(req);
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "unknown exception";
  }
  // Handlers return errors as values; an exception here is a bug, answered with a 500.
  spdlog::error("http: handler for route {} threw: {}", req.route, failure);
  co_return Response::Json(500, R"({"error":"InternalServerError","message":"internal error"})");
}

Task<bool> Connection::WriteResponse(const Request& req, Response& resp, bool close,
                                     unsigned version, uint64_t& bytes_out) {
  if (resp.status < 200 || resp.status > 999) {
    // 1xx final responses (upgrades) are not supported; a handler returning one is a bug.
    spdlog::error("http: route {} returned invalid status {}", req.route, resp.status);
    resp = Response::Json(500, R"({"error":"InternalServerError","message":"internal error"})");
  }
  const bool head_only = req.method == Method::kHead;
  const bool bodiless_status = resp.status == 204 || resp.status == 304;

  enum class Kind { kNone, kString, kFile, kStream } kind = Kind::kNone;
  std::optional<uint64_t> length;
  if (auto* s = std::get_if<std::string>(&resp.body)) {
    kind = Kind::kString;
    length = s->size();
  } else if (auto* f = std::get_if<FileBody>(&resp.body)) {
    kind = Kind::kFile;
    length = f->length;
  } else if (std::holds_alternative<StreamBody>(resp.body)) {
    kind = Kind::kStream;
    length = resp.content_length;
  } else if (!head_only) {
    length = 0;
  }
  if (head_only && resp.content_length) length = resp.content_length;
  // A HEAD handler that set Content-Length itself keeps it when nothing else is known.
  std::optional<std::string> handler_length;
  if (head_only && !length) {
    if (auto h = resp.headers.Get("Content-Length")) handler_length = std::string(*h);
  }

  StreamWriter::Mode stream_mode = StreamWriter::Mode::kFixed;
  const bool send_body = !head_only && !bodiless_status;
  if (send_body && kind == Kind::kStream && !length) {
    if (version >= 11) {
      stream_mode = StreamWriter::Mode::kChunked;
    } else {
      stream_mode = StreamWriter::Mode::kUntilClose;
      close = true;
    }
  }

  std::string head;
  head.reserve(256);
  head += "HTTP/1.1 ";
  head += std::to_string(resp.status);
  head += ' ';
  head += ReasonPhrase(resp.status);
  head += "\r\nDate: ";
  head += HttpDate();
  head += "\r\n";
  for (const auto& [name, value] : resp.headers.entries()) {
    if (internal::IEquals(name, "Content-Length") || internal::IEquals(name, "Transfer-Encoding") ||
        internal::IEquals(name, "Connection") || internal::IEquals(name, "Date")) {
      continue;
    }
    if (!internal::IsToken(name) || !internal::IsSafeHeaderText(value)) {
      spdlog::warn("http: route {} set an invalid header {:?}; dropped", req.route, name);
      continue;
    }
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  if (resp.status != 204) {
    if (length && !(resp.status == 304 && !head_only)) {
      head += "Content-Length: " + std::to_string(*length) + "\r\n";
    } else if (handler_length) {
      head += "Content-Length: " + *handler_length + "\r\n";
    } else if (send_body && stream_mode == StreamWriter::Mode::kChunked) {
      head += "Transfer-Encoding: chunked\r\n";
    }
  }
  if (close) {
    head += "Connection: close\r\n";
  } else if (version < 11) {
    head += "Connection: keep-alive\r\n";
  }
  head += "\r\n";

  if (!send_body || kind == Kind::kNone) {
    auto ec = co_await WriteAll(asio::buffer(head), bytes_out);
    co_return !ec;
  }
  if (kind == Kind::kString) {
    const auto& s = std::get<std::string>(resp.body);
    std::array<asio::const_buffer, 2> bufs = {asio::buffer(head), asio::buffer(s)};
    auto ec = co_await WriteAll(bufs, bytes_out);
    co_return !ec;
  }
  if (kind == Kind::kFile) {
    const auto& f = std::get<FileBody>(resp.body);
    auto ec = co_await WriteAll(asio::buffer(head), bytes_out);
    if (ec) co_return false;
    auto r = co_await SendFile(f.fd, f.offset, f.length, bytes_out);
    if (!r.ok()) {
      spdlog::warn("http: {} route {}: sending file: {}", remote_, req.route, r.error().ToString());
      co_return false;
    }
    co_return true;
  }
  // Stream.
  StreamWriter writer(*this, std::move(head), stream_mode, length.value_or(0), bytes_out);
  auto& producer = std::get<StreamBody>(resp.body);
  Result<void> produced = Ok();
  try {
    produced = co_await producer(writer);
  } catch (const std::exception& e) {
    produced = Internal(std::string("stream producer threw: ") + e.what());
  }
  if (!produced.ok()) {
    spdlog::warn("http: {} route {}: response stream failed: {}", remote_, req.route,
                 produced.error().ToString());
    if (!writer.head_written()) {
      // Nothing sent yet: the client gets a proper error instead of a truncated body.
      resp.status = 500;
      uint64_t ignored = 0;
      co_await SendPlainError(500, "internal error", ignored);
      bytes_out += ignored;
    }
    co_return false;
  }
  co_return co_await writer.Finish();
}

}  // namespace

struct Server::Impl : ServerCore {
  // Declared last so it is destroyed first: pending coroutine frames (which reference the
  // members above) die with it.
  asio::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::signal_set> signals;
  std::vector<std::thread> threads;
  uint16_t port = 0;
  std::mutex stop_mu;
  bool started = false;
  bool stopped = false;  // guarded by stop_mu

  explicit Impl(int concurrency) : ioc(concurrency) {}

  Task<void> AcceptLoop() {
    asio::steady_timer backoff(ioc);
    for (;;) {
      auto [ec, socket] = co_await acceptor->async_accept(asio::make_strand(ioc), kUseTuple);
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
      if (ec) {
        // EMFILE and friends: back off instead of spinning.
        spdlog::warn("http: accept failed: {}", ec.message());
        backoff.expires_after(std::chrono::milliseconds(100));
        co_await backoff.async_wait(kUseTuple);
        continue;
      }
      if (stopping.load()) {
        beast::error_code ignored;
        socket.close(ignored);
        continue;
      }
      auto conn = std::make_shared<Connection>(*this, std::move(socket));
      Register(conn.get(), conn);
      // The socket's executor is the connection's strand; everything of the connection runs there.
      asio::co_spawn(conn->executor(), conn->Run(), [](std::exception_ptr e) {
        if (e) spdlog::error("http: connection coroutine ended with an exception");
      });
    }
  }
};

Server::Server(ServerOptions options, Router router) {
  int threads = options.threads > 0 ? options.threads
                                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  impl_ = std::make_unique<Impl>(threads);
  impl_->options = std::move(options);
  impl_->options.threads = threads;
  impl_->router = std::move(router);
  impl_->metrics = impl_->options.metrics ? impl_->options.metrics : std::make_shared<Metrics>();
  impl_->in_flight = &impl_->metrics->GetGauge("atcr_http_in_flight_requests",
                                               "HTTP requests being served right now.");
  impl_->connections_open =
      &impl_->metrics->GetGauge("atcr_http_open_connections", "Open HTTP connections.");
  impl_->websockets_open =
      &impl_->metrics->GetGauge("atcr_http_open_websockets", "Open WebSocket sessions.");
}

Server::~Server() { Stop(); }

Metrics& Server::metrics() { return *impl_->metrics; }
uint16_t Server::port() const { return impl_->port; }

Status Server::Start() {
  auto& s = *impl_;
  if (s.started) return Error(ErrorCode::kFailedPrecondition, "server already started");
  beast::error_code ec;
  std::string address = s.options.address == "localhost" ? "127.0.0.1" : s.options.address;
  auto addr = asio::ip::make_address(address, ec);
  if (ec) return InvalidArgument("listen address '" + s.options.address + "': " + ec.message());
  tcp::endpoint endpoint(addr, s.options.port);
  s.acceptor.emplace(s.ioc);
  s.acceptor->open(endpoint.protocol(), ec);
  if (!ec) s.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor->bind(endpoint, ec);
  if (!ec) s.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    s.acceptor.reset();
    return Error(ErrorCode::kUnavailable, "listening on " + s.options.address + ":" +
                                              std::to_string(s.options.port) + ": " + ec.message());
  }
  s.port = s.acceptor->local_endpoint().port();
  s.started = true;
  asio::co_spawn(s.ioc, s.AcceptLoop(), asio::detached);
  for (int i = 0; i < s.options.threads; ++i) {
    s.threads.emplace_back([&s] {
      for (;;) {
        try {
          s.ioc.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("http: io thread caught exception: {}", e.what());
        }
      }
    });
  }
  spdlog::info("http: listening on {}:{} with {} threads", address, s.port, s.options.threads);
  return Ok();
}

void Server::Stop() {
  auto& s = *impl_;
  std::lock_guard stop_lock(s.stop_mu);
  if (!s.started || s.stopped) return;
  s.stopped = true;
  s.stopping.store(true);
  asio::post(s.ioc, [&s] {
    beast::error_code ec;
    if (s.acceptor) s.acceptor->close(ec);
    if (s.signals) s.signals->cancel(ec);
  });
  // Idle keep-alive connections close now; busy ones finish their request, answer it with
  // "Connection: close" and then close; WebSockets get a close frame.
  s.PostToConnections([](Connection& c) { c.OnStop(); });
  std::unique_lock lock(s.mu);
  bool drained = s.cv.wait_until(lock, Clock::now() + s.options.drain_timeout,
                                 [&s] { return s.connections.empty(); });
  if (!drained) {
    spdlog::warn("http: {} connections still busy after the drain timeout; closing them",
                 s.connections.size());
    lock.unlock();
    s.PostToConnections([](Connection& c) { c.CloseSocket(); });
    lock.lock();
    // Closed sockets make pending I/O fail at once; a handler stuck elsewhere is abandoned.
    s.cv.wait_for(lock, kForceCloseGrace, [&s] { return s.connections.empty(); });
  }
  lock.unlock();
  s.ioc.stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
  // The posted close may not have run before ioc.stop(); a listening socket left open would
  // accept connections nobody serves until the Server is destroyed.
  beast::error_code ec;
  if (s.acceptor) s.acceptor->close(ec);
  spdlog::info("http: stopped listening on port {}", s.port);
}

Status Server::RunUntilSignal() {
  ATCR_TRY(Start());
  std::promise<int> got;
  auto future = got.get_future();
  impl_->signals.emplace(impl_->ioc, SIGINT, SIGTERM);
  impl_->signals->async_wait([&got](const beast::error_code& ec, int sig) {
    got.set_value(ec ? 0 : sig);
  });
  int sig = future.get();
  if (sig != 0) spdlog::info("http: signal {} received, shutting down", sig);
  Stop();
  return Ok();
}

}  // namespace atcr::net
