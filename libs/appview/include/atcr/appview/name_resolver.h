// NameResolver: maps a registry repository name "<handle-or-DID>/<repository...>" to its
// owner (DID, verified handle, PDS endpoint) and the repository part that ATCR records carry.
// Resolution goes through identity::Resolver, which caches handles and DID documents; a name
// whose first component does not resolve is NAME_UNKNOWN, a malformed one NAME_INVALID.
// Thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <string>
#include <string_view>
#include <utility>

#include "atcr/base/result.h"
#include "atcr/identity/resolver.h"
#include "atcr/net/http.h"

namespace atcr::appview {

struct RepositoryOwner {
  std::string did;
  std::string handle;        // verified both ways, or "handle.invalid"
  std::string pds_endpoint;  // no trailing slash
  std::string repository;    // the name without its first component
};

// ("alice.example.com", "app/web") from "alice.example.com/app/web". NAME_INVALID when there
// is no repository part or the identity is neither a handle nor a DID.
Result<std::pair<std::string, std::string>> SplitRepositoryName(std::string_view name);

class NameResolver {
 public:
  // Resolved identities are also kept here for `ttl` (no coroutine or document copy on the
  // warm path); Invalidate drops a DID (an #identity event) from here and from the resolver.
  explicit NameResolver(std::shared_ptr<identity::Resolver> resolver,
                        std::chrono::seconds ttl = std::chrono::seconds(60));

  net::Task<Result<RepositoryOwner>> Resolve(std::string_view name);
  // The identity alone ("alice.test" or a DID).
  net::Task<Result<identity::Identity>> ResolveIdentity(std::string_view id);
  identity::Resolver& resolver() { return *resolver_; }
  void Invalidate(const std::string& did);

 private:
  struct Entry {
    std::string did;
    std::string handle;
    std::string pds_endpoint;
    std::chrono::steady_clock::time_point expires;
  };
  std::shared_ptr<identity::Resolver> resolver_;
  std::chrono::seconds ttl_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> cache_;  // handle or DID -> owner
};

}  // namespace atcr::appview
