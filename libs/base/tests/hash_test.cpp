#include "atcr/base/hash.h"

#include <gtest/gtest.h>

#include "atcr/base/time.h"

namespace atcr {
namespace {

TEST(Hasher, StreamingEqualsOneShot) {
  Hasher h;
  h.Update(std::string_view("hello "));
  Hasher fork = h;
  h.Update(std::string_view("world"));
  EXPECT_EQ(HexEncode(h.Finish()), Sha256Hex(std::string_view("hello world")));
  fork.Update(std::string_view("there"));
  EXPECT_EQ(HexEncode(fork.Finish()), Sha256Hex(std::string_view("hello there")));
  EXPECT_EQ(Sha256Hex(std::string_view("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Hasher, Sha512KnownAnswer) {
  Hasher h(HashAlgorithm::kSha512);
  h.Update(std::string_view("abc"));
  EXPECT_EQ(HexEncode(h.Finish()).substr(0, 16), "ddaf35a193617aba");
}

TEST(Time, Rfc3339RoundTrip) {
  auto t = ParseRfc3339("2024-01-02T03:04:05.123Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatRfc3339(*t), "2024-01-02T03:04:05.123Z");
  auto off = ParseRfc3339("2024-01-02T05:04:05.123+02:00");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(*off, *t);
  EXPECT_FALSE(ParseRfc3339("2024-01-02 03:04:05Z").ok());
  EXPECT_FALSE(ParseRfc3339("2024-01-02T03:04:05").ok());
}

}  // namespace
}  // namespace atcr
