// Handle rules for accounts created on this PDS, following the reference PDS: syntax, TLD,
// the configured service domains (one label of 3-18 characters in front of the domain), and
// a list of reserved names. Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "atcr/base/result.h"

namespace atcr::pds::internal {

// True when handle ends with one of domains (each starting with '.').
bool IsServiceDomainHandle(std::string_view handle, const std::vector<std::string>& domains);
// Whether `handle` names one of the domains itself ("test" for ".test") or a handle under one.
bool IsSupportedHandle(std::string_view handle, const std::vector<std::string>& domains);

// Normalizes (lowercase) and checks a handle requested at account creation. Errors:
// InvalidHandle (syntax "...", "Handle TLD is invalid or disallowed", "Invalid characters in
// handle", "Handle too short", "Handle too long"), HandleNotAvailable ("Reserved handle"),
// UnsupportedDomain ("Not a supported handle domain"). All kInvalidArgument.
Result<std::string> NormalizeAndValidateNewHandle(std::string_view handle,
                                                  const std::vector<std::string>& domains);

}  // namespace atcr::pds::internal
