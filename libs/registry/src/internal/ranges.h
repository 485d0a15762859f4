// HTTP byte ranges for blob GETs (RFC 9110 §14: one range per request is honoured) and the
// Content-Range of upload chunks ("<start>-<end>", inclusive, as the distribution spec
// writes it; "bytes=<start>-<end>" and "bytes <start>-<end>/<total|*>" are accepted too).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "atcr/base/result.h"

namespace atcr::registry::internal {

struct ByteRange {
  uint64_t first = 0;  // inclusive
  uint64_t last = 0;   // inclusive
  uint64_t length() const { return last - first + 1; }
};

struct RangeRequest {
  enum Kind { kFull, kPartial, kUnsatisfiable } kind = kFull;
  ByteRange range;
};

// Interprets a Range header against a blob of `size` bytes. A header that is malformed, uses
// another unit or asks for several ranges is ignored (kFull), as RFC 9110 allows.
RangeRequest EvaluateRange(std::string_view header, uint64_t size);

// Content-Range of a PATCH/PUT chunk; InvalidArgument when malformed or end < start.
Result<ByteRange> ParseChunkRange(std::string_view header);

// Strict unsigned decimal (no sign, no spaces); nullopt on overflow or garbage.
std::optional<uint64_t> ParseUint(std::string_view text);

}  // namespace atcr::registry::internal
