#include "atcr/storage/fs_blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "atcr/base/hash.h"

namespace atcr::storage {
namespace {

namespace fs = std::filesystem;

oci::Digest Sha256Of(std::string_view s) { return oci::Digest::Sha256Of(AsBytes(s)); }
oci::Digest Sha512Of(std::string_view s) {
  Hasher h(HashAlgorithm::kSha512);
  h.Update(s);
  return oci::Digest::FromHash(HashAlgorithm::kSha512, h.Finish());
}
oci::Digest MustParse(const std::string& s) {
  auto d = oci::Digest::Parse(s);
  EXPECT_TRUE(d.ok()) << s;
  return d.ok() ? *d : oci::Digest();
}

std::string ReadFd(int fd, uint64_t size) {
  std::string out(size, '\0');
  uint64_t off = 0;
  while (off < size) {
    ssize_t n = ::pread(fd, out.data() + off, size - off, static_cast<off_t>(off));
    if (n <= 0) break;
    off += static_cast<uint64_t>(n);
  }
  out.resize(off);
  return out;
}

// Regular files anywhere under dir.
std::vector<std::string> FilesUnder(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file()) out.push_back(it->path().string());
  }
  return out;
}

void SetMtime(const fs::path& p, int64_t unix_seconds) {
  struct timespec times[2];
  times[0].tv_sec = unix_seconds;
  times[0].tv_nsec = 0;
  times[1] = times[0];
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), times, 0), 0) << p;
}

class FsBlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/atcr_storage_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    base_ = tmpl;
    root_ = base_ / "store";
    store_ = Open();
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    // Committed blobs are read-only files; remove_all unlinks them regardless.
    fs::remove_all(base_, ec);
  }

  std::unique_ptr<BlobStore> Open(int64_t stale_seconds = 24 * 3600, bool fsync = false) {
    FsBlobStoreOptions o;
    o.root = root_.string();
    o.stale_upload_seconds = stale_seconds;
    o.fsync = fsync;
    auto s = CreateFsBlobStore(o);
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  std::unique_ptr<UploadWriter> NewUpload() {
    auto w = store_->CreateUpload();
    EXPECT_TRUE(w.ok()) << w.error().ToString();
    return w.ok() ? std::move(w).value() : nullptr;
  }

  std::string ReadBlob(const oci::Digest& d) {
    auto r = store_->Open(d);
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    if (!r.ok()) return {};
    std::string s = ReadFd(r->fd, r->size);
    ::close(r->fd);
    return s;
  }

  fs::path base_;
  fs::path root_;
  std::unique_ptr<BlobStore> store_;
};

TEST_F(FsBlobStoreTest, RoundTrip) {
  const std::string content = "hello, content-addressed world";
  const oci::Digest d = Sha256Of(content);
  auto w = NewUpload();
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->id().size(), 32u);
  ASSERT_TRUE(w->Append(AsBytes(content.substr(0, 5))).ok());
  ASSERT_TRUE(w->Append(AsBytes(std::string_view())).ok());
  ASSERT_TRUE(w->Append(AsBytes(content.substr(5))).ok());
  EXPECT_EQ(w->size(), content.size());
  auto info = w->Commit(d);
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_EQ(info->digest, d);
  EXPECT_EQ(info->size, content.size());
  EXPECT_GT(info->modified_unix, 0);

  auto st = store_->Stat(d);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, content.size());
  EXPECT_EQ(ReadBlob(d), content);

  auto r = store_->Open(d);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(::fcntl(r->fd, F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_EQ(::fcntl(r->fd, F_GETFL) & O_ACCMODE, O_RDONLY);
  EXPECT_TRUE(r->redirect_url.empty());
  ::close(r->fd);

  auto all = store_->ReadAll(d, 1024);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(AsString(*all), content);
  auto small = store_->ReadAll(d, 4);
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.error().code, ErrorCode::kResourceExhausted);

  auto list = store_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].digest, d);
  EXPECT_EQ((*list)[0].size, content.size());

  ASSERT_TRUE(store_->Delete(d).ok());
  auto gone = store_->Stat(d);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(gone.error().wire, "BLOB_UNKNOWN");
  auto again = store_->Delete(d);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().wire, "BLOB_UNKNOWN");
  auto open_gone = store_->Open(d);
  ASSERT_FALSE(open_gone.ok());
  EXPECT_EQ(open_gone.error().wire, "BLOB_UNKNOWN");
  EXPECT_TRUE(store_->List()->empty());
}

TEST_F(FsBlobStoreTest, OnDiskLayout) {
  auto w = NewUpload();
  ASSERT_NE(w, nullptr);
  const fs::path up = root_ / "uploads" / w->id();
  EXPECT_TRUE(fs::is_regular_file(up / "data"));
  EXPECT_TRUE(fs::is_regular_file(up / "startedat"));
  ASSERT_TRUE(w->Append(AsBytes("layout")).ok());
  const oci::Digest d = Sha256Of("layout");
  ASSERT_TRUE(w->Commit(d).ok());
  const fs::path blob = root_ / "blobs" / "sha256" / std::string(d.encoded().substr(0, 2)) /
                        std::string(d.encoded());
  struct stat st;
  ASSERT_EQ(::stat(blob.c_str(), &st), 0) << blob;
  EXPECT_EQ(st.st_mode & 0777, 0444u);
  EXPECT_FALSE(fs::exists(up)) << "a committed upload leaves nothing behind";
}

TEST_F(FsBlobStoreTest, DurableCommitWithFsync) {
  store_ = Open(24 * 3600, /*fsync=*/true);
  ASSERT_NE(store_, nullptr);
  auto info = store_->Put(AsBytes("durable"));
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_EQ(ReadBlob(Sha256Of("durable")), "durable");
  ASSERT_TRUE(store_->Delete(Sha256Of("durable")).ok());
}

TEST_F(FsBlobStoreTest, EmptyBlobs) {
  auto zero = store_->Put(AsBytes(std::string_view()));
  ASSERT_TRUE(zero.ok()) << zero.error().ToString();
  EXPECT_EQ(zero->digest.str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(zero->size, 0u);
  EXPECT_EQ(ReadBlob(zero->digest), "");
  auto empty_json = store_->Put(AsBytes("{}"));
  ASSERT_TRUE(empty_json.ok());
  EXPECT_EQ(empty_json->digest.str(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
}

TEST_F(FsBlobStoreTest, DigestMismatchKeepsUpload) {
  auto w = NewUpload();
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(w->Append(AsBytes("abc")).ok());
  auto bad = w->Commit(Sha256Of("abd"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().wire, "DIGEST_INVALID");
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find(Sha256Of("abc").str()), std::string::npos);
  EXPECT_FALSE(store_->Stat(Sha256Of("abd")).ok());
  EXPECT_FALSE(store_->Stat(Sha256Of("abc")).ok());
  EXPECT_TRUE(store_->List()->empty());
  EXPECT_EQ(w->size(), 3u);

  // The client may send the rest and retry, on this writer or a reopened one.
  ASSERT_TRUE(w->Append(AsBytes("def")).ok());
  const std::string id = w->id();
  w.reset();
  auto reopened = store_->OpenUpload(id);
  ASSERT_TRUE(reopened.ok()) << reopened.error().ToString();
  auto wrong512 = (*reopened)->Commit(Sha512Of("abc"));
  ASSERT_FALSE(wrong512.ok());
  EXPECT_EQ(wrong512.error().wire, "DIGEST_INVALID");
  auto good = (*reopened)->Commit(Sha256Of("abcdef"));
  ASSERT_TRUE(good.ok()) << good.error().ToString();
  EXPECT_EQ(ReadBlob(Sha256Of("abcdef")), "abcdef");
}

TEST_F(FsBlobStoreTest, UnsupportedDigestsRejected) {
  auto w = NewUpload();
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(w->Append(AsBytes("x")).ok());
  const oci::Digest unsupported = MustParse("sha384:abcdef");
  auto c = w->Commit(unsupported);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().wire, "DIGEST_INVALID");
  auto c2 = w->Commit(oci::Digest());
  ASSERT_FALSE(c2.ok());
  EXPECT_EQ(c2.error().wire, "DIGEST_INVALID");
  ASSERT_TRUE(w->Commit(Sha256Of("x")).ok()) << "the upload survives a rejected digest";

  for (const oci::Digest& d : {unsupported, MustParse("blake3:" + std::string(64, 'a')),
                               oci::Digest()}) {
    SCOPED_TRACE(d.str());
    EXPECT_EQ(store_->Stat(d).error().wire, "DIGEST_INVALID");
    EXPECT_EQ(store_->Open(d).error().wire, "DIGEST_INVALID");
    EXPECT_EQ(store_->Delete(d).error().wire, "DIGEST_INVALID");
  }
}

TEST_F(FsBlobStoreTest, Sha512Commit) {
  const std::string content(300000, 'z');
  auto w = NewUpload();
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(w->Append(AsBytes(content)).ok());
  const oci::Digest d = Sha512Of(content);
  auto info = w->Commit(d);
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_EQ(info->digest, d);
  EXPECT_EQ(ReadBlob(d), content);
  EXPECT_FALSE(store_->Stat(Sha256Of(content)).ok()) << "stored under the digest asked for";
  auto list = store_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].digest.algorithm(), "sha512");
}

TEST_F(FsBlobStoreTest, ResumeInSameProcess) {
  auto w = NewUpload();
  ASSERT_NE(w, nullptr);
  const std::string id = w->id();
  ASSERT_TRUE(w->Append(AsBytes("chunk1-")).ok());
  w.reset();
  for (std::string_view chunk : {"chunk2-", "chunk3"}) {
    auto r = store_->OpenUpload(id);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    ASSERT_TRUE((*r)->Append(AsBytes(chunk)).ok());
  }
  auto r = store_->OpenUpload(id);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->id(), id);
  EXPECT_EQ((*r)->size(), std::string("chunk1-chunk2-chunk3").size());
  ASSERT_TRUE((*r)->Commit(Sha256Of("chunk1-chunk2-chunk3")).ok());
  EXPECT_EQ(ReadBlob(Sha256Of("chunk1-chunk2-chunk3")), "chunk1-chunk2-chunk3");
}

TEST_F(FsBlobStoreTest, ResumeAfterRestart) {
  std::string id;
  {
    auto w = NewUpload();
    ASSERT_NE(w, nullptr);
    id = w->id();
    ASSERT_TRUE(w->Append(AsBytes("before restart, ")).ok());
  }
  store_.reset();  // the process "restarts": no in-memory state survives
  store_ = Open();
  ASSERT_NE(store_, nullptr);
  auto r = store_->OpenUpload(id);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ((*r)->size(), 16u);
  ASSERT_TRUE((*r)->Append(AsBytes("after restart")).ok());
  const std::string all = "before restart, after restart";
  auto wrong = (*r)->Commit(Sha256Of("after restart"));
  ASSERT_FALSE(wrong.ok()) << "the re-hash covers the bytes written before the restart";
  ASSERT_TRUE((*r)->Commit(Sha256Of(all)).ok());
  EXPECT_EQ(ReadBlob(Sha256Of(all)), all);
}

TEST_F(FsBlobStoreTest, WriterOutlivesStore) {
  auto w = NewUpload();
  ASSERT_NE(w, nullptr);
  store_.reset();
  ASSERT_TRUE(w->Append(AsBytes("orphan")).ok());
  ASSERT_TRUE(w->Commit(Sha256Of("orphan")).ok());
  w.reset();
  store_ = Open();
  EXPECT_EQ(ReadBlob(Sha256Of("orphan")), "orphan");
}

TEST_F(FsBlobStoreTest, UploadInUseCannotBeOpenedTwice) {
  auto w = NewUpload();
  ASSERT_NE(w, nullptr);
  auto second = store_->OpenUpload(w->id());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().wire, "BLOB_UPLOAD_INVALID");
  const std::string id = w->id();
  w.reset();
  EXPECT_TRUE(store_->OpenUpload(id).ok());
}

TEST_F(FsBlobStoreTest, UnknownAndFinishedUploads) {
  auto unknown = store_->OpenUpload(std::string(32, 'a'));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(unknown.error().wire, "BLOB_UPLOAD_UNKNOWN");

  auto w = NewUpload();
  ASSERT_NE(w, nullptr);
  const std::string id = w->id();
  ASSERT_TRUE(w->Append(AsBytes("once")).ok());
  ASSERT_TRUE(w->Commit(Sha256Of("once")).ok());
  EXPECT_EQ(w->Append(AsBytes("more")).error().wire, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_EQ(w->Commit(Sha256Of("once")).error().wire, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_EQ(store_->OpenUpload(id).error().wire, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_EQ(store_->AbortUpload(id).error().wire, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_EQ(ReadBlob(Sha256Of("once")), "once") << "the committed blob is untouched";
}

TEST_F(FsBlobStoreTest, AbortUpload) {
  auto w = NewUpload();
  ASSERT_NE(w, nullptr);
  const std::string id = w->id();
  ASSERT_TRUE(w->Append(AsBytes("doomed")).ok());
  ASSERT_TRUE(store_->AbortUpload(id).ok());
  EXPECT_FALSE(fs::exists(root_ / "uploads" / id));
  // A writer still holding the aborted upload cannot resurrect it.
  auto c = w->Commit(Sha256Of("doomed"));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().wire, "BLOB_UPLOAD_UNKNOWN");
  w.reset();
  EXPECT_EQ(store_->OpenUpload(id).error().wire, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_EQ(store_->AbortUpload(id).error().wire, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_FALSE(store_->Stat(Sha256Of("doomed")).ok());
}

TEST_F(FsBlobStoreTest, PathTraversalRejected) {
  // A victim directory next to the store, reachable as uploads/../../victim.
  fs::create_directories(base_ / "victim");
  std::ofstream(base_ / "victim" / "data") << "secret";
  fs::create_directories(root_ / "uploads" / "x");
  const std::string bad_ids[] = {
      "",
      "..",
      "../../victim",
      "../blobs",
      "x",
      "/etc/passwd",
      std::string(31, 'a'),
      std::string(33, 'a'),
      std::string(32, 'A'),
      std::string(30, 'a') + "/.",
      std::string(30, 'a') + "..",
      std::string(31, 'a') + '\0',
      std::string(31, 'a') + "g",
  };
  for (const std::string& id : bad_ids) {
    SCOPED_TRACE(id);
    auto o = store_->OpenUpload(id);
    ASSERT_FALSE(o.ok());
    EXPECT_EQ(o.error().wire, "BLOB_UPLOAD_UNKNOWN");
    auto a = store_->AbortUpload(id);
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.error().wire, "BLOB_UPLOAD_UNKNOWN");
  }
  EXPECT_TRUE(fs::exists(base_ / "victim" / "data"));
  EXPECT_TRUE(fs::exists(root_ / "uploads" / "x"));
  // Cleanup leaves entries that are not upload ids alone, however old.
  SetMtime(root_ / "uploads" / "x", 1000);
  auto n = store_->CleanupUploads(0);
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(fs::exists(root_ / "uploads" / "x"));
}

TEST_F(FsBlobStoreTest, CleanupRemovesOnlyStaleUploads) {
  auto stale = NewUpload();
  auto fresh = NewUpload();
  auto held = NewUpload();
  ASSERT_TRUE(stale && fresh && held);
  ASSERT_TRUE(stale->Append(AsBytes("old")).ok());
  ASSERT_TRUE(fresh->Append(AsBytes("new")).ok());
  const std::string stale_id = stale->id(), fresh_id = fresh->id(), held_id = held->id();
  stale.reset();
  fresh.reset();
  const int64_t old = ::time(nullptr) - 2 * 3600;
  SetMtime(root_ / "uploads" / stale_id / "data", old);
  SetMtime(root_ / "uploads" / held_id / "data", old);

  auto n = store_->CleanupUploads(3600);
  ASSERT_TRUE(n.ok()) << n.error().ToString();
  EXPECT_EQ(*n, 1u);
  EXPECT_FALSE(fs::exists(root_ / "uploads" / stale_id));
  EXPECT_EQ(store_->OpenUpload(stale_id).error().wire, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_TRUE(store_->OpenUpload(fresh_id).ok());
  // Old bytes but a writer holds it: in use, not stale.
  EXPECT_TRUE(fs::exists(root_ / "uploads" / held_id / "data"));
  ASSERT_TRUE(held->Append(AsBytes("still here")).ok());
  ASSERT_TRUE(held->Commit(Sha256Of("still here")).ok());
}

TEST_F(FsBlobStoreTest, StartupCleansStaleUploads) {
  std::string stale_id, fresh_id, no_data_id;
  {
    auto a = NewUpload();
    auto b = NewUpload();
    auto c = NewUpload();
    ASSERT_TRUE(a && b && c);
    stale_id = a->id();
    fresh_id = b->id();
    no_data_id = c->id();
  }
  store_.reset();
  const int64_t old = ::time(nullptr) - 100 * 3600;
  SetMtime(root_ / "uploads" / stale_id / "data", old);
  // A crash between mkdir and creating data: judged by the directory's own age.
  fs::remove(root_ / "uploads" / no_data_id / "data");
  SetMtime(root_ / "uploads" / no_data_id, old);
  store_ = Open(/*stale_seconds=*/24 * 3600);
  ASSERT_NE(store_, nullptr);
  EXPECT_FALSE(fs::exists(root_ / "uploads" / stale_id));
  EXPECT_FALSE(fs::exists(root_ / "uploads" / no_data_id));
  EXPECT_TRUE(store_->OpenUpload(fresh_id).ok());

  // A negative age turns startup cleanup off.
  store_.reset();
  SetMtime(root_ / "uploads" / fresh_id / "data", old);
  store_ = Open(/*stale_seconds=*/-1);
  EXPECT_TRUE(fs::exists(root_ / "uploads" / fresh_id));
}

TEST_F(FsBlobStoreTest, NoPartialBlobVisibleDuringUpload) {
  const std::string content(1 << 20, 'p');
  const oci::Digest d = Sha256Of(content);
  auto w = NewUpload();
  ASSERT_NE(w, nullptr);
  for (size_t off = 0; off < content.size(); off += 64 * 1024) {
    ASSERT_TRUE(w->Append(AsBytes(std::string_view(content).substr(off, 64 * 1024))).ok());
    // Mid-upload, nothing under blobs/ and the digest is unknown.
    EXPECT_FALSE(store_->Stat(d).ok());
    EXPECT_TRUE(store_->List()->empty());
  }
  EXPECT_TRUE(FilesUnder(root_ / "blobs").empty());
  // Even the full bytes are invisible until a verified commit.
  EXPECT_EQ(store_->Stat(d).error().wire, "BLOB_UNKNOWN");
  ASSERT_FALSE(w->Commit(Sha256Of("not it")).ok());
  EXPECT_TRUE(FilesUnder(root_ / "blobs").empty());
  ASSERT_TRUE(w->Commit(d).ok());
  EXPECT_EQ(FilesUnder(root_ / "blobs").size(), 1u);
  EXPECT_EQ(store_->Stat(d)->size, content.size());
}

TEST_F(FsBlobStoreTest, ConcurrentSameDigestCommits) {
  std::string content;
  for (int i = 0; i < 50000; ++i) content += std::to_string(i);
  const oci::Digest d = Sha256Of(content);
  constexpr int kThreads = 8;
  std::atomic<int> ready{0};
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      auto w = store_->CreateUpload();
      if (!w.ok()) return;
      for (size_t off = 0; off < content.size(); off += 10000) {
        if (!(*w)->Append(AsBytes(std::string_view(content).substr(off, 10000))).ok()) return;
      }
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      auto info = (*w)->Commit(d);
      if (info.ok() && info->digest == d && info->size == content.size()) ok.fetch_add(1);
    });
  }
  // Readers racing the commits must only ever see the whole blob.
  std::atomic<bool> bad_read{false};
  std::thread reader([&] {
    while (ready.load() < kThreads) std::this_thread::yield();
    for (int i = 0; i < 200; ++i) {
      auto r = store_->Open(d);
      if (!r.ok()) continue;
      if (r->size != content.size() || ReadFd(r->fd, r->size) != content) bad_read = true;
      ::close(r->fd);
    }
  });
  for (auto& th : threads) th.join();
  reader.join();
  EXPECT_EQ(ok.load(), kThreads);
  EXPECT_FALSE(bad_read.load());
  EXPECT_EQ(ReadBlob(d), content);
  auto list = store_->List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
  EXPECT_TRUE(fs::is_empty(root_ / "uploads"));
}

TEST_F(FsBlobStoreTest, PutTwiceIsIdempotent) {
  auto a = store_->Put(AsBytes("same"));
  auto b = store_->Put(AsBytes("same"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->digest, b->digest);
  EXPECT_EQ(store_->List()->size(), 1u);
  EXPECT_TRUE(fs::is_empty(root_ / "uploads"));
}

TEST_F(FsBlobStoreTest, ListIgnoresStrayFiles) {
  ASSERT_TRUE(store_->Put(AsBytes("real")).ok());
  fs::create_directories(root_ / "blobs" / "sha256" / "zz");
  std::ofstream(root_ / "blobs" / "sha256" / "zz" / "not-a-digest") << "x";
  std::ofstream(root_ / "blobs" / "sha256" / "zz" / std::string(64, 'a')) << "x";  // wrong dir
  fs::create_directories(root_ / "blobs" / "md5" / "ab");
  std::ofstream(root_ / "blobs" / "md5" / "ab" / "abcd") << "x";
  auto list = store_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].digest, Sha256Of("real"));
}

TEST(FsBlobStoreOptions, RejectsEmptyRoot) {
  FsBlobStoreOptions o;
  EXPECT_FALSE(CreateFsBlobStore(o).ok());
}

}  // namespace
}  // namespace atcr::storage
