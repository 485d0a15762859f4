#include "atcr/hold/config.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <boost/url/parse.hpp>

#include "atcr/atproto/syntax.h"

namespace atcr::hold {
namespace {

auto& Lower = AsciiLower;
auto& Trim = TrimSpace;
auto& ParseBool = ParseConfigBool;
auto& SplitList = SplitConfigList;

Result<int> ParseSmallInt(std::string_view text) {
  ATCR_ASSIGN_OR_RETURN(int64_t v, ParseConfigCount(text, 999999));
  return static_cast<int>(v);
}

using Setter = std::function<Status(HoldConfig&, const std::string&)>;

Setter String(std::string HoldConfig::*field) {
  return [field](HoldConfig& c, const std::string& v) -> Status {
    c.*field = v;
    return Ok();
  };
}
Setter Bool(bool HoldConfig::*field) {
  return [field](HoldConfig& c, const std::string& v) -> Status {
    ATCR_ASSIGN_OR_RETURN(c.*field, ParseBool(v));
    return Ok();
  };
}
Setter Duration(int64_t HoldConfig::*field) {
  return [field](HoldConfig& c, const std::string& v) -> Status {
    ATCR_ASSIGN_OR_RETURN(c.*field, ParseDurationSeconds(v));
    return Ok();
  };
}
Setter Size(uint64_t HoldConfig::*field) {
  return [field](HoldConfig& c, const std::string& v) -> Status {
    ATCR_ASSIGN_OR_RETURN(c.*field, ParseByteSize(v));
    return Ok();
  };
}

// One scalar configuration key: its dotted path and how a text value sets it. List keys
// (server.trusted_appviews, quota.tiers) also take a comma-separated scalar (the env form).
struct Key {
  const char* path;
  Setter set;
};

const std::vector<Key>& Keys() {
  static const std::vector<Key> keys = {
      {"server.addr",
       [](HoldConfig& c, const std::string& v) -> Status {
         ATCR_TRY(SplitHostPort(v));
         c.addr = v;
         return Ok();
       }},
      {"server.public_url", String(&HoldConfig::public_url)},
      {"server.public", Bool(&HoldConfig::is_public)},
      {"server.disable_presigned_urls", Bool(&HoldConfig::disable_presigned_urls)},
      {"server.data_dir", String(&HoldConfig::data_dir)},
      {"server.threads",
       [](HoldConfig& c, const std::string& v) -> Status {
         ATCR_ASSIGN_OR_RETURN(c.threads, ParseSmallInt(v));
         return Ok();
       }},
      {"server.log_level",
       [](HoldConfig& c, const std::string& v) -> Status {
         for (const char* l : {"trace", "debug", "info", "warn", "error", "off", ""}) {
           if (v == l) {
             c.log_level = v;
             return Ok();
           }
         }
         return InvalidArgument("expected trace|debug|info|warn|error|off, got \"" + v + "\"");
       }},
      {"server.trusted_appviews",
       [](HoldConfig& c, const std::string& v) -> Status {
         c.trusted_appviews = SplitList(v);
         return Ok();
       }},
      {"server.url_expiry", Duration(&HoldConfig::url_expiry_seconds)},
      {"server.max_part_size", Size(&HoldConfig::max_part_bytes)},
      {"server.token_clock_skew", Duration(&HoldConfig::token_clock_skew_seconds)},
      {"server.allow_token_reuse", Bool(&HoldConfig::allow_token_reuse)},
      {"server.plc_directory_url", String(&HoldConfig::plc_directory_url)},
      {"storage.driver", String(&HoldConfig::storage_driver)},
      {"storage.root", String(&HoldConfig::storage_root)},
      {"storage.access_key", String(&HoldConfig::s3_access_key)},
      {"storage.secret_key", String(&HoldConfig::s3_secret_key)},
      {"storage.region", String(&HoldConfig::s3_region)},
      {"storage.bucket", String(&HoldConfig::s3_bucket)},
      {"storage.endpoint", String(&HoldConfig::s3_endpoint)},
      {"storage.force_path_style", Bool(&HoldConfig::s3_force_path_style)},
      {"storage.prefix", String(&HoldConfig::s3_prefix)},
      {"storage.pull_zone", String(&HoldConfig::pull_zone)},
      {"registration.owner_did", String(&HoldConfig::owner_did)},
      {"registration.did_method", String(&HoldConfig::did_method)},
      {"registration.allow_all_crew", Bool(&HoldConfig::allow_all_crew)},
      {"registration.enable_bluesky_posts", Bool(&HoldConfig::enable_bluesky_posts)},
      {"registration.region", String(&HoldConfig::region)},
      {"registration.provider", String(&HoldConfig::provider)},
      {"registration.profile_display_name", String(&HoldConfig::profile_display_name)},
      {"registration.profile_description", String(&HoldConfig::profile_description)},
      {"quota.tiers",
       [](HoldConfig& c, const std::string& v) -> Status {
         ATCR_ASSIGN_OR_RETURN(c.tiers, ParseTierList(v));
         return Ok();
       }},
      {"quota.defaults.new_crew_tier", String(&HoldConfig::new_crew_tier)},
      {"gc.enabled", Bool(&HoldConfig::gc_enabled)},
      {"gc.interval", Duration(&HoldConfig::gc_interval_seconds)},
      {"gc.grace_period", Duration(&HoldConfig::gc_grace_seconds)},
      {"gc.upload_max_age", Duration(&HoldConfig::gc_upload_max_age_seconds)},
      {"gc.dry_run", Bool(&HoldConfig::gc_dry_run)},
      {"admin.enabled", Bool(&HoldConfig::admin_enabled)},
      {"admin.token", String(&HoldConfig::admin_token)},
      {"admin.token_file", String(&HoldConfig::admin_token_file)},
  };
  return keys;
}

const Key* FindKey(std::string_view path) {
  for (const Key& k : Keys()) {
    if (path == k.path) return &k;
  }
  return nullptr;
}

std::string EnvName(std::string_view path) {
  std::string out = "ATCR_HOLD_";
  for (char c : path) {
    if (c == '.') {
      out.push_back('_');
    } else if (c >= 'a' && c <= 'z') {
      out.push_back(static_cast<char>(c - 'a' + 'A'));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Status WithKey(const std::string& path, Status st) {
  if (st.ok()) return st;
  return InvalidArgument(path + ": " + st.error().message);
}

// quota.tiers as a YAML sequence of {name, quota, scan_on_push}.
Status ApplyTiers(const YAML::Node& seq, HoldConfig& config) {
  std::vector<QuotaTier> tiers;
  for (size_t i = 0; i < seq.size(); ++i) {
    const YAML::Node& item = seq[i];
    std::string where = "quota.tiers[" + std::to_string(i) + "]";
    if (!item.IsMap()) return InvalidArgument(where + ": expected a map with name and quota");
    QuotaTier tier;
    bool has_quota = false;
    for (const auto& kv : item) {
      std::string key = kv.first.as<std::string>();
      if (!kv.second.IsScalar()) return InvalidArgument(where + "." + key + ": expected a value");
      const std::string& v = kv.second.Scalar();
      if (key == "name") {
        tier.name = v;
      } else if (key == "quota") {
        auto size = ParseByteSize(v);
        if (!size.ok()) return InvalidArgument(where + ".quota: " + size.error().message);
        tier.quota_bytes = *size;
        has_quota = true;
      } else if (key == "scan_on_push") {
        auto b = ParseBool(v);
        if (!b.ok()) return InvalidArgument(where + ".scan_on_push: " + b.error().message);
        tier.scan_on_push = *b;
      } else {
        return InvalidArgument("unknown configuration key: " + where + "." + key);
      }
    }
    if (tier.name.empty()) return InvalidArgument(where + ": name is required");
    if (!has_quota) return InvalidArgument(where + ": quota is required");
    tiers.push_back(std::move(tier));
  }
  config.tiers = std::move(tiers);
  return Ok();
}

Status ApplyNode(const YAML::Node& node, const std::string& prefix, HoldConfig& config) {
  if (!node.IsMap()) {
    return InvalidArgument((prefix.empty() ? "config" : prefix) + ": expected a map");
  }
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
    std::string path = prefix.empty() ? key : prefix + "." + key;
    const YAML::Node& value = kv.second;
    if (path == "quota.tiers" && value.IsSequence()) {
      ATCR_TRY(ApplyTiers(value, config));
      continue;
    }
    if (path == "server.trusted_appviews" && value.IsSequence()) {
      std::vector<std::string> dids;
      for (const auto& item : value) {
        if (!item.IsScalar()) return InvalidArgument(path + ": expected a list of DIDs");
        dids.push_back(item.Scalar());
      }
      config.trusted_appviews = std::move(dids);
      continue;
    }
    if (value.IsMap()) {
      ATCR_TRY(ApplyNode(value, path, config));
      continue;
    }
    const Key* k = FindKey(path);
    if (k == nullptr) return InvalidArgument("unknown configuration key: " + path);
    if (value.IsNull()) continue;  // "key:" with nothing keeps the default
    if (!value.IsScalar()) return InvalidArgument(path + ": expected a single value");
    ATCR_TRY(WithKey(path, k->set(config, value.Scalar())));
  }
  return Ok();
}

// scheme://host[:port] with nothing after it (a trailing '/' is tolerated).
Status CheckBaseUrl(std::string_view key, std::string& url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) {
    return InvalidArgument(std::string(key) + ": \"" + url + "\" is not an absolute URL");
  }
  if (parsed->scheme() != "http" && parsed->scheme() != "https") {
    return InvalidArgument(std::string(key) + ": scheme must be http or https");
  }
  if (parsed->host().empty()) return InvalidArgument(std::string(key) + ": URL has no host");
  if (!parsed->encoded_path().empty() || parsed->has_query() || parsed->has_fragment() ||
      parsed->has_userinfo()) {
    return InvalidArgument(std::string(key) +
                           ": must be scheme://host[:port] without path, query or user");
  }
  return Ok();
}

}  // namespace

std::vector<QuotaTier> DefaultQuotaTiers() {
  return {
      {"swabbie", 2'000'000'000ull, false},
      {"deckhand", 5'000'000'000ull, false},
      {"bosun", 10'000'000'000ull, false},
      {"quartermaster", 100'000'000'000ull, false},
  };
}

std::string HoldConfig::StorageRoot() const {
  if (!storage_root.empty()) return storage_root;
  return data_dir + "/storage";
}

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Status ApplyHoldConfigYaml(std::string_view yaml, HoldConfig& config) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string("config is not valid YAML: ") + e.what());
  }
  if (root.IsNull()) return Ok();
  try {
    return ApplyNode(root, "", config);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string("config: ") + e.what());
  }
}

Status LoadHoldConfig(const std::string& path, const EnvLookup& env, HoldConfig& config) {
  if (!path.empty()) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error(ErrorCode::kNotFound, "cannot read config file " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    Status st = ApplyHoldConfigYaml(ss.str(), config);
    if (!st.ok()) return InvalidArgument(path + ": " + st.error().message);
  }
  if (env) {
    for (const Key& k : Keys()) {
      std::string name = EnvName(k.path);
      if (auto v = env(name)) {
        Status st = k.set(config, *v);
        if (!st.ok()) return InvalidArgument(name + ": " + st.error().message);
      }
    }
  }
  return Ok();
}

Status ValidateHoldConfig(HoldConfig& c) {
  if (c.public_url.empty()) {
    return InvalidArgument("server.public_url is required (the hold's did:web comes from it)");
  }
  ATCR_TRY(CheckBaseUrl("server.public_url", c.public_url));
  if (auto hp = SplitHostPort(c.addr); !hp.ok()) {
    return InvalidArgument("server.addr: " + hp.error().message);
  }
  if (c.data_dir.empty()) return InvalidArgument("server.data_dir must not be empty");
  for (const std::string& did : c.trusted_appviews) {
    if (!atproto::ValidateDid(did).ok()) {
      return InvalidArgument("server.trusted_appviews: \"" + did + "\" is not a DID");
    }
  }
  if (c.url_expiry_seconds < 10 || c.url_expiry_seconds > 7 * 24 * 3600) {
    return InvalidArgument("server.url_expiry: must be between 10s and 7d");
  }
  if (c.max_part_bytes == 0) return InvalidArgument("server.max_part_size: must be positive");
  ATCR_TRY(CheckBaseUrl("server.plc_directory_url", c.plc_directory_url));
  if (c.token_clock_skew_seconds < 0 || c.token_clock_skew_seconds > 600) {
    return InvalidArgument("server.token_clock_skew: must be between 0 and 10m");
  }

  if (c.storage_driver == "filesystem") {
    if (c.StorageRoot().empty()) return InvalidArgument("storage.root must not be empty");
  } else if (c.storage_driver == "s3") {
    if (c.s3_bucket.empty()) return InvalidArgument("storage.bucket is required for the s3 driver");
    if (c.s3_region.empty()) return InvalidArgument("storage.region is required for the s3 driver");
    if (c.s3_access_key.empty() || c.s3_secret_key.empty()) {
      return InvalidArgument("storage.access_key and storage.secret_key are required for s3");
    }
    if (!c.s3_endpoint.empty()) ATCR_TRY(CheckBaseUrl("storage.endpoint", c.s3_endpoint));
  } else {
    return InvalidArgument("storage.driver: expected filesystem or s3, got \"" + c.storage_driver +
                           "\"");
  }
  if (!c.pull_zone.empty()) {
    if (c.pull_zone.find("://") == std::string::npos) c.pull_zone = "https://" + c.pull_zone;
    ATCR_TRY(CheckBaseUrl("storage.pull_zone", c.pull_zone));
  }

  if (c.owner_did.empty()) return InvalidArgument("registration.owner_did is required");
  if (!atproto::ValidateDid(c.owner_did).ok()) {
    return InvalidArgument("registration.owner_did: \"" + c.owner_did + "\" is not a DID");
  }
  if (c.did_method != "web" && c.did_method != "plc") {
    return InvalidArgument("registration.did_method: expected web or plc, got \"" + c.did_method +
                           "\"");
  }
  if (c.region.size() > 64) return InvalidArgument("registration.region: longer than 64");
  if (c.provider.size() > 64) return InvalidArgument("registration.provider: longer than 64");

  if (c.tiers.empty()) return InvalidArgument("quota.tiers: at least one tier is required");
  std::set<std::string> names;
  for (const QuotaTier& t : c.tiers) {
    if (t.name.empty() || t.name.size() > 32) {
      return InvalidArgument("quota.tiers: tier names must be 1..32 characters");
    }
    if (!names.insert(t.name).second) {
      return InvalidArgument("quota.tiers: duplicate tier \"" + t.name + "\"");
    }
  }
  if (!names.count(c.new_crew_tier)) {
    return InvalidArgument("quota.defaults.new_crew_tier: \"" + c.new_crew_tier +
                           "\" is not one of quota.tiers");
  }

  if (c.gc_interval_seconds < 60) return InvalidArgument("gc.interval: must be at least 1m");
  if (c.gc_grace_seconds < 0) return InvalidArgument("gc.grace_period: must not be negative");
  if (c.gc_upload_max_age_seconds < 60) {
    return InvalidArgument("gc.upload_max_age: must be at least 1m");
  }

  if (!c.admin_token_file.empty()) {
    std::ifstream in(c.admin_token_file);
    if (!in) return InvalidArgument("admin.token_file: cannot read " + c.admin_token_file);
    std::string line;
    std::getline(in, line);
    c.admin_token = Trim(line);
  }
  if (c.admin_enabled && c.admin_token.size() < 16) {
    return InvalidArgument(
        "admin.enabled needs admin.token (or admin.token_file) of at least 16 characters");
  }
  return Ok();
}

std::string DefaultHoldConfigYaml() {
  HoldConfig d;
  auto b = [](bool v) { return v ? "true" : "false"; };
  std::ostringstream o;
  o << "# atcr hold configuration (`atcr hold serve --config FILE`).\n"
       "# Every key can be overridden by an environment variable: ATCR_HOLD_ followed by the key\n"
       "# path upper-cased with '.' replaced by '_' (server.public_url ->\n"
       "# ATCR_HOLD_SERVER_PUBLIC_URL). Lists take comma-separated values there\n"
       "# (ATCR_HOLD_QUOTA_TIERS=\"swabbie:2GB,deckhand:5GB:scan\"). Flags override both.\n"
       "# Durations take s, m, h, d suffixes; sizes B, KiB, MiB, GiB, TiB or KB, MB, GB, TB.\n"
       "\n"
       "server:\n"
       "  # Address to listen on: host:port, [ipv6]:port, or :port for every interface.\n"
    << "  addr: \"" << d.addr << "\"\n"
    << "  # Public base URL (scheme://host[:port], required). The hold's DID is did:web of its\n"
       "  # host, with the port percent-encoded: http://localhost:8080 -> did:web:localhost%3A8080.\n"
       "  public_url: \"\"\n"
       "  # Anonymous pulls allowed (captain.public). Writes always need owner or crew.\n"
    << "  public: " << b(d.is_public) << "\n"
    << "  # Proxy blob bytes through the hold instead of redirecting to signed URLs.\n"
    << "  disable_presigned_urls: " << b(d.disable_presigned_urls) << "\n"
    << "  # Signing key, URL-signing key, SQLite index and the hold's repository live here.\n"
    << "  data_dir: \"" << d.data_dir << "\"\n"
    << "  # HTTP worker threads; 0 = one per core.\n"
    << "  threads: " << d.threads << "\n"
    << "  # trace|debug|info|warn|error|off. Empty: the global --log-level.\n"
       "  log_level: \"\"\n"
       "  # AppView DIDs whose service tokens may set any crew member's tier (updateCrewTier).\n"
       "  trusted_appviews: []\n"
       "  # Lifetime of presigned (S3) and hold-signed (filesystem) blob URLs.\n"
       "  url_expiry: 15m\n"
       "  # Largest body of one uploadPart.\n"
       "  max_part_size: 5GiB\n"
       "  # Tolerance for exp/iat of service-auth tokens.\n"
       "  token_clock_skew: 30s\n"
       "  # Accept a service token again while it lives. Off: each token's jti is accepted\n"
       "  # once (replay protection; atcr's AppView asks for a fresh token per call). On: for\n"
       "  # AppViews that cache a token per user and hold, as ATCR's Go AppView does.\n"
    << "  allow_token_reuse: " << b(d.allow_token_reuse) << "\n"
       "  # PLC directory for resolving did:plc token issuers (and registering the hold's\n"
       "  # did:plc with registration.did_method: plc).\n"
    << "  plc_directory_url: " << d.plc_directory_url << "\n"
       "\n"
       "storage:\n"
       "  # filesystem or s3.\n"
    << "  driver: " << d.storage_driver << "\n"
    << "  # filesystem: where blobs live. Empty: <server.data_dir>/storage.\n"
       "  root: \"\"\n"
       "  # s3: credentials, region, bucket and endpoint (empty endpoint = AWS).\n"
       "  access_key: \"\"\n"
       "  secret_key: \"\"\n"
    << "  region: " << d.s3_region << "\n"
    << "  bucket: \"\"\n"
       "  endpoint: \"\"\n"
       "  # s3: path-style addressing (endpoint/bucket/key) instead of bucket.endpoint/key.\n"
    << "  force_path_style: " << b(d.s3_force_path_style) << "\n"
    << "  # s3: key prefix inside the bucket (e.g. \"atcr/\"); empty = the bucket root.\n"
       "  prefix: \"\"\n"
    << "  # CDN base URL or host substituted into download redirects (e.g. a pull zone).\n"
       "  pull_zone: \"\"\n"
       "\n"
       "registration:\n"
       "  # DID of the hold owner (required): captain.owner and the first crew member.\n"
       "  owner_did: \"\"\n"
       "  # The hold's DID: web = did:web from server.public_url; plc = a did:plc registered in\n"
       "  # server.plc_directory_url on first start (kept in <data_dir>/plc-did, with its\n"
       "  # rotation key in <data_dir>/rotation.key).\n"
    << "  did_method: " << d.did_method << "\n"
       "  # Any authenticated account may join the crew with io.atcr.hold.requestCrew.\n"
    << "  allow_all_crew: " << b(d.allow_all_crew) << "\n"
    << "  # captain.enableBlueskyPosts (posts themselves are not implemented yet).\n"
    << "  enable_bluesky_posts: " << b(d.enable_bluesky_posts) << "\n"
    << "  # captain.region and captain.provider (at most 64 characters each).\n"
       "  region: \"\"\n"
       "  provider: \"\"\n"
       "  # app.bsky.actor.profile of the hold. Empty display name: the hold's host.\n"
       "  profile_display_name: \"\"\n"
       "  profile_description: \"\"\n"
       "\n"
       "quota:\n"
       "  # Tiers in rank order (updateCrewTier's tierRank is the 0-based index).\n"
       "  # Usage = distinct layer digests per user on this hold; the owner is unlimited.\n"
       "  tiers:\n";
  for (const QuotaTier& t : d.tiers) {
    o << "    - name: " << t.name << "\n"
      << "      quota: " << t.quota_bytes / 1'000'000'000ull << "GB\n"
      << "      scan_on_push: " << b(t.scan_on_push) << "\n";
  }
  o << "  defaults:\n"
       "    # Tier of new crew members and of crew records without a tier.\n"
    << "    new_crew_tier: " << d.new_crew_tier << "\n"
    << "\n"
       "gc:\n"
       "  # Periodic mark-and-sweep of blobs no layer record or upload references.\n"
    << "  enabled: " << b(d.gc_enabled) << "\n"
    << "  interval: 24h\n"
       "  # Blobs written or asked about more recently than this are never collected.\n"
       "  grace_period: 1h\n"
       "  # Unfinished uploads untouched this long are aborted.\n"
       "  upload_max_age: 24h\n"
       "  # Scheduled runs only log what they would delete.\n"
    << "  dry_run: " << b(d.gc_dry_run) << "\n"
    << "\n"
       "admin:\n"
       "  # /admin/api/* (GC trigger, crew, usage) with Authorization: Bearer <token>.\n"
    << "  enabled: " << b(d.admin_enabled) << "\n"
    << "  # At least 16 characters; or token_file, whose first line is the token.\n"
       "  token: \"\"\n"
       "  token_file: \"\"\n";
  return o.str();
}

std::string FormatByteSize(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KB", "MB", "GB", "TB", "PB"};
  if (bytes < 1000) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1000.0 && unit < 5) {
    v /= 1000.0;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  return buf;
}

Result<std::vector<QuotaTier>> ParseTierList(std::string_view text) {
  std::vector<QuotaTier> tiers;
  for (const std::string& item : SplitList(text)) {
    QuotaTier t;
    size_t c1 = item.find(':');
    if (c1 == std::string::npos) {
      return InvalidArgument("tier \"" + item + "\": expected name:size[:scan]");
    }
    t.name = Trim(std::string_view(item).substr(0, c1));
    std::string_view rest = std::string_view(item).substr(c1 + 1);
    size_t c2 = rest.find(':');
    std::string size_text = Trim(rest.substr(0, c2));
    if (c2 != std::string_view::npos) {
      std::string flag = Trim(rest.substr(c2 + 1));
      if (flag != "scan") {
        return InvalidArgument("tier \"" + item + "\": the third field may only be \"scan\"");
      }
      t.scan_on_push = true;
    }
    auto size = ParseByteSize(size_text);
    if (!size.ok()) return InvalidArgument("tier \"" + item + "\": " + size.error().message);
    t.quota_bytes = *size;
    if (t.name.empty()) return InvalidArgument("tier \"" + item + "\": empty name");
    tiers.push_back(std::move(t));
  }
  if (tiers.empty()) return InvalidArgument("expected at least one tier");
  return tiers;
}

}  // namespace atcr::hold
