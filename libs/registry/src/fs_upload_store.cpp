#include <algorithm>
#include <vector>

#include "atcr/base/time.h"
#include "internal/blocking.h"
#include "internal/fs_stores.h"
#include "internal/fs_util.h"

namespace atcr::registry::internal {
namespace {

Error UploadUnknown(std::string_view id) {
  return NotFound("upload " + std::string(id) + " is unknown, finished or cancelled",
                  "BLOB_UPLOAD_UNKNOWN");
}

}  // namespace

class FsUploadStore::Handle : public Upload {
 public:
  Handle(std::shared_ptr<FsUploadStore> store, std::string repo, std::string id,
         std::unique_ptr<storage::UploadWriter> writer)
      : store_(std::move(store)), repo_(std::move(repo)), id_(std::move(id)),
        writer_(std::move(writer)) {}
  ~Handle() override { store_->Release(id_, std::move(writer_), ended_); }

  const std::string& id() const override { return id_; }
  const std::string& repository() const override { return repo_; }
  uint64_t size() const override { return writer_->size(); }

  // storage::UploadWriter::Append only writes to the page cache: cheap enough inline.
  Task<Status> Append(ByteSpan data) override { co_return writer_->Append(data); }

  Task<Result<BlobInfo>> Commit(const oci::Digest& expected) override {
    co_return co_await Blocking([&]() -> Result<BlobInfo> {
      auto info = writer_->Commit(expected);
      if (!info.ok()) {
        Error e = info.error();
        if (e.wire.empty() && e.code == ErrorCode::kInvalidArgument) e.wire = "DIGEST_INVALID";
        return e;
      }
      FsLayout& layout = store_->layout();
      ATCR_TRY(layout.LinkBlob(repo_, info->digest));
      ended_ = true;
      Status st = RemoveFile(layout.UploadMarker(repo_, id_), layout.fsync());
      if (!st.ok() && st.error().code != ErrorCode::kNotFound) return st.error();
      return BlobInfo{info->digest, info->size};
    });
  }

 private:
  std::shared_ptr<FsUploadStore> store_;
  std::string repo_;
  std::string id_;
  std::unique_ptr<storage::UploadWriter> writer_;
  bool ended_ = false;
};

Result<std::unique_ptr<Upload>> FsUploadStore::Lease(const std::string& repo,
                                                     const std::string& id,
                                                     std::unique_ptr<storage::UploadWriter> fresh) {
  std::unique_ptr<storage::UploadWriter> writer;
  {
    std::lock_guard lock(mu_);
    auto it = slots_.find(id);
    if (it == slots_.end()) {
      if (!fresh) return UploadUnknown(id);
      Slot& slot = slots_[id];
      slot.repository = repo;
      slot.leased = true;
      writer = std::move(fresh);
    } else {
      Slot& slot = it->second;
      if (slot.repository != repo) return UploadUnknown(id);
      if (slot.leased) {
        return Error(ErrorCode::kAborted,
                     "upload " + id + " is in use by another request; retry when it ends",
                     "BLOB_UPLOAD_INVALID");
      }
      slot.leased = true;
      writer = std::move(slot.writer);
    }
  }
  return std::unique_ptr<Upload>(
      std::make_unique<Handle>(shared_from_this(), repo, id, std::move(writer)));
}

void FsUploadStore::Release(const std::string& id, std::unique_ptr<storage::UploadWriter> writer,
                            bool ended) {
  std::lock_guard lock(mu_);
  auto it = slots_.find(id);
  if (it == slots_.end()) return;  // cancelled while leased: drop the writer
  if (ended) {
    slots_.erase(it);
    return;
  }
  it->second.writer = std::move(writer);
  it->second.leased = false;
  it->second.released = std::chrono::steady_clock::now();
  EvictIdleLocked();
}

void FsUploadStore::EvictIdleLocked() {
  // Idle writers hold a file descriptor and a running digest. Past the cap the oldest go;
  // their sessions stay valid and are reopened from storage (the digest is then recomputed
  // from the data at commit).
  size_t idle = 0;
  for (const auto& [id, slot] : slots_) idle += slot.leased ? 0 : 1;
  while (idle > max_idle_writers_) {
    auto oldest = slots_.end();
    for (auto it = slots_.begin(); it != slots_.end(); ++it) {
      if (it->second.leased) continue;
      if (oldest == slots_.end() || it->second.released < oldest->second.released) oldest = it;
    }
    if (oldest == slots_.end()) return;
    slots_.erase(oldest);
    --idle;
  }
}

Task<Result<std::unique_ptr<Upload>>> FsUploadStore::Create(std::string_view repository) {
  std::string repo(repository);
  auto writer = co_await Blocking([&]() -> Result<std::unique_ptr<storage::UploadWriter>> {
    ATCR_TRY(CheckName(repo));
    ATCR_ASSIGN_OR_RETURN(auto w, storage_->CreateUpload());
    ATCR_TRY(EnsureDirs(layout_->UploadsDir(repo), layout_->fsync()));
    Status st = WriteFileAtomic(layout_->UploadMarker(repo, w->id()),
                                std::to_string(UnixSeconds()), layout_->fsync());
    if (!st.ok()) {
      (void)storage_->AbortUpload(w->id());
      return st.error();
    }
    return w;
  });
  if (!writer.ok()) co_return std::move(writer).error();
  std::string id = (*writer)->id();
  co_return Lease(repo, id, std::move(*writer));
}

Task<Result<std::unique_ptr<Upload>>> FsUploadStore::Open(std::string_view repository,
                                                          std::string_view upload_id) {
  std::string repo(repository);
  std::string id(upload_id);
  if (!IsValidUploadId(id)) co_return UploadUnknown(id);
  bool in_memory = false;
  {
    std::lock_guard lock(mu_);
    in_memory = slots_.count(id) != 0;
  }
  // Known in memory (idle or leased): no I/O, and the running digest is kept.
  if (in_memory) co_return Lease(repo, id, nullptr);

  auto writer = co_await Blocking([&]() -> Result<std::unique_ptr<storage::UploadWriter>> {
    ATCR_TRY(CheckName(repo));
    std::string marker = layout_->UploadMarker(repo, id);
    if (!FileExists(marker)) return UploadUnknown(id);
    auto w = storage_->OpenUpload(id);
    if (!w.ok() && w.error().code == ErrorCode::kNotFound) {
      (void)RemoveFile(marker, layout_->fsync());  // the data expired: forget the session
      return UploadUnknown(id);
    }
    return w;
  });
  if (!writer.ok()) co_return std::move(writer).error();
  co_return Lease(repo, id, std::move(*writer));
}

Task<Status> FsUploadStore::Cancel(std::string_view repository, std::string_view upload_id) {
  std::string repo(repository);
  std::string id(upload_id);
  if (!IsValidUploadId(id)) co_return UploadUnknown(id);
  co_return co_await Blocking([&]() -> Status {
    ATCR_TRY(CheckName(repo));
    std::string marker = layout_->UploadMarker(repo, id);
    if (!FileExists(marker)) return UploadUnknown(id);
    {
      std::lock_guard lock(mu_);
      slots_.erase(id);
    }
    Status st = storage_->AbortUpload(id);
    if (!st.ok() && st.error().code != ErrorCode::kNotFound) return st;
    st = RemoveFile(marker, layout_->fsync());
    if (!st.ok() && st.error().code == ErrorCode::kNotFound) return UploadUnknown(id);
    return st;
  });
}

Task<Result<size_t>> FsUploadStore::CleanupStale(int64_t max_age_seconds) {
  {
    std::lock_guard lock(mu_);
    auto cutoff = std::chrono::steady_clock::now() - std::chrono::seconds(max_age_seconds);
    for (auto it = slots_.begin(); it != slots_.end();) {
      if (!it->second.leased && it->second.released < cutoff) {
        it = slots_.erase(it);
      } else {
        ++it;
      }
    }
  }
  co_return co_await Blocking([&]() -> Result<size_t> {
    ATCR_ASSIGN_OR_RETURN(size_t removed, storage_->CleanupUploads(max_age_seconds));
    // Forget the sessions whose data the content store just expired.
    ATCR_TRY(layout_->ForEachRepository([&](const std::string& repo) -> Status {
      std::string dir = layout_->UploadsDir(repo);
      ATCR_ASSIGN_OR_RETURN(auto ids, ListDir(dir));
      for (const std::string& id : ids) {
        std::string marker = dir + "/" + id;
        auto age = FileAgeSeconds(marker);
        if (!age || *age < max_age_seconds) continue;
        {
          std::lock_guard lock(mu_);
          if (slots_.count(id) != 0) continue;
        }
        auto w = storage_->OpenUpload(id);
        if (!w.ok() && w.error().code == ErrorCode::kNotFound) {
          (void)RemoveFile(marker, layout_->fsync());
        }
      }
      return Ok();
    }));
    return removed;
  });
}

}  // namespace atcr::registry::internal
