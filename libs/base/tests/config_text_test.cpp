#include "atcr/base/config_text.h"

#include <gtest/gtest.h>

namespace atcr {
namespace {

TEST(ConfigText, Bools) {
  for (const char* t : {"true", "YES", "on", "1"}) EXPECT_TRUE(*ParseConfigBool(t)) << t;
  for (const char* t : {"false", "No", "OFF", "0"}) EXPECT_FALSE(*ParseConfigBool(t)) << t;
  auto bad = ParseConfigBool("maybe");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("\"maybe\""), std::string::npos);
}

TEST(ConfigText, Counts) {
  EXPECT_EQ(*ParseConfigCount("0", 10), 0);
  EXPECT_EQ(*ParseConfigCount("10", 10), 10);
  EXPECT_FALSE(ParseConfigCount("11", 10).ok());
  EXPECT_FALSE(ParseConfigCount("", 10).ok());
  EXPECT_FALSE(ParseConfigCount("-1", 10).ok());
  EXPECT_FALSE(ParseConfigCount("9999999999999999999", INT64_MAX).ok());
}

TEST(ConfigText, Durations) {
  EXPECT_EQ(*ParseDurationSeconds("90"), 90);
  EXPECT_EQ(*ParseDurationSeconds("90s"), 90);
  EXPECT_EQ(*ParseDurationSeconds("15m"), 900);
  EXPECT_EQ(*ParseDurationSeconds("24h"), 86400);
  EXPECT_EQ(*ParseDurationSeconds("7d"), 7 * 86400);
  for (const char* t : {"", "m", "1.5h", "10w", "-5s", "1234567890123s"}) {
    EXPECT_FALSE(ParseDurationSeconds(t).ok()) << t;
  }
}

TEST(ConfigText, ByteSizes) {
  EXPECT_EQ(*ParseByteSize("512"), 512u);
  EXPECT_EQ(*ParseByteSize("512B"), 512u);
  EXPECT_EQ(*ParseByteSize("10MiB"), 10u << 20);
  EXPECT_EQ(*ParseByteSize("10 mib"), 10u << 20);
  EXPECT_EQ(*ParseByteSize("0"), 0u);
  EXPECT_EQ(*ParseByteSize("2GB"), 2'000'000'000u);
  EXPECT_EQ(*ParseByteSize("1TiB"), 1ull << 40);
  for (const char* t : {"", "MiB", "10XB", "1.5GB", "999999999999999TB", "1234567890123456"}) {
    EXPECT_FALSE(ParseByteSize(t).ok()) << t;
  }
}

TEST(ConfigText, HostPort) {
  auto a = SplitHostPort("127.0.0.1:5000");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->first, "127.0.0.1");
  EXPECT_EQ(a->second, 5000);
  auto b = SplitHostPort("[::1]:80");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->first, "::1");
  auto c = SplitHostPort(":8080");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->first, "0.0.0.0");
  for (const char* t : {"localhost", "::1:80", "h:", "h:65536", "h:8o", "[::1]80"}) {
    EXPECT_FALSE(SplitHostPort(t).ok()) << t;
  }
}

TEST(ConfigText, Lists) {
  EXPECT_EQ(SplitConfigList(" a, b ,,c "), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(SplitConfigList("").empty());
  EXPECT_EQ(TrimSpace("\t x y \r\n"), "x y");
  EXPECT_EQ(AsciiLower("MiB-Ä"), "mib-Ä");
}

}  // namespace
}  // namespace atcr
