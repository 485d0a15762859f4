// RegistryTokenSigner: the Docker registry bearer tokens the AppView's token service issues
// and its registry front verifies: ES256 (P-256) JWTs with header {typ, alg, kid} and claims
// iss, sub (the user's DID, "" when anonymous), aud (the service name), iat, nbf, exp, jti,
// access [{type, name, actions}] and ATCR's auth_method. The signing key is generated into
// the data directory on first start (hex, mode 0600). Immutable; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "atcr/base/result.h"
#include "atcr/crypto/keys.h"
#include "atcr/registry/authenticator.h"

namespace atcr::appview {

struct RegistryToken {
  std::string subject;  // DID; empty for anonymous
  std::vector<registry::Access> access;
  std::string auth_method;  // "app_password", or "" for anonymous
  int64_t issued_at = 0;
  int64_t expires_at = 0;
};

// Parses one scope "type:name:actions" (the name may contain ':'; actions split off the last
// ':'); a resource class "repository(plugin)" counts as "repository". Empty actions are dropped.
Result<registry::Access> ParseScope(std::string_view scope);
// Whether `granted` covers every action of `wanted` ("*" covers all).
bool Covers(const std::vector<registry::Access>& granted, const registry::Access& wanted);

class RegistryTokenSigner {
 public:
  RegistryTokenSigner(crypto::PrivateKey key, std::string issuer, std::string service);
  // Loads the P-256 key (64 hex characters) from `path`, creating it (0600) when absent.
  static Result<crypto::PrivateKey> LoadOrCreateKey(const std::string& path);

  std::string Issue(const RegistryToken& token) const;
  // Signature, audience (the service), nbf/exp with `skew`; kUnauthenticated with a reason.
  Result<RegistryToken> Verify(std::string_view jwt, std::optional<int64_t> now = {}) const;

  const std::string& kid() const { return kid_; }
  const std::string& service() const { return service_; }
  // {"keys":[<JWK with kid, use sig, alg ES256>]}, for /auth/jwks.json.
  boost::json::object Jwks() const;

 private:
  crypto::PrivateKey key_;
  std::string issuer_;
  std::string service_;
  std::string kid_;
};

}  // namespace atcr::appview
