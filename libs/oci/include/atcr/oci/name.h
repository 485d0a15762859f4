// Repository names and references (tag or digest) exactly as distribution-spec gives them.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "atcr/base/result.h"
#include "atcr/oci/digest.h"

namespace atcr::oci {

constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxTagLength = 128;

// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*, at most 255 chars.
// Errors carry wire "NAME_INVALID".
Status ValidateRepositoryName(std::string_view name);
// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}. Errors carry wire "TAG_INVALID" (mapped to
// MANIFEST_INVALID / 400 by the registry where the spec has no tag code).
Status ValidateTag(std::string_view tag);

// A manifest <reference>: a tag or a digest (anything containing ':' must be a digest).
struct Reference {
  std::variant<std::string, Digest> value;
  bool is_digest() const { return value.index() == 1; }
  const std::string& tag() const { return std::get<0>(value); }
  const Digest& digest() const { return std::get<1>(value); }
  std::string str() const { return is_digest() ? digest().str() : tag(); }
};
Result<Reference> ParseReference(std::string_view text);

}  // namespace atcr::oci
