#include "internal/file_range_request.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <optional>
#include <variant>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

namespace atcr::appview::internal {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr size_t kPiece = 1 << 20;

struct Target {
  std::string host;         // for the resolver: no brackets
  std::string host_header;  // as in the URL
  std::string port = "80";
  std::string path_and_query;
};

Result<Target> ParseHttpUrl(std::string_view url) {
  if (!IsPlainHttp(url)) return InvalidArgument("not an http:// URL: " + std::string(url));
  std::string_view rest = url.substr(7);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (size_t hash = tail.find('#'); hash != std::string_view::npos) tail = tail.substr(0, hash);
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return InvalidArgument("URL without a plain host: " + std::string(url));
  }
  Target t;
  t.host_header = std::string(authority);
  std::string_view host = authority;
  std::string_view port;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return InvalidArgument("malformed IPv6 host in " + std::string(url));
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return InvalidArgument("malformed host in " + std::string(url));
      port = after.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return InvalidArgument("URL without a host: " + std::string(url));
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) {
      return InvalidArgument("malformed port in " + std::string(url));
    }
    t.port = std::string(port);
  }
  t.host = std::string(host);
  t.path_and_query = tail.empty() || tail.front() == '?' ? "/" + std::string(tail) : std::string(tail);
  return t;
}

bool SafeHeaderText(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

// Reads the response from `sock` (after the request, or after the peer stopped taking it).
net::Task<Result<net::ClientResponse>> ReadResponse(tcp::socket& sock, uint64_t max_body) {
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(64 * 1024);
  parser.body_limit(max_body);
  auto [ec, n] = co_await http::async_read(sock, buffer, parser, kUseTuple);
  (void)n;
  if (ec == http::error::body_limit) {
    co_return ResourceExhausted("response body larger than " + std::to_string(max_body) + " bytes");
  }
  if (ec) co_return Error(ErrorCode::kUnavailable, "reading the response: " + ec.message());
  auto& res = parser.get();
  net::ClientResponse out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& f : res) out.headers.Add(std::string(f.name_string()), std::string(f.value()));
  out.body = std::move(res.body());
  co_return out;
}

using Clock = std::chrono::steady_clock;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

net::Task<Result<net::ClientResponse>> Exchange(tcp::socket& sock, Target t, std::string head,
                                                FileRange body, uint64_t max_response,
                                                std::atomic<int64_t>& progress) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  auto [rec, endpoints] = co_await resolver.async_resolve(t.host, t.port, kUseTuple);
  if (rec) co_return Error(ErrorCode::kUnavailable, "resolving " + t.host + ": " + rec.message());
  auto [cec, ep] = co_await asio::async_connect(sock, endpoints, kUseTuple);
  (void)ep;
  if (cec) {
    co_return Error(ErrorCode::kUnavailable,
                    "connecting to " + t.host_header + ": " + cec.message());
  }
  sock.set_option(tcp::no_delay(true));
  progress = NowMs();

  auto [hec, hn] = co_await asio::async_write(sock, asio::buffer(head), kUseTuple);
  (void)hn;
  bool peer_stopped = static_cast<bool>(hec);
  std::vector<char> piece(static_cast<size_t>(std::min<uint64_t>(body.length, kPiece)));
  for (uint64_t done = 0; !peer_stopped && done < body.length;) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(body.length - done, piece.size()));
    // Page-cache reads of a file this process just wrote, as the spool's writes are.
    ssize_t got = ::pread(body.fd, piece.data(), want, static_cast<off_t>(body.offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) co_return ErrnoError("read upload spool", errno);
    if (got == 0) co_return Error(ErrorCode::kUnavailable, "upload spool shorter than expected");
    auto piece_buffer = asio::buffer(piece.data(), static_cast<size_t>(got));
    auto [wec, wn] = co_await asio::async_write(sock, piece_buffer, kUseTuple);
    (void)wn;
    if (wec) peer_stopped = true;  // it may have answered already (413, 401): read that below
    done += static_cast<uint64_t>(got);
    progress = NowMs();
  }
  auto res = co_await ReadResponse(sock, max_response);
  if (!res.ok() && peer_stopped) {
    co_return Error(ErrorCode::kUnavailable,
                    "the connection to " + t.host_header + " broke while sending the body");
  }
  co_return res;
}

// Returns when nothing has moved for `idle` (the exchange, racing it, wins otherwise).
net::Task<void> Watchdog(asio::steady_timer& timer, const std::atomic<int64_t>& progress,
                         std::chrono::milliseconds idle) {
  for (;;) {
    const int64_t due = progress.load() + idle.count();
    const int64_t now = NowMs();
    if (now >= due) co_return;
    timer.expires_after(std::chrono::milliseconds(due - now));
    auto [ec] = co_await timer.async_wait(kUseTuple);
    if (ec) co_return;
  }
}

net::Task<Result<net::ClientResponse>> Race(Target target, std::string head, FileRange body,
                                            std::chrono::milliseconds idle, uint64_t max_response) {
  // Socket, timer and both coroutines share one strand, so the loser's cancellation never
  // runs beside the winner on another io thread.
  auto ex = co_await asio::this_coro::executor;
  tcp::socket sock(ex);
  asio::steady_timer timer(ex);
  std::atomic<int64_t> progress{NowMs()};
  const std::string where = target.host_header;
  using namespace asio::experimental::awaitable_operators;
  auto exchange = Exchange(sock, std::move(target), std::move(head), body, max_response, progress);
  auto watchdog = Watchdog(timer, progress, idle);
  auto raced = std::move(exchange) || std::move(watchdog);
  auto outcome = co_await std::move(raced);
  boost::system::error_code ignored;
  sock.shutdown(tcp::socket::shutdown_both, ignored);
  sock.close(ignored);
  if (outcome.index() == 1) {
    co_return Error(ErrorCode::kDeadlineExceeded, "no progress sending a part to " + where +
                                                      " for " + std::to_string(idle.count()) +
                                                      " ms");
  }
  co_return std::move(std::get<0>(outcome));
}

}  // namespace

bool IsPlainHttp(std::string_view url) {
  if (url.size() < 7) return false;
  static constexpr std::string_view kScheme = "http://";
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = url[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return false;
  }
  return true;
}

net::Task<Result<net::ClientResponse>> SendFileRange(net::Method method, std::string url,
                                                     net::Headers headers, FileRange body,
                                                     std::chrono::milliseconds timeout,
                                                     uint64_t max_response_bytes) {
  auto target = ParseHttpUrl(url);
  if (!target.ok()) co_return target.error();
  if (method == net::Method::kOther) co_return InvalidArgument("unsupported HTTP method");
  std::string head;
  head.append(net::MethodName(method)).append(" ").append(target->path_and_query);
  head.append(" HTTP/1.1\r\nHost: ").append(target->host_header);
  head.append("\r\nContent-Length: ").append(std::to_string(body.length));
  head.append("\r\nConnection: close\r\n");
  bool agent = false;
  for (const auto& [name, value] : headers.entries()) {
    if (name.empty() || !SafeHeaderText(name) || name.find(':') != std::string::npos ||
        !SafeHeaderText(value)) {
      co_return InvalidArgument("header " + name + " has characters not allowed in HTTP");
    }
    std::string lower = name;
    for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower == "host" || lower == "content-length" || lower == "connection" ||
        lower == "transfer-encoding") {
      continue;
    }
    agent = agent || lower == "user-agent";
    head.append(name).append(": ").append(value).append("\r\n");
  }
  if (!agent) head.append("User-Agent: atcr/0.1\r\n");
  head.append("\r\n");

  auto strand = asio::make_strand(co_await asio::this_coro::executor);
  std::optional<Result<net::ClientResponse>> out;
  auto run = [&]() -> net::Task<void> {
    auto r = co_await Race(std::move(*target), std::move(head), body, timeout, max_response_bytes);
    out.emplace(std::move(r));
  };
  co_await asio::co_spawn(strand, run(), asio::use_awaitable);
  co_return std::move(*out);
}

}  // namespace atcr::appview::internal
