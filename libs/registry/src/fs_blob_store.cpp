#include "internal/blocking.h"
#include "internal/fs_stores.h"
#include "internal/fs_util.h"

namespace atcr::registry::internal {
namespace {

Error BlobUnknown(std::string_view repo, const oci::Digest& d) {
  return NotFound("blob " + d.str() + " is not in repository " + std::string(repo),
                  "BLOB_UNKNOWN");
}

// The content store's answer for a linked blob; a link whose bytes are gone reads as unknown.
template <typename T>
Result<T> MapStorage(Result<T> r, std::string_view repo, const oci::Digest& d) {
  if (!r.ok() && r.error().code == ErrorCode::kNotFound) return BlobUnknown(repo, d);
  return r;
}

}  // namespace

Task<Result<BlobInfo>> FsBlobStore::Stat(std::string_view repository, const oci::Digest& digest) {
  std::string repo(repository);
  co_return co_await Blocking([&]() -> Result<BlobInfo> {
    ATCR_TRY(CheckName(repo));
    if (!FileExists(layout_->LayerLink(repo, digest))) return BlobUnknown(repo, digest);
    ATCR_ASSIGN_OR_RETURN(storage::BlobInfo info, MapStorage(storage_->Stat(digest), repo, digest));
    return BlobInfo{digest, info.size};
  });
}

Task<Result<BlobContent>> FsBlobStore::Open(std::string_view repository,
                                            const oci::Digest& digest) {
  std::string repo(repository);
  co_return co_await Blocking([&]() -> Result<BlobContent> {
    ATCR_TRY(CheckName(repo));
    if (!FileExists(layout_->LayerLink(repo, digest))) return BlobUnknown(repo, digest);
    ATCR_ASSIGN_OR_RETURN(storage::BlobRead read, MapStorage(storage_->Open(digest), repo, digest));
    BlobContent c;
    c.size = read.size;
    c.fd = read.fd;
    c.redirect_url = std::move(read.redirect_url);
    c.redirect_expires_unix = read.redirect_expires_unix;
    return c;
  });
}

Task<Status> FsBlobStore::Link(std::string_view repository, const oci::Digest& digest) {
  std::string repo(repository);
  co_return co_await Blocking([&]() -> Status {
    ATCR_TRY(CheckName(repo));
    auto info = storage_->Stat(digest);
    if (!info.ok()) {
      if (info.error().code == ErrorCode::kNotFound) {
        return NotFound("blob " + digest.str() + " is not stored", "BLOB_UNKNOWN");
      }
      return info.error();
    }
    return layout_->LinkBlob(repo, digest);
  });
}

Task<Status> FsBlobStore::Unlink(std::string_view repository, const oci::Digest& digest) {
  std::string repo(repository);
  co_return co_await Blocking([&]() -> Status {
    ATCR_TRY(CheckName(repo));
    Status st = RemoveFile(layout_->LayerLink(repo, digest), layout_->fsync());
    if (!st.ok() && st.error().code == ErrorCode::kNotFound) return BlobUnknown(repo, digest);
    return st;
  });
}

Task<Result<std::vector<oci::Digest>>> FsBlobStore::FindMissing(
    std::string_view repository, std::span<const oci::Digest> digests) {
  std::string repo(repository);
  co_return co_await Blocking([&]() -> Result<std::vector<oci::Digest>> {
    ATCR_TRY(CheckName(repo));
    std::vector<oci::Digest> missing;
    for (const oci::Digest& d : digests) {
      if (!FileExists(layout_->LayerLink(repo, d)) || !storage_->Stat(d).ok()) {
        missing.push_back(d);
      }
    }
    return missing;
  });
}

}  // namespace atcr::registry::internal
