// The S3 blob store against a real S3 server: Ceph radosgw, single node, started once for this
// binary by tests/peers/start-radosgw.sh (about 15-25 s) and stopped at the end. With
// S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET (and S3_REGION) set, that server is
// used instead. If radosgw cannot start, every test fails: scripts/bootstrap installs it.
// Each test works under its own key prefix, so tests do not see each other's objects.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "atcr/base/hash.h"
#include "atcr/base/time.h"
#include "atcr/storage/s3_blob_store.h"
#include "s3_client.h"

namespace atcr::storage {
namespace {

namespace fs = std::filesystem;

struct Peer {
  std::string endpoint, access_key, secret_key, region, bucket, state_dir;
  bool started_here = false;
  bool ok = false;
  std::string failure;
};
Peer& ThePeer() {
  static Peer p;
  return p;
}

// Runs a shell command, returns (exit status, stdout).
std::pair<int, std::string> RunShell(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  int st = ::pclose(f);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

class RadosgwEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    Peer& p = ThePeer();
    if (const char* e = std::getenv("S3_ENDPOINT"); e && *e) {
      p.endpoint = e;
      p.access_key = Env("S3_ACCESS_KEY");
      p.secret_key = Env("S3_SECRET_KEY");
      p.bucket = Env("S3_BUCKET");
      p.region = Env("S3_REGION").empty() ? "us-east-1" : Env("S3_REGION");
      p.ok = true;
      return;
    }
    p.state_dir =
        (fs::temp_directory_path() / ("atcr-s3-test-" + RandomId().substr(0, 8))).string();
    const auto t0 = std::chrono::steady_clock::now();
    auto [rc, out] = RunShell(std::string(ATCR_SOURCE_DIR) + "/tests/peers/start-radosgw.sh " +
                              Quote(p.state_dir) + " 2>&1");
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    p.started_here = true;
    if (rc != 0) {
      p.failure = "start-radosgw.sh failed (exit " + std::to_string(rc) + "):\n" + out;
      FAIL() << p.failure;
    }
    std::map<std::string, std::string> kv;
    size_t pos = 0;
    while (pos < out.size()) {
      size_t nl = out.find('\n', pos);
      if (nl == std::string::npos) nl = out.size();
      std::string line = out.substr(pos, nl - pos);
      if (size_t eq = line.find('='); eq != std::string::npos)
        kv[line.substr(0, eq)] = line.substr(eq + 1);
      pos = nl + 1;
    }
    p.endpoint = kv["S3_ENDPOINT"];
    p.access_key = kv["S3_ACCESS_KEY"];
    p.secret_key = kv["S3_SECRET_KEY"];
    p.region = kv["S3_REGION"];
    p.bucket = kv["S3_BUCKET"];
    if (p.endpoint.empty() || p.bucket.empty()) {
      p.failure = "start-radosgw.sh printed no S3_ENDPOINT/S3_BUCKET:\n" + out;
      FAIL() << p.failure;
    }
    std::printf("[radosgw] started in %.1f s at %s\n", secs, p.endpoint.c_str());
    p.ok = true;
  }
  void TearDown() override {
    Peer& p = ThePeer();
    if (p.started_here) {
      (void)RunShell("RADOSGW_KEEP_STATE=0 " + std::string(ATCR_SOURCE_DIR) +
                     "/tests/peers/stop-radosgw.sh " + Quote(p.state_dir) + " >/dev/null 2>&1");
    }
  }

 private:
  static std::string Env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
  }
};

const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new RadosgwEnvironment);

constexpr uint64_t kMiB = 1024 * 1024;

std::string Pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

oci::Digest Sha256Of(std::string_view s) { return oci::Digest::Sha256Of(AsBytes(s)); }
oci::Digest Sha512Of(std::string_view s) {
  Hasher h(HashAlgorithm::kSha512);
  h.Update(s);
  return oci::Digest::FromHash(HashAlgorithm::kSha512, h.Finish());
}

class S3Radosgw : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ThePeer().ok) << "radosgw is not running: " << ThePeer().failure;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    prefix_ = "t-" + std::string(info->name()) + "-" + RandomId().substr(0, 6) + "/";
  }

  S3BlobStoreOptions Options() const {
    const Peer& p = ThePeer();
    S3BlobStoreOptions o;
    o.endpoint = p.endpoint;
    o.region = p.region;
    o.bucket = p.bucket;
    o.access_key = p.access_key;
    o.secret_key = p.secret_key;
    o.prefix = prefix_;
    o.multipart_threshold = 5 * kMiB;
    o.part_size = 5 * kMiB;
    o.max_parallel_parts = 3;
    o.retry_base_delay = std::chrono::milliseconds(20);
    // A full memstore OSD blocks writes instead of failing them; fail the test sooner.
    o.request_timeout = std::chrono::seconds(60);
    return o;
  }
  std::unique_ptr<BlobStore> Store(S3BlobStoreOptions o) {
    auto s = CreateS3BlobStore(o);
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::unique_ptr<BlobStore> Store() { return Store(Options()); }

  // A raw client on the same bucket, to look behind the store's back.
  std::unique_ptr<s3::Client> Raw() {
    const Peer& p = ThePeer();
    s3::ClientConfig c;
    c.endpoint = *s3::ParseEndpoint(p.endpoint);
    c.region = p.region;
    c.bucket = p.bucket;
    c.credentials = {p.access_key, p.secret_key, ""};
    return std::move(*s3::Client::Create(c));
  }
  std::vector<std::string> OpenMultipartKeys() {
    auto ups = Raw()->ListUploads(prefix_);
    EXPECT_TRUE(ups.ok()) << ups.error().ToString();
    std::vector<std::string> keys;
    if (ups.ok()) {
      for (const auto& u : *ups) keys.push_back(u.key);
    }
    return keys;
  }
  std::vector<std::string> ObjectKeys() {
    std::vector<std::string> keys;
    Status st = Raw()->ListObjects(prefix_, [&](const s3::ListedObject& o) -> Status {
      keys.push_back(o.key);
      return Ok();
    });
    EXPECT_TRUE(st.ok()) << st.error().ToString();
    return keys;
  }

  static Result<BlobInfo> Upload(BlobStore& store, const std::string& data, const oci::Digest& d,
                                 size_t chunk = kMiB) {
    ATCR_ASSIGN_OR_RETURN(auto w, store.CreateUpload());
    for (size_t off = 0; off < data.size(); off += chunk) {
      ATCR_TRY(w->Append(AsBytes(std::string_view(data).substr(off, chunk))));
    }
    return w->Commit(d);
  }

  // curl: (HTTP status, body). Writes body_to_send with PUT when given.
  static std::pair<int, std::string> Curl(
      const std::string& method, const std::string& url,
      const std::vector<std::pair<std::string, std::string>>& headers = {},
      const std::string* body_to_send = nullptr) {
    const std::string dir = fs::temp_directory_path().string();
    const std::string out = dir + "/atcr-s3-curl-" + RandomId();
    std::string cmd = "curl -s -o " + Quote(out) + " -w '%{http_code}' -X " + method;
    for (const auto& [k, v] : headers) cmd += " -H " + Quote(k + ": " + v);
    std::string in;
    if (body_to_send) {
      in = dir + "/atcr-s3-curl-in-" + RandomId();
      std::ofstream(in, std::ios::binary) << *body_to_send;
      cmd += " --data-binary @" + Quote(in);
    }
    cmd += " " + Quote(url);
    auto [rc, code] = RunShell(cmd);
    std::ifstream f(out, std::ios::binary);
    std::string body((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    fs::remove(out);
    if (!in.empty()) fs::remove(in);
    if (rc != 0) return {-rc, body};
    return {std::atoi(code.c_str()), body};
  }

  std::string prefix_;
};

TEST_F(S3Radosgw, SmallBlobPutStatOpenReadDelete) {
  auto store = Store();
  ASSERT_TRUE(store);
  const std::string data = "hello, radosgw";
  const oci::Digest d = Sha256Of(data);
  auto info = Upload(*store, data, d);
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_EQ(info->size, data.size());
  EXPECT_TRUE(OpenMultipartKeys().empty()) << "a small blob is one PUT, no multipart upload";
  EXPECT_EQ(ObjectKeys(), std::vector<std::string>{prefix_ + "blobs/sha256/" +
                                                   std::string(d.encoded().substr(0, 2)) + "/" +
                                                   std::string(d.encoded()) + "/data"});

  auto st = store->Stat(d);
  ASSERT_TRUE(st.ok()) << st.error().ToString();
  EXPECT_EQ(st->size, data.size());
  EXPECT_GT(st->modified_unix, 0);

  auto open = store->Open(d);
  ASSERT_TRUE(open.ok()) << open.error().ToString();
  EXPECT_EQ(open->fd, -1);
  EXPECT_EQ(open->size, data.size());
  EXPECT_GT(open->redirect_expires_unix, UnixSeconds());
  auto [code, body] = Curl("GET", open->redirect_url);
  EXPECT_EQ(code, 200);
  EXPECT_EQ(body, data);

  auto all = store->ReadAll(d, 1024);
  ASSERT_TRUE(all.ok()) << all.error().ToString();
  EXPECT_EQ(AsString(*all), data);
  auto range = store->ReadRange(d, 7, 100);
  ASSERT_TRUE(range.ok()) << range.error().ToString();
  EXPECT_EQ(AsString(*range), "radosgw");
  auto at_end = store->ReadRange(d, data.size(), 10);
  ASSERT_TRUE(at_end.ok()) << at_end.error().ToString();
  EXPECT_TRUE(at_end->empty());
  auto past = store->ReadRange(d, data.size() + 1, 10);
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().code, ErrorCode::kOutOfRange);
  EXPECT_EQ(store->ReadAll(d, 3).error().code, ErrorCode::kResourceExhausted);

  auto list = store->List();
  ASSERT_TRUE(list.ok()) << list.error().ToString();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].digest, d);
  EXPECT_EQ((*list)[0].size, data.size());

  // Committing the same content again succeeds (content-addressed).
  ASSERT_TRUE(Upload(*store, data, d).ok());

  ASSERT_TRUE(store->Delete(d).ok());
  auto gone = store->Stat(d);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(gone.error().wire, "BLOB_UNKNOWN");
  EXPECT_EQ(store->Delete(d).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store->Open(d).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store->ReadRange(d, 0, 1).error().wire, "BLOB_UNKNOWN");
}

TEST_F(S3Radosgw, EmptyBlob) {
  auto store = Store();
  ASSERT_TRUE(store);
  const oci::Digest d = Sha256Of("");
  auto info = Upload(*store, "", d);
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_EQ(store->Stat(d)->size, 0u);
  auto all = store->ReadAll(d, 10);
  ASSERT_TRUE(all.ok()) << all.error().ToString();
  EXPECT_TRUE(all->empty());
}

TEST_F(S3Radosgw, MultipartBlobIsUploadedInPartsAndReadBack) {
  auto store = Store();
  ASSERT_TRUE(store);
  const std::string data = Pattern(12 * kMiB + 12345, 1);
  const oci::Digest d = Sha256Of(data);
  auto w = store->CreateUpload();
  ASSERT_TRUE(w.ok());
  for (size_t off = 0; off < data.size(); off += 700 * 1024) {
    ASSERT_TRUE((*w)->Append(AsBytes(std::string_view(data).substr(off, 700 * 1024))).ok());
  }
  // Parts were sent while appending: a multipart upload is open under uploads/<id>.
  EXPECT_EQ(OpenMultipartKeys(), std::vector<std::string>{prefix_ + "uploads/" + (*w)->id()});
  EXPECT_EQ((*w)->size(), data.size());
  auto info = (*w)->Commit(d);
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_EQ(info->size, data.size());
  EXPECT_TRUE(OpenMultipartKeys().empty());
  // Only the blob is left: the assembled object under uploads/ was moved.
  EXPECT_EQ(ObjectKeys().size(), 1u);

  auto all = store->ReadAll(d, 64 * kMiB);
  ASSERT_TRUE(all.ok()) << all.error().ToString();
  ASSERT_EQ(all->size(), data.size());
  EXPECT_EQ(Sha256Of(AsString(*all)), d);
  auto tail = store->ReadRange(d, data.size() - 10, 100);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(AsString(*tail), data.substr(data.size() - 10));
}

TEST_F(S3Radosgw, MultipartCopyAboveTheSingleCopyLimit) {
  S3BlobStoreOptions o = Options();
  o.max_single_copy_bytes = 5 * kMiB;  // forces UploadPartCopy for the 12 MiB blob
  auto store = Store(o);
  ASSERT_TRUE(store);
  const std::string data = Pattern(12 * kMiB, 2);
  const oci::Digest d = Sha256Of(data);
  auto info = Upload(*store, data, d, 3 * kMiB);
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  auto all = store->ReadAll(d, 64 * kMiB);
  ASSERT_TRUE(all.ok()) << all.error().ToString();
  EXPECT_EQ(Sha256Of(AsString(*all)), d);
  EXPECT_TRUE(OpenMultipartKeys().empty());
}

TEST_F(S3Radosgw, ChunkedUploadAcrossRequestsAndAfterARestart) {
  const std::string data = Pattern(13 * kMiB, 3);
  const oci::Digest d = Sha256Of(data);
  std::string id;
  {
    auto store = Store();
    ASSERT_TRUE(store);
    auto w = store->CreateUpload();
    ASSERT_TRUE(w.ok());
    id = (*w)->id();
    ASSERT_TRUE((*w)->Append(AsBytes(std::string_view(data).substr(0, 4 * kMiB))).ok());
    w->reset();  // end of one PATCH request
    auto again = store->OpenUpload(id);
    ASSERT_TRUE(again.ok()) << again.error().ToString();
    EXPECT_EQ((*again)->size(), 4 * kMiB);
    // A second writer on the same upload is refused while this one is open.
    auto busy = store->OpenUpload(id);
    ASSERT_FALSE(busy.ok());
    EXPECT_EQ(busy.error().wire, "BLOB_UPLOAD_INVALID");
    ASSERT_TRUE((*again)->Append(AsBytes(std::string_view(data).substr(4 * kMiB, 7 * kMiB))).ok());
    // 11 MiB appended: two 5 MiB parts are in S3, 1 MiB is still in this process's memory.
  }  // the process "restarts": the store and its memory are gone

  auto store = Store();
  ASSERT_TRUE(store);
  auto resumed = store->OpenUpload(id);
  ASSERT_TRUE(resumed.ok()) << resumed.error().ToString();
  // What survived is what reached S3: the parts.
  const uint64_t have = (*resumed)->size();
  EXPECT_EQ(have, 10 * kMiB);
  ASSERT_TRUE((*resumed)->Append(AsBytes(std::string_view(data).substr(have))).ok());
  // The digest of bytes hashed before the restart is unknown; Commit reads the blob back.
  auto info = (*resumed)->Commit(d);
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_EQ(info->size, data.size());
  auto all = store->ReadAll(d, 64 * kMiB);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Sha256Of(AsString(*all)), d);
  EXPECT_EQ(store->OpenUpload(id).error().wire, "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(S3Radosgw, DigestMismatchExposesNothingAndKeepsTheUpload) {
  auto store = Store();
  ASSERT_TRUE(store);
  for (size_t n : {size_t{1000}, size_t{7 * kMiB}}) {
    SCOPED_TRACE(n);
    const std::string data = Pattern(n, 4);
    const oci::Digest right = Sha256Of(data);
    const oci::Digest wrong = Sha256Of("something else");
    auto w = store->CreateUpload();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(AsBytes(data)).ok());
    auto bad = (*w)->Commit(wrong);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().wire, "DIGEST_INVALID");
    EXPECT_NE(bad.error().message.find(right.str()), std::string::npos) << bad.error().message;
    EXPECT_EQ(store->Stat(wrong).error().code, ErrorCode::kNotFound);
    EXPECT_EQ(store->Stat(right).error().code, ErrorCode::kNotFound);
    // The upload is kept: the right digest still commits.
    auto good = (*w)->Commit(right);
    ASSERT_TRUE(good.ok()) << good.error().ToString();
    EXPECT_TRUE(store->Stat(right).ok());
  }
  EXPECT_TRUE(OpenMultipartKeys().empty());
}

TEST_F(S3Radosgw, DigestMismatchFoundByReadBackDiscardsTheUpload) {
  const std::string data = Pattern(11 * kMiB, 5);
  const oci::Digest wrong = Sha256Of("not it");
  std::string id;
  {
    auto store = Store();
    ASSERT_TRUE(store);
    auto w = store->CreateUpload();
    ASSERT_TRUE(w.ok());
    id = (*w)->id();
    ASSERT_TRUE((*w)->Append(AsBytes(data)).ok());  // two parts in S3, 1 MiB in memory
  }
  auto store = Store();
  ASSERT_TRUE(store);
  auto w = store->OpenUpload(id);
  ASSERT_TRUE(w.ok()) << w.error().ToString();
  auto bad = (*w)->Commit(wrong);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().wire, "DIGEST_INVALID");
  EXPECT_NE(bad.error().message.find("discarded"), std::string::npos) << bad.error().message;
  EXPECT_EQ(store->Stat(wrong).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(ObjectKeys().empty()) << "nothing assembled is left behind";
  EXPECT_TRUE(OpenMultipartKeys().empty());
  EXPECT_EQ(store->OpenUpload(id).error().wire, "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(S3Radosgw, Sha512Digests) {
  auto store = Store();
  ASSERT_TRUE(store);
  for (size_t n : {size_t{3000}, size_t{6 * kMiB}}) {
    SCOPED_TRACE(n);
    const std::string data = Pattern(n, 6);
    const oci::Digest d = Sha512Of(data);
    auto info = Upload(*store, data, d);
    ASSERT_TRUE(info.ok()) << info.error().ToString();
    auto st = store->Stat(d);
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->size, n);
  }
  auto w = store->CreateUpload();
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append(AsBytes(Pattern(6 * kMiB, 7))).ok());
  auto bad = (*w)->Commit(Sha512Of("x"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().wire, "DIGEST_INVALID");
}

TEST_F(S3Radosgw, PartUploadThroughPresignedUrlsAndTheStore) {
  auto store = Store();
  ASSERT_TRUE(store);
  const std::string data = Pattern(11 * kMiB + 100, 8);
  const oci::Digest d = Sha256Of(data);
  auto id = store->CreatePartUpload();
  ASSERT_TRUE(id.ok()) << id.error().ToString();
  std::vector<UploadPartInfo> parts;
  // Parts 1 and 2 straight to S3 with presigned URLs (out of order), part 3 through the store.
  for (int32_t n : {2, 1}) {
    auto url = store->PresignUploadPart(*id, n, 300);
    ASSERT_TRUE(url.ok()) << url.error().ToString();
    EXPECT_EQ(url->method, "PUT");
    const std::string part = data.substr((n - 1) * 5 * kMiB, 5 * kMiB);
    auto [code, body] = Curl("PUT", url->url, url->headers, &part);
    ASSERT_EQ(code, 200) << body;
  }
  auto listed = Raw()->ListParts(prefix_ + "uploads/" + *id,
                                 Raw()->ListUploads(prefix_ + "uploads/" + *id)->at(0).upload_id);
  ASSERT_TRUE(listed.ok());
  for (const auto& p : *listed) parts.push_back({p.part_number, p.etag});
  auto etag3 = store->UploadPart(*id, 3, AsBytes(std::string_view(data).substr(10 * kMiB)));
  ASSERT_TRUE(etag3.ok()) << etag3.error().ToString();
  parts.push_back({3, *etag3});

  auto info = store->CompletePartUpload(*id, d, parts);
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_EQ(info->size, data.size());
  auto all = store->ReadAll(d, 64 * kMiB);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Sha256Of(AsString(*all)), d);
  EXPECT_TRUE(OpenMultipartKeys().empty());
  EXPECT_EQ(store->UploadPart(*id, 1, AsBytes(std::string_view("x"))).error().wire,
            "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(S3Radosgw, PartUploadWithTheWrongDigestIsDiscarded) {
  auto store = Store();
  ASSERT_TRUE(store);
  const std::string data = Pattern(2000, 9);
  auto id = store->CreatePartUpload();
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(store->UploadPart(*id, 1, AsBytes(data)).ok());
  const oci::Digest wrong = Sha256Of("wrong");
  auto bad = store->CompletePartUpload(*id, wrong, {});  // {} = every part S3 has
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().wire, "DIGEST_INVALID");
  EXPECT_EQ(store->Stat(wrong).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store->Stat(Sha256Of(data)).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(ObjectKeys().empty());
  EXPECT_TRUE(OpenMultipartKeys().empty());
  EXPECT_EQ(store->CompletePartUpload(*id, Sha256Of(data), {}).error().wire, "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(S3Radosgw, TooSmallPartsAreRejectedByS3) {
  auto store = Store();
  ASSERT_TRUE(store);
  auto id = store->CreatePartUpload();
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(store->UploadPart(*id, 1, AsBytes(std::string(1024, 'a'))).ok());
  ASSERT_TRUE(store->UploadPart(*id, 2, AsBytes(std::string(1024, 'b'))).ok());
  auto r =
      store->CompletePartUpload(*id, Sha256Of(std::string(1024, 'a') + std::string(1024, 'b')), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << r.error().message;
  EXPECT_NE(r.error().message.find("EntityTooSmall"), std::string::npos) << r.error().message;
  ASSERT_TRUE(store->AbortUpload(*id).ok());
}

TEST_F(S3Radosgw, PresignedGetWorksWithCurlAndExpires) {
  auto store = Store();
  ASSERT_TRUE(store);
  const std::string data = "presigned";
  const oci::Digest d = Sha256Of(data);
  ASSERT_TRUE(Upload(*store, data, d).ok());
  auto url = store->PresignGet(d, 300);
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->method, "GET");
  auto [code, body] = Curl("GET", url->url);
  EXPECT_EQ(code, 200) << body;
  EXPECT_EQ(body, data);
  // Tampering with the URL breaks the signature.
  std::string tampered = url->url;
  tampered.replace(tampered.find("X-Amz-Expires=300"), 17, "X-Amz-Expires=900");
  EXPECT_EQ(Curl("GET", tampered).first, 403);
  // Expiry is enforced (a correctness check, not a timing assertion): a URL valid for 1 s is
  // refused 2 s later.
  auto short_url = store->PresignGet(d, 1);
  ASSERT_TRUE(short_url.ok());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  auto [late, late_body] = Curl("GET", short_url->url);
  EXPECT_EQ(late, 403) << late_body;
  EXPECT_NE(late_body.find("AccessDenied"), std::string::npos) << late_body;
}

TEST_F(S3Radosgw, PresignedPutOnlyAcceptsTheRightBytes) {
  auto store = Store();
  ASSERT_TRUE(store);
  const std::string data = Pattern(100000, 10);
  const oci::Digest d = Sha256Of(data);
  auto url = store->PresignPut(d, 300);
  ASSERT_TRUE(url.ok()) << url.error().ToString();
  ASSERT_EQ(url->headers.size(), 1u);
  const std::string wrong = Pattern(100000, 11);
  auto [bad_code, bad_body] = Curl("PUT", url->url, url->headers, &wrong);
  EXPECT_GE(bad_code, 400) << bad_body;
  EXPECT_EQ(store->Stat(d).error().code, ErrorCode::kNotFound) << "wrong bytes under the digest";
  // Without the signed header the signature does not match.
  auto [nohdr, nohdr_body] = Curl("PUT", url->url, {}, &data);
  EXPECT_EQ(nohdr, 403) << nohdr_body;
  EXPECT_EQ(store->Stat(d).error().code, ErrorCode::kNotFound);
  auto [ok_code, ok_body] = Curl("PUT", url->url, url->headers, &data);
  EXPECT_EQ(ok_code, 200) << ok_body;
  auto st = store->Stat(d);
  ASSERT_TRUE(st.ok()) << st.error().ToString();
  EXPECT_EQ(st->size, data.size());
  EXPECT_FALSE(store->PresignPut(Sha512Of(data), 60).ok());
}

TEST_F(S3Radosgw, WrongCredentialsGiveClearErrors) {
  S3BlobStoreOptions o = Options();
  o.secret_key = "not-the-secret";
  o.max_attempts = 1;
  // The bucket check at start: HEAD has no error body, so the status speaks.
  auto checked = CreateS3BlobStore(o);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().code, ErrorCode::kPermissionDenied) << checked.error().message;
  EXPECT_NE(checked.error().message.find("HTTP 403"), std::string::npos) << checked.error().message;

  o.check_bucket = false;
  auto store = Store(o);
  ASSERT_TRUE(store);
  auto put = Upload(*store, "x", Sha256Of("x"));
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().code, ErrorCode::kPermissionDenied) << put.error().message;
  EXPECT_NE(put.error().message.find("SignatureDoesNotMatch"), std::string::npos)
      << put.error().message;

  o = Options();
  o.access_key = "NOSUCHACCESSKEY";
  o.check_bucket = false;
  auto unknown = Store(o);
  ASSERT_TRUE(unknown);
  auto put2 = Upload(*unknown, "x", Sha256Of("x"));
  ASSERT_FALSE(put2.ok());
  EXPECT_EQ(put2.error().code, ErrorCode::kUnauthenticated) << put2.error().message;
  EXPECT_NE(put2.error().message.find("InvalidAccessKeyId"), std::string::npos)
      << put2.error().message;

  o = Options();
  o.bucket = "no-such-bucket-" + RandomId().substr(0, 8);
  auto nobucket = CreateS3BlobStore(o);
  ASSERT_FALSE(nobucket.ok());
  EXPECT_EQ(nobucket.error().code, ErrorCode::kFailedPrecondition) << nobucket.error().message;
  EXPECT_NE(nobucket.error().message.find("does not exist"), std::string::npos);
}

TEST_F(S3Radosgw, AbortedMultipartUploadIsGone) {
  auto store = Store();
  ASSERT_TRUE(store);
  auto w = store->CreateUpload();
  ASSERT_TRUE(w.ok());
  const std::string id = (*w)->id();
  ASSERT_TRUE((*w)->Append(AsBytes(Pattern(12 * kMiB, 12))).ok());
  w->reset();
  ASSERT_EQ(OpenMultipartKeys().size(), 1u);
  ASSERT_TRUE(store->AbortUpload(id).ok());
  EXPECT_TRUE(OpenMultipartKeys().empty());
  EXPECT_EQ(store->OpenUpload(id).error().wire, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_EQ(store->AbortUpload(id).error().wire, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_EQ(store->AbortUpload("not-an-id").error().wire, "BLOB_UPLOAD_UNKNOWN");

  // Aborting from another process (after a restart) finds the upload through S3.
  auto w2 = store->CreateUpload();
  ASSERT_TRUE(w2.ok());
  const std::string id2 = (*w2)->id();
  ASSERT_TRUE((*w2)->Append(AsBytes(Pattern(6 * kMiB, 13))).ok());
  w2->reset();
  auto other = Store();
  ASSERT_TRUE(other->AbortUpload(id2).ok());
  EXPECT_TRUE(OpenMultipartKeys().empty());

  // A small upload lives only in memory until it is committed; aborting forgets it.
  auto w3 = store->CreateUpload();
  ASSERT_TRUE(w3.ok());
  const std::string id3 = (*w3)->id();
  ASSERT_TRUE((*w3)->Append(AsBytes(std::string_view("tiny"))).ok());
  w3->reset();
  ASSERT_TRUE(store->AbortUpload(id3).ok());
  EXPECT_EQ(store->OpenUpload(id3).error().wire, "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(S3Radosgw, CleanupUploadsAbortsOnlyStaleUploads) {
  auto store = Store();
  ASSERT_TRUE(store);
  auto part_upload = store->CreatePartUpload();
  ASSERT_TRUE(part_upload.ok());
  ASSERT_TRUE(store->UploadPart(*part_upload, 1, AsBytes(std::string_view("p"))).ok());
  auto w = store->CreateUpload();
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append(AsBytes(Pattern(6 * kMiB, 14))).ok());
  const std::string writer_id = (*w)->id();
  w->reset();
  auto small = store->CreateUpload();
  ASSERT_TRUE(small.ok());
  ASSERT_TRUE((*small)->Append(AsBytes(std::string_view("s"))).ok());
  small->reset();
  ASSERT_EQ(OpenMultipartKeys().size(), 2u);

  // Fresh uploads survive a cleanup with a generous age.
  auto none = store->CleanupUploads(3600);
  ASSERT_TRUE(none.ok()) << none.error().ToString();
  EXPECT_EQ(*none, 0u);
  EXPECT_EQ(OpenMultipartKeys().size(), 2u);

  // An upload a writer holds is never collected, however old.
  auto held = store->OpenUpload(writer_id);
  ASSERT_TRUE(held.ok());
  auto some = store->CleanupUploads(-1);  // everything counts as stale
  ASSERT_TRUE(some.ok()) << some.error().ToString();
  EXPECT_EQ(*some, 2u);  // the part upload (in S3) and the small one (in memory)
  EXPECT_EQ(OpenMultipartKeys(), std::vector<std::string>{prefix_ + "uploads/" + writer_id});
  held->reset();

  // Another process (restart) collects what it finds in S3.
  auto other = Store();
  auto rest = other->CleanupUploads(-1);
  ASSERT_TRUE(rest.ok()) << rest.error().ToString();
  EXPECT_EQ(*rest, 1u);
  EXPECT_TRUE(OpenMultipartKeys().empty());
}

TEST_F(S3Radosgw, ParallelUploadsOfTheSameBlob) {
  auto store = Store();
  ASSERT_TRUE(store);
  const std::string data = Pattern(7 * kMiB, 15);
  const oci::Digest d = Sha256Of(data);
  std::vector<std::thread> threads;
  std::vector<Status> results(3);
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      auto r = Upload(*store, data, d, 512 * 1024);
      results[i] = r.ok() ? Ok() : Status(r.error());
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_TRUE(r.ok()) << r.error().ToString();
  auto all = store->ReadAll(d, 64 * kMiB);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Sha256Of(AsString(*all)), d);
  EXPECT_TRUE(OpenMultipartKeys().empty());
  EXPECT_EQ(ObjectKeys().size(), 1u);
}

TEST_F(S3Radosgw, ConnectionsAreReused) {
  auto raw = Raw();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(raw->HeadBucket().ok());
  EXPECT_EQ(raw->http().idle_connections(), 1u);
}

}  // namespace
}  // namespace atcr::storage
