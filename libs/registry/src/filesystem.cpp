#include "atcr/registry/filesystem.h"

#include "atcr/storage/fs_blob_store.h"
#include "internal/fs_stores.h"
#include "internal/fs_util.h"

namespace atcr::registry {

Result<FsStores> OpenFsStores(const FsStoresOptions& options) {
  if (options.data_dir.empty()) return InvalidArgument("the registry data directory is not set");
  std::string root = options.data_dir;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  auto layout = std::make_shared<internal::FsLayout>(root, options.fsync);
  ATCR_TRY(internal::EnsureDirs(layout->repositories(), options.fsync));

  storage::FsBlobStoreOptions so;
  so.root = root;
  so.stale_upload_seconds = options.stale_upload_seconds;
  so.fsync = options.fsync;
  ATCR_ASSIGN_OR_RETURN(std::unique_ptr<storage::BlobStore> blob_store,
                        storage::CreateFsBlobStore(so));
  std::shared_ptr<storage::BlobStore> content(std::move(blob_store));

  FsStores stores;
  stores.storage = content;
  stores.manifests = std::make_shared<internal::FsManifestStore>(layout, content);
  stores.blobs = std::make_shared<internal::FsBlobStore>(layout, content);
  stores.uploads = std::make_shared<internal::FsUploadStore>(layout, content);
  return stores;
}

}  // namespace atcr::registry
