#include "atcr/cbor/cid.h"

#include <gtest/gtest.h>

#include "atcr/testing/interop.h"

#include <fstream>
#include <set>
#include <sstream>
#include <unordered_set>

#include "atcr/base/hash.h"
#include "atcr/cbor/multibase.h"
#include "atcr/cbor/multicodec.h"
#include "atcr/cbor/varint.h"

namespace atcr::cbor {
namespace {

constexpr const char* kEmptyMst = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm";
constexpr const char* kBlobCid = "bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity";

TEST(Cid, ParsesAndFormatsBlessedDagCbor) {
  auto c = Cid::Parse(kEmptyMst);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->version(), 1u);
  EXPECT_EQ(c->codec(), multicodec::kDagCbor);
  EXPECT_EQ(c->hash_code(), multicodec::kSha2_256);
  EXPECT_EQ(c->digest().size(), 32u);
  EXPECT_EQ(c->bytes().size(), Cid::kBlessedSize);
  EXPECT_EQ(HexEncode(c->bytes()).substr(0, 8), "01711220");
  EXPECT_TRUE(c->IsBlessed());
  EXPECT_EQ(c->ToString(), kEmptyMst);
  auto bytes = HexDecode("a2616580616cf6");
  ASSERT_TRUE(bytes.ok());
  EXPECT_TRUE(c->Verify(*bytes).ok());
  EXPECT_FALSE(c->Verify(AsBytes("other")).ok());
  EXPECT_EQ(Cid::ForDagCbor(*bytes), *c);
}

TEST(Cid, ParsesRawCodec) {
  auto c = Cid::Parse(kBlobCid);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->codec(), multicodec::kRaw);
  EXPECT_TRUE(c->IsBlessed());
  EXPECT_EQ(c->ToString().substr(0, 7), "bafkrei");
  EXPECT_EQ(Cid::ForRaw(AsBytes("hello")).ToString().substr(0, 7), "bafkrei");
}

TEST(Cid, BinaryRoundTripAndPrefixRead) {
  Cid c = Cid::ForDagCbor(AsBytes("hello"));
  auto back = Cid::FromBytes(c.bytes());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, c);
  Bytes with_tail(c.bytes().begin(), c.bytes().end());
  with_tail.push_back(0xa0);
  size_t consumed = 0;
  auto prefix = Cid::ReadPrefix(with_tail, &consumed);
  ASSERT_TRUE(prefix.ok());
  EXPECT_EQ(consumed, c.bytes().size());
  EXPECT_EQ(*prefix, c);
  EXPECT_FALSE(Cid::FromBytes(with_tail).ok());
}

TEST(Cid, KeepsUnblessedCidsExactly) {
  // CIDv1 dag-pb (0x70) with sha2-256, as IPFS writes: held as-is, but not blessed.
  auto c = Cid::Parse("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->codec(), 0x70u);
  EXPECT_FALSE(c->IsBlessed());
  EXPECT_EQ(c->ToString(), "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi");
  // A blake2b-256 multihash (0xb220) is parsed, but Verify cannot check it.
  Bytes b = {0x01, 0x71};
  AppendVarint(0xb220, b);
  b.push_back(32);
  b.resize(b.size() + 32, 7);
  auto blake = Cid::FromBytes(b);
  ASSERT_TRUE(blake.ok()) << blake.error().message;
  EXPECT_FALSE(blake->IsBlessed());
  EXPECT_FALSE(blake->Verify(AsBytes("x")).ok());
}

TEST(Cid, RejectsMalformed) {
  for (std::string_view s : {"", "b", ".", "bafyrei", "Bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm",
                             "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hp",
                             "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpma",
                             "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR",
                             "zdj7WWeQ43G6JJvLWQWZpyHuAMq6uYWRjkBXFad11vE2LHhQ7"}) {
    EXPECT_FALSE(Cid::Parse(s).ok()) << s;
  }
  std::string huge(100000, 'a');
  EXPECT_FALSE(Cid::Parse("b" + huge).ok());
  // Version 2, version 0 varint, and non-minimal varints.
  EXPECT_FALSE(Cid::FromBytes(Bytes{0x02, 0x71, 0x12, 0x20}).ok());
  EXPECT_FALSE(Cid::FromBytes(Bytes{0x81, 0x00, 0x71, 0x12, 0x01, 0x00}).ok());
  // sha2-256 with a 31-byte digest; digest longer than the cap.
  Bytes short_digest = {0x01, 0x71, 0x12, 0x1f};
  short_digest.resize(4 + 31);
  EXPECT_FALSE(Cid::FromBytes(short_digest).ok());
  Bytes long_digest = {0x01, 0x71, 0x13, 0x41};
  long_digest.resize(4 + 65);
  EXPECT_FALSE(Cid::FromBytes(long_digest).ok());
  // Truncated digest.
  Cid c = Cid::ForRaw(AsBytes("x"));
  EXPECT_FALSE(Cid::FromBytes(c.bytes().first(35)).ok());
}

TEST(Cid, InteropInvalidSyntaxIsRejected) {
  int checked = 0;
  for (const std::string& line : atcr::testing::VectorLines("syntax/cid_syntax_invalid.txt")) {
    EXPECT_FALSE(Cid::Parse(line).ok()) << "'" << line << "'";
    ++checked;
  }
  EXPECT_GT(checked, 5);
}

TEST(Cid, InteropValidBase32SyntaxParses) {
  int checked = 0;
  for (const std::string& line : atcr::testing::VectorLines("syntax/cid_syntax_valid.txt")) {
    // atcr parses only the base32 form atproto uses; other multibases are syntax-valid
    // strings that the data model never carries.
    if (line[0] != 'b') continue;
    auto c = Cid::Parse(line);
    ASSERT_TRUE(c.ok()) << line << ": " << c.error().message;
    EXPECT_EQ(c->ToString(), line);
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

TEST(Cid, OrderingAndHashing) {
  Cid a = Cid::ForRaw(AsBytes("a"));
  Cid b = Cid::ForRaw(AsBytes("b"));
  Cid a2 = Cid::ForRaw(AsBytes("a"));
  EXPECT_EQ(a, a2);
  EXPECT_NE(a, b);
  EXPECT_TRUE((a < b) != (b < a));
  std::set<Cid> ordered = {a, b, a2};
  EXPECT_EQ(ordered.size(), 2u);
  std::unordered_set<Cid> hashed = {a, b, a2};
  EXPECT_EQ(hashed.size(), 2u);
  EXPECT_EQ(std::hash<Cid>{}(a), std::hash<Cid>{}(a2));
  Cid empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.ToString(), "");
  EXPECT_LT(empty, a);
}

TEST(Varint, EncodesMinimally) {
  struct Case {
    uint64_t v;
    const char* hex;
  } cases[] = {{0, "00"}, {1, "01"}, {127, "7f"}, {128, "8001"}, {255, "ff01"},
               {300, "ac02"}, {0x1200, "8024"}, {0xe7, "e701"}, {16384, "808001"},
               {(uint64_t{1} << 63) - 1, "ffffffffffffffff7f"}};
  for (const auto& c : cases) {
    Bytes out;
    AppendVarint(c.v, out);
    EXPECT_EQ(HexEncode(out), c.hex);
    EXPECT_EQ(VarintSize(c.v), out.size());
    size_t consumed = 0;
    auto r = ReadVarint(out, &consumed);
    ASSERT_TRUE(r.ok()) << c.hex;
    EXPECT_EQ(*r, c.v);
    EXPECT_EQ(consumed, out.size());
  }
}

TEST(Varint, RejectsBadEncodings) {
  size_t consumed = 0;
  EXPECT_FALSE(ReadVarint(Bytes{}, &consumed).ok());
  EXPECT_FALSE(ReadVarint(Bytes{0x80}, &consumed).ok());        // truncated
  EXPECT_FALSE(ReadVarint(Bytes{0x80, 0x00}, &consumed).ok());  // non-minimal 0
  EXPECT_FALSE(ReadVarint(Bytes{0xff, 0x00}, &consumed).ok());  // non-minimal 127
  EXPECT_FALSE(ReadVarint(Bytes(10, 0xff), &consumed).ok());    // too long
  Bytes ten = Bytes(9, 0x80);
  ten.push_back(0x01);
  EXPECT_FALSE(ReadVarint(ten, &consumed).ok());
  // Stops at the first complete varint.
  auto r = ReadVarint(Bytes{0x05, 0xff}, &consumed);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(consumed, 1u);
}

TEST(Multibase, RoundTripsEachBase) {
  Bytes data = {0x00, 0x01, 0xe7, 0xff, 0x10};
  for (Multibase b : {Multibase::kBase32, Multibase::kBase58Btc, Multibase::kBase64Url}) {
    std::string s = MultibaseEncode(b, data);
    EXPECT_EQ(s[0], static_cast<char>(b));
    auto back = MultibaseDecode(s);
    ASSERT_TRUE(back.ok()) << s;
    EXPECT_EQ(*back, data);
  }
  EXPECT_EQ(MultibaseEncode(Multibase::kBase58Btc, AsBytes("hello")), "zCn8eVZg");
  EXPECT_FALSE(MultibaseDecode("").ok());
  EXPECT_FALSE(MultibaseDecode("xabc").ok());
  EXPECT_FALSE(MultibaseDecode("z0OIl").ok());  // not in the bitcoin alphabet
  EXPECT_FALSE(MultibaseDecode("bA").ok());     // uppercase is multibase 'B', not 'b'
  EXPECT_FALSE(MultibaseDecode("uAA==").ok());
}

}  // namespace
}  // namespace atcr::cbor
