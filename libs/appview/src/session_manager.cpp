#include "atcr/appview/session_manager.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "atcr/base/encoding.h"
#include "atcr/base/time.h"
#include "atcr/crypto/jwt.h"
#include "internal/single_flight.h"

namespace atcr::appview {

int64_t UnverifiedJwtExpiry(std::string_view jwt) {
  // Session tokens of the reference PDS are HS256 (not ES256), which ParseJwt rejects by
  // signature size; decode the claims segment by hand.
  size_t a = jwt.find('.');
  if (a == std::string_view::npos) return 0;
  size_t b = jwt.find('.', a + 1);
  if (b == std::string_view::npos) return 0;
  auto claims = Base64Decode(jwt.substr(a + 1, b - a - 1), Base64Variant::kUrl);
  if (!claims.ok()) return 0;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(AsString(*claims), ec);
  if (ec || !v.is_object()) return 0;
  const boost::json::value* exp = v.get_object().if_contains("exp");
  if (exp == nullptr) return 0;
  if (exp->is_int64()) return exp->get_int64();
  if (exp->is_uint64()) return static_cast<int64_t>(exp->get_uint64());
  if (exp->is_double()) return static_cast<int64_t>(exp->get_double());
  return 0;
}

SessionManager::SessionManager(std::shared_ptr<PdsClient> pds, std::shared_ptr<SessionStore> store,
                               SessionManagerOptions options)
    : pds_(std::move(pds)),
      store_(std::move(store)),
      options_(options),
      refreshes_(std::make_unique<internal::SingleFlight<Result<PdsSession>>>()) {}

SessionManager::~SessionManager() = default;

bool SessionManager::IsExpiredTokenError(const Error& e) {
  return e.wire == "ExpiredToken" || e.wire == "InvalidToken" ||
         e.code == ErrorCode::kUnauthenticated;
}

Task<Result<PdsSession>> SessionManager::Login(std::string pds_endpoint, std::string expected_did,
                                               std::string identifier, std::string password) {
  auto s = co_await pds_->CreateSession(std::move(pds_endpoint), std::move(identifier),
                                        std::move(password));
  if (!s.ok()) {
    const Error& e = s.error();
    if (e.code == ErrorCode::kUnauthenticated || e.code == ErrorCode::kInvalidArgument ||
        e.code == ErrorCode::kPermissionDenied) {
      // AuthenticationRequired "Invalid identifier or password", AccountTakedown, ...
      co_return Error(ErrorCode::kUnauthenticated, "the PDS refused the login: " + e.message,
                      e.wire);
    }
    co_return s.error();
  }
  if (!expected_did.empty() && s->did != expected_did) {
    co_return Error(ErrorCode::kUnauthenticated,
                    "the PDS logged in " + s->did + ", not " + expected_did);
  }
  ATCR_CO_TRY(co_await store_->Put(*s));
  co_return std::move(*s);
}

Task<Result<PdsSession>> SessionManager::Current(std::string did) {
  auto stored = co_await store_->Get(did);
  if (!stored.ok()) co_return stored.error();
  if (!stored->has_value()) {
    co_return Error(ErrorCode::kUnauthenticated,
                    "no PDS session for " + did + "; log in to this registry again", "NoSession");
  }
  PdsSession s = std::move(**stored);
  int64_t exp = UnverifiedJwtExpiry(s.access_jwt);
  if (exp != 0 && exp - options_.refresh_margin_seconds <= UnixSeconds()) {
    std::string stale = s.access_jwt;
    co_return co_await Refresh(did, stale);
  }
  co_return s;
}

Task<Result<PdsSession>> SessionManager::Refresh(std::string did, std::string stale_access_jwt) {
  internal::SingleFlight<Result<PdsSession>>::Make make = [this, did,
                                                           stale_access_jwt]()
      -> Task<Result<PdsSession>> {
    auto stored = co_await store_->Get(did);
    if (!stored.ok()) co_return stored.error();
    if (!stored->has_value()) {
      co_return Error(ErrorCode::kUnauthenticated, "no PDS session for " + did, "NoSession");
    }
    PdsSession current = std::move(**stored);
    if (current.access_jwt != stale_access_jwt) co_return current;  // refreshed meanwhile
    auto fresh = co_await pds_->RefreshSession(current.pds_endpoint, current.refresh_jwt);
    if (!fresh.ok()) {
      if (fresh.error().code == ErrorCode::kUnauthenticated ||
          fresh.error().code == ErrorCode::kInvalidArgument) {
        spdlog::info("appview: refresh of {}'s PDS session refused ({}); session dropped", did,
                     fresh.error().wire);
        (void)co_await store_->Delete(did);
        co_return Error(ErrorCode::kUnauthenticated,
                        "the PDS session of " + did + " expired; log in to this registry again",
                        "NoSession");
      }
      co_return fresh.error();
    }
    if (fresh->handle.empty()) fresh->handle = current.handle;
    ATCR_CO_TRY(co_await store_->Put(*fresh));
    co_return std::move(*fresh);
  };
  co_return co_await refreshes_->Do(did, std::move(make));
}

}  // namespace atcr::appview
