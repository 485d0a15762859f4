// TokenService: Docker token auth for the AppView. /auth/token logs the user in on their own
// PDS with an app password and issues ES256 registry tokens (own namespace: pull, push,
// delete; elsewhere: pull; anonymous: pull on public holds); as registry::Authenticator it
// checks those tokens on every /v2/ request and writes the Bearer challenge. Used by AppView.
// Thread-safe. Details: README.md "Authentication and scopes".
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <string>
#include <vector>

#include "atcr/appview/registry_token.h"
#include "atcr/appview/services.h"
#include "atcr/net/router.h"
#include "atcr/registry/authenticator.h"

namespace atcr::appview {

struct TokenServiceOptions {
  std::string realm;    // <base_url>/auth/token
  std::string service;  // the token audience, e.g. "registry.example.com"
  int64_t token_ttl_seconds = 300;
  int64_t credential_cache_seconds = 600;
  // Called after every successful PDS login (e.g. to follow that PDS's firehose).
  std::function<void(const std::string& did, const std::string& pds_endpoint)> on_login;
};

class TokenService : public registry::Authenticator {
 public:
  // The hold a repository's images are on ("" when it has none yet), for anonymous pulls.
  using RepositoryHoldFn = std::function<Task<Result<std::string>>(RepositoryOwner owner)>;

  TokenService(std::shared_ptr<AppViewServices> services,
               std::shared_ptr<RegistryTokenSigner> signer, TokenServiceOptions options,
               RepositoryHoldFn repository_hold);

  // Routes: GET/POST /auth/token, GET /auth/jwks.json.
  void Register(net::Router& router);
  Task<net::Response> HandleToken(net::Request& request);

  net::Task<Status> Authenticate(const net::Request& request,
                                 std::span<const registry::Access> access) override;
  std::string Challenge(std::span<const registry::Access> access,
                        const Error& why) const override;

  // App-password login; returns the DID. Successful logins are remembered for
  // credential_cache_seconds (a salted hash of the credentials, never the password).
  Task<Result<std::string>> Login(std::string identifier, std::string password);
  // The part of `requested` that `subject` ("" = anonymous) may have.
  Task<std::vector<registry::Access>> Grant(std::string subject,
                                            std::vector<registry::Access> requested);

 private:
  Task<net::Response> Issue(std::string subject, std::vector<std::string> scopes, bool oauth_form);

  std::shared_ptr<AppViewServices> s_;
  std::shared_ptr<RegistryTokenSigner> signer_;
  TokenServiceOptions options_;
  RepositoryHoldFn repository_hold_;
  std::string salt_;
  // Tokens whose signature was checked, so a warm request does no ECDSA verification.
  Result<RegistryToken> VerifyCached(const std::string& jwt);

  std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>> logins_;
  std::mutex verified_mu_;
  std::unordered_map<std::string, RegistryToken> verified_;
};

}  // namespace atcr::appview
