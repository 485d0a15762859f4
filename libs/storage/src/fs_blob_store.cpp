#include "atcr/storage/fs_blob_store.h"

namespace atcr::storage {

Result<std::unique_ptr<BlobStore>> CreateFsBlobStore(const FsBlobStoreOptions&) {
  return Error(ErrorCode::kUnimplemented, "filesystem blob store: not yet");
}

}  // namespace atcr::storage
