// ServiceAuthVerifier: checks ATProto inter-service JWTs (ES256K and ES256) the way a hold
// must: signature by the #atproto key of the issuer's DID document (resolved through a
// DidDocumentSource, refreshed once when the signature does not verify, e.g. after a key
// rotation), aud == this hold's DID (bare or with a #fragment), lxm == the called method, exp
// enforced with a small skew and bounded lifetime, and a jti never accepted twice while its
// token is alive (bounded in-memory replay cache). Errors are kUnauthenticated with the
// reference wire names (BadJwt, BadJwtType, JwtExpired, BadJwtAudience, BadJwtLexiconMethod,
// BadJwtIss, BadJwtSignature, AuthRequired). Used by the hold's XRPC handlers. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "atcr/base/result.h"
#include "atcr/identity/did_document.h"
#include "atcr/identity/resolver.h"
#include "atcr/net/http.h"

namespace atcr::hold {

// The issuer's DID document; force_refresh bypasses any cache.
using DidDocumentSource =
    std::function<net::Task<Result<identity::DidDocument>>(std::string did, bool force_refresh)>;
// A source over identity::Resolver (which caches documents for its TTL).
DidDocumentSource ResolverDidSource(std::shared_ptr<identity::Resolver> resolver);

struct ServiceAuthOptions {
  std::string audience;  // this hold's DID
  int64_t clock_skew_seconds = 30;
  // Tokens whose exp lies further ahead are refused; this bounds the replay cache's horizon.
  // getServiceAuth issues at most one hour.
  int64_t max_lifetime_seconds = 3600;
  size_t replay_cache_capacity = 200000;
  // Tokens without jti cannot be replay-checked; refuse them when true.
  bool require_jti = false;
  // Accept a token again while it lives (no replay check), for AppViews that cache service
  // tokens per user and hold as ATCR's Go AppView does. Off by default.
  bool allow_reuse = false;
  // A signature failure refreshes an issuer's document at most this often.
  int64_t refresh_min_interval_seconds = 5;
  std::function<int64_t()> now;  // unix seconds; empty = the real clock
};

struct ServiceCaller {
  std::string did;  // iss without fragment
  std::string lxm;
  std::string jti;
  int64_t exp = 0;
};

class ServiceAuthVerifier {
 public:
  ServiceAuthVerifier(ServiceAuthOptions options, DidDocumentSource source);
  ~ServiceAuthVerifier();

  // Verifies `token` for a call of method `lxm`.
  net::Task<Result<ServiceCaller>> Verify(std::string token, std::string lxm);
  // Verifies the request's `Authorization: Bearer` token; AuthRequired when there is none.
  net::Task<Result<ServiceCaller>> VerifyRequest(const net::Request& req, std::string lxm);

  size_t replay_cache_size() const;
  const ServiceAuthOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace atcr::hold
