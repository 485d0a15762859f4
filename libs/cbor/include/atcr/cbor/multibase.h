// Multibase strings: a one-character prefix naming the base, then the encoded bytes.
// atcr writes 'b' (lowercase base32, no padding: CIDs) and 'z' (base58btc: multikeys).
// Decoding also accepts 'u' (base64url, no padding). Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "atcr/base/encoding.h"
#include "atcr/base/result.h"

namespace atcr::cbor {

enum class Multibase : char {
  kBase32 = 'b',
  kBase58Btc = 'z',
  kBase64Url = 'u',
};

std::string MultibaseEncode(Multibase base, ByteSpan data);
// Decodes any supported base, chosen by the prefix character. Unknown prefixes are errors.
Result<Bytes> MultibaseDecode(std::string_view text);

}  // namespace atcr::cbor
