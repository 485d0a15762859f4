#include "atcr/base/config_text.h"

#include <limits>

namespace atcr {

std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string TrimSpace(std::string_view text) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return std::string(text);
}

Result<bool> ParseConfigBool(std::string_view text) {
  std::string v = AsciiLower(text);
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  return InvalidArgument("expected true or false, got \"" + std::string(text) + "\"");
}

Result<int64_t> ParseConfigCount(std::string_view text, int64_t max) {
  auto bad = [&] {
    return InvalidArgument("expected a number from 0 to " + std::to_string(max) + ", got \"" +
                           std::string(text) + "\"");
  };
  if (text.empty() || text.size() > 18) return bad();
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return bad();
    v = v * 10 + (c - '0');
  }
  if (v > max) return bad();
  return v;
}

Result<int64_t> ParseDurationSeconds(std::string_view text) {
  auto bad = [&] {
    return InvalidArgument("expected a duration like 90s, 15m, 24h or 7d, got \"" +
                           std::string(text) + "\"");
  };
  if (text.empty()) return bad();
  int64_t unit = 1;
  switch (text.back()) {
    case 's':
      text.remove_suffix(1);
      break;
    case 'm':
      unit = 60;
      text.remove_suffix(1);
      break;
    case 'h':
      unit = 3600;
      text.remove_suffix(1);
      break;
    case 'd':
      unit = 86400;
      text.remove_suffix(1);
      break;
    default:
      break;
  }
  if (text.empty() || text.size() > 12) return bad();
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return bad();
    v = v * 10 + (c - '0');
  }
  return v * unit;
}

Result<uint64_t> ParseByteSize(std::string_view text) {
  auto bad = [&] {
    return InvalidArgument("expected a size like 512, 10MiB or 5GB, got \"" + std::string(text) +
                           "\"");
  };
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0 || i > 15) return bad();
  uint64_t v = 0;
  for (size_t j = 0; j < i; ++j) v = v * 10 + static_cast<uint64_t>(text[j] - '0');
  std::string unit = AsciiLower(TrimSpace(text.substr(i)));
  static const std::pair<const char*, uint64_t> kUnits[] = {
      {"", 1},
      {"b", 1},
      {"kib", 1ull << 10},
      {"mib", 1ull << 20},
      {"gib", 1ull << 30},
      {"tib", 1ull << 40},
      {"kb", 1000ull},
      {"mb", 1000ull * 1000},
      {"gb", 1000ull * 1000 * 1000},
      {"tb", 1000ull * 1000 * 1000 * 1000},
  };
  for (const auto& [name, mul] : kUnits) {
    if (unit == name) {
      if (v > std::numeric_limits<uint64_t>::max() / mul) return bad();
      return v * mul;
    }
  }
  return bad();
}

Result<std::pair<std::string, uint16_t>> SplitHostPort(std::string_view addr) {
  auto bad = [&] {
    return InvalidArgument("address must be host:port, [ipv6]:port or :port, got \"" +
                           std::string(addr) + "\"");
  };
  std::string host;
  std::string_view port_text;
  if (addr.starts_with("[")) {
    size_t close = addr.find(']');
    if (close == std::string_view::npos || addr.substr(close + 1, 1) != ":") return bad();
    host = std::string(addr.substr(1, close - 1));
    port_text = addr.substr(close + 2);
  } else {
    size_t colon = addr.rfind(':');
    if (colon == std::string_view::npos) return bad();
    host = std::string(addr.substr(0, colon));
    if (host.find(':') != std::string::npos) return bad();
    port_text = addr.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5) return bad();
  uint32_t port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') return bad();
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port > 65535) return bad();
  if (host.empty()) host = "0.0.0.0";
  return std::make_pair(host, static_cast<uint16_t>(port));
}

std::vector<std::string> SplitConfigList(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string item = TrimSpace(text.substr(start, comma - start));
    if (!item.empty()) out.push_back(std::move(item));
    start = comma + 1;
  }
  return out;
}

}  // namespace atcr
