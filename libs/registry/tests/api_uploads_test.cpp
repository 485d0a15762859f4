// Upload sessions over a real server: monolithic, chunked, streamed, resumed, mounted.
#include <thread>

#include "api_fixture.h"

namespace atcr::registry::testing {
namespace {

using UploadApi = ApiTest;

std::string Start202(const ApiTest& t, const HttpResponse& r) {
  (void)t;
  EXPECT_EQ(r.status, 202) << r.body;
  EXPECT_TRUE(r.Header("Docker-Upload-UUID").has_value());
  return r.Header("Location").value_or("");
}

TEST_F(UploadApi, MonolithicPostCreatesTheBlob) {
  Blob b = MakeBlob("monolithic");
  HttpResponse r = Do("POST", "/v2/r/blobs/uploads/?digest=" + b.digest, {}, b.data);
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.Header("Location"), "/v2/r/blobs/" + b.digest);
  EXPECT_EQ(r.Header("Docker-Content-Digest"), b.digest);
  EXPECT_EQ(Do("GET", "/v2/r/blobs/" + b.digest).body, b.data);
}

TEST_F(UploadApi, MonolithicPostWithWrongDigestIs400) {
  HttpResponse r = Do("POST", "/v2/r/blobs/uploads/?digest=" + DigestOf("other"), {}, "data");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.ErrorCode(), "DIGEST_INVALID");
  EXPECT_EQ(Do("GET", "/v2/r/blobs/" + DigestOf("data")).status, 404);
  EXPECT_EQ(Do("GET", "/v2/r/blobs/" + DigestOf("other")).status, 404);
}

TEST_F(UploadApi, EmptyPostOpensASession) {
  HttpResponse r = Do("POST", "/v2/org/app/blobs/uploads/");
  std::string loc = Start202(*this, r);
  EXPECT_EQ(loc, "/v2/org/app/blobs/uploads/" + *r.Header("Docker-Upload-UUID"));
  EXPECT_EQ(r.Header("Range"), "0-0");
  EXPECT_EQ(r.Header("Content-Length"), "0");

  HttpResponse status = Do("GET", loc);
  EXPECT_EQ(status.status, 204);
  EXPECT_EQ(status.Header("Range"), "0-0");
  EXPECT_EQ(status.Header("Location"), loc);
}

TEST_F(UploadApi, PostThenPutWithTheWholeBody) {
  Blob b = MakeBlob("post then put");
  std::string loc = Start202(*this, Do("POST", "/v2/r/blobs/uploads/"));
  HttpResponse r = Do("PUT", loc + "?digest=" + b.digest,
                      {{"Content-Type", "application/octet-stream"}}, b.data);
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Header("Location"), "/v2/r/blobs/" + b.digest);
  EXPECT_EQ(Do("GET", "/v2/r/blobs/" + b.digest).body, b.data);
  // The session is over.
  HttpResponse gone = Do("GET", loc);
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(gone.ErrorCode(), "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(UploadApi, ChunksInOrderWithContentRange) {
  Blob b = MakeBlob("0123456789abcdef");
  std::string loc = Start202(*this, Do("POST", "/v2/r/blobs/uploads/"));
  HttpResponse p1 = Do("PATCH", loc, {{"Content-Range", "0-9"}}, b.data.substr(0, 10));
  EXPECT_EQ(p1.status, 202) << p1.body;
  EXPECT_EQ(p1.Header("Range"), "0-9");
  EXPECT_EQ(p1.Header("Location"), loc);
  HttpResponse p2 = Do("PATCH", loc, {{"Content-Range", "10-13"}}, b.data.substr(10, 4));
  EXPECT_EQ(p2.status, 202) << p2.body;
  EXPECT_EQ(p2.Header("Range"), "0-13");
  // The closing PUT carries the last chunk.
  HttpResponse put = Do("PUT", loc + "?digest=" + b.digest, {{"Content-Range", "14-15"}},
                        b.data.substr(14));
  EXPECT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(Do("GET", "/v2/r/blobs/" + b.digest).body, b.data);
}

TEST_F(UploadApi, StreamedPatchWithoutContentRange) {
  std::string data(300000, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  Blob b = MakeBlob(data);
  std::string loc = Start202(*this, Do("POST", "/v2/r/blobs/uploads/"));
  HttpResponse p = client().DoChunked("PATCH", loc, {}, data, 4093);
  EXPECT_EQ(p.status, 202) << p.body;
  EXPECT_EQ(p.Header("Range"), "0-" + std::to_string(data.size() - 1));
  HttpResponse put = Do("PUT", loc + "?digest=" + b.digest);
  EXPECT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(Do("GET", "/v2/r/blobs/" + b.digest).body, data);
}

TEST_F(UploadApi, OutOfOrderChunkIs416WithTheCurrentRange) {
  std::string loc = Start202(*this, Do("POST", "/v2/r/blobs/uploads/"));
  ASSERT_EQ(Do("PATCH", loc, {{"Content-Range", "0-4"}}, "01234").status, 202);
  const std::pair<const char*, size_t> chunks[] = {{"0-4", 5}, {"6-9", 4}, {"3-7", 5}};
  for (const auto& [range, len] : chunks) {
    HttpResponse r = Do("PATCH", loc, {{"Content-Range", range}}, std::string(len, 'z'));
    EXPECT_EQ(r.status, 416) << range;
    EXPECT_EQ(r.ErrorCode(), "RANGE_INVALID") << range;
    EXPECT_EQ(r.Header("Range"), "0-4") << range;
    EXPECT_EQ(r.Header("Location"), loc) << range;
  }
  HttpResponse ok = Do("PATCH", loc, {{"Content-Range", "5-6"}}, "56");
  EXPECT_EQ(ok.status, 202);
  EXPECT_EQ(ok.Header("Range"), "0-6");
}

TEST_F(UploadApi, MalformedContentRangeIs416) {
  std::string loc = Start202(*this, Do("POST", "/v2/r/blobs/uploads/"));
  for (const char* range : {"abc", "5", "4-2", "-3", "0-x"}) {
    HttpResponse r = Do("PATCH", loc, {{"Content-Range", range}}, "abc");
    EXPECT_EQ(r.status, 416) << range;
    EXPECT_EQ(r.ErrorCode(), "RANGE_INVALID") << range;
    EXPECT_EQ(r.Header("Range"), "0-0") << range;
  }
}

TEST_F(UploadApi, ContentLengthThatContradictsContentRangeIs400) {
  std::string loc = Start202(*this, Do("POST", "/v2/r/blobs/uploads/"));
  HttpResponse r = Do("PATCH", loc, {{"Content-Range", "0-9"}}, "only five");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.ErrorCode(), "SIZE_INVALID");
  EXPECT_EQ(Do("GET", loc).Header("Range"), "0-0");
}

TEST_F(UploadApi, MalformedChunkedBodyIs400) {
  std::string loc = Start202(*this, Do("POST", "/v2/r/blobs/uploads/"));
  std::string req = TestClient::Head("PATCH", loc, {{"Transfer-Encoding", "chunked"}}) +
                    "\r\n5\r\nabcde\r\nzz-not-hex\r\n";
  HttpResponse r = client().Exchange(req, false);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.ErrorCode(), "BLOB_UPLOAD_INVALID");
}

TEST_F(UploadApi, ClosingPutNeedsAMatchingDigest) {
  Blob b = MakeBlob("closing");
  std::string loc = Start202(*this, Do("POST", "/v2/r/blobs/uploads/"));
  ASSERT_EQ(Do("PATCH", loc, {}, b.data).status, 202);

  HttpResponse missing = Do("PUT", loc);
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.ErrorCode(), "DIGEST_INVALID");
  HttpResponse malformed = Do("PUT", loc + "?digest=sha256:1234");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(malformed.ErrorCode(), "DIGEST_INVALID");
  HttpResponse unsupported = Do("PUT", loc + "?digest=md5:d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(unsupported.status, 400);
  EXPECT_EQ(unsupported.ErrorCode(), "DIGEST_INVALID");
  HttpResponse wrong = Do("PUT", loc + "?digest=" + DigestOf("something else"));
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(wrong.ErrorCode(), "DIGEST_INVALID");
  // The session survives a wrong digest: the right one still completes it.
  HttpResponse right = Do("PUT", loc + "?digest=" + b.digest);
  EXPECT_EQ(right.status, 201) << right.body;
}

TEST_F(UploadApi, UnknownUploadsAre404) {
  std::string loc = "/v2/r/blobs/uploads/0123456789abcdef0123456789abcdef";
  for (const char* method : {"PATCH", "GET", "DELETE"}) {
    HttpResponse r = Do(method, loc);
    EXPECT_EQ(r.status, 404) << method;
    EXPECT_EQ(r.ErrorCode(), "BLOB_UPLOAD_UNKNOWN") << method;
  }
  HttpResponse put = Do("PUT", loc + "?digest=" + DigestOf(""));
  EXPECT_EQ(put.status, 404);
  EXPECT_EQ(put.ErrorCode(), "BLOB_UPLOAD_UNKNOWN");
  // A session is only valid in the repository that opened it.
  std::string other = Start202(*this, Do("POST", "/v2/a/blobs/uploads/"));
  std::string id = other.substr(other.rfind('/') + 1);
  EXPECT_EQ(Do("GET", "/v2/b/blobs/uploads/" + id).status, 404);
}

TEST_F(UploadApi, CancelledUploadIsGone) {
  std::string loc = Start202(*this, Do("POST", "/v2/r/blobs/uploads/"));
  ASSERT_EQ(Do("PATCH", loc, {}, "abc").status, 202);
  EXPECT_EQ(Do("DELETE", loc).status, 204);
  HttpResponse r = Do("PATCH", loc, {}, "def");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.ErrorCode(), "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(UploadApi, MalformedDigestOnPostIs400) {
  for (const char* d : {"sha256:zz", "sha256:", "sha999:abc", "md5:d41d8cd98f00b204e9800998ecf8427e"}) {
    HttpResponse r = Do("POST", std::string("/v2/r/blobs/uploads/?digest=") + d, {}, "x");
    EXPECT_EQ(r.status, 400) << d;
    EXPECT_EQ(r.ErrorCode(), "DIGEST_INVALID") << d;
  }
  HttpResponse alg = Do("POST", "/v2/r/blobs/uploads/?digest-algorithm=md5");
  EXPECT_EQ(alg.status, 400);
  EXPECT_EQ(alg.ErrorCode(), "DIGEST_INVALID");
  EXPECT_EQ(Do("POST", "/v2/r/blobs/uploads/?digest-algorithm=sha256").status, 202);
}

TEST_F(UploadApi, Sha512Blob) {
  std::string data = "sha512 content";
  Hasher h(HashAlgorithm::kSha512);
  h.Update(std::string_view(data));
  std::string digest = oci::Digest::FromHash(HashAlgorithm::kSha512, h.Finish()).str();
  HttpResponse r = Do("POST", "/v2/r/blobs/uploads/?digest=" + digest, {}, data);
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(Do("GET", "/v2/r/blobs/" + digest).body, data);
}

TEST_F(UploadApi, MountFromAnotherRepository) {
  Blob b = MakeBlob("shared layer");
  PushBlob("src", b);
  HttpResponse r = Do("POST", "/v2/dst/blobs/uploads/?mount=" + b.digest + "&from=src");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.Header("Location"), "/v2/dst/blobs/" + b.digest);
  EXPECT_EQ(r.Header("Docker-Content-Digest"), b.digest);
  EXPECT_EQ(Do("GET", "/v2/dst/blobs/" + b.digest).body, b.data);

  // Not in `from`: a new session instead.
  Blob other = MakeBlob("not there");
  HttpResponse fallback = Do("POST", "/v2/dst/blobs/uploads/?mount=" + other.digest + "&from=src");
  EXPECT_EQ(fallback.status, 202);
  EXPECT_TRUE(fallback.Header("Location").has_value());

  HttpResponse bad_digest = Do("POST", "/v2/dst/blobs/uploads/?mount=sha256:nope&from=src");
  EXPECT_EQ(bad_digest.status, 400);
  EXPECT_EQ(bad_digest.ErrorCode(), "DIGEST_INVALID");
  HttpResponse bad_from = Do("POST", "/v2/dst/blobs/uploads/?mount=" + b.digest + "&from=Bad");
  EXPECT_EQ(bad_from.status, 400);
  EXPECT_EQ(bad_from.ErrorCode(), "NAME_INVALID");
}

TEST_F(UploadApi, EmptyBlob) {
  std::string loc = Start202(*this, Do("POST", "/v2/r/blobs/uploads/"));
  HttpResponse r = Do("PUT", loc + "?digest=" + DigestOf(""));
  EXPECT_EQ(r.status, 201) << r.body;
  HttpResponse get = Do("GET", "/v2/r/blobs/" + DigestOf(""));
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.Header("Content-Length"), "0");
}

TEST_F(UploadApi, BlobLimitIsEnforced) {
  DistributionApiOptions o;
  o.max_blob_bytes = 10;
  Start(o);
  HttpResponse r = Do("POST", "/v2/r/blobs/uploads/?digest=" + DigestOf("01234567890"), {},
                      "01234567890");
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.ErrorCode(), "SIZE_INVALID");
  EXPECT_EQ(Do("POST", "/v2/r/blobs/uploads/?digest=" + DigestOf("0123456789"), {}, "0123456789")
                .status,
            201);
}

TEST_F(UploadApi, LargeBlobStreamsInAndOut) {
  std::string data(8 * 1024 * 1024 + 123, '\0');
  uint32_t x = 12345;
  for (char& c : data) {
    x = x * 1103515245 + 12345;
    c = static_cast<char>(x >> 24);
  }
  Blob b = MakeBlob(data);
  std::string loc = Start202(*this, Do("POST", "/v2/r/blobs/uploads/"));
  HttpResponse p = client().DoChunked("PATCH", loc, {}, data, 65536);
  ASSERT_EQ(p.status, 202) << p.body;
  ASSERT_EQ(Do("PUT", loc + "?digest=" + b.digest).status, 201);
  HttpResponse get = Do("GET", "/v2/r/blobs/" + b.digest);
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body.size(), data.size());
  EXPECT_TRUE(get.body == data);
  HttpResponse tail = Do("GET", "/v2/r/blobs/" + b.digest, {{"Range", "bytes=-100"}});
  EXPECT_EQ(tail.status, 206);
  EXPECT_TRUE(tail.body == data.substr(data.size() - 100));
}

// Regression: a client whose connection drops mid-PATCH reconnects, asks where the upload
// stands and continues on a new connection with the same Location.
TEST_F(UploadApi, SessionSurvivesAReconnect) {
  std::string data(200000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 % 251);
  Blob b = MakeBlob(data);
  std::string loc = Start202(*this, Do("POST", "/v2/r/blobs/uploads/"));

  // Announce the whole blob, send half, hang up.
  {
    TestClient c = client();
    int fd = c.Connect();
    ASSERT_GE(fd, 0);
    std::string head = TestClient::Head("PATCH", loc, {{"Content-Length", std::to_string(data.size())}});
    ASSERT_TRUE(TestClient::SendAll(fd, head + "\r\n" + data.substr(0, 100000)));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ::close(fd);
  }
  // The server notices the disconnect and releases the session; poll until it has.
  HttpResponse status;
  for (int i = 0; i < 100; ++i) {
    status = Do("GET", loc);
    if (status.status == 204) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(status.status, 204) << status.body;
  std::string range = status.Header("Range").value_or("");
  ASSERT_TRUE(range.starts_with("0-")) << range;
  uint64_t have = range == "0-0" ? 0 : std::stoull(range.substr(2)) + 1;
  ASSERT_LE(have, 100000u);
  // Range "0-0" is ambiguous between 0 and 1 byte; a client resolves it by the next chunk.
  HttpResponse rest = Do("PATCH", loc, {{"Content-Range", std::to_string(have) + "-" +
                                                              std::to_string(data.size() - 1)}},
                         data.substr(have));
  ASSERT_EQ(rest.status, 202) << rest.body;
  HttpResponse put = Do("PUT", loc + "?digest=" + b.digest);
  EXPECT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(Do("GET", "/v2/r/blobs/" + b.digest).body, data);
}

}  // namespace
}  // namespace atcr::registry::testing
