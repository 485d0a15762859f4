// Logging setup: spdlog with one format for every atcr process. Secrets never go through here.
#pragma once

#include <string_view>

namespace atcr {

// level: trace|debug|info|warn|error|off. json=true gives one JSON object per line.
void SetupLogging(std::string_view level, bool json = false);

}  // namespace atcr
