// The WebSocket client (ws:// and wss://) and IsWebSocketUpgrade. The connection runs on a
// strand of the caller's executor; see internal/websocket_core.h for the shared machinery.
#include "atcr/net/websocket.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/url/parse.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "atcr/net/xrpc.h"
#include "internal/ascii.h"
#include "internal/watchdog.h"
#include "internal/websocket_core.h"

namespace atcr::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using internal::Watchdog;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

struct WsTarget {
  bool tls = false;
  std::string host;         // for DNS, no brackets
  std::string host_header;  // as in the URL
  uint16_t port = 0;
  std::string path_and_query;
};

Result<WsTarget> ParseWsUrl(std::string_view url) {
  auto u = boost::urls::parse_uri(url);
  if (!u) return InvalidArgument("malformed URL '" + std::string(url) + "': " + u.error().message());
  std::string scheme(u->scheme());
  for (char& c : scheme) c = internal::ToLower(c);
  WsTarget t;
  if (scheme == "wss") {
    t.tls = true;
  } else if (scheme != "ws") {
    return InvalidArgument("WebSocket URL needs ws:// or wss://, got '" + std::string(url) + "'");
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
    t.port = t.tls ? 443 : 80;
  }
  t.path_and_query = std::string(u->encoded_path());
  if (t.path_and_query.empty()) t.path_and_query = "/";
  if (u->has_query()) {
    t.path_and_query += '?';
    t.path_and_query += u->encoded_query();
  }
  return t;
}

std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

Result<std::shared_ptr<ssl::context>> MakeTlsContext(const std::string& ca_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  beast::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  ctx->set_default_verify_paths(ec);
  if (!ca_file.empty()) {
    ctx->load_verify_file(ca_file, ec);
    if (ec) {
      return InvalidArgument("loading TLS CA file '" + ca_file + "': " + OpenSslErrors());
    }
  }
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

bool IsIpLiteral(const std::string& host) {
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// Answers with the handshake's failure as an Error.
template <class Stream>
Error HandshakeError(const std::string& url, const beast::error_code& ec,
                     const websocket::response_type& res) {
  if (ec == websocket::error::upgrade_declined && res.result_int() != 101) {
    Error e = XrpcErrorFromResponse(res.result_int(), res.body(), url);
    e.message = "WebSocket handshake with " + url + " refused with HTTP " +
                std::to_string(res.result_int()) + ": " + e.message;
    return e;
  }
  return Error(ErrorCode::kUnavailable, "WebSocket handshake with " + url + ": " + ec.message());
}

template <class Stream>
Task<std::optional<Result<std::unique_ptr<WebSocket>>>> ConnectOnStrand(
    asio::any_io_executor strand, std::string url, WsTarget t, WebSocketClientOptions options,
    std::shared_ptr<ssl::context> tls_ctx) {
  using Core = internal::WebSocketCore<Stream>;
  std::shared_ptr<Core> core;
  if constexpr (std::is_same_v<Stream, tcp::socket>) {
    core = std::make_shared<Core>(url, strand);
  } else {
    core = std::make_shared<Core>(url, strand, *tls_ctx);
  }
  auto& ws = core->stream();
  auto& socket = beast::get_lowest_layer(ws);
  tcp::resolver resolver(strand);
  auto watchdog = Watchdog::Start(strand, [&socket, &resolver] {
    beast::error_code ec;
    socket.close(ec);
    resolver.cancel();
  });
  struct StopGuard {
    Watchdog& w;
    ~StopGuard() { w.Stop(); }
  } stop_guard{*watchdog};
  watchdog->ExpireAfter(options.connect_timeout);
  auto io_error = [&](std::string_view what, const beast::error_code& ec) {
    if (watchdog->fired()) {
      return Error(ErrorCode::kDeadlineExceeded,
                   "WebSocket connect to " + url + ": timed out after " +
                       std::to_string(options.connect_timeout.count()) + " ms");
    }
    return Error(ErrorCode::kUnavailable, std::string(what) + " " + url + ": " + ec.message());
  };

  auto [rec, endpoints] = co_await resolver.async_resolve(t.host, std::to_string(t.port), kUseTuple);
  if (rec) co_return io_error("resolving", rec);
  auto [cec, ep] = co_await asio::async_connect(socket, endpoints, kUseTuple);
  if (cec) co_return io_error("connecting to", cec);
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  if constexpr (!std::is_same_v<Stream, tcp::socket>) {
    SSL* s = ws.next_layer().native_handle();
    if (IsIpLiteral(t.host)) {
      if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), t.host.c_str()) != 1) {
        co_return InvalidArgument("cannot verify TLS peer address '" + t.host + "'");
      }
    } else if (SSL_set_tlsext_host_name(s, t.host.c_str()) != 1 ||
               SSL_set1_host(s, t.host.c_str()) != 1) {
      ERR_clear_error();
      co_return InvalidArgument("invalid TLS host name '" + t.host + "'");
    }
    auto [hec] = co_await ws.next_layer().async_handshake(ssl::stream_base::client, kUseTuple);
    if (hec) {
      long verify = SSL_get_verify_result(s);
      ERR_clear_error();
      if (verify != X509_V_OK && !watchdog->fired()) {
        co_return Error(ErrorCode::kUnavailable, "TLS certificate verification failed for " +
                                                     url + ": " +
                                                     X509_verify_cert_error_string(verify));
      }
      co_return io_error("TLS handshake with", hec);
    }
  }

  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = options.connect_timeout;
  if (options.idle_timeout.count() > 0) {
    timeouts.idle_timeout = options.idle_timeout;
    timeouts.keep_alive_pings = true;
  } else {
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
  }
  ws.set_option(timeouts);
  core->set_max_message_bytes(options.max_message_bytes);
  Headers extra = std::move(options.headers);
  ws.set_option(websocket::stream_base::decorator([extra](websocket::request_type& req) {
    req.set(beast::http::field::user_agent, "atcr/0.1");
    for (const auto& [name, value] : extra.entries()) {
      if (internal::IsToken(name) && internal::IsSafeHeaderText(value)) req.set(name, value);
    }
  }));
  websocket::response_type res;
  auto [wec] = co_await ws.async_handshake(res, t.host_header, t.path_and_query, kUseTuple);
  if (wec) {
    if (watchdog->fired()) co_return io_error("WebSocket handshake with", wec);
    co_return HandshakeError<Stream>(url, wec, res);
  }
  watchdog->Stop();
  core->StartReader();
  std::unique_ptr<WebSocket> out =
      std::make_unique<internal::WebSocketHandle<Stream>>(core, /*close_on_destroy=*/true);
  co_return Result<std::unique_ptr<WebSocket>>(std::move(out));
}

}  // namespace

bool IsWebSocketUpgrade(const Request& req) {
  if (req.method != Method::kGet) return false;
  auto has_token = [&](std::string_view header, std::string_view token) {
    for (std::string_view v : req.headers.GetAll(header)) {
      while (!v.empty()) {
        size_t comma = v.find(',');
        std::string_view item = v.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
        if (internal::IEquals(item, token)) return true;
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
      }
    }
    return false;
  };
  return has_token("Connection", "upgrade") && has_token("Upgrade", "websocket");
}

Task<Result<std::unique_ptr<WebSocket>>> ConnectWebSocket(std::string url,
                                                          WebSocketClientOptions options) {
  ATCR_CO_ASSIGN_OR_RETURN(WsTarget t, ParseWsUrl(url));
  std::shared_ptr<ssl::context> tls_ctx;
  if (t.tls) {
    ATCR_CO_ASSIGN_OR_RETURN(tls_ctx, MakeTlsContext(options.tls_ca_file));
  }
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  asio::any_io_executor strand = asio::make_strand(ex);
  std::optional<Result<std::unique_ptr<WebSocket>>> r;
  if (t.tls) {
    auto op = asio::co_spawn(strand,
                             ConnectOnStrand<ssl::stream<tcp::socket>>(
                                 strand, std::move(url), std::move(t), std::move(options),
                                 std::move(tls_ctx)),
                             asio::use_awaitable);
    r = co_await std::move(op);
  } else {
    auto op = asio::co_spawn(strand,
                             ConnectOnStrand<tcp::socket>(strand, std::move(url), std::move(t),
                                                          std::move(options), nullptr),
                             asio::use_awaitable);
    r = co_await std::move(op);
  }
  co_return std::move(*r);
}

Task<Result<std::unique_ptr<WebSocket>>> ConnectWebSocket(std::string url) {
  return ConnectWebSocket(std::move(url), WebSocketClientOptions());
}

}  // namespace atcr::net
