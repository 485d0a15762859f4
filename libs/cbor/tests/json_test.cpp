#include "atcr/cbor/json.h"

#include <gtest/gtest.h>

#include "atcr/testing/interop.h"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "atcr/cbor/codec.h"
#include "atcr/cbor/data_model.h"

namespace atcr::cbor {
namespace {

namespace json = boost::json;

json::value ReadInteropJson(const std::string& name) {
  return atcr::testing::ReadInteropJson("data-model/" + name);
}

// Every fixture: JSON -> data model -> exact CBOR bytes -> exact CID, and back.
TEST(DataModelFixtures, JsonEncodesToExactCborAndCid) {
  json::value all = ReadInteropJson("data-model-fixtures.json");
  ASSERT_TRUE(all.is_array());
  int checked = 0;
  for (const json::value& fixture : all.as_array()) {
    const json::object& f = fixture.as_object();
    SCOPED_TRACE(json::serialize(f.at("cid")));
    auto want_cbor = Base64Decode(std::string(f.at("cbor_base64").as_string()));
    ASSERT_TRUE(want_cbor.ok());
    std::string want_cid(f.at("cid").as_string());

    auto value = FromJson(f.at("json"));
    ASSERT_TRUE(value.ok()) << value.error().message;
    Bytes cbor = Encode(*value);
    EXPECT_EQ(HexEncode(cbor), HexEncode(*want_cbor));
    EXPECT_EQ(Cid::ForDagCbor(cbor).ToString(), want_cid);
    EXPECT_TRUE(ValidateAtprotoData(*value).ok());

    // CBOR -> data model gives the same value, and -> JSON gives back the fixture JSON.
    auto decoded = Decode(*want_cbor);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(*decoded, *value);
    EXPECT_EQ(ToJson(*decoded), f.at("json"));
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

TEST(DataModelFixtures, ValidJsonIsAcceptedAndRoundTrips) {
  json::value all = ReadInteropJson("data-model-valid.json");
  ASSERT_TRUE(all.is_array());
  int checked = 0;
  for (const json::value& fixture : all.as_array()) {
    const json::object& f = fixture.as_object();
    SCOPED_TRACE(std::string(f.at("note").as_string()));
    auto value = FromJson(f.at("json"));
    ASSERT_TRUE(value.ok()) << value.error().message;
    auto valid = ValidateAtprotoData(*value);
    EXPECT_TRUE(valid.ok()) << valid.error().message;
    auto decoded = Decode(Encode(*value));
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(*decoded, *value);
    ++checked;
  }
  EXPECT_GT(checked, 0);
  EXPECT_EQ(checked, static_cast<int>(all.as_array().size()));
}

TEST(DataModelFixtures, InvalidJsonIsRejected) {
  json::value all = ReadInteropJson("data-model-invalid.json");
  ASSERT_TRUE(all.is_array());
  int checked = 0;
  for (const json::value& fixture : all.as_array()) {
    const json::object& f = fixture.as_object();
    SCOPED_TRACE(std::string(f.at("note").as_string()));
    auto value = FromJson(f.at("json"));
    bool rejected = !value.ok() || !ValidateAtprotoData(*value).ok();
    EXPECT_TRUE(rejected);
    ++checked;
  }
  EXPECT_GT(checked, 0);
  EXPECT_EQ(checked, static_cast<int>(all.as_array().size()));
}

TEST(Json, IntegralFloatsBecomeInts) {
  auto v = FromJsonText(R"({"a":123.0,"b":-4e0,"c":1e3})");
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->FindInt("a"), 123);
  EXPECT_EQ(v->FindInt("b"), -4);
  EXPECT_EQ(v->FindInt("c"), 1000);
}

TEST(Json, FloatsOnlyWhenAllowed) {
  auto no = FromJsonText(R"({"a":1.5})");
  ASSERT_FALSE(no.ok());
  EXPECT_NE(no.error().message.find("$.a"), std::string::npos) << no.error().message;
  JsonLimits limits;
  limits.allow_floats = true;
  auto yes = FromJsonText(R"({"a":1.5})", limits);
  ASSERT_TRUE(yes.ok());
  EXPECT_EQ(yes->Find("a")->as_float(), 1.5);
  EXPECT_FALSE(ValidateAtprotoData(*yes).ok());
  // Beyond int64 is never an integer.
  EXPECT_FALSE(FromJsonText("18446744073709551615").ok());
  EXPECT_FALSE(FromJsonText("1e300").ok());
  EXPECT_TRUE(FromJsonText("9223372036854775807").ok());
  EXPECT_TRUE(FromJsonText("-9223372036854775808").ok());
}

TEST(Json, BytesAcceptPaddingAndWriteWithout) {
  auto padded = FromJsonText(R"({"$bytes":"AQI="})");
  auto bare = FromJsonText(R"({"$bytes":"AQI"})");
  ASSERT_TRUE(padded.ok());
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(*padded, *bare);
  EXPECT_EQ(padded->as_bytes(), (Bytes{1, 2}));
  EXPECT_EQ(ToJsonText(*padded), R"({"$bytes":"AQI"})");
  EXPECT_FALSE(FromJsonText(R"({"$bytes":"AQ-_"})").ok());  // URL-safe alphabet
  EXPECT_FALSE(FromJsonText(R"({"$bytes":"A"})").ok());
}

TEST(Json, LinksAndBlobs) {
  const char* text =
      R"({"$type":"blob","ref":{"$link":"bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity"},"mimeType":"image/jpeg","size":10000})";
  auto v = FromJsonText(text);
  ASSERT_TRUE(v.ok()) << v.error().message;
  ASSERT_NE(v->FindLink("ref"), nullptr);
  EXPECT_TRUE(v->FindLink("ref")->IsBlessed());
  EXPECT_TRUE(ValidateAtprotoData(*v).ok());
  // Blob key order in CBOR: ref, size, $type, mimeType.
  std::string order;
  for (const auto& [k, item] : v->as_map()) order += k + ",";
  EXPECT_EQ(order, "ref,size,$type,mimeType,");
  auto back = FromJson(ToJson(*v));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *v);
  EXPECT_FALSE(FromJsonText(R"({"$link":"bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity","x":1})").ok());
  EXPECT_FALSE(FromJsonText(R"({"$link":null})").ok());
  EXPECT_FALSE(FromJsonText(R"({"$link":"."})").ok());
}

TEST(Json, UnknownDollarKeysPassThrough) {
  auto v = FromJsonText(R"({"$future":{"x":1}})");
  ASSERT_TRUE(v.ok());
  EXPECT_NE(v->FindMap("$future"), nullptr);
}

TEST(Json, EnforcesDepthAndSize) {
  std::string deep(200, '[');
  deep += std::string(200, ']');
  EXPECT_FALSE(FromJsonText(deep).ok());
  JsonLimits limits;
  limits.max_input_bytes = 4;
  EXPECT_FALSE(FromJsonText("[1,2,3]", limits).ok());
  // Depth is also enforced on an already-parsed value.
  json::value nested = json::array{};
  for (int i = 0; i < 100; ++i) nested = json::array{nested};
  EXPECT_FALSE(FromJson(nested).ok());
}

TEST(Json, RejectsMalformedText) {
  EXPECT_FALSE(FromJsonText("{").ok());
  EXPECT_FALSE(FromJsonText("{\"a\":\"\xff\"}").ok());
  EXPECT_FALSE(FromJsonText("").ok());
}

TEST(DataModel, ValidateNamesThePath) {
  auto v = FromJsonText(R"({"a":[{"$type":""}]})");
  ASSERT_TRUE(v.ok());
  auto s = ValidateAtprotoData(*v);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("$.a[0]"), std::string::npos) << s.error().message;
  EXPECT_FALSE(ValidateAtprotoData(Value(1)).ok());
  EXPECT_TRUE(ValidateAtprotoData(Value::EmptyMap()).ok());
}

}  // namespace
}  // namespace atcr::cbor
