// Cid: a content identifier (CIDv1), the hash link of the ATProto data model.
// Binary form = varint(1) varint(codec) multihash(varint(fn) varint(len) digest);
// string form = multibase 'b' (lowercase base32). Any CIDv1 with a sane multihash is held
// as received (readers must keep the exact CID); IsBlessed() says whether it is one that
// atproto generates (dag-cbor or raw codec, sha2-256, 32-byte digest).
// A Cid is an immutable value; thread-compatible.
//
//   Cid c = Cid::ForDagCbor(cbor::Encode(record));
//   std::string s = c.ToString();                 // "bafyrei..."
//   ATCR_ASSIGN_OR_RETURN(Cid back, Cid::Parse(s));
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "atcr/base/encoding.h"
#include "atcr/base/result.h"

namespace atcr::cbor {

class Cid {
 public:
  // Largest digest accepted in a multihash (sha2-512 / blake2b-512 size).
  static constexpr size_t kMaxDigestSize = 64;
  // Length of a blessed CID in binary form: 01 <codec> 12 20 + 32-byte digest.
  static constexpr size_t kBlessedSize = 36;

  // The empty CID: not a valid link; empty() is true. Exists so Cid can live in containers.
  Cid() = default;

  // Parses the multibase string form. Accepts 'b' (base32) CIDv1; rejects CIDv0 ("Qm...").
  static Result<Cid> Parse(std::string_view text);
  // Parses an exact binary CID (the whole span; no leading 0x00 multibase byte).
  static Result<Cid> FromBytes(ByteSpan binary);
  // Parses a binary CID at the start of `data`, as CAR blocks carry them; *consumed = its length.
  static Result<Cid> ReadPrefix(ByteSpan data, size_t* consumed);

  // CIDv1 with sha2-256 of `data`.
  static Cid ForDagCbor(ByteSpan data);
  static Cid ForRaw(ByteSpan data);
  static Cid ForData(uint64_t codec, ByteSpan data);
  // CIDv1 from an already computed sha2-256 digest.
  static Cid FromSha256(uint64_t codec, const uint8_t (&digest)[32]);
  static Cid FromSha256(uint64_t codec, ByteSpan digest32);

  bool empty() const { return bytes_.empty(); }
  uint64_t version() const { return empty() ? 0 : 1; }
  uint64_t codec() const { return codec_; }
  uint64_t hash_code() const { return hash_code_; }
  ByteSpan digest() const;
  // Binary form (no multibase prefix).
  ByteSpan bytes() const { return bytes_; }
  // True for CIDv1, dag-cbor or raw codec, sha2-256, 32-byte digest.
  bool IsBlessed() const;
  // Checks `data` hashes to this CID (sha2-256 only; other hash functions are an error).
  Status Verify(ByteSpan data) const;

  // Multibase base32 string ("bafy..."); "" for the empty CID.
  std::string ToString() const;

  friend bool operator==(const Cid& a, const Cid& b) { return a.bytes_ == b.bytes_; }
  // Orders by binary form, bytewise.
  friend std::strong_ordering operator<=>(const Cid& a, const Cid& b);

 private:
  Bytes bytes_;
  uint64_t codec_ = 0;
  uint64_t hash_code_ = 0;
  uint8_t digest_offset_ = 0;
};

}  // namespace atcr::cbor

template <>
struct std::hash<atcr::cbor::Cid> {
  size_t operator()(const atcr::cbor::Cid& c) const noexcept;
};
