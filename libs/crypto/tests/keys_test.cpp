#include "atcr/crypto/keys.h"

#include <gtest/gtest.h>

#include "atcr/testing/interop.h"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "atcr/base/hash.h"
#include "atcr/cbor/multibase.h"

namespace atcr::crypto {
namespace {

namespace json = boost::json;

json::value ReadInteropJson(const std::string& name) {
  return atcr::testing::ReadInteropJson("crypto/" + name);
}

std::string Str(const json::object& o, const char* key) {
  return std::string(o.at(key).as_string());
}

Bytes B64(const std::string& s) {
  auto b = Base64Decode(s);
  EXPECT_TRUE(b.ok()) << s;
  return b.ok() ? *b : Bytes{};
}

Bytes Unhex(std::string_view s) {
  auto b = HexDecode(s);
  EXPECT_TRUE(b.ok()) << s;
  return b.ok() ? *b : Bytes{};
}

// The group orders, for building high-S signatures by hand.
constexpr const char* kOrderP256 =
    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
constexpr const char* kOrderK256 =
    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

// n - s for 32-byte big-endian values.
Bytes Negate(ByteSpan s, const char* order_hex) {
  Bytes n = Unhex(order_hex);
  Bytes out(32);
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = n[i] - s[i] - borrow;
    borrow = d < 0 ? 1 : 0;
    out[i] = static_cast<uint8_t>(d + (borrow ? 256 : 0));
  }
  return out;
}

bool IsLowS(ByteSpan sig, const char* order_hex) {
  // s <= n/2  <=>  2s <= n  <=> s <= n - s
  Bytes s(sig.begin() + 32, sig.end());
  Bytes neg = Negate(s, order_hex);
  return s <= neg;
}

TEST(SignatureFixtures, EveryInteropVectorVerifiesAsExpected) {
  json::value all = ReadInteropJson("signature-fixtures.json");
  ASSERT_TRUE(all.is_array());
  int checked = 0;
  for (const json::value& fv : all.as_array()) {
    const json::object& f = fv.as_object();
    SCOPED_TRACE(Str(f, "comment"));
    auto type = ParseKeyType(Str(f, "algorithm"));
    ASSERT_TRUE(type.ok());
    auto from_did = PublicKey::FromDidKey(Str(f, "publicKeyDid"));
    ASSERT_TRUE(from_did.ok()) << from_did.error().message;
    EXPECT_EQ(from_did->type(), *type);
    EXPECT_EQ(from_did->DidKey(), Str(f, "publicKeyDid"));
    // The legacy DID-document form names the same key.
    auto from_doc = PublicKey::FromVerificationMethod(Str(f, "didDocSuite"),
                                                      Str(f, "publicKeyMultibase"));
    ASSERT_TRUE(from_doc.ok()) << from_doc.error().message;
    EXPECT_EQ(*from_doc, *from_did);

    Bytes message = B64(Str(f, "messageBase64"));
    Bytes sig = B64(Str(f, "signatureBase64"));
    Status s = from_did->Verify(message, sig);
    EXPECT_EQ(s.ok(), f.at("validSignature").as_bool()) << (s.ok() ? "" : s.error().message);
    for (const json::value& tag : f.at("tags").as_array()) {
      if (tag == "high-s") {
        ASSERT_FALSE(s.ok());
        EXPECT_NE(s.error().message.find("high-S"), std::string::npos) << s.error().message;
      }
      if (tag == "der-encoded") {
        ASSERT_FALSE(s.ok());
        EXPECT_NE(s.error().message.find("DER"), std::string::npos) << s.error().message;
      }
    }
    ++checked;
  }
  EXPECT_EQ(checked, 6);
}

TEST(DidKeyFixtures, K256PrivateKeysDeriveTheExpectedDidKeys) {
  json::value all = ReadInteropJson("w3c_didkey_K256.json");
  ASSERT_TRUE(all.is_array());
  int checked = 0;
  for (const json::value& fv : all.as_array()) {
    const json::object& f = fv.as_object();
    auto key = PrivateKey::FromHex(KeyType::kK256, Str(f, "privateKeyBytesHex"));
    ASSERT_TRUE(key.ok()) << key.error().message;
    EXPECT_EQ(key->public_key().DidKey(), Str(f, "publicDidKey"));
    auto parsed = PublicKey::FromDidKey(Str(f, "publicDidKey"));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, key->public_key());
    EXPECT_EQ(parsed->Multikey().substr(0, 4), "zQ3s");
    ++checked;
  }
  EXPECT_GT(checked, 0);
  EXPECT_EQ(checked, static_cast<int>(all.as_array().size()));
}

TEST(DidKeyFixtures, P256PrivateKeysDeriveTheExpectedDidKeys) {
  json::value all = ReadInteropJson("w3c_didkey_P256.json");
  ASSERT_TRUE(all.is_array());
  int checked = 0;
  for (const json::value& fv : all.as_array()) {
    const json::object& f = fv.as_object();
    auto raw = Base58Decode(Str(f, "privateKeyBytesBase58"));
    ASSERT_TRUE(raw.ok());
    auto key = PrivateKey::FromBytes(KeyType::kP256, *raw);
    ASSERT_TRUE(key.ok()) << key.error().message;
    EXPECT_EQ(key->public_key().DidKey(), Str(f, "publicDidKey"));
    auto parsed = PublicKey::FromDidKey(Str(f, "publicDidKey"));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, key->public_key());
    EXPECT_EQ(parsed->Multikey().substr(0, 5), "zDnae");
    ++checked;
  }
  EXPECT_GT(checked, 0);
  EXPECT_EQ(checked, static_cast<int>(all.as_array().size()));
}

TEST(PublicKey, SpecExampleDidKeysParse) {
  auto p = PublicKey::FromDidKey("did:key:zDnaembgSGUhZULN2Caob4HLJPaxBh92N7rtH21TErzqf8HQo");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->type(), KeyType::kP256);
  auto k = PublicKey::FromDidKey("did:key:zQ3shqwJEJyMBsBXCWyCBpUBMqxcon9oHB7mCvx4sSpMdLJwc");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->type(), KeyType::kK256);
}

TEST(PublicKey, LegacyUncompressedK256MatchesMultikey) {
  // Same key in the legacy 65-byte form (PLC documents) and as a current multikey.
  auto legacy = PublicKey::FromVerificationMethod(
      "EcdsaSecp256k1VerificationKey2019",
      "zQYEBzXeuTM9UR3rfvNag6L3RNAs5pQZyYPsomTsgQhsxLdEgCrPTLgFna8yqCnxPpNT7DBk6Ym3dgPKNu86vt9GR");
  ASSERT_TRUE(legacy.ok()) << legacy.error().message;
  EXPECT_EQ(legacy->Multikey(), "zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF");
  auto current =
      PublicKey::FromVerificationMethod("Multikey", "zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF");
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(*legacy, *current);
  // Round trip through the uncompressed point.
  Bytes unc = current->Uncompressed();
  EXPECT_EQ(unc.size(), kUncompressedKeySize);
  EXPECT_EQ(cbor::MultibaseEncode(cbor::Multibase::kBase58Btc, unc),
            "zQYEBzXeuTM9UR3rfvNag6L3RNAs5pQZyYPsomTsgQhsxLdEgCrPTLgFna8yqCnxPpNT7DBk6Ym3dgPKNu86vt9GR");
}

TEST(PublicKey, UncompressedP256RoundTrips) {
  PrivateKey k = PrivateKey::Generate(KeyType::kP256);
  Bytes unc = k.public_key().Uncompressed();
  auto back = PublicKey::FromSec1(KeyType::kP256, unc);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, k.public_key());
  auto legacy = PublicKey::FromVerificationMethod(
      "EcdsaSecp256r1VerificationKey2019", cbor::MultibaseEncode(cbor::Multibase::kBase58Btc, unc));
  ASSERT_TRUE(legacy.ok());
  EXPECT_EQ(*legacy, k.public_key());
}

TEST(PublicKey, IndependentlyComputedPoints) {
  // Private scalars 0x11..11 (P-256) and 0x22..22 (K-256); compressed points computed with
  // Python's `cryptography` package.
  auto p = PrivateKey::FromHex(KeyType::kP256, std::string(64, '1'));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(HexEncode(p->public_key().compressed()),
            "020217e617f0b6443928278f96999e69a23a4f2c152bdf6d6cdf66e5b80282d4ed");
  auto k = PrivateKey::FromHex(KeyType::kK256, std::string(64, '2'));
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(HexEncode(k->public_key().compressed()),
            "02466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f27");
}

TEST(PublicKey, RejectsMalformedKeys) {
  // Wrong lengths and prefixes, including the hybrid 06/07 form.
  Bytes comp(33, 0x01);
  comp[0] = 0x02;
  EXPECT_FALSE(PublicKey::FromSec1(KeyType::kK256, Bytes(32, 1)).ok());
  Bytes hybrid = PrivateKey::Generate(KeyType::kK256).public_key().Uncompressed();
  hybrid[0] = 0x06 | (hybrid[64] & 1);
  EXPECT_FALSE(PublicKey::FromSec1(KeyType::kK256, hybrid).ok());
  // x = 0xff..ff is above the field prime on both curves.
  Bytes bad_x(33, 0xff);
  bad_x[0] = 0x02;
  EXPECT_FALSE(PublicKey::FromSec1(KeyType::kK256, bad_x).ok());
  EXPECT_FALSE(PublicKey::FromSec1(KeyType::kP256, bad_x).ok());
  // A valid uncompressed point with y altered is off the curve.
  for (KeyType t : {KeyType::kK256, KeyType::kP256}) {
    Bytes unc = PrivateKey::Generate(t).public_key().Uncompressed();
    unc[64] ^= 1;
    EXPECT_FALSE(PublicKey::FromSec1(t, unc).ok()) << KeyTypeName(t);
  }
  // Multikey / did:key shape errors.
  EXPECT_FALSE(PublicKey::FromMultikey("").ok());
  EXPECT_FALSE(PublicKey::FromMultikey("bafyrei").ok());
  EXPECT_FALSE(PublicKey::FromMultikey("z0OIl").ok());
  EXPECT_FALSE(PublicKey::FromMultikey("z" + std::string(5000, '2')).ok());
  EXPECT_FALSE(PublicKey::FromDidKey("did:plc:zQ3shqwJEJyMBsBXCWyCBpUBMqxcon9oHB7mCvx4sSpMdLJwc").ok());
  // Unknown multicodec (ed25519-pub 0xed) and an uncompressed point inside a multikey.
  Bytes ed = {0xed, 0x01};
  ed.resize(34, 1);
  EXPECT_FALSE(PublicKey::FromMultikey(cbor::MultibaseEncode(cbor::Multibase::kBase58Btc, ed)).ok());
  Bytes unc_mk = {0xe7, 0x01};
  Bytes unc = PrivateKey::Generate(KeyType::kK256).public_key().Uncompressed();
  unc_mk.insert(unc_mk.end(), unc.begin(), unc.end());
  EXPECT_FALSE(
      PublicKey::FromMultikey(cbor::MultibaseEncode(cbor::Multibase::kBase58Btc, unc_mk)).ok());
  EXPECT_FALSE(PublicKey::FromVerificationMethod("Ed25519VerificationKey2020", "z6Mk").ok());
}

TEST(PrivateKey, RejectsOutOfRangeScalars) {
  for (KeyType t : {KeyType::kK256, KeyType::kP256}) {
    EXPECT_FALSE(PrivateKey::FromBytes(t, Bytes(32, 0)).ok());
    EXPECT_FALSE(PrivateKey::FromBytes(t, Bytes(31, 1)).ok());
    EXPECT_FALSE(PrivateKey::FromBytes(t, Bytes(32, 0xff)).ok());
    EXPECT_FALSE(PrivateKey::FromHex(t, "zz").ok());
  }
  EXPECT_FALSE(PrivateKey::FromHex(KeyType::kK256, kOrderK256).ok());
  EXPECT_FALSE(PrivateKey::FromHex(KeyType::kP256, kOrderP256).ok());
  Bytes one(32, 0);
  one[31] = 1;
  EXPECT_TRUE(PrivateKey::FromBytes(KeyType::kP256, one).ok());
  EXPECT_TRUE(PrivateKey::FromBytes(KeyType::kK256, one).ok());
}

TEST(PrivateKey, ExportImportRoundTrip) {
  for (KeyType t : {KeyType::kK256, KeyType::kP256}) {
    PrivateKey k = PrivateKey::Generate(t);
    auto again = PrivateKey::FromBytes(t, k.secret_bytes());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->public_key(), k.public_key());
    auto hex = PrivateKey::FromHex(t, HexEncode(k.secret_bytes()));
    ASSERT_TRUE(hex.ok());
    EXPECT_EQ(hex->public_key(), k.public_key());
    EXPECT_NE(PrivateKey::Generate(t).public_key(), k.public_key());
  }
}

class SignVerify : public ::testing::TestWithParam<KeyType> {};

TEST_P(SignVerify, SignaturesVerifyAndAreAlwaysLowS) {
  const KeyType t = GetParam();
  const char* order = t == KeyType::kK256 ? kOrderK256 : kOrderP256;
  PrivateKey k = PrivateKey::Generate(t);
  PublicKey other = PrivateKey::Generate(t).public_key();
  // P-256 signing is randomized, so about half of raw OpenSSL signatures are high-S:
  // 64 rounds would all but surely hit the normalization path.
  for (int i = 0; i < 64; ++i) {
    std::string msg = "message " + std::to_string(i);
    Bytes sig = k.Sign(AsBytes(msg));
    ASSERT_EQ(sig.size(), kSignatureSize);
    EXPECT_TRUE(IsLowS(sig, order)) << HexEncode(sig);
    EXPECT_TRUE(k.public_key().Verify(AsBytes(msg), sig).ok());
    EXPECT_FALSE(k.public_key().Verify(AsBytes(msg + "!"), sig).ok());
    EXPECT_FALSE(other.Verify(AsBytes(msg), sig).ok());
    auto digest = Sha256(msg);
    EXPECT_TRUE(k.public_key().VerifyDigest(ByteSpan(digest), sig).ok());
    EXPECT_EQ(k.SignDigest(ByteSpan(digest)).size(), kSignatureSize);
  }
}

TEST_P(SignVerify, RejectsHighSAndMalformedSignatures) {
  const KeyType t = GetParam();
  const char* order = t == KeyType::kK256 ? kOrderK256 : kOrderP256;
  PrivateKey k = PrivateKey::Generate(t);
  const std::string msg = "hello";
  Bytes sig = k.Sign(AsBytes(msg));
  // (r, n - s) is mathematically valid ECDSA, but malleable: atproto rejects it.
  Bytes high = sig;
  Bytes neg = Negate(ByteSpan(sig).subspan(32), order);
  std::copy(neg.begin(), neg.end(), high.begin() + 32);
  Status s = k.public_key().Verify(AsBytes(msg), high);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("high-S"), std::string::npos) << s.error().message;
  // Lengths other than 64, zero r or s, r or s >= n.
  EXPECT_FALSE(k.public_key().Verify(AsBytes(msg), ByteSpan(sig).first(63)).ok());
  Bytes longer = sig;
  longer.push_back(0);
  EXPECT_FALSE(k.public_key().Verify(AsBytes(msg), longer).ok());
  EXPECT_FALSE(k.public_key().Verify(AsBytes(msg), Bytes(64, 0)).ok());
  Bytes r_is_n = sig;
  Bytes n = Unhex(order);
  std::copy(n.begin(), n.end(), r_is_n.begin());
  EXPECT_FALSE(k.public_key().Verify(AsBytes(msg), r_is_n).ok());
  Bytes ones(64, 0xff);
  EXPECT_FALSE(k.public_key().Verify(AsBytes(msg), ones).ok());
}

INSTANTIATE_TEST_SUITE_P(Curves, SignVerify, ::testing::Values(KeyType::kK256, KeyType::kP256),
                         [](const auto& info) { return std::string(KeyTypeName(info.param)); });

TEST(KeyType, NamesAndParsing) {
  EXPECT_STREQ(JwtAlgorithm(KeyType::kK256), "ES256K");
  EXPECT_STREQ(JwtAlgorithm(KeyType::kP256), "ES256");
  EXPECT_EQ(*ParseKeyType("k256"), KeyType::kK256);
  EXPECT_EQ(*ParseKeyType("secp256r1"), KeyType::kP256);
  EXPECT_FALSE(ParseKeyType("ed25519").ok());
}

}  // namespace
}  // namespace atcr::crypto
