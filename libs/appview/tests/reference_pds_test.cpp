// The AppView against the reference PDS (@atproto/pds from npm, tests/peers/start-pds.sh) as the
// users' PDS and a FakeHold that verifies the reference PDS's service tokens against the PLC:
// app-password login through the Docker token flow, a push and a pull, and the io.atcr.*
// records read back through the reference PDS's own XRPC and validated against the lexicons.
// The peers start once for the suite (a few seconds to ~15 s on a busy machine); if they
// cannot start, the suite fails loudly.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <cstdio>
#include <map>

#include "atcr/appview/records.h"
#include "atcr/atproto/lexicon.h"
#include "flow_fixture.h"

namespace atcr::appview::testing {
namespace {
namespace json = boost::json;

uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string Run(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) {
    *status = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = ::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  *status = ::pclose(p);
  return out;
}

// PLC + reference PDS for the whole suite.
struct Peers {
  std::string state;
  std::string pds_url;
  std::string plc_url;
  std::string error;

  Peers() {
    state = (std::filesystem::temp_directory_path() /
             ("atcr-appview-refpds-" + std::to_string(::getpid())))
                .string();
    uint16_t plc = FreePort();
    uint16_t pds = FreePort();
    while (pds == plc) pds = FreePort();
    std::string cmd = "PLC_PORT=" + std::to_string(plc) + " PDS_PORT=" + std::to_string(pds) +
                      " PDS_STATE=" + state + " " ATCR_SOURCE_DIR "/tests/peers/start-pds.sh 2>&1";
    int status = 0;
    std::string out = Run(cmd, &status);
    if (status != 0) {
      error = "start-pds.sh failed:\n" + out;
      return;
    }
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with("PDS_URL=")) pds_url = line.substr(8);
      if (line.starts_with("PLC_URL=")) plc_url = line.substr(8);
    }
    if (pds_url.empty()) error = "start-pds.sh printed no PDS_URL:\n" + out;
  }
  ~Peers() {
    int status = 0;
    Run(ATCR_SOURCE_DIR "/tests/peers/stop-pds.sh " + state + " 2>&1", &status);
    std::error_code ec;
    std::filesystem::remove_all(state, ec);
  }
};

Peers* g_peers = nullptr;

struct Account {
  std::string did;
  std::string handle;
  std::string app_password;
};

Account CreateAccount(const std::string& pds, const std::string& handle) {
  net::HttpClient http;
  json::object body;
  body["handle"] = handle;
  body["email"] = handle + "@example.com";
  body["password"] = "main-password-" + handle;
  net::ClientRequest req;
  req.method = net::Method::kPost;
  req.url = pds + "/xrpc/com.atproto.server.createAccount";
  req.headers.Set("Content-Type", "application/json");
  req.body = json::serialize(body);
  auto r = http.SendSync(std::move(req));
  EXPECT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.error().ToString());
  if (!r.ok() || r->status != 200) return {};
  json::object session = json::parse(r->body).as_object();
  Account a;
  a.did = std::string(session.at("did").as_string());
  a.handle = handle;
  // docker login takes an app password, never the account password.
  net::ClientRequest app;
  app.method = net::Method::kPost;
  app.url = pds + "/xrpc/com.atproto.server.createAppPassword";
  app.headers.Set("Content-Type", "application/json");
  app.headers.Set("Authorization", "Bearer " + std::string(session.at("accessJwt").as_string()));
  app.body = R"({"name":"atcr-test"})";
  auto ar = http.SendSync(std::move(app));
  EXPECT_TRUE(ar.ok() && ar->status == 200) << (ar.ok() ? ar->body : ar.error().ToString());
  if (!ar.ok() || ar->status != 200) return a;
  a.app_password = std::string(json::parse(ar->body).as_object().at("password").as_string());
  return a;
}

std::optional<json::value> GetRecord(const std::string& pds, const std::string& did,
                                     const std::string& collection, const std::string& rkey) {
  net::HttpClient http;
  net::ClientRequest req;
  req.url = pds + "/xrpc/com.atproto.repo.getRecord?repo=" + net::PercentEncode(did) +
            "&collection=" + collection + "&rkey=" + net::PercentEncode(rkey);
  auto r = http.SendSync(std::move(req));
  if (!r.ok() || r->status != 200) return std::nullopt;
  return json::parse(r->body).as_object().at("value");
}

class ReferencePdsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { g_peers = new Peers(); }
  static void TearDownTestSuite() {
    delete g_peers;
    g_peers = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(g_peers->error.empty()) << g_peers->error;
    identity::ResolverOptions ro;
    ro.plc_url = g_peers->plc_url;
    ro.use_dns = false;
    ro.handle_overrides[".test"] = g_peers->pds_url;
    FakeHold::Options ho;
    ho.verify_with = std::make_shared<identity::Resolver>(ro);
    ho.reject_replay = true;  // like atcr's hold
    hold_ = std::make_unique<FakeHold>(ho);
    server_ = std::make_unique<LateServer>();
    AppViewConfig c;
    c.data = dir_.path() + "/appview";
    c.base_url = base();
    c.default_hold_did = hold_->did();
    c.plc_url = g_peers->plc_url;
    c.identity_use_dns = false;
    c.handle_overrides[".test"] = g_peers->pds_url;
    c.upload_part_bytes = 64 * 1024;
    AppViewOptions options;
    options.background = true;  // follow the reference PDS's firehose too
    auto av = AppView::Open(c, options);
    ASSERT_TRUE(av.ok()) << av.error().ToString();
    appview_ = std::move(*av);
    appview_->Register(server_->router());
    client_ = std::make_unique<RegistryClient>(base());
  }
  void TearDown() override {
    if (appview_) appview_->Stop();
  }

  std::string base() const { return "http://localhost:" + std::to_string(server_->port()); }
  std::string service() const { return "localhost:" + std::to_string(server_->port()); }

  TempDir dir_;
  std::unique_ptr<FakeHold> hold_;
  std::unique_ptr<LateServer> server_;
  std::unique_ptr<AppView> appview_;
  std::unique_ptr<RegistryClient> client_;
};

TEST_F(ReferencePdsTest, PushAndPullWithRecordsInTheReferencePds) {
  static int n = 0;
  std::string handle = "alice" + std::to_string(++n) + "-" + std::to_string(::getpid()) + ".test";
  Account alice = CreateAccount(g_peers->pds_url, handle);
  ASSERT_FALSE(alice.app_password.empty());
  std::string name = handle + "/hello";

  // docker login, then a push with the Docker token flow.
  EXPECT_EQ(client_->Do(net::Method::kGet, "/v2/").status, 401);
  EXPECT_EQ(client_->TokenReply(handle, "wrong-password", {}, service()).status, 401);
  std::string token = client_->Token(handle, alice.app_password,
                                     {"repository:" + name + ":pull,push"}, service());
  ASSERT_FALSE(token.empty());
  std::string config = R"({"architecture":"amd64","os":"linux","config":{}})";
  std::string layer(200 * 1024, 'L');  // several 64 KiB parts
  std::string small = "second layer";
  ASSERT_EQ(client_->PushBlobChunked(token, name, config), 201);
  ASSERT_EQ(client_->PushBlobChunked(token, name, layer, 50000), 201);
  ASSERT_EQ(client_->PushBlobMonolithic(token, name, small), 201);
  std::string body = ImageManifest(config, {layer, small},
                                   R"(,"annotations":{"org.opencontainers.image.title":"hello"})");
  Reply put = client_->PutManifest(token, name, "latest", body);
  ASSERT_EQ(put.status, 201) << put.body;

  // The hold accepted the reference PDS's service tokens (signature checked via PLC).
  EXPECT_TRUE(hold_->HasBlob(DigestOf(layer)));
  for (const std::string& iss : hold_->token_issuers()) EXPECT_EQ(iss, alice.did);
  ASSERT_EQ(hold_->notifications().size(), 1u);

  // The records, read back through the reference PDS's own XRPC, validate.
  atproto::LexiconCatalog lex;
  ASSERT_TRUE(lex.AddBuiltinAtcr().ok());
  std::string rkey = ManifestRkey("hello", *oci::Digest::Parse(DigestOf(body)));
  auto manifest = GetRecord(g_peers->pds_url, alice.did, "io.atcr.manifest", rkey);
  ASSERT_TRUE(manifest);
  Status valid = lex.ValidateRecord("io.atcr.manifest", *manifest, rkey);
  EXPECT_TRUE(valid.ok()) << valid.error().ToString() << json::serialize(*manifest);
  EXPECT_EQ(std::string(manifest->as_object().at("holdDid").as_string()), hold_->did());
  EXPECT_EQ(std::string(manifest->as_object().at("digest").as_string()), DigestOf(body));
  auto tag = GetRecord(g_peers->pds_url, alice.did, "io.atcr.tag", "hello:latest");
  ASSERT_TRUE(tag);
  valid = lex.ValidateRecord("io.atcr.tag", *tag, "hello:latest");
  EXPECT_TRUE(valid.ok()) << valid.error().ToString();
  auto profile = GetRecord(g_peers->pds_url, alice.did, "io.atcr.sailor.profile", "self");
  ASSERT_TRUE(profile);
  EXPECT_TRUE(lex.ValidateRecord("io.atcr.sailor.profile", *profile, "self").ok());

  // Anonymous pull of the public image: exact bytes, blobs by redirect.
  std::string anon = client_->Token("", "", {"repository:" + name + ":pull"}, service());
  Reply got = client_->GetManifest(anon, name, "latest");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body, body);
  Reply blob = client_->Do(net::Method::kGet, "/v2/" + name + "/blobs/" + DigestOf(layer), anon);
  EXPECT_EQ(blob.status, 307);

  // A fresh AppView reads the image back from the reference PDS alone.
  appview_->Stop();
  appview_.reset();
  server_ = std::make_unique<LateServer>();
  AppViewConfig c;
  c.data = dir_.path() + "/appview2";
  c.base_url = base();
  c.plc_url = g_peers->plc_url;
  c.identity_use_dns = false;
  c.handle_overrides[".test"] = g_peers->pds_url;
  c.firehose_enabled = false;
  AppViewOptions options;
  options.background = false;
  auto fresh = AppView::Open(c, options);
  ASSERT_TRUE(fresh.ok());
  appview_ = std::move(*fresh);
  appview_->Register(server_->router());
  client_ = std::make_unique<RegistryClient>(base());
  anon = client_->Token("", "", {"repository:" + name + ":pull"}, service());
  Reply cold = client_->GetManifest(anon, name, DigestOf(body));
  ASSERT_EQ(cold.status, 200) << cold.body;
  EXPECT_EQ(cold.body, body);
  Reply tags = client_->Do(net::Method::kGet, "/v2/" + name + "/tags/list", anon);
  EXPECT_EQ(tags.body, R"({"name":")" + name + R"(","tags":["latest"]})");
}

TEST_F(ReferencePdsTest, OnlyTheOwnerPushesIntoANamespace) {
  std::string suffix = std::to_string(::getpid()) + ".test";
  Account carol = CreateAccount(g_peers->pds_url, "carol-" + suffix);
  Account dave = CreateAccount(g_peers->pds_url, "dave-" + suffix);
  ASSERT_FALSE(carol.app_password.empty());
  ASSERT_FALSE(dave.app_password.empty());
  std::string name = dave.handle + "/app";
  std::string token = client_->Token(carol.handle, carol.app_password,
                                     {"repository:" + name + ":pull,push"}, service());
  Reply r = client_->Do(net::Method::kPost, "/v2/" + name + "/blobs/uploads/", token);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_FALSE(GetRecord(g_peers->pds_url, dave.did, "io.atcr.sailor.profile", "self"));
}

TEST_F(ReferencePdsTest, TheFirehoseInvalidatesATagMovedByAnotherClient) {
  std::string handle = "erin-" + std::to_string(::getpid()) + ".test";
  Account erin = CreateAccount(g_peers->pds_url, handle);
  ASSERT_FALSE(erin.app_password.empty());
  std::string name = handle + "/app";
  std::string token = client_->Token(handle, erin.app_password,
                                     {"repository:" + name + ":pull,push"}, service());
  std::string config = "{}";
  ASSERT_EQ(client_->PushBlobMonolithic(token, name, config), 201);
  std::string one = ImageManifest(config, {}, R"(,"annotations":{"n":"1"})");
  std::string two = ImageManifest(config, {}, R"(,"annotations":{"n":"2"})");
  ASSERT_EQ(client_->PutManifest(token, name, "latest", one).status, 201);
  ASSERT_EQ(client_->PutManifest(token, name, "v2", two).status, 201);
  ASSERT_EQ(client_->GetManifest(token, name, "latest").body, one);

  // Another client moves the tag straight in the PDS (with the user's own session).
  net::HttpClient http;
  net::ClientRequest login;
  login.method = net::Method::kPost;
  login.url = g_peers->pds_url + "/xrpc/com.atproto.server.createSession";
  login.headers.Set("Content-Type", "application/json");
  login.body = R"({"identifier":")" + handle + R"(","password":")" + erin.app_password + R"("})";
  auto session = http.SendSync(std::move(login));
  ASSERT_TRUE(session.ok() && session->status == 200);
  std::string access(json::parse(session->body).as_object().at("accessJwt").as_string());
  json::object put;
  put["repo"] = erin.did;
  put["collection"] = "io.atcr.tag";
  put["rkey"] = "app:latest";
  put["record"] = BuildTagRecord(
      "app", "latest",
      RecordUri(erin.did, kManifestCollection, ManifestRkey("app", *oci::Digest::Parse(DigestOf(two)))),
      DigestOf(two), "2025-01-01T00:00:00.000Z");
  net::ClientRequest req;
  req.method = net::Method::kPost;
  req.url = g_peers->pds_url + "/xrpc/com.atproto.repo.putRecord";
  req.headers.Set("Content-Type", "application/json");
  req.headers.Set("Authorization", "Bearer " + access);
  req.body = json::serialize(put);
  auto moved = http.SendSync(std::move(req));
  ASSERT_TRUE(moved.ok() && moved->status == 200) << (moved.ok() ? moved->body : "");

  // The AppView follows the PDS's firehose and drops the cached tag.
  std::string seen;
  for (int i = 0; i < 100 && seen != two; ++i) {
    seen = client_->GetManifest(token, name, "latest").body;
    if (seen != two) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(seen, two);
  ASSERT_NE(appview_->firehose(), nullptr);
  EXPECT_GT(appview_->firehose()->frames(), 0u);
}

}  // namespace
}  // namespace atcr::appview::testing
