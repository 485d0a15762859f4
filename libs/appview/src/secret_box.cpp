#include "atcr/appview/secret_box.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "atcr/base/hash.h"
#include "internal/files.h"

namespace atcr::appview {
namespace {

constexpr uint8_t kVersion = 1;
constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

}  // namespace

Result<SecretBox> SecretBox::LoadOrCreate(const std::string& path) {
  ATCR_ASSIGN_OR_RETURN(std::string bytes,
                        internal::ReadOrCreateSecretFile(path, kKeySize, [] {
                          Bytes b = RandomBytes(kKeySize);
                          return std::string(b.begin(), b.end());
                        }));
  if (bytes.size() != kKeySize) {
    return InvalidArgument(path + ": expected a " + std::to_string(kKeySize) + "-byte key, found " +
                           std::to_string(bytes.size()) + " bytes");
  }
  std::array<uint8_t, kKeySize> key{};
  std::memcpy(key.data(), bytes.data(), kKeySize);
  return SecretBox(key);
}

std::string SecretBox::Seal(std::string_view plaintext, std::string_view associated_data) const {
  Bytes nonce = RandomBytes(kNonceSize);
  std::string out;
  out.resize(1 + kNonceSize + plaintext.size() + kTagSize);
  out[0] = static_cast<char>(kVersion);
  std::memcpy(out.data() + 1, nonce.data(), kNonceSize);
  auto* ct = reinterpret_cast<unsigned char*>(out.data() + 1 + kNonceSize);

  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) == 1 &&
            EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), nonce.data()) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                              reinterpret_cast<const unsigned char*>(associated_data.data()),
                              static_cast<int>(associated_data.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), ct, &len,
                              reinterpret_cast<const unsigned char*>(plaintext.data()),
                              static_cast<int>(plaintext.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx.get(), ct + len, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize,
                                ct + plaintext.size()) == 1;
  // AES-GCM with a valid key cannot fail short of memory exhaustion.
  if (!ok) std::abort();
  return out;
}

Result<std::string> SecretBox::Open(std::string_view sealed,
                                    std::string_view associated_data) const {
  if (sealed.size() < 1 + kNonceSize + kTagSize || static_cast<uint8_t>(sealed[0]) != kVersion) {
    return Error(ErrorCode::kDataLoss, "sealed secret has an unknown format");
  }
  const auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data() + 1);
  const auto* ct = reinterpret_cast<const unsigned char*>(sealed.data() + 1 + kNonceSize);
  size_t ct_size = sealed.size() - 1 - kNonceSize - kTagSize;
  std::string out(ct_size, '\0');
  std::array<unsigned char, kTagSize> tag{};
  std::memcpy(tag.data(), ct + ct_size, kTagSize);

  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) == 1 &&
            EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), nonce) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                              reinterpret_cast<const unsigned char*>(associated_data.data()),
                              static_cast<int>(associated_data.size())) == 1 &&
            EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, ct,
                              static_cast<int>(ct_size)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len,
                                &len) == 1;
  if (!ok) return Error(ErrorCode::kDataLoss, "sealed secret does not open (wrong key or tampered)");
  return out;
}

}  // namespace atcr::appview
