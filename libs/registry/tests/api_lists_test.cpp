// Tag lists, the catalog and the referrers API over a real server.
#include "api_fixture.h"

namespace atcr::registry::testing {
namespace {

class ListApi : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    config_ = MakeBlob("{}", std::string(oci::kOciConfig));
    layer_ = MakeBlob("layer");
  }
  // Pushes one manifest carrying all `tags` into repo.
  void Tag(const std::string& repo, const std::vector<std::string>& tags) {
    PushBlob(repo, config_);
    PushBlob(repo, layer_);
    std::string body = ImageManifest(config_, {layer_});
    for (const std::string& t : tags) ASSERT_EQ(PutManifest(repo, t, body).status, 201);
  }
  Blob config_, layer_;
};

TEST_F(ListApi, TagsAreSortedInByteOrder) {
  Tag("org/app", {"v2", "latest", "V1", "v10", "1.0"});
  HttpResponse r = Do("GET", "/v2/org/app/tags/list");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"name":"org/app","tags":["1.0","V1","latest","v10","v2"]})");
  EXPECT_FALSE(r.Header("Link").has_value());
}

TEST_F(ListApi, TagsPaginateWithNAndLast) {
  Tag("r", {"a", "b", "c", "d", "e"});
  HttpResponse p1 = Do("GET", "/v2/r/tags/list?n=2");
  EXPECT_EQ(p1.body, R"({"name":"r","tags":["a","b"]})");
  EXPECT_EQ(p1.Header("Link"), R"(</v2/r/tags/list?last=b&n=2>; rel="next")");
  HttpResponse p2 = Do("GET", "/v2/r/tags/list?last=b&n=2");
  EXPECT_EQ(p2.body, R"({"name":"r","tags":["c","d"]})");
  EXPECT_EQ(p2.Header("Link"), R"(</v2/r/tags/list?last=d&n=2>; rel="next")");
  HttpResponse p3 = Do("GET", "/v2/r/tags/list?last=d&n=2");
  EXPECT_EQ(p3.body, R"({"name":"r","tags":["e"]})");
  EXPECT_FALSE(p3.Header("Link").has_value());
  // Exactly n left: no Link, since nothing follows.
  HttpResponse exact = Do("GET", "/v2/r/tags/list?last=c&n=2");
  EXPECT_EQ(exact.body, R"({"name":"r","tags":["d","e"]})");
  EXPECT_FALSE(exact.Header("Link").has_value());
  EXPECT_EQ(Do("GET", "/v2/r/tags/list?last=b").body, R"({"name":"r","tags":["c","d","e"]})");
  EXPECT_EQ(Do("GET", "/v2/r/tags/list?last=zzz").body, R"({"name":"r","tags":[]})");
  HttpResponse zero = Do("GET", "/v2/r/tags/list?n=0");
  EXPECT_EQ(zero.status, 200);
  EXPECT_EQ(zero.body, R"({"name":"r","tags":[]})");
  EXPECT_FALSE(zero.Header("Link").has_value());
}

TEST_F(ListApi, BadPaginationNumbersAre400) {
  Tag("r", {"a"});
  for (const char* n : {"-1", "abc", "1.5", "", "99999999999999999999999"}) {
    HttpResponse r = Do("GET", std::string("/v2/r/tags/list?n=") + n);
    EXPECT_EQ(r.status, 400) << n;
    EXPECT_EQ(r.ErrorCode(), "PAGINATION_NUMBER_INVALID") << n;
  }
  EXPECT_EQ(Do("GET", "/v2/_catalog?n=x").ErrorCode(), "PAGINATION_NUMBER_INVALID");
}

TEST_F(ListApi, UnknownRepositoryIs404NameUnknown) {
  HttpResponse r = Do("GET", "/v2/nope/tags/list");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.ErrorCode(), "NAME_UNKNOWN");
  // A repository with blobs but no tags exists.
  PushBlob("blobs-only", layer_);
  EXPECT_EQ(Do("GET", "/v2/blobs-only/tags/list").body, R"({"name":"blobs-only","tags":[]})");
}

TEST_F(ListApi, CatalogListsRepositoriesWithPagination) {
  Tag("b", {"t"});
  Tag("a/y", {"t"});
  Tag("a", {"t"});
  Tag("a/x", {"t"});
  HttpResponse all = Do("GET", "/v2/_catalog");
  EXPECT_EQ(all.status, 200);
  EXPECT_EQ(all.body, R"({"repositories":["a","a/x","a/y","b"]})");
  HttpResponse p1 = Do("GET", "/v2/_catalog?n=2");
  EXPECT_EQ(p1.body, R"({"repositories":["a","a/x"]})");
  EXPECT_EQ(p1.Header("Link"), R"(</v2/_catalog?last=a%2Fx&n=2>; rel="next")");
  HttpResponse p2 = Do("GET", "/v2/_catalog?n=2&last=a%2Fx");
  EXPECT_EQ(p2.body, R"({"repositories":["a/y","b"]})");
  EXPECT_FALSE(p2.Header("Link").has_value());
  EXPECT_EQ(Do("GET", "/v2/_catalog?n=0").body, R"({"repositories":[]})");
}

TEST_F(ListApi, CatalogPaginatesUnasked) {
  DistributionApiOptions o;
  o.catalog_page = 2;
  Start(o);
  Tag("a", {"t"});
  Tag("b", {"t"});
  Tag("c", {"t"});
  HttpResponse r = Do("GET", "/v2/_catalog");
  EXPECT_EQ(r.body, R"({"repositories":["a","b"]})");
  EXPECT_EQ(r.Header("Link"), R"(</v2/_catalog?last=b&n=2>; rel="next")");
}

class ReferrersApi : public ListApi {
 protected:
  void SetUp() override {
    ListApi::SetUp();
    PushBlob("r", config_);
    PushBlob("r", layer_);
    subject_ = ImageManifest(config_, {layer_});
    ASSERT_EQ(PutManifest("r", "v1", subject_).status, 201);
    empty_ = MakeBlob("{}", std::string(oci::kOciEmpty));
    PushBlob("r", empty_);
  }
  std::string Artifact(const std::string& artifact_type, const std::string& note) {
    return ImageManifest(empty_, {layer_},
                         R"(,"artifactType":")" + artifact_type + R"(")" + SubjectJson(subject_) +
                             R"(,"annotations":{"note":")" + note + R"("})");
  }
  std::string subject_;
  Blob empty_;
};

TEST_F(ReferrersApi, ListsManifestsWhoseSubjectIsTheDigest) {
  std::string sig = Artifact("application/vnd.example.sig", "signed");
  std::string sbom = Artifact("application/vnd.example.sbom", "sbom");
  HttpResponse put = PutManifest("r", DigestOf(sig), sig);
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(put.Header("OCI-Subject"), DigestOf(subject_));
  ASSERT_EQ(PutManifest("r", DigestOf(sbom), sbom).status, 201);
  // An image manifest with a subject but no artifactType: config.mediaType stands in.
  std::string plain = ImageManifest(config_, {layer_}, SubjectJson(subject_));
  ASSERT_EQ(PutManifest("r", DigestOf(plain), plain).status, 201);

  HttpResponse r = Do("GET", "/v2/r/referrers/" + DigestOf(subject_));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Type"), oci::kOciIndex);
  EXPECT_FALSE(r.Header("OCI-Filters-Applied").has_value());
  EXPECT_TRUE(r.body.starts_with(
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)"))
      << r.body;
  for (const std::string* m : {&sig, &sbom, &plain}) {
    EXPECT_NE(r.body.find(DigestOf(*m)), std::string::npos);
  }
  std::string sig_entry = R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                          DigestOf(sig) + R"(","size":)" + std::to_string(sig.size()) +
                          R"(,"artifactType":"application/vnd.example.sig","annotations":{"note":"signed"}})";
  EXPECT_NE(r.body.find(sig_entry), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("artifactType":"application/vnd.oci.image.config.v1+json")"),
            std::string::npos);

  HttpResponse filtered =
      Do("GET", "/v2/r/referrers/" + DigestOf(subject_) + "?artifactType=application/vnd.example.sbom");
  EXPECT_EQ(filtered.status, 200);
  EXPECT_EQ(filtered.Header("OCI-Filters-Applied"), "artifactType");
  EXPECT_NE(filtered.body.find(DigestOf(sbom)), std::string::npos);
  EXPECT_EQ(filtered.body.find(DigestOf(sig)), std::string::npos);
}

TEST_F(ReferrersApi, NoReferrersIsAnEmptyIndexNever404) {
  for (const std::string& repo : {std::string("r"), std::string("unknown/repo")}) {
    HttpResponse r = Do("GET", "/v2/" + repo + "/referrers/" + DigestOf("no such subject"));
    EXPECT_EQ(r.status, 200) << repo;
    EXPECT_EQ(r.body,
              R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})");
  }
  HttpResponse filtered = Do("GET", "/v2/r/referrers/" + DigestOf(subject_) + "?artifactType=x%2Fy");
  EXPECT_EQ(filtered.Header("OCI-Filters-Applied"), "artifactType");
  EXPECT_NE(filtered.body.find(R"("manifests":[])"), std::string::npos);
}

TEST_F(ReferrersApi, BadDigestIs400) {
  HttpResponse r = Do("GET", "/v2/r/referrers/sha256:nothex");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.ErrorCode(), "DIGEST_INVALID");
}

TEST_F(ReferrersApi, DeletedReferrersDisappear) {
  DistributionApiOptions o;
  o.delete_enabled = true;
  Start(o);
  std::string sig = Artifact("application/vnd.example.sig", "x");
  ASSERT_EQ(PutManifest("r", DigestOf(sig), sig).status, 201);
  ASSERT_EQ(Do("DELETE", "/v2/r/manifests/" + DigestOf(sig)).status, 202);
  HttpResponse r = Do("GET", "/v2/r/referrers/" + DigestOf(subject_));
  EXPECT_EQ(r.body.find(DigestOf(sig)), std::string::npos);
}

}  // namespace
}  // namespace atcr::registry::testing
