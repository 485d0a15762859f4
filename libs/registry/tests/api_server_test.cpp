// The /v2/ base, names, methods, authentication, restarts and metrics over a real server.
#include "api_fixture.h"
#include "atcr/base/encoding.h"
#include "atcr/registry/htpasswd.h"

namespace atcr::registry::testing {
namespace {

using ServerApi = ApiTest;

TEST_F(ServerApi, BaseAnswers200) {
  for (const char* path : {"/v2/", "/v2"}) {
    HttpResponse r = Do("GET", path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.body, "{}");
    EXPECT_EQ(r.Header("Docker-Distribution-API-Version"), "registry/2.0");
    EXPECT_EQ(Do("HEAD", path).status, 200);
  }
}

TEST_F(ServerApi, InvalidNamesAre400NameInvalid) {
  const std::string long_name(256, 'a');
  for (const std::string& name : {std::string("UPPER"), std::string("a//b"), std::string("-a"),
                                  std::string("a-"), std::string("a..b"), std::string("a:b"),
                                  std::string("a b"), long_name}) {
    for (const std::string& suffix : {std::string("/tags/list"), std::string("/manifests/latest"),
                                      std::string("/blobs/") + DigestOf("x")}) {
      std::string target = "/v2/" + name + suffix;
      for (size_t i = 0; i < target.size(); ++i) {
        if (target[i] == ' ') target.replace(i, 1, "%20");
      }
      HttpResponse r = Do("GET", target);
      EXPECT_EQ(r.status, 400) << target;
      EXPECT_EQ(r.ErrorCode(), "NAME_INVALID") << target;
    }
  }
  HttpResponse post = Do("POST", "/v2/Bad/blobs/uploads/");
  EXPECT_EQ(post.status, 400);
  EXPECT_EQ(post.ErrorCode(), "NAME_INVALID");
}

TEST_F(ServerApi, UnknownEndpointsAndMethods) {
  HttpResponse r = Do("GET", "/v2/r/unknown/thing");
  EXPECT_EQ(r.status, 404);
  r = Do("POST", "/v2/r/manifests/latest");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.ErrorCode(), "UNSUPPORTED");
  r = Do("PUT", "/v2/r/tags/list");
  EXPECT_EQ(r.status, 405);
  r = Do("GET", "/v2/r/blobs/uploads/");
  EXPECT_EQ(r.status, 405);
}

TEST_F(ServerApi, DataSurvivesARestart) {
  Blob config = MakeBlob("{}", std::string(oci::kOciConfig));
  Blob layer = MakeBlob("persistent layer");
  PushBlob("keep/me", config);
  PushBlob("keep/me", layer);
  std::string body = ImageManifest(config, {layer});
  ASSERT_EQ(PutManifest("keep/me", "v1", body).status, 201);
  std::string loc = Do("POST", "/v2/keep/me/blobs/uploads/").Header("Location").value_or("");
  ASSERT_EQ(Do("PATCH", loc, {}, "half").status, 202);

  registry_.reset();  // stop the server and drop every in-memory structure
  Start();

  HttpResponse m = Do("GET", "/v2/keep/me/manifests/v1");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.body, body);
  EXPECT_EQ(Do("GET", "/v2/keep/me/blobs/" + layer.digest).body, layer.data);
  EXPECT_EQ(Do("GET", "/v2/keep/me/tags/list").body, R"({"name":"keep/me","tags":["v1"]})");
  // The upload session too: same Location, continue where it was.
  HttpResponse status = Do("GET", loc);
  EXPECT_EQ(status.status, 204);
  EXPECT_EQ(status.Header("Range"), "0-3");
  ASSERT_EQ(Do("PATCH", loc, {{"Content-Range", "4-8"}}, " done").status, 202);
  EXPECT_EQ(Do("PUT", loc + "?digest=" + DigestOf("half done")).status, 201);
}

TEST_F(ServerApi, UploadGaugeIsPublishedAndReturnsToZero) {
  Blob b = MakeBlob("counted");
  PushBlob("r", b);
  std::string loc = Do("POST", "/v2/r/blobs/uploads/").Header("Location").value_or("");
  ASSERT_EQ(Do("PATCH", loc, {{"Content-Range", "0-4"}}, "abc").status, 400);  // short chunk
  HttpResponse r = Do("GET", "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\natcr_registry_uploads_in_flight 0\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("upload_start"), std::string::npos);  // route labels
}

class AuthApi : public ApiTest {
 protected:
  void SetUp() override {
    // `htpasswd -nbB -C 4 alice s3cret`
    auto auth = HtpasswdAuthenticator::Parse(
        "alice:$2y$04$GOrOpt4XKR0.umJ/Szk...2GU6vOOHpSqFXEHLK.I/loJ9Q3DcWgi\n", {});
    ASSERT_TRUE(auth.ok());
    DistributionApiOptions o;
    o.authenticator = std::shared_ptr<Authenticator>(std::move(*auth));
    Start(o);
  }
  static std::string Basic(std::string_view creds) {
    return "Basic " + Base64Encode(AsBytes(creds));
  }
};

TEST_F(AuthApi, MissingOrWrongCredentialsAre401WithABasicChallenge) {
  for (const HeaderList& h : {HeaderList{}, HeaderList{{"Authorization", Basic("alice:nope")}},
                              HeaderList{{"Authorization", Basic("mallory:s3cret")}},
                              HeaderList{{"Authorization", "Bearer token"}}}) {
    for (const char* path : {"/v2/", "/v2/r/tags/list", "/v2/Bad/tags/list"}) {
      HttpResponse r = Do("GET", path, h);
      EXPECT_EQ(r.status, 401) << path;
      EXPECT_EQ(r.Header("WWW-Authenticate"), "Basic realm=\"atcr\"");
      EXPECT_EQ(r.ErrorCode(), "UNAUTHORIZED");
    }
  }
}

TEST_F(AuthApi, RightCredentialsPass) {
  HeaderList h = {{"Authorization", Basic("alice:s3cret")}};
  EXPECT_EQ(Do("GET", "/v2/", h).status, 200);
  Blob b = MakeBlob("authed");
  HttpResponse r = Do("POST", "/v2/r/blobs/uploads/?digest=" + b.digest, h, b.data);
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(Do("GET", "/v2/r/blobs/" + b.digest, h).body, b.data);
  EXPECT_EQ(Do("GET", "/v2/r/blobs/" + b.digest).status, 401);
  // Health and metrics stay open.
  EXPECT_EQ(Do("GET", "/healthz").status, 200);
}

// Records the scopes the handler asks for; refuses repository "locked" (403) and anyone
// without a token (401 with a Bearer challenge naming the scopes).
class RecordingAuthenticator : public Authenticator {
 public:
  net::Task<Status> Authenticate(const net::Request& request,
                                 std::span<const Access> access) override {
    std::string scopes;
    for (const Access& a : access) scopes += (scopes.empty() ? "" : " ") + a.Scope();
    {
      std::lock_guard lock(mu_);
      seen_.push_back(scopes);
    }
    if (!request.headers.Get("Authorization")) {
      co_return Error(ErrorCode::kUnauthenticated, "token required");
    }
    for (const Access& a : access) {
      if (a.name == "locked") co_return Error(ErrorCode::kPermissionDenied, "locked is locked");
    }
    co_return Ok();
  }
  std::string Challenge(std::span<const Access> access, const Error&) const override {
    std::string scopes;
    for (const Access& a : access) scopes += (scopes.empty() ? "" : " ") + a.Scope();
    return "Bearer realm=\"https://auth.example/token\",service=\"atcr\",scope=\"" + scopes + "\"";
  }
  std::string last() {
    std::lock_guard lock(mu_);
    return seen_.empty() ? "" : seen_.back();
  }

 private:
  std::mutex mu_;
  std::vector<std::string> seen_;
};

TEST(TokenScopes, TheHandlerAsksForWhatEachRequestTouches) {
  TempDir dir;
  auto auth = std::make_shared<RecordingAuthenticator>();
  DistributionApiOptions o;
  o.authenticator = auth;
  TestRegistry reg(dir.path(), o);
  const HeaderList token = {{"Authorization", "Bearer t"}};
  const std::string d = DigestOf("x");
  struct Case {
    const char* method;
    std::string target;
    const char* scopes;
  };
  const Case cases[] = {
      {"GET", "/v2/", ""},
      {"GET", "/v2/_catalog", "registry:catalog:*"},
      {"GET", "/v2/org/app/tags/list", "repository:org/app:pull"},
      {"HEAD", "/v2/org/app/manifests/v1", "repository:org/app:pull"},
      {"PUT", "/v2/org/app/manifests/v1", "repository:org/app:pull,push"},
      {"DELETE", "/v2/org/app/manifests/v1", "repository:org/app:delete"},
      {"POST", "/v2/org/app/blobs/uploads/", "repository:org/app:pull,push"},
      {"POST", "/v2/org/app/blobs/uploads/?mount=" + d + "&from=other/src",
       "repository:org/app:pull,push repository:other/src:pull"},
      {"PATCH", "/v2/org/app/blobs/uploads/abc", "repository:org/app:pull,push"},
      {"DELETE", "/v2/org/app/blobs/uploads/abc", "repository:org/app:pull,push"},
      {"DELETE", "/v2/org/app/blobs/" + d, "repository:org/app:delete"},
  };
  for (const Case& c : cases) {
    (void)reg.client().Do(c.method, c.target, token);
    EXPECT_EQ(auth->last(), c.scopes) << c.method << " " << c.target;
  }
  HttpResponse denied = reg.client().Do("GET", "/v2/locked/tags/list", token);
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.ErrorCode(), "DENIED");
  HttpResponse challenged = reg.client().Do("PUT", "/v2/org/app/manifests/v1");
  EXPECT_EQ(challenged.status, 401);
  EXPECT_EQ(challenged.Header("WWW-Authenticate"),
            "Bearer realm=\"https://auth.example/token\",service=\"atcr\","
            "scope=\"repository:org/app:pull,push\"");
  EXPECT_NE(challenged.body.find(R"({"Type":"repository","Name":"org/app","Action":"push"})"),
            std::string::npos)
      << challenged.body;
}

}  // namespace
}  // namespace atcr::registry::testing
