#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "atcr/base/encoding.h"
#include "atcr/crypto/jwt.h"
#include "atcr/crypto/keys.h"
#include "internal/account_session_jwt.h"

namespace atcr::pds::internal {
namespace {

const std::string kSecret = "jwt-secret";
const std::string kDid = "did:plc:abcdefghijklmnopqrstuvwx";
const std::string kAud = "did:web:localhost";

SessionVerifyOptions AccessOpts(int64_t now) {
  SessionVerifyOptions o;
  o.typ = kAccessTyp;
  o.audience = kAud;
  o.scopes = {SessionScope::kAccess, SessionScope::kAppPassPrivileged, SessionScope::kAppPass};
  o.now = now;
  return o;
}

// base64url(JSON) of a hand-written object, for tokens with chosen claims.
std::string Seg(std::string_view json) {
  return Base64Encode(AsBytes(json), Base64Variant::kUrl, false);
}
std::string HsToken(std::string_view header, std::string_view claims,
                    std::string_view secret = kSecret) {
  std::string input = Seg(header) + "." + Seg(claims);
  Bytes mac = HmacSha256(AsBytes(secret), AsBytes(input));
  return input + "." + Base64Encode(mac, Base64Variant::kUrl, false);
}

TEST(SessionJwt, AccessTokenIsByteIdenticalToTheReferenceShape) {
  // Produced by node's crypto.createHmac over the reference PDS's header/claim order.
  const std::string expected =
      "eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJIUzI1NiJ9."
      "eyJzY29wZSI6ImNvbS5hdHByb3RvLmFjY2VzcyIsImF1ZCI6ImRpZDp3ZWI6bG9jYWxob3N0Iiwic3ViIjoiZGlk"
      "OnBsYzphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3giLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwNzIwMH0."
      "bFMgWlkQ9zz4AdvcLE72DKX0eg4wvR-qlhAwE09B8s4";
  EXPECT_EQ(SignAccessJwt(AsBytes(kSecret), kDid, kAud, SessionScope::kAccess, 1700000000,
                          1700007200),
            expected);
}

TEST(SessionJwt, AccessRoundTrip) {
  std::string t = SignAccessJwt(AsBytes(kSecret), kDid, kAud, SessionScope::kAppPass, 1000, 2000);
  auto c = VerifySessionJwt(t, AsBytes(kSecret), AccessOpts(1500));
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->sub, kDid);
  EXPECT_EQ(c->aud, kAud);
  EXPECT_EQ(c->scope, SessionScope::kAppPass);
  EXPECT_EQ(c->iat, 1000);
  EXPECT_EQ(c->exp, 2000);
  EXPECT_TRUE(c->jti.empty());
}

TEST(SessionJwt, RefreshCarriesJtiAndTyp) {
  std::string t = SignRefreshJwt(AsBytes(kSecret), kDid, kAud, "the-jti", 1000, 2000);
  size_t dot = t.find('.');
  auto header = Base64Decode(t.substr(0, dot), Base64Variant::kUrl);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(AsString(*header), R"({"typ":"refresh+jwt","alg":"HS256"})");
  SessionVerifyOptions o = AccessOpts(1500);
  o.typ = kRefreshTyp;
  o.scopes = {SessionScope::kRefresh};
  auto c = VerifySessionJwt(t, AsBytes(kSecret), o);
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->jti, "the-jti");
  EXPECT_EQ(c->scope, SessionScope::kRefresh);
}

TEST(SessionJwt, ExpiredIsExpiredTokenUnlessAllowed) {
  std::string t = SignAccessJwt(AsBytes(kSecret), kDid, kAud, SessionScope::kAccess, 1000, 2000);
  auto c = VerifySessionJwt(t, AsBytes(kSecret), AccessOpts(2000));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().wire, "ExpiredToken");
  EXPECT_EQ(c.error().message, "Token has expired");
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);  // 400, like the reference
  SessionVerifyOptions o = AccessOpts(5000);
  o.allow_expired = true;
  EXPECT_TRUE(VerifySessionJwt(t, AsBytes(kSecret), o).ok());
}

TEST(SessionJwt, ForgedOrTamperedIsInvalidTokenEvenWhenExpired) {
  std::string t = SignAccessJwt(AsBytes("other-secret"), kDid, kAud, SessionScope::kAccess, 1, 2);
  auto c = VerifySessionJwt(t, AsBytes(kSecret), AccessOpts(1000));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().wire, "InvalidToken");
  EXPECT_EQ(c.error().message, "Token could not be verified");

  std::string good =
      SignAccessJwt(AsBytes(kSecret), kDid, kAud, SessionScope::kAccess, 1000, 2000);
  size_t d1 = good.find('.'), d2 = good.rfind('.');
  std::string other_claims = Seg(R"({"scope":"com.atproto.access","aud":"did:web:localhost",)"
                                 R"("sub":"did:plc:zzzzzzzzzzzzzzzzzzzzzzzz","iat":1000,"exp":2000})");
  std::string tampered = good.substr(0, d1 + 1) + other_claims + good.substr(d2);
  EXPECT_EQ(VerifySessionJwt(tampered, AsBytes(kSecret), AccessOpts(1500)).error().wire,
            "InvalidToken");
  for (std::string bad : {std::string(""), std::string("a.b"), std::string("a.b.c.d"),
                          good + "x", good.substr(0, d2 + 1)}) {
    auto r = VerifySessionJwt(bad, AsBytes(kSecret), AccessOpts(1500));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().wire, "InvalidToken") << bad;
  }
}

TEST(SessionJwt, RejectsOtherAlgorithmsAndServiceTokens) {
  // alg none, an HS512 header, and an ES256K service-auth token are all "could not be verified".
  std::string none = Seg(R"({"alg":"none"})") + "." +
                     Seg(R"({"scope":"com.atproto.access","aud":"did:web:localhost","sub":"did:plc:abcdefghijklmnopqrstuvwx","exp":9999})") +
                     ".";
  EXPECT_EQ(VerifySessionJwt(none, AsBytes(kSecret), AccessOpts(1)).error().wire, "InvalidToken");
  std::string hs512 = HsToken(R"({"typ":"at+jwt","alg":"HS512"})",
                              R"({"scope":"com.atproto.access","aud":"did:web:localhost","sub":"did:plc:abcdefghijklmnopqrstuvwx","exp":9999})");
  EXPECT_EQ(VerifySessionJwt(hs512, AsBytes(kSecret), AccessOpts(1)).error().wire,
            "InvalidToken");
  auto key = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
  std::string service = crypto::SignServiceAuthJwt(key, {.iss = kDid, .aud = kAud, .lxm = "a.b.c"});
  EXPECT_EQ(VerifySessionJwt(service, AsBytes(kSecret), AccessOpts(1)).error().wire,
            "InvalidToken");
}

TEST(SessionJwt, ReferenceClaimChecks) {
  const std::string h = R"({"typ":"at+jwt","alg":"HS256"})";
  struct Case {
    std::string header;
    std::string claims;
    std::string message;
  };
  std::vector<Case> cases = {
      {h, R"({"scope":"com.atproto.access","aud":"did:web:other","sub":"did:plc:abcdefghijklmnopqrstuvwx","exp":9999})",
       "Token could not be verified"},
      {h, R"({"scope":"com.atproto.access","aud":"did:web:localhost","sub":"did:plc:abcdefghijklmnopqrstuvwx"})",
       "Token could not be verified"},
      {h, R"({"scope":"com.atproto.access","aud":"did:web:localhost","sub":"did:plc:abcdefghijklmnopqrstuvwx","exp":"9999"})",
       "Token could not be verified"},
      {R"({"typ":"refresh+jwt","alg":"HS256"})",
       R"({"scope":"com.atproto.access","aud":"did:web:localhost","sub":"did:plc:abcdefghijklmnopqrstuvwx","exp":9999})",
       "Invalid token type"},
      {h, R"({"scope":"com.atproto.access","aud":"did:web:localhost","sub":"did:plc:abcdefghijklmnopqrstuvwx","exp":9999,"lxm":"a.b.c"})",
       "Malformed token"},
      {h, R"({"scope":"com.atproto.access","aud":"did:web:localhost","sub":"alice","exp":9999})",
       "Malformed token"},
      {h, R"({"scope":"com.atproto.refresh","aud":"did:web:localhost","sub":"did:plc:abcdefghijklmnopqrstuvwx","exp":9999})",
       "Bad token scope"},
      {h, R"({"scope":"com.atproto.takendown","aud":"did:web:localhost","sub":"did:plc:abcdefghijklmnopqrstuvwx","exp":9999})",
       "Bad token scope"},
      {h, R"({"aud":"did:web:localhost","sub":"did:plc:abcdefghijklmnopqrstuvwx","exp":9999})",
       "Bad token scope"},
  };
  for (const auto& c : cases) {
    auto r = VerifySessionJwt(HsToken(c.header, c.claims), AsBytes(kSecret), AccessOpts(100));
    ASSERT_FALSE(r.ok()) << c.claims;
    EXPECT_EQ(r.error().wire, "InvalidToken") << c.claims;
    EXPECT_EQ(r.error().message, c.message) << c.claims;
  }
  // A token without typ is accepted (the reference tolerates it).
  auto ok = VerifySessionJwt(
      HsToken(R"({"alg":"HS256"})",
              R"({"scope":"com.atproto.access","aud":"did:web:localhost","sub":"did:plc:abcdefghijklmnopqrstuvwx","exp":9999})"),
      AsBytes(kSecret), AccessOpts(100));
  EXPECT_TRUE(ok.ok()) << ok.error().ToString();
}

TEST(SessionJwt, ScopeNamesRoundTrip) {
  for (SessionScope s : {SessionScope::kAccess, SessionScope::kAppPass,
                         SessionScope::kAppPassPrivileged, SessionScope::kRefresh,
                         SessionScope::kTakendown, SessionScope::kSignupQueued}) {
    EXPECT_EQ(ParseSessionScope(SessionScopeName(s)), s);
  }
  EXPECT_FALSE(ParseSessionScope("atproto").has_value());
}

TEST(SessionJwt, RefreshTokenIdsAreUniqueBase64) {
  std::string a = NewRefreshTokenId(), b = NewRefreshTokenId();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 43u);  // 32 bytes, unpadded
  EXPECT_TRUE(Base64Decode(a).ok());
}

}  // namespace
}  // namespace atcr::pds::internal
