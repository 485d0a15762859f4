// HoldBlobStore: registry::BlobStore for the AppView. Bytes live on holds; the AppView keeps
// per-repository links (index.h) saying which blobs a repository may read and on which hold.
// Links come from uploads through this AppView, from mounts, and from manifests it serves
// (their holdDid), so images pushed elsewhere pull too. A read never carries bytes: a public
// hold gets the client redirected (307) to the hold's com.atproto.sync.getBlob, which in turn
// redirects to S3 or a hold-signed URL; a private hold is asked for that short-lived URL with
// the owner's service token and the client is redirected straight to it. A delete removes
// only the repository's link (BLOB_UNKNOWN afterwards); reclaiming bytes is the hold's GC.
// Thread-safe.
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
