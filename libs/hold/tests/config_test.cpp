#include "atcr/hold/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "test_util.h"

namespace atcr::hold {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

HoldConfig Valid() {
  HoldConfig c;
  c.public_url = "http://localhost:8080";
  c.owner_did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
  return c;
}

TEST(HoldConfig, DefaultYamlParsesBackToTheDefaults) {
  HoldConfig defaults;
  HoldConfig c;
  Status st = ApplyHoldConfigYaml(DefaultHoldConfigYaml(), c);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(c.addr, defaults.addr);
  EXPECT_EQ(c.data_dir, defaults.data_dir);
  EXPECT_EQ(c.is_public, defaults.is_public);
  EXPECT_EQ(c.url_expiry_seconds, defaults.url_expiry_seconds);
  EXPECT_EQ(c.max_part_bytes, defaults.max_part_bytes);
  EXPECT_EQ(c.gc_interval_seconds, defaults.gc_interval_seconds);
  EXPECT_EQ(c.gc_grace_seconds, defaults.gc_grace_seconds);
  EXPECT_EQ(c.gc_upload_max_age_seconds, defaults.gc_upload_max_age_seconds);
  ASSERT_EQ(c.tiers.size(), defaults.tiers.size());
  for (size_t i = 0; i < c.tiers.size(); ++i) {
    EXPECT_EQ(c.tiers[i].name, defaults.tiers[i].name);
    EXPECT_EQ(c.tiers[i].quota_bytes, defaults.tiers[i].quota_bytes);
  }
  EXPECT_EQ(c.new_crew_tier, "swabbie");
}

TEST(HoldConfig, DefaultYamlMentionsEveryKeyWithAComment) {
  std::string yaml = DefaultHoldConfigYaml();
  for (const char* key :
       {"addr:", "public_url:", "public:", "disable_presigned_urls:", "data_dir:", "threads:",
        "log_level:", "trusted_appviews:", "url_expiry:", "max_part_size:", "token_clock_skew:",
        "driver:", "root:", "access_key:", "secret_key:", "region:", "bucket:", "endpoint:",
        "force_path_style:", "pull_zone:", "owner_did:", "allow_all_crew:",
        "enable_bluesky_posts:", "provider:", "profile_display_name:", "profile_description:",
        "tiers:", "new_crew_tier:", "enabled:", "interval:", "grace_period:", "upload_max_age:",
        "dry_run:", "token:", "token_file:", "plc_directory_url:", "prefix:"}) {
    EXPECT_NE(yaml.find(key), std::string::npos) << key;
  }
  EXPECT_GT(std::count(yaml.begin(), yaml.end(), '#'), 30);
}

TEST(HoldConfig, DefaultTiers) {
  auto tiers = DefaultQuotaTiers();
  ASSERT_EQ(tiers.size(), 4u);
  EXPECT_EQ(tiers[0].name, "swabbie");
  EXPECT_EQ(tiers[0].quota_bytes, 2'000'000'000u);
  EXPECT_EQ(tiers[1].name, "deckhand");
  EXPECT_EQ(tiers[1].quota_bytes, 5'000'000'000u);
  EXPECT_EQ(tiers[2].name, "bosun");
  EXPECT_EQ(tiers[2].quota_bytes, 10'000'000'000u);
  EXPECT_EQ(tiers[3].name, "quartermaster");
  EXPECT_EQ(tiers[3].quota_bytes, 100'000'000'000u);
}

TEST(HoldConfig, YamlSectionsThenEnvironment) {
  HoldConfig c;
  Status st = ApplyHoldConfigYaml(R"(
server:
  addr: 0.0.0.0:9000
  public_url: https://hold.example.com
  public: true
  trusted_appviews: [did:web:atcr.example]
storage:
  driver: filesystem
  root: /srv/blobs
  pull_zone: cdn.example.com
registration:
  owner_did: did:plc:ewvi7nxzyoun6zhxrhs64oiz
  allow_all_crew: true
  region: eu-west
quota:
  tiers:
    - name: small
      quota: 1GiB
    - name: big
      quota: 1TB
      scan_on_push: true
  defaults:
    new_crew_tier: small
gc:
  enabled: true
  grace_period: 2h
admin:
  enabled: true
  token: 0123456789abcdef0123
)",
                                  c);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(c.addr, "0.0.0.0:9000");
  EXPECT_TRUE(c.is_public);
  ASSERT_EQ(c.trusted_appviews.size(), 1u);
  EXPECT_EQ(c.StorageRoot(), "/srv/blobs");
  EXPECT_TRUE(c.allow_all_crew);
  ASSERT_EQ(c.tiers.size(), 2u);
  EXPECT_EQ(c.tiers[0].quota_bytes, 1ull << 30);
  EXPECT_EQ(c.tiers[1].quota_bytes, 1'000'000'000'000ull);
  EXPECT_TRUE(c.tiers[1].scan_on_push);
  EXPECT_EQ(c.gc_grace_seconds, 7200);

  st = LoadHoldConfig("", FakeEnv({{"ATCR_HOLD_SERVER_PUBLIC", "false"},
                                   {"ATCR_HOLD_QUOTA_TIERS", "a:1GB,b:2GB:scan"},
                                   {"ATCR_HOLD_QUOTA_DEFAULTS_NEW_CREW_TIER", "b"},
                                   {"ATCR_HOLD_GC_INTERVAL", "6h"}}),
                      c);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_FALSE(c.is_public);
  ASSERT_EQ(c.tiers.size(), 2u);
  EXPECT_EQ(c.tiers[1].name, "b");
  EXPECT_TRUE(c.tiers[1].scan_on_push);
  EXPECT_EQ(c.gc_interval_seconds, 6 * 3600);
  st = ValidateHoldConfig(c);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(c.pull_zone, "https://cdn.example.com");
}

TEST(HoldConfig, UnknownKeysAndBadValuesNameTheKey) {
  HoldConfig c;
  Status st = ApplyHoldConfigYaml("server:\n  publik: true\n", c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("server.publik"), std::string::npos);

  st = ApplyHoldConfigYaml("gc:\n  interval: soon\n", c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("gc.interval"), std::string::npos);

  st = ApplyHoldConfigYaml("quota:\n  tiers:\n    - name: x\n", c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("quota is required"), std::string::npos);

  st = LoadHoldConfig("", FakeEnv({{"ATCR_HOLD_SERVER_PUBLIC", "maybe"}}), c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("ATCR_HOLD_SERVER_PUBLIC"), std::string::npos);

  st = LoadHoldConfig("/nonexistent/hold.yaml", {}, c);
  EXPECT_EQ(st.error().code, ErrorCode::kNotFound);
}

TEST(HoldConfig, ValidationErrors) {
  struct Case {
    std::function<void(HoldConfig&)> mutate;
    std::string want;
  };
  std::vector<Case> cases = {
      {[](HoldConfig& c) { c.public_url = ""; }, "server.public_url is required"},
      {[](HoldConfig& c) { c.public_url = "ftp://x.example"; }, "scheme"},
      {[](HoldConfig& c) { c.public_url = "https://x.example/path"; }, "without path"},
      {[](HoldConfig& c) { c.owner_did = ""; }, "registration.owner_did is required"},
      {[](HoldConfig& c) { c.owner_did = "alice.example"; }, "not a DID"},
      {[](HoldConfig& c) { c.storage_driver = "ftp"; }, "storage.driver"},
      {[](HoldConfig& c) { c.storage_driver = "s3"; }, "storage.bucket"},
      {[](HoldConfig& c) { c.tiers.clear(); }, "at least one tier"},
      {[](HoldConfig& c) { c.tiers.push_back(c.tiers[0]); }, "duplicate tier"},
      {[](HoldConfig& c) { c.new_crew_tier = "admiral"; }, "new_crew_tier"},
      {[](HoldConfig& c) { c.gc_interval_seconds = 1; }, "gc.interval"},
      {[](HoldConfig& c) { c.admin_enabled = true; }, "admin.token"},
      {[](HoldConfig& c) { c.trusted_appviews = {"nope"}; }, "trusted_appviews"},
      {[](HoldConfig& c) { c.region = std::string(65, 'x'); }, "registration.region"},
  };
  for (const Case& k : cases) {
    HoldConfig c = Valid();
    k.mutate(c);
    Status st = ValidateHoldConfig(c);
    ASSERT_FALSE(st.ok()) << k.want;
    EXPECT_NE(st.error().message.find(k.want), std::string::npos)
        << k.want << " vs " << st.error().message;
  }
  HoldConfig ok = Valid();
  ok.public_url = "http://localhost:8080/";
  ASSERT_TRUE(ValidateHoldConfig(ok).ok());
  EXPECT_EQ(ok.public_url, "http://localhost:8080");
}

TEST(HoldConfig, AdminTokenFromFile) {
  testing::TempDir dir;
  std::string path = dir.path() + "/token";
  std::ofstream(path) << "  secret-token-0123456789  \n";
  HoldConfig c = Valid();
  c.admin_enabled = true;
  c.admin_token_file = path;
  Status st = ValidateHoldConfig(c);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(c.admin_token, "secret-token-0123456789");
}

TEST(HoldConfig, SizeFormattingAndTiers) {
  EXPECT_EQ(FormatByteSize(2'000'000'000), "2.0 GB");
  EXPECT_EQ(FormatByteSize(100'000'000'000), "100.0 GB");
  EXPECT_EQ(FormatByteSize(999), "999 B");
  EXPECT_FALSE(ParseTierList("x").ok());
  EXPECT_FALSE(ParseTierList("x:1GB:fast").ok());
  EXPECT_FALSE(ParseTierList("").ok());
}

}  // namespace
}  // namespace atcr::hold
