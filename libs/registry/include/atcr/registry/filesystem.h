// The filesystem implementations of ManifestStore, BlobStore and UploadStore, used by the
// standalone registry (`atcr registry serve`). Layout under data_dir:
//   blobs/, uploads/                   storage::FsBlobStore: content-addressed bytes (manifests
//                                      too) and in-progress upload data
//   repositories/<name>/_layers/<alg>/<hex>              blob linked into the repository
//   repositories/<name>/_manifests/revisions/<alg>/<hex> manifest: media type, size, bytes blob
//   repositories/<name>/_manifests/tags/<tag>            tag -> manifest digest
//   repositories/<name>/_referrers/<alg>/<hex>/<alg>-<hex>  referrer descriptor per subject
//   repositories/<name>/_uploads/<id>                    upload session owned by the repository
// Every metadata file is written to a temporary name, fsynced and renamed (then the directory
// is fsynced), so a crash never loses an acknowledged write nor leaves a half-written file.
// The format is described in libs/registry/README.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "atcr/base/result.h"
#include "atcr/registry/blob_store.h"
#include "atcr/registry/manifest_store.h"
#include "atcr/registry/upload_store.h"
#include "atcr/storage/blob_store.h"

namespace atcr::registry {

struct FsStoresOptions {
  std::string data_dir;
  // Upload sessions untouched for longer than this are removed at startup and by
  // UploadStore::CleanupStale.
  int64_t stale_upload_seconds = 24 * 3600;
  bool fsync = true;  // tests may turn it off for speed; never off in production
};

struct FsStores {
  std::shared_ptr<storage::BlobStore> storage;  // the content-addressed bytes underneath
  std::shared_ptr<ManifestStore> manifests;
  std::shared_ptr<BlobStore> blobs;
  std::shared_ptr<UploadStore> uploads;
};

// Creates data_dir and its layout if missing; the bytes go to storage::CreateFsBlobStore
// rooted at data_dir. Blocking; call at startup.
Result<FsStores> OpenFsStores(const FsStoresOptions& options);
// The same repository metadata over another content store (S3, or a test double).
Result<FsStores> OpenFsStores(const FsStoresOptions& options,
                              std::shared_ptr<storage::BlobStore> content);

}  // namespace atcr::registry
