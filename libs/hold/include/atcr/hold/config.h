// Configuration of `atcr hold serve`: defaults, then a YAML file with ATCR's hold sections
// (server, storage, registration, quota, gc, admin), then ATCR_HOLD_* environment variables
// (the key path upper-cased with '.' -> '_', e.g. server.public_url -> ATCR_HOLD_SERVER_PUBLIC_URL),
// then command-line flags (applied by the caller), then ValidateHoldConfig.
// Plain values and pure functions; thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "atcr/base/config_text.h"
#include "atcr/base/result.h"

namespace atcr::hold {

// One quota tier. Tiers are ordered; updateCrewTier addresses them by 0-based rank.
struct QuotaTier {
  std::string name;
  uint64_t quota_bytes = 0;
  bool scan_on_push = false;
};

// swabbie 2 GB, deckhand 5 GB, bosun 10 GB, quartermaster 100 GB (decimal units, as ATCR).
std::vector<QuotaTier> DefaultQuotaTiers();

struct HoldConfig {
  // server
  std::string addr = "127.0.0.1:8080";
  std::string public_url;  // required; the hold's did:web comes from its host (and port)
  bool is_public = false;  // captain.public: anonymous pulls allowed
  bool disable_presigned_urls = false;  // always proxy blob bytes through the hold
  std::string data_dir = "./atcr-hold";  // keys, SQLite index, the embedded PDS repo
  int threads = 0;                       // HTTP worker threads; 0 = one per core
  std::string log_level;                 // empty: keep the process-wide level
  // AppView DIDs whose service tokens may call updateCrewTier for any user.
  std::vector<std::string> trusted_appviews;
  int64_t url_expiry_seconds = 15 * 60;  // lifetime of presigned and hold-signed URLs
  uint64_t max_part_bytes = uint64_t{5} << 30;  // one uploadPart body
  int64_t token_clock_skew_seconds = 30;
  // Accept a service token more than once while it lives (ATCR's Go AppView caches them).
  bool allow_token_reuse = false;
  // Where did:plc token issuers are resolved (and, with did_method plc, where the hold's own
  // DID is registered).
  std::string plc_directory_url = "https://plc.directory";

  // storage
  std::string storage_driver = "filesystem";  // filesystem | s3
  std::string storage_root;                   // filesystem; empty = <data_dir>/storage
  std::string s3_access_key;
  std::string s3_secret_key;
  std::string s3_region = "us-east-1";
  std::string s3_bucket;
  std::string s3_endpoint;  // empty = AWS
  bool s3_force_path_style = true;  // endpoint/bucket/key (MinIO, radosgw, Garage, IPs)
  std::string s3_prefix;            // key prefix inside the bucket
  std::string pull_zone;  // CDN base URL (or host) substituted into download redirects

  // registration
  std::string owner_did;  // required
  std::string did_method = "web";  // web (from public_url) | plc (registered on first start)
  bool allow_all_crew = false;
  bool enable_bluesky_posts = false;
  std::string region;
  std::string provider;
  std::string profile_display_name;  // app.bsky.actor.profile; empty = the hold's host
  std::string profile_description;

  // quota
  std::vector<QuotaTier> tiers = DefaultQuotaTiers();
  std::string new_crew_tier = "swabbie";

  // gc
  bool gc_enabled = false;
  int64_t gc_interval_seconds = 24 * 3600;
  int64_t gc_grace_seconds = 3600;         // blobs younger or touched more recently survive
  int64_t gc_upload_max_age_seconds = 24 * 3600;  // unfinished uploads older are aborted
  bool gc_dry_run = false;                 // scheduled runs only report

  // admin
  bool admin_enabled = false;
  std::string admin_token;       // Bearer token for /admin/api/*
  std::string admin_token_file;  // or read it from this file (first line)

  // Derived.
  std::string StorageRoot() const;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup ProcessEnv();

// Applies the YAML file at `path` (empty: none) and then the environment to `config`.
// Unknown keys are errors naming the key (a typo must not silently leave a default in place).
Status LoadHoldConfig(const std::string& path, const EnvLookup& env, HoldConfig& config);
Status ApplyHoldConfigYaml(std::string_view yaml, HoldConfig& config);
// Checks the whole configuration (required keys, URL shapes, DIDs, tiers, GC durations) and
// reads admin.token_file. Errors name the key and what is wrong.
Status ValidateHoldConfig(HoldConfig& config);

// A commented YAML file listing every key with its default.
std::string DefaultHoldConfigYaml();

// Helpers shared with the command line.
// Addresses, durations and sizes parse as in every atcr config (atcr/base/config_text.h).
using atcr::ParseByteSize;
using atcr::ParseDurationSeconds;
using atcr::SplitHostPort;
// 2000000000 -> "2.0 GB", 5368709120 -> "5.4 GB" (decimal, one decimal place).
std::string FormatByteSize(uint64_t bytes);
// "name:size[:scan]" entries separated by ',' (the ATCR_HOLD_QUOTA_TIERS form).
Result<std::vector<QuotaTier>> ParseTierList(std::string_view text);

}  // namespace atcr::hold
