// HttpClient: Beast-based HTTP/1.1 client with a keep-alive pool. The pool holds raw socket
// descriptors rather than Asio sockets, so a pooled connection can be picked up by a coroutine
// on any executor (a server's io_context or SendSync's private one). Each exchange runs on a
// strand together with its watchdog; https will slot in as a second transport at the point
// where the socket is connected.
#include "atcr/net/http_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/url/parse.hpp>

#include <array>
#include <exception>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "internal/ascii.h"
#include "internal/watchdog.h"

namespace atcr::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using internal::Clock;
using internal::Watchdog;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

struct Target {
  std::string scheme;
  std::string host;         // for DNS / address parsing, no brackets
  std::string host_header;  // as in the URL, with port when one was given
  uint16_t port = 0;
  std::string path_and_query;
  std::string pool_key;
};

Result<Target> ParseTarget(std::string_view url) {
  auto u = boost::urls::parse_uri(url);
  if (!u) return InvalidArgument("malformed URL '" + std::string(url) + "': " + u.error().message());
  Target t;
  t.scheme = std::string(u->scheme());
  for (char& c : t.scheme) c = internal::ToLower(c);
  if (t.scheme != "http" && t.scheme != "https") {
    return InvalidArgument("unsupported URL scheme '" + t.scheme + "'");
  }
  if (!u->has_authority() || u->encoded_host().empty()) {
    return InvalidArgument("URL without a host: '" + std::string(url) + "'");
  }
  if (u->has_userinfo()) return InvalidArgument("URLs with user info are not supported");
  t.host = u->host_address();
  t.host_header = std::string(u->encoded_host_and_port());
  if (u->has_port()) {
    if (u->port_number() == 0) return InvalidArgument("invalid port in URL '" + std::string(url) + "'");
    t.port = u->port_number();
  } else {
    t.port = t.scheme == "https" ? 443 : 80;
  }
  t.path_and_query = std::string(u->encoded_path());
  if (t.path_and_query.empty()) t.path_and_query = "/";
  if (u->has_query()) {
    t.path_and_query += '?';
    t.path_and_query += u->encoded_query();
  }
  t.pool_key = t.scheme + "://" + t.host + ":" + std::to_string(t.port);
  return t;
}

bool IsIdempotent(Method m) {
  return m == Method::kGet || m == Method::kHead || m == Method::kPut || m == Method::kDelete ||
         m == Method::kOptions;
}

// A pooled descriptor is reusable if the peer has neither closed it nor sent anything.
bool StillUsable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

}  // namespace

struct HttpClient::Impl {
  struct Idle {
    int fd;
    bool v6;
    Clock::time_point since;
  };

  HttpClientOptions options;
  mutable std::mutex mu;
  std::unordered_map<std::string, std::vector<Idle>> idle;  // guarded by mu

  ~Impl() {
    for (auto& [key, list] : idle) {
      for (auto& c : list) ::close(c.fd);
    }
  }

  std::optional<Idle> Checkout(const std::string& key) {
    std::lock_guard lock(mu);
    auto it = idle.find(key);
    if (it == idle.end()) return std::nullopt;
    auto& list = it->second;
    while (!list.empty()) {
      Idle c = list.back();
      list.pop_back();
      if (Clock::now() - c.since < options.idle_timeout && StillUsable(c.fd)) return c;
      ::close(c.fd);
    }
    return std::nullopt;
  }

  void Checkin(const std::string& key, int fd, bool v6) {
    std::lock_guard lock(mu);
    auto& list = idle[key];
    if (list.size() >= options.max_idle_per_host) {
      ::close(fd);
      return;
    }
    list.push_back(Idle{fd, v6, Clock::now()});
  }

  Result<std::string> SerializeHead(const ClientRequest& req, const Target& t) const {
    if (req.method == Method::kOther) return InvalidArgument("HttpClient needs a known method");
    std::string head;
    head.reserve(256);
    head += MethodName(req.method);
    head += ' ';
    head += t.path_and_query;
    head += " HTTP/1.1\r\n";
    if (!req.headers.Has("Host")) head += "Host: " + t.host_header + "\r\n";
    if (!req.headers.Has("User-Agent") && !options.user_agent.empty()) {
      head += "User-Agent: " + options.user_agent + "\r\n";
    }
    for (const auto& [name, value] : req.headers.entries()) {
      if (internal::IEquals(name, "Content-Length") || internal::IEquals(name, "Connection") ||
          internal::IEquals(name, "Transfer-Encoding")) {
        continue;
      }
      if (!internal::IsToken(name) || !internal::IsSafeHeaderText(value)) {
        return InvalidArgument("invalid request header '" + name + "'");
      }
      head += name;
      head += ": ";
      head += value;
      head += "\r\n";
    }
    if (!req.body.empty() || req.method == Method::kPost || req.method == Method::kPut ||
        req.method == Method::kPatch) {
      head += "Content-Length: " + std::to_string(req.body.size()) + "\r\n";
    }
    head += "\r\n";
    return head;
  }

  // One request/response on the calling strand.
  static Task<Result<ClientResponse>> Exchange(std::shared_ptr<Impl> self, ClientRequest req) {
    ATCR_CO_ASSIGN_OR_RETURN(Target t, ParseTarget(req.url));
    if (t.scheme == "https") co_return Error(ErrorCode::kUnimplemented, "https is not supported yet");
    ATCR_CO_ASSIGN_OR_RETURN(std::string head, self->SerializeHead(req, t));

    auto ex = co_await asio::this_coro::executor;
    tcp::socket socket(ex);
    tcp::resolver resolver(ex);
    auto watchdog = Watchdog::Start(ex, [&socket, &resolver] {
      beast::error_code ec;
      socket.close(ec);
      resolver.cancel();
    });
    struct StopGuard {
      Watchdog& w;
      ~StopGuard() { w.Stop(); }
    } stop_guard{*watchdog};
    watchdog->ExpireAfter(req.timeout);
    auto io_error = [&](std::string_view what, const beast::error_code& ec) {
      if (watchdog->fired()) {
        return Error(ErrorCode::kDeadlineExceeded, std::string(MethodName(req.method)) + " " +
                                                       req.url + ": timed out after " +
                                                       std::to_string(req.timeout.count()) + " ms");
      }
      return Error(ErrorCode::kUnavailable, std::string(what) + " " + t.pool_key + ": " + ec.message());
    };

    for (int attempt = 0;; ++attempt) {
      bool reused = false;
      if (attempt == 0) {
        if (auto pooled = self->Checkout(t.pool_key)) {
          beast::error_code ec;
          socket.assign(pooled->v6 ? tcp::v6() : tcp::v4(), pooled->fd, ec);
          if (ec) {
            ::close(pooled->fd);
          } else {
            reused = true;
          }
        }
      }
      if (!reused) {
        beast::error_code ec;
        if (socket.is_open()) socket.close(ec);
        auto [rec, endpoints] =
            co_await resolver.async_resolve(t.host, std::to_string(t.port), kUseTuple);
        if (rec) co_return io_error("resolving", rec);
        auto [cec, ep] = co_await asio::async_connect(socket, endpoints, kUseTuple);
        if (cec) co_return io_error("connecting to", cec);
        socket.set_option(tcp::no_delay(true), ec);
      }

      std::array<asio::const_buffer, 2> out = {asio::buffer(head), asio::buffer(req.body)};
      auto [wec, written] = co_await asio::async_write(socket, out, kUseTuple);
      beast::flat_buffer buffer;
      buffer.max_size(self->options.max_header_bytes + 64 * 1024);
      std::optional<http::response_parser<http::string_body>> parser;
      // Read even when the write failed: a server may answer early (413, 401) and stop
      // reading the body, and its response is still in our receive buffer.
      beast::error_code ec;
      size_t received = 0;
      while (!ec) {
        parser.emplace();
        parser->header_limit(static_cast<uint32_t>(self->options.max_header_bytes));
        parser->body_limit(self->options.max_response_bytes);
        if (req.method == Method::kHead) parser->skip(true);
        auto [rec, n] = co_await http::async_read(socket, buffer, *parser, kUseTuple);
        received += n;
        ec = rec;
        if (ec) break;
        int status = parser->get().result_int();
        if (status >= 200 || status == 101) break;  // skip interim 1xx responses
      }
      if (ec && wec && received == 0) ec = wec;
      if (ec) {
        if (reused && received == 0 && buffer.size() == 0 && IsIdempotent(req.method) &&
            !watchdog->fired()) {
          continue;  // the pooled connection had gone stale; try once on a fresh one
        }
        if (ec == http::error::body_limit) {
          co_return ResourceExhausted("response body from " + t.pool_key + " exceeds " +
                                      std::to_string(self->options.max_response_bytes) + " bytes");
        }
        if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
          co_return ResourceExhausted("response header from " + t.pool_key + " exceeds " +
                                      std::to_string(self->options.max_header_bytes) + " bytes");
        }
        co_return io_error(wec ? "sending request to" : "reading response from", ec);
      }

      auto& msg = parser->get();
      ClientResponse resp;
      resp.status = msg.result_int();
      for (const auto& field : msg) {
        resp.headers.Add(std::string(field.name_string()), std::string(field.value()));
      }
      resp.body = std::move(msg.body());
      if (!wec && msg.keep_alive() && buffer.size() == 0 && !req.headers.Get("Connection")) {
        watchdog->Stop();
        beast::error_code lec;
        bool v6 = socket.local_endpoint(lec).address().is_v6();
        if (!lec) {
          int fd = socket.release(lec);
          if (!lec) self->Checkin(t.pool_key, fd, v6);
        }
      }
      co_return resp;
    }
  }

  // Wraps Exchange for co_spawn, whose result type must be default-constructible.
  static Task<std::optional<Result<ClientResponse>>> ExchangeOpt(std::shared_ptr<Impl> self,
                                                                 ClientRequest req) {
    co_return co_await Exchange(std::move(self), std::move(req));
  }
};

HttpClient::HttpClient(HttpClientOptions options) : impl_(std::make_shared<Impl>()) {
  impl_->options = std::move(options);
}

HttpClient::~HttpClient() = default;

Task<Result<ClientResponse>> HttpClient::Send(ClientRequest request) {
  // The socket and its watchdog share a strand even when the caller's executor is a
  // multi-threaded io_context.
  auto ex = co_await asio::this_coro::executor;
  auto r = co_await asio::co_spawn(asio::make_strand(ex), Impl::ExchangeOpt(impl_, std::move(request)),
                                   asio::use_awaitable);
  co_return std::move(*r);
}

Result<ClientResponse> HttpClient::SendSync(ClientRequest request) {
  asio::io_context ioc(1);
  std::optional<Result<ClientResponse>> out;
  std::exception_ptr failure;
  asio::co_spawn(ioc, Impl::ExchangeOpt(impl_, std::move(request)),
                 [&](std::exception_ptr e, std::optional<Result<ClientResponse>> r) {
                   failure = e;
                   out = std::move(r);
                 });
  ioc.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      return Internal(std::string("HttpClient::SendSync: ") + e.what());
    } catch (...) {
      return Internal("HttpClient::SendSync: unknown exception");
    }
  }
  if (!out) return Internal("HttpClient::SendSync: the exchange did not complete");
  return std::move(*out);
}

size_t HttpClient::idle_connections() const {
  std::lock_guard lock(impl_->mu);
  size_t n = 0;
  for (const auto& [key, list] : impl_->idle) n += list.size();
  return n;
}

}  // namespace atcr::net
