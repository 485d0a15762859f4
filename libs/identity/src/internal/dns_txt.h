// Blocking DNS TXT lookup through the system resolver (libresolv). Call off the io threads.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "atcr/base/result.h"

namespace atcr::identity::internal {

// All TXT strings of `name` (each record's character-strings concatenated). An existing
// name without TXT records or a non-existent name gives an empty list, not an error.
Result<std::vector<std::string>> LookupTxt(std::string_view name, std::chrono::milliseconds timeout);

}  // namespace atcr::identity::internal
