// HttpClient: Beast-based HTTP/1.1 client with a keep-alive pool. The pool holds raw socket
// descriptors rather than Asio sockets, so a pooled connection can be picked up by a coroutine
// on any executor (a server's io_context or SendSync's private one). Each exchange runs on a
// strand together with its watchdog. https wraps the same socket in an asio::ssl::stream; a
// pooled TLS connection is the descriptor plus its OpenSSL session object (SSL*), which a new
// ssl::stream on any executor adopts.
#include "atcr/net/http_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
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
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

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
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = ssl::stream<tcp::socket&>;
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

// Takes the OpenSSL session out of a finished stream so it outlives the stream (and the
// executor it was bound to). Null when TLS data is still buffered (a late record the pool
// cannot carry over); the caller then closes the connection. The session is left with memory
// BIOs; the next ssl::stream replaces them with its own BIO pair.
SSL* DetachSession(std::optional<TlsStream>& tls) {
  SSL* s = tls->native_handle();
  bool clean = SSL_pending(s) == 0 && BIO_ctrl_pending(SSL_get_rbio(s)) == 0 &&
               BIO_ctrl_wpending(SSL_get_wbio(s)) == 0;
  if (!clean) return nullptr;
  SSL_up_ref(s);
  tls.reset();  // frees the stream's BIO half and drops its reference
  SSL_set_bio(s, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
  return s;
}

// Sends close_notify on a detached session (best effort, never blocks, no SIGPIPE), frees
// it and closes the descriptor.
void CloseTls(SSL* s, int fd) {
  (void)SSL_shutdown(s);  // writes close_notify into the memory BIO; never reads
  char* data = nullptr;
  long n = BIO_get_mem_data(SSL_get_wbio(s), &data);
  if (n > 0) (void)::send(fd, data, static_cast<size_t>(n), MSG_NOSIGNAL | MSG_DONTWAIT);
  ERR_clear_error();
  SSL_free(s);
  ::close(fd);
}

bool IsIpLiteral(const std::string& host) {
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
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

}  // namespace

struct HttpClient::Impl {
  struct Idle {
    int fd;
    bool v6;
    Clock::time_point since;
    SSL* tls = nullptr;  // owned; set for https connections
  };

  HttpClientOptions options;
  ssl::context tls_context{ssl::context::tls_client};
  std::string tls_setup_error;  // set when tls_context could not be configured
  mutable std::mutex mu;
  std::unordered_map<std::string, std::vector<Idle>> idle;  // guarded by mu

  explicit Impl(HttpClientOptions opts) : options(std::move(opts)) {
    SSL_CTX* ctx = tls_context.native_handle();
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (options.insecure_skip_verify) {
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    } else {
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        tls_setup_error = "cannot load the system trust store: " + OpenSslErrors();
      }
    }
    if (!options.tls_ca_file.empty() &&
        SSL_CTX_load_verify_locations(ctx, options.tls_ca_file.c_str(), nullptr) != 1) {
      tls_setup_error = "cannot load tls_ca_file '" + options.tls_ca_file + "': " + OpenSslErrors();
    }
    ERR_clear_error();
  }

  ~Impl() {
    for (auto& [key, list] : idle) {
      for (auto& c : list) Close(c);
    }
  }

  static void Close(const Idle& c) {
    if (c.tls != nullptr) {
      CloseTls(c.tls, c.fd);
    } else {
      ::close(c.fd);
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
      Close(c);
    }
    return std::nullopt;
  }

  void Checkin(const std::string& key, Idle c) {
    std::lock_guard lock(mu);
    auto& list = idle[key];
    if (list.size() >= options.max_idle_per_host) {
      Close(c);
      return;
    }
    c.since = Clock::now();
    list.push_back(c);
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

  struct RoundTripResult {
    beast::error_code write_error;
    beast::error_code read_error;
    size_t received = 0;
  };

  // Writes the request and reads the final (non-1xx) response on a plain or TLS stream.
  template <class Stream>
  static Task<void> RoundTrip(Stream& stream, const HttpClientOptions& options, Method method,
                              const std::string& head, const std::string& body,
                              beast::flat_buffer& buffer,
                              std::optional<http::response_parser<http::string_body>>& parser,
                              RoundTripResult& out) {
    std::array<asio::const_buffer, 2> bufs = {asio::buffer(head), asio::buffer(body)};
    auto [wec, written] = co_await asio::async_write(stream, bufs, kUseTuple);
    out.write_error = wec;
    // Read even when the write failed: a server may answer early (413, 401) and stop
    // reading the body, and its response is still in our receive buffer.
    beast::error_code ec;
    while (!ec) {
      parser.emplace();
      parser->header_limit(static_cast<uint32_t>(options.max_header_bytes));
      parser->body_limit(options.max_response_bytes);
      if (method == Method::kHead) parser->skip(true);
      auto [rec, n] = co_await http::async_read(stream, buffer, *parser, kUseTuple);
      out.received += n;
      ec = rec;
      // Many servers end a close-delimited body by closing TCP without close_notify; Beast
      // only turns a plain EOF into the end of such a body, so do it for TLS here. Bodies
      // with a length or chunking still fail when truncated.
      if (ec == ssl::error::stream_truncated && parser->is_header_done() && parser->need_eof()) {
        parser->put_eof(ec);
      }
      if (ec) break;
      int status = parser->get().result_int();
      if (status >= 200 || status == 101) break;  // skip interim 1xx responses
    }
    out.read_error = ec;
  }

  // Sets up SNI and the name the certificate must carry, then handshakes.
  static Task<Result<void>> Handshake(Impl& self, TlsStream& tls, const Target& t) {
    SSL* s = tls.native_handle();
    if (IsIpLiteral(t.host)) {
      // No SNI for addresses (RFC 6066); the certificate needs an IP SAN.
      if (!self.options.insecure_skip_verify &&
          X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), t.host.c_str()) != 1) {
        co_return InvalidArgument("cannot verify TLS peer address '" + t.host + "'");
      }
    } else {
      if (SSL_set_tlsext_host_name(s, t.host.c_str()) != 1 ||
          (!self.options.insecure_skip_verify && SSL_set1_host(s, t.host.c_str()) != 1)) {
        ERR_clear_error();
        co_return InvalidArgument("invalid TLS host name '" + t.host + "'");
      }
    }
    auto [ec] = co_await tls.async_handshake(ssl::stream_base::client, kUseTuple);
    if (!ec) co_return Ok();
    long verify = SSL_get_verify_result(s);
    ERR_clear_error();
    if (verify != X509_V_OK) {
      co_return Error(ErrorCode::kUnavailable,
                      "TLS certificate verification failed for " + t.pool_key + ": " +
                          X509_verify_cert_error_string(verify) +
                          " (trusted: system store" +
                          (self.options.tls_ca_file.empty() ? "" : " + " + self.options.tls_ca_file) +
                          ")");
    }
    co_return Error(ErrorCode::kUnavailable, "TLS handshake with " + t.pool_key + " failed: " + ec.message());
  }

  // One request/response on the calling strand.
  static Task<Result<ClientResponse>> Exchange(std::shared_ptr<Impl> self, ClientRequest req) {
    ATCR_CO_ASSIGN_OR_RETURN(Target t, ParseTarget(req.url));
    const bool https = t.scheme == "https";
    if (https && !self->tls_setup_error.empty()) {
      co_return InvalidArgument("https " + req.url + ": " + self->tls_setup_error);
    }
    ATCR_CO_ASSIGN_OR_RETURN(std::string head, self->SerializeHead(req, t));

    auto ex = co_await asio::this_coro::executor;
    tcp::socket socket(ex);
    tcp::resolver resolver(ex);
    std::optional<TlsStream> tls;  // over `socket`; destroyed before it
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
    auto timed_out = [&] {
      return Error(ErrorCode::kDeadlineExceeded, std::string(MethodName(req.method)) + " " + req.url +
                                                     ": timed out after " +
                                                     std::to_string(req.timeout.count()) + " ms");
    };
    auto io_error = [&](std::string_view what, const beast::error_code& ec) {
      if (watchdog->fired()) return timed_out();
      return Error(ErrorCode::kUnavailable, std::string(what) + " " + t.pool_key + ": " + ec.message());
    };

    for (int attempt = 0;; ++attempt) {
      bool reused = false;
      if (attempt == 0) {
        if (auto pooled = self->Checkout(t.pool_key)) {
          beast::error_code ec;
          socket.assign(pooled->v6 ? tcp::v6() : tcp::v4(), pooled->fd, ec);
          if (ec) {
            Close(*pooled);
          } else {
            reused = true;
            // The stream adopts the session (and frees it when destroyed).
            if (pooled->tls != nullptr) tls.emplace(socket, pooled->tls);
          }
        }
      }
      if (!reused) {
        beast::error_code ec;
        tls.reset();
        if (socket.is_open()) socket.close(ec);
        auto [rec, endpoints] =
            co_await resolver.async_resolve(t.host, std::to_string(t.port), kUseTuple);
        if (rec) co_return io_error("resolving", rec);
        auto [cec, ep] = co_await asio::async_connect(socket, endpoints, kUseTuple);
        if (cec) co_return io_error("connecting to", cec);
        socket.set_option(tcp::no_delay(true), ec);
        if (https) {
          tls.emplace(socket, self->tls_context);
          auto hs = co_await Handshake(*self, *tls, t);
          if (!hs.ok()) {
            if (watchdog->fired()) co_return timed_out();
            co_return hs.error();
          }
        }
      }

      beast::flat_buffer buffer;
      buffer.max_size(self->options.max_header_bytes + 64 * 1024);
      std::optional<http::response_parser<http::string_body>> parser;
      RoundTripResult rt;
      if (tls) {
        co_await RoundTrip(*tls, self->options, req.method, head, req.body, buffer, parser, rt);
      } else {
        co_await RoundTrip(socket, self->options, req.method, head, req.body, buffer, parser, rt);
      }
      beast::error_code ec = rt.read_error;
      const beast::error_code& wec = rt.write_error;
      if (ec && wec && rt.received == 0) ec = wec;
      if (ec) {
        if (reused && rt.received == 0 && buffer.size() == 0 && IsIdempotent(req.method) &&
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
      const bool keep = !wec && msg.keep_alive() && buffer.size() == 0 && !req.headers.Get("Connection");
      watchdog->Stop();
      beast::error_code lec;
      bool v6 = socket.local_endpoint(lec).address().is_v6();
      SSL* session = nullptr;
      if (!lec && tls) session = DetachSession(tls);  // null: keep the stream, close below
      if (lec || (tls && session == nullptr)) co_return resp;
      int fd = socket.release(lec);
      if (lec) {
        if (session != nullptr) SSL_free(session);
        co_return resp;
      }
      Idle conn{fd, v6, Clock::now(), session};
      if (keep) {
        self->Checkin(t.pool_key, conn);
      } else {
        Close(conn);  // close_notify for TLS
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

HttpClient::HttpClient(HttpClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(options))) {}

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
