#include "atcr/appview/name_resolver.h"

#include "atcr/appview/pds_client.h"
#include "atcr/atproto/syntax.h"

namespace atcr::appview {

Result<std::pair<std::string, std::string>> SplitRepositoryName(std::string_view name) {
  size_t slash = name.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= name.size()) {
    return InvalidArgument("repository name \"" + std::string(name) +
                               "\" must be <handle-or-DID>/<repository>",
                           "NAME_INVALID");
  }
  std::string id(name.substr(0, slash));
  std::string repo(name.substr(slash + 1));
  if (id.starts_with("did:")) {
    if (!atproto::ValidateDid(id).ok()) {
      return InvalidArgument("\"" + id + "\" is not a valid DID", "NAME_INVALID");
    }
  } else if (!atproto::ValidateHandle(id).ok()) {
    return InvalidArgument("\"" + id + "\" is not a valid handle or DID", "NAME_INVALID");
  } else {
    id = atproto::NormalizeHandle(id);
  }
  return std::make_pair(std::move(id), std::move(repo));
}

NameResolver::NameResolver(std::shared_ptr<identity::Resolver> resolver, std::chrono::seconds ttl)
    : resolver_(std::move(resolver)), ttl_(ttl) {}

void NameResolver::Invalidate(const std::string& did) {
  resolver_->Invalidate(did);
  std::lock_guard lock(mu_);
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (it->second.did == did) {
      resolver_->Invalidate(it->first);
      it = cache_.erase(it);
    } else {
      ++it;
    }
  }
}

net::Task<Result<identity::Identity>> NameResolver::ResolveIdentity(std::string_view id) {
  std::string key(id);
  auto ident = co_await resolver_->Resolve(key);
  if (!ident.ok()) {
    const Error& e = ident.error();
    if (e.code == ErrorCode::kUnavailable || e.code == ErrorCode::kDeadlineExceeded ||
        e.code == ErrorCode::kInternal) {
      co_return Error(e.code, "resolving " + key + ": " + e.message, "UNAVAILABLE");
    }
    co_return Error(ErrorCode::kNotFound, "cannot resolve " + key + ": " + e.message,
                    "NAME_UNKNOWN");
  }
  if (ident->pds_endpoint.empty()) {
    co_return Error(ErrorCode::kNotFound, key + " has no PDS in its DID document",
                    "NAME_UNKNOWN");
  }
  ident->pds_endpoint = NormalizeBaseUrl(ident->pds_endpoint);
  co_return std::move(*ident);
}

net::Task<Result<RepositoryOwner>> NameResolver::Resolve(std::string_view name) {
  auto split = SplitRepositoryName(name);
  if (!split.ok()) co_return split.error();
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(split->first);
    if (it != cache_.end() && it->second.expires > std::chrono::steady_clock::now()) {
      co_return RepositoryOwner{it->second.did, it->second.handle, it->second.pds_endpoint,
                                std::move(split->second)};
    }
  }
  auto ident = co_await ResolveIdentity(split->first);
  if (!ident.ok()) co_return ident.error();
  RepositoryOwner owner;
  owner.did = ident->did;
  owner.handle = ident->handle;
  owner.pds_endpoint = ident->pds_endpoint;
  owner.repository = std::move(split->second);
  std::lock_guard lock(mu_);
  if (cache_.size() > 100000) cache_.clear();
  cache_[split->first] = {owner.did, owner.handle, owner.pds_endpoint,
                          std::chrono::steady_clock::now() + ttl_};
  co_return owner;
}

}  // namespace atcr::appview
