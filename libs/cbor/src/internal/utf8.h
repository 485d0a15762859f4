// Strict UTF-8 validation (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace atcr::cbor::internal {

// Returns the offset of the first invalid byte, or text.size() if all of it is valid.
size_t FindInvalidUtf8(std::string_view text);

}  // namespace atcr::cbor::internal
