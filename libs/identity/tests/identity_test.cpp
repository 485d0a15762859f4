#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <atomic>

#include "atcr/crypto/keys.h"
#include "atcr/identity/did_document.h"
#include "atcr/identity/resolver.h"
#include "atcr/net/server.h"

namespace atcr::identity {
namespace {

std::string ModernDoc(const std::string& did, const std::string& handle,
                      const std::string& multikey, const std::string& pds) {
  return R"({"@context":["https://www.w3.org/ns/did/v1"],"id":")" + did +
         R"(","alsoKnownAs":["at://)" + handle +
         R"("],"verificationMethod":[{"id":")" + did +
         R"(#atproto","type":"Multikey","controller":")" + did +
         R"(","publicKeyMultibase":")" + multikey +
         R"("}],"service":[{"id":"#atproto_pds","type":"AtprotoPersonalDataServer","serviceEndpoint":")" +
         pds + R"("},{"id":"#atcr_hold","type":"AtcrHoldService","serviceEndpoint":"http://hold.test"}]})";
}

TEST(DidDocument, ParsesModernMultikeyDocument) {
  auto key = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
  std::string did = "did:plc:7iza6de2dwap2sbkpav7c6c6";
  auto doc = ParseDidDocument(
      ModernDoc(did, "Alice.Test", key.public_key().Multikey(), "http://localhost:2583"), did);
  ASSERT_TRUE(doc.ok()) << doc.error().ToString();
  EXPECT_EQ(doc->handle, "alice.test");
  EXPECT_EQ(doc->signing_key, key.public_key().DidKey());
  EXPECT_EQ(doc->pds_endpoint, "http://localhost:2583");
  EXPECT_EQ(doc->ServiceEndpoint("atcr_hold").value_or(""), "http://hold.test");
  EXPECT_FALSE(doc->ServiceEndpoint("nope").has_value());
}

TEST(DidDocument, ParsesLegacyUncompressedKey) {
  auto key = crypto::PrivateKey::Generate(crypto::KeyType::kP256);
  Bytes raw = key.public_key().Uncompressed();
  std::string did = "did:plc:7iza6de2dwap2sbkpav7c6c6";
  std::string text = R"({"id":")" + did +
                     R"(","verificationMethod":[{"id":"#atproto","type":"EcdsaSecp256r1VerificationKey2019","controller":")" +
                     did + R"(","publicKeyMultibase":"z)" + Base58Encode(raw) + R"("}]})";
  auto doc = ParseDidDocument(text, did);
  ASSERT_TRUE(doc.ok()) << doc.error().ToString();
  EXPECT_EQ(doc->signing_key, key.public_key().DidKey());
  EXPECT_TRUE(doc->handle.empty());
  EXPECT_TRUE(doc->pds_endpoint.empty());
}

TEST(DidDocument, RejectsMismatchedIdAndGarbage) {
  auto key = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
  std::string text = ModernDoc("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "a.test",
                               key.public_key().Multikey(), "http://x");
  EXPECT_FALSE(ParseDidDocument(text, "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb").ok());
  EXPECT_FALSE(ParseDidDocument("{", "").ok());
  EXPECT_FALSE(ParseDidDocument("[]", "").ok());
  EXPECT_FALSE(ParseDidDocument(R"({"id":"not a did"})", "").ok());
  EXPECT_FALSE(ParseDidDocument(std::string(70 * 1024, ' '), "").ok());
  // A broken key is an error, not a silently keyless document.
  std::string bad = ModernDoc("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "a.test", "zNotAKey",
                              "http://x");
  EXPECT_FALSE(ParseDidDocument(bad, "").ok());
}

TEST(DidWeb, UrlsForProductionAndDevelopmentHosts) {
  EXPECT_EQ(DidWebDocumentUrl("did:web:hold01.atcr.io", true).value(),
            "https://hold01.atcr.io/.well-known/did.json");
  EXPECT_EQ(DidWebDocumentUrl("did:web:localhost%3A8080", true).value(),
            "http://localhost:8080/.well-known/did.json");
  EXPECT_FALSE(DidWebDocumentUrl("did:web:example.com%3A8080", true).ok());
  EXPECT_FALSE(DidWebDocumentUrl("did:web:example.com:path", true).ok());
  EXPECT_FALSE(DidWebDocumentUrl("did:plc:abc", true).ok());
  EXPECT_EQ(DidWebFromUrl("http://localhost:8080").value(), "did:web:localhost%3A8080");
  EXPECT_EQ(DidWebFromUrl("https://hold.example.com/").value(), "did:web:hold.example.com");
  EXPECT_FALSE(DidWebFromUrl("https://hold.example.com/x").ok());
  EXPECT_FALSE(DidWebFromUrl("ftp://x").ok());
}

// A tiny PLC directory + PDS well-known endpoint on one real server.
class ResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    did_ = "did:plc:7iza6de2dwap2sbkpav7c6c6";
    key_ = crypto::PrivateKey::Generate(crypto::KeyType::kK256).public_key().Multikey();
    net::Router router;
    router.AddPrefix("/did:plc:", [this](net::Request& req) -> net::Task<net::Response> {
      ++plc_hits_;
      std::string did = req.path.substr(1);
      if (did != did_) co_return net::Response::Text(404, "not found");
      co_return net::Response::Json(200, ModernDoc(did_, claimed_handle_, key_, "http://pds.test"));
    });
    router.Add(net::Method::kGet, "/.well-known/atproto-did",
               [this](net::Request& req) -> net::Task<net::Response> {
                 auto host = req.headers.Get("Host");
                 if (host && host->starts_with("alice.test")) co_return net::Response::Text(200, did_ + "\n");
                 co_return net::Response::Text(404, "no such handle");
               });
    server_ = std::make_unique<net::Server>(net::ServerOptions{.threads = 1, .access_log = false},
                                            std::move(router));
    ASSERT_TRUE(server_->Start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override { server_->Stop(); }

  ResolverOptions Options() {
    ResolverOptions o;
    o.plc_url = base_;
    o.use_dns = false;
    o.handle_overrides[".test"] = base_;
    return o;
  }

  std::string did_;
  std::string key_;
  std::string claimed_handle_ = "alice.test";
  std::atomic<int> plc_hits_{0};
  std::unique_ptr<net::Server> server_;
  std::string base_;
};

TEST_F(ResolverTest, ResolvesHandleBothWaysAndCaches) {
  Resolver r(Options());
  auto id = r.ResolveBlocking("Alice.Test");
  ASSERT_TRUE(id.ok()) << id.error().ToString();
  EXPECT_EQ(id->did, did_);
  EXPECT_EQ(id->handle, "alice.test");
  EXPECT_EQ(id->pds_endpoint, "http://pds.test");
  EXPECT_EQ(id->signing_key, "did:key:" + key_);
  int hits = plc_hits_;
  ASSERT_TRUE(r.ResolveBlocking(did_).ok());
  EXPECT_EQ(plc_hits_, hits) << "a cached document must not be fetched again";
  ASSERT_TRUE(r.ResolveBlocking(did_, /*force_refresh=*/true).ok());
  EXPECT_EQ(plc_hits_, hits + 1);
}

TEST_F(ResolverTest, HandleNotClaimedBackIsRejected) {
  claimed_handle_ = "mallory.test";
  Resolver r(Options());
  auto id = r.ResolveBlocking("alice.test");
  EXPECT_FALSE(id.ok());
  // Resolving the DID still works; its handle is then marked invalid.
  auto by_did = r.ResolveBlocking(did_);
  ASSERT_TRUE(by_did.ok()) << by_did.error().ToString();
  EXPECT_EQ(by_did->handle, "handle.invalid");
}

TEST_F(ResolverTest, UnknownDidAndHandleFail) {
  Resolver r(Options());
  EXPECT_EQ(r.ResolveBlocking("did:plc:zzzzzzzzzzzzzzzzzzzzzzzz").error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(r.ResolveBlocking("bob.test").ok());
  EXPECT_FALSE(r.ResolveBlocking("not a handle").ok());
  EXPECT_FALSE(r.ResolveBlocking("did:foo:bar").ok());
}

TEST(Resolver, TimesOutOnASilentPeer) {
  // A listening socket that never answers: resolution must fail within the timeout.
  net::Router router;
  router.AddPrefix("/", [](net::Request&) -> net::Task<net::Response> {
    co_await net::RunBlocking([] { std::this_thread::sleep_for(std::chrono::seconds(3)); });
    co_return net::Response::Text(200, "late");
  });
  net::Server server(net::ServerOptions{.threads = 1, .access_log = false}, std::move(router));
  ASSERT_TRUE(server.Start().ok());
  ResolverOptions o;
  o.plc_url = "http://127.0.0.1:" + std::to_string(server.port());
  o.timeout = std::chrono::milliseconds(300);
  Resolver r(o);
  auto start = std::chrono::steady_clock::now();
  auto res = r.ResolveBlocking("did:plc:7iza6de2dwap2sbkpav7c6c6");
  EXPECT_FALSE(res.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  server.Stop();
}

}  // namespace
}  // namespace atcr::identity
