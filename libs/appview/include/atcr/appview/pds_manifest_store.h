// PdsManifestStore: registry::ManifestStore over the image owners' own PDS repos — manifests
// as io.atcr.manifest records plus their exact bytes as a PDS blob, tags as io.atcr.tag
// records (records.h), validated against the lexicons before writing; reads cached in
// ManifestCache so a warm GET makes no network call. Writes use the owner's PDS session and
// tell the hold (notifyManifest). Used by AppView. Thread-safe. See README.md.
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
