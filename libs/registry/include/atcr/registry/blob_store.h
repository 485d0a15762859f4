// registry::BlobStore: layer and config blobs as the Distribution API sees them, per
// repository. A blob is readable through a repository only after it was linked there (by an
// upload, a cross-repository mount or Link), so BLOB_UNKNOWN is answered per repository even
// when the bytes are stored once. A read is served either from a file descriptor (sent with
// sendfile) or by redirecting the client to a short-lived URL (object stores, a remote hold).
// Coroutines on the caller's executor; blocking work goes to net::RunBlocking. Thread-safe.
//
// Errors carry OCI wire names: BLOB_UNKNOWN, NAME_INVALID, DIGEST_INVALID.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "atcr/base/result.h"
#include "atcr/net/http.h"
#include "atcr/oci/digest.h"

namespace atcr::registry {

using net::Task;

struct BlobInfo {
  oci::Digest digest;
  uint64_t size = 0;
};

// How to send a blob: exactly one of `fd` (>= 0, owned by the caller, positioned anywhere;
// the handler sends [offset, offset+length) of it) or `redirect_url`.
struct BlobContent {
  uint64_t size = 0;
  int fd = -1;
  std::string redirect_url;
  int64_t redirect_expires_unix = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // BLOB_UNKNOWN unless the blob is linked into the repository and its bytes exist.
  virtual Task<Result<BlobInfo>> Stat(std::string_view repository, const oci::Digest& digest) = 0;
  virtual Task<Result<BlobContent>> Open(std::string_view repository,
                                         const oci::Digest& digest) = 0;
  // Makes a stored blob readable through `repository` (mount, tests). BLOB_UNKNOWN if the
  // bytes are not stored at all. Linking twice is fine.
  virtual Task<Status> Link(std::string_view repository, const oci::Digest& digest) = 0;
  // Removes the link (the bytes stay until garbage collection). BLOB_UNKNOWN if not linked.
  virtual Task<Status> Unlink(std::string_view repository, const oci::Digest& digest) = 0;
  // The digests among `digests` that are not linked into the repository (manifest PUTs).
  virtual Task<Result<std::vector<oci::Digest>>> FindMissing(
      std::string_view repository, std::span<const oci::Digest> digests) = 0;
};

}  // namespace atcr::registry
