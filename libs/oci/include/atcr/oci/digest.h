// OCI content digests "algorithm:encoded" (image-spec descriptor.md). sha256 is required,
// sha512 accepted; any other well-formed algorithm parses but is reported as unsupported.
// Digest is an immutable value type.
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "atcr/base/hash.h"
#include "atcr/base/result.h"

namespace atcr::oci {

// Longest digest string Parse() accepts (sha512 is 135 characters).
constexpr size_t kMaxDigestLength = 256;

class Digest {
 public:
  Digest() = default;
  // Grammar check plus, for sha256/sha512, lowercase hex of the exact length.
  // Errors carry wire "DIGEST_INVALID".
  static Result<Digest> Parse(std::string_view text);
  // Like Parse, but also fails (DIGEST_INVALID, "unsupported digest algorithm") unless the
  // algorithm is sha256 or sha512.
  static Result<Digest> ParseSupported(std::string_view text);
  static Digest Sha256Of(ByteSpan data);
  static Digest FromHash(HashAlgorithm alg, ByteSpan hash);

  const std::string& str() const { return text_; }
  std::string_view algorithm() const;
  std::string_view encoded() const;
  bool supported() const;
  HashAlgorithm hash_algorithm() const;  // only when supported()
  bool empty() const { return text_.empty(); }

  auto operator<=>(const Digest&) const = default;

 private:
  explicit Digest(std::string text, size_t colon) : text_(std::move(text)), colon_(colon) {}
  std::string text_;
  size_t colon_ = 0;
};

}  // namespace atcr::oci

template <>
struct std::hash<atcr::oci::Digest> {
  size_t operator()(const atcr::oci::Digest& d) const noexcept {
    return std::hash<std::string>()(d.str());
  }
};
