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

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Result<bool> ParseBool(std::string_view key, std::string_view text) {
  std::string v = Lower(text);
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  return InvalidArgument(std::string(key) + ": expected true or false, got \"" + std::string(text) +
                         "\"");
}

Result<int> ParseInt(std::string_view key, std::string_view text) {
  if (text.empty() || text.size() > 9) return InvalidArgument(std::string(key) + ": bad number");
  int v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return InvalidArgument(std::string(key) + ": expected a number, got \"" +
                             std::string(text) + "\"");
    }
    v = v * 10 + (c - '0');
  }
  return v;
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

Result<std::pair<std::string, uint16_t>> SplitHostPort(std::string_view addr) {
  auto bad = [&] {
    return InvalidArgument("address must be host:port, [ipv6]:port or :port, got \"" +
                           std::string(addr) + "\"");
  };
  std::string host;
  std::string_view port_text;
  if (addr.starts_with("[")) {
    size_t close = addr.find(']');
    if (close == std::string_view::npos || addr.substr(close + 1, 1) != ":") return bad();
    host = std::string(addr.substr(1, close - 1));
    port_text = addr.substr(close + 2);
  } else {
    size_t colon = addr.rfind(':');
    if (colon == std::string_view::npos) return bad();
    host = std::string(addr.substr(0, colon));
    if (host.find(':') != std::string::npos) return bad();
    port_text = addr.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5) return bad();
  uint32_t port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') return bad();
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port > 65535) return bad();
  if (host.empty()) host = "0.0.0.0";
  return std::make_pair(host, static_cast<uint16_t>(port));
}

Result<int64_t> ParseDurationSeconds(std::string_view text) {
  auto bad = [&] {
    return InvalidArgument("expected a duration like 90s, 15m, 24h or 7d, got \"" +
                           std::string(text) + "\"");
  };
  if (text.empty()) return bad();
  int64_t unit = 1;
  switch (text.back()) {
    case 's': unit = 1; text.remove_suffix(1); break;
    case 'm': unit = 60; text.remove_suffix(1); break;
    case 'h': unit = 3600; text.remove_suffix(1); break;
    case 'd': unit = 86400; text.remove_suffix(1); break;
    default: break;
  }
  if (text.empty() || text.size() > 12) return bad();
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return bad();
    v = v * 10 + (c - '0');
  }
  return v * unit;
}

Result<uint64_t> ParseByteSize(std::string_view text) {
  auto bad = [&] {
    return InvalidArgument("expected a size like 512, 10MiB or 5GB, got \"" + std::string(text) +
                           "\"");
  };
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0 || i > 15) return bad();
  uint64_t v = 0;
  for (size_t j = 0; j < i; ++j) v = v * 10 + static_cast<uint64_t>(text[j] - '0');
  std::string unit = Lower(text.substr(i));
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  static const std::pair<const char*, uint64_t> kUnits[] = {
      {"", 1},           {"b", 1},
      {"kib", 1ull << 10}, {"mib", 1ull << 20}, {"gib", 1ull << 30}, {"tib", 1ull << 40},
      {"kb", 1000ull},   {"mb", 1000ull * 1000}, {"gb", 1000ull * 1000 * 1000},
      {"tb", 1000ull * 1000 * 1000 * 1000},
  };
  for (const auto& [name, mul] : kUnits) {
    if (unit == name) {
      if (v > std::numeric_limits<uint64_t>::max() / mul) return bad();
      return v * mul;
    }
  }
  return bad();
}

}  // namespace atcr::registry
