#include "atcr/crypto/jwt.h"

#include <boost/json.hpp>

#include "atcr/base/hash.h"
#include "atcr/base/time.h"

namespace atcr::crypto {
namespace {

namespace json = boost::json;

Error JwtError(const char* wire, const std::string& message) {
  return Error(ErrorCode::kUnauthenticated, "jwt: " + message, wire);
}

std::string B64Url(ByteSpan data) { return Base64Encode(data, Base64Variant::kUrl, /*pad=*/false); }
std::string B64Url(std::string_view s) { return B64Url(AsBytes(s)); }

Result<Bytes> DecodeSegment(std::string_view segment, const char* what) {
  if (segment.empty()) return JwtError("BadJwt", std::string(what) + " segment is empty");
  if (segment.find('=') != std::string_view::npos) {
    return JwtError("BadJwt", std::string(what) + " segment must be unpadded base64url");
  }
  auto b = Base64Decode(segment, Base64Variant::kUrl);
  if (!b.ok()) return JwtError("BadJwt", std::string(what) + ": " + b.error().message);
  return std::move(b).value();
}

Result<json::object> DecodeJsonSegment(std::string_view segment, const char* what) {
  ATCR_ASSIGN_OR_RETURN(Bytes raw, DecodeSegment(segment, what));
  json::parse_options opts;
  opts.max_depth = 16;
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(reinterpret_cast<const char*>(raw.data()),
                                                raw.size()),
                              ec, {}, opts);
  if (ec) return JwtError("BadJwt", std::string(what) + " is not JSON: " + ec.message());
  if (!v.is_object()) return JwtError("BadJwt", std::string(what) + " is not a JSON object");
  return std::move(v.as_object());
}

std::string StringField(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(json::string_view(name.data(), name.size()));
  if (v == nullptr || !v->is_string()) return "";
  return std::string(v->get_string());
}

// "did:web:x#svc" -> ("did:web:x", "svc"); no '#' -> (s, "").
std::pair<std::string_view, std::string_view> SplitFragment(std::string_view s) {
  size_t hash = s.find('#');
  if (hash == std::string_view::npos) return {s, {}};
  return {s.substr(0, hash), s.substr(hash + 1)};
}

bool AudienceMatches(std::string_view token_aud, std::string_view expected) {
  if (token_aud == expected) return true;
  auto [tok_did, tok_frag] = SplitFragment(token_aud);
  auto [want_did, want_frag] = SplitFragment(expected);
  if (tok_did != want_did || tok_did.empty()) return false;
  // One side without a fragment (legacy bare-DID tokens, or a verifier that accepts any
  // service of its DID) matches; two different fragments do not.
  return tok_frag.empty() || want_frag.empty();
}

Status CheckTimeClaim(const Jwt& jwt, std::string_view name) {
  const json::value* v = jwt.claims().if_contains(json::string_view(name.data(), name.size()));
  if (v != nullptr && !v->is_int64() && !v->is_uint64()) {
    return JwtError("BadJwt", std::string(name) + " claim is not an integer");
  }
  return Ok();
}

}  // namespace

// ---- Jwt ----

std::string Jwt::HeaderString(std::string_view name) const { return StringField(header_, name); }
std::string Jwt::ClaimString(std::string_view name) const { return StringField(claims_, name); }

std::optional<int64_t> Jwt::ClaimInt(std::string_view name) const {
  const json::value* v = claims_.if_contains(json::string_view(name.data(), name.size()));
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(v->get_uint64());
  }
  return std::nullopt;
}

std::string Jwt::issuer_did() const { return std::string(SplitFragment(iss()).first); }

Result<Jwt> ParseJwt(std::string_view token) {
  if (token.size() > kMaxJwtSize) {
    return JwtError("BadJwt", "token of " + std::to_string(token.size()) +
                                  " bytes exceeds limit of " + std::to_string(kMaxJwtSize));
  }
  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return JwtError("BadJwt", "token must have exactly 3 dot-separated segments");
  }
  Jwt jwt;
  ATCR_ASSIGN_OR_RETURN(jwt.header_, DecodeJsonSegment(token.substr(0, dot1), "header"));
  ATCR_ASSIGN_OR_RETURN(jwt.claims_,
                        DecodeJsonSegment(token.substr(dot1 + 1, dot2 - dot1 - 1), "payload"));
  ATCR_ASSIGN_OR_RETURN(jwt.signature_, DecodeSegment(token.substr(dot2 + 1), "signature"));
  jwt.signing_input_ = std::string(token.substr(0, dot2));
  return jwt;
}

Status VerifyJwt(const Jwt& jwt, const PublicKey& key, const JwtVerifyOptions& options) {
  std::string typ = jwt.typ();
  for (const std::string& bad : options.forbidden_typ) {
    if (typ == bad) return JwtError("BadJwtType", "token type \"" + typ + "\" not accepted here");
  }
  std::string alg = jwt.alg();
  if (alg != JwtAlgorithm(key.type())) {
    return JwtError("BadJwtSignature", "alg \"" + alg + "\" does not match the " +
                                           KeyTypeName(key.type()) + " signing key (want " +
                                           JwtAlgorithm(key.type()) + ")");
  }
  Status sig = key.Verify(AsBytes(jwt.signing_input()), jwt.signature());
  if (!sig.ok()) return JwtError("BadJwtSignature", sig.error().message);

  ATCR_TRY(CheckTimeClaim(jwt, "exp"));
  ATCR_TRY(CheckTimeClaim(jwt, "iat"));
  ATCR_TRY(CheckTimeClaim(jwt, "nbf"));
  const int64_t now = options.now ? *options.now : UnixSeconds();
  const int64_t skew = options.clock_skew_seconds;
  std::optional<int64_t> exp = jwt.exp();
  if (!exp) {
    if (options.require_exp) return JwtError("BadJwt", "missing exp claim");
  } else if (now > *exp + skew) {
    return JwtError("JwtExpired", "token expired at " + std::to_string(*exp) + " (now " +
                                      std::to_string(now) + ")");
  }
  if (auto iat = jwt.iat(); iat && *iat > now + skew) {
    return JwtError("BadJwt", "token issued in the future (iat " + std::to_string(*iat) +
                                  ", now " + std::to_string(now) + ")");
  }
  if (auto nbf = jwt.nbf(); nbf && *nbf > now + skew) {
    return JwtError("BadJwt", "token not valid before " + std::to_string(*nbf));
  }
  if (!options.audience.empty()) {
    const json::value* aud = jwt.claims().if_contains("aud");
    if (aud == nullptr || !aud->is_string()) {
      return JwtError("BadJwtAudience", "missing or non-string aud claim");
    }
    if (!AudienceMatches(std::string_view(aud->get_string()), options.audience)) {
      return JwtError("BadJwtAudience", "aud \"" + std::string(aud->get_string()) +
                                            "\" is not \"" + options.audience + "\"");
    }
  }
  if (!options.lxm.empty()) {
    const json::value* lxm = jwt.claims().if_contains("lxm");
    if (lxm == nullptr || !lxm->is_string()) {
      return JwtError("BadJwtLexiconMethod", "missing lxm claim (want \"" + options.lxm + "\")");
    }
    if (lxm->get_string() != options.lxm) {
      return JwtError("BadJwtLexiconMethod", "lxm \"" + std::string(lxm->get_string()) +
                                                 "\" is not \"" + options.lxm + "\"");
    }
  }
  return Ok();
}

Result<Jwt> VerifyJwt(std::string_view token, const PublicKey& key,
                      const JwtVerifyOptions& options) {
  ATCR_ASSIGN_OR_RETURN(Jwt jwt, ParseJwt(token));
  ATCR_TRY(VerifyJwt(jwt, key, options));
  return jwt;
}

std::string SignJwt(const json::object& claims, const PrivateKey& key,
                    const json::object& extra_header) {
  json::object header;
  header["typ"] = "JWT";
  header["alg"] = JwtAlgorithm(key.type());
  for (const auto& kv : extra_header) header[kv.key()] = kv.value();
  std::string input = B64Url(json::serialize(header)) + "." + B64Url(json::serialize(claims));
  Bytes sig = key.Sign(AsBytes(input));
  return input + "." + B64Url(ByteSpan(sig));
}

std::string SignServiceAuthJwt(const PrivateKey& key, const ServiceAuthRequest& request) {
  const int64_t now = request.now ? *request.now : UnixSeconds();
  json::object claims;
  claims["iat"] = now;
  claims["iss"] = request.iss;
  claims["aud"] = request.aud;
  claims["exp"] = now + request.ttl_seconds;
  if (!request.lxm.empty()) claims["lxm"] = request.lxm;
  claims["jti"] = RandomId();
  return SignJwt(claims, key);
}

// ---- JWK ----

namespace {
const char* JwkCurve(KeyType type) { return type == KeyType::kK256 ? "secp256k1" : "P-256"; }
}  // namespace

json::object PublicKeyToJwk(const PublicKey& key) {
  Bytes point = key.Uncompressed();
  json::object jwk;
  jwk["kty"] = "EC";
  jwk["crv"] = JwkCurve(key.type());
  jwk["x"] = B64Url(ByteSpan(point).subspan(1, 32));
  jwk["y"] = B64Url(ByteSpan(point).subspan(33, 32));
  return jwk;
}

Result<PublicKey> PublicKeyFromJwk(const json::object& jwk) {
  if (StringField(jwk, "kty") != "EC") return InvalidArgument("jwk: kty must be \"EC\"");
  std::string crv = StringField(jwk, "crv");
  KeyType type;
  if (crv == "P-256") {
    type = KeyType::kP256;
  } else if (crv == "secp256k1") {
    type = KeyType::kK256;
  } else {
    return InvalidArgument("jwk: unsupported crv \"" + crv + "\"");
  }
  Bytes point = {0x04};
  for (const char* coord : {"x", "y"}) {
    std::string text = StringField(jwk, coord);
    if (text.size() != 43) return InvalidArgument(std::string("jwk: ") + coord + " must be 32 bytes");
    auto b = Base64Decode(text, Base64Variant::kUrl);
    if (!b.ok()) return InvalidArgument(std::string("jwk: ") + coord + ": " + b.error().message);
    point.insert(point.end(), b->begin(), b->end());
  }
  return PublicKey::FromSec1(type, point);
}

std::string JwkThumbprint(const PublicKey& key) {
  json::object jwk = PublicKeyToJwk(key);
  // RFC 7638: required members only, lexicographic order, no whitespace.
  std::string canonical = "{\"crv\":\"" + std::string(jwk["crv"].as_string()) +
                          "\",\"kty\":\"EC\",\"x\":\"" + std::string(jwk["x"].as_string()) +
                          "\",\"y\":\"" + std::string(jwk["y"].as_string()) + "\"}";
  auto digest = Sha256(canonical);
  return B64Url(ByteSpan(digest));
}

}  // namespace atcr::crypto
