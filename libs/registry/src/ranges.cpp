#include "internal/ranges.h"

#include <limits>

namespace atcr::registry::internal {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<uint64_t> ParseUint(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

RangeRequest EvaluateRange(std::string_view header, uint64_t size) {
  RangeRequest full;
  std::string_view h = Trim(header);
  constexpr std::string_view kUnit = "bytes=";
  if (h.size() < kUnit.size()) return full;
  for (size_t i = 0; i < kUnit.size(); ++i) {
    char c = h[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kUnit[i]) return full;
  }
  std::string_view spec = Trim(h.substr(kUnit.size()));
  if (spec.find(',') != std::string_view::npos) return full;  // several ranges: send it all
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return full;
  std::string_view a = Trim(spec.substr(0, dash));
  std::string_view b = Trim(spec.substr(dash + 1));

  RangeRequest out;
  out.kind = RangeRequest::kPartial;
  if (a.empty()) {  // suffix: the last b bytes
    auto n = ParseUint(b);
    if (!n) return full;
    if (*n == 0 || size == 0) return {RangeRequest::kUnsatisfiable, {}};
    uint64_t len = *n < size ? *n : size;
    out.range = {size - len, size - 1};
    return out;
  }
  auto first = ParseUint(a);
  if (!first) return full;
  uint64_t last = size == 0 ? 0 : size - 1;
  if (!b.empty()) {
    auto l = ParseUint(b);
    if (!l || *l < *first) return full;  // invalid range-spec: ignore the header
    if (*l < last) last = *l;
  }
  if (*first >= size) return {RangeRequest::kUnsatisfiable, {}};
  out.range = {*first, last};
  return out;
}

Result<ByteRange> ParseChunkRange(std::string_view header) {
  std::string_view h = Trim(header);
  if (h.starts_with("bytes=")) {
    h.remove_prefix(6);
  } else if (h.starts_with("bytes ")) {
    h.remove_prefix(6);
    size_t slash = h.find('/');
    if (slash != std::string_view::npos) {
      std::string_view total = h.substr(slash + 1);
      if (total != "*" && !ParseUint(total)) {
        return InvalidArgument("malformed Content-Range total: " + std::string(header));
      }
      h = h.substr(0, slash);
    }
  }
  size_t dash = h.find('-');
  if (dash == std::string_view::npos) {
    return InvalidArgument("Content-Range must be <start>-<end>, got: " + std::string(header));
  }
  auto start = ParseUint(h.substr(0, dash));
  auto end = ParseUint(h.substr(dash + 1));
  if (!start || !end) {
    return InvalidArgument("Content-Range must be <start>-<end>, got: " + std::string(header));
  }
  if (*end < *start) {
    return InvalidArgument("Content-Range end is before its start: " + std::string(header));
  }
  return ByteRange{*start, *end};
}

}  // namespace atcr::registry::internal
