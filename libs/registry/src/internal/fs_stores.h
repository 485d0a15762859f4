// The filesystem stores behind filesystem.h. FsLayout knows the paths and the per-repository
// locks; the three stores share one FsLayout and one storage::BlobStore.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "atcr/registry/blob_store.h"
#include "atcr/registry/manifest_store.h"
#include "atcr/registry/upload_store.h"
#include "atcr/storage/blob_store.h"

namespace atcr::registry::internal {

class FsLayout {
 public:
  FsLayout(std::string data_dir, bool fsync) : root_(std::move(data_dir)), fsync_(fsync) {}

  const std::string& root() const { return root_; }
  bool fsync() const { return fsync_; }
  std::string repositories() const { return root_ + "/repositories"; }
  std::string Repository(std::string_view name) const;
  std::string LayerLink(std::string_view repo, const oci::Digest& d) const;
  std::string Revision(std::string_view repo, const oci::Digest& d) const;
  std::string RevisionsDir(std::string_view repo) const;
  std::string TagsDir(std::string_view repo) const;
  std::string Tag(std::string_view repo, std::string_view tag) const;
  std::string ReferrersDir(std::string_view repo, const oci::Digest& subject) const;
  std::string Referrer(std::string_view repo, const oci::Digest& subject,
                       const oci::Digest& referrer) const;
  std::string UploadsDir(std::string_view repo) const;
  std::string UploadMarker(std::string_view repo, std::string_view id) const;

  // Serialises metadata mutations of one repository (tag moves vs. manifest deletes).
  std::mutex& RepositoryLock(std::string_view repo);

  // Links a stored blob into a repository (blocking).
  Status LinkBlob(std::string_view repo, const oci::Digest& digest);
  // Calls fn(name) for every repository directory (any directory below repositories/ that
  // is not metadata), in no particular order (blocking).
  Status ForEachRepository(const std::function<Status(const std::string& name)>& fn) const;

 private:
  std::string root_;
  bool fsync_;
  std::array<std::mutex, 64> locks_;
};

// Blocking name check repeated by every store: paths are built from names, so a store never
// trusts that its caller validated them.
Status CheckName(std::string_view name);

class FsManifestStore : public ManifestStore {
 public:
  FsManifestStore(std::shared_ptr<FsLayout> layout, std::shared_ptr<storage::BlobStore> storage)
      : layout_(std::move(layout)), storage_(std::move(storage)) {}

  Task<Result<StoredManifest>> Get(std::string_view repository,
                                   const oci::Reference& reference) override;
  Task<Status> Put(const ManifestPut& put) override;
  Task<Status> Delete(std::string_view repository, const oci::Digest& digest) override;
  Task<Status> DeleteTag(std::string_view repository, std::string_view tag) override;
  Task<Result<std::vector<oci::Digest>>> FindMissing(
      std::string_view repository, std::span<const oci::Digest> digests) override;
  Task<Result<std::vector<std::string>>> ListTags(std::string_view repository,
                                                  std::string_view after, size_t limit) override;
  Task<Result<std::vector<std::string>>> ListRepositories(std::string_view after,
                                                          size_t limit) override;
  Task<Result<std::vector<oci::Descriptor>>> Referrers(
      std::string_view repository, const oci::Digest& subject,
      std::optional<std::string_view> artifact_type) override;

  // Blocking bodies, public for the tests.
  Result<StoredManifest> GetBlocking(const std::string& repo, const oci::Reference& ref);
  Status PutBlocking(const ManifestPut& put);
  Status DeleteBlocking(const std::string& repo, const oci::Digest& digest);

 private:
  // Read-through cache of Get: "repo\ntag" -> digest and "repo\ndigest" -> manifest, so a
  // warm GET/HEAD makes no trip to the blocking pool. One process owns a data directory and
  // every mutation goes through this store, which invalidates after it lands; a generation
  // counter keeps a Get that raced a mutation from caching what it read before it.
  struct Cache {
    std::mutex mu;
    uint64_t generation = 0;
    std::unordered_map<std::string, oci::Digest> tags;
    std::unordered_map<std::string, std::shared_ptr<const StoredManifest>> manifests;
    size_t bytes = 0;
  };
  static constexpr size_t kCacheMaxEntries = 20000;
  static constexpr size_t kCacheMaxBytes = 64 << 20;
  std::shared_ptr<const StoredManifest> CacheLookup(const std::string& repo,
                                                    const oci::Reference& ref, uint64_t* gen);
  void CacheStore(const std::string& repo, const oci::Reference& ref, const StoredManifest& m,
                  uint64_t gen);
  // Forgets the tag (or, with an empty tag, every entry of the repository).
  void CacheInvalidate(const std::string& repo, std::string_view tag);

  std::shared_ptr<FsLayout> layout_;
  std::shared_ptr<storage::BlobStore> storage_;
  Cache cache_;
};

class FsBlobStore : public BlobStore {
 public:
  FsBlobStore(std::shared_ptr<FsLayout> layout, std::shared_ptr<storage::BlobStore> storage)
      : layout_(std::move(layout)), storage_(std::move(storage)) {}

  Task<Result<BlobInfo>> Stat(std::string_view repository, const oci::Digest& digest) override;
  Task<Result<BlobContent>> Open(std::string_view repository, const oci::Digest& digest) override;
  Task<Status> Link(std::string_view repository, const oci::Digest& digest) override;
  Task<Status> Unlink(std::string_view repository, const oci::Digest& digest) override;
  Task<Result<std::vector<oci::Digest>>> FindMissing(
      std::string_view repository, std::span<const oci::Digest> digests) override;

 private:
  std::shared_ptr<FsLayout> layout_;
  std::shared_ptr<storage::BlobStore> storage_;
};

class FsUploadStore : public UploadStore, public std::enable_shared_from_this<FsUploadStore> {
 public:
  FsUploadStore(std::shared_ptr<FsLayout> layout, std::shared_ptr<storage::BlobStore> storage,
                size_t max_idle_writers = 1024)
      : layout_(std::move(layout)), storage_(std::move(storage)),
        max_idle_writers_(max_idle_writers) {}

  Task<Result<std::unique_ptr<Upload>>> Create(std::string_view repository) override;
  Task<Result<std::unique_ptr<Upload>>> Open(std::string_view repository,
                                             std::string_view id) override;
  Task<Status> Cancel(std::string_view repository, std::string_view id) override;
  Task<Result<size_t>> CleanupStale(int64_t max_age_seconds) override;

  // Called by an Upload handle when it is destroyed: the writer goes back to the idle set
  // (keeping its running digest) unless the session ended.
  void Release(const std::string& id, std::unique_ptr<storage::UploadWriter> writer,
               bool ended);
  FsLayout& layout() { return *layout_; }

 private:
  class Handle;
  struct Slot {
    std::string repository;
    std::unique_ptr<storage::UploadWriter> writer;  // null while leased
    bool leased = false;
    std::chrono::steady_clock::time_point released;
  };
  Result<std::unique_ptr<Upload>> Lease(const std::string& repo, const std::string& id,
                                        std::unique_ptr<storage::UploadWriter> fresh);
  void EvictIdleLocked();

  std::shared_ptr<FsLayout> layout_;
  std::shared_ptr<storage::BlobStore> storage_;
  size_t max_idle_writers_;
  std::mutex mu_;
  std::unordered_map<std::string, Slot> slots_;  // upload id -> session
};

// Upload ids become file names: [A-Za-z0-9_-]{1,128}.
bool IsValidUploadId(std::string_view id);

}  // namespace atcr::registry::internal
