#include "atcr/appview/records.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <set>

#include "atcr/atproto/lexicon.h"
#include "atcr/atproto/syntax.h"
#include "atcr/atproto/tid.h"
#include "atcr/cbor/cid.h"

namespace atcr::appview {
namespace {
namespace json = boost::json;

const atproto::LexiconCatalog& Lexicons() {
  static atproto::LexiconCatalog* lex = [] {
    auto* l = new atproto::LexiconCatalog();
    EXPECT_TRUE(l->AddBuiltinAtcr().ok());
    return l;
  }();
  return *lex;
}

oci::Digest D(std::string_view data) { return oci::Digest::Sha256Of(AsBytes(data)); }

std::string Desc(std::string_view mt, std::string_view data, std::string extra = {}) {
  return R"({"mediaType":")" + std::string(mt) + R"(","digest":")" + D(data).str() +
         R"(","size":)" + std::to_string(data.size()) + extra + "}";
}

BlobRef Blob(std::string_view bytes, std::string mime) {
  return BlobRef{cbor::Cid::ForRaw(AsBytes(bytes)).ToString(), std::move(mime),
                 static_cast<int64_t>(bytes.size())};
}

TEST(Records, ManifestRkeyIsADeterministicTidPerRepositoryAndDigest) {
  oci::Digest d = D("manifest");
  std::string a = ManifestRkey("app", d);
  EXPECT_TRUE(atproto::ValidateTid(a).ok()) << a;
  EXPECT_TRUE(atproto::ValidateRecordKey(a).ok());
  EXPECT_EQ(a, ManifestRkey("app", d));
  EXPECT_NE(a, ManifestRkey("other", d));
  EXPECT_NE(a, ManifestRkey("app", D("manifest2")));
  // The timestamp part stays in a plausible window (2020 .. 2029).
  auto tid = atproto::Tid::Parse(a);
  ASSERT_TRUE(tid.ok());
  EXPECT_GE(tid->micros(), 1577836800LL * 1000000);
  EXPECT_LT(tid->micros(), 1893456000LL * 1000000);
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) seen.insert(ManifestRkey("r", D(std::to_string(i))));
  EXPECT_EQ(seen.size(), 2000u);
}

TEST(Records, TagRkeyIsReadableValidAndInjective) {
  EXPECT_EQ(TagRkey("app", "latest"), "app:latest");
  EXPECT_EQ(TagRkey("team/app/web", "v1.2_3-rc"), "team~app~web:v1.2_3-rc");
  EXPECT_TRUE(atproto::ValidateRecordKey(TagRkey("team/app/web", "v1.2_3-rc")).ok());
  // '_' may appear in both parts; the separator ':' may not, so these differ.
  EXPECT_NE(TagRkey("a_b", "c"), TagRkey("a", "b_c"));
  std::string longest = TagRkey(std::string(255, 'a'), std::string(128, 'b'));
  EXPECT_TRUE(atproto::ValidateRecordKey(longest).ok());
}

TEST(Records, ImageManifestRecordCarriesEveryFieldAndValidates) {
  std::string body = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                     R"("config":)" + Desc("application/vnd.oci.image.config.v1+json", "cfg") +
                     R"(,"layers":[)" +
                     Desc("application/vnd.oci.image.layer.v1.tar+gzip", "l1",
                          R"(,"annotations":{"org.example":"x"})") +
                     "," +
                     Desc("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "l2",
                          R"(,"urls":["https://example.com/l2"])") +
                     R"(],"subject":)" +
                     Desc("application/vnd.oci.image.manifest.v1+json", "subj") +
                     R"(,"annotations":{"org.opencontainers.image.title":"hello"}})";
  auto m = oci::ParseManifest(body, "application/vnd.oci.image.manifest.v1+json");
  ASSERT_TRUE(m.ok()) << m.error().ToString();
  ManifestRecordInput in;
  in.repository = "team/app";
  in.digest = D(body);
  in.media_type = m->media_type;
  in.manifest = &*m;
  in.hold_did = "did:web:hold.example.com";
  in.manifest_blob = Blob(body, m->media_type);
  in.created_at = "2025-01-02T03:04:05.000Z";
  json::object rec = BuildManifestRecord(in);
  json::value v = rec;
  Status valid = Lexicons().ValidateRecord("io.atcr.manifest", v, ManifestRkey("team/app", in.digest));
  EXPECT_TRUE(valid.ok()) << valid.error().ToString() << "\n" << json::serialize(rec);
  for (const char* field : {"repository", "digest", "mediaType", "schemaVersion", "config",
                            "layers", "subject", "holdDid", "manifestBlob", "annotations",
                            "createdAt"}) {
    EXPECT_TRUE(rec.contains(field)) << field;
  }
  EXPECT_EQ(rec.at("layers").as_array().size(), 2u);
  EXPECT_EQ(rec.at("layers").as_array()[1].as_object().at("urls").as_array().size(), 1u);

  auto back = ParseManifestRecord(v);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->repository, "team/app");
  EXPECT_EQ(back->digest, in.digest);
  EXPECT_EQ(back->hold_did, "did:web:hold.example.com");
  ASSERT_TRUE(back->manifest_blob);
  EXPECT_EQ(back->manifest_blob->cid, in.manifest_blob.cid);
  ASSERT_TRUE(back->subject);
  EXPECT_EQ(*back->subject, D("subj"));
  ASSERT_EQ(back->blobs.size(), 3u);  // config + 2 layers
  EXPECT_EQ(back->blobs[0].digest, D("cfg"));
}

TEST(Records, IndexRecordCarriesPlatformsAndValidates) {
  std::string body =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" +
      Desc("application/vnd.oci.image.manifest.v1+json", "amd",
           R"(,"platform":{"architecture":"amd64","os":"linux"})") +
      "," +
      Desc("application/vnd.oci.image.manifest.v1+json", "arm",
           R"(,"platform":{"architecture":"arm","os":"linux","variant":"v7","os.version":"1","os.features":["f"]})") +
      "]}";
  auto m = oci::ParseManifest(body, "");
  ASSERT_TRUE(m.ok()) << m.error().ToString();
  ManifestRecordInput in;
  in.repository = "app";
  in.digest = D(body);
  in.media_type = m->media_type;
  in.manifest = &*m;
  in.manifest_blob = Blob(body, m->media_type);
  in.created_at = "2025-01-02T03:04:05.000Z";
  json::object rec = BuildManifestRecord(in);
  json::value v = rec;
  Status valid = Lexicons().ValidateRecord("io.atcr.manifest", v);
  EXPECT_TRUE(valid.ok()) << valid.error().ToString() << "\n" << json::serialize(rec);
  ASSERT_TRUE(rec.contains("manifests"));
  EXPECT_FALSE(rec.contains("layers"));
  EXPECT_FALSE(rec.contains("holdDid"));
  const json::object& arm = rec.at("manifests").as_array()[1].as_object();
  EXPECT_EQ(arm.at("platform").as_object().at("variant").as_string(), "v7");
  EXPECT_EQ(arm.at("platform").as_object().at("osVersion").as_string(), "1");
  auto back = ParseManifestRecord(v);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->manifests.size(), 2u);
}

TEST(Records, TagAndProfileRecordsValidate) {
  json::value tag = BuildTagRecord("app", "latest", "at://did:plc:abc/io.atcr.manifest/3jzfcijpj2z2a",
                                   D("x").str(), "2025-01-02T03:04:05.000Z");
  Status st = Lexicons().ValidateRecord("io.atcr.tag", tag, TagRkey("app", "latest"));
  EXPECT_TRUE(st.ok()) << st.error().ToString();
  auto t = ParseTagRecord(tag);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->tag, "latest");
  ASSERT_TRUE(t->digest);

  json::value profile = BuildProfileRecord("did:web:hold.example.com", "2025-01-02T03:04:05.000Z");
  st = Lexicons().ValidateRecord("io.atcr.sailor.profile", profile, "self");
  EXPECT_TRUE(st.ok()) << st.error().ToString();
  EXPECT_EQ(ParseProfileRecord(profile)->default_hold, "did:web:hold.example.com");
  json::value no_hold = BuildProfileRecord("", "2025-01-02T03:04:05.000Z");
  EXPECT_TRUE(Lexicons().ValidateRecord("io.atcr.sailor.profile", no_hold, "self").ok());
}

TEST(Records, ReadsWhatOlderAtcrVersionsWrote) {
  // A tag with only the deprecated digest.
  json::value old_tag = json::parse(
      R"({"$type":"io.atcr.tag","repository":"app","tag":"v1","manifestDigest":")" +
      D("m").str() + R"(","createdAt":"2025-01-01T00:00:00Z"})");
  auto t = ParseTagRecord(old_tag);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->manifest_uri.empty());
  EXPECT_EQ(*t->digest, D("m"));
  // A manifest with the deprecated holdEndpoint URL instead of holdDid.
  json::value old_manifest = json::parse(
      R"({"$type":"io.atcr.manifest","repository":"app","digest":")" + D("m").str() +
      R"(","mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2,)"
      R"("holdEndpoint":"https://hold01.atcr.io","createdAt":"2025-01-01T00:00:00Z"})");
  auto m = ParseManifestRecord(old_manifest);
  ASSERT_TRUE(m.ok()) << m.error().ToString();
  EXPECT_EQ(m->hold_did, "did:web:hold01.atcr.io");
  EXPECT_FALSE(m->manifest_blob);
  // Neither manifest nor manifestDigest: not a usable tag.
  EXPECT_FALSE(ParseTagRecord(json::parse(R"({"repository":"a","tag":"b"})")).ok());
}

}  // namespace
}  // namespace atcr::appview
