// Handle rules for new accounts (see internal/account_handle.h).
#include "internal/account_handle.h"

#include <algorithm>
#include <iterator>

#include "atcr/atproto/syntax.h"

namespace atcr::pds::internal {
namespace {

// Names no user may take in front of a service domain: they would impersonate the operator
// or a well-known service. Deliberately short; operators who need more reserve them by
// creating the accounts.
constexpr std::string_view kReservedNames[] = {
    "about",     "abuse",    "account",  "accounts", "admin",     "administrator", "api",
    "app",       "appview",  "atcr",     "atproto",  "auth",      "blog",          "bluesky",
    "bsky",      "contact",  "did",      "dns",      "docs",      "download",      "ftp",
    "help",      "hold",     "hostmaster", "info",   "localhost", "login",         "mail",
    "moderator", "oauth",    "official", "operator", "pds",       "plc",           "postmaster",
    "registry",  "relay",    "root",     "security", "settings",  "signup",        "staff",
    "status",    "support",  "system",   "webmaster", "www",      "xrpc",
};

// TLDs the reference refuses for handles (syntax isValidTld).
constexpr std::string_view kDisallowedTlds[] = {
    ".local", ".arpa", ".invalid", ".localhost", ".internal", ".example", ".alt", ".onion",
};

}  // namespace

bool IsServiceDomainHandle(std::string_view handle, const std::vector<std::string>& domains) {
  return std::any_of(domains.begin(), domains.end(),
                     [&](const std::string& d) { return handle.ends_with(d); });
}

bool IsSupportedHandle(std::string_view handle, const std::vector<std::string>& domains) {
  return std::any_of(domains.begin(), domains.end(), [&](const std::string& d) {
    return handle.ends_with(d) || (d.size() > 1 && handle == std::string_view(d).substr(1));
  });
}

Result<std::string> NormalizeAndValidateNewHandle(std::string_view input,
                                                  const std::vector<std::string>& domains) {
  std::string handle = atproto::NormalizeHandle(input);
  if (Status st = atproto::ValidateHandle(handle); !st.ok()) {
    return InvalidArgument(st.error().message, "InvalidHandle");
  }
  for (std::string_view tld : kDisallowedTlds) {
    if (handle.ends_with(tld)) {
      return InvalidArgument("Handle TLD is invalid or disallowed", "InvalidHandle");
    }
  }
  auto domain = std::find_if(domains.begin(), domains.end(),
                             [&](const std::string& d) { return handle.ends_with(d); });
  if (domain == domains.end()) {
    return InvalidArgument("Not a supported handle domain", "UnsupportedDomain");
  }
  std::string_view front = std::string_view(handle).substr(0, handle.size() - domain->size());
  if (front.find('.') != std::string_view::npos) {
    return InvalidArgument("Invalid characters in handle", "InvalidHandle");
  }
  if (front.size() < 3) return InvalidArgument("Handle too short", "InvalidHandle");
  if (front.size() > 18) return InvalidArgument("Handle too long", "InvalidHandle");
  if (std::find(std::begin(kReservedNames), std::end(kReservedNames), front) !=
      std::end(kReservedNames)) {
    return InvalidArgument("Reserved handle", "HandleNotAvailable");
  }
  return handle;
}

}  // namespace atcr::pds::internal
