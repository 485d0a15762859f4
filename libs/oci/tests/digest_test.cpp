#include "atcr/oci/digest.h"

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>

namespace atcr::oci {
namespace {

const std::string kHex64 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const std::string kHex128 = kHex64 + kHex64;

struct DigestCase {
  std::string text;
  bool parses;
  bool supported;
};

TEST(Digest, Grammar) {
  const DigestCase cases[] = {
      {"sha256:" + kHex64, true, true},
      {"sha512:" + kHex128, true, true},
      {"blake3:" + kHex64, true, false},
      {"sha384:abcdef", true, false},                   // unregistered: grammar only
      {"multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8", true, false},
      {"sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564", true, false},
      {"a.b_c-d+e:x", true, false},
      {"sha256:" + std::string(64, 'A'), false, false},  // uppercase hex
      {"sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", false, false},
      {"sha256:" + kHex64.substr(1), false, false},      // 63 chars
      {"sha256:" + kHex64 + "0", false, false},          // 65 chars
      {"sha512:" + kHex64, false, false},                // sha256 length under sha512
      {"sha256:" + kHex64.substr(0, 63) + "g", false, false},
      {"sha256:", false, false},
      {":" + kHex64, false, false},
      {"sha256" + kHex64, false, false},
      {"", false, false},
      {"SHA256:" + kHex64, false, false},                // uppercase algorithm
      {"sha256-:abc", false, false},
      {"-sha256:abc", false, false},
      {"sha..256:abc", false, false},
      {"sha256:ab/cd", false, false},
      {"sha256:ab.cd", false, false},
      {"foo:" + std::string(300, 'a'), false, false},    // over kMaxDigestLength
      {"sha256:" + kHex64 + ":", false, false},
      {std::string("sha256:") + kHex64.substr(0, 10) + '\0' + kHex64.substr(11), false, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto d = Digest::Parse(c.text);
    ASSERT_EQ(d.ok(), c.parses) << (d.ok() ? "" : d.error().message);
    if (!d.ok()) {
      EXPECT_EQ(d.error().wire, "DIGEST_INVALID");
      EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
      continue;
    }
    EXPECT_EQ(d->str(), c.text);
    EXPECT_EQ(d->supported(), c.supported);
    auto s = Digest::ParseSupported(c.text);
    EXPECT_EQ(s.ok(), c.supported);
    if (!s.ok()) {
      EXPECT_EQ(s.error().wire, "DIGEST_INVALID");
      EXPECT_NE(s.error().message.find("unsupported"), std::string::npos);
    }
  }
}

TEST(Digest, Parts) {
  auto d = Digest::Parse("sha256:" + kHex64);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->algorithm(), "sha256");
  EXPECT_EQ(d->encoded(), kHex64);
  EXPECT_EQ(d->hash_algorithm(), HashAlgorithm::kSha256);
  auto d512 = Digest::Parse("sha512:" + kHex128);
  ASSERT_TRUE(d512.ok());
  EXPECT_EQ(d512->hash_algorithm(), HashAlgorithm::kSha512);
  Digest empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.algorithm(), "");
  EXPECT_EQ(empty.encoded(), "");
  EXPECT_FALSE(empty.supported());
}

TEST(Digest, OfBytes) {
  EXPECT_EQ(Digest::Sha256Of(AsBytes("")).str(), "sha256:" + kHex64);
  Hasher h(HashAlgorithm::kSha512);
  h.Update(std::string_view("abc"));
  Digest d = Digest::FromHash(HashAlgorithm::kSha512, h.Finish());
  EXPECT_EQ(d.algorithm(), "sha512");
  EXPECT_EQ(d.encoded().substr(0, 16), "ddaf35a193617aba");
  EXPECT_TRUE(Digest::Parse(d.str()).ok());
}

TEST(Digest, ValueSemantics) {
  auto a = Digest::Parse("sha256:" + kHex64);
  auto b = Digest::Sha256Of(AsBytes(""));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, b);
  std::unordered_set<Digest> set{*a, b, Digest::Sha256Of(AsBytes("x"))};
  EXPECT_EQ(set.size(), 2u);
}

}  // namespace
}  // namespace atcr::oci
