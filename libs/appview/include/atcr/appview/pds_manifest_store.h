// PdsManifestStore: registry::ManifestStore over the owners' own PDS repos. A repository
// name "<handle-or-DID>/<repo>" is resolved to its owner; a manifest is an io.atcr.manifest
// record (every lexicon field, validated against the lexicon before it is written) plus the
// exact bytes as a PDS blob (manifestBlob); a tag is an io.atcr.tag record whose key is
// derived from (repository, tag), so retagging overwrites it (records.h). Reads go to the
// owner's PDS with no credentials and are cached (manifest_cache.h): a warm GET makes no
// network call. Records are found by their derived keys first and, failing that, by scanning
// the collection, so records ATCR wrote under other keys are served too. Writes use the
// owner's stored PDS session (only the owner may push, see token_service.h); a push also
// tells the hold (io.atcr.hold.notifyManifest, which enforces the quota). Thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "atcr/appview/records.h"
#include "atcr/appview/services.h"
#include "atcr/registry/manifest_store.h"

namespace atcr::appview {

namespace internal {
class RecordScanner;
}

class PdsManifestStore : public registry::ManifestStore {
 public:
  explicit PdsManifestStore(std::shared_ptr<AppViewServices> services);
  ~PdsManifestStore() override;

  Task<Result<registry::StoredManifest>> Get(std::string_view repository,
                                             const oci::Reference& reference) override;
  Task<Status> Put(const registry::ManifestPut& put) override;
  Task<Status> Delete(std::string_view repository, const oci::Digest& digest) override;
  Task<Status> DeleteTag(std::string_view repository, std::string_view tag) override;
  Task<Result<std::vector<oci::Digest>>> FindMissing(
      std::string_view repository, std::span<const oci::Digest> digests) override;
  Task<Result<std::vector<std::string>>> ListTags(std::string_view repository,
                                                  std::string_view after, size_t limit) override;
  // Repositories this AppView has pushed or served (it has no global view of every PDS).
  Task<Result<std::vector<std::string>>> ListRepositories(std::string_view after,
                                                          size_t limit) override;
  Task<Result<std::vector<oci::Descriptor>>> Referrers(
      std::string_view repository, const oci::Digest& subject,
      std::optional<std::string_view> artifact_type) override;

  // io.atcr.hold.notifyManifest with operation "pull" for a manifest just served (the
  // AppView front calls it in the background). Quietly skipped when the owner has no session
  // here (the token must come from the owner's PDS).
  Task<Status> NotifyPull(std::string name, oci::Digest digest);

  // The hold of a repository's newest known manifest ("" when it has none): the index, else
  // the owner's manifest records. For anonymous-pull decisions.
  Task<Result<std::string>> RepositoryHold(RepositoryOwner owner);

  // A record of `did` changed (firehose): drop what it backed.
  void InvalidateRecord(const std::string& did, std::string_view collection,
                        std::string_view rkey);

 private:
  struct Found;
  Task<Result<Found>> FindManifest(const RepositoryOwner& owner, const oci::Digest& digest,
                                   uint64_t generation);
  Task<Result<CachedTag>> FindTag(const RepositoryOwner& owner, const std::string& tag,
                                  uint64_t generation);

  std::shared_ptr<AppViewServices> s_;
  std::unique_ptr<internal::RecordScanner> scanner_;
};

}  // namespace atcr::appview
