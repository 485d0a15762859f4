#include "atcr/registry/filesystem.h"

#include "atcr/storage/fs_blob_store.h"
#include "internal/fs_stores.h"
#include "internal/fs_util.h"

namespace atcr::registry {

namespace {
std::string Root(const FsStoresOptions& options) {
  std::string root = options.data_dir;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root;
}
}  // namespace

Result<FsStores> OpenFsStores(const FsStoresOptions& options) {
  if (options.data_dir.empty()) return InvalidArgument("the registry data directory is not set");
  ATCR_TRY(internal::EnsureDirs(Root(options), options.fsync));
  storage::FsBlobStoreOptions so;
  so.root = Root(options);
  so.stale_upload_seconds = options.stale_upload_seconds;
  so.fsync = options.fsync;
  ATCR_ASSIGN_OR_RETURN(std::unique_ptr<storage::BlobStore> blob_store,
                        storage::CreateFsBlobStore(so));
  return OpenFsStores(options, std::shared_ptr<storage::BlobStore>(std::move(blob_store)));
}

Result<FsStores> OpenFsStores(const FsStoresOptions& options,
                              std::shared_ptr<storage::BlobStore> content) {
  if (options.data_dir.empty()) return InvalidArgument("the registry data directory is not set");
  auto layout = std::make_shared<internal::FsLayout>(Root(options), options.fsync);
  ATCR_TRY(internal::EnsureDirs(layout->repositories(), options.fsync));

  FsStores stores;
  stores.storage = content;
  stores.manifests = std::make_shared<internal::FsManifestStore>(layout, content);
  stores.blobs = std::make_shared<internal::FsBlobStore>(layout, content);
  stores.uploads = std::make_shared<internal::FsUploadStore>(layout, content);
  return stores;
}

}  // namespace atcr::registry
