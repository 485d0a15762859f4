// Manifest push, pull, negotiation and delete over a real server.
#include "api_fixture.h"

namespace atcr::registry::testing {
namespace {

using ManifestApi = ApiTest;

class ManifestApiWithImage : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    config_ = MakeBlob(R"({"architecture":"amd64","os":"linux"})", std::string(oci::kOciConfig));
    layer_ = MakeBlob("layer one");
    PushBlob("org/app", config_);
    PushBlob("org/app", layer_);
  }
  Blob config_, layer_;
};

TEST_F(ManifestApiWithImage, PutThenGetByTagAndDigestIsByteExact) {
  // Unusual whitespace: the stored bytes are the pushed bytes, never re-serialised.
  std::string body = ImageManifest(config_, {layer_}, R"(,  "annotations" : {"a":"b"}   )");
  std::string digest = DigestOf(body);
  HttpResponse put = PutManifest("org/app", "v1", body);
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(put.Header("Location"), "/v2/org/app/manifests/" + digest);
  EXPECT_EQ(put.Header("Docker-Content-Digest"), digest);
  EXPECT_FALSE(put.Header("OCI-Subject").has_value());

  for (const std::string& ref : {std::string("v1"), digest}) {
    HttpResponse get = Do("GET", "/v2/org/app/manifests/" + ref,
                          {{"Accept", std::string(oci::kOciManifest)}});
    EXPECT_EQ(get.status, 200) << ref;
    EXPECT_EQ(get.body, body) << ref;
    EXPECT_EQ(get.Header("Content-Type"), oci::kOciManifest);
    EXPECT_EQ(get.Header("Docker-Content-Digest"), digest);
    EXPECT_EQ(get.Header("ETag"), "\"" + digest + "\"");
    HttpResponse head = Do("HEAD", "/v2/org/app/manifests/" + ref);
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.Header("Content-Length"), std::to_string(body.size()));
    EXPECT_EQ(head.Header("Content-Type"), oci::kOciManifest);
    EXPECT_EQ(head.Header("Docker-Content-Digest"), digest);
    EXPECT_TRUE(head.body.empty());
  }
}

TEST_F(ManifestApiWithImage, MissingReferencedBlobsAre400ManifestBlobUnknown) {
  Blob absent = MakeBlob("never pushed");
  HttpResponse r = PutManifest("org/app", "v1", ImageManifest(config_, {layer_, absent}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.ErrorCode(), "MANIFEST_BLOB_UNKNOWN");
  EXPECT_NE(r.body.find("\"detail\":{\"digest\":\"" + absent.digest + "\"}"), std::string::npos)
      << r.body;
  Blob absent_config = MakeBlob("{}", std::string(oci::kOciConfig));
  r = PutManifest("org/app", "v1", ImageManifest(absent_config, {layer_}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.ErrorCode(), "MANIFEST_BLOB_UNKNOWN");
  // Blobs of another repository do not count.
  r = PutManifest("other/app", "v1", ImageManifest(config_, {layer_}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.ErrorCode(), "MANIFEST_BLOB_UNKNOWN");
  EXPECT_EQ(Do("GET", "/v2/org/app/manifests/v1").status, 404);
}

TEST_F(ManifestApiWithImage, NonDistributableLayersWithUrlsNeedNotExist) {
  Blob foreign = MakeBlob("windows base", "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip");
  std::string s = ImageManifest(config_, {layer_});
  std::string with_foreign = s.substr(0, s.rfind(']')) + "," +
                             DescriptorJson(foreign, R"(,"urls":["https://example.com/l"])") + "]}";
  HttpResponse r = PutManifest("org/app", "win", with_foreign);
  EXPECT_EQ(r.status, 201) << r.body;
}

TEST_F(ManifestApiWithImage, IndexNeedsItsChildManifestsInTheRepository) {
  std::string child = ImageManifest(config_, {layer_});
  std::string index = std::string(R"({"schemaVersion":2,"mediaType":")") + std::string(oci::kOciIndex) +
                      R"(","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                      DigestOf(child) + R"(","size":)" + std::to_string(child.size()) +
                      R"(,"platform":{"architecture":"amd64","os":"linux"}}]})";
  HttpResponse r = PutManifest("org/app", "multi", index, std::string(oci::kOciIndex));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.ErrorCode(), "MANIFEST_BLOB_UNKNOWN");
  ASSERT_EQ(PutManifest("org/app", DigestOf(child), child).status, 201);
  r = PutManifest("org/app", "multi", index, std::string(oci::kOciIndex));
  EXPECT_EQ(r.status, 201) << r.body;
  HttpResponse get = Do("GET", "/v2/org/app/manifests/multi", {{"Accept", std::string(oci::kOciIndex)}});
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.Header("Content-Type"), oci::kOciIndex);
  EXPECT_EQ(get.body, index);
}

TEST_F(ManifestApiWithImage, PushByDigestMustMatch) {
  std::string body = ImageManifest(config_, {layer_});
  HttpResponse wrong = PutManifest("org/app", DigestOf("not it"), body);
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(wrong.ErrorCode(), "DIGEST_INVALID");
  HttpResponse bad = PutManifest("org/app", "sha256:1234", body);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.ErrorCode(), "DIGEST_INVALID");
  HttpResponse ok = PutManifest("org/app", DigestOf(body) + "?tag=a&tag=b", body);
  EXPECT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(Do("GET", "/v2/org/app/manifests/a").body, body);
  EXPECT_EQ(Do("GET", "/v2/org/app/manifests/b").body, body);
}

TEST_F(ManifestApiWithImage, Sha512ManifestDigest) {
  std::string body = ImageManifest(config_, {layer_});
  Hasher h(HashAlgorithm::kSha512);
  h.Update(std::string_view(body));
  std::string digest = oci::Digest::FromHash(HashAlgorithm::kSha512, h.Finish()).str();
  HttpResponse r = PutManifest("org/app", digest, body);
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Header("Docker-Content-Digest"), digest);
  HttpResponse get = Do("GET", "/v2/org/app/manifests/" + digest);
  EXPECT_EQ(get.body, body);
  EXPECT_EQ(get.Header("Docker-Content-Digest"), digest);
}

TEST_F(ManifestApiWithImage, InvalidTagsAreRejected) {
  std::string body = ImageManifest(config_, {layer_});
  for (const std::string& tag : {std::string("-lead"), std::string(129, 'a'), std::string(".dot")}) {
    HttpResponse r = PutManifest("org/app", tag, body);
    EXPECT_EQ(r.status, 400) << tag;
    EXPECT_EQ(r.ErrorCode(), "MANIFEST_INVALID") << tag;
  }
  HttpResponse q = PutManifest("org/app", DigestOf(body) + "?tag=-bad", body);
  EXPECT_EQ(q.status, 400);
  EXPECT_EQ(q.ErrorCode(), "MANIFEST_INVALID");
}

TEST_F(ManifestApi, OversizedManifestIs413) {
  std::string big = R"({"schemaVersion":2,"annotations":{"x":")" + std::string(4 * 1024 * 1024, 'a') + "\"}}";
  HttpResponse r = PutManifest("r", "big", big);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.ErrorCode(), "MANIFEST_INVALID");
}

TEST_F(ManifestApi, MalformedManifestsAre400ManifestInvalid) {
  Blob config = MakeBlob("{}", std::string(oci::kOciConfig));
  PushBlob("r", config);
  struct Case {
    const char* what;
    std::string body;
    std::string content_type;
  };
  const Case cases[] = {
      {"not json", "this is not json", std::string(oci::kOciManifest)},
      {"truncated", R"({"schemaVersion":2,"config":)", std::string(oci::kOciManifest)},
      {"schema 1", R"({"schemaVersion":1,"name":"r","tag":"t","fsLayers":[],"history":[]})",
       std::string(oci::kDockerSchema1Signed)},
      {"schemaVersion 3", R"({"schemaVersion":3,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
                              DescriptorJson(config) + R"(,"layers":[]})",
       std::string(oci::kOciManifest)},
      {"unknown media type", R"({"schemaVersion":2,"mediaType":"application/vnd.example.thing+json"})",
       "application/vnd.example.thing+json"},
      {"type contradicts Content-Type",
       R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":)" +
           DescriptorJson(config) + R"(,"layers":[]})",
       std::string(oci::kOciManifest)},
      {"bad config digest",
       R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:zz","size":2},"layers":[]})",
       std::string(oci::kOciManifest)},
      {"array", "[]", std::string(oci::kOciManifest)},
  };
  for (const Case& c : cases) {
    HttpResponse r = PutManifest("r", "t", c.body, c.content_type);
    EXPECT_EQ(r.status, 400) << c.what << ": " << r.body;
    EXPECT_TRUE(r.ErrorCode() == "MANIFEST_INVALID" || r.ErrorCode() == "DIGEST_INVALID")
        << c.what << ": " << r.body;
  }
  EXPECT_EQ(Do("GET", "/v2/r/manifests/t").status, 404);
}

TEST_F(ManifestApi, UnknownManifestsAre404) {
  HttpResponse r = Do("GET", "/v2/r/manifests/latest");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.ErrorCode(), "MANIFEST_UNKNOWN");
  r = Do("GET", "/v2/r/manifests/" + DigestOf("nothing"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.ErrorCode(), "MANIFEST_UNKNOWN");
  r = Do("HEAD", "/v2/r/manifests/latest");
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(r.body.empty());
  r = Do("GET", "/v2/r/manifests/-not-a-tag");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.ErrorCode(), "MANIFEST_UNKNOWN");
  r = Do("GET", "/v2/r/manifests/sha256:tooshort");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.ErrorCode(), "DIGEST_INVALID");
}

TEST_F(ManifestApiWithImage, ContentNegotiation) {
  std::string oci_body = ImageManifest(config_, {layer_});
  ASSERT_EQ(PutManifest("org/app", "oci", oci_body).status, 201);
  std::string docker_body = std::string(R"({"schemaVersion":2,"mediaType":")") +
                            std::string(oci::kDockerManifest) + R"(","config":)" +
                            DescriptorJson(config_) + R"(,"layers":[)" + DescriptorJson(layer_) + "]}";
  ASSERT_EQ(PutManifest("org/app", "docker", docker_body, std::string(oci::kDockerManifest)).status, 201);

  const std::string docker_only = std::string(oci::kDockerManifest) + ", " + std::string(oci::kDockerManifestList);
  const std::string both = docker_only + ", " + std::string(oci::kOciManifest) + ", " + std::string(oci::kOciIndex);
  struct Case {
    const char* tag;
    std::optional<std::string> accept;
    int status;
  };
  const Case cases[] = {
      {"oci", std::nullopt, 200},                // curl: no Accept at all
      {"oci", std::string("*/*"), 200},
      {"oci", both, 200},                        // what Docker and containerd send
      {"oci", std::string(oci::kOciManifest) + ";q=0.5", 200},
      {"oci", docker_only, 404},                 // a client that cannot read OCI types
      {"oci", std::string(oci::kOciIndex), 404},
      {"docker", docker_only, 200},
      {"docker", std::string(oci::kOciManifest), 200},  // nothing to convert it to: served
      {"docker", std::nullopt, 200},
  };
  for (const Case& c : cases) {
    HeaderList h;
    if (c.accept) h.emplace_back("Accept", *c.accept);
    HttpResponse r = Do("GET", std::string("/v2/org/app/manifests/") + c.tag, h);
    EXPECT_EQ(r.status, c.status) << c.tag << " Accept: " << c.accept.value_or("(none)");
    if (c.status == 404) {
      EXPECT_EQ(r.ErrorCode(), "MANIFEST_UNKNOWN");
    }
  }
  // Several Accept header lines are one list.
  HttpResponse multi = Do("GET", "/v2/org/app/manifests/oci",
                          {{"Accept", std::string(oci::kDockerManifest)},
                           {"Accept", std::string(oci::kOciManifest)}});
  EXPECT_EQ(multi.status, 200);
  EXPECT_EQ(Do("GET", "/v2/org/app/manifests/docker").Header("Content-Type"), oci::kDockerManifest);
}

TEST_F(ManifestApiWithImage, IfNoneMatchGives304) {
  std::string body = ImageManifest(config_, {layer_});
  ASSERT_EQ(PutManifest("org/app", "v1", body).status, 201);
  HttpResponse r = Do("GET", "/v2/org/app/manifests/v1", {{"If-None-Match", "\"" + DigestOf(body) + "\""}});
  EXPECT_EQ(r.status, 304);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.Header("Docker-Content-Digest"), DigestOf(body));
}

TEST_F(ManifestApiWithImage, TagsMoveToTheLatestPush) {
  std::string one = ImageManifest(config_, {layer_});
  std::string two = ImageManifest(config_, {layer_}, R"(,"annotations":{"v":"2"})");
  ASSERT_EQ(PutManifest("org/app", "latest", one).status, 201);
  ASSERT_EQ(PutManifest("org/app", "latest", two).status, 201);
  EXPECT_EQ(Do("GET", "/v2/org/app/manifests/latest").body, two);
  EXPECT_EQ(Do("GET", "/v2/org/app/manifests/" + DigestOf(one)).body, one);
}

TEST_F(ManifestApiWithImage, DeletesAreDisabledByDefault) {
  std::string body = ImageManifest(config_, {layer_});
  ASSERT_EQ(PutManifest("org/app", "v1", body).status, 201);
  for (const std::string& ref : {std::string("v1"), DigestOf(body)}) {
    HttpResponse r = Do("DELETE", "/v2/org/app/manifests/" + ref);
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(r.ErrorCode(), "UNSUPPORTED");
  }
  EXPECT_EQ(Do("GET", "/v2/org/app/manifests/v1").status, 200);
}

TEST_F(ManifestApiWithImage, DeleteByDigestRemovesEveryTagPointingAtIt) {
  DistributionApiOptions o;
  o.delete_enabled = true;
  Start(o);
  std::string body = ImageManifest(config_, {layer_});
  std::string other = ImageManifest(config_, {layer_}, R"(,"annotations":{"o":"1"})");
  ASSERT_EQ(PutManifest("org/app", DigestOf(body) + "?tag=a&tag=b", body).status, 201);
  ASSERT_EQ(PutManifest("org/app", "c", other).status, 201);
  EXPECT_EQ(Do("DELETE", "/v2/org/app/manifests/" + DigestOf(body)).status, 202);
  for (const std::string& ref : {std::string("a"), std::string("b"), DigestOf(body)}) {
    HttpResponse r = Do("GET", "/v2/org/app/manifests/" + ref);
    EXPECT_EQ(r.status, 404) << ref;
    EXPECT_EQ(r.ErrorCode(), "MANIFEST_UNKNOWN") << ref;
  }
  EXPECT_EQ(Do("GET", "/v2/org/app/manifests/c").status, 200);
  HttpResponse again = Do("DELETE", "/v2/org/app/manifests/" + DigestOf(body));
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(again.ErrorCode(), "MANIFEST_UNKNOWN");
}

TEST_F(ManifestApiWithImage, DeleteTagKeepsTheManifest) {
  DistributionApiOptions o;
  o.delete_enabled = true;
  Start(o);
  std::string body = ImageManifest(config_, {layer_});
  ASSERT_EQ(PutManifest("org/app", "v1", body).status, 201);
  EXPECT_EQ(Do("DELETE", "/v2/org/app/manifests/v1").status, 202);
  EXPECT_EQ(Do("GET", "/v2/org/app/manifests/v1").status, 404);
  EXPECT_EQ(Do("GET", "/v2/org/app/manifests/" + DigestOf(body)).status, 200);
  HttpResponse again = Do("DELETE", "/v2/org/app/manifests/v1");
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(again.ErrorCode(), "MANIFEST_UNKNOWN");
  HttpResponse bad = Do("DELETE", "/v2/org/app/manifests/sha256:zzz");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.ErrorCode(), "DIGEST_INVALID");
}

}  // namespace
}  // namespace atcr::registry::testing
