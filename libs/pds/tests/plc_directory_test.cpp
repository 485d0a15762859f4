#include "atcr/pds/plc_directory.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <exception>
#include <filesystem>
#include <optional>

#include "atcr/base/hash.h"
#include "atcr/base/time.h"
#include "atcr/identity/resolver.h"
#include "atcr/net/http_client.h"
#include "atcr/net/server.h"
#include "atcr/testing/interop.h"

namespace atcr::pds {
namespace {

namespace json = boost::json;
using identity::PlcOperation;
using identity::PlcOpType;

constexpr int64_t kHour = int64_t{3600} * 1000 * 1000;

// Vectors made by the reference library: tests/peers/plc-fixtures.mjs.
const json::object& Vectors() {
  static const json::value v =
      atcr::testing::ReadJson(std::string(ATCR_TESTDATA_DIR) + "/plc/vectors.json");
  return v.as_object();
}
std::string S(const json::value& v) { return std::string(v.as_string()); }

template <typename T>
T RunSync(net::Task<T> task) {
  boost::asio::io_context ioc;
  std::optional<T> out;
  std::exception_ptr failure;
  boost::asio::co_spawn(
      ioc, [&]() -> net::Task<void> { out.emplace(co_await std::move(task)); },
      [&](std::exception_ptr e) { failure = e; });
  ioc.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

// A directory with a clock the test moves.
struct Fixture {
  std::atomic<int64_t> now{UnixMicros()};
  std::unique_ptr<PlcDirectory> dir;

  explicit Fixture(std::string data_dir = {}) { Reopen(std::move(data_dir)); }
  void Reopen(std::string data_dir) {
    dir.reset();
    PlcDirectoryOptions o;
    o.data_dir = std::move(data_dir);
    o.now_micros = [this] { return now.load(); };
    auto d = PlcDirectory::Open(std::move(o));
    ASSERT_TRUE(d.ok()) << d.error().ToString();
    dir = std::move(*d);
  }
};

struct Account {
  crypto::PrivateKey strong = crypto::PrivateKey::Generate(crypto::KeyType::kP256);
  crypto::PrivateKey weak = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
  crypto::PrivateKey signing = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
  identity::PlcGenesis genesis;

  explicit Account(std::string handle = "alice.test",
                   std::string pds = "http://localhost:2583") {
    auto g = identity::CreatePlcGenesis(
        weak, {.signing_key = signing.public_key().DidKey(),
               .handle = std::move(handle),
               .pds_endpoint = std::move(pds),
               .rotation_keys = {strong.public_key().DidKey(), weak.public_key().DidKey()}});
    EXPECT_TRUE(g.ok()) << g.error().ToString();
    genesis = *g;
  }
  PlcOperation Update(const PlcOperation& last, std::string handle,
                      const crypto::PrivateKey& key) const {
    PlcOperation op = identity::NextPlcOperation(last);
    op.also_known_as = {"at://" + handle};
    return identity::SignPlcOperation(std::move(op), key);
  }
};

TEST(PlcDirectory, AcceptsTheReferenceLogAndServesIt) {
  Fixture f;
  std::string did = S(Vectors().at("did"));
  const auto& log = Vectors().at("log").as_array();
  for (size_t i = 0; i < log.size(); ++i) {
    SCOPED_TRACE(i);
    auto op = identity::ParsePlcOperation(log[i].at("op"));
    ASSERT_TRUE(op.ok());
    f.now += 1000;
    Status st = f.dir->Submit(did, *op);
    ASSERT_TRUE(st.ok()) << st.error().ToString();
    auto last = f.dir->Last(did);
    ASSERT_TRUE(last.ok());
    EXPECT_EQ(last->cid, S(log[i].at("cid")));
  }
  auto all = f.dir->Log(did, true);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), log.size());
  for (const auto& e : *all) EXPECT_FALSE(e.nullified);
  EXPECT_EQ(all->back().op.type, PlcOpType::kTombstone);
  // After the tombstone nothing more is accepted.
  auto k256 = crypto::PrivateKey::FromHex(
      crypto::KeyType::kK256, S(Vectors().at("keys").at("k256").at("privateKeyHex")));
  ASSERT_TRUE(k256.ok());
  PlcOperation after = identity::SignPlcOperation(
      identity::PlcTombstoneAfter(all->back().op), *k256);
  Status st = f.dir->Submit(did, after);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("tombstoned"), std::string::npos) << st.error().message;
  EXPECT_FALSE(f.dir->Log("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa").ok());
}

TEST(PlcDirectory, RejectsBadOperations) {
  Fixture f;
  Account a;
  const std::string& did = a.genesis.did;

  // Genesis under another DID, or with a broken signature.
  EXPECT_FALSE(f.dir->Submit("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", a.genesis.op).ok());
  EXPECT_FALSE(f.dir->Submit("did:plc:short", a.genesis.op).ok());
  PlcOperation tampered = a.genesis.op;
  tampered.also_known_as = {"at://mallory.test"};
  Status st = f.dir->Submit(identity::PlcDidForGenesis(tampered), tampered);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("signature"), std::string::npos) << st.error().message;
  // A genesis signed by a key that is not among its rotation keys.
  auto stranger = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
  PlcOperation foreign = identity::SignPlcOperation(a.genesis.op, stranger);
  EXPECT_FALSE(f.dir->Submit(identity::PlcDidForGenesis(foreign), foreign).ok());
  // Too many rotation keys.
  PlcOperation many = a.genesis.op;
  for (int i = 0; i < 5; ++i) {
    many.rotation_keys.push_back(
        crypto::PrivateKey::Generate(crypto::KeyType::kK256).public_key().DidKey());
  }
  many = identity::SignPlcOperation(std::move(many), a.weak);
  st = f.dir->Submit(identity::PlcDidForGenesis(many), many);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("too many rotation keys"), std::string::npos);
  // An update for a DID that does not exist yet.
  PlcOperation orphan = a.Update(a.genesis.op, "bob.test", a.weak);
  EXPECT_FALSE(f.dir->Submit(did, orphan).ok());

  ASSERT_TRUE(f.dir->Submit(did, a.genesis.op).ok());
  // The same genesis again.
  EXPECT_FALSE(f.dir->Submit(did, a.genesis.op).ok());
  // Wrong prev.
  PlcOperation wrong_prev = identity::NextPlcOperation(a.genesis.op);
  wrong_prev.prev = identity::PlcOperationCid(tampered).ToString();
  wrong_prev = identity::SignPlcOperation(std::move(wrong_prev), a.weak);
  st = f.dir->Submit(did, wrong_prev);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("not correctly ordered"), std::string::npos);
  // Signed by the account's signing key, which is not a rotation key.
  EXPECT_FALSE(f.dir->Submit(did, a.Update(a.genesis.op, "bob.test", a.signing)).ok());
  // Legacy create ops are refused.
  PlcOperation legacy;
  legacy.type = PlcOpType::kLegacyCreate;
  legacy.signing_key = a.weak.public_key().DidKey();
  legacy.recovery_key = a.strong.public_key().DidKey();
  legacy.handle = "legacy.test";
  legacy.service = "https://pds.test";
  legacy = identity::SignPlcOperation(std::move(legacy), a.weak);
  st = f.dir->Submit(identity::PlcDidForGenesis(legacy), legacy);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("legacy"), std::string::npos);

  // Nothing above changed the log.
  auto log = f.dir->Log(did, true);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->size(), 1u);
  // A good update goes through.
  EXPECT_TRUE(f.dir->Submit(did, a.Update(a.genesis.op, "bob.test", a.weak)).ok());
}

TEST(PlcDirectory, RecoveryForkByAHigherPriorityKeyWithinTheWindow) {
  Fixture f;
  Account a;
  const std::string& did = a.genesis.did;
  ASSERT_TRUE(f.dir->Submit(did, a.genesis.op).ok());
  f.now += kHour;
  PlcOperation hijack = a.Update(a.genesis.op, "mallory.test", a.weak);
  ASSERT_TRUE(f.dir->Submit(did, hijack).ok());
  f.now += kHour;
  PlcOperation hijack2 = a.Update(hijack, "mallory2.test", a.weak);
  ASSERT_TRUE(f.dir->Submit(did, hijack2).ok());

  // The weak key cannot fork its own ops away.
  Status st = f.dir->Submit(did, a.Update(a.genesis.op, "alice2.test", a.weak));
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("higher priority"), std::string::npos) << st.error().message;

  // The strong key can, from the genesis, within 72 hours of the first nullified op.
  f.now += 70 * kHour;
  PlcOperation recover = a.Update(a.genesis.op, "alice.test", a.strong);
  st = f.dir->Submit(did, recover);
  ASSERT_TRUE(st.ok()) << st.error().ToString();
  auto audit = f.dir->Log(did, true);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 4u);
  EXPECT_FALSE((*audit)[0].nullified);
  EXPECT_TRUE((*audit)[1].nullified);
  EXPECT_TRUE((*audit)[2].nullified);
  EXPECT_FALSE((*audit)[3].nullified);
  auto chain = f.dir->Log(did);
  ASSERT_TRUE(chain.ok());
  ASSERT_EQ(chain->size(), 2u);
  EXPECT_EQ(chain->back().cid, identity::PlcOperationCid(recover).ToString());
  // The nullified branch can no longer be extended.
  EXPECT_FALSE(f.dir->Submit(did, a.Update(hijack2, "x.test", a.weak)).ok());
}

TEST(PlcDirectory, RecoveryForkAfterTheWindowIsRefused) {
  Fixture f;
  Account a;
  const std::string& did = a.genesis.did;
  ASSERT_TRUE(f.dir->Submit(did, a.genesis.op).ok());
  PlcOperation hijack = a.Update(a.genesis.op, "mallory.test", a.weak);
  ASSERT_TRUE(f.dir->Submit(did, hijack).ok());
  f.now += 73 * kHour;
  Status st = f.dir->Submit(did, a.Update(a.genesis.op, "alice.test", a.strong));
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("recovery window"), std::string::npos) << st.error().message;
  EXPECT_EQ(f.dir->Log(did)->size(), 2u);
}

TEST(PlcDirectory, PersistsAcrossReopenWithADataDir) {
  std::string dir = ::testing::TempDir() + "plc-persist-" + RandomId();
  {
    Fixture f(dir);
    Account a;
    ASSERT_TRUE(f.dir->Submit(a.genesis.did, a.genesis.op).ok());
    PlcOperation up = a.Update(a.genesis.op, "renamed.test", a.weak);
    ASSERT_TRUE(f.dir->Submit(a.genesis.did, up).ok());
    f.Reopen(dir);
    auto log = f.dir->Log(a.genesis.did);
    ASSERT_TRUE(log.ok()) << log.error().ToString();
    ASSERT_EQ(log->size(), 2u);
    EXPECT_EQ(log->back().op, up);
    // And the chain continues from the reopened state.
    EXPECT_TRUE(f.dir->Submit(a.genesis.did, a.Update(up, "again.test", a.weak)).ok());
  }
  {
    // The in-memory default starts empty every time.
    Fixture mem;
    auto exported = mem.dir->Export(0, 10);
    ASSERT_TRUE(exported.ok());
    EXPECT_TRUE(exported->empty());
  }
  std::filesystem::remove_all(dir);
}

// The HTTP API on a real server, and atcr's resolver reading DIDs from it.
class PlcServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = PlcDirectory::Open({});
    ASSERT_TRUE(d.ok());
    dir_ = std::move(*d);
    net::Router router;
    dir_->Register(router);
    // The handle side of the bidirectional check, for the resolver test.
    router.Add(net::Method::kGet, "/.well-known/atproto-did",
               [this](net::Request& req) -> net::Task<net::Response> {
                 auto host = req.headers.Get("Host");
                 if (host && host->starts_with("alice.test")) {
                   co_return net::Response::Text(200, account_.genesis.did);
                 }
                 co_return net::Response::Text(404, "no such handle");
               });
    server_ = std::make_unique<net::Server>(
        net::ServerOptions{.threads = 1, .access_log = false}, std::move(router));
    ASSERT_TRUE(server_->Start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override { server_->Stop(); }

  net::ClientResponse Get(const std::string& path) {
    auto r = client_.SendSync({.method = net::Method::kGet, .url = base_ + path});
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() ? *r : net::ClientResponse{};
  }
  net::ClientResponse Post(const std::string& path, std::string body) {
    net::ClientRequest req{.method = net::Method::kPost, .url = base_ + path};
    req.headers.Set("Content-Type", "application/json");
    req.body = std::move(body);
    auto r = client_.SendSync(std::move(req));
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() ? *r : net::ClientResponse{};
  }
  Status Submit(const std::string& did, const PlcOperation& op) {
    net::HttpClient client;
    return RunSync(identity::SubmitPlcOperation(client, base_, did, op));
  }

  std::unique_ptr<PlcDirectory> dir_;
  std::unique_ptr<net::Server> server_;
  net::HttpClient client_;
  std::string base_;
  Account account_;
};

TEST_F(PlcServerTest, EndpointsAnswerLikeTheReference) {
  const std::string& did = account_.genesis.did;
  EXPECT_EQ(Get("/_health").status, 200);
  EXPECT_EQ(json::parse(Get("/_health").body).at("version"), json::value("atcr-plc-dev"));
  EXPECT_EQ(Get("/" + did).status, 404);
  EXPECT_EQ(json::parse(Get("/" + did).body).at("message"),
            json::value("DID not registered: " + did));

  Status st = Submit(did, account_.genesis.op);
  ASSERT_TRUE(st.ok()) << st.error().ToString();
  // Percent-encoded DIDs (as @did-plc/lib's client sends them) name the same resource.
  auto doc = Get("/did%3Aplc%3A" + did.substr(8));
  ASSERT_EQ(doc.status, 200) << doc.body;
  EXPECT_EQ(doc.headers.Get("Content-Type").value_or(""), "application/did+ld+json; charset=utf-8");
  json::value d = json::parse(doc.body);
  EXPECT_EQ(d.at("id"), json::value(did));
  EXPECT_EQ(d.at("alsoKnownAs").at(0), json::value("at://alice.test"));
  EXPECT_EQ(d.at("verificationMethod").at(0).at("publicKeyMultibase"),
            json::value(account_.signing.public_key().Multikey()));

  auto data = json::parse(Get("/" + did + "/data").body);
  EXPECT_EQ(data, identity::PlcDocumentData(did, account_.genesis.op));
  auto log = json::parse(Get("/" + did + "/log").body);
  ASSERT_EQ(log.as_array().size(), 1u);
  EXPECT_EQ(log.at(0), identity::ToJson(account_.genesis.op));
  auto last = identity::ParsePlcOperationJson(Get("/" + did + "/log/last").body);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, account_.genesis.op);

  // A bad op: 400 with the reason in {"message"}.
  PlcOperation bad = account_.Update(account_.genesis.op, "x.test", account_.signing);
  auto resp = Post("/" + did, identity::ToJsonText(bad));
  EXPECT_EQ(resp.status, 400);
  EXPECT_NE(std::string(json::parse(resp.body).at("message").as_string()).find("signature"),
            std::string::npos)
      << resp.body;
  st = Submit(did, bad);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  for (std::string garbage : {"", "{", "[1,2]", "{\"type\":\"plc_operation\"}", "null"}) {
    resp = Post("/" + did, garbage);
    EXPECT_EQ(resp.status, 400) << garbage;
    EXPECT_TRUE(json::parse(resp.body).as_object().contains("message")) << resp.body;
  }
  EXPECT_EQ(Post("/" + did, std::string(64 * 1024, ' ')).status, 413);
  EXPECT_EQ(Get("/" + did + "/nope").status, 404);

  // Update, then tombstone: 410 for the document, the log stays readable.
  PlcOperation up = account_.Update(account_.genesis.op, "alice2.test", account_.weak);
  ASSERT_TRUE(Submit(did, up).ok());
  auto audit = json::parse(Get("/" + did + "/log/audit").body).as_array();
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[1].at("cid"), json::value(identity::PlcOperationCid(up).ToString()));
  EXPECT_EQ(audit[1].at("nullified"), json::value(false));
  EXPECT_TRUE(ParseRfc3339(std::string(audit[1].at("createdAt").as_string())).ok());
  EXPECT_EQ(audit[0].at("did"), json::value(did));
  PlcOperation tomb = identity::SignPlcOperation(identity::PlcTombstoneAfter(up), account_.strong);
  ASSERT_TRUE(Submit(did, tomb).ok());
  EXPECT_EQ(Get("/" + did).status, 410);
  EXPECT_EQ(Get("/" + did + "/data").status, 410);
  EXPECT_EQ(Get("/" + did + "/log/last").status, 200);
  auto exported = Get("/export?count=2");
  EXPECT_EQ(exported.status, 200);
  EXPECT_EQ(std::count(exported.body.begin(), exported.body.end(), '\n'), 1);
  EXPECT_EQ(Get("/export?count=zero").status, 400);
}

TEST_F(PlcServerTest, ResolverResolvesDidsFromIt) {
  const std::string& did = account_.genesis.did;
  ASSERT_TRUE(Submit(did, account_.genesis.op).ok());
  identity::ResolverOptions o;
  o.plc_url = base_;
  o.use_dns = false;
  o.handle_overrides[".test"] = base_;
  identity::Resolver resolver(o);
  auto id = resolver.ResolveBlocking(did);
  ASSERT_TRUE(id.ok()) << id.error().ToString();
  EXPECT_EQ(id->did, did);
  EXPECT_EQ(id->handle, "alice.test");
  EXPECT_EQ(id->pds_endpoint, "http://localhost:2583");
  EXPECT_EQ(id->signing_key, account_.signing.public_key().DidKey());
  auto by_handle = resolver.ResolveBlocking("alice.test");
  ASSERT_TRUE(by_handle.ok()) << by_handle.error().ToString();
  EXPECT_EQ(by_handle->did, did);

  // After a tombstone the DID no longer resolves.
  PlcOperation tomb =
      identity::SignPlcOperation(identity::PlcTombstoneAfter(account_.genesis.op), account_.weak);
  ASSERT_TRUE(Submit(did, tomb).ok());
  auto gone = resolver.ResolveBlocking(did, /*force_refresh=*/true);
  EXPECT_FALSE(gone.ok());
}

}  // namespace
}  // namespace atcr::pds
