#include "atcr/net/xrpc.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "atcr/net/server.h"
#include "coro_support.h"
#include "test_support.h"

namespace atcr::net {
namespace {

using testing::RunSync;

std::pair<std::string, std::string> ErrorFields(const Response& r) {
  auto v = boost::json::parse(std::get<std::string>(r.body));
  return {std::string(v.at("error").as_string()), std::string(v.at("message").as_string())};
}

TEST(XrpcErrorResponse, WritesErrorAndMessageAsJson) {
  auto r = XrpcErrorResponse(400, "InvalidRequest", "bad \"did\"\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.headers.Get("Content-Type").value_or(""), "application/json");
  EXPECT_EQ(ErrorFields(r), std::make_pair(std::string("InvalidRequest"),
                                           std::string("bad \"did\"\n")));
}

TEST(XrpcErrorResponse, MapsCodesToStatusAndDefaultNames) {
  struct Case {
    Error error;
    int status;
    std::string name;
  };
  const Case cases[] = {
      {InvalidArgument("x"), 400, "InvalidRequest"},
      {Error(ErrorCode::kUnauthenticated, "x"), 401, "AuthenticationRequired"},
      {Error(ErrorCode::kPermissionDenied, "x"), 403, "Forbidden"},
      {NotFound("x"), 404, "NotFound"},
      {NotFound("x", "RecordNotFound"), 400, "RecordNotFound"},
      {ResourceExhausted("x"), 413, "PayloadTooLarge"},
      {ResourceExhausted("x", "RateLimitExceeded"), 429, "RateLimitExceeded"},
      {Error(ErrorCode::kUnimplemented, "x"), 501, "MethodNotImplemented"},
      {Internal("x"), 500, "InternalServerError"},
      {Error(ErrorCode::kDataLoss, "x"), 500, "InternalServerError"},
      {Error(ErrorCode::kUnavailable, "x"), 503, "NotEnoughResources"},
      {Error(ErrorCode::kUnavailable, "x", "UpstreamFailure"), 502, "UpstreamFailure"},
      {Error(ErrorCode::kDeadlineExceeded, "x"), 504, "UpstreamTimeout"},
      {Error(ErrorCode::kFailedPrecondition, "x", "InvalidSwap"), 400, "InvalidSwap"},
      {Error(ErrorCode::kUnauthenticated, "x", "ExpiredToken"), 401, "ExpiredToken"},
  };
  for (const auto& c : cases) {
    auto r = XrpcErrorResponse(c.error);
    EXPECT_EQ(r.status, c.status) << c.error.ToString();
    EXPECT_EQ(ErrorFields(r).first, c.name) << c.error.ToString();
    EXPECT_EQ(ErrorFields(r).second, "x");
  }
}

TEST(XrpcErrorFromResponse, MapsStatusAndBodyBack) {
  auto e = XrpcErrorFromResponse(400, R"({"error":"RecordNotFound","message":"gone"})", "a.b.c");
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_EQ(e.wire, "RecordNotFound");
  EXPECT_EQ(e.message, "gone");
  e = XrpcErrorFromResponse(400, R"({"error":"InvalidSwap","message":"m"})", "a.b.c");
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument);
  e = XrpcErrorFromResponse(401, R"({"error":"AuthMissing"})", "a.b.c");
  EXPECT_EQ(e.code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(e.wire, "AuthMissing");
  EXPECT_EQ(e.message, "a.b.c answered HTTP 401");
  e = XrpcErrorFromResponse(502, "<html>bad gateway</html>", "a.b.c");
  EXPECT_EQ(e.code, ErrorCode::kUnavailable);
  EXPECT_EQ(e.wire, "HTTP 502");
  EXPECT_EQ(XrpcErrorFromResponse(403, "", "n").code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(XrpcErrorFromResponse(404, "", "n").code, ErrorCode::kNotFound);
  EXPECT_EQ(XrpcErrorFromResponse(413, "", "n").code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(XrpcErrorFromResponse(429, "", "n").code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(XrpcErrorFromResponse(501, "", "n").code, ErrorCode::kUnimplemented);
  EXPECT_EQ(XrpcErrorFromResponse(504, "", "n").code, ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(XrpcErrorFromResponse(500, "", "n").code, ErrorCode::kInternal);
  EXPECT_EQ(XrpcErrorFromResponse(418, "", "n").code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(XrpcErrorFromResponse(302, "", "n").code, ErrorCode::kUnavailable);
  // An error body that is JSON but not an object, or with non-string fields.
  e = XrpcErrorFromResponse(400, R"({"error":5,"message":["x"]})", "n");
  EXPECT_EQ(e.wire, "HTTP 400");
  EXPECT_EQ(XrpcErrorFromResponse(400, "[1,2]", "n").wire, "HTTP 400");
}

Request WithAuthorization(std::string value) {
  Request req;
  req.headers.Add("Authorization", std::move(value));
  return req;
}

TEST(XrpcAuth, BearerToken) {
  EXPECT_EQ(BearerToken(WithAuthorization("Bearer abc.def")).value_or("-"), "abc.def");
  EXPECT_EQ(BearerToken(WithAuthorization("bearer  abc ")).value_or("-"), "abc");
  EXPECT_EQ(BearerToken(WithAuthorization("BEARER x")).value_or("-"), "x");
  EXPECT_FALSE(BearerToken(WithAuthorization("Bearer")));
  EXPECT_FALSE(BearerToken(WithAuthorization("Bearer   ")));
  EXPECT_FALSE(BearerToken(WithAuthorization("Bearerabc")));
  EXPECT_FALSE(BearerToken(WithAuthorization("Basic YTpi")));
  EXPECT_FALSE(BearerToken(Request{}));
}

TEST(XrpcAuth, BasicCredentials) {
  // "admin:pa:ss" -> password keeps its colon.
  auto c = BasicCredentials(WithAuthorization("Basic YWRtaW46cGE6c3M="));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->first, "admin");
  EXPECT_EQ(c->second, "pa:ss");
  c = BasicCredentials(WithAuthorization("basic OnNlY3JldA=="));  // ":secret"
  ASSERT_TRUE(c);
  EXPECT_EQ(c->first, "");
  EXPECT_EQ(c->second, "secret");
  EXPECT_FALSE(BasicCredentials(WithAuthorization("Basic bm9jb2xvbg==")));  // "nocolon"
  EXPECT_FALSE(BasicCredentials(WithAuthorization("Basic !!!")));
  EXPECT_FALSE(BasicCredentials(WithAuthorization("Bearer YTpi")));
  EXPECT_FALSE(BasicCredentials(Request{}));
}

TEST(XrpcPath, PrefixesNsid) { EXPECT_EQ(XrpcPath("com.atproto.sync.getRepo"), "/xrpc/com.atproto.sync.getRepo"); }

class XrpcServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Router r;
    AddXrpcNotFoundFallback(r);  // before the routes: order must not matter
    r.Add(Method::kGet, XrpcPath("test.echoQuery"), [](Request& req) -> Task<Response> {
      std::string out;
      for (const auto& v : req.QueryAll("tag")) out += "[" + v + "]";
      out += "did=" + req.Query("did").value_or("");
      out += " auth=" + BearerToken(req).value_or("none");
      out += " x=" + std::string(req.headers.Get("X-Extra").value_or(""));
      co_return Response::Text(200, out);
    });
    r.Add(Method::kPost, XrpcPath("test.echoProcedure"), [](Request& req) -> Task<Response> {
      auto body = co_await req.body->ReadAll(1 << 20);
      if (!body.ok()) co_return XrpcErrorResponse(body.error());
      co_return Response::Text(
          200, std::string(req.headers.Get("Content-Type").value_or("")) + "|" + *body);
    });
    r.Add(Method::kGet, XrpcPath("test.fail"), [](Request&) -> Task<Response> {
      co_return XrpcErrorResponse(NotFound("Could not find repo: did:x", "RepoNotFound"));
    });
    ServerOptions options;
    options.threads = 2;
    options.access_log = false;
    server_ = std::make_unique<Server>(std::move(options), std::move(r));
    ASSERT_TRUE(server_->Start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(server_->port()) + "/";
  }

  HttpClient client_;
  std::unique_ptr<Server> server_;
  std::string base_;
};

TEST_F(XrpcServerTest, QueryEncodesRepeatedParamsAndSendsBearer) {
  XrpcCallOptions opts;
  opts.bearer = "tok";
  opts.headers.Add("X-Extra", "yes");
  std::vector<std::pair<std::string, std::string>> params = {
      {"did", "did:plc:a b&c=d"}, {"tag", "1/2"}, {"tag", "ü"}};
  auto r = RunSync(XrpcQuery(client_, base_, "test.echoQuery", std::move(params), std::move(opts)));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "[1/2][ü]did=did:plc:a b&c=d auth=tok x=yes");
}

TEST_F(XrpcServerTest, ProcedureSendsBodyAndContentType) {
  auto r = RunSync(XrpcProcedure(client_, base_, "test.echoProcedure", R"({"a":1})"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, R"(application/json|{"a":1})");
  r = RunSync(XrpcProcedure(client_, base_, "test.echoProcedure", std::string("\0\1", 2),
                            "application/vnd.ipld.car"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, std::string("application/vnd.ipld.car|\0\1", 27));
}

TEST_F(XrpcServerTest, ErrorAnswerBecomesError) {
  auto r = RunSync(XrpcQuery(client_, base_, "test.fail", {}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(r.error().wire, "RepoNotFound");
  EXPECT_EQ(r.error().message, "Could not find repo: did:x");
}

TEST_F(XrpcServerTest, UnknownMethodIs501AndWrongMethodIs405) {
  auto r = RunSync(XrpcQuery(client_, base_, "com.example.nothing", {}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnimplemented);
  EXPECT_EQ(r.error().wire, "MethodNotImplemented");
  r = RunSync(XrpcProcedure(client_, base_, "com.example.nothing", "{}"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnimplemented);
  // A known query called as a procedure: 405 with only the real method allowed.
  ClientRequest req;
  req.method = Method::kPost;
  req.url = base_ + "xrpc/test.echoQuery";
  auto raw = client_.SendSync(std::move(req));
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->status, 405);
  EXPECT_EQ(raw->headers.Get("Allow").value_or(""), "GET, HEAD");
  // Paths outside /xrpc/ are untouched: plain 404.
  ClientRequest other;
  other.url = base_ + "nothing";
  raw = client_.SendSync(std::move(other));
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->status, 404);
}

TEST_F(XrpcServerTest, TransportErrorPassesThrough) {
  const std::string base = base_;
  server_->Stop();
  auto r = RunSync(XrpcQuery(client_, base, "test.echoQuery", {}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace atcr::net
