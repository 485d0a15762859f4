#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "atcr/oci/media_types.h"
#include "atcr/registry/filesystem.h"
#include "test_support.h"

namespace atcr::registry {
namespace {
using testing::RunSync;

oci::Digest D(std::string_view data) { return oci::Digest::Sha256Of(AsBytes(data)); }
oci::Reference Tag(std::string t) { return oci::Reference{std::move(t)}; }
oci::Reference ByDigest(const oci::Digest& d) { return oci::Reference{d}; }

class FsStoresTest : public ::testing::Test {
 protected:
  void SetUp() override { stores_ = testing::OpenStores(dir_.path(), content_); }

  ManifestPut Manifest(std::string repo, std::string body, std::vector<std::string> tags) {
    ManifestPut p;
    p.repository = std::move(repo);
    p.digest = D(body);
    p.bytes = std::move(body);
    p.media_type = std::string(oci::kOciManifest);
    p.tags = std::move(tags);
    return p;
  }

  testing::TempDir dir_;
  std::shared_ptr<storage::BlobStore> content_;
  FsStores stores_;
};

TEST_F(FsStoresTest, ManifestPutGetByTagAndDigest) {
  ManifestStore& ms = *stores_.manifests;
  ManifestPut p = Manifest("org/app", R"({"schemaVersion":2})", {"v1", "latest"});
  ASSERT_TRUE(RunSync(ms.Put(p)).ok());
  for (const oci::Reference& ref : {Tag("v1"), Tag("latest"), ByDigest(p.digest)}) {
    auto got = RunSync(ms.Get("org/app", ref));
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(got->bytes, p.bytes);
    EXPECT_EQ(got->media_type, oci::kOciManifest);
    EXPECT_EQ(got->digest, p.digest);
  }
  auto missing = RunSync(ms.Get("org/app", Tag("v2")));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().wire, "MANIFEST_UNKNOWN");
  EXPECT_FALSE(RunSync(ms.Get("other", Tag("v1"))).ok());
  // The layout the README documents.
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/repositories/org/app/_manifests/tags/v1"));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/repositories/org/app/_manifests/revisions/sha256/" +
                                      std::string(p.digest.encoded())));
}

TEST_F(FsStoresTest, TagsAreListedInByteOrderWithPaging) {
  ManifestStore& ms = *stores_.manifests;
  ASSERT_TRUE(RunSync(ms.Put(Manifest("r", "{}", {"b", "a", "C", "c"}))).ok());
  auto all = RunSync(ms.ListTags("r", "", 100));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::vector<std::string>{"C", "a", "b", "c"}));
  auto page = RunSync(ms.ListTags("r", "a", 2));
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(*page, (std::vector<std::string>{"b", "c"}));
  auto unknown = RunSync(ms.ListTags("nope", "", 10));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().wire, "NAME_UNKNOWN");
}

TEST_F(FsStoresTest, DeleteByDigestRemovesTagsAndReferrerEntry) {
  ManifestStore& ms = *stores_.manifests;
  ManifestPut subject = Manifest("r", R"({"s":1})", {"base"});
  ManifestPut p = Manifest("r", R"({"a":1})", {"v1", "v2"});
  p.subject = subject.digest;
  p.referrer.media_type = p.media_type;
  p.referrer.digest = p.digest;
  p.referrer.size = static_cast<int64_t>(p.bytes.size());
  p.referrer.artifact_type = "application/x-sig";
  p.referrer.annotations = {{"k", "v"}};
  ManifestPut other = Manifest("r", R"({"b":1})", {"keep"});
  for (auto* m : {&subject, &p, &other}) ASSERT_TRUE(RunSync(ms.Put(*m)).ok());

  auto refs = RunSync(ms.Referrers("r", subject.digest, std::nullopt));
  ASSERT_TRUE(refs.ok());
  ASSERT_EQ(refs->size(), 1u);
  EXPECT_EQ((*refs)[0].digest, p.digest);
  EXPECT_EQ((*refs)[0].artifact_type, "application/x-sig");
  EXPECT_EQ((*refs)[0].annotations.at("k"), "v");
  EXPECT_EQ(RunSync(ms.Referrers("r", subject.digest, std::string_view("x")))->size(), 0u);

  ASSERT_TRUE(RunSync(ms.Delete("r", p.digest)).ok());
  EXPECT_FALSE(RunSync(ms.Get("r", Tag("v1"))).ok());
  EXPECT_FALSE(RunSync(ms.Get("r", Tag("v2"))).ok());
  EXPECT_FALSE(RunSync(ms.Get("r", ByDigest(p.digest))).ok());
  EXPECT_TRUE(RunSync(ms.Get("r", Tag("keep"))).ok());
  EXPECT_EQ(RunSync(ms.Referrers("r", subject.digest, std::nullopt))->size(), 0u);
  auto again = RunSync(ms.Delete("r", p.digest));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().wire, "MANIFEST_UNKNOWN");
}

TEST_F(FsStoresTest, DeleteTagKeepsTheManifest) {
  ManifestStore& ms = *stores_.manifests;
  ManifestPut p = Manifest("r", "{}", {"v1"});
  ASSERT_TRUE(RunSync(ms.Put(p)).ok());
  ASSERT_TRUE(RunSync(ms.DeleteTag("r", "v1")).ok());
  EXPECT_FALSE(RunSync(ms.Get("r", Tag("v1"))).ok());
  EXPECT_TRUE(RunSync(ms.Get("r", ByDigest(p.digest))).ok());
  EXPECT_EQ(RunSync(ms.DeleteTag("r", "v1")).error().wire, "MANIFEST_UNKNOWN");
}

TEST_F(FsStoresTest, WarmCacheFollowsRetagsTagDeletesAndManifestDeletes) {
  ManifestStore& ms = *stores_.manifests;
  ManifestPut a = Manifest("r", R"({"a":1})", {"v1"});
  ManifestPut b = Manifest("r", R"({"b":2})", {});
  ASSERT_TRUE(RunSync(ms.Put(a)).ok());
  ASSERT_TRUE(RunSync(ms.Put(b)).ok());
  // Warm the cache by tag and by digest.
  ASSERT_EQ(RunSync(ms.Get("r", Tag("v1")))->digest, a.digest);
  ASSERT_TRUE(RunSync(ms.Get("r", ByDigest(b.digest))).ok());
  // Retag v1 to b: the warm entry must not keep answering a.
  b.tags = {"v1"};
  ASSERT_TRUE(RunSync(ms.Put(b)).ok());
  EXPECT_EQ(RunSync(ms.Get("r", Tag("v1")))->digest, b.digest);
  // Tag delete, then manifest delete, each visible at once.
  ASSERT_TRUE(RunSync(ms.DeleteTag("r", "v1")).ok());
  EXPECT_FALSE(RunSync(ms.Get("r", Tag("v1"))).ok());
  ASSERT_TRUE(RunSync(ms.Get("r", ByDigest(a.digest))).ok());
  ASSERT_TRUE(RunSync(ms.Delete("r", a.digest)).ok());
  EXPECT_FALSE(RunSync(ms.Get("r", ByDigest(a.digest))).ok());
  EXPECT_TRUE(RunSync(ms.Get("r", ByDigest(b.digest))).ok());
}

TEST_F(FsStoresTest, CatalogListsNestedRepositoriesInOrder) {
  ManifestStore& ms = *stores_.manifests;
  for (const char* r : {"b", "a/x", "a", "a/x/y", "c-d"}) {
    ASSERT_TRUE(RunSync(ms.Put(Manifest(r, "{}", {"t"}))).ok());
  }
  ASSERT_TRUE(RunSync(stores_.blobs->Link("blobonly", D("{}"))).ok());  // no manifest
  auto all = RunSync(ms.ListRepositories("", 100));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::vector<std::string>{"a", "a/x", "a/x/y", "b", "c-d"}));
  EXPECT_EQ(*RunSync(ms.ListRepositories("a/x", 2)), (std::vector<std::string>{"a/x/y", "b"}));
}

TEST_F(FsStoresTest, StoresRejectInvalidNames) {
  auto r = RunSync(stores_.manifests->Get("../etc", Tag("x")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().wire, "NAME_INVALID");
  EXPECT_EQ(RunSync(stores_.blobs->Stat("A", D("x"))).error().wire, "NAME_INVALID");
  EXPECT_EQ(RunSync(stores_.uploads->Create("a//b")).error().wire, "NAME_INVALID");
}

TEST_F(FsStoresTest, BlobsAreVisiblePerRepository) {
  auto stored = content_->Put(AsBytes(std::string_view("layer")));
  ASSERT_TRUE(stored.ok());
  oci::Digest d = stored->digest;
  BlobStore& bs = *stores_.blobs;
  EXPECT_EQ(RunSync(bs.Stat("a", d)).error().wire, "BLOB_UNKNOWN");
  ASSERT_TRUE(RunSync(bs.Link("a", d)).ok());
  auto info = RunSync(bs.Stat("a", d));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size, 5u);
  EXPECT_FALSE(RunSync(bs.Stat("b", d)).ok());
  std::vector<oci::Digest> want = {d, D("other")};
  auto missing = RunSync(bs.FindMissing("a", want));
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(*missing, std::vector<oci::Digest>{D("other")});
  auto opened = RunSync(bs.Open("a", d));
  ASSERT_TRUE(opened.ok());
  EXPECT_GE(opened->fd, 0);
  ::close(opened->fd);
  ASSERT_TRUE(RunSync(bs.Unlink("a", d)).ok());
  EXPECT_EQ(RunSync(bs.Unlink("a", d)).error().wire, "BLOB_UNKNOWN");
  EXPECT_EQ(RunSync(bs.Link("a", D("never stored"))).error().wire, "BLOB_UNKNOWN");
}

TEST_F(FsStoresTest, UploadSessionsAreResumableExclusiveAndPerRepository) {
  UploadStore& us = *stores_.uploads;
  std::string id;
  {
    auto up = RunSync(us.Create("r"));
    ASSERT_TRUE(up.ok());
    id = (*up)->id();
    ASSERT_TRUE(RunSync((*up)->Append(AsBytes(std::string_view("hello ")))).ok());
    // Held by this request: a second one is refused, not interleaved.
    auto busy = RunSync(us.Open("r", id));
    ASSERT_FALSE(busy.ok());
    EXPECT_EQ(busy.error().wire, "BLOB_UPLOAD_INVALID");
  }
  EXPECT_EQ(RunSync(us.Open("other", id)).error().wire, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_EQ(RunSync(us.Open("r", "nope")).error().wire, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_EQ(RunSync(us.Open("r", "../../x")).error().wire, "BLOB_UPLOAD_UNKNOWN");
  auto up = RunSync(us.Open("r", id));
  ASSERT_TRUE(up.ok());
  EXPECT_EQ((*up)->size(), 6u);
  ASSERT_TRUE(RunSync((*up)->Append(AsBytes(std::string_view("world")))).ok());
  auto wrong = RunSync((*up)->Commit(D("hello")));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().wire, "DIGEST_INVALID");
  auto info = RunSync((*up)->Commit(D("hello world")));
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->size, 11u);
  up->reset();
  EXPECT_TRUE(RunSync(stores_.blobs->Stat("r", D("hello world"))).ok());
  EXPECT_EQ(RunSync(us.Open("r", id)).error().wire, "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(FsStoresTest, CancelEndsTheSession) {
  UploadStore& us = *stores_.uploads;
  std::string id;
  {
    auto up = RunSync(us.Create("r"));
    ASSERT_TRUE(up.ok());
    id = (*up)->id();
  }
  EXPECT_EQ(RunSync(us.Cancel("other", id)).error().wire, "BLOB_UPLOAD_UNKNOWN");
  ASSERT_TRUE(RunSync(us.Cancel("r", id)).ok());
  EXPECT_EQ(RunSync(us.Open("r", id)).error().wire, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_EQ(RunSync(us.Cancel("r", id)).error().wire, "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(FsStoresTest, UploadSessionsSurviveReopeningTheStores) {
  std::string id;
  {
    auto up = RunSync(stores_.uploads->Create("r"));
    ASSERT_TRUE(up.ok());
    id = (*up)->id();
    ASSERT_TRUE(RunSync((*up)->Append(AsBytes(std::string_view("abc")))).ok());
  }
  stores_ = testing::OpenStores(dir_.path(), content_);  // a restart: nothing in memory
  auto up = RunSync(stores_.uploads->Open("r", id));
  ASSERT_TRUE(up.ok()) << up.error().message;
  EXPECT_EQ((*up)->size(), 3u);
  ASSERT_TRUE(RunSync((*up)->Commit(D("abc"))).ok());
}

TEST_F(FsStoresTest, StaleSessionsAreSwept) {
  std::string id;
  {
    auto up = RunSync(stores_.uploads->Create("r"));
    ASSERT_TRUE(up.ok());
    id = (*up)->id();
    ASSERT_TRUE(RunSync((*up)->Append(AsBytes(std::string_view("abc")))).ok());
  }
  auto none = RunSync(stores_.uploads->CleanupStale(3600));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
  EXPECT_TRUE(RunSync(stores_.uploads->Open("r", id)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto swept = RunSync(stores_.uploads->CleanupStale(1));
  ASSERT_TRUE(swept.ok()) << swept.error().message;
  EXPECT_EQ(*swept, 1u);
  EXPECT_EQ(RunSync(stores_.uploads->Open("r", id)).error().wire, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/repositories/r/_uploads/" + id));
}

}  // namespace
}  // namespace atcr::registry
