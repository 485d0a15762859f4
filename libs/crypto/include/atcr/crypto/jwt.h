// Compact JWS tokens signed with ES256K (K-256) or ES256 (P-256), as ATProto inter-service
// auth uses them: base64url(header) "." base64url(claims) "." base64url(64-byte r||s).
// ParseJwt splits and decodes without trusting anything; VerifyJwt checks the signature
// (low-S compact only), the header (alg matches the key, typ not a token of another kind)
// and the time/audience/method claims. Errors carry the XRPC error name in Error::wire
// (BadJwt, BadJwtType, JwtExpired, BadJwtAudience, BadJwtLexiconMethod, BadJwtSignature).
// Pure functions; thread-safe.
//
//   std::string token = SignJwt(claims, key);
//   ATCR_ASSIGN_OR_RETURN(Jwt jwt, ParseJwt(token));
//   ... resolve jwt.issuer_did() to its #atproto key ...
//   ATCR_TRY(VerifyJwt(jwt, key, {.audience = "did:web:hold.example#atcr_hold",
//                                 .lxm = "io.atcr.hold.getUploadUrl"}));
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "atcr/base/encoding.h"
#include "atcr/base/result.h"
#include "atcr/crypto/keys.h"

namespace atcr::crypto {

// Tokens longer than this are rejected before any decoding.
inline constexpr size_t kMaxJwtSize = 16 * 1024;

class Jwt {
 public:
  const boost::json::object& header() const { return header_; }
  const boost::json::object& claims() const { return claims_; }
  // What the signature covers: the first two segments as sent, joined by '.'.
  std::string_view signing_input() const { return signing_input_; }
  const Bytes& signature() const { return signature_; }

  // Header fields; "" when absent or not a string.
  std::string alg() const { return HeaderString("alg"); }
  std::string typ() const { return HeaderString("typ"); }
  std::string kid() const { return HeaderString("kid"); }

  // String claims; "" when absent or not a string.
  std::string iss() const { return ClaimString("iss"); }
  std::string aud() const { return ClaimString("aud"); }
  std::string sub() const { return ClaimString("sub"); }
  std::string lxm() const { return ClaimString("lxm"); }
  std::string jti() const { return ClaimString("jti"); }
  // iss without a "#fragment" (old tokens carried "did#fragment").
  std::string issuer_did() const;
  // Integer claims (unix seconds); nullopt when absent or not an integer.
  std::optional<int64_t> exp() const { return ClaimInt("exp"); }
  std::optional<int64_t> iat() const { return ClaimInt("iat"); }
  std::optional<int64_t> nbf() const { return ClaimInt("nbf"); }

  std::string ClaimString(std::string_view name) const;
  std::optional<int64_t> ClaimInt(std::string_view name) const;

 private:
  friend Result<Jwt> ParseJwt(std::string_view token);
  std::string HeaderString(std::string_view name) const;

  boost::json::object header_;
  boost::json::object claims_;
  std::string signing_input_;
  Bytes signature_;
};

struct JwtVerifyOptions {
  // Expected `aud`. Empty = not checked. A token whose aud is the bare DID matches an expected
  // "did#service" and vice versa; two different fragments do not match.
  std::string audience;
  // Expected `lxm`. Empty = not checked (then a token carrying any lxm passes).
  std::string lxm;
  // Tolerance for exp / iat / nbf, in seconds.
  int64_t clock_skew_seconds = 30;
  // Unix seconds to check against; nullopt = the real clock.
  std::optional<int64_t> now;
  // Tokens without `exp` are rejected unless this is false.
  bool require_exp = true;
  // Header `typ` values that mark tokens of another kind (session, refresh, DPoP proof).
  std::vector<std::string> forbidden_typ = {"at+jwt", "refresh+jwt", "dpop+jwt"};
};

// Splits and decodes a compact JWS. Checks shape only: 3 segments, base64url without padding,
// header and claims are JSON objects, signature is 64 bytes.
Result<Jwt> ParseJwt(std::string_view token);

// Checks the signature with `key` and the header and claims against `options`.
Status VerifyJwt(const Jwt& jwt, const PublicKey& key, const JwtVerifyOptions& options);
// ParseJwt + VerifyJwt.
Result<Jwt> VerifyJwt(std::string_view token, const PublicKey& key,
                      const JwtVerifyOptions& options);

// Signs `claims` with header {"typ":"JWT","alg":<ES256K|ES256>} plus `extra_header` fields
// (e.g. "kid", or "typ"/"jwk" for a DPoP proof; an extra "typ" replaces the default).
std::string SignJwt(const boost::json::object& claims, const PrivateKey& key,
                    const boost::json::object& extra_header = {});

struct ServiceAuthRequest {
  std::string iss;  // the calling account's DID
  std::string aud;  // the service's DID, usually with a #service fragment
  std::string lxm;  // NSID of the method to call; empty = no lxm claim
  int64_t ttl_seconds = 60;
  std::optional<int64_t> now;  // unix seconds; nullopt = the real clock
};
// A service-auth token the way a PDS mints it: claims iat, iss, aud, exp, lxm, jti (random).
std::string SignServiceAuthJwt(const PrivateKey& key, const ServiceAuthRequest& request);

// JWK (RFC 7517) of a public key: {"kty":"EC","crv":"secp256k1"|"P-256","x","y"}.
boost::json::object PublicKeyToJwk(const PublicKey& key);
Result<PublicKey> PublicKeyFromJwk(const boost::json::object& jwk);
// RFC 7638 thumbprint: base64url(SHA-256 of the canonical JWK members).
std::string JwkThumbprint(const PublicKey& key);

}  // namespace atcr::crypto
