#include "atcr/appview/config.h"

#include <gtest/gtest.h>

#include <map>

namespace atcr::appview {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(AppViewConfig, DefaultYamlParsesBackToTheDefaults) {
  AppViewConfig c;
  ASSERT_TRUE(ApplyAppViewConfigYaml(DefaultAppViewConfigYaml(), c).ok());
  AppViewConfig d;
  EXPECT_EQ(c.addr, d.addr);
  EXPECT_EQ(c.data, d.data);
  EXPECT_EQ(c.token_ttl_seconds, 300);
  EXPECT_EQ(c.credential_cache_seconds, 600);
  EXPECT_EQ(c.upload_part_bytes, 16ull << 20);
  EXPECT_EQ(c.hold_part_bytes, 5ull << 30);
  EXPECT_EQ(c.cache_max_bytes, 64ull << 20);
  EXPECT_TRUE(c.handle_overrides.empty());
  EXPECT_TRUE(ValidateAppViewConfig(c).ok());
}

TEST(AppViewConfig, EveryKeyOfTheDefaultFileIsKnown) {
  // The commented file lists each key once; a typo in either place breaks this.
  std::string yaml = DefaultAppViewConfigYaml();
  for (const char* key : {"addr:", "base_url:", "service_name:", "data:", "level:", "threads:",
                          "default_did:", "default_url:", "token_ttl:", "credential_cache_ttl:",
                          "plc_url:", "cache_ttl:", "use_dns:", "handle_overrides:",
                          "delete_enabled:", "max_blob_size:", "part_size:", "hold_part_size:", "stale_after:",
                          "max_size:", "enabled:", "pulls:", "ca_file:"}) {
    EXPECT_NE(yaml.find(key), std::string::npos) << key;
  }
}

TEST(AppViewConfig, YamlSetsNestedKeysAndTheOverrideMap) {
  AppViewConfig c;
  ASSERT_TRUE(ApplyAppViewConfigYaml(R"(
addr: 127.0.0.1:5999
base_url: https://registry.example.com/
hold:
  default_did: did:web:hold.example.com
auth:
  token_ttl: 10m
identity:
  plc_url: http://localhost:2582
  handle_overrides:
    .test: http://localhost:2583
uploads:
  part_size: 8MiB
  hold_part_size: 1GiB
)",
                                      c)
                  .ok());
  EXPECT_EQ(c.addr, "127.0.0.1:5999");
  EXPECT_EQ(c.default_hold_did, "did:web:hold.example.com");
  EXPECT_EQ(c.token_ttl_seconds, 600);
  EXPECT_EQ(c.upload_part_bytes, 8ull << 20);
  EXPECT_EQ(c.hold_part_bytes, 1ull << 30);
  ASSERT_EQ(c.handle_overrides.size(), 1u);
  EXPECT_EQ(c.handle_overrides.at(".test"), "http://localhost:2583");
  EXPECT_EQ(c.EffectiveBaseUrl(), "https://registry.example.com");
  EXPECT_EQ(c.EffectiveServiceName(), "registry.example.com");
  EXPECT_TRUE(ValidateAppViewConfig(c).ok());
}

TEST(AppViewConfig, EnvironmentOverridesTheFile) {
  AppViewConfig c;
  ASSERT_TRUE(LoadAppViewConfig("",
                                Env({{"ATCR_APPVIEW_HOLD_DEFAULT_DID", "did:web:h.test"},
                                     {"ATCR_APPVIEW_IDENTITY_HANDLE_OVERRIDES",
                                      ".test=http://localhost:1,.dev=http://localhost:2"},
                                     {"ATCR_APPVIEW_FIREHOSE_ENABLED", "false"},
                                     {"ATCR_APPVIEW_ADDR", ":6000"}}),
                                c)
                  .ok());
  EXPECT_EQ(c.default_hold_did, "did:web:h.test");
  EXPECT_FALSE(c.firehose_enabled);
  EXPECT_EQ(c.handle_overrides.size(), 2u);
  EXPECT_EQ(c.handle_overrides.at(".dev"), "http://localhost:2");
  EXPECT_EQ(c.EffectiveBaseUrl(), "http://localhost:6000");
  EXPECT_EQ(c.EffectiveServiceName(), "localhost:6000");
}

TEST(AppViewConfig, RejectsUnknownKeysAndBadValues) {
  AppViewConfig c;
  EXPECT_FALSE(ApplyAppViewConfigYaml("hold:\n  default_dig: x\n", c).ok());
  EXPECT_FALSE(ApplyAppViewConfigYaml("auth:\n  token_ttl: soon\n", c).ok());
  EXPECT_FALSE(ApplyAppViewConfigYaml("uploads:\n  part_size: 1MiB\n", c).ok());
  EXPECT_FALSE(ApplyAppViewConfigYaml("uploads:\n  hold_part_size: 6GiB\n", c).ok());
  EXPECT_FALSE(ApplyAppViewConfigYaml("addr: nowhere\n", c).ok());
  AppViewConfig bad_hold;
  bad_hold.default_hold_did = "hold.example.com";
  EXPECT_FALSE(ValidateAppViewConfig(bad_hold).ok());
  AppViewConfig url_without_did;
  url_without_did.default_hold_url = "http://localhost:8080";
  EXPECT_FALSE(ValidateAppViewConfig(url_without_did).ok());
  AppViewConfig bad_suffix;
  bad_suffix.handle_overrides["test"] = "http://localhost:1";
  EXPECT_FALSE(ValidateAppViewConfig(bad_suffix).ok());
}

}  // namespace
}  // namespace atcr::appview
