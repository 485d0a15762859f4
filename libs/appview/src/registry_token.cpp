#include "atcr/appview/registry_token.h"

#include <boost/json.hpp>

#include "atcr/base/encoding.h"
#include "atcr/base/hash.h"
#include "atcr/base/time.h"
#include "atcr/crypto/jwt.h"
#include "internal/files.h"

namespace atcr::appview {
namespace json = boost::json;

Result<registry::Access> ParseScope(std::string_view scope) {
  size_t first = scope.find(':');
  size_t last = scope.rfind(':');
  if (first == std::string_view::npos || last == first) {
    return InvalidArgument("scope \"" + std::string(scope) + "\" is not type:name:actions");
  }
  registry::Access a;
  a.type = std::string(scope.substr(0, first));
  if (size_t paren = a.type.find('('); paren != std::string::npos) a.type.resize(paren);
  a.name = std::string(scope.substr(first + 1, last - first - 1));
  if (a.type.empty() || a.name.empty()) {
    return InvalidArgument("scope \"" + std::string(scope) + "\" has an empty type or name");
  }
  std::string_view actions = scope.substr(last + 1);
  while (!actions.empty()) {
    size_t comma = actions.find(',');
    std::string_view act = actions.substr(0, comma);
    if (!act.empty()) a.actions.emplace_back(act);
    if (comma == std::string_view::npos) break;
    actions.remove_prefix(comma + 1);
  }
  return a;
}

bool Covers(const std::vector<registry::Access>& granted, const registry::Access& wanted) {
  for (const std::string& action : wanted.actions) {
    bool ok = false;
    for (const registry::Access& g : granted) {
      if (g.type != wanted.type || g.name != wanted.name) continue;
      for (const std::string& ga : g.actions) {
        if (ga == action || ga == "*") ok = true;
      }
    }
    if (!ok) return false;
  }
  return true;
}

RegistryTokenSigner::RegistryTokenSigner(crypto::PrivateKey key, std::string issuer,
                                         std::string service)
    : key_(std::move(key)),
      issuer_(std::move(issuer)),
      service_(std::move(service)),
      kid_(crypto::JwkThumbprint(key_.public_key())) {}

Result<crypto::PrivateKey> RegistryTokenSigner::LoadOrCreateKey(const std::string& path) {
  ATCR_ASSIGN_OR_RETURN(std::string text, internal::ReadOrCreateSecretFile(path, 256, [] {
                          auto k = crypto::PrivateKey::Generate(crypto::KeyType::kP256);
                          return HexEncode(k.secret_bytes()) + "\n";
                        }));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  auto key = crypto::PrivateKey::FromHex(crypto::KeyType::kP256, text);
  if (!key.ok()) return InvalidArgument(path + ": not a P-256 private key: " + key.error().message);
  return std::move(*key);
}

std::string RegistryTokenSigner::Issue(const RegistryToken& t) const {
  json::object claims;
  claims["iss"] = issuer_;
  claims["sub"] = t.subject;
  claims["aud"] = service_;
  claims["iat"] = t.issued_at;
  claims["nbf"] = t.issued_at;
  claims["exp"] = t.expires_at;
  claims["jti"] = RandomId();
  json::array access;
  for (const registry::Access& a : t.access) {
    json::object o;
    o["type"] = a.type;
    o["name"] = a.name;
    json::array actions;
    for (const std::string& act : a.actions) actions.emplace_back(act);
    o["actions"] = std::move(actions);
    access.emplace_back(std::move(o));
  }
  claims["access"] = std::move(access);
  if (!t.auth_method.empty()) claims["auth_method"] = t.auth_method;
  json::object header;
  header["kid"] = kid_;
  return crypto::SignJwt(claims, key_, header);
}

Result<RegistryToken> RegistryTokenSigner::Verify(std::string_view jwt,
                                                  std::optional<int64_t> now) const {
  crypto::JwtVerifyOptions opts;
  opts.audience = service_;
  opts.now = now;
  opts.clock_skew_seconds = 10;
  auto parsed = crypto::VerifyJwt(jwt, key_.public_key(), opts);
  if (!parsed.ok()) {
    return Error(ErrorCode::kUnauthenticated, "invalid registry token: " + parsed.error().message,
                 "invalid_token");
  }
  if (parsed->iss() != issuer_) {
    return Error(ErrorCode::kUnauthenticated, "registry token from another issuer",
                 "invalid_token");
  }
  RegistryToken t;
  t.subject = parsed->sub();
  t.auth_method = parsed->ClaimString("auth_method");
  t.issued_at = parsed->iat().value_or(0);
  t.expires_at = parsed->exp().value_or(0);
  const json::value* access = parsed->claims().if_contains("access");
  if (access != nullptr && access->is_array()) {
    for (const json::value& item : access->get_array()) {
      if (!item.is_object()) continue;
      const json::object& o = item.get_object();
      registry::Access a;
      if (auto* v = o.if_contains("type"); v && v->is_string()) a.type = v->get_string();
      if (auto* v = o.if_contains("name"); v && v->is_string()) a.name = v->get_string();
      if (auto* v = o.if_contains("actions"); v && v->is_array()) {
        for (const json::value& act : v->get_array()) {
          if (act.is_string()) a.actions.emplace_back(act.get_string());
        }
      }
      t.access.push_back(std::move(a));
    }
  }
  return t;
}

json::object RegistryTokenSigner::Jwks() const {
  json::object jwk = crypto::PublicKeyToJwk(key_.public_key());
  jwk["kid"] = kid_;
  jwk["use"] = "sig";
  jwk["alg"] = "ES256";
  json::array keys;
  keys.emplace_back(std::move(jwk));
  json::object out;
  out["keys"] = std::move(keys);
  return out;
}

}  // namespace atcr::appview
