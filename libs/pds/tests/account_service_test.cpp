// AccountService end to end: a real net::Server on port 0, the development PLC directory
// (which checks signatures and DID derivation), a recording RepoHost, and HTTP through
// net::HttpClient.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <boost/json.hpp>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "account_test_support.h"
#include "atcr/base/encoding.h"
#include "atcr/base/time.h"
#include "atcr/crypto/jwt.h"
#include "atcr/identity/did_document.h"
#include "atcr/identity/resolver.h"
#include "atcr/net/xrpc.h"
#include "internal/account_session_jwt.h"

namespace atcr::pds {
namespace {

namespace json = boost::json;
using testing::TestPlcDirectory;
using testing::FakeRepoHost;
using testing::HttpAnswer;
using testing::TempDir;

constexpr const char* kSecret = "test-jwt-secret";
constexpr const char* kAdminPassword = "admin-pass";

std::string Bearer(const std::string& token) { return "Bearer " + token; }

int FileMode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 0777);
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

json::object ClaimsOf(const std::string& jwt) {
  size_t d1 = jwt.find('.'), d2 = jwt.rfind('.');
  auto raw = Base64Decode(jwt.substr(d1 + 1, d2 - d1 - 1), Base64Variant::kUrl);
  EXPECT_TRUE(raw.ok());
  return json::parse(AsString(*raw)).as_object();
}
std::string ClaimStr(const std::string& jwt, const char* key) {
  auto c = ClaimsOf(jwt);
  auto* v = c.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : "";
}

class AccountServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(Start(Options()).ok()); }
  void TearDown() override { StopServer(); }

  AccountServiceOptions Options() {
    AccountServiceOptions o;
    o.data_dir = dir_.path() + "/data";
    o.plc_url = plc_.url();
    o.jwt_secret = kSecret;
    o.admin_password = kAdminPassword;
    o.login_min_duration = std::chrono::milliseconds(0);
    return o;
  }

  Status Start(AccountServiceOptions o) {
    auto svc = AccountService::Open(std::move(o), &repo_, &service_http_);
    if (!svc.ok()) return svc.error();
    service_ = std::move(svc).value();
    net::Router router;
    service_->RegisterRoutes(router);
    net::AddXrpcNotFoundFallback(router);
    net::ServerOptions so;
    so.threads = 2;
    so.access_log = false;
    server_ = std::make_unique<net::Server>(so, std::move(router));
    ATCR_TRY(server_->Start());
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
    service_->SetPublicUrl("http://localhost:" + std::to_string(server_->port()));
    return Ok();
  }
  void StopServer() {
    server_.reset();
    service_.reset();
  }
  Status Restart(AccountServiceOptions o) {
    StopServer();
    return Start(std::move(o));
  }

  HttpAnswer Send(net::Method method, const std::string& path, const std::string& body,
                  const std::string& authorization = "", net::Headers extra = {}) {
    net::ClientRequest req;
    req.method = method;
    req.url = base_ + path;
    req.headers = std::move(extra);
    if (!authorization.empty()) req.headers.Set("Authorization", authorization);
    if (method == net::Method::kPost && !body.empty()) {
      req.headers.Set("Content-Type", "application/json");
      req.body = body;
    }
    return testing::ToAnswer(http_.SendSync(std::move(req)));
  }
  HttpAnswer Post(const std::string& nsid, const json::object& body,
                  const std::string& authorization = "") {
    return Send(net::Method::kPost, "/xrpc/" + nsid, json::serialize(body), authorization);
  }
  HttpAnswer PostEmpty(const std::string& nsid, const std::string& authorization = "") {
    return Send(net::Method::kPost, "/xrpc/" + nsid, "", authorization);
  }
  HttpAnswer Get(const std::string& path_and_query, const std::string& authorization = "",
                 net::Headers extra = {}) {
    return Send(net::Method::kGet, path_and_query, "", authorization, std::move(extra));
  }

  HttpAnswer CreateAccount(const std::string& handle, const std::string& password = "hunter2",
                           const std::string& email = "") {
    json::object body{{"handle", handle}, {"password", password}};
    if (!email.empty()) body["email"] = email;
    return Post("com.atproto.server.createAccount", body);
  }
  HttpAnswer Login(const std::string& identifier, const std::string& password) {
    return Post("com.atproto.server.createSession",
                json::object{{"identifier", identifier}, {"password", password}});
  }
  HttpAnswer CreateAppPassword(const std::string& access, const std::string& name,
                               bool privileged = false) {
    return Post("com.atproto.server.createAppPassword",
                json::object{{"name", name}, {"privileged", privileged}}, Bearer(access));
  }

  TempDir dir_;
  TestPlcDirectory plc_;
  FakeRepoHost repo_;
  net::HttpClient service_http_;
  net::HttpClient http_;
  std::unique_ptr<AccountService> service_;
  std::unique_ptr<net::Server> server_;
  std::string base_;
};

// ---------------------------------------------------------------------------------------------

TEST_F(AccountServiceTest, DescribeServerAndHealth) {
  auto a = Get("/xrpc/com.atproto.server.describeServer");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body,
            R"({"did":"did:web:localhost","availableUserDomains":[".test"],)"
            R"("inviteCodeRequired":false,"links":{},"contact":{}})");
  auto h = Get("/xrpc/_health");
  ASSERT_EQ(h.status, 200);
  EXPECT_EQ(h.body, R"({"version":"0.1.0"})");
}

TEST_F(AccountServiceTest, CreateAccountMintsAPlcDidAndARepo) {
  auto a = CreateAccount("Alice.Test", "hunter2", "Alice@Example.com");
  ASSERT_EQ(a.status, 200) << a.body;
  const std::string did = a.Str("did");
  EXPECT_TRUE(std::regex_match(did, std::regex("^did:plc:[a-z2-7]{24}$"))) << did;
  EXPECT_EQ(a.Str("handle"), "alice.test");
  EXPECT_FALSE(a.Str("accessJwt").empty());
  EXPECT_FALSE(a.Str("refreshJwt").empty());

  // The genesis op reached the directory, with the PDS rotation key and the account's key.
  auto op = plc_.Op(did);
  ASSERT_TRUE(op.has_value());
  EXPECT_EQ(op->rotation_keys, std::vector<std::string>{service_->plc_rotation_did_key()});
  EXPECT_EQ(op->also_known_as, std::vector<std::string>{"at://alice.test"});
  auto signing = service_->SigningKey(did);
  ASSERT_TRUE(signing.ok());
  EXPECT_EQ(op->verification_methods.at("atproto"), signing->public_key().DidKey());
  EXPECT_EQ(op->services.at("atproto_pds").endpoint, service_->public_url());

  // didDoc in the answer names this PDS and the repo key.
  ASSERT_TRUE(a.json.contains("didDoc"));
  auto doc = identity::ParseDidDocument(json::serialize(a.json.at("didDoc")), did);
  ASSERT_TRUE(doc.ok()) << doc.error().ToString();
  EXPECT_EQ(doc->pds_endpoint, service_->public_url());
  EXPECT_EQ(doc->signing_key, signing->public_key().DidKey());
  EXPECT_EQ(doc->handle, "alice.test");

  // Repo created with the same key; #identity then #account sequenced.
  EXPECT_EQ(repo_.RepoKey(did), signing->public_key().DidKey());
  auto events = repo_.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, "identity");
  EXPECT_EQ(events[0].detail, "alice.test");
  EXPECT_EQ(events[1].kind, "account");
  EXPECT_EQ(events[1].detail, "active");

  // Access token shape (reference claims) and a working session.
  auto claims = ClaimsOf(a.Str("accessJwt"));
  EXPECT_EQ(claims.at("scope").as_string(), "com.atproto.access");
  EXPECT_EQ(claims.at("aud").as_string(), "did:web:localhost");
  EXPECT_EQ(claims.at("sub").as_string(), did);
  EXPECT_EQ(claims.at("exp").as_int64() - claims.at("iat").as_int64(), 120 * 60);
  auto rclaims = ClaimsOf(a.Str("refreshJwt"));
  EXPECT_EQ(rclaims.at("scope").as_string(), "com.atproto.refresh");
  EXPECT_TRUE(rclaims.contains("jti"));
  EXPECT_EQ(rclaims.at("exp").as_int64() - rclaims.at("iat").as_int64(), 90 * 24 * 3600);

  auto s = Get("/xrpc/com.atproto.server.getSession", Bearer(a.Str("accessJwt")));
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.body, R"({"did":")" + did +
                        R"(","handle":"alice.test","email":"alice@example.com",)"
                        R"("emailConfirmed":false,"active":true})");
  EXPECT_EQ(s.headers.Get("Cache-Control").value_or(""), "private");

  // Handle resolution, both ways the reference offers.
  auto r = Get("/xrpc/com.atproto.identity.resolveHandle?handle=ALICE.test");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Str("did"), did);
  net::Headers host;
  host.Set("Host", "alice.test");
  auto w = Get("/.well-known/atproto-did", "", host);
  ASSERT_EQ(w.status, 200);
  EXPECT_EQ(w.body, did);
  host.Set("Host", "nobody.test:2583");
  EXPECT_EQ(Get("/.well-known/atproto-did", "", host).status, 404);
  auto info = service_->FindAccount("alice.test");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->did, did);
  EXPECT_EQ(service_->ResolveRepo("alice.test").value(), did);
  EXPECT_EQ(service_->HandleOf(did).value_or(""), "alice.test");
  EXPECT_EQ(service_->AccountStatus(did), "active");
}

TEST_F(AccountServiceTest, RecoveryKeyComesFirstInTheRotationKeys) {
  auto recovery = crypto::PrivateKey::Generate(crypto::KeyType::kP256);
  auto a = Post("com.atproto.server.createAccount",
                json::object{{"handle", "carol.test"},
                             {"password", "pw"},
                             {"recoveryKey", recovery.public_key().DidKey()}});
  ASSERT_EQ(a.status, 200) << a.body;
  auto op = plc_.Op(a.Str("did"));
  ASSERT_TRUE(op.has_value());
  EXPECT_EQ(op->rotation_keys, (std::vector<std::string>{recovery.public_key().DidKey(),
                                                         service_->plc_rotation_did_key()}));
  auto bad = Post("com.atproto.server.createAccount",
                  json::object{{"handle", "dave.test"}, {"recoveryKey", "did:key:nope"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.error(), "InvalidRequest");
}

TEST_F(AccountServiceTest, CreateAccountBadInputsUseTheReferenceErrors) {
  ASSERT_EQ(CreateAccount("alice.test").status, 200);
  struct Case {
    json::object body;
    std::string error;
    std::string message;  // "" = not checked
  };
  std::vector<Case> cases = {
      {{{"password", "x"}}, "InvalidRequest", R"(Missing required key "handle" at $)"},
      {{{"handle", 7}}, "InvalidRequest", "Expected string value type (got 7) at $.handle"},
      {{{"handle", "not a handle"}}, "InvalidRequest", ""},
      {{{"handle", "ab.test"}}, "InvalidHandle", "Handle too short"},
      {{{"handle", "toolongforthepdsrules.test"}}, "InvalidHandle", "Handle too long"},
      {{{"handle", "a.bc.test"}}, "InvalidHandle", "Invalid characters in handle"},
      {{{"handle", "bob.example"}}, "InvalidHandle", "Handle TLD is invalid or disallowed"},
      {{{"handle", "bob.bsky.social"}}, "UnsupportedDomain", "Not a supported handle domain"},
      {{{"handle", "admin.test"}}, "HandleNotAvailable", "Reserved handle"},
      {{{"handle", "ALICE.test"}}, "InvalidRequest", "Handle already taken: alice.test"},
      {{{"handle", "bob.test"}, {"email", "not-an-email"}}, "InvalidRequest",
       "This email address is not supported, please use a different email."},
      {{{"handle", "bob.test"}, {"password", std::string(257, 'x')}}, "InvalidRequest",
       "Password too long. Maximum length is 256 characters."},
      {{{"handle", "bob.test"}, {"plcOp", json::object{}}}, "InvalidRequest",
       R"(Unsupported input: "plcOp")"},
  };
  for (const auto& c : cases) {
    auto a = Post("com.atproto.server.createAccount", c.body);
    EXPECT_EQ(a.status, 400) << json::serialize(c.body) << " " << a.body;
    EXPECT_EQ(a.error(), c.error) << json::serialize(c.body);
    if (!c.message.empty()) {
      EXPECT_EQ(a.message(), c.message) << json::serialize(c.body);
    }
  }
  // Email taken (case-insensitively).
  ASSERT_EQ(CreateAccount("erin.test", "pw", "erin@example.com").status, 200);
  auto dup = CreateAccount("frank.test", "pw", "ERIN@example.com");
  EXPECT_EQ(dup.status, 400);
  EXPECT_EQ(dup.message(), "Email already taken: erin@example.com");
  // Body problems.
  auto no_body = PostEmpty("com.atproto.server.createAccount");
  EXPECT_EQ(no_body.status, 400);
  EXPECT_EQ(no_body.message(), "A request body is expected but none was provided");
  auto wrong_type = Send(net::Method::kPost, "/xrpc/com.atproto.server.createAccount", "x=1");
  EXPECT_EQ(wrong_type.status, 400);
  auto not_json = Send(net::Method::kPost, "/xrpc/com.atproto.server.createAccount", "{nope");
  EXPECT_EQ(not_json.status, 400);
  auto array = Send(net::Method::kPost, "/xrpc/com.atproto.server.createAccount", "[]");
  EXPECT_EQ(array.status, 400);
  EXPECT_EQ(array.message(), "Expected object value type (got array) at $");
  // Nothing of the failures reached the directory or the repo store.
  EXPECT_EQ(plc_.op_count(), 2u);
  EXPECT_EQ(repo_.repo_count(), 2u);
}

TEST_F(AccountServiceTest, PlcDownStoresNothing) {
  plc_.set_down(true);
  auto a = CreateAccount("alice.test");
  EXPECT_EQ(a.status, 500) << a.body;
  EXPECT_EQ(a.error(), "InternalServerError");
  EXPECT_FALSE(service_->FindAccount("alice.test").has_value());
  EXPECT_EQ(repo_.repo_count(), 0u);
  EXPECT_TRUE(repo_.events().empty());
  EXPECT_EQ(Login("alice.test", "hunter2").status, 401);
  // The handle is free again once the directory is back.
  plc_.set_down(false);
  EXPECT_EQ(CreateAccount("alice.test").status, 200);
}

TEST_F(AccountServiceTest, PlcUnreachableStoresNothing) {
  AccountServiceOptions o = Options();
  o.plc_url = "http://127.0.0.1:1";  // nothing listens there
  ASSERT_TRUE(Restart(o).ok());
  auto a = CreateAccount("alice.test");
  EXPECT_EQ(a.status, 500) << a.body;
  EXPECT_FALSE(service_->FindAccount("alice.test").has_value());
  EXPECT_EQ(repo_.repo_count(), 0u);
}

TEST_F(AccountServiceTest, RepoFailureStoresNoAccount) {
  repo_.set_fail_create(true);
  auto a = CreateAccount("alice.test");
  EXPECT_EQ(a.status, 500) << a.body;
  EXPECT_FALSE(service_->FindAccount("alice.test").has_value());
  EXPECT_EQ(Login("alice.test", "hunter2").status, 401);
  // Survives a restart: no row was written.
  ASSERT_TRUE(Restart(Options()).ok());
  EXPECT_FALSE(service_->FindAccount("alice.test").has_value());
  repo_.set_fail_create(false);
  EXPECT_EQ(CreateAccount("alice.test").status, 200);
}

TEST_F(AccountServiceTest, LoginWithHandleDidEmailAndTheReferenceErrors) {
  auto a = CreateAccount("alice.test", "hunter2", "alice@example.com");
  ASSERT_EQ(a.status, 200);
  const std::string did = a.Str("did");
  for (const std::string& id : std::vector<std::string>{"alice.test", "ALICE.TEST", did,
                                                      "alice@example.com", "Alice@Example.COM"}) {
    auto s = Login(id, "hunter2");
    ASSERT_EQ(s.status, 200) << id << " " << s.body;
    EXPECT_EQ(s.Str("did"), did);
    EXPECT_EQ(s.Str("handle"), "alice.test");
    EXPECT_EQ(s.Str("email"), "alice@example.com");
    EXPECT_EQ(ClaimStr(s.Str("accessJwt"), "scope"), "com.atproto.access");
    EXPECT_FALSE(s.json.contains("didDoc"));
  }
  for (auto [id, pw] : {std::pair<std::string, std::string>{"alice.test", "hunter3"},
                        {"nobody.test", "hunter2"},
                        {"not an identifier", "hunter2"},
                        {"alice.test", ""}}) {
    auto s = Login(id, pw);
    EXPECT_EQ(s.status, 401) << id;
    EXPECT_EQ(s.error(), "AuthenticationRequired");
    EXPECT_EQ(s.message(), "Invalid identifier or password");
  }
  auto too_long = Login("alice.test", std::string(513, 'x'));
  EXPECT_EQ(too_long.status, 401);
  EXPECT_EQ(too_long.message(), "Password too long. Consider resetting your password.");
  auto missing = Post("com.atproto.server.createSession", json::object{{"identifier", "x"}});
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.message(), R"(Missing required key "password" at $)");
}

TEST_F(AccountServiceTest, LoginIsNotFasterThanTheMinimumDuration) {
  AccountServiceOptions o = Options();
  o.login_min_duration = std::chrono::milliseconds(300);
  ASSERT_TRUE(Restart(o).ok());
  ASSERT_EQ(CreateAccount("alice.test").status, 200);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Login("nobody.test", "x").status, 401);  // no account: no scrypt at all
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
}

TEST_F(AccountServiceTest, AppPasswordsLifecycleAndScopes) {
  auto a = CreateAccount("alice.test");
  ASSERT_EQ(a.status, 200);
  const std::string did = a.Str("did");
  const std::string access = a.Str("accessJwt");

  auto ap = CreateAppPassword(access, "docker");
  ASSERT_EQ(ap.status, 200) << ap.body;
  EXPECT_EQ(ap.Str("name"), "docker");
  const std::string app_pw = ap.Str("password");
  EXPECT_TRUE(std::regex_match(app_pw, std::regex("^[a-z2-7]{4}(-[a-z2-7]{4}){3}$"))) << app_pw;
  EXPECT_TRUE(ParseRfc3339(ap.Str("createdAt")).ok());
  EXPECT_FALSE(ap.json.at("privileged").as_bool());
  EXPECT_EQ(CreateAppPassword(access, "docker").status, 400);  // names are unique per account
  auto priv = CreateAppPassword(access, "ci", true);
  ASSERT_EQ(priv.status, 200);

  // The password itself is never stored.
  std::string db = ReadFile(dir_.path() + "/data/accounts.sqlite") +
                   ReadFile(dir_.path() + "/data/accounts.sqlite-wal");
  EXPECT_EQ(db.find(app_pw), std::string::npos);
  EXPECT_EQ(db.find("hunter2"), std::string::npos);

  auto list = Get("/xrpc/com.atproto.server.listAppPasswords", Bearer(access));
  ASSERT_EQ(list.status, 200);
  auto& pws = list.json.at("passwords").as_array();
  ASSERT_EQ(pws.size(), 2u);
  EXPECT_EQ(pws[0].at("name").as_string(), "ci");  // newest first
  EXPECT_TRUE(pws[0].at("privileged").as_bool());
  EXPECT_FALSE(pws[1].as_object().contains("password"));

  // Logging in with the app password gives an app-password session ...
  auto s = Login("alice.test", app_pw);
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(ClaimStr(s.Str("accessJwt"), "scope"), "com.atproto.appPass");
  auto sp = Login(did, priv.Str("password"));
  ASSERT_EQ(sp.status, 200);
  EXPECT_EQ(ClaimStr(sp.Str("accessJwt"), "scope"), "com.atproto.appPassPrivileged");
  // ... which can list and revoke but not create app passwords.
  auto denied = CreateAppPassword(s.Str("accessJwt"), "more");
  EXPECT_EQ(denied.status, 400);
  EXPECT_EQ(denied.error(), "InvalidToken");
  EXPECT_EQ(denied.message(), "Bad token scope");
  EXPECT_EQ(CreateAppPassword(sp.Str("accessJwt"), "more").error(), "InvalidToken");
  EXPECT_EQ(Get("/xrpc/com.atproto.server.listAppPasswords", Bearer(s.Str("accessJwt"))).status,
            200);
  EXPECT_EQ(Get("/xrpc/com.atproto.server.getSession", Bearer(s.Str("accessJwt"))).status, 200);

  // Its refresh token rotates, keeping the app-password scope.
  auto rs = PostEmpty("com.atproto.server.refreshSession", Bearer(s.Str("refreshJwt")));
  ASSERT_EQ(rs.status, 200) << rs.body;
  EXPECT_EQ(ClaimStr(rs.Str("accessJwt"), "scope"), "com.atproto.appPass");

  // Revoking the app password kills logins with it and its refresh tokens.
  auto rv = Post("com.atproto.server.revokeAppPassword", json::object{{"name", "docker"}},
                 Bearer(access));
  ASSERT_EQ(rv.status, 200) << rv.body;
  EXPECT_EQ(Login("alice.test", app_pw).status, 401);
  auto dead = PostEmpty("com.atproto.server.refreshSession", Bearer(rs.Str("refreshJwt")));
  EXPECT_EQ(dead.status, 400);
  EXPECT_EQ(dead.error(), "ExpiredToken");
  EXPECT_EQ(dead.message(), "Token has been revoked");
  // The account password and the other app password still work.
  EXPECT_EQ(Login("alice.test", "hunter2").status, 200);
  EXPECT_EQ(Login("alice.test", priv.Str("password")).status, 200);
}

TEST_F(AccountServiceTest, RefreshRotationWithTheReferenceGrace) {
  auto a = CreateAccount("alice.test");
  ASSERT_EQ(a.status, 200);
  const std::string r1 = a.Str("refreshJwt");

  auto s2 = PostEmpty("com.atproto.server.refreshSession", Bearer(r1));
  ASSERT_EQ(s2.status, 200) << s2.body;
  const std::string r2 = s2.Str("refreshJwt");
  EXPECT_NE(ClaimStr(r2, "jti"), ClaimStr(r1, "jti"));
  EXPECT_EQ(s2.Str("handle"), "alice.test");
  EXPECT_EQ(Get("/xrpc/com.atproto.server.getSession", Bearer(s2.Str("accessJwt"))).status, 200);

  // Reusing the old token within the grace period yields the same successor id.
  auto again = PostEmpty("com.atproto.server.refreshSession", Bearer(r1));
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(ClaimStr(again.Str("refreshJwt"), "jti"), ClaimStr(r2, "jti"));

  // An access token is not a refresh token, and vice versa.
  auto wrong = PostEmpty("com.atproto.server.refreshSession", Bearer(s2.Str("accessJwt")));
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(wrong.error(), "InvalidToken");
  EXPECT_EQ(wrong.message(), "Invalid token type");
  EXPECT_EQ(Get("/xrpc/com.atproto.server.getSession", Bearer(r2)).message(),
            "Invalid token type");

  // deleteSession revokes; the revoked token can no longer be rotated.
  auto del = PostEmpty("com.atproto.server.deleteSession", Bearer(r2));
  EXPECT_EQ(del.status, 200) << del.body;
  auto revoked = PostEmpty("com.atproto.server.refreshSession", Bearer(r2));
  EXPECT_EQ(revoked.status, 400);
  EXPECT_EQ(revoked.error(), "ExpiredToken");
  EXPECT_EQ(revoked.message(), "Token has been revoked");
  EXPECT_EQ(PostEmpty("com.atproto.server.refreshSession").error(), "AuthMissing");
}

TEST_F(AccountServiceTest, ExpiredForgedAndMissingTokens) {
  auto a = CreateAccount("alice.test");
  ASSERT_EQ(a.status, 200);
  const std::string did = a.Str("did");
  const int64_t now = UnixSeconds();
  const std::string expired = internal::SignAccessJwt(
      AsBytes(kSecret), did, "did:web:localhost", internal::SessionScope::kAccess, now - 100, now - 10);
  auto e = Get("/xrpc/com.atproto.server.getSession", Bearer(expired));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.error(), "ExpiredToken");
  EXPECT_EQ(e.message(), "Token has expired");

  const std::string forged = internal::SignAccessJwt(
      AsBytes("guessed-secret"), did, "did:web:localhost", internal::SessionScope::kAccess, now, now + 100);
  auto f = Get("/xrpc/com.atproto.server.getSession", Bearer(forged));
  EXPECT_EQ(f.status, 400);
  EXPECT_EQ(f.error(), "InvalidToken");
  EXPECT_EQ(f.message(), "Token could not be verified");

  const std::string other_aud = internal::SignAccessJwt(
      AsBytes(kSecret), did, "did:web:elsewhere", internal::SessionScope::kAccess, now, now + 100);
  EXPECT_EQ(Get("/xrpc/com.atproto.server.getSession", Bearer(other_aud)).error(), "InvalidToken");

  auto none = Get("/xrpc/com.atproto.server.getSession");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.error(), "AuthMissing");
  EXPECT_EQ(none.message(), "Authentication Required");
  auto malformed = Get("/xrpc/com.atproto.server.getSession", "Bearer");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(malformed.message(), "Malformed authorization header");
  auto scheme = Get("/xrpc/com.atproto.server.getSession", "Token abc");
  EXPECT_EQ(scheme.status, 400);
  EXPECT_EQ(scheme.message(), "Unsupported authorization type: Token");
  auto basic = Get("/xrpc/com.atproto.server.getSession",
                   "Basic " + Base64Encode(AsBytes(std::string("admin:") + kAdminPassword)));
  EXPECT_EQ(basic.status, 400);
  EXPECT_EQ(basic.message(), "Unexpected authorization type");

  // An expired refresh token still ends its session (deleteSession allows expired).
  const std::string jti = ClaimStr(a.Str("refreshJwt"), "jti");
  const std::string old_refresh =
      internal::SignRefreshJwt(AsBytes(kSecret), did, "did:web:localhost", jti, now - 100, now - 10);
  EXPECT_EQ(PostEmpty("com.atproto.server.refreshSession", Bearer(old_refresh)).error(),
            "ExpiredToken");
  EXPECT_EQ(PostEmpty("com.atproto.server.deleteSession", Bearer(old_refresh)).status, 200);
  EXPECT_EQ(PostEmpty("com.atproto.server.refreshSession", Bearer(a.Str("refreshJwt"))).message(),
            "Token has been revoked");
}

TEST_F(AccountServiceTest, ServiceAuthTokensVerifyAgainstTheAccountKey) {
  auto a = CreateAccount("alice.test");
  ASSERT_EQ(a.status, 200);
  const std::string did = a.Str("did");
  const std::string access = a.Str("accessJwt");
  auto doc = identity::ParseDidDocument(json::serialize(a.json.at("didDoc")), did);
  ASSERT_TRUE(doc.ok());
  auto pub = crypto::PublicKey::FromDidKey(doc->signing_key);
  ASSERT_TRUE(pub.ok());

  const int64_t before = UnixSeconds();
  auto t = Get("/xrpc/com.atproto.server.getServiceAuth?aud=did:web:localhost%253A8080"
               "&lxm=io.atcr.hold.initiateUpload",
               Bearer(access));
  ASSERT_EQ(t.status, 200) << t.body;
  const std::string token = t.Str("token");
  auto jwt = crypto::VerifyJwt(token, *pub,
                               {.audience = "did:web:localhost%3A8080",
                                .lxm = "io.atcr.hold.initiateUpload"});
  ASSERT_TRUE(jwt.ok()) << jwt.error().ToString();
  EXPECT_EQ(jwt->alg(), "ES256K");
  EXPECT_EQ(jwt->typ(), "JWT");
  EXPECT_EQ(jwt->iss(), did);
  EXPECT_EQ(jwt->aud(), "did:web:localhost%3A8080");
  EXPECT_EQ(jwt->lxm(), "io.atcr.hold.initiateUpload");
  EXPECT_TRUE(std::regex_match(jwt->jti(), std::regex("^[0-9a-f]{32}$"))) << jwt->jti();
  ASSERT_TRUE(jwt->iat() && jwt->exp());
  EXPECT_GE(*jwt->iat(), before);
  EXPECT_EQ(*jwt->exp() - *jwt->iat(), 60);
  // Another account's key does not verify it.
  auto other = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
  EXPECT_FALSE(crypto::VerifyJwt(token, other.public_key(), {}).ok());

  // exp within the reference's limits is taken as given; aud may carry a #service.
  const int64_t exp = UnixSeconds() + 1800;
  auto t2 = Get("/xrpc/com.atproto.server.getServiceAuth?aud=did:web:hold.test%23atcr_hold"
                "&lxm=io.atcr.hold.initiateUpload&exp=" + std::to_string(exp),
                Bearer(access));
  ASSERT_EQ(t2.status, 200) << t2.body;
  auto jwt2 = crypto::ParseJwt(t2.Str("token"));
  ASSERT_TRUE(jwt2.ok());
  EXPECT_EQ(jwt2->exp().value_or(0), exp);
  EXPECT_EQ(jwt2->aud(), "did:web:hold.test#atcr_hold");
  // No lxm: no lxm claim.
  auto t3 = Get("/xrpc/com.atproto.server.getServiceAuth?aud=did:web:hold.test", Bearer(access));
  ASSERT_EQ(t3.status, 200);
  EXPECT_EQ(crypto::ParseJwt(t3.Str("token"))->lxm(), "");
  EXPECT_FALSE(ClaimsOf(t3.Str("token")).contains("lxm"));
}

TEST_F(AccountServiceTest, ServiceAuthRefusals) {
  auto a = CreateAccount("alice.test");
  ASSERT_EQ(a.status, 200);
  const std::string access = a.Str("accessJwt");
  auto ap = CreateAppPassword(access, "docker");
  auto s = Login("alice.test", ap.Str("password"));
  ASSERT_EQ(s.status, 200);
  const int64_t now = UnixSeconds();
  struct Case {
    std::string query;
    std::string token;
    std::string error;
    std::string message;
  };
  std::vector<Case> cases = {
      {"", access, "InvalidRequest",
       R"(Invalid com.atproto.server.getServiceAuth params: Missing required key "aud")"},
      {"aud=nope", access, "InvalidRequest", ""},
      {"aud=did:web:x&lxm=not-an-nsid", access, "InvalidRequest", ""},
      {"aud=did:web:x&exp=soon", access, "InvalidRequest", ""},
      {"aud=did:web:x&lxm=a.b.c&exp=" + std::to_string(now - 5), access, "BadExpiration",
       "expiration is in past"},
      {"aud=did:web:x&lxm=a.b.c&exp=" + std::to_string(now + 3700), access, "BadExpiration",
       "cannot request a token with an expiration more than an hour in the future"},
      {"aud=did:web:x&exp=" + std::to_string(now + 120), access, "BadExpiration",
       "cannot request a method-less token with an expiration more than a minute in the future"},
      {"aud=did:web:x&lxm=com.atproto.server.createAppPassword", access, "InvalidRequest",
       "cannot request a service auth token for the following protected method: "
       "com.atproto.server.createAppPassword"},
      {"aud=did:web:x&lxm=com.atproto.server.createAccount", s.Str("accessJwt"), "InvalidRequest",
       "insufficient access to request a service auth token for the following method: "
       "com.atproto.server.createAccount"},
  };
  for (const auto& c : cases) {
    auto r = Get("/xrpc/com.atproto.server.getServiceAuth?" + c.query, Bearer(c.token));
    EXPECT_EQ(r.status, 400) << c.query << " " << r.body;
    EXPECT_EQ(r.error(), c.error) << c.query;
    if (!c.message.empty()) {
      EXPECT_EQ(r.message(), c.message) << c.query;
    }
  }
  // An app-password session may get ordinary service tokens (docker login through the AppView).
  EXPECT_EQ(Get("/xrpc/com.atproto.server.getServiceAuth?aud=did:web:x&lxm=io.atcr.hold.a",
                Bearer(s.Str("accessJwt")))
                .status,
            200);
  EXPECT_EQ(Get("/xrpc/com.atproto.server.getServiceAuth?aud=did:web:x").error(), "AuthMissing");
}

TEST_F(AccountServiceTest, AuthenticateSeamAndAccountStates) {
  auto a = CreateAccount("alice.test");
  ASSERT_EQ(a.status, 200);
  const std::string did = a.Str("did");
  auto ap = CreateAppPassword(a.Str("accessJwt"), "docker");
  auto s = Login("alice.test", ap.Str("password"));

  auto auth = [&](const std::string& header) {
    net::Request req;
    if (!header.empty()) req.headers.Set("Authorization", header);
    return service_->Authenticate(req);
  };
  auto full = auth(Bearer(a.Str("accessJwt")));
  ASSERT_TRUE(full.ok()) << full.error().ToString();
  EXPECT_EQ(full->kind, Caller::Kind::kAccess);
  EXPECT_EQ(full->did, did);
  auto app = auth(Bearer(s.Str("accessJwt")));
  ASSERT_TRUE(app.ok());
  EXPECT_EQ(app->kind, Caller::Kind::kAppPassword);
  auto admin = auth("Basic " + Base64Encode(AsBytes(std::string("admin:") + kAdminPassword)));
  ASSERT_TRUE(admin.ok());
  EXPECT_EQ(admin->kind, Caller::Kind::kAdmin);
  auto bad_admin = auth("Basic " + Base64Encode(AsBytes(std::string("admin:guess"))));
  ASSERT_FALSE(bad_admin.ok());
  EXPECT_EQ(net::XrpcStatusFor(bad_admin.error()), 401);
  auto missing = auth("");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().wire, "AuthMissing");
  EXPECT_EQ(net::XrpcStatusFor(missing.error()), 401);
  auto refresh = auth(Bearer(a.Str("refreshJwt")));
  ASSERT_FALSE(refresh.ok());
  EXPECT_EQ(refresh.error().wire, "InvalidToken");
  EXPECT_EQ(net::XrpcStatusFor(refresh.error()), 400);

  // Deactivation and takedown: the seam refuses, refresh tokens are revoked, #account sequenced.
  ASSERT_TRUE(service_->SetAccountState(did, AccountState::kDeactivated).ok());
  auto deact = auth(Bearer(a.Str("accessJwt")));
  ASSERT_FALSE(deact.ok());
  EXPECT_EQ(deact.error().wire, "AccountDeactivated");
  EXPECT_EQ(net::XrpcStatusFor(deact.error()), 401);
  EXPECT_EQ(service_->AccountStatus(did), "deactivated");
  auto gs = Get("/xrpc/com.atproto.server.getSession", Bearer(a.Str("accessJwt")));
  ASSERT_EQ(gs.status, 200);  // getSession works for deactivated accounts, as in the reference
  EXPECT_FALSE(gs.json.at("active").as_bool());
  EXPECT_EQ(gs.Str("status"), "deactivated");
  EXPECT_EQ(PostEmpty("com.atproto.server.refreshSession", Bearer(a.Str("refreshJwt"))).error(),
            "ExpiredToken");

  ASSERT_TRUE(service_->SetAccountState(did, AccountState::kTakendown).ok());
  auto taken = auth(Bearer(a.Str("accessJwt")));
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().wire, "AccountTakedown");
  auto login = Login("alice.test", "hunter2");
  EXPECT_EQ(login.status, 401);
  EXPECT_EQ(login.error(), "AccountTakedown");
  EXPECT_EQ(Login("alice.test", ap.Str("password")).message(), "Invalid identifier or password");
  auto events = repo_.events();
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events[2].detail, "deactivated");
  EXPECT_EQ(events[3].detail, "takendown");

  ASSERT_TRUE(service_->SetAccountState(did, AccountState::kActive).ok());
  EXPECT_TRUE(auth(Bearer(a.Str("accessJwt"))).ok());
  EXPECT_EQ(service_->ResolveRepo("nobody.test").error().wire, "RepoNotFound");
  EXPECT_EQ(service_->AccountStatus("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"), "deleted");
}

TEST_F(AccountServiceTest, ResolveHandleErrors) {
  auto r = Get("/xrpc/com.atproto.identity.resolveHandle?handle=nobody.test");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.error(), "InvalidRequest");
  EXPECT_EQ(r.message(), "Unable to resolve handle");
  auto foreign = Get("/xrpc/com.atproto.identity.resolveHandle?handle=bob.example.com");
  EXPECT_EQ(foreign.status, 400);
  EXPECT_EQ(foreign.message(), "Unable to resolve handle");
  auto bad = Get("/xrpc/com.atproto.identity.resolveHandle?handle=not%20a%20handle");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.error(), "InvalidRequest");
  auto missing = Get("/xrpc/com.atproto.identity.resolveHandle");
  EXPECT_EQ(missing.message(),
            R"(Invalid com.atproto.identity.resolveHandle params: Missing required key "handle")");
}

TEST_F(AccountServiceTest, InviteCodesWhenRequired) {
  AccountServiceOptions o = Options();
  o.invite_required = true;
  ASSERT_TRUE(Restart(o).ok());
  EXPECT_TRUE(Get("/xrpc/com.atproto.server.describeServer").json.at("inviteCodeRequired").as_bool());
  auto none = CreateAccount("alice.test");
  EXPECT_EQ(none.status, 400);
  EXPECT_EQ(none.error(), "InvalidInviteCode");
  EXPECT_EQ(none.message(), "No invite code provided");

  const std::string admin = "Basic " + Base64Encode(AsBytes(std::string("admin:") + kAdminPassword));
  EXPECT_EQ(Post("com.atproto.server.createInviteCode", json::object{{"useCount", 1}}).status, 401);
  EXPECT_EQ(Post("com.atproto.server.createInviteCode", json::object{{"useCount", 1}},
                 "Basic " + Base64Encode(AsBytes(std::string("admin:nope"))))
                .status,
            401);
  auto code = Post("com.atproto.server.createInviteCode", json::object{{"useCount", 1}}, admin);
  ASSERT_EQ(code.status, 200) << code.body;
  EXPECT_TRUE(std::regex_match(code.Str("code"),
                               std::regex("^localhost-[a-z2-7]{5}-[a-z2-7]{5}$")))
      << code.Str("code");

  auto wrong = Post("com.atproto.server.createAccount",
                    json::object{{"handle", "alice.test"}, {"inviteCode", "nope"}});
  EXPECT_EQ(wrong.error(), "InvalidInviteCode");
  EXPECT_EQ(wrong.message(), "Provided invite code not available");
  auto ok = Post("com.atproto.server.createAccount",
                 json::object{{"handle", "alice.test"}, {"password", "pw"}, {"inviteCode", code.Str("code")}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto used = Post("com.atproto.server.createAccount",
                   json::object{{"handle", "bob.test"}, {"inviteCode", code.Str("code")}});
  EXPECT_EQ(used.error(), "InvalidInviteCode");
  EXPECT_EQ(plc_.op_count(), 1u);
}

TEST_F(AccountServiceTest, SecretsArePrivateAndSurviveRestarts) {
  AccountServiceOptions o = Options();
  o.jwt_secret.clear();
  o.data_dir = dir_.path() + "/fresh/data";
  ASSERT_TRUE(Restart(o).ok());
  EXPECT_EQ(FileMode(o.data_dir), 0700);
  EXPECT_EQ(FileMode(o.data_dir + "/jwt-secret"), 0600);
  EXPECT_EQ(FileMode(o.data_dir + "/plc-rotation.key"), 0600);
  EXPECT_EQ(FileMode(o.data_dir + "/accounts.sqlite"), 0600);
  const std::string rotation = service_->plc_rotation_did_key();

  auto a = CreateAccount("alice.test");
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(FileMode(o.data_dir + "/accounts.sqlite-wal"), 0600);
  ASSERT_TRUE(Restart(o).ok());
  EXPECT_EQ(service_->plc_rotation_did_key(), rotation);
  // Sessions minted before the restart still verify; the account and its key are back.
  EXPECT_EQ(Get("/xrpc/com.atproto.server.getSession", Bearer(a.Str("accessJwt"))).status, 200);
  EXPECT_EQ(PostEmpty("com.atproto.server.refreshSession", Bearer(a.Str("refreshJwt"))).status,
            200);
  EXPECT_EQ(Login("alice.test", "hunter2").status, 200);
  EXPECT_EQ(service_->SigningKey(a.Str("did"))->public_key().DidKey(),
            repo_.RepoKey(a.Str("did")));

  // A secret file others can read is refused.
  ASSERT_EQ(::chmod((o.data_dir + "/jwt-secret").c_str(), 0644), 0);
  StopServer();
  auto refused = AccountService::Open(o, &repo_, &service_http_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
}

TEST_F(AccountServiceTest, DidDocWithSessionWhenEnabled) {
  AccountServiceOptions o = Options();
  o.did_doc_with_session = true;
  ASSERT_TRUE(Restart(o).ok());
  auto a = CreateAccount("alice.test");
  ASSERT_EQ(a.status, 200);
  auto s = Login("alice.test", "hunter2");
  ASSERT_EQ(s.status, 200);
  ASSERT_TRUE(s.json.contains("didDoc")) << s.body;
  auto doc = identity::ParseDidDocument(json::serialize(s.json.at("didDoc")), a.Str("did"));
  ASSERT_TRUE(doc.ok()) << doc.error().ToString();
  EXPECT_EQ(doc->pds_endpoint, service_->public_url());
  auto g = Get("/xrpc/com.atproto.server.getSession", Bearer(s.Str("accessJwt")));
  EXPECT_TRUE(g.json.contains("didDoc"));
  // The directory being down only drops the document, as the reference does.
  plc_.set_down(true);
  auto g2 = Get("/xrpc/com.atproto.server.getSession", Bearer(s.Str("accessJwt")));
  EXPECT_EQ(g2.status, 200);
  EXPECT_FALSE(g2.json.contains("didDoc"));
}

TEST_F(AccountServiceTest, TakendownSessionsGetNoServiceTokens) {
  auto a = CreateAccount("alice.test");
  ASSERT_EQ(a.status, 200);
  ASSERT_TRUE(service_->SetAccountState(a.Str("did"), AccountState::kTakendown).ok());
  auto s = Post("com.atproto.server.createSession",
                json::object{{"identifier", "alice.test"}, {"password", "hunter2"},
                             {"allowTakendown", true}});
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_FALSE(s.json.at("active").as_bool());
  EXPECT_EQ(s.Str("status"), "takendown");
  const std::string access = s.Str("accessJwt");
  EXPECT_EQ(ClaimStr(access, "scope"), "com.atproto.takendown");
  // The reference lets only createAccount past its takedown check, and then refuses it as a
  // privileged method for a non-privileged scope; so does this PDS.
  auto migrate = Get("/xrpc/com.atproto.server.getServiceAuth?aud=did:web:x"
                     "&lxm=com.atproto.server.createAccount",
                     Bearer(access));
  EXPECT_EQ(migrate.status, 400);
  EXPECT_EQ(migrate.message(),
            "insufficient access to request a service auth token for the following method: "
            "com.atproto.server.createAccount");
  auto other = Get("/xrpc/com.atproto.server.getServiceAuth?aud=did:web:x&lxm=a.b.c",
                   Bearer(access));
  EXPECT_EQ(other.error(), "InvalidToken");
  EXPECT_EQ(other.message(), "Bad token scope");
  EXPECT_EQ(Get("/xrpc/com.atproto.server.getSession", Bearer(access)).message(),
            "Bad token scope");
  // Its refresh token was never stored.
  EXPECT_EQ(PostEmpty("com.atproto.server.refreshSession", Bearer(s.Str("refreshJwt"))).error(),
            "AccountTakedown");
}

TEST_F(AccountServiceTest, ConcurrentCreationsOfOneHandle) {
  std::vector<std::thread> threads;
  std::vector<int> statuses(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      net::HttpClient client;
      net::ClientRequest req;
      req.method = net::Method::kPost;
      req.url = base_ + "/xrpc/com.atproto.server.createAccount";
      req.headers.Set("Content-Type", "application/json");
      req.body = R"({"handle":"alice.test","password":"pw"})";
      auto r = client.SendSync(std::move(req));
      statuses[i] = r.ok() ? r->status : -1;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200), 1);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 400), 3);
  EXPECT_EQ(repo_.repo_count(), 1u);
}

TEST_F(AccountServiceTest, OversizedBodiesAreRefused) {
  std::string big = R"({"handle":"alice.test","password":")" + std::string(200 * 1024, 'x') + R"("})";
  auto a = Send(net::Method::kPost, "/xrpc/com.atproto.server.createAccount", big);
  EXPECT_EQ(a.status, 413);
  EXPECT_EQ(a.error(), "PayloadTooLarge");
  EXPECT_FALSE(service_->FindAccount("alice.test").has_value());
}

TEST_F(AccountServiceTest, UnknownRoutesAndMethods) {
  EXPECT_EQ(Get("/xrpc/com.atproto.server.createSession").status, 405);
  EXPECT_EQ(PostEmpty("com.atproto.server.describeServer").status, 405);
  // single-account routes exist but answer 404 while there is no service account
  EXPECT_EQ(Get("/.well-known/did.json").status, 404);
}

// ---------------------------------------------------------------------------------------------
// Single-account mode (holds)

class ServiceAccountTest : public AccountServiceTest {
 protected:
  void SetUp() override {}
  AccountServiceOptions HoldOptions() {
    AccountServiceOptions o;
    o.data_dir = dir_.path() + "/hold";
    o.single_account = true;
    o.service_did = "did:web:hold.test";
    o.public_url = "https://hold.test";
    return o;
  }
};

TEST_F(ServiceAccountTest, CreatesTheAccountOnceAndServesItsDidDocument) {
  const std::string key_path = dir_.path() + "/hold-signing.key";
  auto key = LoadOrCreateKeyFile(key_path);
  ASSERT_TRUE(key.ok()) << key.error().ToString();
  EXPECT_EQ(FileMode(key_path), 0600);
  auto same = LoadOrCreateKeyFile(key_path);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->public_key(), key->public_key());

  ASSERT_TRUE(Start(HoldOptions()).ok());
  const std::string did = "did:web:hold.test";
  std::vector<DidService> services = {{"atcr_hold", "AtcrHoldService", "https://hold.test"}};
  ASSERT_TRUE(service_->EnsureServiceAccount(did, "hold.test", *key, services).ok());
  service_->SetPublicUrl("https://hold.test");
  EXPECT_TRUE(repo_.HasRepo(did));
  ASSERT_EQ(repo_.events().size(), 2u);

  auto doc = Get("/.well-known/did.json");
  ASSERT_EQ(doc.status, 200) << doc.body;
  auto parsed = identity::ParseDidDocument(doc.body, did);
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed->signing_key, key->public_key().DidKey());
  EXPECT_EQ(parsed->pds_endpoint, "https://hold.test");
  EXPECT_EQ(parsed->handle, "hold.test");
  EXPECT_EQ(parsed->ServiceEndpoint("atcr_hold").value_or(""), "https://hold.test");
  EXPECT_EQ(doc.body, service_->ServiceDidDocument().value());

  net::Headers host;
  host.Set("Host", "127.0.0.1:8080");
  auto w = Get("/.well-known/atproto-did", "", host);
  ASSERT_EQ(w.status, 200);
  EXPECT_EQ(w.body, did);
  EXPECT_EQ(Get("/xrpc/com.atproto.identity.resolveHandle?handle=hold.test").Str("did"), did);
  auto describe = Get("/xrpc/com.atproto.server.describeServer");
  EXPECT_EQ(describe.Str("did"), did);
  EXPECT_TRUE(describe.json.at("availableUserDomains").as_array().empty());
  // No password accounts in this mode: the session methods are not served.
  EXPECT_EQ(Login("hold.test", "x").status, 501);
  EXPECT_EQ(service_->SigningKey(did)->public_key(), key->public_key());
  EXPECT_EQ(service_->AccountStatus(did), "active");

  // Restart: nothing is created again; a changed handle is sequenced.
  ASSERT_TRUE(Restart(HoldOptions()).ok());
  ASSERT_TRUE(service_->EnsureServiceAccount(did, "hold.test", *key, services).ok());
  EXPECT_EQ(repo_.events().size(), 2u);
  ASSERT_TRUE(service_->EnsureServiceAccount(did, "registry-hold.test", *key, services).ok());
  ASSERT_EQ(repo_.events().size(), 3u);
  EXPECT_EQ(repo_.events()[2].detail, "registry-hold.test");
  EXPECT_EQ(service_->HandleOf(did).value_or(""), "registry-hold.test");

  // Another key for the same DID is refused.
  auto other = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
  Status st = service_->EnsureServiceAccount(did, "hold.test", other, services);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(ServiceAccountTest, DidWebWithAPortAndNoHandle) {
  ASSERT_TRUE(Start(HoldOptions()).ok());
  const std::string did = "did:web:localhost%3A" + std::to_string(server_->port());
  auto key = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
  ASSERT_TRUE(service_->EnsureServiceAccount(did, "", key).ok());
  service_->SetPublicUrl("http://localhost:" + std::to_string(server_->port()));
  auto doc = Get("/.well-known/did.json");
  ASSERT_EQ(doc.status, 200);
  auto parsed = identity::ParseDidDocument(doc.body, did);
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_TRUE(parsed->handle.empty());
  EXPECT_EQ(parsed->pds_endpoint, service_->public_url());
  // The document is what a resolver fetching the did:web finds.
  auto url = identity::DidWebDocumentUrl(did, true);
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(*url, service_->public_url() + "/.well-known/did.json");
}

}  // namespace
}  // namespace atcr::pds
