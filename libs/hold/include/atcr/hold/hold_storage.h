// HoldStorage: the hold's view of its object storage. Blobs are content-addressed OCI
// blobs; uploads are S3-style multipart uploads (parts by number, any order, re-uploadable,
// finished by a list of {partNumber, etag}), verified against their digest before the blob
// becomes visible. Drivers that can presign (S3) hand out URLs for parts and downloads; the
// filesystem driver cannot, and the hold then signs its own short-lived URLs (signed_url.h).
// Implementations: filesystem (CreateFsHoldStorage below) and object stores
// (CreateObjectStoreHoldStorage over storage's S3 driver).
// Thread-safe; the coroutines do their blocking work through net::RunBlocking.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "atcr/base/result.h"
#include "atcr/net/http.h"
#include "atcr/oci/digest.h"
#include "atcr/storage/blob_store.h"

namespace atcr::hold {

inline constexpr int kMaxPartNumber = 10000;

// A stored blob: digest, size, modification time (storage's own description of a blob).
using StoredBlob = storage::BlobInfo;

struct PartRef {
  int part_number = 0;
  std::string etag;
};

// A request a client makes directly against object storage.
struct PresignedRequest {
  std::string url;
  std::string method;  // "GET", "PUT"
  std::vector<std::pair<std::string, std::string>> headers;
  int64_t expires_unix = 0;
};

class HoldStorage {
 public:
  virtual ~HoldStorage() = default;
  virtual std::string_view driver() const = 0;  // "filesystem", "s3"
  virtual bool can_presign() const = 0;

  // kNotFound (wire BlobNotFound) when absent.
  virtual net::Task<Result<StoredBlob>> Stat(oci::Digest digest) = 0;
  // An fd to send (fs) or a redirect; for proxying when presigning is off or unavailable.
  virtual net::Task<Result<storage::BlobRead>> Open(oci::Digest digest) = 0;
  // kUnimplemented when !can_presign().
  virtual Result<PresignedRequest> PresignGet(const oci::Digest& digest,
                                              int64_t expires_seconds) = 0;
  virtual net::Task<Status> Delete(oci::Digest digest) = 0;  // kNotFound when absent
  virtual net::Task<Result<std::vector<StoredBlob>>> List() = 0;

  // Starts a multipart upload for a blob that must hash to `digest`.
  virtual net::Task<Result<std::string>> StartUpload(oci::Digest digest) = 0;
  // kUnimplemented when !can_presign().
  virtual Result<PresignedRequest> PresignPart(const std::string& upload_id, int part_number,
                                               int64_t expires_seconds) = 0;
  // Streams one part from `body` (until it reports 0); returns the part's etag. A part number
  // written again replaces the earlier part. Errors: UploadNotFound, InvalidPartNumber.
  virtual net::Task<Result<std::string>> WritePart(std::string upload_id, int part_number,
                                                   net::BodyReader& body) = 0;
  // Joins `parts` (ascending part numbers) and checks the result hashes to `digest` and to the
  // upload's digest. On a mismatch the upload is discarded and the error is DigestMismatch.
  virtual net::Task<Result<StoredBlob>> CompleteUpload(std::string upload_id, oci::Digest digest,
                                                       std::vector<PartRef> parts) = 0;
  virtual net::Task<Status> AbortUpload(std::string upload_id) = 0;  // UploadNotFound
  // Aborts uploads untouched for longer than max_age_seconds (including ones the hold's index
  // no longer knows, e.g. after a crash); returns how many went.
  virtual net::Task<Result<size_t>> CleanupUploads(int64_t max_age_seconds) = 0;
};

struct FsHoldStorageOptions {
  std::string root;   // blobs/ as storage::FsBlobStore lays them out, multipart/ for uploads
  bool fsync = true;  // tests may turn it off; never off in production
};

Result<std::shared_ptr<HoldStorage>> CreateFsHoldStorage(const FsHoldStorageOptions& options);

struct ObjectStoreHoldOptions {
  std::string driver = "s3";
  // uploadPart through the hold (presigned URLs off) buffers one part; larger parts are refused.
  uint64_t max_proxied_part_bytes = 64 * 1024 * 1024;
};

// Over a storage::BlobStore with the object-store extensions (storage::CreateS3BlobStore):
// presigned downloads and part URLs, parts proxied when asked, completion verified by the store.
std::shared_ptr<HoldStorage> CreateObjectStoreHoldStorage(std::shared_ptr<storage::BlobStore> store,
                                                          ObjectStoreHoldOptions options = {});

}  // namespace atcr::hold
