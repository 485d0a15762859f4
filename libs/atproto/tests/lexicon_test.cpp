#include "atcr/atproto/lexicon.h"

#include <filesystem>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "atcr/cbor/json.h"
#include "test_util.h"

namespace atcr::atproto {
namespace {

namespace json = boost::json;
using testing::Interop;
using testing::ReadFile;
using testing::ReadJson;

LexiconCatalog InteropCatalog() {
  LexiconCatalog cat;
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(Interop("lexicon/catalog"))) {
    auto st = cat.AddText(ReadFile(e.path().string()));
    EXPECT_TRUE(st.ok()) << e.path() << ": " << st.error().message;
    ++n;
  }
  EXPECT_GT(n, 0);
  return cat;
}

TEST(LexiconInterop, ValidDocumentsLoad) {
  json::value cases_doc = ReadJson(Interop("lexicon/lexicon-valid.json"));
  const json::array& cases = cases_doc.as_array();
  ASSERT_GT(cases.size(), 0u);
  for (const auto& c : cases) {
    LexiconCatalog cat;
    auto st = cat.Add(c.at("lexicon"));
    EXPECT_TRUE(st.ok()) << c.at("name") << ": " << st.error().message;
  }
}

TEST(LexiconInterop, InvalidDocumentsRejected) {
  json::value cases_doc = ReadJson(Interop("lexicon/lexicon-invalid.json"));
  const json::array& cases = cases_doc.as_array();
  ASSERT_GT(cases.size(), 0u);
  for (const auto& c : cases) {
    LexiconCatalog cat;
    EXPECT_FALSE(cat.Add(c.at("lexicon")).ok()) << c.at("name");
  }
}

TEST(LexiconInterop, ValidRecords) {
  LexiconCatalog cat = InteropCatalog();
  json::value cases_doc = ReadJson(Interop("lexicon/record-data-valid.json"));
  const json::array& cases = cases_doc.as_array();
  ASSERT_GT(cases.size(), 0u);
  for (const auto& c : cases) {
    const json::value& data = c.at("data");
    std::string type(data.at("$type").as_string());
    auto st = cat.ValidateRecord(type, data, c.at("rkey").as_string());
    EXPECT_TRUE(st.ok()) << c.at("name") << ": " << st.error().message;
  }
}

TEST(LexiconInterop, InvalidRecords) {
  LexiconCatalog cat = InteropCatalog();
  json::value cases_doc = ReadJson(Interop("lexicon/record-data-invalid.json"));
  const json::array& cases = cases_doc.as_array();
  ASSERT_GT(cases.size(), 0u);
  for (const auto& c : cases) {
    const json::value& data = c.at("data");
    std::string type(data.at("$type").as_string());
    EXPECT_FALSE(cat.ValidateRecord(type, data, c.at("rkey").as_string()).ok()) << c.at("name");
  }
}

TEST(LexiconInterop, RecordKeyTypeEnforced) {
  LexiconCatalog cat = InteropCatalog();
  json::value rec = json::parse(R"({"$type":"example.lexicon.record","integer":1})");
  EXPECT_TRUE(cat.ValidateRecord("example.lexicon.record", rec, "demo").ok());
  EXPECT_FALSE(cat.ValidateRecord("example.lexicon.record", rec, "other").ok());
  EXPECT_FALSE(cat.ValidateRecord("example.lexicon.query", rec, "demo").ok());
  EXPECT_EQ(cat.ValidateRecord("com.example.missing", rec).error().code, ErrorCode::kNotFound);
}

// The interop "unknown wrong type" vectors also lack the required field; check the rule alone.
TEST(LexiconInterop, UnknownMustBeAPlainObject) {
  LexiconCatalog cat = InteropCatalog();
  auto with_unknown = [&](std::string_view u) {
    return cat.ValidateRecord(
        "example.lexicon.record",
        json::parse(R"({"$type":"example.lexicon.record","integer":1,"unknown":)" + std::string(u) +
                    "}"));
  };
  EXPECT_TRUE(with_unknown(R"({"a":1})").ok());
  EXPECT_FALSE(with_unknown("false").ok());
  EXPECT_FALSE(with_unknown(R"({"$bytes":"123"})").ok());
  EXPECT_FALSE(with_unknown(
                   R"({"$type":"blob","mimeType":"text/plain","size":1,
                       "ref":{"$link":"bafyreiclp443lavogvhj3d2ob2cxbfuscni2k5jk7bebjzg7khl3esabwq"}})")
                   .ok());
  EXPECT_FALSE(with_unknown(R"({"a":1.5})").ok());  // data model still applies inside
}

TEST(LexiconInterop, XrpcBodiesAndParams) {
  LexiconCatalog cat = InteropCatalog();
  EXPECT_EQ(*cat.MainType("example.lexicon.query"), "query");
  EXPECT_TRUE(cat.ValidateOutput("example.lexicon.query", json::parse(R"({"a":1})")).ok());
  EXPECT_FALSE(cat.ValidateOutput("example.lexicon.query", json::parse(R"({"a":"x"})")).ok());
  EXPECT_TRUE(cat.ValidateParams("example.lexicon.query",
                                 json::parse(R"({"stringField":"x","handle":"a.test"})").as_object())
                  .ok());
  EXPECT_FALSE(cat.ValidateParams("example.lexicon.query", json::object()).ok());
  EXPECT_FALSE(cat.ValidateParams("example.lexicon.query",
                                  json::parse(R"({"stringField":"x","handle":"nope"})").as_object())
                   .ok());
  // The procedure's input refs a lexicon that is not loaded: a clear error, no crash.
  auto st = cat.ValidateInput("example.lexicon.procedure", json::parse(R"({"preferences":{}})"));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("unresolved"), std::string::npos) << st.error().message;
}

TEST(DataModel, InteropVectors) {
  json::value valid_doc = ReadJson(Interop("data-model/data-model-valid.json"));
  const json::array& valid = valid_doc.as_array();
  json::value invalid_doc = ReadJson(Interop("data-model/data-model-invalid.json"));
  const json::array& invalid = invalid_doc.as_array();
  json::value fixtures_doc = ReadJson(Interop("data-model/data-model-fixtures.json"));
  const json::array& fixtures = fixtures_doc.as_array();
  ASSERT_GT(valid.size(), 0u);
  ASSERT_GT(invalid.size(), 0u);
  ASSERT_GT(fixtures.size(), 0u);
  for (const auto& c : valid) EXPECT_TRUE(ValidateJsonDataModel(c.at("json")).ok()) << c;
  for (const auto& c : invalid) EXPECT_FALSE(ValidateJsonDataModel(c.at("json")).ok()) << c;
  for (const auto& c : fixtures) EXPECT_TRUE(ValidateJsonDataModel(c.at("json")).ok()) << c;
}

TEST(Graphemes, CountsClusters) {
  EXPECT_EQ(CountGraphemes(""), 0u);
  EXPECT_EQ(CountGraphemes("abc"), 3u);
  EXPECT_EQ(CountGraphemes("e\xCC\x81"), 1u);                     // e + combining acute
  EXPECT_EQ(CountGraphemes("\xF0\x9F\x87\xA9\xF0\x9F\x87\xAA"), 1u);  // flag DE
  EXPECT_EQ(CountGraphemes("\xF0\x9F\x87\xA9\xF0\x9F\x87\xAA\xF0\x9F\x87\xA9"), 2u);
  // family: woman ZWJ woman ZWJ boy ZWJ boy
  EXPECT_EQ(CountGraphemes("\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D"
                           "\xF0\x9F\x91\xA6\xE2\x80\x8D\xF0\x9F\x91\xA6"),
            1u);
  EXPECT_EQ(CountGraphemes("\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD"), 1u);  // thumbs up + skin tone
  EXPECT_EQ(CountGraphemes("\xEA\xB0\x80\xEA\xB0\x80"), 2u);          // two Hangul syllables
  EXPECT_EQ(CountGraphemes("\r\n"), 1u);
  EXPECT_EQ(CountGraphemes("\xFF\xFE"), 2u);  // malformed bytes count, never crash
}

// ---------- ATCR lexicons ----------

class AtcrLexicons : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cat_.AddBuiltinAtcr().ok()); }
  Status Record(std::string_view collection, std::string_view text, std::string_view rkey = {}) {
    return cat_.ValidateRecord(collection, json::parse(text), rkey);
  }
  LexiconCatalog cat_;
};

TEST_F(AtcrLexicons, EveryFileIsCompiledInAndLoads) {
  size_t files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(
           std::string(ATCR_SOURCE_DIR) + "/lexicons/io/atcr")) {
    if (e.path().extension() == ".json") ++files;
  }
  ASSERT_GT(files, 20u);
  EXPECT_EQ(cat_.Ids().size(), files);
  for (const char* id :
       {"io.atcr.manifest", "io.atcr.tag", "io.atcr.sailor.profile", "io.atcr.sailor.star",
        "io.atcr.repo.page", "io.atcr.sailor.webhook", "io.atcr.hold.captain", "io.atcr.hold.crew",
        "io.atcr.hold.layer", "io.atcr.hold.stats", "io.atcr.hold.scan"}) {
    EXPECT_EQ(*cat_.MainType(id), "record") << id;
  }
  for (const char* id :
       {"io.atcr.hold.initiateUpload", "io.atcr.hold.getPartUploadUrl", "io.atcr.hold.uploadPart",
        "io.atcr.hold.completeUpload", "io.atcr.hold.abortUpload", "io.atcr.hold.notifyManifest",
        "io.atcr.hold.requestCrew", "io.atcr.hold.updateCrewTier", "io.atcr.hold.deleteUserData",
        "io.atcr.hold.setStats"}) {
    EXPECT_EQ(*cat_.MainType(id), "procedure") << id;
  }
  for (const char* id : {"io.atcr.hold.getQuota", "io.atcr.hold.listTiers",
                         "io.atcr.hold.getLayersForManifest", "io.atcr.hold.exportUserData"}) {
    EXPECT_EQ(*cat_.MainType(id), "query") << id;
  }
  EXPECT_EQ(*cat_.MainType("io.atcr.hold.subscribeScanJobs"), "subscription");
  EXPECT_EQ(*cat_.MainType("io.atcr.authFullApp"), "permission-set");
}

constexpr std::string_view kManifest = R"({
  "$type": "io.atcr.manifest",
  "repository": "myapp",
  "digest": "sha256:0f3e1c5a6f4e3b2a1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e",
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "schemaVersion": 2,
  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 1469,
             "digest": "sha256:aaaa"},
  "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": 3370706,
              "digest": "sha256:bbbb", "annotations": {"org.opencontainers.image.title": "x"}}],
  "holdDid": "did:web:hold01.atcr.io",
  "manifestBlob": {"$type": "blob", "ref": {"$link": "bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity"},
                   "mimeType": "application/vnd.oci.image.manifest.v1+json", "size": 1234},
  "annotations": {"org.opencontainers.image.source": "https://example.com/src"},
  "createdAt": "2026-01-02T03:04:05.678Z"
})";

TEST_F(AtcrLexicons, ManifestGoodAndBad) {
  EXPECT_TRUE(Record("io.atcr.manifest", kManifest, "3kznmn7xqxl22").ok());
  json::value m = json::parse(kManifest);
  // Index with platforms.
  json::value idx = m;
  idx.as_object().erase("layers");
  idx.as_object().erase("config");
  idx.as_object()["mediaType"] = "application/vnd.oci.image.index.v1+json";
  idx.as_object()["manifests"] = json::parse(
      R"([{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":10,"digest":"sha256:cc",
           "platform":{"architecture":"arm64","os":"linux","variant":"v8"}}])");
  EXPECT_TRUE(cat_.ValidateRecord("io.atcr.manifest", idx).ok());
  auto bad = [&](auto mutate) {
    json::value v = m;
    mutate(v.as_object());
    return cat_.ValidateRecord("io.atcr.manifest", v);
  };
  EXPECT_FALSE(bad([](json::object& o) { o.erase("digest"); }).ok());
  EXPECT_FALSE(bad([](json::object& o) { o["schemaVersion"] = "2"; }).ok());
  EXPECT_FALSE(bad([](json::object& o) { o["schemaVersion"] = 2.5; }).ok());
  EXPECT_FALSE(bad([](json::object& o) { o["holdDid"] = "hold01.atcr.io"; }).ok());
  EXPECT_FALSE(bad([](json::object& o) { o["repository"] = std::string(256, 'a'); }).ok());
  EXPECT_FALSE(bad([](json::object& o) { o["createdAt"] = "yesterday"; }).ok());
  EXPECT_FALSE(bad([](json::object& o) { o["$type"] = "io.atcr.tag"; }).ok());
  EXPECT_FALSE(bad([](json::object& o) { o["layers"].as_array()[0].as_object().erase("size"); }).ok());
  EXPECT_FALSE(bad([](json::object& o) { o["manifestBlob"].as_object().erase("ref"); }).ok());
  EXPECT_FALSE(bad([](json::object& o) { o["annotations"] = "x"; }).ok());
  // Record key type is tid.
  EXPECT_FALSE(Record("io.atcr.manifest", kManifest, "not-a-tid").ok());
}

TEST_F(AtcrLexicons, CborRecordsValidateToo) {
  auto v = cbor::FromJsonText(kManifest);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_TRUE(cat_.ValidateRecord("io.atcr.manifest", *v).ok());
}

TEST_F(AtcrLexicons, TagProfileStarPage) {
  EXPECT_TRUE(Record("io.atcr.tag", R"({"$type":"io.atcr.tag","repository":"myapp","tag":"latest",
      "manifest":"at://did:plc:abc/io.atcr.manifest/3kznmn7xqxl22","updatedAt":"2026-01-01T00:00:00Z"})",
                     "myapp_latest").ok());
  // Deprecated manifestDigest-only records still validate.
  EXPECT_TRUE(Record("io.atcr.tag", R"({"$type":"io.atcr.tag","repository":"myapp","tag":"v1",
      "manifestDigest":"sha256:abc","createdAt":"2026-01-01T00:00:00Z"})").ok());
  EXPECT_FALSE(Record("io.atcr.tag", R"({"$type":"io.atcr.tag","repository":"myapp",
      "manifest":"https://x"})").ok());
  EXPECT_TRUE(Record("io.atcr.sailor.profile", R"({"$type":"io.atcr.sailor.profile",
      "defaultHold":"did:web:hold01.atcr.io","autoRemoveUntagged":true,
      "createdAt":"2026-01-01T00:00:00Z"})", "self").ok());
  EXPECT_FALSE(Record("io.atcr.sailor.profile", R"({"$type":"io.atcr.sailor.profile",
      "createdAt":"2026-01-01T00:00:00Z"})", "other").ok());
  EXPECT_FALSE(Record("io.atcr.sailor.profile", R"({"$type":"io.atcr.sailor.profile",
      "autoRemoveUntagged":"yes","createdAt":"2026-01-01T00:00:00Z"})").ok());
  EXPECT_TRUE(Record("io.atcr.sailor.star", R"({"$type":"io.atcr.sailor.star",
      "subject":"at://did:plc:abc/io.atcr.repo.page/myapp","createdAt":"2026-01-01T00:00:00Z"})")
                  .ok());
  EXPECT_FALSE(Record("io.atcr.sailor.star", R"({"$type":"io.atcr.sailor.star",
      "createdAt":"2026-01-01T00:00:00Z"})").ok());
  const char* page = R"({"$type":"io.atcr.repo.page","repository":"myapp","description":"# hi",
      "avatar":{"$type":"blob","ref":{"$link":"bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity"},
                "mimeType":"image/gif","size":100},
      "createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z"})";
  EXPECT_FALSE(Record("io.atcr.repo.page", page, "myapp").ok());  // gif not accepted
  std::string png(page);
  png.replace(png.find("image/gif"), 9, "image/png");
  EXPECT_TRUE(Record("io.atcr.repo.page", png, "myapp").ok());
}

TEST_F(AtcrLexicons, HoldRecords) {
  EXPECT_TRUE(Record("io.atcr.hold.captain", R"({"$type":"io.atcr.hold.captain",
      "owner":"did:plc:7iza6de2dwap2sbkpav7c6c6","public":true,"allowAllCrew":false,
      "enableBlueskyPosts":false,"deployedAt":"2026-01-01T00:00:00Z","region":"us-east-1"})",
                     "self").ok());
  EXPECT_FALSE(Record("io.atcr.hold.captain", R"({"$type":"io.atcr.hold.captain",
      "owner":"did:plc:7iza6de2dwap2sbkpav7c6c6","public":true})", "self").ok());
  EXPECT_TRUE(Record("io.atcr.hold.crew", R"({"$type":"io.atcr.hold.crew",
      "member":"did:plc:abc","role":"write","permissions":["blob:read","blob:write"],
      "addedAt":"2026-01-01T00:00:00Z","tier":"deckhand"})").ok());
  EXPECT_FALSE(Record("io.atcr.hold.crew", R"({"$type":"io.atcr.hold.crew",
      "member":"did:plc:abc","role":"write","permissions":"blob:read",
      "addedAt":"2026-01-01T00:00:00Z"})").ok());
  EXPECT_TRUE(Record("io.atcr.hold.layer", R"({"$type":"io.atcr.hold.layer","digest":"sha256:aa",
      "size":10,"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip",
      "manifest":"at://did:plc:abc/io.atcr.manifest/3kznmn7xqxl22","repository":"myapp",
      "userDid":"did:plc:abc","userHandle":"alice.test","createdAt":"2026-01-01T00:00:00Z"})",
                     "3kznmn7xqxl22").ok());
  EXPECT_FALSE(Record("io.atcr.hold.layer", R"({"$type":"io.atcr.hold.layer","digest":"sha256:aa",
      "size":-1,"mediaType":"x","userDid":"did:plc:abc","createdAt":"2026-01-01T00:00:00Z"})").ok());
  EXPECT_TRUE(Record("io.atcr.hold.stats", R"({"$type":"io.atcr.hold.stats","ownerDid":"did:plc:abc",
      "repository":"myapp","pullCount":3,"pushCount":1,"updatedAt":"2026-01-01T00:00:00Z"})").ok());
  const char* scan = R"({"$type":"io.atcr.hold.scan",
      "manifest":"at://did:plc:abc/io.atcr.manifest/3kznmn7xqxl22","repository":"myapp",
      "userDid":"did:plc:abc","critical":0,"high":1,"medium":2,"low":3,"total":6,
      "scannerVersion":"atcr-scanner-v1.0.0","scannedAt":"2026-01-01T00:00:00Z",
      "sbomBlob":{"$type":"blob","ref":{"$link":"bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity"},
                  "mimeType":"application/spdx+json","size":10}})";
  EXPECT_TRUE(Record("io.atcr.hold.scan", scan).ok());
  std::string neg(scan);
  neg.replace(neg.find("\"high\":1"), 8, "\"high\":-1");
  EXPECT_FALSE(Record("io.atcr.hold.scan", neg).ok());
}

TEST_F(AtcrLexicons, HoldMethods) {
  EXPECT_TRUE(cat_.ValidateInput("io.atcr.hold.notifyManifest", json::parse(R"({
      "repository":"myapp","userDid":"did:plc:abc","manifestDigest":"sha256:aa","tag":"latest",
      "operation":"push","manifest":{"mediaType":"application/vnd.oci.image.manifest.v1+json",
      "config":{"digest":"sha256:bb","size":10},
      "layers":[{"digest":"sha256:cc","size":20,"mediaType":"application/vnd.oci.image.layer.v1.tar"}]}})"))
                  .ok());
  EXPECT_FALSE(cat_.ValidateInput("io.atcr.hold.notifyManifest",
                                  json::parse(R"({"repository":"myapp","userDid":"nope",
      "manifestDigest":"sha256:aa","manifest":{}})"))
                   .ok());
  EXPECT_TRUE(cat_.ValidateOutput("io.atcr.hold.notifyManifest",
                                  json::parse(R"({"success":true,"operation":"push",
      "statsUpdated":true,"layersCreated":1,"postCreated":false})"))
                  .ok());
  EXPECT_TRUE(cat_.ValidateInput("io.atcr.hold.initiateUpload",
                                 json::parse(R"({"digest":"sha256:aa"})")).ok());
  EXPECT_FALSE(cat_.ValidateInput("io.atcr.hold.initiateUpload", json::parse("{}")).ok());
  EXPECT_TRUE(cat_.ValidateInput("io.atcr.hold.completeUpload",
                                 json::parse(R"({"uploadId":"u1","digest":"sha256:aa",
      "parts":[{"partNumber":1,"etag":"\"e1\""}]})")).ok());
  EXPECT_FALSE(cat_.ValidateInput("io.atcr.hold.getPartUploadUrl",
                                  json::parse(R"({"uploadId":"u1","partNumber":0})")).ok());
  EXPECT_TRUE(cat_.ValidateParams("io.atcr.hold.getQuota",
                                  json::parse(R"({"userDid":"did:plc:abc"})").as_object()).ok());
  EXPECT_FALSE(cat_.ValidateParams("io.atcr.hold.getQuota", json::object()).ok());
  EXPECT_TRUE(cat_.ValidateOutput("io.atcr.hold.listTiers", json::parse(R"({"tiers":[
      {"name":"deckhand","quotaBytes":5000000000,"quotaFormatted":"5 GB","scanOnPush":true}]})"))
                  .ok());
  EXPECT_TRUE(cat_.ValidateValue("io.atcr.hold.subscribeScanJobs#scanJob", json::parse(R"({
      "type":"scan_job","seq":1,"digest":"sha256:aa","repository":"myapp","userDid":"did:plc:abc",
      "holdDid":"did:web:hold.example.com","holdEndpoint":"https://hold.example.com"})")).ok());
  EXPECT_FALSE(cat_.ValidateValue("io.atcr.hold.subscribeScanJobs#scanJob", json::parse(R"({
      "type":"scan_result","seq":1,"digest":"sha256:aa","repository":"myapp","userDid":"did:plc:abc",
      "holdDid":"did:web:hold.example.com","holdEndpoint":"https://hold.example.com"})")).ok());
}

TEST_F(AtcrLexicons, ParsesQueryParams) {
  using Q = std::vector<std::pair<std::string, std::string>>;
  auto p = cat_.ParseParams("io.atcr.hold.getQuota", Q{{"userDid", "did:plc:abc"}});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->at("userDid").as_string(), "did:plc:abc");
  EXPECT_FALSE(cat_.ParseParams("io.atcr.hold.getQuota", Q{{"userDid", "bad"}}).ok());
  EXPECT_FALSE(cat_.ParseParams("io.atcr.hold.getQuota", Q{}).ok());
  auto sub = cat_.ParseParams("io.atcr.hold.subscribeScanJobs", Q{{"cursor", "-1"}});
  ASSERT_TRUE(sub.ok()) << sub.error().message;
  EXPECT_EQ(sub->at("cursor").as_int64(), -1);
  EXPECT_FALSE(cat_.ParseParams("io.atcr.hold.subscribeScanJobs", Q{{"cursor", "1x"}}).ok());
  EXPECT_FALSE(
      cat_.ParseParams("io.atcr.hold.subscribeScanJobs", Q{{"cursor", "1"}, {"cursor", "2"}}).ok());
  EXPECT_EQ(cat_.ParseParams("io.atcr.nope", Q{}).error().code, ErrorCode::kNotFound);
}

TEST(LexiconCatalog, ParamsArraysAndBooleans) {
  LexiconCatalog cat;
  ASSERT_TRUE(cat.AddText(R"({"lexicon":1,"id":"com.example.list","defs":{"main":{"type":"query",
      "parameters":{"type":"params","properties":{"tags":{"type":"array","items":{"type":"string"},
      "maxLength":2},"reverse":{"type":"boolean"}}},
      "output":{"encoding":"application/json"}}}})")
                  .ok());
  using Q = std::vector<std::pair<std::string, std::string>>;
  auto p = cat.ParseParams("com.example.list", Q{{"tags", "a"}, {"tags", "b"}, {"reverse", "true"}});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->at("tags").as_array().size(), 2u);
  EXPECT_TRUE(p->at("reverse").as_bool());
  EXPECT_FALSE(cat.ParseParams("com.example.list", Q{{"tags", "a"}, {"tags", "b"}, {"tags", "c"}})
                   .ok());
  EXPECT_FALSE(cat.ParseParams("com.example.list", Q{{"reverse", "yes"}}).ok());
}

TEST(LexiconCatalog, RejectsDuplicatesAndGarbage) {
  LexiconCatalog cat;
  const char* doc = R"({"lexicon":1,"id":"com.example.thing","defs":{"main":{"type":"token"}}})";
  EXPECT_TRUE(cat.AddText(doc).ok());
  EXPECT_EQ(cat.AddText(doc).error().code, ErrorCode::kAlreadyExists);
  EXPECT_FALSE(cat.AddText("{").ok());
  EXPECT_FALSE(cat.AddText("[]").ok());
  EXPECT_FALSE(cat.AddText(R"({"lexicon":1,"id":"com.example.x","defs":{"main":
      {"type":"string","maxLength":"ten"}}})").ok());
  EXPECT_FALSE(cat.AddText(R"({"lexicon":1,"id":"com.example.y","defs":{"main":
      {"type":"record","key":"weird","record":{"type":"object","properties":{}}}}})").ok());
  // Deep nesting in a document is bounded, not a stack overflow.
  std::string deep = R"({"lexicon":1,"id":"com.example.deep","defs":{"main":)";
  for (int i = 0; i < 100; ++i) deep += R"({"type":"array","items":)";
  deep += R"({"type":"integer"})";
  for (int i = 0; i < 100; ++i) deep += "}";
  deep += "}}";
  EXPECT_FALSE(cat.AddText(deep).ok());
}

}  // namespace
}  // namespace atcr::atproto
