#include "atcr/appview/service_tokens.h"

#include "atcr/base/time.h"
#include "internal/single_flight.h"

namespace atcr::appview {

struct ServiceTokenCache::Flights {
  internal::SingleFlight<Result<std::string>> fetch;
};

namespace {
std::string Key(const std::string& did, const std::string& aud, const std::string& lxm) {
  return did + " " + aud + " " + lxm;
}
}  // namespace

ServiceTokenCache::ServiceTokenCache(std::shared_ptr<SessionManager> sessions,
                                     std::shared_ptr<PdsClient> pds, ServiceTokenOptions options)
    : sessions_(std::move(sessions)),
      pds_(std::move(pds)),
      options_(options),
      flights_(std::make_unique<Flights>()) {}

ServiceTokenCache::~ServiceTokenCache() = default;

Task<Result<std::string>> ServiceTokenCache::Get(std::string did, std::string aud,
                                                 std::string lxm) {
  std::string key = Key(did, aud, lxm);
  bool reuse = !single_use(aud);
  if (reuse) {
    std::lock_guard lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      if (it->second.exp - options_.margin_seconds > UnixSeconds()) co_return it->second.token;
      cache_.erase(it);
    }
  }
  std::function<Task<Result<std::string>>(const PdsSession&)> call =
      [this, aud, lxm](const PdsSession& s) -> Task<Result<std::string>> {
    std::string pds = s.pds_endpoint;
    std::string access = s.access_jwt;
    std::string a = aud;
    std::string l = lxm;
    int64_t exp = UnixSeconds() + options_.lifetime_seconds;
    co_return co_await pds_->GetServiceAuth(std::move(pds), std::move(access), std::move(a),
                                            std::move(l), exp);
  };
  if (!reuse) co_return co_await sessions_->WithSession<std::string>(did, std::move(call));

  internal::SingleFlight<Result<std::string>>::Make make =
      [this, did, key, call]() -> Task<Result<std::string>> {
    auto fn = call;
    auto token = co_await sessions_->WithSession<std::string>(did, std::move(fn));
    if (token.ok()) {
      int64_t exp = UnverifiedJwtExpiry(*token);
      if (exp == 0) exp = UnixSeconds() + options_.lifetime_seconds;
      std::lock_guard lock(mu_);
      cache_[key] = Entry{*token, exp};
    }
    co_return token;
  };
  co_return co_await flights_->fetch.Do(key, std::move(make));
}

void ServiceTokenCache::TokenRefused(const std::string& did, const std::string& aud,
                                     const std::string& lxm, bool replayed) {
  std::lock_guard lock(mu_);
  cache_.erase(Key(did, aud, lxm));
  if (replayed) single_use_.insert(aud);
}

bool ServiceTokenCache::single_use(const std::string& aud) const {
  std::lock_guard lock(mu_);
  return single_use_.count(aud) != 0;
}

size_t ServiceTokenCache::cached() const {
  std::lock_guard lock(mu_);
  return cache_.size();
}

}  // namespace atcr::appview
