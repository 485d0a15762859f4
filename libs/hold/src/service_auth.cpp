#include "atcr/hold/service_auth.h"

#include <map>
#include <mutex>
#include <unordered_map>

#include "atcr/atproto/syntax.h"
#include "atcr/base/time.h"
#include "atcr/crypto/jwt.h"
#include "atcr/crypto/keys.h"
#include "atcr/net/xrpc.h"

namespace atcr::hold {
namespace {

Error AuthError(const char* wire, std::string message) {
  return Error(ErrorCode::kUnauthenticated, std::move(message), wire);
}

}  // namespace

DidDocumentSource ResolverDidSource(std::shared_ptr<identity::Resolver> resolver) {
  return [resolver](std::string did, bool force) -> net::Task<Result<identity::DidDocument>> {
    co_return co_await resolver->ResolveDid(did, force);
  };
}

struct ServiceAuthVerifier::Impl {
  ServiceAuthOptions options;
  DidDocumentSource source;

  mutable std::mutex mu;
  // (iss, jti) -> exp, plus the same entries ordered by exp for pruning.
  std::unordered_map<std::string, int64_t> seen;
  std::multimap<int64_t, std::string> by_exp;
  std::unordered_map<std::string, int64_t> last_refresh;

  int64_t Now() const { return options.now ? options.now() : UnixSeconds(); }

  void PruneLocked(int64_t now) {
    const int64_t horizon = now - options.clock_skew_seconds;
    while (!by_exp.empty() && by_exp.begin()->first < horizon) {
      seen.erase(by_exp.begin()->second);
      by_exp.erase(by_exp.begin());
    }
    // Still full of live tokens: forget the ones closest to expiry (bounded memory wins over
    // perfect replay protection for tokens about to die anyway).
    while (seen.size() >= options.replay_cache_capacity && !by_exp.empty()) {
      seen.erase(by_exp.begin()->second);
      by_exp.erase(by_exp.begin());
    }
    if (last_refresh.size() > 10000) {
      for (auto it = last_refresh.begin(); it != last_refresh.end();) {
        it = (now - it->second > options.refresh_min_interval_seconds) ? last_refresh.erase(it)
                                                                       : std::next(it);
      }
    }
  }

  // Records the token; false when it was already seen and is still alive.
  bool RememberJti(const std::string& iss, const std::string& jti, int64_t exp) {
    std::lock_guard lock(mu);
    const int64_t now = Now();
    std::string key = iss + " " + jti;
    auto it = seen.find(key);
    if (it != seen.end() && it->second + options.clock_skew_seconds >= now) return false;
    PruneLocked(now);
    seen[key] = exp;
    by_exp.emplace(exp, std::move(key));
    return true;
  }

  bool MayRefresh(const std::string& did) {
    std::lock_guard lock(mu);
    const int64_t now = Now();
    auto [it, inserted] = last_refresh.try_emplace(did, now);
    if (inserted) return true;
    if (now - it->second < options.refresh_min_interval_seconds) return false;
    it->second = now;
    return true;
  }

  net::Task<Result<crypto::PublicKey>> KeyOf(const std::string& did, bool force) {
    auto doc = co_await source(did, force);
    if (!doc.ok()) {
      co_return AuthError("BadJwtIss", "cannot resolve the issuer " + did + ": " +
                                           doc.error().message);
    }
    if (doc->signing_key.empty()) {
      co_return AuthError("BadJwtIss", "the DID document of " + did + " has no #atproto key");
    }
    auto key = crypto::PublicKey::FromDidKey(doc->signing_key);
    if (!key.ok()) {
      co_return AuthError("BadJwtIss", "the #atproto key of " + did + " is unusable: " +
                                           key.error().message);
    }
    co_return std::move(key).value();
  }
};

ServiceAuthVerifier::ServiceAuthVerifier(ServiceAuthOptions options, DidDocumentSource source)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->source = std::move(source);
}

ServiceAuthVerifier::~ServiceAuthVerifier() = default;

const ServiceAuthOptions& ServiceAuthVerifier::options() const { return impl_->options; }

size_t ServiceAuthVerifier::replay_cache_size() const {
  std::lock_guard lock(impl_->mu);
  return impl_->seen.size();
}

net::Task<Result<ServiceCaller>> ServiceAuthVerifier::VerifyRequest(const net::Request& req,
                                                                    std::string lxm) {
  std::optional<std::string> token = net::BearerToken(req);
  if (!token) co_return AuthError("AuthRequired", "a service-auth bearer token is required");
  co_return co_await Verify(std::move(*token), std::move(lxm));
}

net::Task<Result<ServiceCaller>> ServiceAuthVerifier::Verify(std::string token, std::string lxm) {
  Impl& m = *impl_;
  auto parsed = crypto::ParseJwt(token);
  if (!parsed.ok()) co_return std::move(parsed).error();
  const crypto::Jwt& jwt = *parsed;

  const std::string iss = jwt.issuer_did();
  if (iss.empty() || !atproto::ValidateDid(iss).ok()) {
    co_return AuthError("BadJwtIss", "iss \"" + jwt.iss() + "\" is not a DID");
  }
  const int64_t now = m.Now();
  std::optional<int64_t> exp = jwt.exp();
  if (!exp) co_return AuthError("BadJwt", "missing exp claim");
  if (*exp - now > m.options.max_lifetime_seconds + m.options.clock_skew_seconds) {
    co_return AuthError("BadJwt", "token lives too long (exp " + std::to_string(*exp) +
                                      ", at most " +
                                      std::to_string(m.options.max_lifetime_seconds) +
                                      " s ahead)");
  }
  if (lxm.empty()) co_return Internal("service-auth check without a method");

  crypto::JwtVerifyOptions verify_options;
  verify_options.audience = m.options.audience;
  verify_options.lxm = lxm;
  verify_options.clock_skew_seconds = m.options.clock_skew_seconds;
  verify_options.now = now;

  auto key = co_await m.KeyOf(iss, false);
  if (!key.ok()) co_return std::move(key).error();
  Status st = crypto::VerifyJwt(jwt, *key, verify_options);
  if (!st.ok() && st.error().wire == "BadJwtSignature" && m.MayRefresh(iss)) {
    // The issuer may have rotated its key since the document was cached.
    auto fresh = co_await m.KeyOf(iss, true);
    if (!fresh.ok()) co_return std::move(fresh).error();
    if (!(*fresh == *key)) st = crypto::VerifyJwt(jwt, *fresh, verify_options);
  }
  if (!st.ok()) co_return std::move(st).error();

  ServiceCaller caller;
  caller.did = iss;
  caller.lxm = lxm;
  caller.jti = jwt.jti();
  caller.exp = *exp;
  if (caller.jti.empty()) {
    if (m.options.require_jti) co_return AuthError("BadJwt", "missing jti claim");
  } else if (!m.options.allow_reuse && !m.RememberJti(iss, caller.jti, *exp)) {
    co_return AuthError("BadJwt", "token replayed: jti " + caller.jti + " was already used");
  }
  co_return caller;
}

}  // namespace atcr::hold
