#include "atcr/net/websocket.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <future>
#include <thread>

#include "atcr/net/http_client.h"
#include "atcr/net/server.h"
#include "atcr/net/signal.h"
#include "atcr/net/xrpc.h"
#include "coro_support.h"
#include "test_support.h"

namespace atcr::net {
namespace {

using namespace std::chrono_literals;
using testing::RunSync;
namespace asio = boost::asio;

Task<void> SleepFor(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

// Echoes every message with its type until the peer leaves.
Task<void> Echo(WebSocket& ws) {
  for (;;) {
    auto m = co_await ws.Receive();
    if (!m.ok()) co_return;
    // Not `c ? co_await a : co_await b`: GCC 12 destroys the result of such an expression twice.
    Result<void> sent = Ok();
    if (m->binary) {
      sent = co_await ws.SendBinary(AsBytes(m->data));
    } else {
      sent = co_await ws.SendText(m->data);
    }
    if (!sent.ok()) co_return;
  }
}

class WebSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Router r;
    r.Add(Method::kGet, "/echo", [](Request&) -> Task<Response> {
      co_return Response::WebSocketUpgrade(Echo, 32 << 20);
    });
    // Validates before upgrading; errors stay plain HTTP.
    r.Add(Method::kGet, "/checked", [](Request& req) -> Task<Response> {
      if (req.Query("cursor") != "1") co_return XrpcErrorResponse(400, "InvalidCursor", "bad cursor");
      if (!IsWebSocketUpgrade(req)) co_return XrpcErrorResponse(400, "InvalidRequest", "not ws");
      auto resp = Response::WebSocketUpgrade(Echo);
      resp.headers.Set("X-Route", "checked");
      co_return resp;
    });
    r.Add(Method::kGet, "/small", [this](Request&) -> Task<Response> {
      co_return Response::WebSocketUpgrade(
          [this](WebSocket& ws) -> Task<void> {
            auto m = co_await ws.Receive();
            small_result_.set_value(m.ok() ? std::string("ok") : m.error().ToString());
          },
          1000);
    });
    // Sends three messages and returns: the server closes.
    r.Add(Method::kGet, "/bye", [](Request&) -> Task<Response> {
      co_return Response::WebSocketUpgrade([](WebSocket& ws) -> Task<void> {
        for (std::string_view s : {"one", "two", "bye"}) {
          auto sent = co_await ws.SendText(s);
          if (!sent.ok()) co_return;
        }
      });
    });
    r.Add(Method::kGet, "/throws", [](Request&) -> Task<Response> {
      co_return Response::WebSocketUpgrade([](WebSocket&) -> Task<void> {
        throw std::runtime_error("session bug");
        co_return;
      });
    });
    r.Add(Method::kGet, "/big", [](Request&) -> Task<Response> {
      co_return Response::WebSocketUpgrade([](WebSocket& ws) -> Task<void> {
        std::string big(5000, 'x');
        auto sent = co_await ws.SendBinary(AsBytes(big));
        (void)sent;
        co_await ws.Receive();  // until the client leaves
      });
    });
    // Writer only (the firehose shape): notices the client leaving through is_open().
    r.Add(Method::kGet, "/writer", [this](Request&) -> Task<Response> {
      co_return Response::WebSocketUpgrade([this](WebSocket& ws) -> Task<void> {
        int sent = 0;
        while (ws.is_open()) {
          co_await firehose_.Wait(50ms);
          if (!ws.is_open()) break;
          // Counts attempts: a send racing with the peer's disconnect may be reported failed
          // although its bytes went out.
          auto r = co_await ws.SendText("tick");
          (void)r;
          ++sent;
        }
        writer_done_.set_value(sent);
      });
    });
    // A writer loop plus a concurrent reader that the session waits for.
    r.Add(Method::kGet, "/duplex", [](Request&) -> Task<Response> {
      co_return Response::WebSocketUpgrade([](WebSocket& ws) -> Task<void> {
        auto ex = co_await asio::this_coro::executor;
        auto received = std::make_shared<int>(0);
        auto reader_done = std::make_shared<Signal>();
        auto reader_finished = std::make_shared<std::atomic<bool>>(false);
        asio::co_spawn(
            ex,
            [&ws, received, reader_done, reader_finished]() -> Task<void> {
              for (;;) {
                auto m = co_await ws.Receive();
                if (!m.ok()) break;
                ++*received;
              }
              reader_finished->store(true);
              reader_done->Notify();
            },
            asio::detached);
        for (int i = 0; i < 200; ++i) {
          std::string msg = "srv" + std::to_string(i);
          auto sent = co_await ws.SendText(msg);
          if (!sent.ok()) break;
        }
        // Tell the client how many of its messages arrived so far, then wait for it to leave.
        while (!reader_finished->load()) co_await reader_done->Wait(1000ms);
        (void)received;
      });
    });
    ServerOptions options;
    options.threads = 2;
    options.access_log = false;
    options.drain_timeout = 20s;
    server_ = std::make_unique<Server>(std::move(options), std::move(r));
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }
  std::string Url(std::string_view path) {
    return "ws://127.0.0.1:" + std::to_string(server_->port()) + std::string(path);
  }
  // Named locals only inside co_await (GCC 12 pitfall), hence the string_view.
  Task<Result<std::unique_ptr<WebSocket>>> Connect(std::string_view path,
                                                   WebSocketClientOptions opts) {
    std::string url = Url(path);
    co_return co_await ConnectWebSocket(std::move(url), std::move(opts));
  }
  Task<Result<std::unique_ptr<WebSocket>>> Connect(std::string_view path) {
    WebSocketClientOptions opts;
    co_return co_await Connect(path, std::move(opts));
  }

  std::unique_ptr<Server> server_;
  std::promise<std::string> small_result_;
  std::promise<int> writer_done_;
  Signal firehose_;
};

TEST_F(WebSocketTest, EchoesBinaryAndText) {
  RunSync([this]() -> Task<void> {
    auto ws = co_await Connect("/echo");
    EXPECT_TRUE(ws.ok()) << ws.error().ToString();
    if (!ws.ok()) co_return;
    auto& s = **ws;
    EXPECT_TRUE(s.is_open());
    const std::string bin("\0\1\2\xff", 4);
    EXPECT_TRUE((co_await s.SendBinary(AsBytes(bin))).ok());
    EXPECT_TRUE((co_await s.SendText("héllo")).ok());
    auto m1 = co_await s.Receive();
    EXPECT_TRUE(m1.ok());
    if (m1.ok()) {
      EXPECT_TRUE(m1->binary);
      EXPECT_EQ(m1->data, bin);
    }
    auto m2 = co_await s.Receive();
    EXPECT_TRUE(m2.ok());
    if (m2.ok()) {
      EXPECT_FALSE(m2->binary);
      EXPECT_EQ(m2->data, "héllo");
    }
    // Empty messages are messages too.
    EXPECT_TRUE((co_await s.SendBinary(ByteSpan())).ok());
    auto m3 = co_await s.Receive();
    EXPECT_TRUE(m3.ok() && m3->data.empty());
    co_await s.Close();
    EXPECT_FALSE(s.is_open());
    auto after = co_await s.SendText("late");
    EXPECT_EQ(after.ok() ? ErrorCode::kInternal : after.error().code, ErrorCode::kUnavailable);
    auto r = co_await s.Receive();
    EXPECT_EQ(r.ok() ? ErrorCode::kInternal : r.error().code, ErrorCode::kUnavailable);
  }());
}

TEST_F(WebSocketTest, EchoesBigMessages) {
  RunSync([this]() -> Task<void> {
    auto ws = co_await Connect("/echo");
    EXPECT_TRUE(ws.ok());
    if (!ws.ok()) co_return;
    std::string big(9 << 20, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + (i >> 12));
    EXPECT_TRUE((co_await (*ws)->SendBinary(AsBytes(big))).ok());
    auto m = co_await (*ws)->Receive();
    EXPECT_TRUE(m.ok());
    if (m.ok()) {
      EXPECT_TRUE(m->data == big);
    }
  }());
}

TEST_F(WebSocketTest, ServerLimitClosesWith1009) {
  RunSync([this]() -> Task<void> {
    auto ws = co_await Connect("/small");
    EXPECT_TRUE(ws.ok());
    if (!ws.ok()) co_return;
    std::string msg(2000, 'a');
    EXPECT_TRUE((co_await (*ws)->SendBinary(AsBytes(msg))).ok());
    auto r = co_await (*ws)->Receive();
    EXPECT_FALSE(r.ok());
    if (!r.ok()) {
      // Usually "closed (1009)"; the server closes with part of the message unread, so the
      // client may see a reset instead of the close frame.
      EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().message;
    }
  }());
  auto f = small_result_.get_future();
  ASSERT_EQ(f.wait_for(20s), std::future_status::ready);
  std::string got = f.get();
  EXPECT_NE(got.find("resource exhausted"), std::string::npos) << got;
  EXPECT_NE(got.find("limit of 1000 bytes"), std::string::npos) << got;
}

TEST_F(WebSocketTest, ClientLimit) {
  RunSync([this]() -> Task<void> {
    WebSocketClientOptions opts;
    opts.max_message_bytes = 1000;
    auto ws = co_await Connect("/big", std::move(opts));
    EXPECT_TRUE(ws.ok());
    if (!ws.ok()) co_return;
    auto r = co_await (*ws)->Receive();
    EXPECT_EQ(r.ok() ? ErrorCode::kInternal : r.error().code, ErrorCode::kResourceExhausted);
    EXPECT_FALSE((*ws)->is_open());
  }());
}

TEST_F(WebSocketTest, ServerClosingIsSeenAfterQueuedMessages) {
  RunSync([this]() -> Task<void> {
    auto ws = co_await Connect("/bye");
    EXPECT_TRUE(ws.ok());
    if (!ws.ok()) co_return;
    for (std::string_view want : {"one", "two", "bye"}) {
      auto m = co_await (*ws)->Receive();
      EXPECT_TRUE(m.ok());
      if (m.ok()) {
        EXPECT_EQ(m->data, want);
      }
    }
    auto end = co_await (*ws)->Receive();
    EXPECT_FALSE(end.ok());
    if (!end.ok()) {
      EXPECT_EQ(end.error().code, ErrorCode::kUnavailable);
      EXPECT_NE(end.error().message.find("(1000"), std::string::npos) << end.error().message;
    }
    EXPECT_FALSE((*ws)->is_open());
  }());
}

TEST_F(WebSocketTest, SessionThatThrowsClosesWith1011) {
  RunSync([this]() -> Task<void> {
    auto ws = co_await Connect("/throws");
    EXPECT_TRUE(ws.ok());
    if (!ws.ok()) co_return;
    auto end = co_await (*ws)->Receive();
    EXPECT_FALSE(end.ok());
    if (!end.ok()) {
      EXPECT_NE(end.error().message.find("1011"), std::string::npos);
    }
  }());
}

TEST_F(WebSocketTest, HandlerErrorsStayHttp) {
  RunSync([this]() -> Task<void> {
    auto ws = co_await Connect("/checked?cursor=2");
    EXPECT_FALSE(ws.ok());
    if (!ws.ok()) {
      EXPECT_EQ(ws.error().code, ErrorCode::kInvalidArgument);
      EXPECT_EQ(ws.error().wire, "InvalidCursor");
      EXPECT_NE(ws.error().message.find("bad cursor"), std::string::npos) << ws.error().message;
    }
    auto ok = co_await Connect("/checked?cursor=1");
    EXPECT_TRUE(ok.ok());
    auto missing = co_await Connect("/nothing");
    EXPECT_EQ(missing.ok() ? ErrorCode::kInternal : missing.error().code, ErrorCode::kNotFound);
  }());
  // A plain GET to an upgrade route: the handler's own answer, or the server's 400.
  HttpClient client;
  ClientRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(server_->port()) + "/checked?cursor=1";
  auto r = client.SendSync(std::move(req));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("not ws"), std::string::npos);
  ClientRequest echo;
  echo.url = "http://127.0.0.1:" + std::to_string(server_->port()) + "/echo";
  r = client.SendSync(std::move(echo));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("WebSocket upgrade"), std::string::npos) << r->body;
}

TEST_F(WebSocketTest, RawHandshakeCarriesHandlerHeaders) {
  testing::RawConn c(server_->port());
  ASSERT_TRUE(c.Send("GET /checked?cursor=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                     "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"));
  auto resp = c.ReadResponse(/*head=*/true);
  EXPECT_EQ(resp.status, 101);
  // RFC 6455 section 1.3's example key and answer.
  EXPECT_EQ(resp.Get("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(resp.Get("x-route"), "checked");
  // A masked text frame "hi" (mask 0x01020304) comes back unmasked.
  const char frame[] = {'\x81', '\x82', '\x01', '\x02', '\x03', '\x04', 'h' ^ 1, 'i' ^ 2};
  ASSERT_TRUE(c.Send(std::string_view(frame, sizeof frame)));
  EXPECT_EQ(c.ReadExactly(4), std::string("\x81\x02hi", 4));
}

TEST_F(WebSocketTest, BadHandshakeGets400) {
  testing::RawConn c(server_->port());
  ASSERT_TRUE(c.Send("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                     "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n"));  // no key
  auto resp = c.ReadResponse();
  EXPECT_EQ(resp.status, 400);
  EXPECT_TRUE(c.ClosedByPeer(10s));
}

TEST_F(WebSocketTest, WriterSessionNoticesAbruptDisconnect) {
  auto done = writer_done_.get_future();
  {
    testing::RawConn c(server_->port());
    ASSERT_TRUE(c.Send("GET /writer HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                       "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"));
    EXPECT_EQ(c.ReadResponse(/*head=*/true).status, 101);
    firehose_.Notify();
    EXPECT_EQ(c.ReadExactly(6), std::string("\x81\x04tick", 6));
    // Closed without a close frame, as a crashed client would.
  }
  ASSERT_EQ(done.wait_for(30s), std::future_status::ready);
  EXPECT_GE(done.get(), 1);
}

TEST_F(WebSocketTest, SessionReceiveSeesClientClose) {
  auto done = writer_done_.get_future();
  RunSync([this]() -> Task<void> {
    auto ws = co_await Connect("/writer");
    EXPECT_TRUE(ws.ok());
    if (!ws.ok()) co_return;
    firehose_.Notify();
    auto m = co_await (*ws)->Receive();
    EXPECT_TRUE(m.ok() && m->data == "tick");
    co_await (*ws)->Close(1000, "done");
  }());
  ASSERT_EQ(done.wait_for(30s), std::future_status::ready);
}

TEST_F(WebSocketTest, ConcurrentSendAndReceiveOnBothSides) {
  RunSync([this]() -> Task<void> {
    auto ws = co_await Connect("/duplex");
    EXPECT_TRUE(ws.ok());
    if (!ws.ok()) co_return;
    WebSocket& s = **ws;
    auto ex = co_await asio::this_coro::executor;
    auto got = std::make_shared<int>(0);
    auto reader_done = std::make_shared<Signal>();
    asio::co_spawn(
        ex,
        [&s, got, reader_done]() -> Task<void> {
          for (int i = 0; i < 200; ++i) {
            auto m = co_await s.Receive();
            if (!m.ok() || m->data != "srv" + std::to_string(i)) break;
            ++*got;
          }
          reader_done->Notify();
        },
        asio::detached);
    for (int i = 0; i < 200; ++i) {
      std::string msg(1000, static_cast<char>('a' + i % 26));
      auto sent = co_await s.SendBinary(AsBytes(msg));
      EXPECT_TRUE(sent.ok());
      if (!sent.ok()) break;
    }
    while (*got < 200) {
      if (!co_await reader_done->Wait(30000ms)) break;
    }
    EXPECT_EQ(*got, 200);
    co_await s.Close();
  }());
}

TEST_F(WebSocketTest, SecondConcurrentReceiveIsRejected) {
  RunSync([this]() -> Task<void> {
    auto ws = co_await Connect("/echo");
    EXPECT_TRUE(ws.ok());
    if (!ws.ok()) co_return;
    WebSocket& s = **ws;
    auto ex = co_await asio::this_coro::executor;
    auto first = std::make_shared<std::optional<Result<WebSocketMessage>>>();
    auto first_done = std::make_shared<Signal>();
    asio::co_spawn(
        ex,
        [&s, first, first_done]() -> Task<void> {
          first->emplace(co_await s.Receive());
          first_done->Notify();
        },
        asio::detached);
    co_await SleepFor(50ms);  // lets the first Receive start waiting (not an assertion)
    auto second = co_await s.Receive();
    EXPECT_EQ(second.ok() ? ErrorCode::kInternal : second.error().code,
              ErrorCode::kFailedPrecondition);
    EXPECT_TRUE((co_await s.SendText("x")).ok());
    while (!first->has_value()) co_await first_done->Wait(30000ms);
    EXPECT_TRUE(first->value().ok());
  }());
}

TEST_F(WebSocketTest, StopClosesOpenWebSocketsWith1001) {
  std::promise<void> connected;
  std::vector<std::string> endings;
  std::thread client([&] {
    RunSync([&]() -> Task<void> {
      auto a = co_await Connect("/echo");
      auto b = co_await Connect("/writer");
      EXPECT_TRUE(a.ok() && b.ok());
      if (!a.ok() || !b.ok()) {
        connected.set_value();
        co_return;
      }
      firehose_.Notify();
      auto tick = co_await (*b)->Receive();  // the writer session is running
      EXPECT_TRUE(tick.ok());
      connected.set_value();
      for (auto* ws : {a->get(), b->get()}) {
        for (;;) {
          auto m = co_await ws->Receive();
          if (!m.ok()) {
            endings.push_back(m.error().message);
            break;
          }
        }
      }
    }());
  });
  connected.get_future().wait();
  server_->Stop();  // returns once both sessions ended (drain_timeout is 20 s)
  client.join();
  ASSERT_EQ(endings.size(), 2u);
  for (const auto& e : endings) EXPECT_NE(e.find("1001"), std::string::npos) << e;
}

TEST(WebSocketClient, RejectsBadUrls) {
  auto r = RunSync(ConnectWebSocket("http://127.0.0.1:1/"));
  EXPECT_EQ(r.ok() ? ErrorCode::kInternal : r.error().code, ErrorCode::kInvalidArgument);
  r = RunSync(ConnectWebSocket("ws://"));
  EXPECT_EQ(r.ok() ? ErrorCode::kInternal : r.error().code, ErrorCode::kInvalidArgument);
  r = RunSync(ConnectWebSocket("ws://127.0.0.1:1/"));  // nothing listens on port 1
  EXPECT_EQ(r.ok() ? ErrorCode::kInternal : r.error().code, ErrorCode::kUnavailable);
}

TEST(WebSocketUpgrade, DetectsUpgradeHeaders) {
  Request req;
  req.headers.Add("Connection", "keep-alive, Upgrade");
  req.headers.Add("Upgrade", "WebSocket");
  EXPECT_TRUE(IsWebSocketUpgrade(req));
  req.method = Method::kPost;
  EXPECT_FALSE(IsWebSocketUpgrade(req));
  Request plain;
  plain.headers.Add("Upgrade", "websocket");
  EXPECT_FALSE(IsWebSocketUpgrade(plain));
}

}  // namespace
}  // namespace atcr::net
