#include "atcr/crypto/keys.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <secp256k1.h>

#include <algorithm>
#include <cstring>

#include "atcr/base/check.h"
#include "atcr/base/hash.h"
#include "atcr/cbor/multibase.h"
#include "atcr/cbor/multicodec.h"
#include "atcr/cbor/varint.h"

namespace atcr::crypto {

namespace internal {
// The verification-ready form of a public key, built once per PublicKey.
struct PublicKeyState {
  secp256k1_pubkey k256{};
  EVP_PKEY* p256 = nullptr;
  ~PublicKeyState() { EVP_PKEY_free(p256); }
};
}  // namespace internal

namespace {

using internal::PublicKeyState;

// Longest multibase key string we decode: a legacy 65-byte key is ~90 base58 characters.
// Bounds the quadratic base58 decoder against hostile input.
constexpr size_t kMaxMultibaseKeySize = 128;

// ---- RAII for OpenSSL ----
struct BnFree {
  void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
struct BnCtxFree {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};
struct PointFree {
  void operator()(EC_POINT* p) const { EC_POINT_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using BnCtxPtr = std::unique_ptr<BN_CTX, BnCtxFree>;
using PointPtr = std::unique_ptr<EC_POINT, PointFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using SigPtr = std::unique_ptr<ECDSA_SIG, SigFree>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, ParamFree>;

BnPtr Bn(ByteSpan big_endian) {
  BnPtr b(BN_bin2bn(big_endian.data(), static_cast<int>(big_endian.size()), nullptr));
  ATCR_CHECK(b != nullptr);
  return b;
}

// ---- curve singletons (read-only after construction, so safe across threads) ----

const secp256k1_context* K256() {
  static const secp256k1_context* ctx = [] {
    secp256k1_context* c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    ATCR_CHECK(c != nullptr);
    Bytes seed = RandomBytes(32);
    ATCR_CHECK(secp256k1_context_randomize(c, seed.data()) == 1);
    return c;
  }();
  return ctx;
}

struct P256Curve {
  EC_GROUP* group;
  BIGNUM* n;
  BIGNUM* half_n;
};

const P256Curve& P256() {
  static const P256Curve curve = [] {
    P256Curve c{};
    c.group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    ATCR_CHECK(c.group != nullptr);
    c.n = BN_dup(EC_GROUP_get0_order(c.group));
    c.half_n = BN_new();
    ATCR_CHECK(c.n != nullptr && c.half_n != nullptr && BN_rshift1(c.half_n, c.n) == 1);
    return c;
  }();
  return curve;
}

Error KeyError(const std::string& what) { return InvalidArgument("invalid public key: " + what); }

// ---- P-256 helpers ----

Bytes PointToOctets(const EC_POINT* p, point_conversion_form_t form) {
  BnCtxPtr bn_ctx(BN_CTX_new());
  size_t n = EC_POINT_point2oct(P256().group, p, form, nullptr, 0, bn_ctx.get());
  Bytes out(n);
  ATCR_CHECK(n > 0 &&
             EC_POINT_point2oct(P256().group, p, form, out.data(), n, bn_ctx.get()) == n);
  return out;
}

// An EVP_PKEY for P-256 from an uncompressed point and, optionally, the private scalar.
PkeyPtr P256Pkey(ByteSpan uncompressed, const BIGNUM* priv) {
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  ATCR_CHECK(bld != nullptr);
  ATCR_CHECK(OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                             "prime256v1", 0) == 1);
  ATCR_CHECK(OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                              uncompressed.data(), uncompressed.size()) == 1);
  if (priv != nullptr) {
    ATCR_CHECK(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv) == 1);
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  ATCR_CHECK(params != nullptr);
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  ATCR_CHECK(ctx != nullptr && EVP_PKEY_fromdata_init(ctx.get()) == 1);
  EVP_PKEY* pkey = nullptr;
  int selection = priv != nullptr ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY;
  ATCR_CHECK(EVP_PKEY_fromdata(ctx.get(), &pkey, selection, params.get()) == 1);
  return PkeyPtr(pkey);
}

Bytes DigestOf(ByteSpan message) {
  auto d = Sha256(message);
  return Bytes(d.begin(), d.end());
}

}  // namespace

// ---- KeyType ----

const char* JwtAlgorithm(KeyType type) { return type == KeyType::kK256 ? "ES256K" : "ES256"; }
const char* KeyTypeName(KeyType type) { return type == KeyType::kK256 ? "k256" : "p256"; }

Result<KeyType> ParseKeyType(std::string_view name) {
  if (name == "k256" || name == "secp256k1" || name == "ES256K") return KeyType::kK256;
  if (name == "p256" || name == "secp256r1" || name == "P-256" || name == "ES256") {
    return KeyType::kP256;
  }
  return InvalidArgument("unknown key type \"" + std::string(name) +
                         "\" (want k256 or p256)");
}

// ---- PublicKey ----

Result<PublicKey> PublicKey::FromSec1(KeyType type, ByteSpan point) {
  const bool compressed_form = point.size() == kCompressedKeySize &&
                               (point[0] == 0x02 || point[0] == 0x03);
  const bool uncompressed_form = point.size() == kUncompressedKeySize && point[0] == 0x04;
  if (!compressed_form && !uncompressed_form) {
    return KeyError("want a 33-byte compressed (02/03) or 65-byte uncompressed (04) point, got " +
                    std::to_string(point.size()) + " bytes");
  }
  PublicKey key;
  key.type_ = type;
  auto state = std::make_shared<PublicKeyState>();
  if (type == KeyType::kK256) {
    if (secp256k1_ec_pubkey_parse(K256(), &state->k256, point.data(), point.size()) != 1) {
      return KeyError("not a point on secp256k1");
    }
    size_t len = kCompressedKeySize;
    ATCR_CHECK(secp256k1_ec_pubkey_serialize(K256(), key.compressed_.data(), &len, &state->k256,
                                             SECP256K1_EC_COMPRESSED) == 1);
  } else {
    const P256Curve& c = P256();
    PointPtr p(EC_POINT_new(c.group));
    BnCtxPtr bn_ctx(BN_CTX_new());
    ATCR_CHECK(p != nullptr && bn_ctx != nullptr);
    if (EC_POINT_oct2point(c.group, p.get(), point.data(), point.size(), bn_ctx.get()) != 1 ||
        EC_POINT_is_on_curve(c.group, p.get(), bn_ctx.get()) != 1 ||
        EC_POINT_is_at_infinity(c.group, p.get()) == 1) {
      return KeyError("not a point on P-256");
    }
    Bytes comp = PointToOctets(p.get(), POINT_CONVERSION_COMPRESSED);
    ATCR_CHECK(comp.size() == kCompressedKeySize);
    std::copy(comp.begin(), comp.end(), key.compressed_.begin());
    state->p256 = P256Pkey(PointToOctets(p.get(), POINT_CONVERSION_UNCOMPRESSED), nullptr).release();
  }
  key.state_ = std::move(state);
  return key;
}

Result<PublicKey> PublicKey::FromMultikey(std::string_view multikey) {
  if (multikey.empty() || multikey[0] != 'z') {
    return KeyError("multikey must start with 'z' (base58btc)");
  }
  if (multikey.size() > kMaxMultibaseKeySize) return KeyError("multikey too long");
  auto bytes = cbor::MultibaseDecode(multikey);
  if (!bytes.ok()) return KeyError(bytes.error().message);
  size_t n = 0;
  auto codec = cbor::ReadVarint(*bytes, &n);
  if (!codec.ok()) return KeyError("multicodec: " + codec.error().message);
  ByteSpan point = ByteSpan(*bytes).subspan(n);
  KeyType type;
  if (*codec == cbor::multicodec::kSecp256k1Pub) {
    type = KeyType::kK256;
  } else if (*codec == cbor::multicodec::kP256Pub) {
    type = KeyType::kP256;
  } else {
    return KeyError("unsupported multicodec " + std::to_string(*codec) +
                    " (want 0xe7 secp256k1-pub or 0x1200 p256-pub)");
  }
  if (point.size() != kCompressedKeySize) {
    return KeyError("multikey point must be 33 bytes compressed, got " +
                    std::to_string(point.size()));
  }
  return FromSec1(type, point);
}

Result<PublicKey> PublicKey::FromDidKey(std::string_view did_key) {
  constexpr std::string_view kPrefix = "did:key:";
  if (did_key.substr(0, kPrefix.size()) != kPrefix) return KeyError("not a did:key");
  return FromMultikey(did_key.substr(kPrefix.size()));
}

Result<PublicKey> PublicKey::FromLegacyMultibase(KeyType type, std::string_view multibase) {
  if (multibase.empty() || multibase[0] != 'z') {
    return KeyError("legacy publicKeyMultibase must start with 'z' (base58btc)");
  }
  if (multibase.size() > kMaxMultibaseKeySize) return KeyError("publicKeyMultibase too long");
  auto bytes = cbor::MultibaseDecode(multibase);
  if (!bytes.ok()) return KeyError(bytes.error().message);
  return FromSec1(type, *bytes);
}

Result<PublicKey> PublicKey::FromVerificationMethod(std::string_view type,
                                                    std::string_view public_key_multibase) {
  if (type == "Multikey") return FromMultikey(public_key_multibase);
  if (type == "EcdsaSecp256k1VerificationKey2019") {
    return FromLegacyMultibase(KeyType::kK256, public_key_multibase);
  }
  if (type == "EcdsaSecp256r1VerificationKey2019") {
    return FromLegacyMultibase(KeyType::kP256, public_key_multibase);
  }
  return KeyError("unsupported verification method type \"" + std::string(type) + "\"");
}

Bytes PublicKey::Uncompressed() const {
  Bytes out(kUncompressedKeySize);
  if (type_ == KeyType::kK256) {
    size_t len = out.size();
    ATCR_CHECK(secp256k1_ec_pubkey_serialize(K256(), out.data(), &len, &state_->k256,
                                             SECP256K1_EC_UNCOMPRESSED) == 1);
    return out;
  }
  size_t len = 0;
  ATCR_CHECK(EVP_PKEY_get_octet_string_param(state_->p256, OSSL_PKEY_PARAM_PUB_KEY, out.data(),
                                             out.size(), &len) == 1 &&
             len == kUncompressedKeySize);
  return out;
}

std::string PublicKey::Multikey() const {
  Bytes b;
  cbor::AppendVarint(type_ == KeyType::kK256 ? cbor::multicodec::kSecp256k1Pub
                                             : cbor::multicodec::kP256Pub,
                     b);
  b.insert(b.end(), compressed_.begin(), compressed_.end());
  return cbor::MultibaseEncode(cbor::Multibase::kBase58Btc, b);
}

std::string PublicKey::DidKey() const { return "did:key:" + Multikey(); }

Status PublicKey::Verify(ByteSpan message, ByteSpan signature) const {
  auto digest = Sha256(message);
  return VerifyDigest(ByteSpan(digest), signature);
}

Status PublicKey::VerifyDigest(ByteSpan digest, ByteSpan signature) const {
  ATCR_CHECK(digest.size() == 32);
  if (signature.size() != kSignatureSize) {
    return InvalidArgument("signature must be 64 bytes compact r||s, got " +
                           std::to_string(signature.size()) +
                           " bytes (DER signatures are not accepted)");
  }
  if (type_ == KeyType::kK256) {
    secp256k1_ecdsa_signature sig;
    if (secp256k1_ecdsa_signature_parse_compact(K256(), &sig, signature.data()) != 1) {
      return InvalidArgument("signature r or s out of range");
    }
    secp256k1_ecdsa_signature normalized;
    if (secp256k1_ecdsa_signature_normalize(K256(), &normalized, &sig) == 1) {
      return InvalidArgument("high-S signature (atproto requires low-S)");
    }
    if (secp256k1_ecdsa_verify(K256(), &sig, digest.data(), &state_->k256) != 1) {
      return InvalidArgument("signature does not verify");
    }
    return Ok();
  }
  const P256Curve& c = P256();
  BnPtr r = Bn(signature.first(32));
  BnPtr s = Bn(signature.subspan(32));
  if (BN_is_zero(r.get()) || BN_is_zero(s.get()) || BN_cmp(r.get(), c.n) >= 0 ||
      BN_cmp(s.get(), c.n) >= 0) {
    return InvalidArgument("signature r or s out of range");
  }
  if (BN_cmp(s.get(), c.half_n) > 0) {
    return InvalidArgument("high-S signature (atproto requires low-S)");
  }
  SigPtr sig(ECDSA_SIG_new());
  ATCR_CHECK(sig != nullptr && ECDSA_SIG_set0(sig.get(), r.get(), s.get()) == 1);
  r.release();  // owned by sig now
  s.release();
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  ATCR_CHECK(der_len > 0);
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, state_->p256, nullptr));
  ATCR_CHECK(ctx != nullptr && EVP_PKEY_verify_init(ctx.get()) == 1);
  int ok = EVP_PKEY_verify(ctx.get(), der, static_cast<size_t>(der_len), digest.data(),
                           digest.size());
  OPENSSL_free(der);
  if (ok != 1) return InvalidArgument("signature does not verify");
  return Ok();
}

// ---- PrivateKey ----

PrivateKey::~PrivateKey() { OPENSSL_cleanse(secret_.data(), secret_.size()); }

Result<PrivateKey> PrivateKey::FromBytes(KeyType type, ByteSpan scalar) {
  if (scalar.size() != kPrivateKeySize) {
    return InvalidArgument("private key must be 32 bytes, got " + std::to_string(scalar.size()));
  }
  std::array<uint8_t, kPrivateKeySize> secret;
  std::copy(scalar.begin(), scalar.end(), secret.begin());
  if (type == KeyType::kK256) {
    secp256k1_pubkey pub;
    if (secp256k1_ec_pubkey_create(K256(), &pub, secret.data()) != 1) {
      OPENSSL_cleanse(secret.data(), secret.size());
      return InvalidArgument("private key is not a valid secp256k1 scalar");
    }
    uint8_t comp[kCompressedKeySize];
    size_t len = sizeof(comp);
    ATCR_CHECK(secp256k1_ec_pubkey_serialize(K256(), comp, &len, &pub,
                                             SECP256K1_EC_COMPRESSED) == 1);
    auto pk = PublicKey::FromSec1(type, ByteSpan(comp, len));
    ATCR_CHECK(pk.ok());
    PrivateKey key(secret, std::move(pk).value());
    OPENSSL_cleanse(secret.data(), secret.size());
    return key;
  }
  const P256Curve& c = P256();
  BnPtr d = Bn(secret);
  if (BN_is_zero(d.get()) || BN_cmp(d.get(), c.n) >= 0) {
    OPENSSL_cleanse(secret.data(), secret.size());
    return InvalidArgument("private key is not a valid P-256 scalar");
  }
  PointPtr p(EC_POINT_new(c.group));
  BnCtxPtr bn_ctx(BN_CTX_new());
  ATCR_CHECK(p != nullptr && EC_POINT_mul(c.group, p.get(), d.get(), nullptr, nullptr,
                                          bn_ctx.get()) == 1);
  auto pk = PublicKey::FromSec1(type, PointToOctets(p.get(), POINT_CONVERSION_COMPRESSED));
  ATCR_CHECK(pk.ok());
  PrivateKey key(secret, std::move(pk).value());
  OPENSSL_cleanse(secret.data(), secret.size());
  return key;
}

Result<PrivateKey> PrivateKey::FromHex(KeyType type, std::string_view hex) {
  if (hex.size() != 2 * kPrivateKeySize) {
    return InvalidArgument("private key hex must be 64 characters, got " +
                           std::to_string(hex.size()));
  }
  auto bytes = HexDecode(hex);
  if (!bytes.ok()) return InvalidArgument("private key: " + bytes.error().message);
  auto key = FromBytes(type, *bytes);
  OPENSSL_cleanse(bytes->data(), bytes->size());
  return key;
}

PrivateKey PrivateKey::Generate(KeyType type) {
  // Rejection sampling: a uniformly random 256-bit string is a valid scalar with
  // overwhelming probability; retry in the astronomically rare other case.
  for (;;) {
    Bytes candidate = RandomBytes(kPrivateKeySize);
    auto key = FromBytes(type, candidate);
    OPENSSL_cleanse(candidate.data(), candidate.size());
    if (key.ok()) return std::move(key).value();
  }
}

Bytes PrivateKey::Sign(ByteSpan message) const { return SignDigest(DigestOf(message)); }

Bytes PrivateKey::SignDigest(ByteSpan digest) const {
  ATCR_CHECK(digest.size() == 32);
  Bytes out(kSignatureSize);
  if (type() == KeyType::kK256) {
    // RFC 6979 deterministic nonce; libsecp256k1 always produces low-S.
    secp256k1_ecdsa_signature sig;
    ATCR_CHECK(secp256k1_ecdsa_sign(K256(), &sig, digest.data(), secret_.data(), nullptr,
                                    nullptr) == 1);
    ATCR_CHECK(secp256k1_ecdsa_signature_serialize_compact(K256(), out.data(), &sig) == 1);
    return out;
  }
  const P256Curve& c = P256();
  BnPtr d = Bn(secret_);
  PkeyPtr pkey = P256Pkey(public_key_.Uncompressed(), d.get());
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  ATCR_CHECK(ctx != nullptr && EVP_PKEY_sign_init(ctx.get()) == 1);
  size_t der_len = 0;
  ATCR_CHECK(EVP_PKEY_sign(ctx.get(), nullptr, &der_len, digest.data(), digest.size()) == 1);
  Bytes der(der_len);
  ATCR_CHECK(EVP_PKEY_sign(ctx.get(), der.data(), &der_len, digest.data(), digest.size()) == 1);
  const unsigned char* p = der.data();
  SigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  ATCR_CHECK(sig != nullptr);
  const BIGNUM* r = ECDSA_SIG_get0_r(sig.get());
  BnPtr s(BN_dup(ECDSA_SIG_get0_s(sig.get())));
  ATCR_CHECK(s != nullptr);
  if (BN_cmp(s.get(), c.half_n) > 0) {
    // OpenSSL does not normalize: use the equivalent low-S signature (r, n - s).
    ATCR_CHECK(BN_sub(s.get(), c.n, s.get()) == 1);
  }
  ATCR_CHECK(BN_bn2binpad(r, out.data(), 32) == 32);
  ATCR_CHECK(BN_bn2binpad(s.get(), out.data() + 32, 32) == 32);
  return out;
}

}  // namespace atcr::crypto
