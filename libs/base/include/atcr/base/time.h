// Wall-clock helpers: Unix time and RFC 3339 timestamps (UTC, "Z"), as ATProto and OCI use them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "atcr/base/result.h"

namespace atcr {

int64_t UnixSeconds();
int64_t UnixMicros();
// "2024-01-02T03:04:05.123Z" (millisecond precision), from microseconds since the epoch.
std::string FormatRfc3339(int64_t unix_micros);
inline std::string NowRfc3339() { return FormatRfc3339(UnixMicros()); }
// Parses RFC 3339 with "Z" or a numeric offset and optional fraction; returns microseconds.
Result<int64_t> ParseRfc3339(std::string_view text);

}  // namespace atcr
