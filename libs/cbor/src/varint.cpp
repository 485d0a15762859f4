#include "atcr/cbor/varint.h"

#include <string>

#include "atcr/base/check.h"

namespace atcr::cbor {

void AppendVarint(uint64_t value, Bytes& out) {
  ATCR_CHECK(value < (uint64_t{1} << 63));
  while (value >= 0x80) {
    out.push_back(static_cast<uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<uint8_t>(value));
}

size_t VarintSize(uint64_t value) {
  size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

Result<uint64_t> ReadVarint(ByteSpan data, size_t* consumed) {
  uint64_t value = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    if (i == kMaxVarintBytes) return InvalidArgument("varint longer than 9 bytes");
    uint8_t b = data[i];
    value |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      if (b == 0 && i > 0) {
        return InvalidArgument("non-minimal varint (trailing zero byte at offset " +
                               std::to_string(i) + ")");
      }
      *consumed = i + 1;
      return value;
    }
  }
  return InvalidArgument("truncated varint");
}

}  // namespace atcr::cbor
