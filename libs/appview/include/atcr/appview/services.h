// AppViewServices: the shared parts the AppView's registry stores and token service are built
// from (clients, caches, the index), plus two small services on top of them: Profiles (a
// user's io.atcr.sailor.profile: created on first login, its defaultHold picks the push hold)
// and WithHoldToken (a hold call with a service token, retried once with a fresh token when
// the hold refuses the cached one). AppView (app_view.h) builds one set per process; tests
// build their own. Everything here is thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "atcr/appview/hold_client.h"
#include "atcr/appview/index.h"
#include "atcr/appview/manifest_cache.h"
#include "atcr/appview/name_resolver.h"
#include "atcr/appview/pds_client.h"
#include "atcr/appview/service_tokens.h"
#include "atcr/appview/session_manager.h"
#include "atcr/atproto/lexicon.h"
#include "atcr/identity/resolver.h"
#include "atcr/net/http_client.h"

namespace atcr::appview {

class Profiles;

struct AppViewServices {
  std::string default_hold_did;  // may be empty: then pushes need a profile defaultHold
  uint64_t upload_part_bytes = 16ull << 20;
  uint64_t hold_part_bytes = 5ull << 30;  // parts that go to the hold itself, over http
  std::string uploads_dir;  // spooled upload bytes
  bool notify_pulls = true;

  std::shared_ptr<net::HttpClient> http;
  std::shared_ptr<identity::Resolver> resolver;
  std::shared_ptr<NameResolver> names;
  std::shared_ptr<PdsClient> pds;
  std::shared_ptr<SessionManager> sessions;
  std::shared_ptr<ServiceTokenCache> service_tokens;
  std::shared_ptr<HoldClient> holds;
  std::shared_ptr<ManifestCache> cache;
  std::shared_ptr<AppViewIndex> index;
  std::shared_ptr<const atproto::LexiconCatalog> lexicons;
  std::shared_ptr<Profiles> profiles;
};

// Runs call(token) with a service token of `did` for `hold` and method `lxm`. When the hold
// answers 401 (BadJwt, JwtExpired, ...), the token is dropped — and tokens for this hold are
// no longer reused when the hold says it saw the token before — and the call runs once more.
template <typename T>
Task<Result<T>> WithHoldToken(AppViewServices& s, std::string did, HoldInfo hold, std::string lxm,
                              std::function<Task<Result<T>>(std::string token)> call) {
  for (int attempt = 0;; ++attempt) {
    auto token = co_await s.service_tokens->Get(did, hold.did, lxm);
    if (!token.ok()) co_return token.error();
    Result<T> r = co_await call(*token);
    if (r.ok() || attempt > 0 || r.error().code != ErrorCode::kUnauthenticated) co_return r;
    bool replayed = r.error().message.find("replay") != std::string::npos ||
                    r.error().message.find("already used") != std::string::npos;
    s.service_tokens->TokenRefused(did, hold.did, lxm, replayed);
  }
}

// Sends io.atcr.hold.requestCrew for `did` (self-service: blob:read and blob:write). A hold
// whose captain allows all crew takes any authenticated user, as ATCR's AppView relies on.
Task<Status> JoinHoldCrew(AppViewServices& s, std::string did, HoldInfo hold);

// WithHoldToken for a write method: when the hold answers Forbidden (the user is not in its
// crew yet), the user asks to join once and the call runs again.
template <typename T>
Task<Result<T>> WithHoldTokenJoiningCrew(AppViewServices& s, std::string did, HoldInfo hold,
                                         std::string lxm,
                                         std::function<Task<Result<T>>(std::string token)> call) {
  Result<T> r = co_await WithHoldToken<T>(s, did, hold, lxm, call);
  if (r.ok() || r.error().wire != "Forbidden") co_return r;
  Status joined = co_await JoinHoldCrew(s, did, hold);
  if (!joined.ok()) co_return r;
  co_return co_await WithHoldToken<T>(s, did, hold, lxm, call);
}

class Profiles {
 public:
  Profiles(AppViewServices* services, std::chrono::seconds ttl = std::chrono::seconds(60));

  // Creates io.atcr.sailor.profile/self with the AppView's default hold when the user has
  // none (after a login; needs the user's session). Remembered per DID, so later logins cost
  // no PDS call.
  Task<Status> Ensure(std::string did);
  // The hold a push of `did` goes to: the profile's defaultHold, else the AppView default.
  // FAILED_PRECONDITION when neither exists.
  Task<Result<std::string>> PushHold(std::string did, std::string pds_endpoint);
  void Invalidate(const std::string& did);

 private:
  AppViewServices* services_;
  std::chrono::seconds ttl_;
  std::mutex mu_;
  struct Entry {
    std::string default_hold;
    std::chrono::steady_clock::time_point expires;
  };
  std::map<std::string, Entry> cache_;
  std::map<std::string, bool> ensured_;
};

}  // namespace atcr::appview
