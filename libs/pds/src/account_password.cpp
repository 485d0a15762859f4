// scrypt password hashes and app-password generation (see internal/account_password.h).
#include "internal/account_password.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "atcr/base/hash.h"

namespace atcr::pds::internal {
namespace {

constexpr uint64_t kScryptN = 16384;
constexpr uint64_t kScryptR = 8;
constexpr uint64_t kScryptP = 1;
constexpr size_t kScryptKeyLength = 64;
constexpr uint64_t kScryptMaxMem = 64ull * 1024 * 1024;
constexpr char kBase32Alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

std::string RandomBase32(size_t n) {
  Bytes raw = RandomBytes(n);
  std::string out(n, 'a');
  // 256 is a multiple of 32: the low five bits of a uniform byte are uniform.
  for (size_t i = 0; i < n; ++i) out[i] = kBase32Alphabet[raw[i] & 31];
  return out;
}

}  // namespace

Result<std::string> ScryptHex(std::string_view password, std::string_view salt) {
  Bytes key(kScryptKeyLength);
  static const char kEmpty = 0;
  int ok = EVP_PBE_scrypt(password.empty() ? &kEmpty : password.data(), password.size(),
                          reinterpret_cast<const unsigned char*>(salt.data()), salt.size(),
                          kScryptN, kScryptR, kScryptP, kScryptMaxMem, key.data(), key.size());
  if (ok != 1) return Internal("scrypt failed");
  return HexEncode(key);
}

Result<std::string> HashAccountPassword(std::string_view password) {
  std::string salt = HexEncode(RandomBytes(16));
  ATCR_ASSIGN_OR_RETURN(std::string hash, ScryptHex(password, salt));
  return salt + ":" + hash;
}

Result<std::string> HashAppPassword(std::string_view did, std::string_view password) {
  auto digest = Sha256(did);
  std::string salt = HexEncode(ByteSpan(digest.data(), 16));
  ATCR_ASSIGN_OR_RETURN(std::string hash, ScryptHex(password, salt));
  return salt + ":" + hash;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool VerifyPasswordHash(std::string_view password, std::string_view stored) {
  size_t colon = stored.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == stored.size()) return false;
  auto hash = ScryptHex(password, stored.substr(0, colon));
  if (!hash.ok()) return false;
  return ConstantTimeEquals(*hash, stored.substr(colon + 1));
}

std::string GenerateAppPassword() {
  std::string s = RandomBase32(16);
  return s.substr(0, 4) + "-" + s.substr(4, 4) + "-" + s.substr(8, 4) + "-" + s.substr(12, 4);
}

std::string GenerateInviteCode(std::string_view hostname) {
  std::string host(hostname);
  for (char& c : host) {
    if (c == '.') c = '-';
  }
  std::string t = RandomBase32(10);
  return host + "-" + t.substr(0, 5) + "-" + t.substr(5, 5);
}

}  // namespace atcr::pds::internal
