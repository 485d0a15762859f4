// The CPU-only first half of a repo write, run before the repo's lock is taken: the reference
// PDS's prepareCreate/prepareUpdate/prepareDelete (collection and record-key syntax, `$type`
// defaulting and checking, data-model and lexicon validation, legacy blob refs refused, blob
// refs collected, DAG-CBOR encoding and CID). Also the blob MIME sniffing of uploadBlob.
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atcr/atproto/lexicon.h"
#include "atcr/atproto/tid.h"
#include "atcr/base/encoding.h"
#include "atcr/base/result.h"
#include "atcr/cbor/cid.h"
#include "atcr/pds/repo_store.h"

namespace atcr::pds::internal {

struct PreparedWrite {
  RepoWrite::Action action = RepoWrite::Action::kCreate;
  std::string collection;
  std::string rkey;
  std::string path;  // collection/rkey
  std::string uri;
  Bytes cbor;        // empty for deletes
  cbor::Cid cid;     // empty for deletes
  std::vector<BlobRef> blobs;  // blob refs in the record (duplicates removed)
  std::optional<std::string> validation_status;
  std::optional<std::optional<cbor::Cid>> swap_record;
  bool ignore_missing = false;
};

Result<PreparedWrite> PrepareWrite(std::string_view did, RepoWrite write,
                                   std::optional<bool> validate,
                                   const atproto::LexiconCatalog& lexicons,
                                   atproto::TidClock& rkey_clock, size_t max_record_bytes);

// Blob refs ({$type: blob, ref, mimeType, size}) anywhere in a record; an error for legacy
// refs ({cid, mimeType}), which the reference refuses to create.
Result<std::vector<BlobRef>> CollectBlobRefs(const cbor::Value& record);

// The MIME type of a few well-known binary formats from their first bytes (PNG, JPEG, GIF,
// WebP, AVIF/HEIC, MP4, WebM, PDF, gzip, zstd, zip); "" if none matches.
std::string SniffMimeType(ByteSpan head);

// "text/plain; charset=utf-8" -> "text/plain" (lowercased, trimmed).
std::string BareMimeType(std::string_view content_type);

}  // namespace atcr::pds::internal
