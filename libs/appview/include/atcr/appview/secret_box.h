// SecretBox: AES-256-GCM sealing of small secrets the AppView keeps at rest (PDS access and
// refresh tokens). The 32-byte key lives in its own file (DATA/secret.key, mode 0600), created
// on first use. A sealed value is version(1) | nonce(12) | ciphertext | tag(16); the associated
// data (e.g. the DID a token belongs to) binds a ciphertext to its row, so a value copied to
// another row does not open. Immutable after construction; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "atcr/base/result.h"

namespace atcr::appview {

class SecretBox {
 public:
  static constexpr size_t kKeySize = 32;

  explicit SecretBox(const std::array<uint8_t, kKeySize>& key) : key_(key) {}
  // Reads the key file, or creates it (0600, random key) when it does not exist. A file of
  // the wrong size or with group/other permissions is refused.
  static Result<SecretBox> LoadOrCreate(const std::string& path);

  std::string Seal(std::string_view plaintext, std::string_view associated_data) const;
  // kDataLoss when the value was tampered with, sealed under another key or other data.
  Result<std::string> Open(std::string_view sealed, std::string_view associated_data) const;

 private:
  std::array<uint8_t, kKeySize> key_;
};

}  // namespace atcr::appview
