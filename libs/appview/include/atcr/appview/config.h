// Configuration of `atcr appview serve`: defaults, then a YAML file, then ATCR_APPVIEW_*
// environment variables (the key path upper-cased with '.' -> '_', e.g. hold.default_did ->
// ATCR_APPVIEW_HOLD_DEFAULT_DID), then command-line flags (applied by the caller). The map
// identity.handle_overrides is written in YAML as a map and in the environment as
// ".test=http://localhost:2583,.example=http://...". Plain values; thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "atcr/base/result.h"
#include "atcr/registry/config.h"

namespace atcr::appview {

struct AppViewConfig {
  std::string addr = "127.0.0.1:5000";
  // URL clients reach the AppView at (the token realm is <base_url>/auth/token). Empty:
  // http://<addr>, with 127.0.0.1 shown as localhost.
  std::string base_url;
  // Docker token `service` / JWT audience. Empty: host[:port] of base_url.
  std::string service_name;
  std::string data = "./atcr-appview";
  std::string log_level;
  int threads = 0;

  // Where pushes go when the user's profile names no defaultHold.
  std::string default_hold_did;
  // The default hold's endpoint, to skip resolving its DID (development). Empty: resolve.
  std::string default_hold_url;

  int64_t token_ttl_seconds = 300;
  // A successful app-password login is remembered (as a salted hash) this long, so repeated
  // token requests do not each create a PDS session.
  int64_t credential_cache_seconds = 600;

  std::string plc_url = "https://plc.directory";
  int64_t identity_cache_seconds = 300;
  bool identity_use_dns = true;
  // Handle suffix -> PDS base URL for development handles (".test" -> http://localhost:2583).
  std::map<std::string, std::string> handle_overrides;

  bool delete_enabled = true;
  uint64_t max_blob_bytes = 0;  // 0 = no limit
  uint64_t upload_part_bytes = 16ull << 20;
  // Parts that go to the hold itself (uploadPart, or part URLs on the hold's own origin) over
  // http: streamed from the spool, so one part per blob up to this size.
  uint64_t hold_part_bytes = 5ull << 30;
  int64_t uploads_stale_after_seconds = 24 * 3600;

  uint64_t cache_max_bytes = 64ull << 20;
  // Subscribe to the firehose of the PDSes of logged-in users to invalidate cached records.
  bool firehose_enabled = true;
  // Tell the hold about pulls (io.atcr.hold.notifyManifest, operation "pull"), in the background.
  bool notify_pulls = true;
  // Extra CA file (PEM) for outbound https (private deployments, tests).
  std::string tls_ca_file;

  // Derived values.
  std::string EffectiveBaseUrl() const;
  std::string EffectiveServiceName() const;
};

using registry::EnvLookup;
using registry::ProcessEnv;

// Applies the YAML file at `path` (empty: none) and then the environment. Unknown keys are
// errors (a typo must not silently leave a default in place).
Status LoadAppViewConfig(const std::string& path, const EnvLookup& env, AppViewConfig& config);
Status ApplyAppViewConfigYaml(std::string_view yaml, AppViewConfig& config);
// Checks cross-field rules (a default hold that is a DID, URLs that parse, ...).
Status ValidateAppViewConfig(const AppViewConfig& config);
// A commented YAML file listing every key with its default.
std::string DefaultAppViewConfigYaml();

}  // namespace atcr::appview
