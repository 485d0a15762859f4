// Streaming SHA-256 / SHA-512 over OpenSSL's EVP (SHA-NI when the CPU has it).
// A Hasher is used by one thread at a time; it can be copied to fork a running digest.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "atcr/base/encoding.h"

namespace atcr {

enum class HashAlgorithm { kSha256, kSha512 };

class Hasher {
 public:
  explicit Hasher(HashAlgorithm alg = HashAlgorithm::kSha256);
  ~Hasher();
  Hasher(const Hasher& other);
  Hasher& operator=(const Hasher& other);
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;

  void Update(ByteSpan data);
  void Update(std::string_view data) { Update(AsBytes(data)); }
  // Returns the digest and resets the hasher for reuse.
  Bytes Finish();
  HashAlgorithm algorithm() const { return alg_; }
  size_t digest_size() const { return alg_ == HashAlgorithm::kSha256 ? 32 : 64; }

 private:
  struct Ctx;
  HashAlgorithm alg_;
  std::unique_ptr<Ctx> ctx_;
};

std::array<uint8_t, 32> Sha256(ByteSpan data);
inline std::array<uint8_t, 32> Sha256(std::string_view data) { return Sha256(AsBytes(data)); }
std::string Sha256Hex(ByteSpan data);
inline std::string Sha256Hex(std::string_view data) { return Sha256Hex(AsBytes(data)); }

// Cryptographically secure random bytes (OpenSSL RAND_bytes).
Bytes RandomBytes(size_t n);
// 128 random bits as 32 lowercase hex characters; for ids and nonces.
std::string RandomId();

}  // namespace atcr
