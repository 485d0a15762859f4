#include "atcr/identity/plc_operation.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "atcr/identity/did_document.h"
#include "atcr/testing/interop.h"

namespace atcr::identity {
namespace {

namespace json = boost::json;

// Vectors made by the reference library: tests/peers/plc-fixtures.mjs.
const json::object& Vectors() {
  static const json::value v =
      atcr::testing::ReadJson(std::string(ATCR_TESTDATA_DIR) + "/plc/vectors.json");
  return v.as_object();
}

std::string S(const json::value& v) { return std::string(v.as_string()); }

std::string KeyOf(std::string_view name) { return S(Vectors().at("keys").at(name).at("didKey")); }

crypto::PrivateKey PrivOf(std::string_view name, crypto::KeyType type) {
  auto k = crypto::PrivateKey::FromHex(type, S(Vectors().at("keys").at(name).at("privateKeyHex")));
  EXPECT_TRUE(k.ok());
  return *k;
}

PlcOperation MustParse(const json::value& v) {
  auto op = ParsePlcOperation(v);
  EXPECT_TRUE(op.ok()) << op.error().ToString();
  return op.ok() ? *op : PlcOperation{};
}

TEST(PlcOperation, ReferenceLogParsesVerifiesAndChains) {
  const auto& log = Vectors().at("log").as_array();
  ASSERT_EQ(log.size(), 5u);
  std::string did = S(Vectors().at("did"));
  std::vector<std::string> rotation;
  std::optional<std::string> prev_cid;
  for (size_t i = 0; i < log.size(); ++i) {
    SCOPED_TRACE(i);
    const auto& e = log[i].as_object();
    PlcOperation op = MustParse(e.at("op"));
    ASSERT_TRUE(CheckPlcOperationLimits(op).ok()) << CheckPlcOperationLimits(op).error().ToString();
    EXPECT_EQ(PlcOperationCid(op).ToString(), S(e.at("cid")));
    if (i == 0) {
      EXPECT_TRUE(op.is_genesis());
      EXPECT_EQ(PlcDidForGenesis(op), did);
      rotation = op.rotation_keys;
    } else {
      ASSERT_TRUE(op.prev.has_value());
      EXPECT_EQ(*op.prev, *prev_cid);
    }
    auto signer = VerifyPlcOperation(op, rotation);
    ASSERT_TRUE(signer.ok()) << signer.error().ToString();
    EXPECT_EQ(*signer, KeyOf(S(e.at("signer"))));
    if (op.type == PlcOpType::kOperation) {
      rotation = op.rotation_keys;
      EXPECT_EQ(PlcDocumentData(did, op), e.at("data"));
    } else {
      EXPECT_EQ(op.type, PlcOpType::kTombstone);
    }
    // JSON round trip keeps the signed bytes.
    auto again = ParsePlcOperationJson(ToJsonText(op));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(ToCbor(*again), ToCbor(op));
    prev_cid = PlcOperationCid(op).ToString();
  }
}

TEST(PlcOperation, LegacyCreateDerivesDidAndNormalizes) {
  const auto& legacy = Vectors().at("legacy").as_object();
  PlcOperation op = MustParse(legacy.at("op"));
  EXPECT_EQ(op.type, PlcOpType::kLegacyCreate);
  ASSERT_TRUE(CheckPlcOperationLimits(op).ok()) << CheckPlcOperationLimits(op).error().ToString();
  EXPECT_EQ(PlcDidForGenesis(op), S(legacy.at("did")));
  EXPECT_EQ(PlcOperationCid(op).ToString(), S(legacy.at("cid")));
  // A legacy create is signed by its signing key; rotation then passes to [recovery, signing].
  std::vector<std::string> signing = {op.signing_key};
  EXPECT_TRUE(VerifyPlcOperation(op, signing).ok());
  PlcOperation norm = NormalizePlcOperation(op);
  ASSERT_EQ(norm.rotation_keys.size(), 2u);
  EXPECT_EQ(norm.rotation_keys[0], op.recovery_key);
  EXPECT_EQ(ToJsonText(norm).find("legacy.test") != std::string::npos, true);

  PlcOperation next = MustParse(legacy.at("next"));
  EXPECT_EQ(*next.prev, S(legacy.at("cid")));
  EXPECT_EQ(PlcOperationCid(next).ToString(), S(legacy.at("nextCid")));
  EXPECT_TRUE(VerifyPlcOperation(next, norm.rotation_keys).ok());
  EXPECT_EQ(PlcDocumentData(S(legacy.at("did")), next), legacy.at("data"));
  // NextPlcOperation from the legacy op yields the same unsigned content as the reference's.
  PlcOperation mine = NextPlcOperation(op);
  mine.also_known_as = {"at://legacy2.test"};
  PlcOperation ref = next;
  ref.sig.clear();
  EXPECT_EQ(UnsignedCbor(mine), UnsignedCbor(ref));
}

TEST(PlcOperation, SignedByAtcrVerifiesAndMatchesReferenceBytes) {
  // Re-sign the reference genesis with the same key: ECDSA in both libraries uses RFC 6979
  // nonces, so the signature (and hence the DID) must come out identical.
  const auto& first = Vectors().at("log").as_array()[0].as_object();
  PlcOperation ref = MustParse(first.at("op"));
  PlcOperation mine = SignPlcOperation(ref, PrivOf("k256", crypto::KeyType::kK256));
  std::vector<std::string> keys = {KeyOf("k256")};
  EXPECT_TRUE(VerifyPlcOperation(mine, keys).ok());
  EXPECT_EQ(mine.sig, ref.sig);
  EXPECT_EQ(PlcDidForGenesis(mine), S(Vectors().at("did")));

  auto g = CreatePlcGenesis(PrivOf("k256", crypto::KeyType::kK256),
                            {.signing_key = KeyOf("signing"),
                             .handle = "alice.test",
                             .pds_endpoint = "http://localhost:2583",
                             .rotation_keys = {KeyOf("p256"), KeyOf("k256")}});
  ASSERT_TRUE(g.ok()) << g.error().ToString();
  EXPECT_EQ(g->did, S(Vectors().at("did")));
  EXPECT_EQ(ToCbor(g->op), ToCbor(ref));
}

TEST(PlcOperation, P256SignaturesVerify) {
  auto p256 = PrivOf("p256", crypto::KeyType::kP256);
  auto g = CreatePlcGenesis(p256, {.signing_key = KeyOf("signing"),
                                   .handle = "p.test",
                                   .pds_endpoint = "https://pds.example.com"});
  ASSERT_TRUE(g.ok());
  std::vector<std::string> keys = {KeyOf("k256"), KeyOf("p256")};
  auto signer = VerifyPlcOperation(g->op, keys);
  ASSERT_TRUE(signer.ok());
  EXPECT_EQ(*signer, KeyOf("p256"));
  EXPECT_TRUE(IsValidPlcDid(g->did));
}

TEST(PlcOperation, RejectsBadSignatures) {
  auto k = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
  auto other = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
  auto g = CreatePlcGenesis(k, {.signing_key = other.public_key().DidKey(),
                                .handle = "bob.test",
                                .pds_endpoint = "http://localhost:2583"});
  ASSERT_TRUE(g.ok());
  std::vector<std::string> right = {k.public_key().DidKey()};
  std::vector<std::string> wrong = {other.public_key().DidKey()};
  EXPECT_TRUE(VerifyPlcOperation(g->op, right).ok());
  EXPECT_FALSE(VerifyPlcOperation(g->op, wrong).ok());
  EXPECT_FALSE(VerifyPlcOperation(g->op, {}).ok());

  PlcOperation tampered = g->op;
  tampered.also_known_as = {"at://mallory.test"};
  EXPECT_FALSE(VerifyPlcOperation(tampered, right).ok());

  PlcOperation padded = g->op;
  padded.sig += "==";
  EXPECT_FALSE(VerifyPlcOperation(padded, right).ok());
  PlcOperation std_alphabet = g->op;
  std_alphabet.sig = Base64Encode(*Base64Decode(g->op.sig, Base64Variant::kUrl),
                                  Base64Variant::kStandard, false);
  if (std_alphabet.sig != g->op.sig) {
    EXPECT_FALSE(VerifyPlcOperation(std_alphabet, right).ok());
  }
  PlcOperation short_sig = g->op;
  short_sig.sig = short_sig.sig.substr(0, 40);
  EXPECT_FALSE(VerifyPlcOperation(short_sig, right).ok());
  EXPECT_FALSE(CheckPlcOperationLimits(short_sig).ok());

  // High-S form of a valid signature: s' = n - s. Verification must refuse it.
  Bytes sig = *Base64Decode(g->op.sig, Base64Variant::kUrl);
  static const uint8_t kN[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48,
                                 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41};
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = kN[i] - sig[32 + i] - borrow;
    borrow = d < 0;
    sig[32 + i] = static_cast<uint8_t>(d + (borrow ? 256 : 0));
  }
  PlcOperation high_s = g->op;
  high_s.sig = Base64Encode(sig, Base64Variant::kUrl, false);
  EXPECT_FALSE(VerifyPlcOperation(high_s, right).ok());
}

TEST(PlcOperation, ParseRejectsMalformedJson) {
  const auto& first = Vectors().at("log").as_array()[0].as_object();
  std::string good = json::serialize(first.at("op"));
  EXPECT_TRUE(ParsePlcOperationJson(good).ok());
  for (std::string bad : {
           std::string(""),
           std::string("not json"),
           std::string("[]"),
           std::string("{\"type\":\"plc_operation\"}"),
           std::string("{\"type\":\"something_else\",\"prev\":null,\"sig\":\"x\"}"),
           std::string("{\"type\":\"plc_tombstone\",\"prev\":null,\"sig\":\"x\"}"),
           std::string("{\"type\":\"plc_tombstone\",\"prev\":\"bafy\"}"),
           std::string("{\"type\":\"plc_tombstone\",\"prev\":\"bafy\",\"sig\":\"x\",\"extra\":1}"),
           std::string("{\"type\":\"create\",\"signingKey\":\"a\",\"recoveryKey\":\"b\","
                       "\"handle\":\"h\",\"service\":\"s\",\"prev\":\"bafy\",\"sig\":\"x\"}"),
           std::string(20000, ' '),
       }) {
    EXPECT_FALSE(ParsePlcOperationJson(bad).ok()) << bad;
  }
  json::value v = first.at("op");
  v.as_object()["rotationKeys"] = json::array{1, 2};
  EXPECT_FALSE(ParsePlcOperation(v).ok());
  v = first.at("op");
  v.as_object()["services"].as_object()["atproto_pds"].as_object()["extra"] = "x";
  EXPECT_FALSE(ParsePlcOperation(v).ok());
  v = first.at("op");
  v.as_object().erase("sig");
  EXPECT_FALSE(ParsePlcOperation(v).ok());
  v = first.at("op");
  v.as_object()["verificationMethods"] = json::array{};
  EXPECT_FALSE(ParsePlcOperation(v).ok());
}

TEST(PlcOperation, LimitsAreEnforced) {
  auto k = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
  auto g = CreatePlcGenesis(k, {.signing_key = k.public_key().DidKey(),
                                .handle = "carol.test",
                                .pds_endpoint = "http://localhost:2583"});
  ASSERT_TRUE(g.ok());
  auto resigned = [&](auto edit) {
    PlcOperation op = g->op;
    edit(op);
    return SignPlcOperation(std::move(op), k);
  };
  EXPECT_TRUE(CheckPlcOperationLimits(g->op).ok());
  auto keys = [](int n) {
    std::vector<std::string> v;
    for (int i = 0; i < n; ++i) {
      v.push_back(crypto::PrivateKey::Generate(crypto::KeyType::kP256).public_key().DidKey());
    }
    return v;
  };
  EXPECT_TRUE(CheckPlcOperationLimits(resigned([&](auto& op) { op.rotation_keys = keys(5); })).ok());
  EXPECT_FALSE(CheckPlcOperationLimits(resigned([&](auto& op) { op.rotation_keys = keys(6); })).ok());
  EXPECT_FALSE(CheckPlcOperationLimits(resigned([&](auto& op) { op.rotation_keys.clear(); })).ok());
  EXPECT_FALSE(CheckPlcOperationLimits(resigned([&](auto& op) {
                 op.rotation_keys.push_back(op.rotation_keys[0]);
               })).ok());
  EXPECT_FALSE(CheckPlcOperationLimits(resigned([&](auto& op) {
                 op.rotation_keys = {"did:key:zNotAKey"};
               })).ok());
  EXPECT_FALSE(CheckPlcOperationLimits(resigned([&](auto& op) {
                 op.verification_methods["atproto"] = "not-a-did-key";
               })).ok());
  EXPECT_FALSE(CheckPlcOperationLimits(resigned([&](auto& op) {
                 op.verification_methods[std::string(33, 'a')] = op.rotation_keys[0];
               })).ok());
  EXPECT_FALSE(CheckPlcOperationLimits(resigned([&](auto& op) {
                 op.also_known_as = {"at://not a handle"};
               })).ok());
  EXPECT_FALSE(CheckPlcOperationLimits(resigned([&](auto& op) {
                 op.also_known_as = {"at://x.test", "at://x.test"};
               })).ok());
  EXPECT_FALSE(CheckPlcOperationLimits(resigned([&](auto& op) {
                 op.also_known_as.assign(11, "");
                 for (int i = 0; i < 11; ++i) op.also_known_as[i] = "at://h" + std::to_string(i) + ".test";
               })).ok());
  EXPECT_FALSE(CheckPlcOperationLimits(resigned([&](auto& op) {
                 op.services["atproto_pds"].endpoint = "ftp://pds.test";
               })).ok());
  EXPECT_FALSE(CheckPlcOperationLimits(resigned([&](auto& op) {
                 op.services["atproto_pds"].endpoint = "https://";
               })).ok());
  EXPECT_FALSE(CheckPlcOperationLimits(resigned([&](auto& op) {
                 op.services["atproto_pds"].endpoint = "https://" + std::string(300, 'a') + ".test";
               })).ok());
  EXPECT_FALSE(CheckPlcOperationLimits(resigned([&](auto& op) {
                 for (int i = 0; i < 11; ++i) {
                   op.services["s" + std::to_string(i)] = {"T", "https://x.test"};
                 }
               })).ok());
  EXPECT_FALSE(CheckPlcOperationLimits(resigned([&](auto& op) { op.prev = "not-a-cid"; })).ok());
  // Oversized as a whole: many long-but-legal aka entries push the CBOR past 4000 bytes.
  EXPECT_FALSE(CheckPlcOperationLimits(resigned([&](auto& op) {
                 op.also_known_as.clear();
                 for (int i = 0; i < 10; ++i) {  // 10 handles of 250 characters
                   std::string label(60, static_cast<char>('a' + i));
                   op.also_known_as.push_back("at://" + label + "." + label + "." + label + "." +
                                              label + ".test");
                 }
                 for (int i = 0; i < 9; ++i) {
                   op.services["svc" + std::to_string(i)] = {std::string(90, 'T'),
                                                             "https://" + std::string(240, 'a') + ".t"};
                 }
               })).ok());
  EXPECT_FALSE(CreatePlcGenesis(k, {.signing_key = k.public_key().DidKey(),
                                    .handle = "x.test",
                                    .pds_endpoint = "http://localhost:2583",
                                    .rotation_keys = keys(2)})
                   .ok())
      << "the signer must be one of the rotation keys";
}

TEST(PlcOperation, DidDocumentParsesWithTheResolversParser) {
  auto k = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
  auto sk = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
  auto g = CreatePlcGenesis(k, {.signing_key = sk.public_key().DidKey(),
                                .handle = "dave.test",
                                .pds_endpoint = "http://localhost:2583"});
  ASSERT_TRUE(g.ok());
  std::string text = RenderPlcDidDocument(g->did, g->op);
  auto doc = ParseDidDocument(text, g->did);
  ASSERT_TRUE(doc.ok()) << doc.error().ToString() << "\n" << text;
  EXPECT_EQ(doc->handle, "dave.test");
  EXPECT_EQ(doc->pds_endpoint, "http://localhost:2583");
  EXPECT_EQ(doc->signing_key, sk.public_key().DidKey());
  json::value v = json::parse(text);
  EXPECT_EQ(v.at("verificationMethod").at(0).at("id"), json::value(g->did + "#atproto"));
  EXPECT_EQ(v.at("service").at(0).at("id"), json::value("#atproto_pds"));
  EXPECT_EQ(v.at("@context").as_array().size(), 3u);
}

TEST(PlcOperation, DidSyntax) {
  EXPECT_TRUE(IsValidPlcDid("did:plc:yhvmtdf2qogpqnau4tgkrduk"));
  EXPECT_FALSE(IsValidPlcDid("did:plc:yhvmtdf2qogpqnau4tgkrdu"));
  EXPECT_FALSE(IsValidPlcDid("did:plc:yhvmtdf2qogpqnau4tgkrduk1"));
  EXPECT_FALSE(IsValidPlcDid("did:plc:YHVMTDF2QOGPQNAU4TGKRDUK"));
  EXPECT_FALSE(IsValidPlcDid("did:web:yhvmtdf2qogpqnau4tgkrduk"));
  EXPECT_FALSE(IsValidPlcDid("did:plc:yhvmtdf2qogpqnau4tgkrdu0"));
}

}  // namespace
}  // namespace atcr::identity
