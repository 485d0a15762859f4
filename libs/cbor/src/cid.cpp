#include "atcr/cbor/cid.h"

#include <algorithm>
#include <cstring>

#include "atcr/base/check.h"
#include "atcr/base/hash.h"
#include "atcr/cbor/multibase.h"
#include "atcr/cbor/multicodec.h"
#include "atcr/cbor/varint.h"

namespace atcr::cbor {
namespace {

// A CID string longer than this cannot hold a CID we accept; checked before decoding so
// hostile strings cost nothing.
constexpr size_t kMaxCidStringSize = 256;

Error CidError(const std::string& what) { return InvalidArgument("invalid CID: " + what); }

}  // namespace

Result<Cid> Cid::ReadPrefix(ByteSpan data, size_t* consumed) {
  size_t pos = 0;
  size_t n = 0;
  if (data.size() >= 2 && data[0] == 0x12 && data[1] == 0x20) {
    return CidError("CIDv0 is not supported");
  }
  auto version = ReadVarint(data, &n);
  if (!version.ok()) return CidError("version: " + version.error().message);
  if (*version != 1) return CidError("unsupported version " + std::to_string(*version));
  pos += n;
  auto codec = ReadVarint(data.subspan(pos), &n);
  if (!codec.ok()) return CidError("codec: " + codec.error().message);
  pos += n;
  auto hash_code = ReadVarint(data.subspan(pos), &n);
  if (!hash_code.ok()) return CidError("multihash code: " + hash_code.error().message);
  pos += n;
  auto digest_len = ReadVarint(data.subspan(pos), &n);
  if (!digest_len.ok()) return CidError("multihash length: " + digest_len.error().message);
  pos += n;
  if (*digest_len > kMaxDigestSize) {
    return CidError("digest length " + std::to_string(*digest_len) + " exceeds " +
                    std::to_string(kMaxDigestSize));
  }
  if (*hash_code == multicodec::kSha2_256 && *digest_len != 32) {
    return CidError("sha2-256 digest must be 32 bytes, got " + std::to_string(*digest_len));
  }
  if (data.size() - pos < *digest_len) return CidError("truncated digest");
  Cid c;
  c.codec_ = *codec;
  c.hash_code_ = *hash_code;
  c.digest_offset_ = static_cast<uint8_t>(pos);
  pos += *digest_len;
  c.bytes_.assign(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(pos));
  *consumed = pos;
  return c;
}

Result<Cid> Cid::FromBytes(ByteSpan binary) {
  size_t consumed = 0;
  ATCR_ASSIGN_OR_RETURN(Cid c, ReadPrefix(binary, &consumed));
  if (consumed != binary.size()) {
    return CidError(std::to_string(binary.size() - consumed) + " trailing bytes");
  }
  return c;
}

Result<Cid> Cid::Parse(std::string_view text) {
  if (text.empty()) return CidError("empty string");
  if (text.size() > kMaxCidStringSize) return CidError("string too long");
  if (text.size() == 46 && text.substr(0, 2) == "Qm") return CidError("CIDv0 is not supported");
  if (text[0] != 'b') {
    return CidError(std::string("unsupported multibase prefix '") + text[0] +
                    "' (want 'b', base32)");
  }
  auto bytes = MultibaseDecode(text);
  if (!bytes.ok()) return CidError(bytes.error().message);
  return FromBytes(*bytes);
}

Cid Cid::FromSha256(uint64_t codec, ByteSpan digest32) {
  ATCR_CHECK(digest32.size() == 32);
  Cid c;
  c.bytes_.reserve(kBlessedSize + 2);
  AppendVarint(1, c.bytes_);
  AppendVarint(codec, c.bytes_);
  AppendVarint(multicodec::kSha2_256, c.bytes_);
  AppendVarint(32, c.bytes_);
  c.digest_offset_ = static_cast<uint8_t>(c.bytes_.size());
  c.bytes_.insert(c.bytes_.end(), digest32.begin(), digest32.end());
  c.codec_ = codec;
  c.hash_code_ = multicodec::kSha2_256;
  return c;
}

Cid Cid::FromSha256(uint64_t codec, const uint8_t (&digest)[32]) {
  return FromSha256(codec, ByteSpan(digest, 32));
}

Cid Cid::ForData(uint64_t codec, ByteSpan data) {
  auto digest = Sha256(data);
  return FromSha256(codec, ByteSpan(digest));
}

Cid Cid::ForDagCbor(ByteSpan data) { return ForData(multicodec::kDagCbor, data); }
Cid Cid::ForRaw(ByteSpan data) { return ForData(multicodec::kRaw, data); }

ByteSpan Cid::digest() const { return ByteSpan(bytes_).subspan(digest_offset_); }

bool Cid::IsBlessed() const {
  return bytes_.size() == kBlessedSize && hash_code_ == multicodec::kSha2_256 &&
         (codec_ == multicodec::kDagCbor || codec_ == multicodec::kRaw);
}

Status Cid::Verify(ByteSpan data) const {
  if (empty()) return InvalidArgument("empty CID");
  if (hash_code_ != multicodec::kSha2_256) {
    return InvalidArgument("unsupported multihash function 0x" + HexEncode(Bytes{
        static_cast<uint8_t>(hash_code_ >> 8), static_cast<uint8_t>(hash_code_)}));
  }
  auto actual = Sha256(data);
  ByteSpan want = digest();
  if (!std::equal(want.begin(), want.end(), actual.begin(), actual.end())) {
    return InvalidArgument("data does not match CID " + ToString() + " (sha2-256 " +
                           HexEncode(actual) + ")");
  }
  return Ok();
}

std::string Cid::ToString() const {
  if (empty()) return "";
  return MultibaseEncode(Multibase::kBase32, bytes_);
}

std::strong_ordering operator<=>(const Cid& a, const Cid& b) {
  return std::lexicographical_compare_three_way(a.bytes_.begin(), a.bytes_.end(),
                                                b.bytes_.begin(), b.bytes_.end());
}

}  // namespace atcr::cbor

size_t std::hash<atcr::cbor::Cid>::operator()(const atcr::cbor::Cid& c) const noexcept {
  // The tail of a CID is a cryptographic digest: its bytes are already well mixed.
  atcr::ByteSpan b = c.bytes();
  size_t h = 0;
  size_t n = std::min(b.size(), sizeof(h));
  if (n > 0) std::memcpy(&h, b.data() + (b.size() - n), n);
  return h ^ b.size();
}
