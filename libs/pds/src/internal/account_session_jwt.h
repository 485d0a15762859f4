// Session tokens of the PDS's legacy (password) auth, shaped like the reference PDS's: HS256
// with the server's JWT secret; access tokens `typ: at+jwt` {scope, aud, sub, iat, exp},
// refresh tokens `typ: refresh+jwt` {scope, aud, sub, jti, iat, exp}. Verification follows
// the reference's order and error names (400 InvalidToken / ExpiredToken). Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atcr/base/encoding.h"
#include "atcr/base/result.h"

namespace atcr::pds::internal {

enum class SessionScope {
  kAccess,             // com.atproto.access: a full (password) session
  kAppPass,            // com.atproto.appPass
  kAppPassPrivileged,  // com.atproto.appPassPrivileged
  kRefresh,            // com.atproto.refresh
  kTakendown,          // com.atproto.takendown: a session of a taken-down account
  kSignupQueued,       // com.atproto.signupQueued (never issued here; accepted where the reference does)
};
const char* SessionScopeName(SessionScope scope);
std::optional<SessionScope> ParseSessionScope(std::string_view name);

inline constexpr const char* kAccessTyp = "at+jwt";
inline constexpr const char* kRefreshTyp = "refresh+jwt";

struct SessionClaims {
  std::string sub;  // account DID
  std::string aud;  // service DID
  SessionScope scope = SessionScope::kAccess;
  std::string jti;  // refresh tokens only
  int64_t iat = 0;
  int64_t exp = 0;
};

// HMAC-SHA256 (OpenSSL).
Bytes HmacSha256(ByteSpan key, ByteSpan data);

std::string SignAccessJwt(ByteSpan secret, std::string_view did, std::string_view aud,
                          SessionScope scope, int64_t iat, int64_t exp);
std::string SignRefreshJwt(ByteSpan secret, std::string_view did, std::string_view aud,
                           std::string_view jti, int64_t iat, int64_t exp);

struct SessionVerifyOptions {
  std::string typ;       // expected header typ (a token without typ is accepted, as the reference does)
  std::string audience;  // the service DID
  std::vector<SessionScope> scopes;  // accepted scopes
  bool allow_expired = false;
  int64_t now = 0;  // unix seconds
};

// Errors (kInvalidArgument, so 400 like the reference): ExpiredToken "Token has expired";
// InvalidToken "Token could not be verified" (shape, alg, signature, audience, claim types),
// "Invalid token type", "Malformed token", "Bad token scope".
Result<SessionClaims> VerifySessionJwt(std::string_view token, ByteSpan secret,
                                       const SessionVerifyOptions& options);

// A fresh refresh-token id: base64 of 32 random bytes (the reference's form).
std::string NewRefreshTokenId();

}  // namespace atcr::pds::internal
