#include "atcr/base/encoding.h"

#include <gtest/gtest.h>

namespace atcr {
namespace {

TEST(Hex, RoundTripsAndRejectsBadCharacters) {
  Bytes data = {0x00, 0xab, 0xff, 0x10};
  EXPECT_EQ(HexEncode(data), "00abff10");
  auto back = HexDecode("00ABff10");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, data);
  EXPECT_FALSE(HexDecode("0g").ok());
  EXPECT_FALSE(HexDecode("abc").ok());
}

TEST(Base32, MatchesRfc4648LowercaseWithoutPadding) {
  EXPECT_EQ(Base32Encode(AsBytes("foobar")), "mzxw6ytboi");
  EXPECT_EQ(Base32Encode(AsBytes("f")), "my");
  auto back = Base32Decode("mzxw6ytboi");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(AsString(*back), "foobar");
  EXPECT_FALSE(Base32Decode("MZXW").ok());
  EXPECT_FALSE(Base32Decode("mz1").ok());
}

TEST(Base58, EncodesLeadingZerosAsOnes) {
  Bytes data = {0, 0, 1, 2, 3};
  std::string enc = Base58Encode(data);
  EXPECT_EQ(enc.substr(0, 2), "11");
  auto back = Base58Decode(enc);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, data);
  EXPECT_EQ(Base58Encode(AsBytes("hello world")), "StV1DL6CwTryKyV");
  EXPECT_FALSE(Base58Decode("0OIl").ok());
}

TEST(Base64, StandardAndUrlVariants) {
  EXPECT_EQ(Base64Encode(AsBytes("foob")), "Zm9vYg==");
  EXPECT_EQ(Base64Encode(AsBytes("foob"), Base64Variant::kUrl, false), "Zm9vYg");
  Bytes hi = {0xfb, 0xff};
  EXPECT_EQ(Base64Encode(hi), "+/8=");
  EXPECT_EQ(Base64Encode(hi, Base64Variant::kUrl, false), "-_8");
  auto a = Base64Decode("Zm9vYg==");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(AsString(*a), "foob");
  auto b = Base64Decode("Zm9vYg");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(AsString(*b), "foob");
  EXPECT_FALSE(Base64Decode("-_8", Base64Variant::kStandard).ok());
  EXPECT_FALSE(Base64Decode("Zm9vY", Base64Variant::kStandard).ok());
}

}  // namespace
}  // namespace atcr
