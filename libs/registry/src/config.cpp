#include "atcr/registry/config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <functional>
#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

namespace atcr::registry {
namespace {

Error WithKeyName(std::string_view key, const Error& e) {
  return InvalidArgument(std::string(key) + ": " + e.message);
}

Result<bool> ParseBool(std::string_view key, std::string_view text) {
  auto v = ParseConfigBool(text);
  if (!v.ok()) return WithKeyName(key, v.error());
  return *v;
}

Result<int> ParseInt(std::string_view key, std::string_view text) {
  auto v = ParseConfigCount(text, 999999999);
  if (!v.ok()) return WithKeyName(key, v.error());
  return static_cast<int>(*v);
}

// One configuration key: its dotted path and how a scalar text sets it.
struct Key {
  const char* path;
  std::function<Status(RegistryConfig&, const std::string&)> set;
};

const std::vector<Key>& Keys() {
  static const std::vector<Key> keys = {
      {"addr",
       [](RegistryConfig& c, const std::string& v) -> Status {
         auto hp = SplitHostPort(v);
         if (!hp.ok()) return InvalidArgument("addr: " + hp.error().message);
         c.addr = v;
         return Ok();
       }},
      {"data",
       [](RegistryConfig& c, const std::string& v) -> Status {
         if (v.empty()) return InvalidArgument("data: must not be empty");
         c.data = v;
         return Ok();
       }},
      {"htpasswd",
       [](RegistryConfig& c, const std::string& v) -> Status {
         c.htpasswd = v;
         return Ok();
       }},
      {"log.level",
       [](RegistryConfig& c, const std::string& v) -> Status {
         static const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "off", ""};
         for (const char* l : kLevels) {
           if (v == l) {
             c.log_level = v;
             return Ok();
           }
         }
         return InvalidArgument("log.level: expected trace|debug|info|warn|error|off, got \"" +
                                v + "\"");
       }},
      {"http.threads",
       [](RegistryConfig& c, const std::string& v) -> Status {
         ATCR_ASSIGN_OR_RETURN(c.threads, ParseInt("http.threads", v));
         return Ok();
       }},
      {"delete.enabled",
       [](RegistryConfig& c, const std::string& v) -> Status {
         ATCR_ASSIGN_OR_RETURN(c.delete_enabled, ParseBool("delete.enabled", v));
         return Ok();
       }},
      {"uploads.stale_after",
       [](RegistryConfig& c, const std::string& v) -> Status {
         auto d = ParseDurationSeconds(v);
         if (!d.ok()) return InvalidArgument("uploads.stale_after: " + d.error().message);
         if (*d <= 0) return InvalidArgument("uploads.stale_after: must be positive");
         c.uploads_stale_after = *d;
         return Ok();
       }},
      {"uploads.max_blob_size",
       [](RegistryConfig& c, const std::string& v) -> Status {
         auto b = ParseByteSize(v);
         if (!b.ok()) return InvalidArgument("uploads.max_blob_size: " + b.error().message);
         c.uploads_max_blob_bytes = *b;
         return Ok();
       }},
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
  std::string out = "ATCR_REGISTRY_";
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

Status ApplyNode(const YAML::Node& node, const std::string& prefix, RegistryConfig& config) {
  if (!node.IsMap()) return InvalidArgument((prefix.empty() ? "config" : prefix) + ": expected a map");
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
    std::string path = prefix.empty() ? key : prefix + "." + key;
    const YAML::Node& value = kv.second;
    if (value.IsMap()) {
      ATCR_TRY(ApplyNode(value, path, config));
      continue;
    }
    const Key* k = FindKey(path);
    if (k == nullptr) return InvalidArgument("unknown configuration key: " + path);
    if (value.IsNull()) continue;  // "key:" with nothing keeps the default
    if (!value.IsScalar()) return InvalidArgument(path + ": expected a single value");
    ATCR_TRY(k->set(config, value.Scalar()));
  }
  return Ok();
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Status ApplyRegistryConfigYaml(std::string_view yaml, RegistryConfig& config) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string("config is not valid YAML: ") + e.what());
  }
  if (root.IsNull()) return Ok();  // empty file
  try {
    return ApplyNode(root, "", config);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string("config: ") + e.what());
  }
}

Status LoadRegistryConfig(const std::string& path, const EnvLookup& env, RegistryConfig& config) {
  if (!path.empty()) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error(ErrorCode::kNotFound, "cannot read config file " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    Status st = ApplyRegistryConfigYaml(ss.str(), config);
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

std::string DefaultRegistryConfigYaml() {
  RegistryConfig d;
  std::ostringstream o;
  o << "# atcr registry configuration (`atcr registry serve --config FILE`).\n"
       "# Every key can be overridden by an environment variable: ATCR_REGISTRY_ followed by\n"
       "# the key path upper-cased with '.' replaced by '_' (delete.enabled ->\n"
       "# ATCR_REGISTRY_DELETE_ENABLED). Command-line flags override both.\n"
       "\n"
       "# Address to listen on: host:port, [ipv6]:port, or :port for every interface.\n"
    << "addr: " << d.addr << "\n"
    << "\n"
       "# Directory holding blobs, manifests, tags and upload sessions.\n"
    << "data: " << d.data << "\n"
    << "\n"
       "# htpasswd file with bcrypt hashes (htpasswd -B). Empty: no authentication.\n"
    << "htpasswd: \"\"\n"
    << "\n"
       "log:\n"
       "  # trace|debug|info|warn|error|off. Empty: the global --log-level.\n"
       "  level: \"\"\n"
       "\n"
       "http:\n"
       "  # Worker threads; 0 = one per core.\n"
    << "  threads: " << d.threads << "\n"
    << "\n"
       "delete:\n"
       "  # Allow DELETE of manifests, tags and blobs (otherwise 405 UNSUPPORTED).\n"
    << "  enabled: " << (d.delete_enabled ? "true" : "false") << "\n"
    << "\n"
       "uploads:\n"
       "  # Upload sessions untouched this long are removed (s, m, h, d suffixes).\n"
       "  stale_after: 24h\n"
       "  # Largest blob accepted (B, KiB, MiB, GiB, TiB, or KB, MB, GB, TB); 0 = no limit.\n"
       "  max_blob_size: 0\n";
  return o.str();
}

}  // namespace atcr::registry
