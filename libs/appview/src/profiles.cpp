#include "atcr/appview/services.h"

#include <spdlog/spdlog.h>

#include "atcr/appview/records.h"
#include "atcr/base/time.h"
#include "atcr/identity/resolver.h"

namespace atcr::appview {

Profiles::Profiles(AppViewServices* services, std::chrono::seconds ttl)
    : services_(services), ttl_(ttl) {}

void Profiles::Invalidate(const std::string& did) {
  std::lock_guard lock(mu_);
  cache_.erase(did);
  ensured_.erase(did);
}

Task<Status> Profiles::Ensure(std::string did) {
  {
    std::lock_guard lock(mu_);
    if (ensured_.count(did) != 0) co_return Ok();
  }
  AppViewServices& s = *services_;
  std::string hold = s.default_hold_did;
  std::function<Task<Result<bool>>(const PdsSession&)> call =
      [&s, hold](const PdsSession& session) -> Task<Result<bool>> {
    std::string pds = session.pds_endpoint;
    std::string repo = session.did;
    std::string collection(kProfileCollection);
    std::string rkey(kProfileRkey);
    auto existing = co_await s.pds->GetRecord(pds, repo, collection, rkey);
    if (existing.ok()) co_return false;
    if (existing.error().code != ErrorCode::kNotFound) co_return existing.error();
    boost::json::object record = BuildProfileRecord(hold, NowRfc3339());
    boost::json::value as_value = record;
    ATCR_CO_TRY(s.lexicons->ValidateRecord(kProfileCollection, as_value, kProfileRkey));
    std::string access = session.access_jwt;
    auto put = co_await s.pds->PutRecord(pds, access, repo, collection, rkey, std::move(record));
    if (!put.ok()) co_return put.error();
    co_return true;
  };
  auto created = co_await s.sessions->WithSession<bool>(did, std::move(call));
  if (!created.ok()) co_return created.error();
  if (*created) spdlog::info("appview: created io.atcr.sailor.profile for {}", did);
  std::lock_guard lock(mu_);
  ensured_[did] = true;
  co_return Ok();
}

Task<Result<std::string>> Profiles::PushHold(std::string did, std::string pds_endpoint) {
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(did);
    if (it != cache_.end() && it->second.expires > std::chrono::steady_clock::now()) {
      if (!it->second.default_hold.empty()) co_return it->second.default_hold;
      if (!services_->default_hold_did.empty()) co_return services_->default_hold_did;
    }
  }
  std::string collection(kProfileCollection);
  std::string rkey(kProfileRkey);
  auto rec = co_await services_->pds->GetRecord(pds_endpoint, did, collection, rkey);
  std::string hold;
  if (rec.ok()) {
    auto p = ParseProfileRecord(rec->value);
    if (p.ok()) hold = p->default_hold;
    if (hold.starts_with("http://") || hold.starts_with("https://")) {
      // Old profiles stored the hold's URL.
      auto d = identity::DidWebFromUrl(hold);
      hold = d.ok() ? *d : std::string();
    }
  } else if (rec.error().code != ErrorCode::kNotFound) {
    co_return rec.error();
  }
  {
    std::lock_guard lock(mu_);
    cache_[did] = {hold, std::chrono::steady_clock::now() + ttl_};
  }
  if (!hold.empty()) co_return hold;
  if (!services_->default_hold_did.empty()) co_return services_->default_hold_did;
  co_return Error(ErrorCode::kFailedPrecondition,
                  "no hold to push to: the profile of " + did +
                      " names no defaultHold and this AppView has no default hold",
                  "DENIED");
}

}  // namespace atcr::appview
