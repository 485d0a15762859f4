#include "atcr/pds/pds_config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include "atcr/base/config_text.h"

namespace atcr::pds {
namespace {

Result<bool> ParseBool(const std::string& key, const std::string& text) {
  auto v = ParseConfigBool(text);
  if (!v.ok()) return InvalidArgument(key + ": " + v.error().message);
  return *v;
}

Result<uint64_t> ParseSize(const std::string& key, const std::string& text) {
  auto v = ParseByteSize(text);
  if (!v.ok()) return InvalidArgument(key + ": " + v.error().message);
  return *v;
}

Status CheckDomains(const std::vector<std::string>& domains) {
  if (domains.empty()) return InvalidArgument("handle_domains: at least one domain is needed");
  for (const auto& d : domains) {
    if (d.size() < 2 || d[0] != '.') {
      return InvalidArgument("handle_domains: \"" + d + "\" must start with '.' (e.g. .test)");
    }
  }
  return Ok();
}

// Sets one key from its text form (YAML scalar or environment variable).
Status Set(PdsConfig& c, const std::string& key, const std::string& v) {
  if (key == "addr") {
    if (v.find(':') == std::string::npos) return InvalidArgument("addr: expected HOST:PORT, got \"" + v + "\"");
    c.addr = v;
  } else if (key == "data") {
    if (v.empty()) return InvalidArgument("data: must not be empty");
    c.data = v;
  } else if (key == "public_url") {
    if (!v.empty() && v.rfind("http://", 0) != 0 && v.rfind("https://", 0) != 0) {
      return InvalidArgument("public_url: expected http(s)://host[:port], got \"" + v + "\"");
    }
    c.public_url = v;
  } else if (key == "service_did") {
    if (!v.empty() && v.rfind("did:", 0) != 0) return InvalidArgument("service_did: not a DID: " + v);
    c.service_did = v;
  } else if (key == "plc_url") {
    if (v.rfind("http://", 0) != 0 && v.rfind("https://", 0) != 0) {
      return InvalidArgument("plc_url: expected http(s)://..., got \"" + v + "\"");
    }
    c.plc_url = v;
  } else if (key == "handle_domains") {
    auto list = SplitConfigList(v);
    ATCR_TRY(CheckDomains(list));
    c.handle_domains = list;
  } else if (key == "invite_required") {
    ATCR_ASSIGN_OR_RETURN(c.invite_required, ParseBool(key, v));
  } else if (key == "admin_password") {
    c.admin_password = v;
  } else if (key == "blob_max_bytes") {
    ATCR_ASSIGN_OR_RETURN(c.blob_max_bytes, ParseSize(key, v));
  } else if (key == "threads") {
    ATCR_ASSIGN_OR_RETURN(uint64_t t, ParseSize(key, v));
    if (t > 256) return InvalidArgument("threads: at most 256");
    c.threads = static_cast<int>(t);
  } else if (key == "log_level") {
    c.log_level = v;
  } else if (key == "crawlers") {
    c.crawlers = SplitConfigList(v);
  } else {
    return InvalidArgument("unknown key \"" + key + "\"");
  }
  return Ok();
}

}  // namespace

Status ApplyPdsConfigYaml(std::string_view yaml, PdsConfig& config) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string("YAML: ") + e.what());
  }
  if (root.IsNull()) return Ok();
  if (!root.IsMap()) return InvalidArgument("the config must be a YAML mapping");
  PdsConfig next = config;
  for (const auto& kv : root) {
    std::string key = kv.first.as<std::string>();
    const YAML::Node& value = kv.second;
    std::string text;
    if (value.IsSequence()) {
      for (const auto& item : value) {
        if (!item.IsScalar()) return InvalidArgument(key + ": list items must be scalars");
        if (!text.empty()) text += ",";
        text += item.as<std::string>();
      }
    } else if (value.IsNull()) {
      text = "";
    } else if (value.IsScalar()) {
      text = value.as<std::string>();
    } else {
      return InvalidArgument(key + ": expected a value or a list");
    }
    Status st = Set(next, key, text);
    if (!st.ok()) return st;
  }
  config = std::move(next);
  return Ok();
}

Status LoadPdsConfig(const std::string& path, const PdsEnvLookup& env, PdsConfig& config) {
  if (!path.empty()) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return NotFound("config file " + path + " cannot be read");
    std::stringstream ss;
    ss << in.rdbuf();
    Status st = ApplyPdsConfigYaml(ss.str(), config);
    if (!st.ok()) return InvalidArgument(path + ": " + st.error().message);
  }
  static const char* kKeys[] = {"addr", "data", "public_url", "service_did", "plc_url",
                                "handle_domains", "invite_required", "admin_password",
                                "blob_max_bytes", "threads", "log_level", "crawlers"};
  for (const char* key : kKeys) {
    std::string name = "ATCR_PDS_";
    for (const char* p = key; *p; ++p) name += static_cast<char>(std::toupper(*p));
    auto v = env(name);
    if (!v) continue;
    Status st = Set(config, key, *v);
    if (!st.ok()) return InvalidArgument(name + ": " + st.error().message);
  }
  return Ok();
}

std::string DefaultPdsConfigYaml() {
  return R"(# atcr pds serve: a multi-account ATProto PDS (accounts, repos, sync, firehose).
# Every key may also be set with ATCR_PDS_<KEY> (e.g. ATCR_PDS_PLC_URL); flags win over both.

# Listen address (HOST:PORT).
addr: 127.0.0.1:2583
# Data directory: repo.sqlite, accounts.sqlite, blobs/, jwt-secret, plc-rotation.key (0600).
data: ./atcr-pds
# Where clients reach this PDS; written into every new DID document. Empty: http://<addr>.
public_url: ""
# This PDS's DID (the audience of its session tokens). Empty: did:web of public_url's host.
service_did: ""
# The PLC directory new accounts are registered in (`atcr plc serve` for development).
plc_url: http://127.0.0.1:2582
# Handle suffixes accounts may be created under.
handle_domains:
  - .test
# Require an invite code for createAccount.
invite_required: false
# HTTP Basic admin:<password> for admin endpoints (createInviteCode); empty disables them.
admin_password: ""
# Largest blob accepted by com.atproto.repo.uploadBlob.
blob_max_bytes: 100MiB
# HTTP worker threads; 0 = one per core.
threads: 0
# trace, debug, info, warn, error; empty keeps --log-level.
log_level: ""
# Relays asked to crawl this PDS at start (com.atproto.sync.requestCrawl); none by default.
crawlers: []
)";
}

}  // namespace atcr::pds
