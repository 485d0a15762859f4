// S3 BlobStore (AWS S3, Ceph radosgw, MinIO, Garage, R2, ...), signed with SigV4
// (sigv4.h) over atcr::net's pooled HTTP client. Same contract as the filesystem driver: a
// blob appears under its digest key only complete and verified. Used by the hold (and by any
// registry configured with S3 storage). Thread-safe; one UploadWriter per request at a time.
//
//   auto store = CreateS3BlobStore({.endpoint = "http://127.0.0.1:9000", .bucket = "b",
//                                   .access_key = "AK", .secret_key = "SK"});
//
// Keys (under `prefix`, distribution's layout so a bucket can be shared with ATCR's hold):
//   blobs/<alg>/<first two hex>/<hex>/data   committed blobs
//   uploads/<upload id>                      multipart uploads in progress, and for a moment
//                                            the assembled object before its digest is checked
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "atcr/storage/blob_store.h"

namespace atcr::storage {

struct S3BlobStoreOptions {
  std::string endpoint;  // "https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:9000"
  std::string region = "us-east-1";
  std::string bucket;
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // temporary (STS) credentials only
  // true: http://host/bucket/key. false: http://bucket.host/key (needs DNS for bucket.host
  // and a DNS-name endpoint).
  bool path_style = true;
  std::string prefix;  // key prefix, e.g. "atcr/" or "docker/registry/v2/"; "" = bucket root

  // Blobs up to multipart_threshold bytes go in one PUT straight to their digest key; larger
  // ones become multipart uploads of part_size parts (>= 5 MiB, the S3 minimum), up to
  // max_parallel_parts of them in flight per upload. Memory per active upload is bounded by
  // max(multipart_threshold, part_size) + max_parallel_parts * part_size.
  uint64_t multipart_threshold = 16 * 1024 * 1024;
  uint64_t part_size = 16 * 1024 * 1024;
  int max_parallel_parts = 4;
  // Committed multipart blobs are copied server-side from uploads/ to their digest key; above
  // this size the copy is itself a multipart copy (S3's CopyObject limit is 5 GiB).
  uint64_t max_single_copy_bytes = 5ull * 1024 * 1024 * 1024;
  // Reads (ReadRange, and the digest check of part uploads and of uploads resumed after a
  // restart) are ranged GETs of this size, max_parallel_parts of them in flight, so a read
  // holds up to max_parallel_parts * read_chunk_bytes. Each GET has a fixed cost (radosgw:
  // 8 MiB ranges ran at a quarter of a whole-object GET, 32 MiB at 60 %).
  uint64_t read_chunk_bytes = 16 * 1024 * 1024;

  // Presigned URLs handed out by Open() (pull redirects).
  int64_t presign_expiry_seconds = 900;

  // Retries: 5xx, SlowDown, timeouts and connection errors, for idempotent requests only
  // (SlowDown / 503 for every request, since S3 did not act on it); exponential backoff
  // from retry_base_delay, capped at retry_max_delay, with jitter.
  int max_attempts = 4;
  std::chrono::milliseconds retry_base_delay{100};
  std::chrono::milliseconds retry_max_delay{5000};
  std::chrono::milliseconds request_timeout{300000};  // one request, connect to last byte

  std::string tls_ca_file;            // extra CAs (PEM) for https endpoints
  bool insecure_skip_verify = false;  // local debugging only
  size_t max_idle_connections = 32;   // kept-alive connections to the endpoint

  // HEAD the bucket in CreateS3BlobStore, so a wrong endpoint, bucket or key fails at start.
  bool check_bucket = true;
};

Result<std::unique_ptr<BlobStore>> CreateS3BlobStore(const S3BlobStoreOptions& options);

}  // namespace atcr::storage
