// Unsigned LEB128 varints as multiformats uses them (CIDs, multicodec prefixes, CAR framing).
// Minimal encodings only, at most 9 bytes (63 bits). Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

#include "atcr/base/encoding.h"
#include "atcr/base/result.h"

namespace atcr::cbor {

inline constexpr size_t kMaxVarintBytes = 9;

// Appends the minimal encoding of `value` (value must be < 2^63).
void AppendVarint(uint64_t value, Bytes& out);
size_t VarintSize(uint64_t value);

// Reads one varint from the start of `data`; sets *consumed to its byte length.
// Rejects truncated input, non-minimal encodings and values of 2^63 or more.
Result<uint64_t> ReadVarint(ByteSpan data, size_t* consumed);

}  // namespace atcr::cbor
