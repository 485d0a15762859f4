#include "atcr/registry/config.h"

#include <gtest/gtest.h>

#include <map>

namespace atcr::registry {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(RegistryConfig, DefaultYamlParsesBackToTheDefaults) {
  RegistryConfig defaults;
  RegistryConfig c;
  ASSERT_TRUE(ApplyRegistryConfigYaml(DefaultRegistryConfigYaml(), c).ok());
  EXPECT_EQ(c.addr, defaults.addr);
  EXPECT_EQ(c.data, defaults.data);
  EXPECT_EQ(c.htpasswd, "");
  EXPECT_EQ(c.delete_enabled, defaults.delete_enabled);
  EXPECT_EQ(c.uploads_stale_after, defaults.uploads_stale_after);
  EXPECT_EQ(c.uploads_max_blob_bytes, 0u);
}

TEST(RegistryConfig, YamlThenEnvironment) {
  RegistryConfig c;
  ASSERT_TRUE(ApplyRegistryConfigYaml(R"(
addr: 0.0.0.0:5001
data: /srv/registry
delete:
  enabled: true
uploads:
  stale_after: 2h
  max_blob_size: 10GiB
log:
  level: debug
)",
                                      c)
                  .ok());
  EXPECT_EQ(c.addr, "0.0.0.0:5001");
  EXPECT_EQ(c.data, "/srv/registry");
  EXPECT_TRUE(c.delete_enabled);
  EXPECT_EQ(c.uploads_stale_after, 7200);
  EXPECT_EQ(c.uploads_max_blob_bytes, 10ull << 30);
  EXPECT_EQ(c.log_level, "debug");

  Status st = LoadRegistryConfig("", FakeEnv({{"ATCR_REGISTRY_ADDR", "127.0.0.1:6000"},
                                              {"ATCR_REGISTRY_DELETE_ENABLED", "false"},
                                              {"ATCR_REGISTRY_UPLOADS_STALE_AFTER", "30m"},
                                              {"ATCR_REGISTRY_HTPASSWD", "/etc/htpasswd"}}),
                                 c);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(c.addr, "127.0.0.1:6000");
  EXPECT_FALSE(c.delete_enabled);
  EXPECT_EQ(c.uploads_stale_after, 1800);
  EXPECT_EQ(c.htpasswd, "/etc/htpasswd");
  EXPECT_EQ(c.data, "/srv/registry");  // untouched by the environment
}

TEST(RegistryConfig, RejectsUnknownKeysAndBadValues) {
  RegistryConfig c;
  EXPECT_FALSE(ApplyRegistryConfigYaml("adr: x\n", c).ok());
  EXPECT_FALSE(ApplyRegistryConfigYaml("delete:\n  enable: true\n", c).ok());
  EXPECT_FALSE(ApplyRegistryConfigYaml("delete:\n  enabled: maybe\n", c).ok());
  EXPECT_FALSE(ApplyRegistryConfigYaml("addr: nope\n", c).ok());
  EXPECT_FALSE(ApplyRegistryConfigYaml("uploads:\n  stale_after: 5 weeks\n", c).ok());
  EXPECT_FALSE(ApplyRegistryConfigYaml("addr: [\n", c).ok());
  EXPECT_FALSE(ApplyRegistryConfigYaml("- a\n- b\n", c).ok());
  Status st = LoadRegistryConfig("", FakeEnv({{"ATCR_REGISTRY_DELETE_ENABLED", "sure"}}), c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("ATCR_REGISTRY_DELETE_ENABLED"), std::string::npos);
  EXPECT_FALSE(LoadRegistryConfig("/nonexistent/atcr.yaml", FakeEnv({}), c).ok());
}

}  // namespace
}  // namespace atcr::registry
