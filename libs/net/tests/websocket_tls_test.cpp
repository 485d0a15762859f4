// wss:// with ConnectWebSocket: a TLS-terminating proxy (asio::ssl, certificates from
// TestPki) in front of an atcr Server with a WebSocket echo route.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "atcr/net/server.h"
#include "atcr/net/websocket.h"
#include "coro_support.h"
#include "test_pki.h"

namespace atcr::net {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using testing::RunSync;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// Accepts TLS on 127.0.0.1:0 and pipes the plaintext to 127.0.0.1:backend_port.
class TlsProxy {
 public:
  TlsProxy(const TestPki& pki, const std::string& leaf, uint16_t backend_port)
      : ctx_(ssl::context::tls_server), acceptor_(ioc_), backend_port_(backend_port) {
    ctx_.use_certificate_chain_file(pki.Path(leaf + ".pem"));
    ctx_.use_private_key_file(pki.Path(leaf + ".key"), ssl::context::pem);
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(ioc_, Accept(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~TlsProxy() {
    ioc_.stop();
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  struct Pair {
    Pair(tcp::socket s, ssl::context& ctx) : tls(std::move(s), ctx), plain(tls.get_executor()) {}
    ssl::stream<tcp::socket> tls;
    tcp::socket plain;
  };

  Task<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kUseTuple);
      if (ec) co_return;
      asio::co_spawn(ioc_, Serve(std::make_shared<Pair>(std::move(socket), ctx_)), asio::detached);
    }
  }

  Task<void> Serve(std::shared_ptr<Pair> p) {
    auto [hec] = co_await p->tls.async_handshake(ssl::stream_base::server, kUseTuple);
    if (hec) co_return;
    tcp::endpoint backend(asio::ip::make_address("127.0.0.1"), backend_port_);
    auto [cec] = co_await p->plain.async_connect(backend, kUseTuple);
    if (cec) co_return;
    asio::co_spawn(ioc_, PlainToTls(p), asio::detached);
    std::array<char, 16384> buf;
    for (;;) {
      auto [rec, n] = co_await p->tls.async_read_some(asio::buffer(buf), kUseTuple);
      if (rec) break;
      auto [wec, w] = co_await asio::async_write(p->plain, asio::buffer(buf.data(), n), kUseTuple);
      if (wec) break;
    }
    boost::system::error_code ignored;
    p->plain.shutdown(tcp::socket::shutdown_send, ignored);
  }

  static Task<void> PlainToTls(std::shared_ptr<Pair> p) {
    std::array<char, 16384> buf;
    for (;;) {
      auto [rec, n] = co_await p->plain.async_read_some(asio::buffer(buf), kUseTuple);
      if (rec) break;
      auto [wec, w] = co_await asio::async_write(p->tls, asio::buffer(buf.data(), n), kUseTuple);
      if (wec) break;
    }
    boost::system::error_code ignored;
    p->tls.lowest_layer().close(ignored);
  }

  asio::io_context ioc_;
  ssl::context ctx_;
  tcp::acceptor acceptor_;
  uint16_t backend_port_;
  uint16_t port_ = 0;
  std::thread thread_;
};

class WebSocketTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Router r;
    r.Add(Method::kGet, "/echo", [](Request&) -> Task<Response> {
      co_return Response::WebSocketUpgrade([](WebSocket& ws) -> Task<void> {
        for (;;) {
          auto m = co_await ws.Receive();
          if (!m.ok()) co_return;
          auto sent = co_await ws.SendBinary(AsBytes(m->data));
          if (!sent.ok()) co_return;
        }
      });
    });
    ServerOptions options;
    options.threads = 1;
    options.access_log = false;
    server_ = std::make_unique<Server>(std::move(options), std::move(r));
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override { server_->Stop(); }

  TestPki pki_;
  std::unique_ptr<Server> server_;
};

Task<Result<std::string>> EchoOnce(std::string url, WebSocketClientOptions opts) {
  auto ws = co_await ConnectWebSocket(std::move(url), std::move(opts));
  if (!ws.ok()) co_return std::move(ws).error();
  const std::string msg = "over tls";
  auto sent = co_await (*ws)->SendBinary(AsBytes(msg));
  if (!sent.ok()) co_return std::move(sent).error();
  auto m = co_await (*ws)->Receive();
  if (!m.ok()) co_return std::move(m).error();
  co_await (*ws)->Close(1000, "bye");
  co_return std::move(m->data);
}

TEST_F(WebSocketTlsTest, EchoesOverWssWithTheCaFile) {
  TlsProxy proxy(pki_, "good", server_->port());
  WebSocketClientOptions opts;
  opts.tls_ca_file = pki_.Path("ca.pem");
  auto r = RunSync(EchoOnce("wss://localhost:" + std::to_string(proxy.port()) + "/echo",
                            std::move(opts)));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(*r, "over tls");
  WebSocketClientOptions by_ip;
  by_ip.tls_ca_file = pki_.Path("ca.pem");
  r = RunSync(EchoOnce("wss://127.0.0.1:" + std::to_string(proxy.port()) + "/echo",
                       std::move(by_ip)));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
}

TEST_F(WebSocketTlsTest, RejectsAnUntrustedCertificate) {
  TlsProxy proxy(pki_, "good", server_->port());
  auto r = RunSync(EchoOnce("wss://localhost:" + std::to_string(proxy.port()) + "/echo",
                            WebSocketClientOptions()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("verification failed"), std::string::npos)
      << r.error().message;
}

TEST_F(WebSocketTlsTest, RejectsAHostnameMismatch) {
  TlsProxy proxy(pki_, "wrong", server_->port());
  WebSocketClientOptions opts;
  opts.tls_ca_file = pki_.Path("ca.pem");
  auto r = RunSync(EchoOnce("wss://localhost:" + std::to_string(proxy.port()) + "/echo",
                            std::move(opts)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST_F(WebSocketTlsTest, ReportsAnUnloadableCaFile) {
  WebSocketClientOptions opts;
  opts.tls_ca_file = "/nonexistent/ca.pem";
  auto r = RunSync(EchoOnce("wss://localhost:1/echo", std::move(opts)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace atcr::net
