#include "atcr/crypto/jwt.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "atcr/base/time.h"

namespace atcr::crypto {
namespace {

namespace json = boost::json;

constexpr int64_t kNow = 1999999950;
constexpr const char* kAud = "did:web:hold.example#atcr_hold";
constexpr const char* kLxm = "io.atcr.hold.getUploadUrl";

// Tokens signed by an independent implementation (Python `cryptography`, s normalized low),
// with keys from the scalars 0x11..11 (P-256) and 0x22..22 (K-256). Claims: iss
// did:plc:abcdefghijklmnopqrstuvwx, aud kAud, exp 2000000000, iat 1999999940, lxm kLxm.
constexpr const char* kEs256Token =
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJkaWQ6cGxjOmFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eCIsImF1ZCI6ImRpZDp3ZWI6aG9sZC5leGFtcGxlI2F0Y3JfaG9sZCIsImV4cCI6MjAwMDAwMDAwMCwiaWF0IjoxOTk5OTk5OTQwLCJseG0iOiJpby5hdGNyLmhvbGQuZ2V0VXBsb2FkVXJsIiwianRpIjoiMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYifQ."
    "KlRtPzJisnISTu2KPjIU6Xr_fQ5I-DTh6KA_D39tTENvXJRhaJT_5Pnw-lU1LGiDc4f_W5jKF9XrQDwD-kpB_g";
constexpr const char* kEs256kToken =
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NksifQ."
    "eyJpc3MiOiJkaWQ6cGxjOmFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eCIsImF1ZCI6ImRpZDp3ZWI6aG9sZC5leGFtcGxlI2F0Y3JfaG9sZCIsImV4cCI6MjAwMDAwMDAwMCwiaWF0IjoxOTk5OTk5OTQwLCJseG0iOiJpby5hdGNyLmhvbGQuZ2V0VXBsb2FkVXJsIiwianRpIjoiMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYifQ."
    "PSGZGRbIAE8ZkBKNLYtd4QX-Nbi9meAVM23tsNSvOeEGFc51tR5P9_ISrQsYm8Cmb_8WcPaJ1bGHSCBrLiOUbQ";

PrivateKey FixedKey(KeyType t) {
  auto k = PrivateKey::FromHex(t, std::string(64, t == KeyType::kP256 ? '1' : '2'));
  EXPECT_TRUE(k.ok());
  return std::move(k).value();
}

JwtVerifyOptions Options() {
  JwtVerifyOptions o;
  o.audience = kAud;
  o.lxm = kLxm;
  o.now = kNow;
  return o;
}

void ExpectWire(const Status& s, const char* wire) {
  ASSERT_FALSE(s.ok()) << "expected " << wire;
  EXPECT_EQ(s.error().wire, wire) << s.error().message;
  EXPECT_EQ(s.error().code, ErrorCode::kUnauthenticated);
}

void ExpectWire(const Result<Jwt>& r, const char* wire) {
  ASSERT_FALSE(r.ok()) << "expected " << wire;
  EXPECT_EQ(r.error().wire, wire) << r.error().message;
}

TEST(Jwt, VerifiesIndependentlySignedTokens) {
  for (auto [token, type] : {std::pair{kEs256Token, KeyType::kP256},
                             std::pair{kEs256kToken, KeyType::kK256}}) {
    auto jwt = VerifyJwt(token, FixedKey(type).public_key(), Options());
    ASSERT_TRUE(jwt.ok()) << jwt.error().message;
    EXPECT_EQ(jwt->iss(), "did:plc:abcdefghijklmnopqrstuvwx");
    EXPECT_EQ(jwt->issuer_did(), "did:plc:abcdefghijklmnopqrstuvwx");
    EXPECT_EQ(jwt->aud(), kAud);
    EXPECT_EQ(jwt->lxm(), kLxm);
    EXPECT_EQ(jwt->exp(), 2000000000);
    EXPECT_EQ(jwt->iat(), 1999999940);
    EXPECT_EQ(jwt->jti(), "0123456789abcdef0123456789abcdef");
    EXPECT_EQ(jwt->typ(), "JWT");
    EXPECT_EQ(jwt->alg(), JwtAlgorithm(type));
    // The other curve's key fails on alg before any math.
    KeyType other = type == KeyType::kP256 ? KeyType::kK256 : KeyType::kP256;
    ExpectWire(VerifyJwt(token, FixedKey(other).public_key(), Options()), "BadJwtSignature");
  }
}

TEST(Jwt, SignThenVerifyBothCurves) {
  for (KeyType t : {KeyType::kK256, KeyType::kP256}) {
    PrivateKey key = PrivateKey::Generate(t);
    std::string token = SignServiceAuthJwt(
        key, {.iss = "did:plc:abc", .aud = kAud, .lxm = kLxm, .ttl_seconds = 60, .now = kNow});
    auto jwt = VerifyJwt(token, key.public_key(), Options());
    ASSERT_TRUE(jwt.ok()) << jwt.error().message;
    EXPECT_EQ(jwt->exp(), kNow + 60);
    EXPECT_EQ(jwt->iat(), kNow);
    EXPECT_EQ(jwt->jti().size(), 32u);
    EXPECT_EQ(jwt->signature().size(), 64u);
    ExpectWire(VerifyJwt(token, PrivateKey::Generate(t).public_key(), Options()),
               "BadJwtSignature");
  }
}

TEST(Jwt, RealClockIsUsedWithoutOverride) {
  PrivateKey key = PrivateKey::Generate(KeyType::kK256);
  std::string token = SignServiceAuthJwt(key, {.iss = "did:plc:abc", .aud = kAud, .lxm = kLxm});
  JwtVerifyOptions o = Options();
  o.now.reset();
  EXPECT_TRUE(VerifyJwt(token, key.public_key(), o).ok());
  // kEs256Token expires in 2033; with the real clock it is valid today, and clearly expired
  // when the clock is moved past exp + skew.
  o.now = 2000000000 + 31;
  ExpectWire(VerifyJwt(kEs256Token, FixedKey(KeyType::kP256).public_key(), o), "JwtExpired");
  o.now = 2000000000 + 30;
  EXPECT_TRUE(VerifyJwt(kEs256Token, FixedKey(KeyType::kP256).public_key(), o).ok());
}

TEST(Jwt, TimeClaims) {
  PrivateKey key = FixedKey(KeyType::kK256);
  auto sign = [&](json::object claims) { return SignJwt(claims, key); };
  JwtVerifyOptions o;
  o.now = kNow;
  o.clock_skew_seconds = 0;
  ExpectWire(VerifyJwt(sign({{"exp", kNow - 1}}), key.public_key(), o), "JwtExpired");
  EXPECT_TRUE(VerifyJwt(sign({{"exp", kNow}}), key.public_key(), o).ok());
  ExpectWire(VerifyJwt(sign({}), key.public_key(), o), "BadJwt");  // no exp
  o.require_exp = false;
  EXPECT_TRUE(VerifyJwt(sign({}), key.public_key(), o).ok());
  ExpectWire(VerifyJwt(sign({{"exp", "soon"}}), key.public_key(), o), "BadJwt");
  ExpectWire(VerifyJwt(sign({{"exp", kNow + 60}, {"iat", kNow + 10}}), key.public_key(), o),
             "BadJwt");
  ExpectWire(VerifyJwt(sign({{"exp", kNow + 60}, {"nbf", kNow + 10}}), key.public_key(), o),
             "BadJwt");
  o.clock_skew_seconds = 10;
  EXPECT_TRUE(
      VerifyJwt(sign({{"exp", kNow + 60}, {"iat", kNow + 10}}), key.public_key(), o).ok());
  EXPECT_TRUE(VerifyJwt(sign({{"exp", kNow - 10}}), key.public_key(), o).ok());
}

TEST(Jwt, AudienceMatchesWithOrWithoutFragment) {
  PrivateKey key = FixedKey(KeyType::kK256);
  auto check = [&](const char* token_aud, const char* expected) {
    std::string token = SignJwt({{"exp", kNow + 60}, {"aud", token_aud}}, key);
    JwtVerifyOptions o;
    o.now = kNow;
    o.audience = expected;
    return VerifyJwt(token, key.public_key(), o);
  };
  EXPECT_TRUE(check("did:web:hold.example#atcr_hold", "did:web:hold.example#atcr_hold").ok());
  EXPECT_TRUE(check("did:web:hold.example", "did:web:hold.example#atcr_hold").ok());
  EXPECT_TRUE(check("did:web:hold.example#atcr_hold", "did:web:hold.example").ok());
  ExpectWire(check("did:web:hold.example#other", "did:web:hold.example#atcr_hold"),
             "BadJwtAudience");
  ExpectWire(check("did:web:evil.example", "did:web:hold.example"), "BadJwtAudience");
  ExpectWire(check("did:web:hold.example.evil", "did:web:hold.example"), "BadJwtAudience");
  ExpectWire(check("#atcr_hold", "#atcr_hold2"), "BadJwtAudience");
  std::string no_aud = SignJwt({{"exp", kNow + 60}}, key);
  JwtVerifyOptions o;
  o.now = kNow;
  o.audience = kAud;
  ExpectWire(VerifyJwt(no_aud, key.public_key(), o), "BadJwtAudience");
}

TEST(Jwt, LexiconMethod) {
  PrivateKey key = FixedKey(KeyType::kK256);
  JwtVerifyOptions o = Options();
  std::string other = SignJwt({{"exp", kNow + 60}, {"aud", kAud}, {"lxm", "io.atcr.hold.other"}}, key);
  ExpectWire(VerifyJwt(other, key.public_key(), o), "BadJwtLexiconMethod");
  std::string none = SignJwt({{"exp", kNow + 60}, {"aud", kAud}}, key);
  ExpectWire(VerifyJwt(none, key.public_key(), o), "BadJwtLexiconMethod");
  o.lxm.clear();
  EXPECT_TRUE(VerifyJwt(none, key.public_key(), o).ok());
  EXPECT_TRUE(VerifyJwt(other, key.public_key(), o).ok());
}

TEST(Jwt, RejectsTokensOfAnotherType) {
  PrivateKey key = FixedKey(KeyType::kK256);
  for (const char* typ : {"at+jwt", "refresh+jwt", "dpop+jwt"}) {
    std::string token = SignJwt({{"exp", kNow + 60}}, key, {{"typ", typ}});
    JwtVerifyOptions o;
    o.now = kNow;
    auto parsed = ParseJwt(token);  // parsing alone does not judge the type
    ASSERT_TRUE(parsed.ok());
    ExpectWire(VerifyJwt(*parsed, key.public_key(), o), "BadJwtType");
  }
  std::string with_kid = SignJwt({{"exp", kNow + 60}}, key, {{"kid", "#atproto"}});
  auto jwt = ParseJwt(with_kid);
  ASSERT_TRUE(jwt.ok());
  EXPECT_EQ(jwt->kid(), "#atproto");
  EXPECT_EQ(jwt->typ(), "JWT");
}

TEST(Jwt, RejectsTamperingAndNonCompactSignatures) {
  PrivateKey key = FixedKey(KeyType::kP256);
  JwtVerifyOptions o = Options();
  std::string token = kEs256Token;
  // Change one claim byte: signature no longer matches.
  std::string tampered = token;
  size_t dot = tampered.find('.');
  tampered[dot + 5] = tampered[dot + 5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(VerifyJwt(tampered, key.public_key(), o).ok());
  // alg "none" with the signature dropped.
  std::string header_none = Base64Encode(AsBytes(R"({"alg":"none","typ":"JWT"})"),
                                         Base64Variant::kUrl, false);
  std::string payload = token.substr(dot + 1, token.rfind('.') - dot - 1);
  ExpectWire(VerifyJwt(header_none + "." + payload + ".", key.public_key(), o), "BadJwt");
  // A DER signature over the same input.
  std::string der_sig =
      Base64Encode(Bytes(70, 0x30), Base64Variant::kUrl, false);
  std::string der = token.substr(0, token.rfind('.') + 1) + der_sig;
  ExpectWire(VerifyJwt(der, key.public_key(), o), "BadJwtSignature");
}

TEST(Jwt, HighSSignatureIsRejected) {
  PrivateKey key = FixedKey(KeyType::kK256);
  std::string token = kEs256kToken;
  auto jwt = ParseJwt(token);
  ASSERT_TRUE(jwt.ok());
  // s -> n - s over secp256k1's order.
  Bytes sig = jwt->signature();
  auto n = HexDecode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
  ASSERT_TRUE(n.ok());
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = (*n)[i] - sig[32 + i] - borrow;
    borrow = d < 0;
    sig[32 + i] = static_cast<uint8_t>(d + (borrow ? 256 : 0));
  }
  std::string high = token.substr(0, token.rfind('.') + 1) +
                     Base64Encode(sig, Base64Variant::kUrl, false);
  auto r = VerifyJwt(high, key.public_key(), Options());
  ExpectWire(r, "BadJwtSignature");
  EXPECT_NE(r.error().message.find("high-S"), std::string::npos);
}

TEST(Jwt, ParseRejectsMalformedTokens) {
  std::string token = kEs256kToken;
  for (const std::string& bad : {
           std::string(""),
           std::string("abc"),
           std::string("a.b"),
           token + ".extra",
           std::string(".."),
           token.substr(0, token.find('.')) + "=." + token.substr(token.find('.') + 1),
           std::string("e30.W10.AA"),   // payload is [] (not an object)
           std::string("bm90anNvbg.e30.AA"),  // header is not JSON
           std::string("e30.e30.A"),   // bad base64 length
           std::string("e30.e30.AA+/"),  // standard alphabet, not URL-safe
       }) {
    EXPECT_FALSE(ParseJwt(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParseJwt(std::string(kMaxJwtSize + 1, 'a')).ok());
  std::string deep = Base64Encode(AsBytes(std::string(100, '[') + std::string(100, ']')),
                                  Base64Variant::kUrl, false);
  EXPECT_FALSE(ParseJwt("e30." + deep + ".AA").ok());
}

TEST(Jwk, IndependentlyComputedCoordinatesAndThumbprints) {
  PrivateKey p = FixedKey(KeyType::kP256);
  json::object jwk = PublicKeyToJwk(p.public_key());
  EXPECT_EQ(jwk.at("kty"), "EC");
  EXPECT_EQ(jwk.at("crv"), "P-256");
  EXPECT_EQ(jwk.at("x"), "AhfmF_C2RDkoJ4-WmZ5pojpPLBUr321s32bluAKC1O0");
  EXPECT_EQ(jwk.at("y"), "GUp968uXcS0t2jyoWqh2Wlb0X8dYWZZS8ol8ZTBuV5Q");
  EXPECT_EQ(JwkThumbprint(p.public_key()), "OEurnbzOGbRad4qOD9lNK8VYMQGvg5cmLnVKeydAqL4");
  PrivateKey k = FixedKey(KeyType::kK256);
  json::object kjwk = PublicKeyToJwk(k.public_key());
  EXPECT_EQ(kjwk.at("crv"), "secp256k1");
  EXPECT_EQ(kjwk.at("x"), "Rm1_yuVj5csJoNGHC7WANEgEYXh5oUlJzyIoXxuuPyc");
  EXPECT_EQ(kjwk.at("y"), "ZygXbDxkMfju2kU43DfIZeJ4Tzqed9BE8z5Ad5fhJ4o");
  EXPECT_EQ(JwkThumbprint(k.public_key()), "tUjNtvo0m1_8chg1bBe-JX1QmeKl4sVBmFNmjJdbNQQ");
  for (const json::object& j : {jwk, kjwk}) {
    auto back = PublicKeyFromJwk(j);
    ASSERT_TRUE(back.ok()) << back.error().message;
  }
  EXPECT_EQ(*PublicKeyFromJwk(jwk), p.public_key());
  EXPECT_EQ(*PublicKeyFromJwk(kjwk), k.public_key());
}

TEST(Jwk, RejectsBadJwks) {
  json::object good = PublicKeyToJwk(FixedKey(KeyType::kP256).public_key());
  json::object bad = good;
  bad["kty"] = "RSA";
  EXPECT_FALSE(PublicKeyFromJwk(bad).ok());
  bad = good;
  bad["crv"] = "P-384";
  EXPECT_FALSE(PublicKeyFromJwk(bad).ok());
  bad = good;
  bad["y"] = good["x"];  // off the curve
  EXPECT_FALSE(PublicKeyFromJwk(bad).ok());
  bad = good;
  bad.erase("x");
  EXPECT_FALSE(PublicKeyFromJwk(bad).ok());
  bad = good;
  bad["x"] = 5;
  EXPECT_FALSE(PublicKeyFromJwk(bad).ok());
}

}  // namespace
}  // namespace atcr::crypto
