#include "atcr/oci/name.h"

#include <gtest/gtest.h>

namespace atcr::oci {
namespace {

TEST(RepositoryName, Good) {
  const std::string good[] = {
      "a",
      "0",
      "library/ubuntu",
      "alice.bsky.social/myapp",
      "did-plc-abc123/app",
      "a/b/c/d/e",
      "a.b",
      "a_b",
      "a__b",
      "a-b",
      "a---b",
      "a.b_c__d-e--f",
      "foo/bar.baz_qux__quux-corge",
      "9a/8b",
      std::string(255, 'a'),
      std::string(127, 'a') + "/" + std::string(127, 'b'),
  };
  for (const auto& n : good) {
    SCOPED_TRACE(n);
    auto s = ValidateRepositoryName(n);
    EXPECT_TRUE(s.ok()) << s.error().message;
  }
}

TEST(RepositoryName, Bad) {
  const std::string bad[] = {
      "",
      "A",
      "Library/ubuntu",
      "library/Ubuntu",
      "/a",
      "a/",
      "a//b",
      ".a",
      "a.",
      "_a",
      "a_",
      "-a",
      "a-",
      "a..b",
      "a___b",
      "a._b",
      "a-.b",
      "a.-b",
      "a_-b",
      "a:b",
      "a b",
      "a@b",
      "a/../b",
      "../a",
      "a/./b",
      "a%2fb",
      "é",
      std::string("a\0b", 3),
      std::string(256, 'a'),
  };
  for (const auto& n : bad) {
    SCOPED_TRACE(n);
    auto s = ValidateRepositoryName(n);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().wire, "NAME_INVALID");
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(RepositoryName, LengthErrorNamesTheLimit) {
  auto s = ValidateRepositoryName(std::string(256, 'a'));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("255"), std::string::npos);
}

TEST(Tag, GoodAndBad) {
  const std::string good[] = {"latest", "v1.0.0", "1", "_", "_x", "A-Z_a.z", "sha256-abc.sig",
                              std::string(128, 'x')};
  for (const auto& t : good) {
    SCOPED_TRACE(t);
    EXPECT_TRUE(ValidateTag(t).ok());
  }
  const std::string bad[] = {"", ".x", "-x", "a:b", "a/b", "a b", "a+b", "ü",
                             std::string(129, 'x')};
  for (const auto& t : bad) {
    SCOPED_TRACE(t);
    auto s = ValidateTag(t);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().wire, "TAG_INVALID");
  }
}

TEST(Reference, TagOrDigest) {
  auto tag = ParseReference("v1.2");
  ASSERT_TRUE(tag.ok());
  EXPECT_FALSE(tag->is_digest());
  EXPECT_EQ(tag->tag(), "v1.2");
  EXPECT_EQ(tag->str(), "v1.2");

  const std::string d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  auto dig = ParseReference(d);
  ASSERT_TRUE(dig.ok());
  ASSERT_TRUE(dig->is_digest());
  EXPECT_EQ(dig->digest().str(), d);
  EXPECT_EQ(dig->str(), d);

  auto bad_digest = ParseReference("sha256:abc");
  ASSERT_FALSE(bad_digest.ok());
  EXPECT_EQ(bad_digest.error().wire, "DIGEST_INVALID");
  auto bad_tag = ParseReference("-x");
  ASSERT_FALSE(bad_tag.ok());
  EXPECT_EQ(bad_tag.error().wire, "TAG_INVALID");
}

}  // namespace
}  // namespace atcr::oci
