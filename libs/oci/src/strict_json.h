// Strict JSON parsing for untrusted documents (manifests): RFC 8259 only, valid UTF-8, a
// depth limit, and no duplicate object keys. Duplicates are refused because parsers disagree
// on which copy wins (Boost.JSON and Go keep the last, others the first), and a manifest must
// mean the same thing to atcr and to every client that pulls it.
#pragma once

#include <boost/json/value.hpp>
#include <string_view>

#include "atcr/base/result.h"

namespace atcr::oci::internal {

constexpr size_t kMaxJsonDepth = 64;

// Errors are kInvalidArgument with the given wire name and a message naming the problem and
// the byte offset where parsing stopped.
Result<boost::json::value> ParseStrictJson(std::string_view text, std::string_view wire);

}  // namespace atcr::oci::internal
