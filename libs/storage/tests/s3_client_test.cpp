// URL building, endpoint parsing, error mapping, presigning and retries of the S3 client,
// against a scripted in-process server that also checks every request's SigV4 signature.
// The behaviour against a real S3 server is in tests/radosgw/ (radosgw).
#include "s3_client.h"

#include <gtest/gtest.h>

#include <ctime>
#include <deque>
#include <mutex>

#include "atcr/base/hash.h"
#include "atcr/net/server.h"
#include "atcr/storage/s3_blob_store.h"

namespace atcr::storage::s3 {
namespace {

ClientConfig Config(std::string endpoint, bool path_style, std::string bucket = "examplebucket") {
  ClientConfig c;
  c.endpoint = *ParseEndpoint(endpoint);
  c.bucket = std::move(bucket);
  c.credentials = {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
  c.path_style = path_style;
  c.clock = [] { return int64_t{1369353600}; };  // 2013-05-24T00:00:00Z
  return c;
}

TEST(S3Endpoint, ParsesAndRejectsTable) {
  struct Case {
    const char* url;
    bool ok;
    const char* scheme;
    const char* host;
    uint16_t port;
    bool default_port;
  };
  const Case cases[] = {
      {"http://127.0.0.1:9000", true, "http", "127.0.0.1", 9000, false},
      {"https://s3.eu-west-1.amazonaws.com", true, "https", "s3.eu-west-1.amazonaws.com", 443,
       true},
      {"https://S3.Example.COM/", true, "https", "s3.example.com", 443, true},
      {"http://host:80", true, "http", "host", 80, true},
      {"https://host:80", true, "https", "host", 80, false},
      {"http://[::1]:9000", true, "http", "[::1]", 9000, false},
      {"http://[::1]", true, "http", "[::1]", 80, true},
      {"ftp://host", false, "", "", 0, false},
      {"host:9000", false, "", "", 0, false},
      {"http://host/path", false, "", "", 0, false},
      {"http://user@host", false, "", "", 0, false},
      {"http://host?x", false, "", "", 0, false},
      {"http://host:0", false, "", "", 0, false},
      {"http://host:70000", false, "", "", 0, false},
      {"http://host:9x", false, "", "", 0, false},
      {"http://", false, "", "", 0, false},
      {"http://[::1", false, "", "", 0, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.url);
    auto r = ParseEndpoint(c.url);
    ASSERT_EQ(r.ok(), c.ok);
    if (!c.ok) continue;
    EXPECT_EQ(r->scheme, c.scheme);
    EXPECT_EQ(r->host, c.host);
    EXPECT_EQ(r->port, c.port);
    EXPECT_EQ(r->default_port, c.default_port);
  }
}

TEST(S3Client, PathStyleTargets) {
  auto client = Client::Create(Config("http://127.0.0.1:9000", true, "b"));
  ASSERT_TRUE(client.ok());
  Target t = (*client)->TargetFor("blobs/sha256/ab/abcd/data");
  EXPECT_EQ(t.origin, "http://127.0.0.1:9000");
  EXPECT_EQ(t.host_header, "127.0.0.1:9000");
  EXPECT_EQ(t.canonical_uri, "/b/blobs/sha256/ab/abcd/data");
  EXPECT_EQ((*client)->TargetFor("").canonical_uri, "/b");
  // Keys are encoded once, '/' kept.
  EXPECT_EQ((*client)->TargetFor("a b/c+d$e").canonical_uri, "/b/a%20b/c%2Bd%24e");
  EXPECT_EQ((*client)->UrlFor("k", {{"uploadId", "2~x/y"}, {"partNumber", "3"}}),
            "http://127.0.0.1:9000/b/k?partNumber=3&uploadId=2~x%2Fy");
  EXPECT_EQ((*client)->UrlFor("", {{"uploads", ""}, {"prefix", "uploads/"}}),
            "http://127.0.0.1:9000/b?prefix=uploads%2F&uploads=");
}

TEST(S3Client, VirtualHostTargets) {
  auto client = Client::Create(Config("https://s3.amazonaws.com", false));
  ASSERT_TRUE(client.ok());
  Target t = (*client)->TargetFor("test.txt");
  EXPECT_EQ(t.origin, "https://examplebucket.s3.amazonaws.com");
  EXPECT_EQ(t.host_header, "examplebucket.s3.amazonaws.com");
  EXPECT_EQ(t.canonical_uri, "/test.txt");
  EXPECT_EQ((*client)->TargetFor("").canonical_uri, "/");
  auto custom = Client::Create(Config("http://minio.local:9000", false, "bk"));
  ASSERT_TRUE(custom.ok());
  EXPECT_EQ((*custom)->UrlFor("x/y", {}), "http://bk.minio.local:9000/x/y");
}

TEST(S3Client, VirtualHostNeedsADnsName) {
  EXPECT_FALSE(Client::Create(Config("http://127.0.0.1:9000", false)).ok());
  EXPECT_FALSE(Client::Create(Config("http://[::1]:9000", false)).ok());
  EXPECT_FALSE(Client::Create(Config("https://s3.example", false, "my.bucket")).ok());
  EXPECT_TRUE(Client::Create(Config("https://s3.example", true, "my.bucket")).ok());
}

TEST(S3Client, RejectsIncompleteConfig) {
  ClientConfig c = Config("http://h:1", true);
  c.bucket = "";
  EXPECT_FALSE(Client::Create(c).ok());
  c = Config("http://h:1", true);
  c.credentials.secret_key = "";
  EXPECT_FALSE(Client::Create(c).ok());
  c = Config("http://h:1", true, "a/b");
  EXPECT_FALSE(Client::Create(c).ok());
}

TEST(S3Client, PresignMatchesTheAwsExampleInBothStyles) {
  // Virtual-host addressing gives exactly AWS's published presigned URL.
  auto vh = Client::Create(Config("https://s3.amazonaws.com", false));
  ASSERT_TRUE(vh.ok());
  auto p = (*vh)->Presign("GET", "test.txt", {}, {}, "", 86400);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->url,
            "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  EXPECT_EQ(p->expires_unix, 1369353600 + 86400);
  EXPECT_EQ(p->method, "GET");
  EXPECT_TRUE(p->headers.empty());

  // Path-style signs the bucket in the path, so the signature differs.
  auto ps = Client::Create(Config("https://s3.amazonaws.com", true));
  ASSERT_TRUE(ps.ok());
  auto q = (*ps)->Presign("GET", "test.txt", {}, {}, "", 86400);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->url.rfind("https://s3.amazonaws.com/examplebucket/test.txt?X-Amz-Algorithm=", 0),
            0u);
  EXPECT_EQ(q->url.find("aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"),
            std::string::npos);
}

TEST(S3Client, PresignedPartAndPutCarryTheirParameters) {
  auto c = Client::Create(Config("http://127.0.0.1:9000", true, "b"));
  ASSERT_TRUE(c.ok());
  auto part =
      (*c)->Presign("PUT", "uploads/u", {{"partNumber", "2"}, {"uploadId", "2~id"}}, {}, "", 60);
  ASSERT_TRUE(part.ok());
  EXPECT_EQ(part->url.rfind("http://127.0.0.1:9000/b/uploads/u?X-Amz-Algorithm=", 0), 0u);
  EXPECT_NE(part->url.find("&partNumber=2&uploadId=2~id&"), std::string::npos) << part->url;
  auto put = (*c)->Presign("PUT", "k", {}, {{"x-amz-content-sha256", "abc"}}, "abc", 60);
  ASSERT_TRUE(put.ok());
  EXPECT_NE(put->url.find("X-Amz-SignedHeaders=host%3Bx-amz-content-sha256"), std::string::npos);
  ASSERT_EQ(put->headers.size(), 1u);
  EXPECT_EQ(put->headers[0].first, "x-amz-content-sha256");
  EXPECT_FALSE((*c)->Presign("GET", "k", {}, {}, "", 0).ok());
  EXPECT_FALSE((*c)->Presign("GET", "k", {}, {}, "", 604801).ok());
}

TEST(S3Errors, MapsCodesToAtcrErrors) {
  struct Case {
    int status;
    const char* body;
    ErrorCode code;
    const char* in_message;
  };
  const Case cases[] = {
      {403,
       "<Error><Code>SignatureDoesNotMatch</Code><Message>bad sig</Message>"
       "<RequestId>tx1</RequestId></Error>",
       ErrorCode::kPermissionDenied, "SignatureDoesNotMatch: bad sig (HTTP 403, request id tx1)"},
      {403, "<Error><Code>InvalidAccessKeyId</Code></Error>", ErrorCode::kUnauthenticated,
       "InvalidAccessKeyId"},
      {403, "<Error><Code>AccessDenied</Code></Error>", ErrorCode::kPermissionDenied,
       "AccessDenied"},
      {404, "<Error><Code>NoSuchKey</Code></Error>", ErrorCode::kNotFound, "NoSuchKey"},
      {404, "<Error><Code>NoSuchUpload</Code></Error>", ErrorCode::kNotFound, "NoSuchUpload"},
      {404, "<Error><Code>NoSuchBucket</Code></Error>", ErrorCode::kFailedPrecondition,
       "NoSuchBucket"},
      {400, "<Error><Code>EntityTooSmall</Code></Error>", ErrorCode::kInvalidArgument,
       "EntityTooSmall"},
      {400, "<Error><Code>InvalidPart</Code></Error>", ErrorCode::kInvalidArgument, "InvalidPart"},
      {400, "<Error><Code>EntityTooLarge</Code></Error>", ErrorCode::kResourceExhausted,
       "EntityTooLarge"},
      {400, "<Error><Code>XAmzContentSHA256Mismatch</Code></Error>", ErrorCode::kDataLoss,
       "Mismatch"},
      {400, "<Error><Code>BadDigest</Code></Error>", ErrorCode::kDataLoss, "BadDigest"},
      {416, "<Error><Code>InvalidRange</Code></Error>", ErrorCode::kOutOfRange, "InvalidRange"},
      {403, "<Error><Code>RequestTimeTooSkewed</Code></Error>", ErrorCode::kFailedPrecondition,
       "Skewed"},
      {503, "<Error><Code>SlowDown</Code></Error>", ErrorCode::kUnavailable, "SlowDown"},
      {500, "<Error><Code>InternalError</Code></Error>", ErrorCode::kUnavailable, "InternalError"},
      {501, "<Error><Code>NotImplemented</Code></Error>", ErrorCode::kUnimplemented,
       "NotImplemented"},
      // HEAD responses have no body: the status decides.
      {404, "", ErrorCode::kNotFound, "NotFound (HTTP 404)"},
      {403, "", ErrorCode::kPermissionDenied, "access denied or bad credentials"},
      {502, "<html>bad gateway</html>", ErrorCode::kUnavailable, "HTTP502"},
      {400, "", ErrorCode::kInvalidArgument, "BadRequest"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    net::ClientResponse r;
    r.status = c.status;
    r.body = c.body;
    Error e = MapS3Error("PutObject", "blobs/k", r);
    EXPECT_EQ(e.code, c.code) << e.message;
    EXPECT_NE(e.message.find(c.in_message), std::string::npos) << e.message;
    EXPECT_EQ(e.message.rfind("S3 PutObject blobs/k: ", 0), 0u) << e.message;
  }
  net::ClientResponse head;
  head.status = 404;
  head.headers.Add("x-amz-request-id", "tx-head");
  EXPECT_NE(MapS3Error("HeadObject", "k", head).message.find("request id tx-head"),
            std::string::npos);
}

TEST(S3Errors, RetryableCodes) {
  EXPECT_TRUE(IsRetryableS3Code("SlowDown"));
  EXPECT_TRUE(IsRetryableS3Code("InternalError"));
  EXPECT_TRUE(IsRetryableS3Code("RequestTimeout"));
  EXPECT_FALSE(IsRetryableS3Code("NoSuchKey"));
  EXPECT_FALSE(IsRetryableS3Code("SignatureDoesNotMatch"));
  EXPECT_FALSE(IsRetryableS3Code("EntityTooSmall"));
}

TEST(S3BlobStoreOptions, RejectsBadOptions) {
  S3BlobStoreOptions o{.endpoint = "http://127.0.0.1:1",
                       .bucket = "b",
                       .access_key = "a",
                       .secret_key = "s",
                       .check_bucket = false};
  EXPECT_TRUE(CreateS3BlobStore(o).ok());
  auto bad = o;
  bad.part_size = 1024 * 1024;
  EXPECT_FALSE(CreateS3BlobStore(bad).ok());
  bad = o;
  bad.prefix = "no-slash";
  EXPECT_FALSE(CreateS3BlobStore(bad).ok());
  bad = o;
  bad.prefix = "/abs/";
  EXPECT_FALSE(CreateS3BlobStore(bad).ok());
  bad = o;
  bad.max_parallel_parts = 0;
  EXPECT_FALSE(CreateS3BlobStore(bad).ok());
  bad = o;
  bad.presign_expiry_seconds = 604801;
  EXPECT_FALSE(CreateS3BlobStore(bad).ok());
  bad = o;
  bad.endpoint = "127.0.0.1:9000";
  EXPECT_FALSE(CreateS3BlobStore(bad).ok());
}

TEST(S3BlobStoreOptions, ConnectionErrorsAreRetriedThenReported) {
  // Port 1 on loopback refuses connections: every attempt fails fast; the error names the
  // operation and says the peer is unavailable.
  S3BlobStoreOptions o{.endpoint = "http://127.0.0.1:1",
                       .bucket = "b",
                       .access_key = "a",
                       .secret_key = "s",
                       .max_attempts = 3,
                       .retry_base_delay = std::chrono::milliseconds(1)};
  auto r = CreateS3BlobStore(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().message;
  EXPECT_NE(r.error().message.find("S3 HeadBucket"), std::string::npos) << r.error().message;
}

// A fake S3 endpoint: answers from a script, records what it saw, and recomputes the SigV4
// signature of each request from what actually arrived on the wire.
class ScriptedS3 {
 public:
  struct Reply {
    int status;
    std::string body;
  };
  ScriptedS3() {
    net::Router router;
    router.AddPrefix("/", [this](net::Request& req) -> net::Task<net::Response> {
      auto body = co_await req.body->ReadAll(1 << 20);
      Reply reply{500, "<Error><Code>InternalError</Code></Error>"};
      {
        std::lock_guard lock(mu_);
        methods_.push_back(std::string(net::MethodName(req.method)) + " " + req.target);
        if (!CheckSignature(req, body.ok() ? *body : std::string())) ++bad_signatures_;
        if (!script_.empty()) {
          reply = script_.front();
          script_.pop_front();
        }
      }
      net::Response r = net::Response::Text(reply.status, reply.body, "application/xml");
      r.headers.Set("ETag", "\"etag\"");
      co_return r;
    });
    server_ = std::make_unique<net::Server>(net::ServerOptions{.threads = 1, .access_log = false},
                                            std::move(router));
    EXPECT_TRUE(server_->Start().ok());
  }
  void Script(std::vector<Reply> replies) {
    std::lock_guard lock(mu_);
    script_.assign(replies.begin(), replies.end());
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return methods_;
  }
  int bad_signatures() {
    std::lock_guard lock(mu_);
    return bad_signatures_;
  }
  std::unique_ptr<Client> MakeClient(int max_attempts = 4) {
    ClientConfig c;
    c.endpoint = *ParseEndpoint("http://127.0.0.1:" + std::to_string(server_->port()));
    c.bucket = "bkt";
    c.credentials = {"AK", "SK", ""};
    c.max_attempts = max_attempts;
    c.retry_base_delay = std::chrono::milliseconds(1);
    return std::move(*Client::Create(c));
  }

 private:
  static bool CheckSignature(const net::Request& req, const std::string& body) {
    auto auth = req.headers.Get("Authorization");
    auto date = req.headers.Get("x-amz-date");
    auto payload = req.headers.Get("x-amz-content-sha256");
    if (!auth || !date || !payload) return false;
    if (*payload != Sha256Hex(body)) return false;
    const std::string a(*auth);
    const size_t sh = a.find("SignedHeaders=");
    const size_t sig = a.find(",Signature=");
    if (sh == std::string::npos || sig == std::string::npos) return false;
    SigV4Request sreq{.method = std::string(net::MethodName(req.method)),
                      .canonical_uri = req.raw_path,
                      .payload_hash = std::string(*payload)};
    std::string names = a.substr(sh + 14, sig - sh - 14);
    for (size_t pos = 0; pos <= names.size();) {
      size_t semi = names.find(';', pos);
      if (semi == std::string::npos) semi = names.size();
      const std::string name = names.substr(pos, semi - pos);
      if (auto v = req.headers.Get(name)) sreq.headers.emplace_back(name, std::string(*v));
      pos = semi + 1;
    }
    for (size_t pos = 0; !req.query.empty() && pos <= req.query.size();) {
      size_t amp = req.query.find('&', pos);
      if (amp == std::string::npos) amp = req.query.size();
      std::string kv = req.query.substr(pos, amp - pos);
      const size_t eq = kv.find('=');
      auto k = net::PercentDecode(kv.substr(0, eq));
      auto v = net::PercentDecode(eq == std::string::npos ? "" : kv.substr(eq + 1));
      if (!k.ok() || !v.ok()) return false;
      sreq.query.emplace_back(*k, *v);
      pos = amp + 1;
    }
    std::tm tm{};
    const std::string d(*date);
    if (!strptime(d.c_str(), "%Y%m%dT%H%M%SZ", &tm)) return false;
    SigV4Signer signer({"AK", "SK", ""}, "us-east-1");
    SigV4Signature expect = signer.Sign(sreq, timegm(&tm));
    return a.substr(sig + 11) == expect.signature;
  }

  std::mutex mu_;
  std::deque<Reply> script_;
  std::vector<std::string> methods_;
  int bad_signatures_ = 0;
  std::unique_ptr<net::Server> server_;
};

TEST(S3Retries, SlowDownIsRetriedWithBackoff) {
  ScriptedS3 s3;
  s3.Script({{503, "<Error><Code>SlowDown</Code></Error>"},
             {503, "<Error><Code>SlowDown</Code></Error>"},
             {206, "0123456789"}});
  auto client = s3.MakeClient();
  auto r = client->GetRange("a b/c", 0, 10);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(*r, "0123456789");
  EXPECT_EQ(s3.requests().size(), 3u);
  EXPECT_EQ(s3.requests()[0], "GET /bkt/a%20b/c");
  EXPECT_EQ(s3.bad_signatures(), 0);
}

TEST(S3Retries, ServerErrorsAreRetriedForIdempotentRequestsOnly) {
  ScriptedS3 s3;
  auto client = s3.MakeClient();
  // PUT of a part: idempotent, retried.
  s3.Script({{500, "<Error><Code>InternalError</Code></Error>"}, {200, ""}});
  auto part = client->UploadPart("k", "2~id", 1, std::string(1000, 'x'));
  ASSERT_TRUE(part.ok()) << part.error().ToString();
  EXPECT_EQ(*part, "\"etag\"");
  EXPECT_EQ(s3.requests().size(), 2u);
  // POST ?uploads (CreateMultipartUpload) may have taken effect: not retried on a 500 ...
  s3.Script({{500, "<Error><Code>InternalError</Code></Error>"}});
  auto create = client->CreateMultipart("k");
  ASSERT_FALSE(create.ok());
  EXPECT_EQ(create.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(create.error().message.find("InternalError"), std::string::npos);
  EXPECT_EQ(s3.requests().size(), 3u);
  // ... but SlowDown means S3 did nothing, so that is retried even for a POST.
  s3.Script({{503, "<Error><Code>SlowDown</Code></Error>"},
             {200,
              "<InitiateMultipartUploadResult><UploadId>u1</UploadId>"
              "</InitiateMultipartUploadResult>"}});
  auto created = client->CreateMultipart("k");
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  EXPECT_EQ(*created, "u1");
  EXPECT_EQ(s3.requests().size(), 5u);
  EXPECT_EQ(s3.requests()[4], "POST /bkt/k?uploads=");
  EXPECT_EQ(s3.bad_signatures(), 0);
}

TEST(S3Retries, ClientErrorsAreNotRetriedAndAttemptsAreBounded) {
  ScriptedS3 s3;
  auto client = s3.MakeClient(3);
  s3.Script({{403, "<Error><Code>SignatureDoesNotMatch</Code><Message>m</Message></Error>"}});
  auto denied = client->Put("k", "body", Sha256Hex(std::string_view("body")));
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(s3.requests().size(), 1u);
  s3.Script({{500, "<Error><Code>InternalError</Code></Error>"},
             {500, "<Error><Code>InternalError</Code></Error>"},
             {500, "<Error><Code>InternalError</Code></Error>"},
             {200, ""}});
  auto failed = client->Delete("k");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(s3.requests().size(), 4u);  // 1 + max_attempts (3)
  EXPECT_EQ(s3.bad_signatures(), 0);
}

TEST(S3Retries, ErrorInsideA200IsAnError) {
  ScriptedS3 s3;
  auto client = s3.MakeClient();
  s3.Script({{200, "<?xml version=\"1.0\"?>\n<Error><Code>InternalError</Code></Error>"},
             {200,
              "<CompleteMultipartUploadResult><ETag>\"e-2\"</ETag>"
              "</CompleteMultipartUploadResult>"}});
  auto done = client->CompleteMultipart("k", "u", {{1, "\"a\""}, {2, "\"b\""}});
  ASSERT_TRUE(done.ok()) << done.error().ToString();
  EXPECT_EQ(*done, "\"e-2\"");
  EXPECT_EQ(s3.requests().size(), 2u);
  s3.Script({{200, "<Error><Code>AccessDenied</Code></Error>"}});
  auto copy = client->Copy("a", "b");
  ASSERT_FALSE(copy.ok());
  EXPECT_EQ(copy.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(s3.bad_signatures(), 0);
}

TEST(S3Retries, ListingsFollowTheirMarkers) {
  ScriptedS3 s3;
  auto client = s3.MakeClient();
  s3.Script({{200,
              "<ListBucketResult><IsTruncated>true</IsTruncated>"
              "<NextContinuationToken>t/1=</NextContinuationToken>"
              "<Contents><Key>p/a</Key><Size>1</Size></Contents></ListBucketResult>"},
             {200,
              "<ListBucketResult><IsTruncated>false</IsTruncated>"
              "<Contents><Key>p/b</Key><Size>2</Size></Contents></ListBucketResult>"}});
  std::vector<std::string> keys;
  ASSERT_TRUE(client
                  ->ListObjects("p/",
                                [&](const ListedObject& o) -> Status {
                                  keys.push_back(o.key);
                                  return Ok();
                                })
                  .ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"p/a", "p/b"}));
  ASSERT_EQ(s3.requests().size(), 2u);
  EXPECT_EQ(s3.requests()[1],
            "GET /bkt?continuation-token=t%2F1%3D&list-type=2&max-keys=1000&prefix=p%2F");
  EXPECT_EQ(s3.bad_signatures(), 0);
}

}  // namespace
}  // namespace atcr::storage::s3
