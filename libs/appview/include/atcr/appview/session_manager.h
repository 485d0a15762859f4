// SessionManager: the AppView's PDS sessions on behalf of users. Login creates a session on
// the user's own PDS with an app password (createSession) and stores it; Current returns the
// stored session, refreshing it first when its access token is about to expire; Refresh runs
// at most once at a time per DID (concurrent callers share the result) so a refresh token,
// which the PDS revokes on use, is never spent twice. WithSession retries a call once after
// a refresh when the PDS says the access token expired. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "atcr/appview/pds_client.h"
#include "atcr/appview/session_store.h"
#include "atcr/base/result.h"

namespace atcr::appview {

namespace internal {
template <typename T>
class SingleFlight;
}

struct SessionManagerOptions {
  // Refresh proactively when the access token expires within this many seconds.
  int64_t refresh_margin_seconds = 60;
};

class SessionManager {
 public:
  SessionManager(std::shared_ptr<PdsClient> pds, std::shared_ptr<SessionStore> store,
                 SessionManagerOptions options = {});
  ~SessionManager();

  // createSession on `pds_endpoint`; the session's DID must equal expected_did (the identity
  // the identifier resolved to), else kUnauthenticated. Stores the session.
  Task<Result<PdsSession>> Login(std::string pds_endpoint, std::string expected_did,
                                 std::string identifier, std::string password);
  // kUnauthenticated (wire NoSession) when the DID has no stored session.
  Task<Result<PdsSession>> Current(std::string did);
  // Refreshes unless the stored access token already differs from `stale_access_jwt`
  // (another request refreshed meanwhile). A refresh token the PDS refuses deletes the
  // session (kUnauthenticated): the user must log in again.
  Task<Result<PdsSession>> Refresh(std::string did, std::string stale_access_jwt);

  // Runs call(session); when it fails with ExpiredToken / InvalidToken (or a 401), refreshes
  // and runs it once more.
  template <typename T>
  Task<Result<T>> WithSession(std::string did,
                              std::function<Task<Result<T>>(const PdsSession&)> call) {
    auto s = co_await Current(did);
    if (!s.ok()) co_return s.error();
    Result<T> r = co_await call(*s);
    if (r.ok() || !IsExpiredTokenError(r.error())) co_return r;
    std::string stale = s->access_jwt;
    auto fresh = co_await Refresh(did, stale);
    if (!fresh.ok()) co_return fresh.error();
    co_return co_await call(*fresh);
  }

  static bool IsExpiredTokenError(const Error& e);

 private:
  std::shared_ptr<PdsClient> pds_;
  std::shared_ptr<SessionStore> store_;
  SessionManagerOptions options_;
  std::unique_ptr<internal::SingleFlight<Result<PdsSession>>> refreshes_;
};

// The `exp` claim of a JWT without verifying it (our own session tokens); 0 when absent.
int64_t UnverifiedJwtExpiry(std::string_view jwt);

}  // namespace atcr::appview
