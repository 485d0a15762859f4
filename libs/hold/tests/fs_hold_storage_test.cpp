#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "atcr/hold/hold_storage.h"
#include "test_util.h"

namespace atcr::hold {
namespace {

using testing::RunSync;
using testing::StringBody;

std::string Pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + (i * 7) % 23);
  return s;
}

class FsHoldStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = CreateFsHoldStorage({.root = dir_.path(), .fsync = false});
    ASSERT_TRUE(s.ok()) << s.error().message;
    storage_ = *s;
  }

  std::string Start(const std::string& data) {
    auto id = RunSync(storage_->StartUpload(oci::Digest::Sha256Of(AsBytes(data))));
    EXPECT_TRUE(id.ok());
    return id.ok() ? *id : "";
  }
  Result<std::string> Part(const std::string& id, int n, const std::string& data,
                           std::optional<size_t> fail_after = std::nullopt) {
    StringBody body(data, 4096, fail_after);
    return RunSync(storage_->WritePart(id, n, body));
  }
  Result<StoredBlob> Complete(const std::string& id, const std::string& data,
                              std::vector<PartRef> parts) {
    return RunSync(
        storage_->CompleteUpload(id, oci::Digest::Sha256Of(AsBytes(data)), std::move(parts)));
  }
  std::string ReadBlob(const std::string& data) {
    auto r = RunSync(storage_->Open(oci::Digest::Sha256Of(AsBytes(data))));
    if (!r.ok() || r->fd < 0) return "<missing>";
    std::string out(r->size, '\0');
    ssize_t n = ::pread(r->fd, out.data(), out.size(), 0);
    ::close(r->fd);
    if (n != static_cast<ssize_t>(out.size())) return "<short>";
    return out;
  }
  size_t UploadDirs() {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir_.path() + "/multipart")) {
      (void)e;
      ++n;
    }
    return n;
  }

  testing::TempDir dir_;
  std::shared_ptr<HoldStorage> storage_;
};

TEST_F(FsHoldStorageTest, OnePartUploadBecomesABlob) {
  std::string data = Pattern(300000, 'a');
  std::string id = Start(data);
  auto etag = Part(id, 1, data);
  ASSERT_TRUE(etag.ok()) << etag.error().message;
  auto blob = Complete(id, data, {{1, *etag}});
  ASSERT_TRUE(blob.ok()) << blob.error().message;
  EXPECT_EQ(blob->size, data.size());
  EXPECT_EQ(ReadBlob(data), data);
  EXPECT_EQ(UploadDirs(), 0u);
  auto st = RunSync(storage_->Stat(oci::Digest::Sha256Of(AsBytes(data))));
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, data.size());
  // storage::FsBlobStore's layout: blobs/sha256/<xx>/<hex>, read-only.
  std::string hex(oci::Digest::Sha256Of(AsBytes(data)).encoded());
  struct stat info {};
  ASSERT_EQ(::stat((dir_.path() + "/blobs/sha256/" + hex.substr(0, 2) + "/" + hex).c_str(), &info),
            0);
  EXPECT_EQ(info.st_mode & 0777, 0444u);
}

TEST_F(FsHoldStorageTest, PartsInAnyOrderAreJoinedByNumber) {
  std::string a = Pattern(70000, 'a'), b = Pattern(50000, 'b'), c = Pattern(1234, 'c');
  std::string all = a + b + c;
  std::string id = Start(all);
  auto e3 = Part(id, 3, c);
  auto e1 = Part(id, 1, a);
  auto e2 = Part(id, 2, b);
  ASSERT_TRUE(e1.ok() && e2.ok() && e3.ok());
  auto blob = Complete(id, all, {{1, *e1}, {2, *e2}, {3, *e3}});
  ASSERT_TRUE(blob.ok()) << blob.error().message;
  EXPECT_EQ(ReadBlob(all), all);
}

TEST_F(FsHoldStorageTest, ResentPartReplacesTheEarlierOne) {
  std::string a = Pattern(10000, 'a'), b = Pattern(9000, 'b');
  std::string all = a + b;
  std::string id = Start(all);
  auto e1 = Part(id, 1, Pattern(10000, 'x'));  // wrong bytes first
  auto e2 = Part(id, 2, b);
  auto e1b = Part(id, 1, a);                   // re-sent: rolls the ordered hash back
  ASSERT_TRUE(e1.ok() && e2.ok() && e1b.ok());
  EXPECT_NE(*e1, *e1b);
  // The replaced version is gone.
  auto stale = Complete(id, all, {{1, *e1}, {2, *e2}});
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().wire, "InvalidPart");
  auto blob = Complete(id, all, {{1, *e1b}, {2, *e2}});
  ASSERT_TRUE(blob.ok()) << blob.error().message;
  EXPECT_EQ(ReadBlob(all), all);
}

TEST_F(FsHoldStorageTest, BrokenPartLeavesNoTraceAndCanBeResent) {
  std::string data = Pattern(100000, 'q');
  std::string id = Start(data);
  auto broken = Part(id, 1, data, 30000);
  ASSERT_FALSE(broken.ok());
  auto again = Part(id, 1, data);
  ASSERT_TRUE(again.ok());
  auto blob = Complete(id, data, {{1, *again}});
  ASSERT_TRUE(blob.ok()) << blob.error().message;
  EXPECT_EQ(ReadBlob(data), data);
}

// Parts larger than one step of the receive/hash/write pipeline (1 MiB), with an odd tail,
// on a durable store (writeback started as the part streams): the bytes and the digest known
// from the ordered hash must be exactly those sent.
TEST_F(FsHoldStorageTest, LargePartsStreamThroughThePipelineIntact) {
  testing::TempDir durable_dir;
  auto durable = CreateFsHoldStorage({.root = durable_dir.path(), .fsync = true});
  ASSERT_TRUE(durable.ok()) << durable.error().message;
  storage_ = *durable;
  std::string a = Pattern(3 * 1024 * 1024 + 12345, 'a');
  std::string b = Pattern(1024 * 1024, 'b');  // exactly one step
  std::string all = a + b;
  std::string id = Start(all);
  StringBody body_a(a, 65536 + 17);  // reads that do not line up with the steps
  auto e1 = RunSync(storage_->WritePart(id, 1, body_a));
  StringBody body_b(b, 1 << 20);
  auto e2 = RunSync(storage_->WritePart(id, 2, body_b));
  ASSERT_TRUE(e1.ok() && e2.ok());
  auto blob = Complete(id, all, {{1, *e1}, {2, *e2}});
  ASSERT_TRUE(blob.ok()) << blob.error().message;
  EXPECT_EQ(blob->size, all.size());
  EXPECT_TRUE(ReadBlob(all) == all);
}

TEST_F(FsHoldStorageTest, PartBrokenInTheMiddleOfThePipelineLeavesNoTrace) {
  std::string data = Pattern(2 * 1024 * 1024 + 999, 'p');
  std::string id = Start(data);
  auto broken = Part(id, 1, data, 1536 * 1024);  // while the first step is being written
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code, ErrorCode::kUnavailable);
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_.path() + "/multipart/" + id)) {
    files += e.path().filename() == "meta" ? 0 : 1;
  }
  EXPECT_EQ(files, 0u);
  auto again = Part(id, 1, data);
  ASSERT_TRUE(again.ok());
  auto blob = Complete(id, data, {{1, *again}});
  ASSERT_TRUE(blob.ok()) << blob.error().message;
  EXPECT_TRUE(ReadBlob(data) == data);
}

TEST_F(FsHoldStorageTest, DigestMismatchDiscardsTheUpload) {
  std::string data = Pattern(5000, 'd');
  std::string id = Start(data);
  auto etag = Part(id, 1, Pattern(5000, 'e'));
  ASSERT_TRUE(etag.ok());
  auto blob = Complete(id, data, {{1, *etag}});
  ASSERT_FALSE(blob.ok());
  EXPECT_EQ(blob.error().wire, "DigestMismatch");
  EXPECT_EQ(UploadDirs(), 0u);
  EXPECT_EQ(ReadBlob(data), "<missing>");
  auto after = Part(id, 1, data);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().wire, "UploadNotFound");
}

TEST_F(FsHoldStorageTest, CompletingForAnotherDigestThanStartedIsAMismatch) {
  std::string data = Pattern(5000, 'd');
  std::string other = Pattern(5000, 'o');
  std::string id = Start(data);
  auto etag = Part(id, 1, other);
  ASSERT_TRUE(etag.ok());
  auto blob = Complete(id, other, {{1, *etag}});  // bytes match `other`, upload was for `data`
  ASSERT_FALSE(blob.ok());
  EXPECT_EQ(blob.error().wire, "DigestMismatch");
}

TEST_F(FsHoldStorageTest, PartListMustBeAscending) {
  std::string data = Pattern(100, 'a');
  std::string id = Start(data);
  auto e1 = Part(id, 1, data);
  ASSERT_TRUE(e1.ok());
  auto r = Complete(id, data, {{2, *e1}, {1, *e1}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().wire, "InvalidPartNumber");
  auto bad = Part(id, 10001, data);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().wire, "InvalidPartNumber");
}

TEST_F(FsHoldStorageTest, UnknownAndMalformedUploadIds) {
  StringBody body("x");
  auto r = RunSync(storage_->WritePart("../../etc", 1, body));
  EXPECT_EQ(r.error().wire, "UploadNotFound");
  Status st = RunSync(storage_->AbortUpload(std::string(32, 'a')));
  EXPECT_EQ(st.error().wire, "UploadNotFound");
}

TEST_F(FsHoldStorageTest, AbortRemovesParts) {
  std::string data = Pattern(100, 'a');
  std::string id = Start(data);
  ASSERT_TRUE(Part(id, 1, data).ok());
  ASSERT_TRUE(RunSync(storage_->AbortUpload(id)).ok());
  EXPECT_EQ(UploadDirs(), 0u);
}

TEST_F(FsHoldStorageTest, CleanupRemovesOnlyStaleUploads) {
  std::string data = Pattern(100, 'a');
  std::string old_id = Start(data);
  std::string fresh_id = Start(data);
  // Age the first upload by two hours.
  std::string meta = dir_.path() + "/multipart/" + old_id + "/meta";
  struct timespec times[2];
  times[0].tv_sec = times[1].tv_sec = ::time(nullptr) - 7200;
  times[0].tv_nsec = times[1].tv_nsec = 0;
  ASSERT_EQ(::utimensat(AT_FDCWD, meta.c_str(), times, 0), 0);
  auto removed = RunSync(storage_->CleanupUploads(3600));
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/multipart/" + old_id));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/multipart/" + fresh_id));
}

TEST_F(FsHoldStorageTest, ListAndDelete) {
  std::string data = Pattern(10, 'z');
  std::string id = Start(data);
  auto e = Part(id, 1, data);
  ASSERT_TRUE(Complete(id, data, {{1, *e}}).ok());
  auto list = RunSync(storage_->List());
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].digest, oci::Digest::Sha256Of(AsBytes(data)));
  ASSERT_TRUE(RunSync(storage_->Delete(oci::Digest::Sha256Of(AsBytes(data)))).ok());
  EXPECT_EQ(RunSync(storage_->Delete(oci::Digest::Sha256Of(AsBytes(data)))).error().code,
            ErrorCode::kNotFound);
  EXPECT_FALSE(storage_->can_presign());
  EXPECT_EQ(storage_->PresignGet(oci::Digest::Sha256Of(AsBytes(data)), 60).error().code,
            ErrorCode::kUnimplemented);
}

}  // namespace
}  // namespace atcr::hold
