#include "atcr/oci/media_types.h"

#include <string>

namespace atcr::oci {

bool IsManifestMediaType(std::string_view mt) {
  return mt == kOciManifest || mt == kOciIndex || mt == kDockerManifest ||
         mt == kDockerManifestList;
}

bool IsIndexMediaType(std::string_view mt) { return mt == kOciIndex || mt == kDockerManifestList; }

namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// restricted-name = restricted-name-first *126restricted-name-chars (RFC 6838 §4.2).
bool IsRestrictedName(std::string_view s) {
  if (s.empty() || s.size() > 127 || !IsAlnum(s[0])) return false;
  for (char c : s) {
    if (IsAlnum(c)) continue;
    switch (c) {
      case '!': case '#': case '$': case '&': case '-': case '^': case '_': case '.': case '+':
        continue;
      default:
        return false;
    }
  }
  return true;
}

}  // namespace

bool IsValidMediaType(std::string_view mt) {
  size_t slash = mt.find('/');
  if (slash == std::string_view::npos) return false;
  return IsRestrictedName(mt.substr(0, slash)) && IsRestrictedName(mt.substr(slash + 1));
}

std::string_view MediaTypeEssence(std::string_view mt, std::string& storage) {
  size_t semi = mt.find(';');
  if (semi != std::string_view::npos) mt = mt.substr(0, semi);
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!mt.empty() && is_space(mt.front())) mt.remove_prefix(1);
  while (!mt.empty() && is_space(mt.back())) mt.remove_suffix(1);
  storage.assign(mt);
  for (char& c : storage) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return storage;
}

}  // namespace atcr::oci
