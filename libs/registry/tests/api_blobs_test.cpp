// Blob reads and deletes over a real server.
#include "api_fixture.h"

namespace atcr::registry::testing {
namespace {

using BlobApi = ApiTest;

TEST_F(BlobApi, GetAndHeadServeExactBytesWithHeaders) {
  Blob b = MakeBlob("0123456789");
  PushBlob("org/app", b);
  HttpResponse get = Do("GET", "/v2/org/app/blobs/" + b.digest);
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, b.data);
  EXPECT_EQ(get.Header("Docker-Content-Digest"), b.digest);
  EXPECT_EQ(get.Header("ETag"), "\"" + b.digest + "\"");
  EXPECT_EQ(get.Header("Accept-Ranges"), "bytes");
  EXPECT_EQ(get.Header("Content-Length"), "10");
  EXPECT_EQ(get.Header("Docker-Distribution-API-Version"), "registry/2.0");

  HttpResponse head = Do("HEAD", "/v2/org/app/blobs/" + b.digest);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("Content-Length"), "10");
  EXPECT_EQ(head.Header("Docker-Content-Digest"), b.digest);
  EXPECT_TRUE(head.body.empty());
}

TEST_F(BlobApi, RangeRequests) {
  Blob b = MakeBlob("0123456789");
  PushBlob("r", b);
  std::string url = "/v2/r/blobs/" + b.digest;
  struct Case {
    const char* range;
    int status;
    const char* body;
    const char* content_range;
  };
  const Case cases[] = {
      {"bytes=2-5", 206, "2345", "bytes 2-5/10"},
      {"bytes=7-", 206, "789", "bytes 7-9/10"},
      {"bytes=-3", 206, "789", "bytes 7-9/10"},
      {"bytes=0-0", 206, "0", "bytes 0-0/10"},
      {"bytes=8-100", 206, "89", "bytes 8-9/10"},
      {"bytes=0-1,4-5", 200, "0123456789", nullptr},  // several ranges: the whole blob
      {"lines=1-2", 200, "0123456789", nullptr},
  };
  for (const Case& c : cases) {
    HttpResponse r = Do("GET", url, {{"Range", c.range}});
    EXPECT_EQ(r.status, c.status) << c.range;
    EXPECT_EQ(r.body, c.body) << c.range;
    if (c.content_range) {
      EXPECT_EQ(r.Header("Content-Range"), c.content_range) << c.range;
    }
  }
  HttpResponse bad = Do("GET", url, {{"Range", "bytes=10-"}});
  EXPECT_EQ(bad.status, 416);
  EXPECT_EQ(bad.Header("Content-Range"), "bytes */10");
}

TEST_F(BlobApi, IfNoneMatchGives304) {
  Blob b = MakeBlob("cached");
  PushBlob("r", b);
  HttpResponse r = Do("GET", "/v2/r/blobs/" + b.digest, {{"If-None-Match", "\"" + b.digest + "\""}});
  EXPECT_EQ(r.status, 304);
  EXPECT_TRUE(r.body.empty());
  r = Do("GET", "/v2/r/blobs/" + b.digest, {{"If-None-Match", "\"sha256:other\""}});
  EXPECT_EQ(r.status, 200);
}

TEST_F(BlobApi, BlobsAreUnknownInOtherRepositories) {
  Blob b = MakeBlob("private");
  PushBlob("a", b);
  HttpResponse r = Do("GET", "/v2/b/blobs/" + b.digest);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.ErrorCode(), "BLOB_UNKNOWN");
  r = Do("HEAD", "/v2/b/blobs/" + b.digest);
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(r.body.empty());
  r = Do("GET", "/v2/a/blobs/" + DigestOf("never pushed"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.ErrorCode(), "BLOB_UNKNOWN");
}

TEST_F(BlobApi, MalformedDigestsAre400) {
  for (const char* d : {"sha256:xyz", "sha256:" "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789",
                        "sha256", "nocolon", "sha256:abc", ":abc", "SHA256:abc"}) {
    HttpResponse r = Do("GET", std::string("/v2/r/blobs/") + d);
    EXPECT_EQ(r.status, 400) << d;
    EXPECT_EQ(r.ErrorCode(), "DIGEST_INVALID") << d;
  }
}

TEST_F(BlobApi, DeletesAreDisabledByDefault) {
  Blob b = MakeBlob("keep me");
  PushBlob("r", b);
  HttpResponse r = Do("DELETE", "/v2/r/blobs/" + b.digest);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.ErrorCode(), "UNSUPPORTED");
  EXPECT_EQ(Do("GET", "/v2/r/blobs/" + b.digest).status, 200);
}

TEST_F(BlobApi, DeleteUnlinksFromTheRepository) {
  DistributionApiOptions o;
  o.delete_enabled = true;
  Start(o);
  Blob b = MakeBlob("delete me");
  PushBlob("r", b);
  PushBlob("s", b);
  EXPECT_EQ(Do("DELETE", "/v2/r/blobs/" + b.digest).status, 202);
  EXPECT_EQ(Do("GET", "/v2/r/blobs/" + b.digest).status, 404);
  EXPECT_EQ(Do("GET", "/v2/s/blobs/" + b.digest).status, 200);
  HttpResponse again = Do("DELETE", "/v2/r/blobs/" + b.digest);
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(again.ErrorCode(), "BLOB_UNKNOWN");
  HttpResponse bad = Do("DELETE", "/v2/r/blobs/sha256:nope");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.ErrorCode(), "DIGEST_INVALID");
}

TEST(BlobRedirect, AnsweredWith307WhenTheStoreGivesAUrl) {
  TempDir dir;
  std::shared_ptr<storage::BlobStore> content =
      std::make_shared<MemContentStore>("https://cdn.example/blobs/");
  TestRegistry reg(dir.path(), {}, &content);
  Blob b = MakeBlob("far away");
  ASSERT_EQ(reg.client().Do("POST", "/v2/r/blobs/uploads/?digest=" + b.digest, {}, b.data).status,
            201);
  HttpResponse get = reg.client().Do("GET", "/v2/r/blobs/" + b.digest);
  EXPECT_EQ(get.status, 307);
  EXPECT_EQ(get.Header("Location"), "https://cdn.example/blobs/" + b.digest);
  EXPECT_EQ(get.Header("Docker-Content-Digest"), b.digest);
  HttpResponse head = reg.client().Do("HEAD", "/v2/r/blobs/" + b.digest);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("Content-Length"), std::to_string(b.data.size()));
  // Still per repository.
  EXPECT_EQ(reg.client().Do("GET", "/v2/other/blobs/" + b.digest).status, 404);
}

}  // namespace
}  // namespace atcr::registry::testing
