#include "atcr/oci/name.h"

namespace atcr::oci {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsTagChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

Error NameInvalid(std::string msg) { return InvalidArgument(std::move(msg), "NAME_INVALID"); }
Error TagInvalid(std::string msg) { return InvalidArgument(std::move(msg), "TAG_INVALID"); }

// One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*. Returns a reason or nullptr.
const char* CheckComponent(std::string_view c) {
  if (c.empty()) return "has an empty path component";
  size_t i = 0;
  while (true) {
    size_t run = 0;
    while (i < c.size() && IsLowerAlnum(c[i])) ++i, ++run;
    if (run == 0) {
      return "has a path component that does not start or end with [a-z0-9] or has two "
             "separators in a row";
    }
    if (i == c.size()) return nullptr;
    char s = c[i];
    if (s == '.') {
      ++i;
    } else if (s == '_') {
      ++i;
      if (i < c.size() && c[i] == '_') ++i;
    } else if (s == '-') {
      while (i < c.size() && c[i] == '-') ++i;
    } else {
      return "has a character outside [a-z0-9._/-] (names are lowercase)";
    }
    if (i == c.size()) return "has a path component that ends with a separator";
  }
}

}  // namespace

Status ValidateRepositoryName(std::string_view name) {
  if (name.empty()) return NameInvalid("repository name is empty");
  if (name.size() > kMaxNameLength) {
    return NameInvalid("repository name is " + std::to_string(name.size()) +
                       " characters, limit is " + std::to_string(kMaxNameLength));
  }
  size_t start = 0;
  while (true) {
    size_t slash = name.find('/', start);
    std::string_view comp =
        name.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (const char* why = CheckComponent(comp)) {
      return NameInvalid(std::string("repository name ") + why);
    }
    if (slash == std::string_view::npos) return Ok();
    start = slash + 1;
  }
}

Status ValidateTag(std::string_view tag) {
  if (tag.empty()) return TagInvalid("tag is empty");
  if (tag.size() > kMaxTagLength) {
    return TagInvalid("tag is " + std::to_string(tag.size()) + " characters, limit is " +
                      std::to_string(kMaxTagLength));
  }
  if (tag[0] == '.' || tag[0] == '-') return TagInvalid("tag must not start with '.' or '-'");
  for (char c : tag) {
    if (!IsTagChar(c)) return TagInvalid("tag has a character outside [a-zA-Z0-9._-]");
  }
  return Ok();
}

Result<Reference> ParseReference(std::string_view text) {
  if (text.find(':') != std::string_view::npos) {
    ATCR_ASSIGN_OR_RETURN(Digest d, Digest::Parse(text));
    return Reference{std::move(d)};
  }
  ATCR_TRY(ValidateTag(text));
  return Reference{std::string(text)};
}

}  // namespace atcr::oci
