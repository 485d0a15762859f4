// The hold's XRPC surface through a real server: identity, uploads, downloads, manifests,
// quotas, crew, user data.
#include <gtest/gtest.h>

#include <filesystem>

#include "atcr/hold/access.h"
#include "atcr/identity/did_document.h"
#include "hold_fixture.h"

namespace atcr::hold {
namespace {

using net::Method;
using namespace testing;  // NOLINT

std::string Blob(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + (i * 13) % 31);
  return s;
}

class HoldTest : public HoldFixture {
 protected:
  void SetUp() override {
    HoldFixture::SetUp();
    Start();
  }
};

// ------------------------------------------------------------ identity and bootstrap

TEST_F(HoldTest, ServesItsDidDocument) {
  Reply r = Send(Method::kGet, "/.well-known/did.json");
  ASSERT_EQ(r.status, 200);
  auto doc = identity::ParseDidDocument(r.body, "did:web:hold.test%3A8080");
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  EXPECT_EQ(doc->signing_key, hold_->identity().signing_key.public_key().DidKey());
  EXPECT_EQ(doc->pds_endpoint, "http://hold.test:8080");
  EXPECT_EQ(doc->ServiceEndpoint("atcr_hold").value_or(""), "http://hold.test:8080");
  EXPECT_EQ(Send(Method::kGet, "/.well-known/atproto-did").body, "did:web:hold.test%3A8080");
  EXPECT_EQ(Send(Method::kGet, "/xrpc/_health").status, 200);
  Reply describe = Get("", "com.atproto.server.describeServer");
  EXPECT_EQ(describe.json.at("did").as_string(), "did:web:hold.test%3A8080");
}

TEST_F(HoldTest, FirstStartWritesCaptainOwnerCrewAndProfile) {
  std::string did = hold_->identity().did;
  Reply cap = Get("", "com.atproto.repo.getRecord",
                  "repo=" + net::PercentEncode(did) + "&collection=io.atcr.hold.captain&rkey=self");
  ASSERT_EQ(cap.status, 200) << cap.body;
  const auto& v = cap.json.at("value").as_object();
  EXPECT_EQ(v.at("owner").as_string(), kOwner);
  EXPECT_FALSE(v.at("public").as_bool());
  EXPECT_FALSE(v.at("allowAllCrew").as_bool());
  EXPECT_FALSE(v.at("enableBlueskyPosts").as_bool());
  std::string deployed(v.at("deployedAt").as_string());
  EXPECT_EQ(cap.json.at("uri").as_string(), "at://" + did + "/io.atcr.hold.captain/self");

  Reply crew = Get("", "com.atproto.repo.listRecords", "repo=" + net::PercentEncode(did) + "&collection=io.atcr.hold.crew");
  ASSERT_EQ(crew.status, 200);
  const auto& records = crew.json.at("records").as_array();
  ASSERT_EQ(records.size(), 1u);
  const auto& owner = records[0].as_object().at("value").as_object();
  EXPECT_EQ(owner.at("member").as_string(), kOwner);
  EXPECT_EQ(owner.at("role").as_string(), "owner");
  EXPECT_EQ(owner.at("permissions").as_array().size(), 3u);

  Reply profile = Get("", "com.atproto.repo.getRecord",
                      "repo=" + net::PercentEncode(did) + "&collection=app.bsky.actor.profile&rkey=self");
  EXPECT_EQ(profile.status, 200);
  Reply repo = Get("", "com.atproto.repo.describeRepo", "repo=" + net::PercentEncode(did));
  EXPECT_EQ(repo.json.at("collections").as_array().size(), 3u);

  // A restart with a changed policy updates the captain but keeps deployedAt; no duplicates.
  config_.is_public = true;
  config_.allow_all_crew = true;
  config_.region = "eu-north";
  Start();
  Reply cap2 = Get("", "com.atproto.repo.getRecord",
                   "repo=" + net::PercentEncode(did) + "&collection=io.atcr.hold.captain&rkey=self");
  const auto& v2 = cap2.json.at("value").as_object();
  EXPECT_TRUE(v2.at("public").as_bool());
  EXPECT_TRUE(v2.at("allowAllCrew").as_bool());
  EXPECT_EQ(v2.at("region").as_string(), "eu-north");
  EXPECT_EQ(v2.at("deployedAt").as_string(), deployed);
  Reply crew2 = Get("", "com.atproto.repo.listRecords", "repo=" + net::PercentEncode(did) + "&collection=io.atcr.hold.crew");
  EXPECT_EQ(crew2.json.at("records").as_array().size(), 1u);

  Reply missing = Get("", "com.atproto.repo.getRecord",
                      "repo=" + net::PercentEncode(did) + "&collection=io.atcr.hold.captain&rkey=other");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.error(), "RecordNotFound");
  EXPECT_EQ(Get("", "com.atproto.repo.getRecord", "repo=did:plc:x&collection=a.b.c&rkey=x").error(),
            "RepoNotFound");
  EXPECT_EQ(Get("", "io.atcr.hold.noSuchMethod").status, 501);
}

// ------------------------------------------------------------ uploads and downloads

TEST_F(HoldTest, UploadInPartsThenPullThroughASignedRedirect) {
  AddCrew(kAlice, {"blob:read", "blob:write"});
  std::string a = Blob(200000, 'a'), b = Blob(150001, 'b');
  std::string digest = Upload(kAlice, {a, b});

  Reply head = Send(Method::kHead, "/xrpc/com.atproto.sync.getBlob?did=" +
                                       net::PercentEncode(hold_->identity().did) + "&cid=" + digest,
                    {}, [&] {
                      net::Headers h;
                      h.Set("Authorization",
                            "Bearer " + Token(kAlice, "com.atproto.sync.getBlob"));
                      return h;
                    }());
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers.Get("Content-Length").value_or(""), std::to_string(a.size() + b.size()));

  Reply get = Get(kAlice, "com.atproto.sync.getBlob", "did=" + net::PercentEncode(hold_->identity().did) + "&cid=" + digest);
  ASSERT_EQ(get.status, 307) << get.body;
  std::string location(get.headers.Get("Location").value_or(""));
  ASSERT_NE(location.find("/blobs/sha256/"), std::string::npos);
  Reply bytes = Send(Method::kGet, Local(location));
  ASSERT_EQ(bytes.status, 200);
  EXPECT_EQ(bytes.body, a + b);
  EXPECT_EQ(bytes.headers.Get("Docker-Content-Digest").value_or(""), digest);

  // Ranges for resumed pulls.
  net::Headers range;
  range.Set("Range", "bytes=10-19");
  Reply partial = Send(Method::kGet, Local(location), {}, range);
  EXPECT_EQ(partial.status, 206);
  EXPECT_EQ(partial.body, (a + b).substr(10, 10));

  // Tampered or expired URLs are refused.
  std::string tampered = Local(location);
  tampered[tampered.find("/blobs/sha256/") + 15] ^= 1;
  EXPECT_EQ(Send(Method::kGet, tampered).status, 403);
  now_ += config_.url_expiry_seconds + 1;
  Reply expired = Send(Method::kGet, Local(location));
  EXPECT_EQ(expired.status, 403);
  EXPECT_EQ(expired.error(), "ExpiredSignature");
}

TEST_F(HoldTest, PartUrlsAreHoldSignedForTheFilesystemDriver) {
  std::string data = Blob(70000, 'p');
  std::string digest = oci::Digest::Sha256Of(AsBytes(data)).str();
  Reply init = Post(kOwner, "io.atcr.hold.initiateUpload", {{"digest", digest}});
  ASSERT_EQ(init.status, 200);
  std::string id(init.json.at("uploadId").as_string());
  Reply url = Post(kOwner, "io.atcr.hold.getPartUploadUrl", {{"uploadId", id}, {"partNumber", 1}});
  ASSERT_EQ(url.status, 200) << url.body;
  EXPECT_EQ(url.json.at("method").as_string(), "PUT");
  std::string target = Local(std::string(url.json.at("url").as_string()));
  // No bearer token needed: the URL is the credential. Only PUT, only this part.
  EXPECT_EQ(Send(Method::kGet, target).status, 405);
  std::string other_part = target;
  other_part.replace(other_part.find("/1?"), 3, "/2?");
  EXPECT_EQ(Send(Method::kPut, other_part, data).status, 403);
  Reply put = Send(Method::kPut, target, data);
  ASSERT_EQ(put.status, 200) << put.body;
  std::string etag(put.headers.Get("ETag").value_or(""));
  ASSERT_FALSE(etag.empty());
  // S3-style quoted etags are accepted at completion.
  Reply done = Post(kOwner, "io.atcr.hold.completeUpload",
                    {{"uploadId", id},
                     {"digest", digest},
                     {"parts", boost::json::array{boost::json::object{{"partNumber", 1},
                                                                      {"etag", etag}}}}});
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.json.at("status").as_string(), "completed");
  EXPECT_EQ(done.json.at("digest").as_string(), digest);
}

TEST_F(HoldTest, DigestMismatchDiscardsTheUpload) {
  std::string data = Blob(1000, 'x');
  std::string digest = oci::Digest::Sha256Of(AsBytes(data)).str();
  Reply init = Post(kOwner, "io.atcr.hold.initiateUpload", {{"digest", digest}});
  std::string id(init.json.at("uploadId").as_string());
  net::Headers h;
  h.Set("Authorization", "Bearer " + Token(kOwner, "io.atcr.hold.uploadPart"));
  h.Set("X-Upload-Id", id);
  h.Set("X-Part-Number", "1");
  Reply part = Send(Method::kPut, "/xrpc/io.atcr.hold.uploadPart", Blob(1000, 'y'), h);
  ASSERT_EQ(part.status, 200);
  Reply done = Post(kOwner, "io.atcr.hold.completeUpload",
                    {{"uploadId", id},
                     {"digest", digest},
                     {"parts", boost::json::array{boost::json::object{
                                   {"partNumber", 1}, {"etag", part.json.at("etag")}}}}});
  EXPECT_EQ(done.status, 400);
  EXPECT_EQ(done.error(), "DigestMismatch");
  // The upload is gone and nothing was stored.
  EXPECT_EQ(Post(kOwner, "io.atcr.hold.abortUpload", {{"uploadId", id}}).error(), "UploadNotFound");
  EXPECT_EQ(Get(kOwner, "com.atproto.sync.getBlob", "cid=" + digest).error(), "BlobNotFound");
}

TEST_F(HoldTest, CompletingForAnotherDigestThanInitiatedIsAMismatch) {
  std::string other = Blob(500, 'o');
  std::string other_digest = oci::Digest::Sha256Of(AsBytes(other)).str();
  Reply init = Post(kOwner, "io.atcr.hold.initiateUpload",
                    {{"digest", "sha256:" + std::string(64, 'a')}});
  std::string id(init.json.at("uploadId").as_string());
  net::Headers h;
  h.Set("Authorization", "Bearer " + Token(kOwner, "io.atcr.hold.uploadPart"));
  h.Set("X-Upload-Id", id);
  h.Set("X-Part-Number", "1");
  Reply part = Send(Method::kPut, "/xrpc/io.atcr.hold.uploadPart", other, h);
  ASSERT_EQ(part.status, 200);
  // The bytes are fine for other_digest, but the upload was announced for another blob.
  Reply done = Post(kOwner, "io.atcr.hold.completeUpload",
                    {{"uploadId", id},
                     {"digest", other_digest},
                     {"parts", boost::json::array{boost::json::object{
                                   {"partNumber", 1}, {"etag", part.json.at("etag")}}}}});
  EXPECT_EQ(done.error(), "DigestMismatch");
  EXPECT_EQ(Post(kOwner, "io.atcr.hold.abortUpload", {{"uploadId", id}}).error(), "UploadNotFound");
  EXPECT_EQ(Get(kOwner, "com.atproto.sync.getBlob", "cid=" + other_digest).error(), "BlobNotFound");
}

TEST_F(HoldTest, AbortAndUploadOwnership) {
  AddCrew(kAlice, {"blob:read", "blob:write"});
  AddCrew(kBob, {"blob:read", "blob:write"});
  std::string digest = oci::Digest::Sha256Of(AsBytes(std::string("abc"))).str();
  Reply init = Post(kAlice, "io.atcr.hold.initiateUpload", {{"digest", digest}});
  std::string id(init.json.at("uploadId").as_string());
  // Bob cannot touch Alice's upload.
  EXPECT_EQ(Post(kBob, "io.atcr.hold.abortUpload", {{"uploadId", id}}).error(), "UploadNotFound");
  EXPECT_EQ(Post(kBob, "io.atcr.hold.getPartUploadUrl", {{"uploadId", id}, {"partNumber", 1}})
                .error(),
            "UploadNotFound");
  Reply abort = Post(kAlice, "io.atcr.hold.abortUpload", {{"uploadId", id}});
  ASSERT_EQ(abort.status, 200);
  EXPECT_EQ(abort.json.at("status").as_string(), "aborted");
  EXPECT_EQ(Post(kAlice, "io.atcr.hold.abortUpload", {{"uploadId", id}}).error(), "UploadNotFound");
}

TEST_F(HoldTest, WritesNeedOwnerOrCrewWithBlobWrite) {
  std::string digest = oci::Digest::Sha256Of(AsBytes(std::string("abc"))).str();
  Reply anon = Post("", "io.atcr.hold.initiateUpload", {{"digest", digest}});
  EXPECT_EQ(anon.status, 401);
  EXPECT_EQ(anon.error(), "AuthRequired");
  Reply stranger = Post(kBob, "io.atcr.hold.initiateUpload", {{"digest", digest}});
  EXPECT_EQ(stranger.status, 403);
  AddCrew(kBob, {"blob:read"});
  EXPECT_EQ(Post(kBob, "io.atcr.hold.initiateUpload", {{"digest", digest}}).status, 403);
  AddCrew(kBob, {"blob:read", "blob:write"});
  EXPECT_EQ(Post(kBob, "io.atcr.hold.initiateUpload", {{"digest", digest}}).status, 200);
  EXPECT_EQ(Post(kOwner, "io.atcr.hold.initiateUpload", {{"digest", "sha256:nothex"}}).error(),
            "InvalidDigest");
}

TEST_F(HoldTest, TokensAreCheckedForMethodAudienceExpiryAndReplay) {
  std::string digest = oci::Digest::Sha256Of(AsBytes(std::string("abc"))).str();
  std::string body = boost::json::serialize(boost::json::object{{"digest", digest}});
  auto call = [&](const std::string& token) {
    net::Headers h;
    h.Set("Authorization", "Bearer " + token);
    h.Set("Content-Type", "application/json");
    return Send(Method::kPost, "/xrpc/io.atcr.hold.initiateUpload", body, h);
  };
  EXPECT_EQ(call(Token(kOwner, "io.atcr.hold.completeUpload")).error(), "BadJwtLexiconMethod");
  crypto::ServiceAuthRequest other;
  other.iss = kOwner;
  other.aud = "did:web:another-hold.example";
  other.lxm = "io.atcr.hold.initiateUpload";
  EXPECT_EQ(call(crypto::SignServiceAuthJwt(keys_.at(kOwner), other)).error(), "BadJwtAudience");
  std::string token = Token(kOwner, "io.atcr.hold.initiateUpload");
  EXPECT_EQ(call(token).status, 200);
  Reply replay = call(token);
  EXPECT_EQ(replay.status, 401);
  EXPECT_EQ(replay.error(), "BadJwt");
  std::string old = Token(kOwner, "io.atcr.hold.initiateUpload");
  now_ += 120;
  EXPECT_EQ(call(old).error(), "JwtExpired");
  crypto::PrivateKey mallory = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
  crypto::ServiceAuthRequest forged;
  forged.iss = kOwner;
  forged.aud = hold_->identity().did;
  forged.lxm = "io.atcr.hold.initiateUpload";
  forged.now = now_.load();
  EXPECT_EQ(call(crypto::SignServiceAuthJwt(mallory, forged)).error(), "BadJwtSignature");
}

TEST_F(HoldTest, PrivateHoldReadsNeedCrewPublicHoldReadsDoNot) {
  std::string digest = Upload(kOwner, {Blob(1000, 'r')});
  std::string q = "cid=" + digest;
  EXPECT_EQ(Get("", "com.atproto.sync.getBlob", q).status, 401);
  EXPECT_EQ(Get(kBob, "com.atproto.sync.getBlob", q).status, 403);
  AddCrew(kBob, {"blob:read"});
  EXPECT_EQ(Get(kBob, "com.atproto.sync.getBlob", q).status, 307);
  config_.is_public = true;
  Start();
  EXPECT_EQ(Get("", "com.atproto.sync.getBlob", q).status, 307);
  EXPECT_EQ(Get("", "com.atproto.sync.getBlob", "cid=sha256:" + std::string(64, '0')).error(),
            "BlobNotFound");
  EXPECT_EQ(Get("", "com.atproto.sync.getBlob", "cid=bafkreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm")
                .error(),
            "BlobNotFound");
}

TEST_F(HoldTest, ProxiesBytesWhenPresignedUrlsAreOff) {
  config_.disable_presigned_urls = true;
  Start();
  std::string data = Blob(5000, 'z');
  std::string digest = Upload(kOwner, {data});
  Reply get = Get(kOwner, "com.atproto.sync.getBlob", "cid=" + digest);
  ASSERT_EQ(get.status, 200);
  EXPECT_EQ(get.body, data);
}

TEST_F(HoldTest, PullZoneReplacesTheDownloadHost) {
  config_.pull_zone = "https://cdn.example.net";
  Start();
  std::string digest = Upload(kOwner, {Blob(10, 'c')});
  Reply get = Get(kOwner, "com.atproto.sync.getBlob", "cid=" + digest);
  ASSERT_EQ(get.status, 307);
  EXPECT_TRUE(get.headers.Get("Location").value_or("").starts_with("https://cdn.example.net/blobs/"));
}

// ------------------------------------------------------------ manifests, stats, quotas

TEST_F(HoldTest, NotifyManifestRecordsLayersAndStats) {
  AddCrew(kAlice, {"blob:read", "blob:write"});
  std::string l1 = Upload(kAlice, {Blob(1000, '1')});
  std::string l2 = Upload(kAlice, {Blob(2000, '2')});
  std::string cfg = Upload(kAlice, {Blob(100, 'c')});
  std::string mdigest = "sha256:" + std::string(64, 'a');
  auto manifest = Manifest({{l1, 1000}, {l2, 2000}}, std::make_pair(cfg, 100));
  Reply push = Notify(kAlice, kAlice, "app", mdigest, manifest);
  ASSERT_EQ(push.status, 200) << push.body;
  EXPECT_TRUE(push.json.at("success").as_bool());
  EXPECT_EQ(push.json.at("layersCreated").as_int64(), 3);
  EXPECT_TRUE(push.json.at("statsUpdated").as_bool());
  EXPECT_FALSE(push.json.at("postCreated").as_bool());

  std::string uri = "at://" + std::string(kAlice) + "/io.atcr.manifest/" + std::string(64, 'a');
  Reply layers = Get("", "io.atcr.hold.getLayersForManifest", "manifest=" + uri);
  // Private hold: anonymous callers are refused.
  EXPECT_EQ(layers.status, 401);
  layers = Get(kAlice, "io.atcr.hold.getLayersForManifest", "manifest=" + uri);
  ASSERT_EQ(layers.status, 200) << layers.body;
  const auto& arr = layers.json.at("layers").as_array();
  ASSERT_EQ(arr.size(), 3u);
  EXPECT_EQ(arr[0].as_object().at("$type").as_string(), "io.atcr.hold.layer");
  EXPECT_EQ(arr[0].as_object().at("userDid").as_string(), kAlice);
  EXPECT_EQ(arr[0].as_object().at("repository").as_string(), "app");

  // The same push again adds no layer records but counts.
  Reply again = Notify(kAlice, kAlice, "app", mdigest, manifest);
  EXPECT_EQ(again.json.at("layersCreated").as_int64(), 0);
  Reply pull = Notify(kAlice, kAlice, "app", mdigest, manifest, "pull");
  ASSERT_EQ(pull.status, 200);
  std::string rkey = StatsRkey(kAlice, "app");
  Reply stats = Get("", "com.atproto.repo.getRecord",
                    "repo=" + net::PercentEncode(hold_->identity().did) + "&collection=io.atcr.hold.stats&rkey=" + rkey);
  ASSERT_EQ(stats.status, 200);
  const auto& sv = stats.json.at("value").as_object();
  EXPECT_EQ(sv.at("pushCount").as_int64(), 2);
  EXPECT_EQ(sv.at("pullCount").as_int64(), 1);
  EXPECT_EQ(sv.at("ownerDid").as_string(), kAlice);
  EXPECT_TRUE(sv.contains("lastPush"));
  EXPECT_TRUE(sv.contains("lastPull"));

  Reply quota = Get("", "io.atcr.hold.getQuota", std::string("userDid=") + kAlice);
  ASSERT_EQ(quota.status, 200);
  EXPECT_EQ(quota.json.at("uniqueBlobs").as_int64(), 3);
  EXPECT_EQ(quota.json.at("totalSize").as_int64(), 3100);
  EXPECT_EQ(quota.json.at("tier").as_string(), "swabbie");
  EXPECT_EQ(quota.json.at("limit").as_int64(), 2'000'000'000);
}

TEST_F(HoldTest, NotifyManifestErrors) {
  AddCrew(kAlice, {"blob:read", "blob:write"});
  std::string l1 = Upload(kAlice, {Blob(10, '1')});
  std::string mdigest = "sha256:" + std::string(64, 'b');
  auto manifest = Manifest({{l1, 10}});
  EXPECT_EQ(Notify(kAlice, kBob, "app", mdigest, manifest).error(), "UserMismatch");
  EXPECT_EQ(Notify(kAlice, kAlice, "app", mdigest, manifest, "delete").error(), "InvalidOperation");
  auto missing = Manifest({{l1, 10}, {"sha256:" + std::string(64, 'f'), 5}});
  Reply r = Notify(kAlice, kAlice, "app", mdigest, missing);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.error(), "BlobNotFound");
  EXPECT_EQ(Notify(kBob, kBob, "app", mdigest, manifest).status, 403);
}

TEST_F(HoldTest, QuotaIsEnforcedOnPushAndAtInitiate) {
  config_.tiers = {{"tiny", 3000, false}, {"big", 1'000'000, true}};
  config_.new_crew_tier = "tiny";
  Start();
  AddCrew(kAlice, {"blob:read", "blob:write"});
  std::string base = Upload(kAlice, {Blob(2000, 'b')});
  std::string app = Upload(kAlice, {Blob(900, 'a')});
  std::string big = Upload(kAlice, {Blob(1500, 'g')});
  Reply first = Notify(kAlice, kAlice, "one", "sha256:" + std::string(64, '1'),
                       Manifest({{base, 2000}, {app, 900}}));
  ASSERT_EQ(first.status, 200) << first.body;
  // Sharing the base layer costs nothing; a new 1500-byte layer would pass 3000.
  Reply second = Notify(kAlice, kAlice, "two", "sha256:" + std::string(64, '2'),
                        Manifest({{base, 2000}, {big, 1500}}));
  EXPECT_EQ(second.status, 400);
  EXPECT_EQ(second.error(), "QuotaExceeded");
  Reply shared = Notify(kAlice, kAlice, "three", "sha256:" + std::string(64, '3'),
                        Manifest({{base, 2000}}));
  EXPECT_EQ(shared.status, 200) << shared.body;
  EXPECT_EQ(Get("", "io.atcr.hold.getQuota", std::string("userDid=") + kAlice)
                .json.at("totalSize")
                .as_int64(),
            2900);

  // Over quota (after a tier change downwards is the realistic way): refused at initiate.
  config_.tiers = {{"tiny", 2000, false}, {"big", 1'000'000, true}};
  Start();
  Reply init = Post(kAlice, "io.atcr.hold.initiateUpload",
                    {{"digest", "sha256:" + std::string(64, 'e')}});
  EXPECT_EQ(init.status, 400);
  EXPECT_EQ(init.error(), "QuotaExceeded");
  // The AppView raises the tier: pushes work again.
  Reply tier = Post(kAppview, "io.atcr.hold.updateCrewTier", {{"userDid", kAlice}, {"tierRank", 1}});
  ASSERT_EQ(tier.status, 200) << tier.body;
  EXPECT_EQ(tier.json.at("tierName").as_string(), "big");
  EXPECT_EQ(Post(kAlice, "io.atcr.hold.initiateUpload",
                 {{"digest", "sha256:" + std::string(64, 'e')}})
                .status,
            200);
  // The owner is unlimited.
  std::string owner_blob = Upload(kOwner, {Blob(2500, 'o')});
  EXPECT_EQ(Notify(kOwner, kOwner, "x", "sha256:" + std::string(64, '4'),
                   Manifest({{owner_blob, 5'000'000}}))
                .status,
            200);
  Reply owner_quota = Get("", "io.atcr.hold.getQuota", std::string("userDid=") + kOwner);
  EXPECT_FALSE(owner_quota.json.contains("limit"));
}

TEST_F(HoldTest, ListTiers) {
  Reply r = Get("", "io.atcr.hold.listTiers");
  ASSERT_EQ(r.status, 200);
  const auto& tiers = r.json.at("tiers").as_array();
  ASSERT_EQ(tiers.size(), 4u);
  EXPECT_EQ(tiers[0].as_object().at("name").as_string(), "swabbie");
  EXPECT_EQ(tiers[0].as_object().at("quotaBytes").as_int64(), 2'000'000'000);
  EXPECT_EQ(tiers[0].as_object().at("quotaFormatted").as_string(), "2.0 GB");
  EXPECT_EQ(tiers[3].as_object().at("name").as_string(), "quartermaster");
}

TEST_F(HoldTest, SetStatsIsForAdminsAndAppviews) {
  boost::json::object body{{"ownerDid", kAlice}, {"repository", "app"}, {"pullCount", 42},
                           {"lastPull", "2026-01-01T00:00:00.000Z"}};
  EXPECT_EQ(Post(kBob, "io.atcr.hold.setStats", body).status, 403);
  ASSERT_EQ(Post(kAppview, "io.atcr.hold.setStats", body).status, 200);
  Reply stats = Get("", "com.atproto.repo.getRecord",
                    "repo=" + net::PercentEncode(hold_->identity().did) + "&collection=io.atcr.hold.stats&rkey=" +
                        StatsRkey(kAlice, "app"));
  EXPECT_EQ(stats.json.at("value").as_object().at("pullCount").as_int64(), 42);
  EXPECT_EQ(stats.json.at("value").as_object().at("pushCount").as_int64(), 0);
}

// ------------------------------------------------------------ crew and user data

TEST_F(HoldTest, RequestCrewFollowsAllowAllCrew) {
  Reply closed = Post(kBob, "io.atcr.hold.requestCrew", {});
  EXPECT_EQ(closed.status, 403);
  EXPECT_EQ(closed.error(), "RegistrationDisabled");
  EXPECT_EQ(Post("", "io.atcr.hold.requestCrew", {}).status, 401);

  config_.allow_all_crew = true;
  Start();
  EXPECT_EQ(Post(kBob, "io.atcr.hold.requestCrew",
                 {{"permissions", boost::json::array{"blob:read", "crew:admin"}}})
                .status,
            400);
  Reply joined = Post(kBob, "io.atcr.hold.requestCrew", {});
  ASSERT_EQ(joined.status, 200) << joined.body;
  EXPECT_EQ(joined.json.at("status").as_string(), "created");
  EXPECT_TRUE(joined.json.at("uri").as_string().ends_with(CrewRkey(kBob)));
  EXPECT_FALSE(joined.json.at("cid").as_string().empty());
  Reply again = Post(kBob, "io.atcr.hold.requestCrew", {});
  EXPECT_EQ(again.json.at("status").as_string(), "already_member");
  // New crew can write, with the default tier.
  EXPECT_EQ(Post(kBob, "io.atcr.hold.initiateUpload",
                 {{"digest", "sha256:" + std::string(64, 'e')}})
                .status,
            200);
  EXPECT_EQ(Get("", "io.atcr.hold.getQuota", std::string("userDid=") + kBob)
                .json.at("tier")
                .as_string(),
            "swabbie");
}

TEST_F(HoldTest, UpdateCrewTierRules) {
  AddCrew(kAlice, {"blob:read", "blob:write"});
  EXPECT_EQ(Post(kBob, "io.atcr.hold.updateCrewTier", {{"userDid", kAlice}, {"tierRank", 1}}).status,
            403);
  EXPECT_EQ(Post(kAppview, "io.atcr.hold.updateCrewTier", {{"userDid", kAlice}, {"tierRank", 4}})
                .error(),
            "InvalidTier");
  EXPECT_EQ(Post(kAppview, "io.atcr.hold.updateCrewTier", {{"userDid", kBob}, {"tierRank", 1}})
                .error(),
            "CrewNotFound");
  // A crew admin may set tiers too.
  AddCrew(kBob, {"blob:read", "crew:admin"});
  Reply ok = Post(kBob, "io.atcr.hold.updateCrewTier", {{"userDid", kAlice}, {"tierRank", 2}});
  ASSERT_EQ(ok.status, 200);
  EXPECT_EQ(ok.json.at("tierName").as_string(), "bosun");
  EXPECT_EQ(Get("", "io.atcr.hold.getQuota", std::string("userDid=") + kAlice)
                .json.at("limit")
                .as_int64(),
            10'000'000'000);
}

TEST_F(HoldTest, ExportAndDeleteUserData) {
  AddCrew(kAlice, {"blob:read", "blob:write"});
  std::string l1 = Upload(kAlice, {Blob(100, 'e')});
  ASSERT_EQ(Notify(kAlice, kAlice, "app", "sha256:" + std::string(64, '9'), Manifest({{l1, 100}}))
                .status,
            200);
  Reply exported = Get(kAlice, "io.atcr.hold.exportUserData");
  ASSERT_EQ(exported.status, 200) << exported.body;
  EXPECT_EQ(exported.json.at("userDid").as_string(), kAlice);
  EXPECT_EQ(exported.json.at("holdDid").as_string(), hold_->identity().did);
  EXPECT_FALSE(exported.json.at("isCaptain").as_bool());
  EXPECT_EQ(exported.json.at("crewRecord").as_object().at("member").as_string(), kAlice);
  EXPECT_EQ(exported.json.at("layerRecords").as_array().size(), 1u);
  EXPECT_EQ(exported.json.at("statsRecords").as_array().size(), 1u);
  EXPECT_TRUE(exported.json.at("blueskyPosts").as_array().empty());
  EXPECT_EQ(Get("", "io.atcr.hold.exportUserData").status, 401);

  Reply deleted = Post(kAlice, "io.atcr.hold.deleteUserData", {});
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_TRUE(deleted.json.at("success").as_bool());
  EXPECT_TRUE(deleted.json.at("crewDeleted").as_bool());
  EXPECT_EQ(deleted.json.at("layersDeleted").as_int64(), 1);
  EXPECT_EQ(deleted.json.at("statsDeleted").as_int64(), 1);
  EXPECT_EQ(Get("", "io.atcr.hold.getQuota", std::string("userDid=") + kAlice)
                .json.at("totalSize")
                .as_int64(),
            0);
  // No longer crew.
  EXPECT_EQ(Post(kAlice, "io.atcr.hold.initiateUpload",
                 {{"digest", "sha256:" + std::string(64, 'e')}})
                .status,
            403);
  // The owner's export says captain; deleting keeps the owner's crew record.
  EXPECT_TRUE(Get(kOwner, "io.atcr.hold.exportUserData").json.at("isCaptain").as_bool());
  EXPECT_FALSE(Post(kOwner, "io.atcr.hold.deleteUserData", {}).json.at("crewDeleted").as_bool());
}

TEST_F(HoldTest, IndexIsRebuiltFromLayerRecords) {
  AddCrew(kAlice, {"blob:read", "blob:write"});
  std::string l1 = Upload(kAlice, {Blob(100, 'i')});
  ASSERT_EQ(Notify(kAlice, kAlice, "app", "sha256:" + std::string(64, '8'), Manifest({{l1, 100}}))
                .status,
            200);
  Stop();
  std::filesystem::remove(config_.data_dir + "/hold.sqlite");
  std::filesystem::remove(config_.data_dir + "/hold.sqlite-wal");
  std::filesystem::remove(config_.data_dir + "/hold.sqlite-shm");
  Start();
  EXPECT_EQ(Get("", "io.atcr.hold.getQuota", std::string("userDid=") + kAlice)
                .json.at("totalSize")
                .as_int64(),
            100);
}

TEST_F(HoldTest, AdminApiNeedsItsToken) {
  net::Headers wrong;
  wrong.Set("Authorization", "Bearer nope");
  EXPECT_EQ(Send(Method::kGet, "/admin/api/usage", {}, wrong).status, 401);
  EXPECT_EQ(Send(Method::kGet, "/admin/api/usage").status, 401);
  EXPECT_EQ(Admin(Method::kGet, "/admin/api/usage").status, 200);
  AddCrew(kAlice, {"blob:read"});
  Reply crew = Admin(Method::kGet, "/admin/api/crew");
  EXPECT_EQ(crew.json.at("crew").as_array().size(), 2u);
  EXPECT_EQ(Admin(Method::kDelete, std::string("/admin/api/crew?did=") + kAlice).status, 200);
  EXPECT_EQ(Admin(Method::kDelete, std::string("/admin/api/crew?did=") + kOwner).status, 400);
  EXPECT_EQ(Admin(Method::kGet, "/admin/api/crew").json.at("crew").as_array().size(), 1u);
}

}  // namespace
}  // namespace atcr::hold
