// Configuration of `atcr pds serve`: defaults, then a YAML file, then ATCR_PDS_* environment
// variables (key path upper-cased, '.' -> '_', e.g. handle_domains -> ATCR_PDS_HANDLE_DOMAINS,
// comma-separated for lists), then command-line flags (applied by the caller). Unknown keys are
// errors. `atcr config init pds` prints DefaultPdsConfigYaml().
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atcr/base/result.h"

namespace atcr::pds {

struct PdsConfig {
  std::string addr = "127.0.0.1:2583";
  std::string data = "./atcr-pds";
  // Where clients reach this PDS (the #atproto_pds endpoint of every DID minted here).
  // Empty: http://<addr>.
  std::string public_url;
  // The PDS's own DID (audience of its session tokens). Empty: did:web of public_url's host.
  std::string service_did;
  std::string plc_url = "http://127.0.0.1:2582";
  std::vector<std::string> handle_domains = {".test"};
  bool invite_required = false;
  std::string admin_password;  // empty: admin endpoints off
  uint64_t blob_max_bytes = 100ull * 1024 * 1024;
  int threads = 0;  // HTTP worker threads; 0 = one per core
  std::string log_level;
  // Relays (https://host) asked to crawl this PDS at start (com.atproto.sync.requestCrawl).
  std::vector<std::string> crawlers;
};

using PdsEnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

Status ApplyPdsConfigYaml(std::string_view yaml, PdsConfig& config);
// The YAML file at `path` (empty: none), then the environment.
Status LoadPdsConfig(const std::string& path, const PdsEnvLookup& env, PdsConfig& config);
std::string DefaultPdsConfigYaml();

}  // namespace atcr::pds
