// Small durable-file primitives for the filesystem stores: every write goes to a temporary
// file in the same directory, is fsynced, renamed over the target, and the directory is
// fsynced, so readers see the old or the new content and a crash keeps acknowledged data.
// Temporary names start with ".tmp-", which no tag, digest or repository component can.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atcr/base/result.h"

namespace atcr::registry::internal {

// mkdir -p; each directory created is made durable by fsyncing its parent.
Status EnsureDirs(const std::string& path, bool fsync);
Status WriteFileAtomic(const std::string& path, std::string_view data, bool fsync);
// nullopt when the file does not exist; kResourceExhausted above max_bytes.
Result<std::optional<std::string>> ReadSmallFile(const std::string& path, size_t max_bytes);
bool FileExists(const std::string& path);
// kNotFound when absent.
Status RemoveFile(const std::string& path, bool fsync);
// Entry names (not "." / ".." / temporary files); empty when the directory does not exist.
Result<std::vector<std::string>> ListDir(const std::string& path);
// Seconds since the file was last modified; nullopt when absent.
std::optional<int64_t> FileAgeSeconds(const std::string& path);

}  // namespace atcr::registry::internal
