// ManifestStore: the manifests of every repository, keyed by (repository, tag or digest).
// The Distribution API handler (distribution_api.h) is its only caller on the request path.
// Implementations keep the exact pushed bytes and the media type they were pushed with; the
// filesystem one (filesystem.h) writes link files, the AppView's writes PDS records.
// Methods are coroutines on the caller's executor; implementations move blocking work to
// net::RunBlocking. Implementations are thread-safe.
//
// Errors carry OCI wire names: MANIFEST_UNKNOWN (no such tag/digest in the repository),
// NAME_UNKNOWN (no such repository), NAME_INVALID, DIGEST_INVALID.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "atcr/base/result.h"
#include "atcr/net/http.h"
#include "atcr/oci/digest.h"
#include "atcr/oci/manifest.h"
#include "atcr/oci/name.h"

namespace atcr::registry {

using net::Task;

// A manifest as stored: the original bytes, the media type it was pushed with, its digest
// (the algorithm the client chose; sha256 unless pushed by a sha512 digest).
struct StoredManifest {
  std::string bytes;
  std::string media_type;
  oci::Digest digest;
};

// Everything Put needs. The handler has validated the bytes (oci::ParseManifest), checked the
// digest and that every referenced blob and child manifest exists in the repository.
struct ManifestPut {
  std::string repository;
  std::string bytes;
  std::string media_type;
  oci::Digest digest;
  std::vector<std::string> tags;  // tags to point at this manifest (validated), may be empty
  // When the manifest has a subject: the subject's digest and the descriptor the referrers
  // API lists for this manifest (mediaType, digest, size, artifactType, annotations).
  std::optional<oci::Digest> subject;
  oci::Descriptor referrer;
};

class ManifestStore {
 public:
  virtual ~ManifestStore() = default;

  // By tag or by digest. MANIFEST_UNKNOWN if absent.
  virtual Task<Result<StoredManifest>> Get(std::string_view repository,
                                           const oci::Reference& reference) = 0;
  // Stores the bytes, then the revision, the referrers entry and the tags, each durably.
  // Re-putting an existing digest only moves tags.
  virtual Task<Status> Put(const ManifestPut& put) = 0;
  // Removes the manifest revision, every tag pointing at it and its referrers entry.
  // MANIFEST_UNKNOWN if the digest is not a manifest of the repository.
  virtual Task<Status> Delete(std::string_view repository, const oci::Digest& digest) = 0;
  // Unlinks one tag; the manifest stays reachable by digest. MANIFEST_UNKNOWN if absent.
  virtual Task<Status> DeleteTag(std::string_view repository, std::string_view tag) = 0;
  // The digests among `digests` that are not manifests of the repository (for index PUTs).
  virtual Task<Result<std::vector<oci::Digest>>> FindMissing(
      std::string_view repository, std::span<const oci::Digest> digests) = 0;

  // Tags in byte order, strictly after `after` (empty: from the start), at most `limit`.
  // NAME_UNKNOWN if the repository does not exist; an existing repository without tags
  // gives an empty list.
  virtual Task<Result<std::vector<std::string>>> ListTags(std::string_view repository,
                                                          std::string_view after,
                                                          size_t limit) = 0;
  // Repositories holding at least one manifest, in byte order, strictly after `after`.
  virtual Task<Result<std::vector<std::string>>> ListRepositories(std::string_view after,
                                                                  size_t limit) = 0;
  // Descriptors of the manifests in `repository` whose subject is `subject`, ordered by
  // digest; only those whose artifactType equals `artifact_type` when it is given. An unknown
  // repository or subject gives an empty list.
  virtual Task<Result<std::vector<oci::Descriptor>>> Referrers(
      std::string_view repository, const oci::Digest& subject,
      std::optional<std::string_view> artifact_type) = 0;
};

}  // namespace atcr::registry
