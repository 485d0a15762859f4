// Byte encodings used across atcr: hex, base32 (RFC 4648 lowercase, multibase 'b'), base58btc
// (multibase 'z'), base64 (standard and URL-safe). Pure functions; decoders reject any
// character outside the alphabet and report where.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "atcr/base/result.h"

namespace atcr {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;

inline ByteSpan AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsString(ByteSpan b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::string HexEncode(ByteSpan data);                    // lowercase
Result<Bytes> HexDecode(std::string_view text);          // accepts upper and lower case
bool IsLowerHex(std::string_view text);

std::string Base32Encode(ByteSpan data);                 // lowercase, no padding
Result<Bytes> Base32Decode(std::string_view text);       // lowercase, no padding

std::string Base58Encode(ByteSpan data);                 // bitcoin alphabet
Result<Bytes> Base58Decode(std::string_view text);

enum class Base64Variant { kStandard, kUrl };
std::string Base64Encode(ByteSpan data, Base64Variant v = Base64Variant::kStandard,
                         bool pad = true);
// Accepts input with or without padding; rejects characters of the other variant.
Result<Bytes> Base64Decode(std::string_view text, Base64Variant v = Base64Variant::kStandard);

}  // namespace atcr
