// Filesystem BlobStore. Layout under root:
//   blobs/<alg>/<first two hex>/<encoded>     committed blobs (read-only files)
//   uploads/<id>/data, uploads/<id>/startedat  in-progress uploads
// Commit = fsync(data) + rename into blobs/ + fsync(directory): a crash never exposes a
// partial blob. Open() hands out a file descriptor for sendfile.
#pragma once

#include <memory>
#include <string>

#include "atcr/storage/blob_store.h"

namespace atcr::storage {

struct FsBlobStoreOptions {
  std::string root;
  // Uploads untouched for longer than this are removed at startup (Create()); negative = keep.
  int64_t stale_upload_seconds = 24 * 3600;
  bool fsync = true;  // tests may turn it off for speed; never off in production
};

Result<std::unique_ptr<BlobStore>> CreateFsBlobStore(const FsBlobStoreOptions& options);

}  // namespace atcr::storage
