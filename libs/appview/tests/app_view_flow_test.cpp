// The AppView end to end over a fake PDS and a fake hold: the Docker token flow, pushes and
// pulls, the records it writes, caching, deletes, mounts, refresh, quota, holds that refuse
// reused tokens or offer presigned part URLs, and images whose records ATCR wrote.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "atcr/appview/records.h"
#include "atcr/atproto/lexicon.h"
#include "flow_fixture.h"

namespace atcr::appview::testing {
namespace {
namespace json = boost::json;

std::string S(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : json::serialize(v);
}

const atproto::LexiconCatalog& Lexicons() {
  static atproto::LexiconCatalog* lex = [] {
    auto* l = new atproto::LexiconCatalog();
    EXPECT_TRUE(l->AddBuiltinAtcr().ok());
    return l;
  }();
  return *lex;
}

class FlowTest : public AppViewFlowTest {
 protected:
  void SetUp() override {
    AppViewFlowTest::SetUp();
    StartAppView();
  }
};

TEST_F(FlowTest, V2ChallengesWithTheTokenRealm) {
  Reply r = client_->Do(net::Method::kGet, "/v2/");
  EXPECT_EQ(r.status, 401);
  std::string challenge = r.Header("WWW-Authenticate");
  EXPECT_NE(challenge.find("Bearer realm=\"" + base() + "/auth/token\""), std::string::npos)
      << challenge;
  EXPECT_NE(challenge.find("service=\"" + service() + "\""), std::string::npos) << challenge;
  // docker login: a token without scopes, then /v2/ with it.
  std::string token = client_->Token("alice.test", "alice-app-pw", {}, service());
  EXPECT_EQ(client_->Do(net::Method::kGet, "/v2/", token).status, 200);
  EXPECT_EQ(client_->Do(net::Method::kGet, "/v2/", "garbage").status, 401);
  // A scoped request advertises its scope in the challenge.
  Reply m = client_->GetManifest("", "alice.test/app", "latest");
  EXPECT_EQ(m.status, 401);
  EXPECT_NE(m.Header("WWW-Authenticate").find("scope=\"repository:alice.test/app:pull\""),
            std::string::npos);
}

TEST_F(FlowTest, TokenServiceGrantsTheOwnNamespaceAndPullElsewhere) {
  Reply r = client_->TokenReply("alice.test", "alice-app-pw",
                                {"repository:alice.test/app:pull,push",
                                 "repository:bob.test/app:pull,push"},
                                service());
  ASSERT_EQ(r.status, 200) << r.body;
  json::object o = json::parse(r.body).as_object();
  EXPECT_EQ(S(o.at("token")), S(o.at("access_token")));
  EXPECT_EQ(o.at("expires_in").as_int64(), 300);
  auto parsed = crypto::ParseJwt(std::string(o.at("token").as_string()));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->sub(), alice_);
  std::string access = json::serialize(parsed->claims().at("access"));
  EXPECT_NE(access.find(R"({"type":"repository","name":"alice.test/app","actions":["pull","push"]})"),
            std::string::npos)
      << access;
  EXPECT_NE(access.find(R"({"type":"repository","name":"bob.test/app","actions":["pull"]})"),
            std::string::npos)
      << access;

  EXPECT_EQ(client_->TokenReply("alice.test", "wrong", {}, service()).status, 401);
  EXPECT_EQ(client_->TokenReply("nobody.test", "x", {}, service()).status, 401);
  EXPECT_EQ(client_->TokenReply("alice.test", "alice-app-pw", {}, "other-service").status, 400);

  // Anonymous: pull only (the hold is public).
  Reply anon = client_->TokenReply("", "", {"repository:alice.test/app:pull,push"}, service());
  ASSERT_EQ(anon.status, 200);
  auto anon_jwt = crypto::ParseJwt(std::string(json::parse(anon.body).as_object().at("token").as_string()));
  EXPECT_EQ(anon_jwt->sub(), "");
  EXPECT_EQ(json::serialize(anon_jwt->claims().at("access")),
            R"([{"type":"repository","name":"alice.test/app","actions":["pull"]}])");
}

TEST_F(FlowTest, FirstLoginCreatesTheProfileAndLoginsAreRemembered) {
  EXPECT_FALSE(pds_->Record(alice_, "io.atcr.sailor.profile", "self"));
  AliceToken();
  auto profile = pds_->Record(alice_, "io.atcr.sailor.profile", "self");
  ASSERT_TRUE(profile);
  EXPECT_EQ(profile->as_object().at("defaultHold").as_string(), hold_->did());
  EXPECT_TRUE(Lexicons().ValidateRecord("io.atcr.sailor.profile", *profile, "self").ok());
  EXPECT_EQ(pds_->calls("com.atproto.server.createSession"), 1);
  AliceToken();
  AliceToken("alice.test/other");
  EXPECT_EQ(pds_->calls("com.atproto.server.createSession"), 1);
  // An existing profile is left alone.
  pds_->PutRecordDirect(bob_, "io.atcr.sailor.profile", "self",
                        json::parse(R"({"$type":"io.atcr.sailor.profile","defaultHold":"did:web:elsewhere.test","createdAt":"2025-01-01T00:00:00Z"})"));
  client_->Token("bob.test", "bob-app-pw", {}, service());
  EXPECT_EQ(S(pds_->Record(bob_, "io.atcr.sailor.profile", "self")->as_object().at("defaultHold")),
            "did:web:elsewhere.test");
}

TEST_F(FlowTest, PushWritesValidRecordsAndPullRedirectsToTheHold) {
  std::string token = AliceToken();
  std::string body = PushImage(token, "alice.test/app", "latest", "one");
  std::string digest = DigestOf(body);

  // The manifest record: every field, valid, under atcr's derived key.
  oci::Digest d = *oci::Digest::Parse(digest);
  std::string rkey = ManifestRkey("app", d);
  auto rec = pds_->Record(alice_, "io.atcr.manifest", rkey);
  ASSERT_TRUE(rec) << "no manifest record " << rkey;
  Status valid = Lexicons().ValidateRecord("io.atcr.manifest", *rec, rkey);
  EXPECT_TRUE(valid.ok()) << valid.error().ToString();
  const json::object& m = rec->as_object();
  EXPECT_EQ(S(m.at("repository")), "app");
  EXPECT_EQ(S(m.at("digest")), digest);
  EXPECT_EQ(S(m.at("holdDid")), hold_->did());
  EXPECT_EQ(m.at("layers").as_array().size(), 2u);
  EXPECT_EQ(m.at("manifestBlob").as_object().at("size").as_int64(),
            static_cast<int64_t>(body.size()));
  auto tag = pds_->Record(alice_, "io.atcr.tag", "app:latest");
  ASSERT_TRUE(tag);
  EXPECT_TRUE(Lexicons().ValidateRecord("io.atcr.tag", *tag, "app:latest").ok());
  EXPECT_EQ(S(tag->as_object().at("manifest")), "at://" + alice_ + "/io.atcr.manifest/" + rkey);

  // The hold got every blob (the big layer in several parts) and a push notification.
  EXPECT_TRUE(hold_->HasBlob(DigestOf(std::string(3000, 'x') + "one")));
  EXPECT_GE(hold_->calls("io.atcr.hold.uploadPart"), 3);
  auto notes = hold_->notifications();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(S(notes[0].at("operation")), "push");
  EXPECT_EQ(S(notes[0].at("userDid")), alice_);
  EXPECT_EQ(S(notes[0].at("repository")), "app");
  EXPECT_EQ(S(notes[0].at("tag")), "latest");
  EXPECT_EQ(notes[0].at("manifest").as_object().at("layers").as_array().size(), 2u);
  for (const std::string& iss : hold_->token_issuers()) EXPECT_EQ(iss, alice_);

  // Pull, as someone else: exact bytes, then blobs by redirect.
  std::string bob_token = client_->Token("bob.test", "bob-app-pw",
                                         {"repository:alice.test/app:pull"}, service());
  Reply got = client_->GetManifest(bob_token, "alice.test/app", "latest");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body, body);
  EXPECT_EQ(got.Header("Docker-Content-Digest"), digest);
  EXPECT_EQ(got.Header("Content-Type"), "application/vnd.oci.image.manifest.v1+json");
  std::string layer = std::string(3000, 'x') + "one";
  Reply blob = client_->Do(net::Method::kGet, "/v2/alice.test/app/blobs/" + DigestOf(layer),
                           bob_token);
  ASSERT_EQ(blob.status, 307) << blob.body;
  std::string location = blob.Header("Location");
  EXPECT_EQ(location.rfind(hold_->url() + "/xrpc/com.atproto.sync.getBlob?", 0), 0u) << location;
  Reply hop = client_->Do(net::Method::kGet, location);
  ASSERT_EQ(hop.status, 307);
  Reply bytes = client_->Do(net::Method::kGet, hop.Header("Location"));
  EXPECT_EQ(bytes.body, layer);
  Reply head = client_->Do(net::Method::kHead, "/v2/alice.test/app/blobs/" + DigestOf(layer),
                           bob_token);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("Content-Length"), std::to_string(layer.size()));
}

TEST_F(FlowTest, AWarmManifestGetMakesNoNetworkCall) {
  std::string token = AliceToken();
  std::string body = PushImage(token, "alice.test/app", "latest", "warm");
  ASSERT_EQ(client_->GetManifest(token, "alice.test/app", "latest").status, 200);
  int pds_before = pds_->requests();
  int hold_before = hold_->calls("com.atproto.repo.getRecord");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(client_->GetManifest(token, "alice.test/app", "latest").body, body);
    EXPECT_EQ(client_->GetManifest(token, "alice.test/app", DigestOf(body)).body, body);
    EXPECT_EQ(client_->Do(net::Method::kHead, "/v2/alice.test/app/manifests/latest", token).status,
              200);
  }
  EXPECT_EQ(pds_->requests(), pds_before);
  EXPECT_EQ(hold_->calls("com.atproto.repo.getRecord"), hold_before);

  // A fresh AppView (empty cache) reads the same image back from the records.
  StartAppView();
  std::string anon = client_->Token("", "", {"repository:alice.test/app:pull"}, service());
  Reply cold = client_->GetManifest(anon, "alice.test/app", "latest");
  ASSERT_EQ(cold.status, 200) << cold.body;
  EXPECT_EQ(cold.body, body);
  EXPECT_GT(pds_->requests(), pds_before);
}

TEST_F(FlowTest, RetaggingOverwritesTheTagRecord) {
  std::string token = AliceToken();
  std::string one = PushImage(token, "alice.test/app", "latest", "one");
  std::string two = PushImage(token, "alice.test/app", "latest", "two");
  ASSERT_EQ(client_->PutManifest(token, "alice.test/app", "v1", one).status, 201);
  std::vector<std::string> tag_keys = pds_->Rkeys(alice_, "io.atcr.tag");
  EXPECT_EQ(tag_keys, (std::vector<std::string>{"app:latest", "app:v1"}));
  EXPECT_EQ(S(pds_->Record(alice_, "io.atcr.tag", "app:latest")->as_object().at("manifestDigest")),
            DigestOf(two));
  EXPECT_EQ(client_->GetManifest(token, "alice.test/app", "latest").body, two);
  EXPECT_EQ(client_->GetManifest(token, "alice.test/app", "v1").body, one);
  // Re-pushing a manifest only moved a tag: still one record per manifest.
  EXPECT_EQ(pds_->Rkeys(alice_, "io.atcr.manifest").size(), 2u);
  Reply tags = client_->Do(net::Method::kGet, "/v2/alice.test/app/tags/list", token);
  ASSERT_EQ(tags.status, 200);
  EXPECT_EQ(tags.body, R"({"name":"alice.test/app","tags":["latest","v1"]})");
  Reply none = client_->Do(net::Method::kGet, "/v2/alice.test/nothing/tags/list",
                           AliceToken("alice.test/nothing"));
  EXPECT_EQ(none.status, 404);
  EXPECT_NE(none.body.find("NAME_UNKNOWN"), std::string::npos);
  Reply catalog = client_->Do(net::Method::kGet, "/v2/_catalog",
                              client_->Token("", "", {"registry:catalog:*"}, service()));
  EXPECT_EQ(catalog.status, 200);
  EXPECT_EQ(catalog.body, R"({"repositories":["alice.test/app"]})");
}

TEST_F(FlowTest, DeletesRemoveRecordsAndUnlinkBlobs) {
  std::string token = AliceToken();
  std::string body = PushImage(token, "alice.test/app", "latest", "del");
  ASSERT_EQ(client_->PutManifest(token, "alice.test/app", "v1", body).status, 201);
  std::string digest = DigestOf(body);

  // A tag delete removes that tag record only.
  EXPECT_EQ(client_->Do(net::Method::kDelete, "/v2/alice.test/app/manifests/v1", token).status, 202);
  EXPECT_FALSE(pds_->Record(alice_, "io.atcr.tag", "app:v1"));
  EXPECT_EQ(client_->GetManifest(token, "alice.test/app", "v1").status, 404);
  EXPECT_EQ(client_->GetManifest(token, "alice.test/app", "latest").status, 200);
  EXPECT_EQ(client_->Do(net::Method::kDelete, "/v2/alice.test/app/manifests/v1", token).status, 404);

  // A manifest delete removes its record and every tag pointing at it.
  EXPECT_EQ(client_->Do(net::Method::kDelete, "/v2/alice.test/app/manifests/" + digest, token).status,
            202);
  EXPECT_TRUE(pds_->Rkeys(alice_, "io.atcr.manifest").empty());
  EXPECT_TRUE(pds_->Rkeys(alice_, "io.atcr.tag").empty());
  Reply gone = client_->GetManifest(token, "alice.test/app", digest);
  EXPECT_EQ(gone.status, 404);
  EXPECT_NE(gone.body.find("MANIFEST_UNKNOWN"), std::string::npos);

  // A blob delete unlinks it here; the hold keeps the bytes for its GC.
  std::string layer = "small-layer-del";
  std::string blob_path = "/v2/alice.test/app/blobs/" + DigestOf(layer);
  EXPECT_EQ(client_->Do(net::Method::kHead, blob_path, token).status, 200);
  EXPECT_EQ(client_->Do(net::Method::kDelete, blob_path, token).status, 202);
  Reply after = client_->Do(net::Method::kGet, blob_path, token);
  EXPECT_EQ(after.status, 404);
  EXPECT_NE(after.body.find("BLOB_UNKNOWN"), std::string::npos);
  EXPECT_EQ(client_->Do(net::Method::kDelete, blob_path, token).status, 404);
  EXPECT_TRUE(hold_->HasBlob(DigestOf(layer)));
}

TEST_F(FlowTest, PushIntoAnotherNamespaceIsDenied) {
  std::string token = client_->Token("alice.test", "alice-app-pw",
                                     {"repository:bob.test/app:pull,push"}, service());
  Reply r = client_->Do(net::Method::kPost, "/v2/bob.test/app/blobs/uploads/", token);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("DENIED"), std::string::npos);
  Reply put = client_->PutManifest(token, "bob.test/app", "latest", ImageManifest("{}", {}));
  EXPECT_EQ(put.status, 403);
  // Anonymous: a push is an authentication problem, not a denial.
  std::string anon = client_->Token("", "", {"repository:bob.test/app:pull,push"}, service());
  EXPECT_EQ(client_->Do(net::Method::kPost, "/v2/bob.test/app/blobs/uploads/", anon).status, 401);
  EXPECT_TRUE(pds_->Rkeys(bob_, "io.atcr.manifest").empty());
}

TEST_F(FlowTest, UnknownOwnersAreNameUnknown) {
  std::string anon = client_->Token("", "", {"repository:ghost.test/app:pull"}, service());
  Reply r = client_->GetManifest(anon, "ghost.test/app", "latest");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("NAME_UNKNOWN"), std::string::npos) << r.body;
}

TEST_F(FlowTest, AnExpiredAccessTokenIsRefreshedOnce) {
  std::string token = AliceToken();
  PushImage(token, "alice.test/app", "v1", "a");
  pds_->ExpireAccessTokens();
  PushImage(token, "alice.test/app", "v2", "b");
  EXPECT_EQ(pds_->calls("com.atproto.server.createSession"), 1);
  EXPECT_EQ(pds_->calls("com.atproto.server.refreshSession"), 1);
  EXPECT_TRUE(pds_->Record(alice_, "io.atcr.tag", "app:v2"));
}

TEST_F(FlowTest, ASessionThePdsEndedNeedsARealLoginAgain) {
  std::string token = AliceToken();
  std::string first = PushImage(token, "alice.test/app", "v1", "a");
  pds_->ExpireAccessTokens();
  pds_->RevokeRefreshTokens();
  // The refresh is refused: the session is dropped and the tag write fails.
  Reply r = client_->PutManifest(token, "alice.test/app", "again", first);
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_NE(r.body.find("log in"), std::string::npos) << r.body;
  // The same credentials again: the remembered login is not trusted without a session.
  token = AliceToken();
  EXPECT_EQ(pds_->calls("com.atproto.server.createSession"), 2);
  PushImage(token, "alice.test/app", "v2", "b");
  EXPECT_TRUE(pds_->Record(alice_, "io.atcr.tag", "app:v2"));
}

TEST_F(FlowTest, CrossRepositoryMountOnTheSameHold) {
  std::string token = client_->Token(
      "alice.test", "alice-app-pw",
      {"repository:alice.test/a:pull,push", "repository:alice.test/b:pull,push"}, service());
  std::string blob = "shared base layer";
  ASSERT_EQ(client_->PushBlobMonolithic(token, "alice.test/a", blob), 201);
  int initiated = hold_->calls("io.atcr.hold.initiateUpload");
  Reply m = client_->Do(net::Method::kPost,
                        "/v2/alice.test/b/blobs/uploads/?mount=" + DigestOf(blob) + "&from=alice.test/a",
                        token);
  EXPECT_EQ(m.status, 201) << m.body;
  EXPECT_EQ(client_->Do(net::Method::kHead, "/v2/alice.test/b/blobs/" + DigestOf(blob), token).status,
            200);
  EXPECT_EQ(hold_->calls("io.atcr.hold.initiateUpload"), initiated);
  // A blob the source does not have: a normal upload session instead.
  Reply miss = client_->Do(net::Method::kPost,
                           "/v2/alice.test/b/blobs/uploads/?mount=" + DigestOf("other") +
                               "&from=alice.test/a",
                           token);
  EXPECT_EQ(miss.status, 202);
}

TEST_F(FlowTest, RecordChangesSeenOnTheFirehoseInvalidateTheCache) {
  std::string token = AliceToken();
  std::string one = PushImage(token, "alice.test/app", "latest", "one");
  std::string two = PushImage(token, "alice.test/app", "v2", "two");
  ASSERT_EQ(client_->GetManifest(token, "alice.test/app", "latest").body, one);
  // Another client moves the tag in the PDS.
  json::value moved = BuildTagRecord(
      "app", "latest",
      RecordUri(alice_, kManifestCollection, ManifestRkey("app", *oci::Digest::Parse(DigestOf(two)))),
      DigestOf(two), "2025-01-01T00:00:00.000Z");
  pds_->PutRecordDirect(alice_, "io.atcr.tag", "app:latest", moved);
  EXPECT_EQ(client_->GetManifest(token, "alice.test/app", "latest").body, one);  // cached
  appview_->manifests().InvalidateRecord(alice_, "io.atcr.tag", "app:latest");
  EXPECT_EQ(client_->GetManifest(token, "alice.test/app", "latest").body, two);
  // A deleted manifest record stops being served once the firehose says so.
  pds_->DeleteRecordDirect(alice_, "io.atcr.manifest",
                           ManifestRkey("app", *oci::Digest::Parse(DigestOf(two))));
  appview_->manifests().InvalidateRecord(
      alice_, "io.atcr.manifest", ManifestRkey("app", *oci::Digest::Parse(DigestOf(two))));
  EXPECT_EQ(client_->GetManifest(token, "alice.test/app", DigestOf(two)).status, 404);
}

TEST_F(FlowTest, ImagesWhoseRecordsAtcrWrotePullToo) {
  // Records under keys atcr does not derive: a random TID and ATCR's older tag shape.
  std::string config = R"({"architecture":"arm64","os":"linux"})";
  std::string layer = "layer pushed through ATCR";
  hold_->PutBlobDirect(config);
  hold_->PutBlobDirect(layer);
  std::string body = ImageManifest(config, {layer});
  std::string cid = pds_->PutBlobDirect(body);
  json::object manifest = json::parse(
      R"({"$type":"io.atcr.manifest","repository":"legacy","digest":")" + DigestOf(body) +
      R"(","mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2,)"
      R"("config":)" + Desc("application/vnd.oci.image.config.v1+json", config) +
      R"(,"layers":[)" + Desc("application/vnd.oci.image.layer.v1.tar+gzip", layer) + R"(],)"
      R"("holdDid":")" + hold_->did() + R"(","createdAt":"2025-01-01T00:00:00Z"})").as_object();
  manifest["manifestBlob"] = BlobRef{cid, "application/vnd.oci.image.manifest.v1+json",
                                     static_cast<int64_t>(body.size())}
                                 .ToJson();
  pds_->PutRecordDirect(alice_, "io.atcr.manifest", "3kabcdefghij2", manifest);
  pds_->PutRecordDirect(alice_, "io.atcr.tag", "legacy_latest",
                        json::parse(R"({"$type":"io.atcr.tag","repository":"legacy","tag":"latest",)"
                                    R"("manifest":"at://)" + alice_ +
                                    R"(/io.atcr.manifest/3kabcdefghij2","createdAt":"2025-01-01T00:00:00Z"})"));
  std::string anon = client_->Token("", "", {"repository:alice.test/legacy:pull"}, service());
  Reply got = client_->GetManifest(anon, "alice.test/legacy", "latest");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body, body);
  Reply blob = client_->Do(net::Method::kGet, "/v2/alice.test/legacy/blobs/" + DigestOf(layer), anon);
  EXPECT_EQ(blob.status, 307);
  Reply by_did = client_->GetManifest(
      client_->Token("", "", {"repository:" + alice_ + "/legacy:pull"}, service()),
      alice_ + "/legacy", DigestOf(body));
  EXPECT_EQ(by_did.status, 200) << by_did.body;
}

TEST_F(FlowTest, ReferrersAndIndexesComeFromRecords) {
  std::string token = AliceToken();
  std::string image = PushImage(token, "alice.test/app", "base", "img");
  std::string sig_config = "{}";
  ASSERT_EQ(client_->PushBlobMonolithic(token, "alice.test/app", sig_config), 201);
  std::string sig =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.example.sig",)"
      R"("config":)" + Desc("application/vnd.oci.empty.v1+json", sig_config) +
      R"(,"layers":[],"subject":)" + Desc("application/vnd.oci.image.manifest.v1+json", image) + "}";
  Reply put = client_->PutManifest(token, "alice.test/app", DigestOf(sig), sig);
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(put.Header("OCI-Subject"), DigestOf(image));
  Reply refs = client_->Do(net::Method::kGet, "/v2/alice.test/app/referrers/" + DigestOf(image), token);
  ASSERT_EQ(refs.status, 200);
  EXPECT_NE(refs.body.find(DigestOf(sig)), std::string::npos) << refs.body;
  EXPECT_NE(refs.body.find("application/vnd.example.sig"), std::string::npos) << refs.body;

  // A multi-arch index over two pushed images.
  std::string arm = PushImage(token, "alice.test/app", "arm", "arm");
  std::string index =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" +
      Desc("application/vnd.oci.image.manifest.v1+json", image,
           R"(,"platform":{"architecture":"amd64","os":"linux"})") + "," +
      Desc("application/vnd.oci.image.manifest.v1+json", arm,
           R"(,"platform":{"architecture":"arm64","os":"linux","variant":"v8"})") + "]}";
  Reply ip = client_->PutManifest(token, "alice.test/app", "multi", index,
                                  "application/vnd.oci.image.index.v1+json");
  ASSERT_EQ(ip.status, 201) << ip.body;
  auto rec = pds_->Record(alice_, "io.atcr.manifest",
                          ManifestRkey("app", *oci::Digest::Parse(DigestOf(index))));
  ASSERT_TRUE(rec);
  EXPECT_TRUE(Lexicons().ValidateRecord("io.atcr.manifest", *rec).ok());
  EXPECT_EQ(S(rec->as_object().at("manifests").as_array()[1].as_object().at("platform")
                .as_object().at("variant")),
            "v8");
  EXPECT_EQ(S(rec->as_object().at("holdDid")), hold_->did());
  EXPECT_EQ(client_->GetManifest(token, "alice.test/app", "multi").body, index);
  // An index naming a manifest that is not in the repository is refused.
  std::string bad =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" +
      Desc("application/vnd.oci.image.manifest.v1+json", "nope") + "]}";
  EXPECT_EQ(client_->PutManifest(token, "alice.test/app", "bad", bad,
                                 "application/vnd.oci.image.index.v1+json")
                .status,
            400);
}

class QuotaTest : public AppViewFlowTest {
 protected:
  FakeHold::Options HoldOptions() override {
    FakeHold::Options o;
    o.quota_bytes = 1000;
    return o;
  }
};

TEST_F(QuotaTest, APushOverTheHoldQuotaFailsWithAClearMessage) {
  StartAppView();
  std::string token = AliceToken();
  std::string config = "{}";
  std::string layer(5000, 'q');
  ASSERT_EQ(client_->PushBlobMonolithic(token, "alice.test/app", config), 201);
  ASSERT_EQ(client_->PushBlobMonolithic(token, "alice.test/app", layer), 201);
  Reply r = client_->PutManifest(token, "alice.test/app", "latest", ImageManifest(config, {layer}));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("DENIED"), std::string::npos);
  EXPECT_NE(r.body.find("quota"), std::string::npos) << r.body;
  EXPECT_TRUE(pds_->Rkeys(alice_, "io.atcr.manifest").empty());
  EXPECT_TRUE(pds_->Rkeys(alice_, "io.atcr.tag").empty());
}

class CrewOnlyHoldTest : public AppViewFlowTest {
 protected:
  FakeHold::Options HoldOptions() override {
    FakeHold::Options o;
    o.crew_only = true;
    return o;
  }
};

TEST_F(CrewOnlyHoldTest, APusherJoinsTheCrewOfAHoldThatAllowsAllCrew) {
  StartAppView();
  std::string token = AliceToken();
  std::string body = PushImage(token, "alice.test/app", "latest", "crew");
  EXPECT_TRUE(hold_->IsCrew(alice_));
  EXPECT_EQ(hold_->calls("io.atcr.hold.requestCrew"), 1);
  EXPECT_EQ(client_->GetManifest(token, "alice.test/app", "latest").body, body);
  PushImage(token, "alice.test/app", "again", "crew2");
  EXPECT_EQ(hold_->calls("io.atcr.hold.requestCrew"), 1);  // crew now: no second request
}

TEST_F(CrewOnlyHoldTest, APushOfMountedBlobsOnlyJoinsTheCrewAtNotifyManifest) {
  StartAppView();
  // bob pushes (and joins); alice mounts every blob from bob's repository, so she uploads
  // nothing and the hold first hears of her at notifyManifest.
  std::string bob_token = client_->Token("bob.test", "bob-app-pw",
                                         {"repository:bob.test/base:pull,push"}, service());
  std::string body = PushImage(bob_token, "bob.test/base", "v1", "mounted");
  ASSERT_TRUE(hold_->IsCrew(bob_));
  ASSERT_FALSE(hold_->IsCrew(alice_));
  std::string token = client_->Token(
      "alice.test", "alice-app-pw",
      {"repository:alice.test/app:pull,push", "repository:bob.test/base:pull"}, service());
  json::value m = json::parse(body);
  std::vector<std::string> digests = {std::string(m.at("config").at("digest").as_string())};
  for (const auto& l : m.at("layers").as_array()) {
    digests.emplace_back(l.at("digest").as_string());
  }
  int initiated = hold_->calls("io.atcr.hold.initiateUpload");
  for (const std::string& d : digests) {
    Reply r = client_->Do(net::Method::kPost,
                          "/v2/alice.test/app/blobs/uploads/?mount=" + d + "&from=bob.test/base",
                          token);
    ASSERT_EQ(r.status, 201) << d << " " << r.body;
  }
  EXPECT_EQ(hold_->calls("io.atcr.hold.initiateUpload"), initiated);
  Reply put = client_->PutManifest(token, "alice.test/app", "latest", body);
  EXPECT_EQ(put.status, 201) << put.body;
  EXPECT_TRUE(hold_->IsCrew(alice_));
  EXPECT_EQ(client_->GetManifest(token, "alice.test/app", "latest").body, body);
}

class ClosedHoldTest : public AppViewFlowTest {
 protected:
  FakeHold::Options HoldOptions() override {
    FakeHold::Options o;
    o.crew_only = true;
    o.allow_all_crew = false;
    return o;
  }
};

TEST_F(ClosedHoldTest, AnUploadToAHoldThatTakesNoNewCrewIsDenied) {
  StartAppView();
  std::string token = AliceToken();
  // DENIED (403), not a retryable UNAVAILABLE.
  EXPECT_EQ(client_->PushBlobMonolithic(token, "alice.test/app", "closed"), 403);
  EXPECT_EQ(hold_->calls("io.atcr.hold.requestCrew"), 1);
  EXPECT_FALSE(hold_->IsCrew(alice_));
}

TEST_F(FlowTest, ABlobGoesToTheHoldAsOneStreamedPart) {
  StartAppView([](AppViewConfig& c) { c.hold_part_bytes = 5ull << 30; });
  std::string token = AliceToken();
  PushImage(token, "alice.test/app", "latest", "whole", 300000);
  // config, the big layer and the small one: one uploadPart each, never two at once.
  std::vector<size_t> sizes = hold_->part_sizes();
  ASSERT_EQ(sizes.size(), 3u);
  EXPECT_EQ(sizes[1], 300000u + 5);
  EXPECT_EQ(hold_->max_parts_in_flight(), 1);
  std::string layer = std::string(300000, 'x') + "whole";
  EXPECT_TRUE(hold_->HasBlob(DigestOf(layer)));
}

TEST_F(FlowTest, PartsToTheHoldGoOneAtATimeInOrder) {
  // hold_part_bytes is 1024 here: the 5000-byte layer is five parts, sent in order.
  std::string token = AliceToken();
  PushImage(token, "alice.test/app", "latest", "parts", 5000);
  std::vector<size_t> sizes = hold_->part_sizes();
  ASSERT_GE(sizes.size(), 7u);
  EXPECT_EQ(hold_->max_parts_in_flight(), 1);
  EXPECT_TRUE(hold_->HasBlob(DigestOf(std::string(5000, 'x') + "parts")));
}

class SmallPartHoldTest : public AppViewFlowTest {
 protected:
  FakeHold::Options HoldOptions() override {
    FakeHold::Options o;
    o.max_part_bytes = 2048;
    return o;
  }
};

TEST_F(SmallPartHoldTest, APartTooLargeForTheHoldFallsBackToPartSize) {
  StartAppView([](AppViewConfig& c) { c.hold_part_bytes = 1 << 20; });
  std::string token = AliceToken();
  std::string body = PushImage(token, "alice.test/app", "latest", "fallback", 5000);
  std::string layer = std::string(5000, 'x') + "fallback";
  EXPECT_TRUE(hold_->HasBlob(DigestOf(layer)));
  for (size_t n : hold_->part_sizes()) EXPECT_LE(n, 1024u);
  Reply got = client_->GetManifest(token, "alice.test/app", "latest");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body, body);
}

class ReplayRefusingHoldTest : public AppViewFlowTest {
 protected:
  FakeHold::Options HoldOptions() override {
    FakeHold::Options o;
    o.reject_replay = true;
    o.part_put_only = true;
    return o;
  }
};

TEST_F(ReplayRefusingHoldTest, TokensAreMadeSingleUseForSuchAHold) {
  StartAppView();
  std::string token = AliceToken();
  PushImage(token, "alice.test/app", "latest", "replay", 5000);
  EXPECT_EQ(hold_->refused_tokens(), 1);  // the first reuse teaches the AppView
  EXPECT_TRUE(appview_->services().service_tokens->single_use(hold_->did()));
  PushImage(token, "alice.test/app", "again", "replay2", 5000);
  EXPECT_EQ(hold_->refused_tokens(), 1);
}

class PresignTest : public AppViewFlowTest {
 protected:
  FakeHold::Options HoldOptions() override {
    FakeHold::Options o;
    o.presign = true;
    return o;
  }
};

TEST_F(PresignTest, PartsGoStraightToObjectStorage) {
  StartAppView();
  std::string token = AliceToken();
  std::string body = PushImage(token, "alice.test/app", "latest", "s3", 4000);
  EXPECT_GE(hold_->presigned_puts(), 4);
  EXPECT_EQ(hold_->calls("io.atcr.hold.uploadPart"), 0);
  EXPECT_TRUE(hold_->HasBlob(DigestOf(std::string(4000, 'x') + "s3")));
  EXPECT_EQ(client_->GetManifest(token, "alice.test/app", "latest").body, body);
}

class PrivateHoldTest : public AppViewFlowTest {
 protected:
  FakeHold::Options HoldOptions() override {
    FakeHold::Options o;
    o.is_public = false;
    return o;
  }
};

TEST_F(PrivateHoldTest, AnonymousPullsNeedALoginAndBlobsRedirectToSignedUrls) {
  StartAppView();
  std::string token = AliceToken();
  std::string body = PushImage(token, "alice.test/app", "latest", "priv");
  std::string anon = client_->Token("", "", {"repository:alice.test/app:pull"}, service());
  EXPECT_EQ(client_->GetManifest(anon, "alice.test/app", "latest").status, 401);
  std::string layer = "small-layer-priv";
  Reply blob = client_->Do(net::Method::kGet, "/v2/alice.test/app/blobs/" + DigestOf(layer), token);
  ASSERT_EQ(blob.status, 307) << blob.body;
  EXPECT_NE(blob.Header("Location").find("/signed/"), std::string::npos) << blob.Header("Location");
  EXPECT_EQ(client_->Do(net::Method::kGet, blob.Header("Location")).body, layer);
}

}  // namespace
}  // namespace atcr::appview::testing
