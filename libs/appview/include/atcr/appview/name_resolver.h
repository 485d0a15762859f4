// NameResolver: maps a registry repository name "<handle-or-DID>/<repository...>" to its
// owner (DID, verified handle, PDS endpoint) and the repository part that ATCR records carry.
// Resolution goes through identity::Resolver, which caches handles and DID documents; a name
// whose first component does not resolve is NAME_UNKNOWN, a malformed one NAME_INVALID.
// Thread-safe.
#pragma once

#include <memory>
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
  explicit NameResolver(std::shared_ptr<identity::Resolver> resolver);

  net::Task<Result<RepositoryOwner>> Resolve(std::string_view name);
  // The identity alone ("alice.test" or a DID).
  net::Task<Result<identity::Identity>> ResolveIdentity(std::string_view id);
  identity::Resolver& resolver() { return *resolver_; }

 private:
  std::shared_ptr<identity::Resolver> resolver_;
};

}  // namespace atcr::appview
