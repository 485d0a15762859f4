#include "atcr/cbor/codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "atcr/cbor/json.h"

namespace atcr::cbor {
namespace {

// Hex with optional spaces between bytes, for readability.
Bytes Hex(std::string_view spaced) {
  std::string hex;
  for (char c : spaced) {
    if (c != ' ') hex.push_back(c);
  }
  auto b = HexDecode(hex);
  EXPECT_TRUE(b.ok()) << hex;
  return b.ok() ? *b : Bytes{};
}

std::string EncodeHex(const Value& v) { return HexEncode(Encode(v)); }

// Expects `hex` to be rejected, with an error mentioning `what`.
void ExpectRejected(std::string_view hex, std::string_view what,
                    const DecodeLimits& limits = {}) {
  auto r = Decode(Hex(hex), limits);
  ASSERT_FALSE(r.ok()) << hex << " decoded but should fail with: " << what;
  EXPECT_NE(r.error().message.find(what), std::string::npos)
      << hex << ": got \"" << r.error().message << "\", want it to mention \"" << what << "\"";
}

TEST(Codec, EmptyMstNodeEncodesToKnownBytes) {
  Value::Map m;
  m["e"] = Value::EmptyList();
  m["l"] = nullptr;
  Value v(std::move(m));
  Bytes b = Encode(v);
  EXPECT_EQ(HexEncode(b), "a2616580616cf6");
  EXPECT_EQ(Cid::ForDagCbor(b).ToString(),
            "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm");
}

TEST(Codec, IntegersUseShortestForm) {
  struct Case {
    int64_t v;
    const char* hex;
  } cases[] = {
      {0, "00"},
      {1, "01"},
      {23, "17"},
      {24, "1818"},
      {255, "18ff"},
      {256, "190100"},
      {65535, "19ffff"},
      {65536, "1a00010000"},
      {4294967295, "1affffffff"},
      {4294967296, "1b0000000100000000"},
      {INT64_MAX, "1b7fffffffffffffff"},
      {-1, "20"},
      {-24, "37"},
      {-25, "3818"},
      {-256, "38ff"},
      {-257, "390100"},
      {INT64_MIN, "3b7fffffffffffffff"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(EncodeHex(Value(c.v)), c.hex) << c.v;
    auto d = Decode(Hex(c.hex));
    ASSERT_TRUE(d.ok()) << c.hex << ": " << d.error().message;
    EXPECT_EQ(d->as_int(), c.v);
  }
}

TEST(Codec, MapKeysSortLengthFirstThenBytewise) {
  Value::Map m;
  for (const char* k : {"unicode", "integer", "string", "object", "array", "null", "bool"}) {
    m[k] = 1;
  }
  std::string order;
  for (const auto& [k, v] : m) order += k + ",";
  EXPECT_EQ(order, "bool,null,array,object,string,integer,unicode,");

  // Commit key order from the reference PDS.
  Value::Map c;
  for (const char* k : {"version", "prev", "data", "sig", "rev", "did"}) c[k] = nullptr;
  order.clear();
  for (const auto& [k, v] : c) order += k + ",";
  EXPECT_EQ(order, "did,rev,sig,data,prev,version,");

  // Bytewise means unsigned: 0xc3 sorts after 'z'.
  Value::Map u;
  u["\xc3\xa9"] = 1;  // é, 2 bytes
  u["zz"] = 2;
  u["a"] = 3;
  EXPECT_EQ(EncodeHex(Value(std::move(u))), "a3616103627a7a0262c3a901");
}

TEST(Codec, EncodesEveryKind) {
  EXPECT_EQ(EncodeHex(Value()), "f6");
  EXPECT_EQ(EncodeHex(Value(true)), "f5");
  EXPECT_EQ(EncodeHex(Value(false)), "f4");
  EXPECT_EQ(EncodeHex(Value("")), "60");
  EXPECT_EQ(EncodeHex(Value("a")), "6161");
  EXPECT_EQ(EncodeHex(Value(Bytes{1, 2})), "420102");
  EXPECT_EQ(EncodeHex(Value(Bytes{})), "40");
  EXPECT_EQ(EncodeHex(Value::EmptyList()), "80");
  EXPECT_EQ(EncodeHex(Value::EmptyMap()), "a0");
  EXPECT_EQ(EncodeHex(Value::Float(1.5)), "fb3ff8000000000000");
  EXPECT_EQ(EncodeHex(Value::Float(1.0)), "fb3ff0000000000000");
  EXPECT_EQ(EncodeHex(Value::Float(-0.0)), "fb8000000000000000");
  Cid cid = Cid::ForDagCbor(AsBytes("x"));
  EXPECT_EQ(EncodeHex(Value(cid)), "d82a582500" + HexEncode(cid.bytes()));
  // Lengths cross the 1-byte boundary.
  std::string s24(24, 'x');
  EXPECT_EQ(EncodeHex(Value(s24)).substr(0, 4), "7818");
  Value::List l(24, Value(0));
  EXPECT_EQ(EncodeHex(Value(std::move(l))).substr(0, 4), "9818");
}

TEST(Codec, RoundTripsNestedValues) {
  Value::Map inner;
  inner["k"] = Bytes{0, 1, 2, 255};
  inner["p"] = -12345678901234;
  inner["t"] = nullptr;
  inner["v"] = Cid::ForRaw(AsBytes("blob"));
  Value::List list;
  list.push_back(Value(std::move(inner)));
  list.push_back(Value("a~öñ©⽘☎𓋓😀👨‍👩‍👧‍👧"));
  list.push_back(Value::Float(3.25));
  list.push_back(Value(true));
  Value::Map top;
  top["e"] = std::move(list);
  top["l"] = Value::EmptyMap();
  Value v(std::move(top));
  Bytes b = Encode(v);
  auto d = Decode(b);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(*d, v);
  EXPECT_EQ(Encode(*d), b);
}

TEST(Codec, DecodeFirstReportsConsumedBytes) {
  Bytes frame = Encode(Value(Value::Map{{"op", 1}, {"t", "#commit"}}));
  Bytes body = Encode(Value(Value::Map{{"seq", 5}}));
  Bytes both = frame;
  both.insert(both.end(), body.begin(), body.end());
  size_t consumed = 0;
  auto head = DecodeFirst(both, &consumed);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(consumed, frame.size());
  EXPECT_EQ(head->FindString("t") ? *head->FindString("t") : "", "#commit");
  auto rest = Decode(ByteSpan(both).subspan(consumed));
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->FindInt("seq"), 5);
  // Decode (whole input) refuses the concatenation.
  ExpectRejected(HexEncode(both), "trailing bytes");
}

TEST(Codec, RejectsNonShortestIntegersAndLengths) {
  ExpectRejected("1800", "non-shortest");          // 0 in 1 byte
  ExpectRejected("1817", "non-shortest");          // 23 in 1 byte
  ExpectRejected("190018", "non-shortest");        // 24 in 2 bytes
  ExpectRejected("1a0000ffff", "non-shortest");    // 65535 in 4 bytes
  ExpectRejected("1b00000000ffffffff", "non-shortest");
  ExpectRejected("3800", "non-shortest");          // -1 in 1 byte
  ExpectRejected("780161", "non-shortest");        // text length 1 in 1 byte
  ExpectRejected("580101", "non-shortest");        // bytes length 1 in 1 byte
  ExpectRejected("980100", "non-shortest");        // array length 1 in 1 byte
  ExpectRejected("b8016161 01", "non-shortest");   // map size 1 in 1 byte
  ExpectRejected("d8", "truncated");
  ExpectRejected("d9002a582500" + HexEncode(Cid::ForRaw({}).bytes()), "non-shortest");
}

TEST(Codec, RejectsIntegersOutsideInt64) {
  ExpectRejected("1b8000000000000000", "exceeds int64");
  ExpectRejected("1bffffffffffffffff", "exceeds int64");
  ExpectRejected("3b8000000000000000", "below int64");
}

TEST(Codec, RejectsIndefiniteLengths) {
  ExpectRejected("5f4101ff", "indefinite");
  ExpectRejected("7f6161ff", "indefinite");
  ExpectRejected("9f01ff", "indefinite");
  ExpectRejected("bf616101ff", "indefinite");
  ExpectRejected("ff", "break");
  ExpectRejected("1f", "indefinite");  // major 0 with info 31
}

TEST(Codec, RejectsReservedAdditionalInfo) {
  ExpectRejected("1c", "reserved");
  ExpectRejected("5d", "reserved");
  ExpectRejected("fe", "reserved");
}

TEST(Codec, RejectsUnsortedAndDuplicateMapKeys) {
  ExpectRejected("a2616201616101", "canonical order");      // {"b":1,"a":1}
  ExpectRejected("a262616101616201", "canonical order");    // {"aa":1,"b":1}: shorter first
  ExpectRejected("a2616101616101", "duplicate map key");    // {"a":1,"a":1}
  ExpectRejected("a10101", "not a text string");            // {1:1}
  ExpectRejected("a1410101", "not a text string");          // {h'01':1}
}

TEST(Codec, RejectsTagsOtherThan42AndBadCids) {
  ExpectRejected("c074323031332d30332d32315432303a30343a30305a", "tag 0");
  ExpectRejected("c11a514b67b0", "tag 1");
  ExpectRejected("d82a6161", "not a byte string");
  ExpectRejected("d82a40", "0x00 multibase prefix");
  ExpectRejected("d82a5825" "01" + HexEncode(Cid::ForRaw({}).bytes()), "0x00 multibase prefix");
  ExpectRejected("d82a4400010203", "invalid CID");
  // CIDv0 (bare sha2-256 multihash) is not allowed in atproto.
  ExpectRejected("d82a582300" "1220" + std::string(64, 'a'), "CIDv0");
  // tag 42 nested inside another tag
  ExpectRejected("d82ad82a40", "not a byte string");
}

TEST(Codec, RejectsSimpleValuesOtherThanFalseTrueNull) {
  ExpectRejected("f7", "undefined");
  ExpectRejected("e0", "simple value");
  ExpectRejected("f0", "simple value");
  ExpectRejected("f820", "simple value");
}

TEST(Codec, RejectsFloatsThatAreNotFinite64Bit) {
  ExpectRejected("f93c00", "16-bit float");
  ExpectRejected("fa3fc00000", "32-bit float");
  ExpectRejected("fb7ff8000000000000", "NaN");
  ExpectRejected("fb7ff0000000000000", "Infinity");
  ExpectRejected("fbfff0000000000000", "Infinity");
  DecodeLimits no_floats;
  no_floats.allow_floats = false;
  ExpectRejected("fb3ff8000000000000", "float not allowed", no_floats);
  auto ok = Decode(Hex("fb3ff8000000000000"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->as_float(), 1.5);
}

TEST(Codec, RejectsInvalidUtf8) {
  ExpectRejected("61ff", "invalid UTF-8");
  ExpectRejected("62c0af", "invalid UTF-8");          // overlong '/'
  ExpectRejected("63eda080", "invalid UTF-8");        // surrogate U+D800
  ExpectRejected("64f4908080", "invalid UTF-8");      // above U+10FFFF
  ExpectRejected("62e282", "invalid UTF-8");          // truncated sequence
  ExpectRejected("a161ff01", "invalid UTF-8");        // in a map key
  auto ok = Decode(Hex("64f09f9880"));                // 😀
  EXPECT_TRUE(ok.ok());
}

TEST(Codec, RejectsTruncatedInput) {
  for (std::string_view hex : {"", "18", "19ff", "1bffffffff", "6261", "4201", "8201",
                               "a16161", "a1", "d82a", "d82a5825000171"}) {
    auto r = Decode(Hex(hex));
    EXPECT_FALSE(r.ok()) << hex;
  }
}

TEST(Codec, RejectsTrailingBytes) {
  ExpectRejected("0000", "trailing bytes at offset 1");
  ExpectRejected("a0f6", "trailing bytes");
}

TEST(Codec, ErrorsNameTheByteOffset) {
  // [1, 2, {"b":1, "a":1}]: the bad key "a" starts at offset 7.
  ExpectRejected("8301 02a2616201616101", "at offset 7");
}

TEST(Codec, HugeDeclaredLengthsDoNotAllocate) {
  ExpectRejected("5bffffffffffffffff", "exceeds input");
  ExpectRejected("7b7fffffffffffffff", "exceeds input");
  ExpectRejected("9b7fffffffffffffff", "exceeds input");
  ExpectRejected("bb7fffffffffffffff", "exceeds input");
  ExpectRejected("9a7fffffff", "exceeds input");
}

TEST(Codec, EnforcesDepthLimit) {
  DecodeLimits limits;
  limits.max_depth = 4;
  EXPECT_TRUE(Decode(Hex("81818181 00"), limits).ok());
  ExpectRejected("8181818181 00", "nesting deeper than 4", limits);
  ExpectRejected("a1616181818181 00", "nesting deeper than 4", limits);
  // Default limit holds against a deep hostile input.
  Bytes deep(100000, 0x81);
  deep.push_back(0x00);
  auto r = Decode(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("nesting"), std::string::npos);
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
}

TEST(Codec, EnforcesItemAndSizeLimits) {
  DecodeLimits limits;
  limits.max_items = 3;
  EXPECT_TRUE(Decode(Hex("820102"), limits).ok());
  ExpectRejected("83010203", "more than 3 items", limits);
  limits = {};
  limits.max_input_bytes = 2;
  auto r = Decode(Hex("820102"), limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
}

TEST(Codec, EncodeDecodeMatchesJsonRoundTrip) {
  auto v = FromJsonText(R"({"a":[1,-2,{"$bytes":"AQI"}],"b":{"$link":"bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"}})");
  ASSERT_TRUE(v.ok()) << v.error().message;
  auto back = Decode(Encode(*v));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *v);
}

}  // namespace
}  // namespace atcr::cbor
