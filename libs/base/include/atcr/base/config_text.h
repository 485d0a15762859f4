#pragma once
// Scalar values of configuration files and ATCR_* environment variables, parsed the same way
// by every service (registry, PDS, hold, AppView): booleans, counts, durations, byte sizes and
// listen addresses. Errors name the expected form and quote what was given; callers prefix
// the key.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "atcr/base/result.h"

namespace atcr {

// ASCII lower case.
std::string AsciiLower(std::string_view text);

// Without leading and trailing spaces, tabs, CR and LF.
std::string TrimSpace(std::string_view text);

// true/yes/on/1 and false/no/off/0, any case.
Result<bool> ParseConfigBool(std::string_view text);

// A decimal count in [0, max].
Result<int64_t> ParseConfigCount(std::string_view text, int64_t max);

// "90s", "15m", "24h", "7d" or plain seconds.
Result<int64_t> ParseDurationSeconds(std::string_view text);

// "512", "10MiB", "5GB" (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB; any case, optional space).
Result<uint64_t> ParseByteSize(std::string_view text);

// "host:port", "[ipv6]:port" or ":port" (host 0.0.0.0).
Result<std::pair<std::string, uint16_t>> SplitHostPort(std::string_view addr);

// Comma-separated items, each trimmed, empty items dropped.
std::vector<std::string> SplitConfigList(std::string_view text);

}  // namespace atcr
