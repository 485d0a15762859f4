#include "atcr/net/http_client.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <thread>

#include "atcr/net/server.h"
#include "test_support.h"

namespace atcr::net {
namespace {

using namespace std::chrono_literals;

Task<void> SleepFor(std::chrono::milliseconds d) {
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, d);
  co_await t.async_wait(boost::asio::use_awaitable);
}

class HttpClientTest : public ::testing::Test {
 protected:
  void Start(ServerOptions options = {}) {
    Router r;
    r.Add(Method::kGet, "/remote", [](Request& req) -> Task<Response> {
      co_return Response::Text(200, req.remote);
    });
    r.Add(Method::kPost, "/echo", [](Request& req) -> Task<Response> {
      auto body = co_await req.body->ReadAll(1 << 20);
      if (!body.ok()) co_return Response::Text(413, body.error().message);
      auto resp = Response::Text(200, std::move(*body));
      resp.headers.Set("X-Seen-Type", std::string(req.headers.Get("Content-Type").value_or("")));
      co_return resp;
    });
    r.Add(Method::kGet, "/big", [](Request&) -> Task<Response> {
      co_return Response::Text(200, std::string(200000, 'b'));
    });
    r.Add(Method::kGet, "/redirect", [](Request&) -> Task<Response> {
      auto resp = Response::Empty(307);
      resp.headers.Set("Location", "http://example.invalid/blob");
      co_return resp;
    });
    r.Add(Method::kGet, "/hang", [](Request&) -> Task<Response> {
      co_await SleepFor(1500ms);
      co_return Response::Text(200, "late");
    });
    r.Add(Method::kGet, "/stream", [](Request&) -> Task<Response> {
      Response resp;
      resp.body = StreamBody([](BodyWriter& w) -> Task<Result<void>> {
        for (int i = 0; i < 100; ++i) ATCR_CO_TRY(co_await w.Write(AsBytes(std::string_view("0123456789"))));
        co_return Ok();
      });
      co_return resp;
    });
    // Calls back into the server with the coroutine API from inside a handler.
    r.Add(Method::kGet, "/proxy", [this](Request&) -> Task<Response> {
      // GCC 12 mis-handles braced temporaries inside a co_await expression (double
      // destruction); build the request as a named local first.
      ClientRequest creq{.url = Url("/stream")};
      auto r = co_await client_.Send(std::move(creq));
      if (!r.ok()) co_return Response::Text(502, r.error().ToString());
      co_return Response::Text(200, "proxied " + std::to_string(r->body.size()));
    });
    options.threads = 2;
    options.drain_timeout = 3s;
    server_ = std::make_unique<Server>(std::move(options), std::move(r));
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }
  std::string Url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }

  HttpClient client_;
  std::unique_ptr<Server> server_;
};

TEST_F(HttpClientTest, SendsRequestsAndReadsResponses) {
  Start();
  ClientRequest req{.method = Method::kPost, .url = Url("/echo"), .body = "payload"};
  req.headers.Set("Content-Type", "text/x-test");
  auto r = client_.SendSync(req);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "payload");
  EXPECT_EQ(r->headers.Get("x-seen-type"), "text/x-test");

  auto s = client_.SendSync({.url = Url("/stream")});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->body.size(), 1000u);

  auto head = client_.SendSync({.method = Method::kHead, .url = Url("/big")});
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->headers.Get("Content-Length"), "200000");
  EXPECT_TRUE(head->body.empty());
}

TEST_F(HttpClientTest, PoolReusesTheConnection) {
  Start();
  auto a = client_.SendSync({.url = Url("/remote")});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(client_.idle_connections(), 1u);
  auto b = client_.SendSync({.url = Url("/remote")});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->body, b->body);  // same client port: same connection
  EXPECT_EQ(client_.idle_connections(), 1u);
}

TEST_F(HttpClientTest, ReconnectsWhenThePooledConnectionWasClosed) {
  Start({.idle_timeout = 1s});
  auto a = client_.SendSync({.url = Url("/remote")});
  ASSERT_TRUE(a.ok());
  std::this_thread::sleep_for(1500ms);  // the server closes the idle connection
  auto b = client_.SendSync({.url = Url("/remote")});
  ASSERT_TRUE(b.ok()) << b.error().ToString();
  EXPECT_NE(a->body, b->body);
}

TEST_F(HttpClientTest, TimesOutOnAHandlerThatNeverAnswers) {
  Start();
  auto r = client_.SendSync({.url = Url("/hang"), .timeout = 200ms});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDeadlineExceeded) << r.error().ToString();
  EXPECT_EQ(client_.idle_connections(), 0u);
}

TEST_F(HttpClientTest, EnforcesTheResponseBodyLimit) {
  Start();
  HttpClient small({.max_response_bytes = 1000});
  auto r = small.SendSync({.url = Url("/big")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
}

TEST_F(HttpClientTest, ReturnsAnEarlyRejectionOfALargeBody) {
  Start();
  auto r = client_.SendSync(
      {.method = Method::kPost, .url = Url("/echo"), .body = std::string(3 << 20, 'u')});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->headers.Get("Connection"), "close");
  // The server closed that connection; the next request gets a fresh one.
  auto next = client_.SendSync({.url = Url("/remote")});
  ASSERT_TRUE(next.ok()) << next.error().ToString();
  EXPECT_EQ(next->status, 200);
}

TEST_F(HttpClientTest, ReturnsRedirectsWithoutFollowing) {
  Start();
  auto r = client_.SendSync({.url = Url("/redirect")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 307);
  EXPECT_EQ(r->headers.Get("Location"), "http://example.invalid/blob");
}

TEST_F(HttpClientTest, CoroutineSendWorksFromInsideAHandler) {
  Start();
  auto r = client_.SendSync({.url = Url("/proxy")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "proxied 1000");
}

TEST_F(HttpClientTest, ConcurrentSyncCallersShareThePool) {
  Start();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto r = client_.SendSync({.method = Method::kPost, .url = Url("/echo"), .body = "x"});
        if (r.ok() && r->body == "x") ok++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 100);
  EXPECT_LE(client_.idle_connections(), 4u);
}

TEST(HttpClient, ReportsBadUrlsAndUnreachablePeers) {
  HttpClient client;
  auto bad = client.SendSync({.url = "not a url"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  auto ftp = client.SendSync({.url = "ftp://127.0.0.1/"});
  EXPECT_EQ(ftp.error().code, ErrorCode::kInvalidArgument);
  auto tls = client.SendSync({.url = "https://127.0.0.1:1/", .timeout = 2s});
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.error().code, ErrorCode::kUnavailable) << tls.error().ToString();
  // Port 1 on loopback: nothing listens there.
  auto refused = client.SendSync({.url = "http://127.0.0.1:1/", .timeout = 2s});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable) << refused.error().ToString();
  ClientRequest injected{.url = "http://127.0.0.1:1/"};
  injected.headers.Set("X-Evil", "a\r\nInjected: yes");
  EXPECT_EQ(client.SendSync(injected).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace atcr::net
