// Content-addressed blob storage. Blobs are immutable and named by their verified digest;
// they become visible only when complete (written to an upload, digest checked while the
// bytes streamed, fsync, atomic rename). Implementations: filesystem (fs_blob_store.h), S3
// (s3_blob_store.h). All methods block on I/O: call them from net::RunBlocking, except the
// filesystem's UploadWriter::Append, which only writes to the page cache and is cheap enough
// inline (S3's may upload a part). Implementations are thread-safe; one UploadWriter is used
// by one request at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
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

// A request a client makes on its own, without credentials: a presigned object-store URL
// (or a hold-signed URL). The client must send `headers` with exactly these values (they are
// part of the signature).
struct PresignedRequest {
  std::string method;  // "GET" or "PUT"
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  int64_t expires_unix = 0;
};

// A part of a part-based upload as the client reports it when completing.
struct UploadPartInfo {
  int32_t part_number = 0;  // 1..10000
  std::string etag;
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

  // --- Object-store extensions. Defaults: kUnimplemented (ReadRange: Open() + pread). ---

  // A URL the client GETs the blob from directly, valid for expires_seconds. Does not check
  // that the blob exists (Open() does).
  virtual Result<PresignedRequest> PresignGet(const oci::Digest& digest, int64_t expires_seconds);
  // A URL the client PUTs the whole blob to, straight under its digest. The object store
  // itself rejects bytes that do not hash to `digest` (the SHA-256 is a signed header), so
  // nothing unverified becomes visible; sha256 digests only.
  virtual Result<PresignedRequest> PresignPut(const oci::Digest& digest, int64_t expires_seconds);
  // Bytes [offset, offset + length) of a blob, clipped at its end (proxying when redirects
  // are off, small reads); kOutOfRange when offset is past the end.
  virtual Result<Bytes> ReadRange(const oci::Digest& digest, uint64_t offset, uint64_t length);

  // Part-based uploads (the hold's initiateUpload / getPartUploadUrl / uploadPart /
  // completeUpload). Parts (1..10000, each but the last >= 5 MiB on S3) may arrive in any
  // order, in parallel, and straight at the object store through presigned URLs, so the store
  // verifies the digest at completion by reading the assembled blob once; a mismatch discards
  // the upload (DIGEST_INVALID). AbortUpload and CleanupUploads cover these uploads too.
  virtual Result<std::string> CreatePartUpload();  // the upload id
  virtual Result<PresignedRequest> PresignUploadPart(const std::string& upload_id,
                                                     int32_t part_number, int64_t expires_seconds);
  virtual Result<std::string> UploadPart(const std::string& upload_id, int32_t part_number,
                                         ByteSpan data);  // the part's ETag
  // `parts` in any order; empty = every part the store has for this upload.
  virtual Result<BlobInfo> CompletePartUpload(const std::string& upload_id,
                                              const oci::Digest& expected,
                                              std::vector<UploadPartInfo> parts);

  // Convenience: write a small blob in one call (manifests, test data).
  Result<BlobInfo> Put(ByteSpan data);
  // Convenience: read a whole small blob; kResourceExhausted above max_bytes. Blobs that are
  // only available as a redirect are read through ReadRange.
  Result<Bytes> ReadAll(const oci::Digest& digest, uint64_t max_bytes);
};

}  // namespace atcr::storage
