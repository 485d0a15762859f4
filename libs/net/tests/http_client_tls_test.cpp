// HttpClient over TLS against a real TLS peer started by the test: a throwaway CA and server
// certificates made with the `openssl` CLI in a temp dir, and a small asio::ssl server that
// answers every request head with a fixed response naming the connection it arrived on.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "atcr/net/http_client.h"
#include "test_pki.h"

namespace atcr::net {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// TLS server on 127.0.0.1:0, one thread. Connections are numbered from 1; the body of every
// answer is "conn <n>". Remembers the SNI names it was sent.
enum class Mode {
  kAnswer,      // answer every request, keep the connection
  kHang,        // complete the handshake, read the request, never answer
  kAnswerOnce,  // answer the first request; on the next one close without a byte
  kCloseDelimited,  // answer without a length and end the body by closing TCP (no close_notify)
};

class TlsServer {
 public:
  TlsServer(const TestPki& pki, const std::string& leaf, Mode mode = Mode::kAnswer)
      : ctx_(ssl::context::tls_server), acceptor_(ioc_), mode_(mode) {
    ctx_.use_certificate_chain_file(pki.Path(leaf + ".pem"));
    ctx_.use_private_key_file(pki.Path(leaf + ".key"), ssl::context::pem);
    SSL_CTX_set_tlsext_servername_callback(ctx_.native_handle(), &TlsServer::OnServerName);
    SSL_CTX_set_tlsext_servername_arg(ctx_.native_handle(), this);
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(ioc_, Accept(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~TlsServer() {
    ioc_.stop();
    thread_.join();
  }
  uint16_t port() const { return port_; }
  int connections() const { return connections_.load(); }
  std::vector<std::string> server_names() {
    std::lock_guard lock(mu_);
    return server_names_;
  }

 private:
  static int OnServerName(SSL* s, int*, void* arg) {
    auto* self = static_cast<TlsServer*>(arg);
    if (const char* name = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name)) {
      std::lock_guard lock(self->mu_);
      self->server_names_.emplace_back(name);
    }
    return SSL_TLSEXT_ERR_OK;
  }

  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kUseTuple);
      if (ec) co_return;
      int id = ++connections_;
      asio::co_spawn(ioc_, Serve(std::move(socket), id), asio::detached);
    }
  }

  asio::awaitable<void> Serve(tcp::socket socket, int id) {
    ssl::stream<tcp::socket> stream(std::move(socket), ctx_);
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, kUseTuple);
    if (hec) co_return;
    std::string in;
    for (int served = 0;; ++served) {
      auto [rec, n] = co_await asio::async_read_until(stream, asio::dynamic_buffer(in), "\r\n\r\n", kUseTuple);
      if (rec) co_return;
      in.erase(0, n);
      if (mode_ == Mode::kAnswerOnce && served == 1) co_return;  // closes the socket
      if (mode_ == Mode::kHang) {
        asio::steady_timer t(ioc_, 60s);
        co_await t.async_wait(kUseTuple);
        co_return;
      }
      std::string body = "conn " + std::to_string(id);
      std::string out = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
      if (mode_ == Mode::kCloseDelimited) out = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body;
      auto [wec, w] = co_await asio::async_write(stream, asio::buffer(out), kUseTuple);
      if (wec || mode_ == Mode::kCloseDelimited) co_return;
    }
  }

  asio::io_context ioc_;
  ssl::context ctx_;
  tcp::acceptor acceptor_;
  Mode mode_;
  uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::vector<std::string> server_names_;
  std::thread thread_;
};

class HttpClientTlsTest : public ::testing::Test {
 protected:
  std::string Url(const TlsServer& s, const std::string& host = "localhost") {
    return "https://" + host + ":" + std::to_string(s.port()) + "/x";
  }
  HttpClientOptions Trusting() {
    HttpClientOptions o;
    o.tls_ca_file = pki_.Path("ca.pem");
    return o;
  }
  TestPki pki_;
};

TEST_F(HttpClientTlsTest, GetWorksWithTheCaFileAndSendsSni) {
  TlsServer server(pki_, "good");
  HttpClient client(Trusting());
  auto r = client.SendSync({.url = Url(server)});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "conn 1");
  EXPECT_EQ(server.server_names(), std::vector<std::string>{"localhost"});

  // An IP literal is checked against the certificate's IP SAN and sends no SNI.
  auto ip = client.SendSync({.url = Url(server, "127.0.0.1")});
  ASSERT_TRUE(ip.ok()) << ip.error().ToString();
  EXPECT_EQ(ip->status, 200);
  EXPECT_EQ(server.server_names().size(), 1u);
}

TEST_F(HttpClientTlsTest, RejectsAnUntrustedCertificate) {
  TlsServer server(pki_, "good");
  HttpClient client;  // system trust store only
  auto r = client.SendSync({.url = Url(server)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("certificate verification failed"), std::string::npos)
      << r.error().ToString();
  EXPECT_NE(r.error().message.find("unable to get local issuer certificate"), std::string::npos)
      << r.error().ToString();
  EXPECT_EQ(client.idle_connections(), 0u);
}

TEST_F(HttpClientTlsTest, RejectsAHostnameMismatch) {
  TlsServer server(pki_, "wrong");
  HttpClient client(Trusting());
  auto by_name = client.SendSync({.url = Url(server, "localhost")});
  ASSERT_FALSE(by_name.ok());
  EXPECT_EQ(by_name.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(by_name.error().message.find("hostname mismatch"), std::string::npos)
      << by_name.error().ToString();
  auto by_ip = client.SendSync({.url = Url(server, "127.0.0.1")});
  ASSERT_FALSE(by_ip.ok());
  EXPECT_EQ(by_ip.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(by_ip.error().message.find("IP address mismatch"), std::string::npos)
      << by_ip.error().ToString();
}

TEST_F(HttpClientTlsTest, InsecureSkipVerifyAcceptsAnyCertificate) {
  TlsServer server(pki_, "wrong");
  HttpClient client({.insecure_skip_verify = true});
  auto r = client.SendSync({.url = Url(server)});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, "conn 1");
}

TEST_F(HttpClientTlsTest, ReportsAnUnloadableCaFile) {
  HttpClientOptions o;
  o.tls_ca_file = pki_.Path("missing.pem");
  HttpClient client(o);
  auto r = client.SendSync({.url = "https://127.0.0.1:1/"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("missing.pem"), std::string::npos) << r.error().ToString();
}

TEST_F(HttpClientTlsTest, PoolReusesTheTlsConnection) {
  TlsServer server(pki_, "good");
  HttpClient client(Trusting());
  for (int i = 0; i < 3; ++i) {
    auto r = client.SendSync({.url = Url(server)});
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->body, "conn 1");  // every request on the first connection
    EXPECT_EQ(client.idle_connections(), 1u);
  }
  EXPECT_EQ(server.connections(), 1);
}

TEST_F(HttpClientTlsTest, PoolsTlsAndPlainConnectionsSeparately) {
  TlsServer server(pki_, "good");
  HttpClient client(Trusting());
  ASSERT_TRUE(client.SendSync({.url = Url(server)}).ok());
  ASSERT_EQ(client.idle_connections(), 1u);
  // Same host and port over plain http: must not pick up the TLS connection (the server
  // sees a new connection whose bytes are not TLS and drops it).
  ClientRequest plain{.url = "http://localhost:" + std::to_string(server.port()) + "/x", .timeout = 2s};
  auto p = client.SendSync(plain);
  EXPECT_FALSE(p.ok());
  EXPECT_EQ(server.connections(), 2);
  auto again = client.SendSync({.url = Url(server)});
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(again->body, "conn 1");
}

TEST_F(HttpClientTlsTest, RetriesOnceWhenThePooledTlsConnectionDropsTheRequest) {
  TlsServer server(pki_, "good", Mode::kAnswerOnce);
  HttpClient client(Trusting());
  auto a = client.SendSync({.url = Url(server)});
  ASSERT_TRUE(a.ok()) << a.error().ToString();
  EXPECT_EQ(a->body, "conn 1");
  ASSERT_EQ(client.idle_connections(), 1u);
  // Reuses connection 1, which closes without answering; the GET is retried on a new one.
  auto b = client.SendSync({.url = Url(server)});
  ASSERT_TRUE(b.ok()) << b.error().ToString();
  EXPECT_EQ(b->body, "conn 2");
  EXPECT_EQ(server.connections(), 2);
  // Not idempotent: a POST on a reused connection that is dropped is not retried.
  ClientRequest post{.method = Method::kPost, .url = Url(server), .body = "x"};
  auto c = client.SendSync(post);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kUnavailable) << c.error().ToString();
  EXPECT_EQ(server.connections(), 2);
}

TEST_F(HttpClientTlsTest, AcceptsACloseDelimitedBodyWithoutCloseNotify) {
  TlsServer server(pki_, "good", Mode::kCloseDelimited);
  HttpClient client(Trusting());
  auto r = client.SendSync({.url = Url(server)});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, "conn 1");
  EXPECT_EQ(client.idle_connections(), 0u);
}

TEST_F(HttpClientTlsTest, FailsCleanlyWhenThePooledTlsPeerIsGone) {
  HttpClient client(Trusting());
  uint16_t port = 0;
  {
    TlsServer first(pki_, "good");
    port = first.port();
    ASSERT_TRUE(client.SendSync({.url = Url(first)}).ok());
    ASSERT_EQ(client.idle_connections(), 1u);
  }
  // The server is gone; its port is closed, so the pooled connection is stale and a
  // fresh connect fails: the error must be a clean kUnavailable.
  ClientRequest req{.url = "https://localhost:" + std::to_string(port) + "/x", .timeout = 2s};
  auto r = client.SendSync(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().ToString();
  EXPECT_EQ(client.idle_connections(), 0u);
}

TEST_F(HttpClientTlsTest, CoroutineSendWorksOnAnotherExecutorWithAPooledConnection) {
  TlsServer server(pki_, "good");
  HttpClient client(Trusting());
  ASSERT_TRUE(client.SendSync({.url = Url(server)}).ok());
  asio::io_context ioc;
  std::optional<Result<ClientResponse>> out;
  std::string url = Url(server);
  asio::co_spawn(
      ioc,
      [&]() -> Task<void> {
        ClientRequest req{.url = url};
        out = co_await client.Send(std::move(req));
      },
      asio::detached);
  ioc.run();
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE(out->ok()) << out->error().ToString();
  EXPECT_EQ((*out)->body, "conn 1");
}

TEST_F(HttpClientTlsTest, TimesOutOnATlsServerThatNeverAnswers) {
  TlsServer server(pki_, "good", Mode::kHang);
  HttpClient client(Trusting());
  ClientRequest req{.url = Url(server), .timeout = 300ms};
  auto r = client.SendSync(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDeadlineExceeded) << r.error().ToString();
  EXPECT_EQ(client.idle_connections(), 0u);
}

TEST_F(HttpClientTlsTest, TimesOutOnAPeerThatNeverHandshakes) {
  // A plain listener that accepts (via the backlog) and never speaks TLS.
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  HttpClient client(Trusting());
  ClientRequest req{.url = "https://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/",
                    .timeout = 300ms};
  auto r = client.SendSync(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDeadlineExceeded) << r.error().ToString();
}

}  // namespace
}  // namespace atcr::net
