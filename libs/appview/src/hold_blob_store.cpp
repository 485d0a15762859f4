#include "atcr/appview/hold_blob_store.h"

#include "atcr/base/time.h"

namespace atcr::appview {

namespace {
Error BlobUnknown(const oci::Digest& d, std::string_view repository) {
  return NotFound("blob " + d.str() + " is not in " + std::string(repository), "BLOB_UNKNOWN");
}
}  // namespace

HoldBlobStore::HoldBlobStore(std::shared_ptr<AppViewServices> services)
    : s_(std::move(services)) {}

Task<Result<std::optional<BlobLink>>> HoldBlobStore::GetLink(const RepositoryOwner& owner,
                                                             const oci::Digest& digest) {
  Result<std::optional<BlobLink>> out = std::optional<BlobLink>();
  auto index = s_->index;
  std::string d = digest.str();
  co_await net::RunBlocking([&] { out = index->GetLink(owner.did, owner.repository, d); });
  co_return out;
}

Task<Result<registry::BlobInfo>> HoldBlobStore::Stat(std::string_view repository,
                                                     const oci::Digest& digest) {
  auto owner = co_await s_->names->Resolve(repository);
  if (!owner.ok()) co_return owner.error();
  auto link = co_await GetLink(*owner, digest);
  if (!link.ok()) co_return link.error();
  if (!link->has_value()) co_return BlobUnknown(digest, repository);
  co_return registry::BlobInfo{digest, (*link)->size};
}

Task<Result<registry::BlobContent>> HoldBlobStore::Open(std::string_view repository,
                                                        const oci::Digest& digest) {
  auto owner = co_await s_->names->Resolve(repository);
  if (!owner.ok()) co_return owner.error();
  auto link = co_await GetLink(*owner, digest);
  if (!link.ok()) co_return link.error();
  if (!link->has_value()) co_return BlobUnknown(digest, repository);
  auto hold = co_await s_->holds->Info((*link)->hold_did);
  if (!hold.ok()) co_return hold.error();
  registry::BlobContent content;
  content.size = (*link)->size;
  if (hold->is_public) {
    content.redirect_url = HoldClient::BlobUrl(*hold, digest);
    content.redirect_expires_unix = 0;  // the URL itself does not expire
    co_return content;
  }
  std::function<Task<Result<std::string>>(std::string)> call =
      [this, h = *hold, digest](std::string token) -> Task<Result<std::string>> {
    HoldInfo hold_info = h;
    oci::Digest d = digest;
    co_return co_await s_->holds->ResolveBlobRedirect(std::move(hold_info), std::move(token),
                                                      std::move(d));
  };
  std::string did = owner->did;
  std::string lxm = "com.atproto.sync.getBlob";
  auto url = co_await WithHoldToken<std::string>(*s_, did, *hold, lxm, std::move(call));
  if (!url.ok()) co_return url.error();
  content.redirect_url = std::move(*url);
  content.redirect_expires_unix = UnixSeconds() + 60;
  co_return content;
}

Task<Status> HoldBlobStore::Link(std::string_view repository, const oci::Digest& digest) {
  auto owner = co_await s_->names->Resolve(repository);
  if (!owner.ok()) co_return owner.error();
  std::string did = owner->did;
  std::string pds = owner->pds_endpoint;
  auto hold = co_await s_->profiles->PushHold(did, pds);
  if (!hold.ok()) co_return hold.error();
  Status st;
  bool linked = false;
  auto index = s_->index;
  std::string d = digest.str();
  std::string hold_did = *hold;
  co_await net::RunBlocking([&] {
    auto existing = index->GetLink(owner->did, owner->repository, d);
    if (!existing.ok()) {
      st = existing.error();
      return;
    }
    if (existing->has_value()) {
      linked = true;
      return;
    }
    auto other = index->FindLinkOnHold(d, hold_did);
    if (!other.ok()) {
      st = other.error();
      return;
    }
    if (!other->has_value()) return;
    st = index->Link({owner->did, owner->repository, d, (*other)->size, hold_did}, false);
    linked = st.ok();
  });
  if (!st.ok()) co_return st;
  if (!linked) {
    co_return NotFound("blob " + d + " is not on hold " + hold_did + ", where " +
                           std::string(repository) + " is pushed",
                       "BLOB_UNKNOWN");
  }
  co_return Ok();
}

Task<Status> HoldBlobStore::Unlink(std::string_view repository, const oci::Digest& digest) {
  auto owner = co_await s_->names->Resolve(repository);
  if (!owner.ok()) co_return owner.error();
  Result<bool> removed = false;
  auto index = s_->index;
  std::string d = digest.str();
  co_await net::RunBlocking([&] { removed = index->Unlink(owner->did, owner->repository, d); });
  if (!removed.ok()) co_return removed.error();
  if (!*removed) co_return BlobUnknown(digest, repository);
  co_return Ok();
}

Task<Result<std::vector<oci::Digest>>> HoldBlobStore::FindMissing(
    std::string_view repository, std::span<const oci::Digest> digests) {
  auto owner = co_await s_->names->Resolve(repository);
  if (!owner.ok()) co_return owner.error();
  std::vector<oci::Digest> missing;
  Status st;
  auto index = s_->index;
  std::vector<oci::Digest> wanted(digests.begin(), digests.end());
  co_await net::RunBlocking([&] {
    for (const oci::Digest& d : wanted) {
      auto link = index->GetLink(owner->did, owner->repository, d.str());
      if (!link.ok()) {
        st = link.error();
        return;
      }
      if (!link->has_value()) missing.push_back(d);
    }
  });
  if (!st.ok()) co_return st.error();
  co_return missing;
}

}  // namespace atcr::appview
