// Content-addressed blob storage. Blobs are immutable and named by their verified digest;
// they become visible only when complete (written to an upload, digest checked while the
// bytes streamed, fsync, atomic rename). Implementations: filesystem (fs_blob_store.h);
// S3 comes later. All methods block on I/O: call them from net::RunBlocking, except
// UploadWriter::Append, which only writes to the page cache and is cheap enough inline.
// Implementations are thread-safe; one UploadWriter is used by one request at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "atcr/base/encoding.h"
#include "atcr/base/result.h"
#include "atcr/oci/digest.h"

namespace atcr::storage {

struct BlobInfo {
  oci::Digest digest;
  uint64_t size = 0;
  int64_t modified_unix = 0;
};

// How to read a blob: an open file descriptor (caller owns it) for zero-copy sends, or a
// short-lived URL to redirect the client to (object stores).
struct BlobRead {
  int fd = -1;
  uint64_t size = 0;
  std::string redirect_url;
  int64_t redirect_expires_unix = 0;
};

// An in-progress upload. Bytes are appended strictly in order; the running digest is kept so
// Commit() never re-reads the data (unless the upload was resumed after a restart).
class UploadWriter {
 public:
  virtual ~UploadWriter() = default;
  virtual const std::string& id() const = 0;
  virtual uint64_t size() const = 0;
  virtual Status Append(ByteSpan data) = 0;
  // Verifies that the bytes hash to `expected` (DIGEST_INVALID and the upload is kept
  // otherwise, so the client may retry with the right digest), makes the data durable and
  // moves it to its content address. Committing a blob that already exists succeeds.
  virtual Result<BlobInfo> Commit(const oci::Digest& expected) = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  virtual Result<BlobInfo> Stat(const oci::Digest& digest) = 0;  // kNotFound if absent
  virtual Result<BlobRead> Open(const oci::Digest& digest) = 0;
  virtual Status Delete(const oci::Digest& digest) = 0;  // kNotFound if absent
  // Every stored blob (for GC and tests).
  virtual Result<std::vector<BlobInfo>> List() = 0;

  // Starts an upload with a fresh random id, or reopens an existing one by id (resuming
  // after a reconnect or a restart). kNotFound for an unknown id.
  virtual Result<std::unique_ptr<UploadWriter>> CreateUpload() = 0;
  virtual Result<std::unique_ptr<UploadWriter>> OpenUpload(const std::string& id) = 0;
  virtual Status AbortUpload(const std::string& id) = 0;
  // Deletes uploads untouched for longer than max_age_seconds; returns how many went.
  virtual Result<size_t> CleanupUploads(int64_t max_age_seconds) = 0;

  // Convenience: write a small blob in one call (manifests, test data).
  Result<BlobInfo> Put(ByteSpan data);
  // Convenience: read a whole small blob; kResourceExhausted above max_bytes.
  Result<Bytes> ReadAll(const oci::Digest& digest, uint64_t max_bytes);
};

}  // namespace atcr::storage
