// UploadStore: resumable blob upload sessions, one repository each. A session is created by
// POST, found again by its id on every later request (each may arrive on a new connection,
// or after a restart), takes bytes strictly in order while hashing them, and on Commit
// verifies the digest and links the blob into its repository. Implementations may store the
// bytes locally (filesystem.h) or forward them to a remote multipart target (a hold, S3).
//
// An Upload handle is held by one request at a time: opening a session that another request
// holds fails with BLOB_UPLOAD_INVALID, so two PATCHes never interleave their bytes.
// Coroutines on the caller's executor; blocking work goes to net::RunBlocking. Thread-safe.
//
// Errors carry OCI wire names: BLOB_UPLOAD_UNKNOWN (no such session in this repository),
// BLOB_UPLOAD_INVALID, DIGEST_INVALID (Commit with a digest the bytes do not match; the
// session stays open so the client may retry), NAME_INVALID.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "atcr/base/encoding.h"
#include "atcr/base/result.h"
#include "atcr/net/http.h"
#include "atcr/oci/digest.h"
#include "atcr/registry/blob_store.h"

namespace atcr::registry {

using net::Task;

// One open session, exclusively held by the request that opened it until destroyed.
class Upload {
 public:
  virtual ~Upload() = default;
  virtual const std::string& id() const = 0;
  virtual const std::string& repository() const = 0;
  // Bytes received so far; the next Append continues at this offset.
  virtual uint64_t size() const = 0;
  virtual Task<Status> Append(ByteSpan data) = 0;
  // Verifies and stores the blob, links it into the repository and ends the session.
  virtual Task<Result<BlobInfo>> Commit(const oci::Digest& expected) = 0;
};

class UploadStore {
 public:
  virtual ~UploadStore() = default;

  virtual Task<Result<std::unique_ptr<Upload>>> Create(std::string_view repository) = 0;
  virtual Task<Result<std::unique_ptr<Upload>>> Open(std::string_view repository,
                                                     std::string_view id) = 0;
  virtual Task<Status> Cancel(std::string_view repository, std::string_view id) = 0;
  // Removes sessions untouched for longer than max_age_seconds; returns how many went.
  virtual Task<Result<size_t>> CleanupStale(int64_t max_age_seconds) = 0;
};

}  // namespace atcr::registry
