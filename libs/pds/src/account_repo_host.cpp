// RepoStoreHost: the account service's RepoHost over RepoStore.
#include "atcr/pds/account_repo_host.h"

namespace atcr::pds {

Status RepoStoreHost::CreateRepo(std::string_view did, const crypto::PrivateKey& key) {
  auto commit = store_.CreateRepo(did, key);
  if (!commit.ok()) return std::move(commit).error();
  return Ok();
}

Status RepoStoreHost::AppendIdentityEvent(std::string_view did, std::optional<std::string> handle) {
  return store_.AppendIdentityEvent(did, std::move(handle));
}

Status RepoStoreHost::AppendAccountEvent(std::string_view did, bool active,
                                         std::optional<std::string> status) {
  return store_.AppendAccountEvent(did, active, std::move(status));
}

Status RepoStoreHost::DeleteRepo(std::string_view did) { return store_.DeleteRepo(did); }

bool RepoStoreHost::HasRepo(std::string_view did) { return store_.HasRepo(did); }

}  // namespace atcr::pds
