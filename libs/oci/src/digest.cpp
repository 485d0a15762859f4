#include "atcr/oci/digest.h"

#include "atcr/base/check.h"
#include "atcr/base/encoding.h"

namespace atcr::oci {
namespace {

constexpr std::string_view kWire = "DIGEST_INVALID";

bool IsAlgChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlgSeparator(char c) { return c == '+' || c == '.' || c == '_' || c == '-'; }
bool IsEncodedChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '=' || c == '_' || c == '-';
}

// algorithm-component ([a-z0-9]+) joined by single separators [+._-].
bool IsValidAlgorithm(std::string_view alg) {
  if (alg.empty() || !IsAlgChar(alg.front()) || !IsAlgChar(alg.back())) return false;
  bool prev_sep = false;
  for (char c : alg) {
    if (IsAlgChar(c)) {
      prev_sep = false;
    } else if (IsAlgSeparator(c) && !prev_sep) {
      prev_sep = true;
    } else {
      return false;
    }
  }
  return true;
}

Error Invalid(std::string msg) { return InvalidArgument(std::move(msg), std::string(kWire)); }

// Registered algorithms with a fixed lowercase-hex encoding; 0 = not registered.
size_t RegisteredHexLength(std::string_view alg) {
  if (alg == "sha256") return 64;
  if (alg == "sha512") return 128;
  if (alg == "blake3") return 64;
  return 0;
}

}  // namespace

Result<Digest> Digest::Parse(std::string_view text) {
  if (text.size() > kMaxDigestLength) {
    return Invalid("digest is " + std::to_string(text.size()) + " characters, limit is " +
                   std::to_string(kMaxDigestLength));
  }
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return Invalid("digest has no ':' between algorithm and encoded part");
  }
  std::string_view alg = text.substr(0, colon);
  std::string_view enc = text.substr(colon + 1);
  if (!IsValidAlgorithm(alg)) {
    return Invalid("digest algorithm is malformed (want [a-z0-9]+ joined by [+._-])");
  }
  if (enc.empty()) return Invalid("digest has an empty encoded part");
  for (char c : enc) {
    if (!IsEncodedChar(c)) {
      return Invalid("digest encoded part has a character outside [a-zA-Z0-9=_-]");
    }
  }
  if (size_t want = RegisteredHexLength(alg); want != 0) {
    if (enc.size() != want) {
      return Invalid(std::string(alg) + " digest must have " + std::to_string(want) +
                     " hex characters, got " + std::to_string(enc.size()));
    }
    if (!IsLowerHex(enc)) {
      return Invalid(std::string(alg) + " digest must be lowercase hex [a-f0-9]");
    }
  }
  return Digest(std::string(text), colon);
}

Result<Digest> Digest::ParseSupported(std::string_view text) {
  ATCR_ASSIGN_OR_RETURN(Digest d, Parse(text));
  if (!d.supported()) {
    return Invalid("unsupported digest algorithm \"" + std::string(d.algorithm()) +
                   "\" (supported: sha256, sha512)");
  }
  return d;
}

Digest Digest::Sha256Of(ByteSpan data) {
  auto hash = Sha256(data);
  return FromHash(HashAlgorithm::kSha256, hash);
}

Digest Digest::FromHash(HashAlgorithm alg, ByteSpan hash) {
  std::string_view name = alg == HashAlgorithm::kSha256 ? "sha256" : "sha512";
  ATCR_CHECK(hash.size() == (alg == HashAlgorithm::kSha256 ? 32u : 64u));
  std::string text;
  text.reserve(name.size() + 1 + hash.size() * 2);
  text.append(name);
  text.push_back(':');
  text.append(HexEncode(hash));
  return Digest(std::move(text), name.size());
}

std::string_view Digest::algorithm() const {
  return std::string_view(text_).substr(0, colon_);
}

std::string_view Digest::encoded() const {
  if (text_.empty()) return {};
  return std::string_view(text_).substr(colon_ + 1);
}

bool Digest::supported() const {
  std::string_view alg = algorithm();
  return alg == "sha256" || alg == "sha512";
}

HashAlgorithm Digest::hash_algorithm() const {
  ATCR_CHECK(supported());
  return algorithm() == "sha256" ? HashAlgorithm::kSha256 : HashAlgorithm::kSha512;
}

}  // namespace atcr::oci
