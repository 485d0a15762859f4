#include "atcr/net/server.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "atcr/base/hash.h"
#include "atcr/net/http_client.h"
#include "test_support.h"

namespace atcr::net {
namespace {

using testing::RawConn;
using testing::RawResponse;
using namespace std::chrono_literals;

Task<void> SleepFor(std::chrono::milliseconds d) {
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, d);
  co_await t.async_wait(boost::asio::use_awaitable);
}

Response ErrorResponse(const Error& e) {
  int status = e.code == ErrorCode::kResourceExhausted ? 413 : 400;
  return Response::Text(status, e.message);
}

// Deterministic pseudo-random bytes.
std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen());
  return s;
}

struct TestState {
  std::atomic<int> upload_reads{0};
  std::atomic<bool> slow_started{false};
  std::atomic<int> last_file_fd{-1};
  std::string file_path;
  std::thread::id before, inside, after;
};

Router MakeRouter(TestState& st) {
  Router r;
  r.Add(Method::kGet, "/hello", [](Request&) -> Task<Response> {
    co_return Response::Text(200, "hello");
  });
  r.Add(Method::kGet, "/remote", [](Request& req) -> Task<Response> {
    co_return Response::Text(200, req.remote);
  });
  r.Add(Method::kDelete, "/hello", [](Request&) -> Task<Response> {
    co_return Response::Empty(202);
  });
  r.Add(
      Method::kPut, "/upload",
      [&st](Request& req) -> Task<Response> {
        Hasher hasher;
        std::vector<uint8_t> buf(64 * 1024);
        uint64_t total = 0;
        for (;;) {
          auto n = co_await req.body->Read(buf);
          if (!n.ok()) co_return ErrorResponse(n.error());
          if (*n == 0) break;
          st.upload_reads.fetch_add(1);
          hasher.Update(ByteSpan(buf.data(), *n));
          total += *n;
        }
        co_return Response::Text(201, HexEncode(hasher.Finish()) + " " + std::to_string(total) +
                                          " " + std::to_string(st.upload_reads.load()));
      },
      {.name = "upload", .max_body = 128ull << 20});
  r.Add(
      Method::kPost, "/echo",
      [](Request& req) -> Task<Response> {
        auto body = co_await req.body->ReadAll(1 << 30);
        if (!body.ok()) co_return ErrorResponse(body.error());
        co_return Response::Text(200, std::move(*body));
      },
      {.name = "echo", .max_body = 1024});
  r.Add(
      Method::kPost, "/raise",
      [](Request& req) -> Task<Response> {
        req.body->set_limit(10 << 20);
        auto body = co_await req.body->ReadAll(1 << 30);
        if (!body.ok()) co_return ErrorResponse(body.error());
        co_return Response::Text(200, std::to_string(body->size()));
      },
      {.name = "raise", .max_body = 1024});
  r.Add(
      Method::kPost, "/unlimited",
      [](Request& req) -> Task<Response> {
        req.body->set_limit(UINT64_MAX);  // "no limit" must not overflow to zero
        auto body = co_await req.body->ReadAll(1 << 30);
        if (!body.ok()) co_return ErrorResponse(body.error());
        co_return Response::Text(200, std::to_string(body->size()));
      },
      {.name = "unlimited", .max_body = 1024});
  r.Add(
      Method::kPost, "/read-once",
      [](Request& req) -> Task<Response> {
        std::vector<uint8_t> buf(16 * 1024);
        auto n = co_await req.body->Read(buf);
        if (!n.ok()) co_return ErrorResponse(n.error());
        co_return Response::Text(200, std::to_string(*n));
      },
      {.name = "read-once", .max_body = 1024});
  r.Add(Method::kPost, "/noread", [](Request&) -> Task<Response> {
    co_return Response::Text(401, "no");
  });
  r.Add(Method::kGet, "/file", [&st](Request& req) -> Task<Response> {
    int fd = ::open(st.file_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) co_return Response::Text(500, "open failed");
    st.last_file_fd = fd;
    Response resp;
    uint64_t off = std::stoull(req.Query("off").value_or("0"));
    uint64_t len = std::stoull(req.Query("len").value_or("0"));
    resp.body = FileBody{fd, off, len};
    resp.headers.Set("Content-Type", "application/octet-stream");
    co_return resp;
  });
  r.Add(Method::kHead, "/file", [&st](Request& req) -> Task<Response> {
    Response resp;
    resp.content_length = std::filesystem::file_size(st.file_path);
    (void)req;
    co_return resp;
  });
  r.Add(Method::kGet, "/stream", [](Request&) -> Task<Response> {
    Response resp;
    resp.body = StreamBody([](BodyWriter& w) -> Task<Result<void>> {
      for (int i = 0; i < 10; ++i) {
        std::string part = "part" + std::to_string(i) + ";";
        ATCR_CO_TRY(co_await w.Write(AsBytes(part)));
      }
      co_return Ok();
    });
    co_return resp;
  });
  r.Add(Method::kGet, "/stream-len", [](Request&) -> Task<Response> {
    Response resp;
    resp.content_length = 6;
    resp.body = StreamBody([](BodyWriter& w) -> Task<Result<void>> {
      ATCR_CO_TRY(co_await w.Write(AsBytes(std::string_view("abc"))));
      ATCR_CO_TRY(co_await w.Write(AsBytes(std::string_view("def"))));
      co_return Ok();
    });
    co_return resp;
  });
  r.Add(Method::kGet, "/stream-fail", [](Request&) -> Task<Response> {
    Response resp;
    resp.body = StreamBody([](BodyWriter&) -> Task<Result<void>> {
      co_return Error(ErrorCode::kUnavailable, "backend gone");
    });
    co_return resp;
  });
  r.Add(Method::kGet, "/slow", [&st](Request&) -> Task<Response> {
    st.slow_started = true;
    co_await SleepFor(700ms);
    co_return Response::Text(200, "done");
  });
  r.Add(Method::kGet, "/blocking", [&st](Request&) -> Task<Response> {
    st.before = std::this_thread::get_id();
    co_await RunBlocking([&st] { st.inside = std::this_thread::get_id(); });
    st.after = std::this_thread::get_id();
    co_return Response::Text(200, "ok");
  });
  r.AddPrefix("/v2/", [](Request& req) -> Task<Response> {
    co_return Response::Text(200, "v2:" + req.path + "?" + req.query);
  }, {.name = "v2"});
  return r;
}

class ServerTest : public ::testing::Test {
 protected:
  void Start(ServerOptions options = {}) {
    options.threads = 2;
    options.max_header_bytes = 8 * 1024;
    options.drain_timeout = 5s;
    server_ = std::make_unique<Server>(std::move(options), MakeRouter(state_));
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->port();
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  RawResponse Get(const std::string& path, bool head = false) {
    RawConn c(port_);
    c.Send((head ? "HEAD " : "GET ") + path + " HTTP/1.1\r\nHost: t\r\n\r\n");
    return c.ReadResponse(head);
  }

  TestState state_;
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
};

TEST_F(ServerTest, RoutesUnknownPathTo404AndWrongMethodTo405) {
  Start();
  EXPECT_EQ(Get("/hello").body, "hello");
  auto nf = Get("/nope");
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(nf.Get("Content-Type"), "application/json");
  RawConn c(port_);
  c.Send("POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Get("Allow"), "GET, HEAD, DELETE");
  auto v2 = Get("/v2/library%2Fubuntu/tags/list?n=1");
  EXPECT_EQ(v2.body, "v2:/v2/library/ubuntu/tags/list?n=1");
}

TEST_F(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  Start();
  RawConn c(port_);
  std::string first_remote;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.Send("GET /remote HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto r = c.ReadResponse();
    ASSERT_EQ(r.status, 200) << i;
    EXPECT_FALSE(r.Has("Connection"));
    EXPECT_TRUE(r.Has("Date"));
    if (i == 0) first_remote = r.body;
    EXPECT_EQ(r.body, first_remote);
  }
  // "Connection: close" from the client is honoured.
  c.Send("GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  auto r = c.ReadResponse();
  EXPECT_EQ(r.Get("Connection"), "close");
  EXPECT_TRUE(c.ClosedByPeer(2s));
}

TEST_F(ServerTest, Http10ClientsGetCloseOrKeepAliveAsAsked) {
  Start();
  RawConn c(port_);
  c.Send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  auto r = c.ReadResponse();
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.Get("Connection"), "keep-alive");
  c.Send("GET /hello HTTP/1.0\r\n\r\n");
  r = c.ReadResponse();
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.Get("Connection"), "close");
  EXPECT_TRUE(c.ClosedByPeer(2s));
}

TEST_F(ServerTest, StreamsLargeUploadHashingOnTheFly) {
  Start();
  constexpr size_t kBlock = 1 << 20;
  constexpr size_t kTotal = 64 * kBlock;
  RawConn c(port_);
  ASSERT_TRUE(c.Send("PUT /upload HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                     std::to_string(kTotal) + "\r\n\r\n"));
  Hasher expected;
  for (size_t i = 0; i < kTotal / kBlock; ++i) {
    std::string block = RandomBytes(kBlock, static_cast<uint32_t>(i));
    expected.Update(block);
    ASSERT_TRUE(c.Send(block)) << "block " << i;
    if (i == 0) {
      // The handler consumes the body while it is still arriving: it is not buffered first.
      for (int w = 0; w < 500 && state_.upload_reads.load() == 0; ++w) std::this_thread::sleep_for(10ms);
      ASSERT_GT(state_.upload_reads.load(), 0);
    }
  }
  auto r = c.ReadResponse();
  ASSERT_EQ(r.status, 201) << r.body;
  std::string digest = HexEncode(expected.Finish());
  EXPECT_EQ(r.body.substr(0, digest.size()), digest);
  EXPECT_NE(r.body.find(" " + std::to_string(kTotal) + " "), std::string::npos);
  // Reads never exceed the handler's 64 KiB buffer, so at least 1024 of them.
  EXPECT_GE(state_.upload_reads.load(), 1024);
}

TEST_F(ServerTest, DecodesChunkedRequestBody) {
  Start();
  RawConn c(port_);
  c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
  std::this_thread::sleep_for(20ms);
  c.Send("lo\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: y\r\n\r\n");
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello world");
  // Still usable afterwards.
  c.Send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(c.ReadResponse().body, "hello");
}

TEST_F(ServerTest, Sends100ContinueWhenTheHandlerReadsTheBody) {
  Start();
  RawConn c(port_);
  c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  std::string interim = c.ReadUntil("\r\n\r\n");
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  c.Send("12345");
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "12345");
}

TEST_F(ServerTest, AnswersWithoutContinueWhenTheHandlerDoesNotRead) {
  Start();
  RawConn c(port_);
  c.Send("POST /noread HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n"
         "Expect: 100-continue\r\n\r\n");
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.Get("Connection"), "close");
  // Same when the announced body is over the limit: no 100, a final 413 straight away.
  RawConn c2(port_);
  c2.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n");
  auto r2 = c2.ReadResponse();
  EXPECT_EQ(r2.status, 413);
}

TEST_F(ServerTest, BodyOverTheRouteLimitGives413AndKeepsSmallConnectionsAlive) {
  Start();
  RawConn c(port_);
  std::string body(4000, 'x');
  c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4000\r\n\r\n" + body);
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("1024"), std::string::npos) << r.body;
  // The small rejected body was drained, so the connection is reused.
  c.Send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(c.ReadResponse().body, "hello");

  // Same when the handler uses Read directly.
  c.Send("POST /read-once HTTP/1.1\r\nHost: t\r\nContent-Length: 4000\r\n\r\n" + body);
  EXPECT_EQ(c.ReadResponse().status, 413);
  c.Send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(c.ReadResponse().body, "hello");

  // Chunked bodies have no announced length: the limit trips while reading.
  RawConn c2(port_);
  c2.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 4; ++i) c2.Send("200\r\n" + std::string(512, 'y') + "\r\n");
  c2.Send("0\r\n\r\n");
  EXPECT_EQ(c2.ReadResponse().status, 413);
}

TEST_F(ServerTest, HandlerMayRaiseTheLimitBeforeReading) {
  Start();
  RawConn c(port_);
  c.Send("POST /raise HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n" +
         std::string(100000, 'z'));
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "100000");
}

TEST_F(ServerTest, UnlimitedBodyLimitReadsTheWholeBody) {
  Start();
  RawConn c(port_);
  c.Send("POST /unlimited HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n" +
         std::string(5000, 'u'));
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "5000");
}

TEST_F(ServerTest, LargeUnreadBodyClosesTheConnection) {
  Start();
  RawConn c(port_);
  c.Send("POST /noread HTTP/1.1\r\nHost: t\r\nContent-Length: 8000000\r\n\r\n" +
         std::string(64 * 1024, 'a'));
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.Get("Connection"), "close");
  EXPECT_TRUE(c.ClosedByPeer(5s));
}

TEST_F(ServerTest, HeaderTooLargeGives431) {
  Start();
  RawConn c(port_);
  c.Send("GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(20000, 'b') + "\r\n\r\n");
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(r.Get("Connection"), "close");
  EXPECT_EQ(Get("/hello").body, "hello");
}

TEST_F(ServerTest, MalformedRequestsGet400AndTheServerStaysUp) {
  Start();
  for (std::string bad : {"GARBAGE\r\n\r\n", "GET\r\n\r\n", "GET /x HTTP/2.0\r\nHost: t\r\n\r\n",
                          "GET /a b HTTP/1.1\r\nHost: t\r\n\r\n",
                          "GET /%zz HTTP/1.1\r\nHost: t\r\n\r\n",
                          "GET /%00 HTTP/1.1\r\nHost: t\r\n\r\n",
                          "GET /hello HTTP/1.1\r\n\r\n",  // no Host
                          "GET relative HTTP/1.1\r\nHost: t\r\n\r\n",
                          "GET /hello HTTP/1.1\r\nBad Header\r\n\r\n",
                          "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                          "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n"
                          "Content-Length: 2\r\n\r\nab",
                          "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n"}) {
    RawConn c(port_);
    c.Send(bad);
    auto r = c.ReadResponse();
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_TRUE(c.ClosedByPeer(3s)) << bad;
  }
  EXPECT_EQ(Get("/hello").body, "hello");
}

TEST_F(ServerTest, SurvivesRandomGarbage) {
  Start();
  std::mt19937 gen(42);
  for (int i = 0; i < 200; ++i) {
    RawConn c(port_, 2000);
    std::string junk = RandomBytes(1 + gen() % 3000, gen());
    if (i % 3 == 0) junk = "GET /" + junk;
    if (i % 5 == 0) junk = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + junk;
    c.Send(junk);
    if (i % 2 == 0) c.ReadResponse();
  }
  EXPECT_EQ(Get("/hello").body, "hello");
}

class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/atcr-net-test-XXXXXX";
    int fd = mkstemp(tmpl);
    EXPECT_GE(fd, 0);
    path_ = tmpl;
    EXPECT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    ::close(fd);
  }
  ~TempFile() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

bool FdIsClosed(int fd) {
  for (int i = 0; i < 100; ++i) {
    if (fcntl(fd, F_GETFD) == -1) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

TEST_F(ServerTest, SendsFileRangesWithSendfileAndClosesTheFd) {
  std::string content = RandomBytes(3 * 1024 * 1024 + 17, 7);
  TempFile file(content);
  state_.file_path = file.path();
  Start();
  RawConn c(port_);
  c.Send("GET /file?off=1000&len=2500000 HTTP/1.1\r\nHost: t\r\n\r\n");
  auto r = c.ReadResponse();
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Get("Content-Length"), "2500000");
  EXPECT_EQ(r.Get("Content-Type"), "application/octet-stream");
  EXPECT_TRUE(r.body == content.substr(1000, 2500000));
  EXPECT_TRUE(FdIsClosed(state_.last_file_fd));

  // HEAD announces the length without a body; the connection stays in sync.
  c.Send("HEAD /file HTTP/1.1\r\nHost: t\r\n\r\n");
  auto h = c.ReadResponse(/*head=*/true);
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.Get("Content-Length"), std::to_string(content.size()));
  c.Send("GET /file?off=0&len=0 HTTP/1.1\r\nHost: t\r\n\r\n");
  auto empty = c.ReadResponse();
  EXPECT_EQ(empty.Get("Content-Length"), "0");
  EXPECT_TRUE(empty.body.empty());
  EXPECT_TRUE(FdIsClosed(state_.last_file_fd));

  // A range past the end of the file cannot be completed: the connection is closed.
  RawConn c2(port_);
  c2.Send("GET /file?off=" + std::to_string(content.size() - 10) + "&len=100 HTTP/1.1\r\nHost: t\r\n\r\n");
  c2.ReadUntil("\r\n\r\n");
  EXPECT_TRUE(c2.ClosedByPeer(3s));
}

TEST_F(ServerTest, HeadOfAGetRouteSendsLengthButNoBody) {
  Start();
  RawConn c(port_);
  c.Send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  auto h = c.ReadResponse(/*head=*/true);
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.Get("Content-Length"), "5");
  c.Send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(c.ReadResponse().body, "hello");
}

TEST_F(ServerTest, StreamsChunkedAndFixedLengthBodies) {
  Start();
  RawConn c(port_);
  c.Send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
  auto r = c.ReadResponse();
  EXPECT_EQ(r.Get("Transfer-Encoding"), "chunked");
  EXPECT_EQ(r.body, "part0;part1;part2;part3;part4;part5;part6;part7;part8;part9;");
  c.Send("GET /stream-len HTTP/1.1\r\nHost: t\r\n\r\n");
  r = c.ReadResponse();
  EXPECT_EQ(r.Get("Content-Length"), "6");
  EXPECT_FALSE(r.Has("Transfer-Encoding"));
  EXPECT_EQ(r.body, "abcdef");
  c.Send("HEAD /stream-len HTTP/1.1\r\nHost: t\r\n\r\n");
  r = c.ReadResponse(/*head=*/true);
  EXPECT_EQ(r.Get("Content-Length"), "6");
  c.Send("GET /stream-fail HTTP/1.1\r\nHost: t\r\n\r\n");
  r = c.ReadResponse();
  EXPECT_EQ(r.status, 500);
}

TEST_F(ServerTest, ServesHealthAndMetrics) {
  Start();
  server_->metrics().GetGauge("atcr_registry_uploads_in_flight", "Uploads in progress.").Add(2);
  auto h = Get("/healthz");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body, "ok");
  Get("/hello");
  Get("/hello");
  Get("/nope");
  // A request is counted just after its last byte is written, so poll briefly.
  const std::string hello_count =
      R"(atcr_http_requests_total{route="/hello",method="GET",status="200"} 2)";
  const std::string nope_count =
      R"(atcr_http_requests_total{route="unmatched",method="GET",status="404"} 1)";
  RawResponse m;
  for (int i = 0; i < 200; ++i) {
    m = Get("/metrics");
    if (m.body.find(hello_count) != std::string::npos &&
        m.body.find(nope_count) != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.Get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(m.body.find(hello_count), std::string::npos) << m.body;
  EXPECT_NE(m.body.find(nope_count), std::string::npos) << m.body;
  EXPECT_NE(m.body.find(R"(atcr_http_request_duration_seconds_count{route="/hello",method="GET"} 2)"),
            std::string::npos);
  EXPECT_NE(m.body.find("atcr_http_bytes_sent_total{route=\"/hello\""), std::string::npos);
  // The /metrics request itself is in flight while it renders.
  size_t pos = m.body.find("\natcr_http_in_flight_requests ");
  ASSERT_NE(pos, std::string::npos);
  EXPECT_GE(std::stoi(m.body.substr(pos + 30)), 1);
  EXPECT_NE(m.body.find("\natcr_registry_uploads_in_flight 2\n"), std::string::npos);
}

TEST_F(ServerTest, StopLetsAnInFlightRequestFinish) {
  Start();
  RawResponse slow;
  std::thread client([&] {
    RawConn c(port_);
    c.Send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
    slow = c.ReadResponse();
  });
  RawConn idle(port_);
  idle.Send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(idle.ReadResponse().body, "hello");
  for (int i = 0; i < 500 && !state_.slow_started; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(state_.slow_started);
  server_->Stop();
  client.join();
  EXPECT_EQ(slow.status, 200);
  EXPECT_EQ(slow.body, "done");
  EXPECT_EQ(slow.Get("Connection"), "close");
  EXPECT_TRUE(idle.ClosedByPeer(1s));
  EXPECT_THROW(RawConn late(port_), std::runtime_error);
}

TEST_F(ServerTest, IdleTimeoutClosesIdleConnections) {
  Start({.idle_timeout = 1s});
  RawConn c(port_);
  c.Send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(c.ReadResponse().body, "hello");
  EXPECT_TRUE(c.ClosedByPeer(5s));
}

TEST_F(ServerTest, HeaderTimeoutClosesSlowClients) {
  Start({.header_timeout = 1s});
  RawConn c(port_);
  c.Send("GET /hello HTTP/1.1\r\nHost: t\r\n");
  EXPECT_TRUE(c.ClosedByPeer(5s));
  EXPECT_EQ(Get("/hello").body, "hello");
}

TEST_F(ServerTest, RunBlockingRunsOnThePoolAndResumesOnTheServer) {
  Start();
  EXPECT_EQ(Get("/blocking").body, "ok");
  EXPECT_NE(state_.inside, std::thread::id());
  EXPECT_NE(state_.inside, state_.before);
  EXPECT_NE(state_.inside, state_.after);
}

}  // namespace
}  // namespace atcr::net
