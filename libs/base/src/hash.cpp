#include "atcr/base/hash.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "atcr/base/check.h"

namespace atcr {

struct Hasher::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

namespace {
const EVP_MD* MdFor(HashAlgorithm alg) {
  return alg == HashAlgorithm::kSha256 ? EVP_sha256() : EVP_sha512();
}
}  // namespace

Hasher::Hasher(HashAlgorithm alg) : alg_(alg), ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  ATCR_CHECK(ctx_->md != nullptr);
  ATCR_CHECK(EVP_DigestInit_ex(ctx_->md, MdFor(alg_), nullptr) == 1);
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

Hasher::Hasher(const Hasher& other) : alg_(other.alg_), ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  ATCR_CHECK(ctx_->md != nullptr);
  ATCR_CHECK(EVP_MD_CTX_copy_ex(ctx_->md, other.ctx_->md) == 1);
}

Hasher& Hasher::operator=(const Hasher& other) {
  if (this != &other) {
    Hasher copy(other);
    *this = std::move(copy);
  }
  return *this;
}

void Hasher::Update(ByteSpan data) {
  ATCR_CHECK(EVP_DigestUpdate(ctx_->md, data.data(), data.size()) == 1);
}

Bytes Hasher::Finish() {
  Bytes out(digest_size());
  unsigned int len = 0;
  ATCR_CHECK(EVP_DigestFinal_ex(ctx_->md, out.data(), &len) == 1);
  ATCR_CHECK(len == out.size());
  ATCR_CHECK(EVP_DigestInit_ex(ctx_->md, MdFor(alg_), nullptr) == 1);
  return out;
}

std::array<uint8_t, 32> Sha256(ByteSpan data) {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  ATCR_CHECK(EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) == 1);
  return out;
}

std::string Sha256Hex(ByteSpan data) {
  auto d = Sha256(data);
  return HexEncode(d);
}

Bytes RandomBytes(size_t n) {
  Bytes out(n);
  ATCR_CHECK(RAND_bytes(out.data(), static_cast<int>(n)) == 1);
  return out;
}

std::string RandomId() { return HexEncode(RandomBytes(16)); }

}  // namespace atcr
