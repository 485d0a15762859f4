// RepoStoreHost: the RepoHost seam of the account service (account_service.h) over the PDS's
// RepoStore (repo_store.h), so `atcr pds serve` and the hold wire the two halves together:
//
//   ATCR_ASSIGN_OR_RETURN(auto repos, RepoStore::Open({.data_dir = dir}));
//   RepoStoreHost host(*repos);
//   ATCR_ASSIGN_OR_RETURN(auto accounts, AccountService::Open(opts, &host, &http));
//
// Stateless forwarding; thread-safe as RepoStore is. The store must outlive it.
#pragma once

#include "atcr/pds/account_service.h"
#include "atcr/pds/repo_store.h"

namespace atcr::pds {

class RepoStoreHost final : public RepoHost {
 public:
  explicit RepoStoreHost(RepoStore& store) : store_(store) {}

  Status CreateRepo(std::string_view did, const crypto::PrivateKey& key) override;
  Status AppendIdentityEvent(std::string_view did, std::optional<std::string> handle) override;
  Status AppendAccountEvent(std::string_view did, bool active,
                            std::optional<std::string> status) override;
  Status DeleteRepo(std::string_view did) override;
  bool HasRepo(std::string_view did) override;

 private:
  RepoStore& store_;
};

}  // namespace atcr::pds
