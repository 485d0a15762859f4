// Small file helpers for the AppView's data directory: secret files (mode 0600, created
// atomically on first use). Blocking; call from net::RunBlocking or at startup.
#pragma once

#include <functional>
#include <string>

#include "atcr/base/result.h"

namespace atcr::appview::internal {

// Returns the contents of `path`. When it does not exist, writes make() there with mode 0600
// (temp file + fsync + link, so two processes racing agree on one value) and returns it.
// A file readable or writable by group or others is refused.
Result<std::string> ReadOrCreateSecretFile(const std::string& path, size_t max_bytes,
                                           const std::function<std::string()>& make);

// mkdir -p with mode 0700 for the last component.
Status MakeDirs(const std::string& path);

}  // namespace atcr::appview::internal
