// Small blocking file helpers of the hold: directories, atomic writes, 0600 secret files.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>

#include "atcr/base/encoding.h"
#include "atcr/base/result.h"

namespace atcr::hold::internal {

// mkdir -p with `mode` for the directories it creates.
Status EnsureDir(const std::string& path, mode_t mode);
// Writes `data` to a temp file in the same directory, fsyncs it, renames it over `path` and
// fsyncs the directory.
Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode);
Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes);
Status FsyncDir(const std::string& dir);
// A secret kept as hex in a file of mode 0600: read it, or create it from generate() when the
// file does not exist. A group/world-readable file is refused.
Result<Bytes> LoadOrCreateSecretFile(const std::string& path, const std::function<Bytes()>& generate);

}  // namespace atcr::hold::internal
