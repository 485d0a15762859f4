// HS256 session tokens (see internal/account_session_jwt.h).
#include "internal/account_session_jwt.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/json.hpp>

#include "atcr/atproto/syntax.h"
#include "atcr/base/hash.h"

namespace atcr::pds::internal {
namespace {

namespace json = boost::json;

// Tokens longer than this are not even decoded.
constexpr size_t kMaxSessionJwtSize = 8 * 1024;

Error InvalidToken(std::string message = "Token could not be verified") {
  return InvalidArgument(std::move(message), "InvalidToken");
}

std::string B64Url(std::string_view s) {
  return Base64Encode(AsBytes(s), Base64Variant::kUrl, /*pad=*/false);
}

std::string Sign(ByteSpan secret, const json::object& header, const json::object& claims) {
  std::string input = B64Url(json::serialize(header)) + "." + B64Url(json::serialize(claims));
  Bytes mac = HmacSha256(secret, AsBytes(input));
  return input + "." + Base64Encode(mac, Base64Variant::kUrl, /*pad=*/false);
}

std::optional<Bytes> DecodeSegment(std::string_view seg) {
  if (seg.empty() || seg.find('=') != std::string_view::npos) return std::nullopt;
  auto b = Base64Decode(seg, Base64Variant::kUrl);
  if (!b.ok()) return std::nullopt;
  return std::move(b).value();
}

std::optional<json::object> DecodeJson(std::string_view seg) {
  auto raw = DecodeSegment(seg);
  if (!raw) return std::nullopt;
  json::parse_options opts;
  opts.max_depth = 16;
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(reinterpret_cast<const char*>(raw->data()),
                                                raw->size()),
                              ec, {}, opts);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

// A JSON number as unix seconds (jose accepts any finite number).
std::optional<int64_t> NumericDate(const json::value& v) {
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64()) {
    if (v.as_uint64() > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(v.as_uint64());
  }
  if (v.is_double()) {
    double d = v.as_double();
    if (!(d > -9.0e15 && d < 9.0e15)) return std::nullopt;
    return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

}  // namespace

const char* SessionScopeName(SessionScope scope) {
  switch (scope) {
    case SessionScope::kAccess:
      return "com.atproto.access";
    case SessionScope::kAppPass:
      return "com.atproto.appPass";
    case SessionScope::kAppPassPrivileged:
      return "com.atproto.appPassPrivileged";
    case SessionScope::kRefresh:
      return "com.atproto.refresh";
    case SessionScope::kTakendown:
      return "com.atproto.takendown";
    case SessionScope::kSignupQueued:
      return "com.atproto.signupQueued";
  }
  return "";
}

std::optional<SessionScope> ParseSessionScope(std::string_view name) {
  for (SessionScope s : {SessionScope::kAccess, SessionScope::kAppPass,
                         SessionScope::kAppPassPrivileged, SessionScope::kRefresh,
                         SessionScope::kTakendown, SessionScope::kSignupQueued}) {
    if (name == SessionScopeName(s)) return s;
  }
  return std::nullopt;
}

Bytes HmacSha256(ByteSpan key, ByteSpan data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  // An empty key is legal for HMAC; OpenSSL wants a non-null pointer for it.
  static const uint8_t kEmpty = 0;
  HMAC(EVP_sha256(), key.empty() ? &kEmpty : key.data(), static_cast<int>(key.size()),
       data.data(), data.size(), out.data(), &len);
  out.resize(len);
  return out;
}

std::string SignAccessJwt(ByteSpan secret, std::string_view did, std::string_view aud,
                          SessionScope scope, int64_t iat, int64_t exp) {
  json::object header;
  header["typ"] = kAccessTyp;
  header["alg"] = "HS256";
  json::object claims;
  claims["scope"] = SessionScopeName(scope);
  claims["aud"] = aud;
  claims["sub"] = did;
  claims["iat"] = iat;
  claims["exp"] = exp;
  return Sign(secret, header, claims);
}

std::string SignRefreshJwt(ByteSpan secret, std::string_view did, std::string_view aud,
                           std::string_view jti, int64_t iat, int64_t exp) {
  json::object header;
  header["typ"] = kRefreshTyp;
  header["alg"] = "HS256";
  json::object claims;
  claims["scope"] = SessionScopeName(SessionScope::kRefresh);
  claims["aud"] = aud;
  claims["sub"] = did;
  claims["jti"] = jti;
  claims["iat"] = iat;
  claims["exp"] = exp;
  return Sign(secret, header, claims);
}

Result<SessionClaims> VerifySessionJwt(std::string_view token, ByteSpan secret,
                                       const SessionVerifyOptions& options) {
  // 1. Shape, header and signature (jose's jwtVerify): any failure is InvalidToken.
  if (token.size() > kMaxSessionJwtSize) return InvalidToken();
  size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return InvalidToken();
  size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return InvalidToken();
  }
  auto header = DecodeJson(token.substr(0, dot1));
  if (!header) return InvalidToken();
  const json::value* alg = header->if_contains("alg");
  if (alg == nullptr || !alg->is_string() || alg->get_string() != "HS256") return InvalidToken();
  if (header->contains("crit")) return InvalidToken();
  auto sig = DecodeSegment(token.substr(dot2 + 1));
  if (!sig) return InvalidToken();
  Bytes mac = HmacSha256(secret, AsBytes(token.substr(0, dot2)));
  if (sig->size() != mac.size() || CRYPTO_memcmp(sig->data(), mac.data(), mac.size()) != 0) {
    return InvalidToken();
  }
  auto claims = DecodeJson(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!claims) return InvalidToken();

  // 2. Registered claims, in jose's order: aud, iat, nbf, exp.
  const json::value* aud = claims->if_contains("aud");
  bool aud_ok = false;
  if (aud != nullptr && aud->is_string()) {
    aud_ok = aud->get_string() == options.audience;
  } else if (aud != nullptr && aud->is_array()) {
    for (const json::value& a : aud->get_array()) {
      if (a.is_string() && a.get_string() == options.audience) aud_ok = true;
    }
  }
  if (!aud_ok) return InvalidToken();
  SessionClaims out;
  if (const json::value* iat = claims->if_contains("iat")) {
    auto v = NumericDate(*iat);
    if (!v) return InvalidToken();
    out.iat = *v;
  }
  if (const json::value* nbf = claims->if_contains("nbf")) {
    auto v = NumericDate(*nbf);
    if (!v || *v > options.now) return InvalidToken();
  }
  const json::value* exp = claims->if_contains("exp");
  if (exp == nullptr) return InvalidToken();
  auto exp_v = NumericDate(*exp);
  if (!exp_v) return InvalidToken();
  out.exp = *exp_v;
  if (!options.allow_expired && out.exp <= options.now) {
    return InvalidArgument("Token has expired", "ExpiredToken");
  }

  // 3. The PDS's own checks (auth-verifier verifyBearerJwt).
  const json::value* typ = header->if_contains("typ");
  if (typ != nullptr && !(typ->is_string() && typ->get_string() == options.typ)) {
    return InvalidToken("Invalid token type");
  }
  if (claims->contains("lxm") || claims->contains("cnf")) return InvalidToken("Malformed token");
  const json::value* sub = claims->if_contains("sub");
  if (sub == nullptr || !sub->is_string() ||
      !atproto::ValidateDid(std::string_view(sub->get_string())).ok()) {
    return InvalidToken("Malformed token");
  }
  out.sub = std::string(sub->get_string());
  if (!aud->is_string() || !aud->get_string().starts_with("did:")) {
    return InvalidToken("Malformed token");
  }
  out.aud = std::string(aud->get_string());
  if (const json::value* jti = claims->if_contains("jti")) {
    if (!jti->is_string()) return InvalidToken("Malformed token");
    out.jti = std::string(jti->get_string());
  }
  const json::value* scope = claims->if_contains("scope");
  std::optional<SessionScope> parsed;
  if (scope != nullptr && scope->is_string()) {
    parsed = ParseSessionScope(std::string_view(scope->get_string()));
  }
  bool allowed = false;
  if (parsed) {
    for (SessionScope s : options.scopes) allowed = allowed || s == *parsed;
  }
  if (!allowed) return InvalidToken("Bad token scope");
  out.scope = *parsed;
  return out;
}

std::string NewRefreshTokenId() {
  return Base64Encode(RandomBytes(32), Base64Variant::kStandard, /*pad=*/false);
}

}  // namespace atcr::pds::internal
