#include "atcr/appview/config.h"

#include <yaml-cpp/yaml.h>

#include <boost/url/parse.hpp>

#include <fstream>
#include <functional>
#include <sstream>
#include <vector>

#include "atcr/atproto/syntax.h"
#include "atcr/base/config_text.h"

namespace atcr::appview {
namespace {

auto& ParseBool = ParseConfigBool;

Result<int> ParseInt(std::string_view text) {
  ATCR_ASSIGN_OR_RETURN(int64_t v, ParseConfigCount(text, 999999999));
  return static_cast<int>(v);
}

using Setter = std::function<Status(AppViewConfig&, const std::string&)>;

Setter Str(std::string AppViewConfig::*field) {
  return [field](AppViewConfig& c, const std::string& v) -> Status {
    c.*field = v;
    return Ok();
  };
}
Setter Bool(bool AppViewConfig::*field) {
  return [field](AppViewConfig& c, const std::string& v) -> Status {
    ATCR_ASSIGN_OR_RETURN(c.*field, ParseBool(v));
    return Ok();
  };
}
Setter Duration(int64_t AppViewConfig::*field, bool allow_zero) {
  return [field, allow_zero](AppViewConfig& c, const std::string& v) -> Status {
    ATCR_ASSIGN_OR_RETURN(int64_t d, registry::ParseDurationSeconds(v));
    if (d < 0 || (d == 0 && !allow_zero)) return InvalidArgument("must be positive");
    c.*field = d;
    return Ok();
  };
}
Setter Size(uint64_t AppViewConfig::*field) {
  return [field](AppViewConfig& c, const std::string& v) -> Status {
    ATCR_ASSIGN_OR_RETURN(c.*field, registry::ParseByteSize(v));
    return Ok();
  };
}

// "suffix=url,suffix=url" (environment form of identity.handle_overrides).
Status ParseOverrides(AppViewConfig& c, const std::string& v) {
  c.handle_overrides.clear();
  std::string_view rest = v;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == item.size()) {
      return InvalidArgument("expected suffix=url pairs, got \"" + std::string(item) + "\"");
    }
    c.handle_overrides[std::string(item.substr(0, eq))] = std::string(item.substr(eq + 1));
  }
  return Ok();
}

struct Key {
  const char* path;
  Setter set;
};

const std::vector<Key>& Keys() {
  static const std::vector<Key> keys = {
      {"addr",
       [](AppViewConfig& c, const std::string& v) -> Status {
         ATCR_TRY(registry::SplitHostPort(v));
         c.addr = v;
         return Ok();
       }},
      {"base_url", Str(&AppViewConfig::base_url)},
      {"service_name", Str(&AppViewConfig::service_name)},
      {"data",
       [](AppViewConfig& c, const std::string& v) -> Status {
         if (v.empty()) return InvalidArgument("must not be empty");
         c.data = v;
         return Ok();
       }},
      {"log.level",
       [](AppViewConfig& c, const std::string& v) -> Status {
         for (const char* l : {"trace", "debug", "info", "warn", "error", "off", ""}) {
           if (v == l) {
             c.log_level = v;
             return Ok();
           }
         }
         return InvalidArgument("expected trace|debug|info|warn|error|off, got \"" + v + "\"");
       }},
      {"http.threads",
       [](AppViewConfig& c, const std::string& v) -> Status {
         ATCR_ASSIGN_OR_RETURN(c.threads, ParseInt(v));
         return Ok();
       }},
      {"hold.default_did", Str(&AppViewConfig::default_hold_did)},
      {"hold.default_url", Str(&AppViewConfig::default_hold_url)},
      {"auth.token_ttl", Duration(&AppViewConfig::token_ttl_seconds, false)},
      {"auth.credential_cache_ttl", Duration(&AppViewConfig::credential_cache_seconds, true)},
      {"identity.plc_url", Str(&AppViewConfig::plc_url)},
      {"identity.cache_ttl", Duration(&AppViewConfig::identity_cache_seconds, true)},
      {"identity.use_dns", Bool(&AppViewConfig::identity_use_dns)},
      {"identity.handle_overrides", ParseOverrides},
      {"registry.delete_enabled", Bool(&AppViewConfig::delete_enabled)},
      {"registry.max_blob_size", Size(&AppViewConfig::max_blob_bytes)},
      {"uploads.part_size",
       [](AppViewConfig& c, const std::string& v) -> Status {
         ATCR_ASSIGN_OR_RETURN(uint64_t b, registry::ParseByteSize(v));
         if (b < (5ull << 20) || b > (5ull << 30)) {
           return InvalidArgument("must be between 5MiB and 5GiB (S3 multipart limits)");
         }
         c.upload_part_bytes = b;
         return Ok();
       }},
      {"uploads.hold_part_size",
       [](AppViewConfig& c, const std::string& v) -> Status {
         ATCR_ASSIGN_OR_RETURN(uint64_t b, registry::ParseByteSize(v));
         if (b < (5ull << 20) || b > (5ull << 30)) {
           return InvalidArgument("must be between 5MiB and 5GiB (S3 multipart limits)");
         }
         c.hold_part_bytes = b;
         return Ok();
       }},
      {"uploads.stale_after", Duration(&AppViewConfig::uploads_stale_after_seconds, false)},
      {"cache.max_size", Size(&AppViewConfig::cache_max_bytes)},
      {"firehose.enabled", Bool(&AppViewConfig::firehose_enabled)},
      {"notify.pulls", Bool(&AppViewConfig::notify_pulls)},
      {"tls.ca_file", Str(&AppViewConfig::tls_ca_file)},
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
  std::string out = "ATCR_APPVIEW_";
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

Status ApplyNode(const YAML::Node& node, const std::string& prefix, AppViewConfig& config) {
  if (!node.IsMap()) return InvalidArgument((prefix.empty() ? "config" : prefix) + ": expected a map");
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
    std::string path = prefix.empty() ? key : prefix + "." + key;
    const YAML::Node& value = kv.second;
    if (path == "identity.handle_overrides") {
      config.handle_overrides.clear();
      if (value.IsNull()) continue;
      if (!value.IsMap()) return InvalidArgument(path + ": expected a map of suffix: url");
      for (const auto& o : value) {
        if (!o.second.IsScalar()) return InvalidArgument(path + ": values must be URLs");
        config.handle_overrides[o.first.as<std::string>()] = o.second.Scalar();
      }
      continue;
    }
    if (value.IsMap()) {
      ATCR_TRY(ApplyNode(value, path, config));
      continue;
    }
    const Key* k = FindKey(path);
    if (k == nullptr) return InvalidArgument("unknown configuration key: " + path);
    if (value.IsNull()) continue;
    if (!value.IsScalar()) return InvalidArgument(path + ": expected a single value");
    Status st = k->set(config, value.Scalar());
    if (!st.ok()) return InvalidArgument(path + ": " + st.error().message);
  }
  return Ok();
}

Status CheckUrl(std::string_view what, const std::string& url) {
  if (url.empty()) return Ok();
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u || (u->scheme() != "http" && u->scheme() != "https") || u->host().empty()) {
    return InvalidArgument(std::string(what) + ": expected an http(s) URL, got \"" + url + "\"");
  }
  return Ok();
}

}  // namespace

std::string AppViewConfig::EffectiveBaseUrl() const {
  if (!base_url.empty()) {
    std::string b = base_url;
    while (!b.empty() && b.back() == '/') b.pop_back();
    return b;
  }
  auto hp = registry::SplitHostPort(addr);
  std::string host = hp.ok() ? hp->first : "localhost";
  if (host == "127.0.0.1" || host == "0.0.0.0" || host == "::" || host == "::1") host = "localhost";
  uint16_t port = hp.ok() ? hp->second : 5000;
  return "http://" + host + ":" + std::to_string(port);
}

std::string AppViewConfig::EffectiveServiceName() const {
  if (!service_name.empty()) return service_name;
  std::string b = EffectiveBaseUrl();
  size_t scheme = b.find("://");
  if (scheme != std::string::npos) b = b.substr(scheme + 3);
  size_t slash = b.find('/');
  if (slash != std::string::npos) b.resize(slash);
  return b;
}

Status ApplyAppViewConfigYaml(std::string_view yaml, AppViewConfig& config) {
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

Status LoadAppViewConfig(const std::string& path, const EnvLookup& env, AppViewConfig& config) {
  if (!path.empty()) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error(ErrorCode::kNotFound, "cannot read config file " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    Status st = ApplyAppViewConfigYaml(ss.str(), config);
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

Status ValidateAppViewConfig(const AppViewConfig& c) {
  ATCR_TRY(registry::SplitHostPort(c.addr));
  ATCR_TRY(CheckUrl("base_url", c.base_url));
  ATCR_TRY(CheckUrl("hold.default_url", c.default_hold_url));
  ATCR_TRY(CheckUrl("identity.plc_url", c.plc_url));
  if (!c.default_hold_did.empty()) {
    Status st = atproto::ValidateDid(c.default_hold_did);
    if (!st.ok()) return InvalidArgument("hold.default_did: " + st.error().message);
  }
  if (!c.default_hold_url.empty() && c.default_hold_did.empty()) {
    return InvalidArgument("hold.default_url needs hold.default_did");
  }
  for (const auto& [suffix, url] : c.handle_overrides) {
    if (!suffix.starts_with(".")) {
      return InvalidArgument("identity.handle_overrides: suffix \"" + suffix +
                             "\" must start with '.'");
    }
    ATCR_TRY(CheckUrl("identity.handle_overrides." + suffix, url));
  }
  return Ok();
}

std::string DefaultAppViewConfigYaml() {
  AppViewConfig d;
  auto b = [](bool v) { return v ? "true" : "false"; };
  std::ostringstream o;
  o << "# atcr AppView configuration (`atcr appview serve --config FILE`).\n"
       "# Every key can be overridden by an environment variable: ATCR_APPVIEW_ followed by the\n"
       "# key path upper-cased with '.' replaced by '_' (hold.default_did ->\n"
       "# ATCR_APPVIEW_HOLD_DEFAULT_DID). Command-line flags override both.\n"
       "# Durations take s, m, h, d suffixes; sizes B, KiB, MiB, GiB (or KB, MB, GB).\n"
       "\n"
       "# Address to listen on: host:port, [ipv6]:port, or :port for every interface.\n"
    << "addr: " << d.addr << "\n"
    << "\n"
       "# Public URL of this AppView as clients reach it (docker login <host>). The token realm is\n"
       "# <base_url>/auth/token. Empty: http://<addr>.\n"
       "base_url: \"\"\n"
       "\n"
       "# Docker token-auth service name (the JWT audience). Empty: host[:port] of base_url.\n"
       "service_name: \"\"\n"
       "\n"
       "# Data directory: appview.sqlite (sessions, blob links, index), secret.key (seals PDS\n"
       "# tokens), registry-token.key (signs registry tokens), uploads/ (spooled uploads).\n"
    << "data: " << d.data << "\n"
    << "\n"
       "log:\n"
       "  # trace|debug|info|warn|error|off. Empty: the global --log-level.\n"
       "  level: \"\"\n"
       "\n"
       "http:\n"
       "  # Worker threads; 0 = one per core.\n"
    << "  threads: " << d.threads << "\n"
    << "\n"
       "hold:\n"
       "  # DID of the hold pushes go to when the user's io.atcr.sailor.profile names none\n"
       "  # (e.g. did:web:hold01.atcr.io). Also written as defaultHold into new profiles.\n"
       "  default_did: \"\"\n"
       "  # Endpoint of that hold, to skip resolving its DID (development). Empty: resolve.\n"
       "  default_url: \"\"\n"
       "\n"
       "auth:\n"
       "  # Lifetime of the registry tokens /auth/token issues.\n"
       "  token_ttl: 5m\n"
       "  # How long a successful app-password login is remembered (salted hash in memory), so\n"
       "  # each token request does not create a new PDS session. 0 disables.\n"
       "  credential_cache_ttl: 10m\n"
       "\n"
       "identity:\n"
       "  # PLC directory for did:plc.\n"
    << "  plc_url: " << d.plc_url << "\n"
    << "  # How long resolved handles and DID documents are cached.\n"
       "  cache_ttl: 5m\n"
       "  # Resolve handles through DNS TXT _atproto.<handle> (then HTTPS well-known).\n"
    << "  use_dns: " << b(d.identity_use_dns) << "\n"
    << "  # Development: handle suffix -> PDS URL; such handles resolve through\n"
       "  # <url>/.well-known/atproto-did, never DNS. Example:\n"
       "  #   handle_overrides:\n"
       "  #     .test: http://localhost:2583\n"
       "  handle_overrides: {}\n"
       "\n"
       "registry:\n"
       "  # Allow DELETE of manifests, tags and blobs (otherwise 405 UNSUPPORTED).\n"
    << "  delete_enabled: " << b(d.delete_enabled) << "\n"
    << "  # Largest blob accepted; 0 = no limit.\n"
       "  max_blob_size: 0\n"
       "\n"
       "uploads:\n"
       "  # Size of the parts blobs are sent in to object storage (presigned part URLs), and to\n"
       "  # the hold itself over https (5MiB..5GiB).\n"
       "  part_size: 16MiB\n"
       "  # Parts that go to the hold itself over http (uploadPart, or part URLs on the hold's own\n"
       "  # origin) are streamed from the spool in order, one part per blob up to this size\n"
       "  # (5MiB..5GiB); a hold that answers 413 gets part_size parts instead.\n"
       "  hold_part_size: 5GiB\n"
       "  # Upload sessions untouched this long are removed.\n"
       "  stale_after: 24h\n"
       "\n"
       "cache:\n"
       "  # Memory for cached manifests and tags.\n"
       "  max_size: 64MiB\n"
       "\n"
       "firehose:\n"
       "  # Follow the firehose of logged-in users' PDSes to invalidate cached records.\n"
    << "  enabled: " << b(d.firehose_enabled) << "\n"
    << "\n"
       "notify:\n"
       "  # Tell holds about pulls (io.atcr.hold.notifyManifest), in the background.\n"
    << "  pulls: " << b(d.notify_pulls) << "\n"
    << "\n"
       "tls:\n"
       "  # Extra CA certificates (PEM) trusted for outbound https.\n"
       "  ca_file: \"\"\n";
  return o.str();
}

}  // namespace atcr::appview
