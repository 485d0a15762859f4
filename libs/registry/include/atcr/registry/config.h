// Configuration of `atcr registry serve`: defaults, then a YAML file, then ATCR_REGISTRY_*
// environment variables (the key path upper-cased with '.' -> '_', e.g. delete.enabled ->
// ATCR_REGISTRY_DELETE_ENABLED), then command-line flags (applied by the caller).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "atcr/base/config_text.h"
#include "atcr/base/result.h"

namespace atcr::registry {

struct RegistryConfig {
  std::string addr = "127.0.0.1:5000";
  std::string data = "./atcr-registry";
  std::string htpasswd;            // empty: no authentication
  std::string log_level;           // empty: keep the process-wide --log-level
  int threads = 0;                 // HTTP worker threads; 0 = one per core
  bool delete_enabled = false;
  int64_t uploads_stale_after = 24 * 3600;  // seconds
  uint64_t uploads_max_blob_bytes = 0;      // 0 = no limit
};

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
// The process environment.
EnvLookup ProcessEnv();

// Applies the YAML file at `path` (empty: none) and then the environment to `config`.
// Unknown keys are errors (a typo must not silently leave a default in place).
Status LoadRegistryConfig(const std::string& path, const EnvLookup& env, RegistryConfig& config);
Status ApplyRegistryConfigYaml(std::string_view yaml, RegistryConfig& config);

// A commented YAML file listing every key with its default.
std::string DefaultRegistryConfigYaml();

// Addresses, durations and sizes parse as in every atcr config (atcr/base/config_text.h).
using atcr::ParseByteSize;
using atcr::ParseDurationSeconds;
using atcr::SplitHostPort;

}  // namespace atcr::registry
