// ATProto signing keys: K-256 (secp256k1, JWT "ES256K", via libsecp256k1) and P-256
// (secp256r1, JWT "ES256", via OpenSSL 3). Signatures are ECDSA over SHA-256 of the message,
// 64-byte compact r||s, always low-S when signing; verification rejects high-S, DER and any
// other length. Public keys travel as compressed SEC1 points in multikey / did:key form.
// Used by atproto (commit signatures), identity (DID documents), PDS/hold/AppView (JWTs).
// PublicKey and PrivateKey are immutable values, safe to share between threads.
//
//   PrivateKey k = PrivateKey::Generate(KeyType::kK256);
//   Bytes sig = k.Sign(AsBytes(msg));
//   ATCR_ASSIGN_OR_RETURN(PublicKey pub, PublicKey::FromDidKey(did_key));
//   ATCR_TRY(pub.Verify(AsBytes(msg), sig));
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "atcr/base/encoding.h"
#include "atcr/base/result.h"

namespace atcr::crypto {

enum class KeyType : uint8_t {
  kK256,  // secp256k1
  kP256,  // NIST P-256 / secp256r1
};

// "ES256K" / "ES256".
const char* JwtAlgorithm(KeyType type);
// "k256" / "p256", for logs and config files.
const char* KeyTypeName(KeyType type);
// Parses "k256"/"secp256k1"/"ES256K" and "p256"/"secp256r1"/"ES256".
Result<KeyType> ParseKeyType(std::string_view name);

inline constexpr size_t kSignatureSize = 64;
inline constexpr size_t kPrivateKeySize = 32;
inline constexpr size_t kCompressedKeySize = 33;
inline constexpr size_t kUncompressedKeySize = 65;

namespace internal {
struct PublicKeyState;
}

class PublicKey {
 public:
  // A SEC1 point: 33-byte compressed (02/03) or 65-byte uncompressed (04). Checks the point
  // is on the curve.
  static Result<PublicKey> FromSec1(KeyType type, ByteSpan point);
  // Multikey: 'z' + base58btc(varint(0xe7 | 0x1200) + 33-byte compressed point).
  static Result<PublicKey> FromMultikey(std::string_view multikey);
  // "did:key:" + multikey.
  static Result<PublicKey> FromDidKey(std::string_view did_key);
  // Legacy DID-document form: 'z' + base58btc(SEC1 point, 33 or 65 bytes), no multicodec;
  // the curve comes from the verification method type.
  static Result<PublicKey> FromLegacyMultibase(KeyType type, std::string_view multibase);
  // A DID-document verification method: type "Multikey" (current) or the legacy
  // "EcdsaSecp256k1VerificationKey2019" / "EcdsaSecp256r1VerificationKey2019".
  static Result<PublicKey> FromVerificationMethod(std::string_view type,
                                                  std::string_view public_key_multibase);

  KeyType type() const { return type_; }
  const std::array<uint8_t, kCompressedKeySize>& compressed() const { return compressed_; }
  // 65-byte 04||x||y.
  Bytes Uncompressed() const;
  // "zQ3s..." (K-256) or "zDnae..." (P-256).
  std::string Multikey() const;
  // "did:key:" + Multikey().
  std::string DidKey() const;

  // Verifies a 64-byte compact low-S signature over SHA-256(message).
  Status Verify(ByteSpan message, ByteSpan signature) const;
  // Same, for a message already hashed with SHA-256.
  Status VerifyDigest(ByteSpan sha256_digest, ByteSpan signature) const;

  friend bool operator==(const PublicKey& a, const PublicKey& b) {
    return a.type_ == b.type_ && a.compressed_ == b.compressed_;
  }

 private:
  PublicKey() = default;
  KeyType type_ = KeyType::kK256;
  std::array<uint8_t, kCompressedKeySize> compressed_{};
  // Parsed curve point, prepared once for fast verification.
  std::shared_ptr<const internal::PublicKeyState> state_;
};

class PrivateKey {
 public:
  static PrivateKey Generate(KeyType type);
  // A 32-byte big-endian scalar in [1, n-1].
  static Result<PrivateKey> FromBytes(KeyType type, ByteSpan scalar);
  // 64 hex characters (the reference PDS's env format).
  static Result<PrivateKey> FromHex(KeyType type, std::string_view hex);

  PrivateKey(const PrivateKey&) = default;
  PrivateKey& operator=(const PrivateKey&) = default;
  PrivateKey(PrivateKey&&) = default;
  PrivateKey& operator=(PrivateKey&&) = default;
  ~PrivateKey();

  KeyType type() const { return public_key_.type(); }
  const PublicKey& public_key() const { return public_key_; }
  // The secret scalar. Keep it out of logs; store it encrypted or in a 0600 file.
  const std::array<uint8_t, kPrivateKeySize>& secret_bytes() const { return secret_; }

  // 64-byte compact low-S ECDSA signature over SHA-256(message).
  Bytes Sign(ByteSpan message) const;
  Bytes SignDigest(ByteSpan sha256_digest) const;

 private:
  PrivateKey(std::array<uint8_t, kPrivateKeySize> secret, PublicKey pub)
      : secret_(secret), public_key_(std::move(pub)) {}
  std::array<uint8_t, kPrivateKeySize> secret_{};
  PublicKey public_key_;
  friend class PublicKey;
};

}  // namespace atcr::crypto
