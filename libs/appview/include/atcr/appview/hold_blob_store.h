// HoldBlobStore: registry::BlobStore over holds. Per-repository links (index.h) say which
// blobs a repository may read and on which hold; reads are 307 redirects (public hold: its
// getBlob URL; private hold: the short-lived URL it hands the AppView), never bytes; a delete
// only unlinks (the hold's GC reclaims). Used by AppView. Thread-safe. See README.md.
#pragma once

#include <memory>

#include "atcr/appview/services.h"
#include "atcr/registry/blob_store.h"

namespace atcr::appview {

class HoldBlobStore : public registry::BlobStore {
 public:
  explicit HoldBlobStore(std::shared_ptr<AppViewServices> services);

  Task<Result<registry::BlobInfo>> Stat(std::string_view repository,
                                        const oci::Digest& digest) override;
  Task<Result<registry::BlobContent>> Open(std::string_view repository,
                                           const oci::Digest& digest) override;
  // Cross-repository mount: allowed when the blob is already on the hold the target
  // repository's owner pushes to (else BLOB_UNKNOWN, and the client uploads it).
  Task<Status> Link(std::string_view repository, const oci::Digest& digest) override;
  Task<Status> Unlink(std::string_view repository, const oci::Digest& digest) override;
  Task<Result<std::vector<oci::Digest>>> FindMissing(
      std::string_view repository, std::span<const oci::Digest> digests) override;

 private:
  Task<Result<std::optional<BlobLink>>> GetLink(const RepositoryOwner& owner,
                                                const oci::Digest& digest);
  std::shared_ptr<AppViewServices> s_;
};

}  // namespace atcr::appview
