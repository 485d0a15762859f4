#include "atcr/hold/service_auth.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>

#include <boost/json.hpp>

#include "atcr/base/encoding.h"
#include "atcr/crypto/jwt.h"
#include "test_util.h"

namespace atcr::hold {
namespace {

using crypto::KeyType;
using crypto::PrivateKey;
using testing::RunSync;

constexpr const char* kHold = "did:web:hold.example.com";
constexpr const char* kAlice = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
constexpr const char* kMethod = "io.atcr.hold.initiateUpload";
constexpr int64_t kNow = 1'700'000'000;

// DID documents served from memory. `next_key` becomes current only on a forced refresh, the
// way a cached document lags behind a key rotation.
struct FakeDirectory {
  std::mutex mu;
  std::map<std::string, std::string> cached;     // did -> did:key served without refresh
  std::map<std::string, std::string> published;  // did -> did:key after a refresh
  std::atomic<int> fetches{0};
  std::atomic<int> refreshes{0};

  void Set(const std::string& did, const PrivateKey& key) {
    std::lock_guard l(mu);
    cached[did] = published[did] = key.public_key().DidKey();
  }
  void Rotate(const std::string& did, const PrivateKey& key) {
    std::lock_guard l(mu);
    published[did] = key.public_key().DidKey();
  }
  DidDocumentSource Source() {
    return [this](std::string did, bool force) -> net::Task<Result<identity::DidDocument>> {
      ++fetches;
      if (force) ++refreshes;
      std::lock_guard l(mu);
      auto& table = force ? published : cached;
      auto it = table.find(did);
      if (it == table.end()) co_return NotFound("unknown DID " + did);
      if (force) cached[did] = it->second;
      identity::DidDocument doc;
      doc.did = did;
      doc.signing_key = it->second;
      co_return doc;
    };
  }
};

class ServiceAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Set(kAlice, alice_);
    ServiceAuthOptions o;
    o.audience = kHold;
    o.now = [this] { return now_.load(); };
    o.refresh_min_interval_seconds = 0;
    verifier_ = std::make_unique<ServiceAuthVerifier>(o, dir_.Source());
  }

  std::string Token(const PrivateKey& key, std::string iss = kAlice, std::string aud = kHold,
                    std::string lxm = kMethod, int64_t ttl = 60) {
    crypto::ServiceAuthRequest r;
    r.iss = std::move(iss);
    r.aud = std::move(aud);
    r.lxm = std::move(lxm);
    r.ttl_seconds = ttl;
    r.now = now_.load();
    return crypto::SignServiceAuthJwt(key, r);
  }

  Result<ServiceCaller> Verify(const std::string& token, std::string lxm = kMethod) {
    return RunSync(verifier_->Verify(token, std::move(lxm)));
  }

  static std::string Wire(const Result<ServiceCaller>& r) {
    return r.ok() ? std::string("ok") : r.error().wire;
  }

  PrivateKey alice_ = PrivateKey::Generate(KeyType::kK256);
  FakeDirectory dir_;
  std::atomic<int64_t> now_{kNow};
  std::unique_ptr<ServiceAuthVerifier> verifier_;
};

TEST_F(ServiceAuthTest, AcceptsEs256kToken) {
  auto r = Verify(Token(alice_));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->did, kAlice);
  EXPECT_EQ(r->lxm, kMethod);
  EXPECT_EQ(r->exp, kNow + 60);
  EXPECT_EQ(r->jti.size(), 32u);
}

TEST_F(ServiceAuthTest, AcceptsEs256Token) {
  PrivateKey p256 = PrivateKey::Generate(KeyType::kP256);
  dir_.Set("did:web:appview.example", p256);
  auto r = Verify(Token(p256, "did:web:appview.example"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->did, "did:web:appview.example");
}

TEST_F(ServiceAuthTest, AudienceWithServiceFragmentMatches) {
  EXPECT_EQ(Wire(Verify(Token(alice_, kAlice, std::string(kHold) + "#atcr_hold"))), "ok");
}

TEST_F(ServiceAuthTest, RejectsForgedSignature) {
  PrivateKey mallory = PrivateKey::Generate(KeyType::kK256);
  auto r = Verify(Token(mallory));
  EXPECT_EQ(Wire(r), "BadJwtSignature");
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
  // The failure triggered exactly one refresh of alice's document.
  EXPECT_EQ(dir_.refreshes.load(), 1);
}

TEST_F(ServiceAuthTest, RejectsTamperedClaims) {
  std::string token = Token(alice_);
  size_t d1 = token.find('.');
  size_t d2 = token.find('.', d1 + 1);
  auto claims = boost::json::parse(AsString(*Base64Decode(token.substr(d1 + 1, d2 - d1 - 1),
                                                          Base64Variant::kUrl)))
                    .as_object();
  claims["lxm"] = "io.atcr.hold.deleteUserData";
  std::string forged = token.substr(0, d1 + 1) +
                       Base64Encode(AsBytes(boost::json::serialize(claims)), Base64Variant::kUrl,
                                    false) +
                       token.substr(d2);
  EXPECT_EQ(Wire(Verify(forged, "io.atcr.hold.deleteUserData")), "BadJwtSignature");
}

TEST_F(ServiceAuthTest, RejectsExpiredToken) {
  std::string token = Token(alice_);
  now_ = kNow + 60 + 31;  // past exp plus the 30 s skew
  EXPECT_EQ(Wire(Verify(token)), "JwtExpired");
}

TEST_F(ServiceAuthTest, AcceptsWithinSkew) {
  std::string token = Token(alice_);
  now_ = kNow + 60 + 20;
  EXPECT_EQ(Wire(Verify(token)), "ok");
}

TEST_F(ServiceAuthTest, RejectsWrongAudience) {
  EXPECT_EQ(Wire(Verify(Token(alice_, kAlice, "did:web:other-hold.example"))), "BadJwtAudience");
  EXPECT_EQ(Wire(Verify(Token(alice_, kAlice, std::string(kHold) + "x"))), "BadJwtAudience");
}

TEST_F(ServiceAuthTest, RejectsWrongOrMissingLexiconMethod) {
  EXPECT_EQ(Wire(Verify(Token(alice_, kAlice, kHold, "io.atcr.hold.completeUpload"))),
            "BadJwtLexiconMethod");
  EXPECT_EQ(Wire(Verify(Token(alice_, kAlice, kHold, ""))), "BadJwtLexiconMethod");
}

TEST_F(ServiceAuthTest, RejectsReplayWhileAlive) {
  std::string token = Token(alice_);
  EXPECT_EQ(Wire(Verify(token)), "ok");
  auto again = Verify(token);
  EXPECT_EQ(Wire(again), "BadJwt");
  EXPECT_NE(again.error().message.find("replayed"), std::string::npos);
  EXPECT_EQ(verifier_->replay_cache_size(), 1u);
  // A fresh token (new jti) from the same account is fine.
  EXPECT_EQ(Wire(Verify(Token(alice_))), "ok");
}

TEST_F(ServiceAuthTest, ReuseIsAcceptedOnlyWhenConfigured) {
  ServiceAuthOptions o;
  o.audience = kHold;
  o.now = [this] { return now_.load(); };
  o.allow_reuse = true;
  verifier_ = std::make_unique<ServiceAuthVerifier>(o, dir_.Source());
  std::string token = Token(alice_);
  EXPECT_EQ(Wire(Verify(token)), "ok");
  EXPECT_EQ(Wire(Verify(token)), "ok");
  EXPECT_EQ(verifier_->replay_cache_size(), 0u);
  // Everything else is still checked: a wrong method, and the token once it has expired.
  EXPECT_EQ(Wire(Verify(Token(alice_, kAlice, kHold, "io.atcr.hold.completeUpload"))),
            "BadJwtLexiconMethod");
  now_ = kNow + 3600 * 2;
  EXPECT_NE(Wire(Verify(token)), "ok");
}

TEST_F(ServiceAuthTest, ForgedTokenDoesNotPoisonTheReplayCache) {
  PrivateKey mallory = PrivateKey::Generate(KeyType::kK256);
  EXPECT_EQ(Wire(Verify(Token(mallory))), "BadJwtSignature");
  EXPECT_EQ(verifier_->replay_cache_size(), 0u);
}

TEST_F(ServiceAuthTest, ReplayCacheForgetsExpiredTokensAndStaysBounded) {
  ServiceAuthOptions o;
  o.audience = kHold;
  o.now = [this] { return now_.load(); };
  o.replay_cache_capacity = 8;
  verifier_ = std::make_unique<ServiceAuthVerifier>(o, dir_.Source());
  for (int i = 0; i < 20; ++i) ASSERT_EQ(Wire(Verify(Token(alice_))), "ok");
  EXPECT_LE(verifier_->replay_cache_size(), 8u);
  now_ = kNow + 1000;
  ASSERT_EQ(Wire(Verify(Token(alice_))), "ok");
  EXPECT_EQ(verifier_->replay_cache_size(), 1u);
}

TEST_F(ServiceAuthTest, KeyRotationIsPickedUpWithOneRefresh) {
  PrivateKey rotated = PrivateKey::Generate(KeyType::kP256);
  dir_.Rotate(kAlice, rotated);
  auto r = Verify(Token(rotated));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(dir_.refreshes.load(), 1);
  // The refreshed document is now the cached one: no further refresh.
  ASSERT_EQ(Wire(Verify(Token(rotated))), "ok");
  EXPECT_EQ(dir_.refreshes.load(), 1);
  // The old key no longer verifies.
  EXPECT_EQ(Wire(Verify(Token(alice_))), "BadJwtSignature");
}

TEST_F(ServiceAuthTest, RefreshesAreRateLimitedPerIssuer) {
  ServiceAuthOptions o;
  o.audience = kHold;
  o.now = [this] { return now_.load(); };
  o.refresh_min_interval_seconds = 10;
  verifier_ = std::make_unique<ServiceAuthVerifier>(o, dir_.Source());
  PrivateKey mallory = PrivateKey::Generate(KeyType::kK256);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Wire(Verify(Token(mallory))), "BadJwtSignature");
  EXPECT_EQ(dir_.refreshes.load(), 1);
  now_ = kNow + 11;
  EXPECT_EQ(Wire(Verify(Token(mallory))), "BadJwtSignature");
  EXPECT_EQ(dir_.refreshes.load(), 2);
}

TEST_F(ServiceAuthTest, RejectsUnresolvableOrKeylessIssuer) {
  PrivateKey bob = PrivateKey::Generate(KeyType::kK256);
  EXPECT_EQ(Wire(Verify(Token(bob, "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"))), "BadJwtIss");
  EXPECT_EQ(Wire(Verify(Token(bob, "not-a-did"))), "BadJwtIss");
}

TEST_F(ServiceAuthTest, RejectsOverlongLifetime) {
  EXPECT_EQ(Wire(Verify(Token(alice_, kAlice, kHold, kMethod, 2 * 3600))), "BadJwt");
  EXPECT_EQ(Wire(Verify(Token(alice_, kAlice, kHold, kMethod, 3600))), "ok");
}

TEST_F(ServiceAuthTest, RejectsGarbageAndSessionTokens) {
  EXPECT_EQ(Wire(Verify("abc")), "BadJwt");
  EXPECT_EQ(Wire(Verify("a.b.c")), "BadJwt");
  boost::json::object claims{{"iss", kAlice}, {"aud", kHold}, {"lxm", kMethod},
                             {"exp", kNow + 60}, {"jti", "x"}};
  boost::json::object header{{"typ", "at+jwt"}};
  EXPECT_EQ(Wire(Verify(crypto::SignJwt(claims, alice_, header))), "BadJwtType");
}

TEST_F(ServiceAuthTest, MissingJtiOnlyWhenAllowed) {
  boost::json::object claims{{"iss", kAlice}, {"aud", kHold}, {"lxm", kMethod}, {"exp", kNow + 60}};
  std::string token = crypto::SignJwt(claims, alice_);
  EXPECT_EQ(Wire(Verify(token)), "ok");
  ServiceAuthOptions o;
  o.audience = kHold;
  o.now = [this] { return now_.load(); };
  o.require_jti = true;
  verifier_ = std::make_unique<ServiceAuthVerifier>(o, dir_.Source());
  EXPECT_EQ(Wire(Verify(token)), "BadJwt");
}

TEST_F(ServiceAuthTest, RequestWithoutBearerIsAuthRequired) {
  net::Request req;
  auto r = RunSync(verifier_->VerifyRequest(req, kMethod));
  EXPECT_EQ(Wire(r), "AuthRequired");
  req.headers.Set("Authorization", "Bearer " + Token(alice_));
  EXPECT_EQ(Wire(RunSync(verifier_->VerifyRequest(req, kMethod))), "ok");
}

}  // namespace
}  // namespace atcr::hold
