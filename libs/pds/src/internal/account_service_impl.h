// AccountService's state, shared by account_service.cpp (accounts, tokens, seams),
// account_routes.cpp (the XRPC handlers) and account_secrets.cpp (key and secret files).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "atcr/pds/account_service.h"
#include "internal/account_session_jwt.h"
#include "internal/account_store.h"

namespace atcr::pds {

struct AccountService::Impl {
  struct CachedAccount {
    std::string handle;
    std::string email;
    AccountState state = AccountState::kActive;
    bool service_account = false;
    std::shared_ptr<const crypto::PrivateKey> key;
  };
  struct ServiceAccount {
    std::string did;
    std::string handle;
    std::vector<DidService> services;
  };
  // What a verified access token (plus the account checks asked for) yields.
  struct AccessCredentials {
    std::string did;
    internal::SessionScope scope = internal::SessionScope::kAccess;
  };
  struct AccessOptions {
    std::vector<internal::SessionScope> scopes;
    bool check_takedown = false;
    bool check_deactivated = false;
  };
  struct RefreshCredentials {
    std::string did;
    std::string token_id;
  };
  struct SessionTokens {
    std::string access_jwt;
    std::string refresh_jwt;
  };

  AccountServiceOptions options;
  RepoHost* repo = nullptr;
  net::HttpClient* http = nullptr;
  std::unique_ptr<internal::AccountStore> store;
  std::string jwt_secret;
  std::optional<crypto::PrivateKey> plc_rotation_key;

  mutable std::shared_mutex mu;  // guards everything below
  std::string public_url;
  std::unordered_map<std::string, CachedAccount> accounts;  // by DID
  std::unordered_map<std::string, std::string> dids_by_handle;
  std::set<std::string> pending_handles;  // reserved by account creations in flight
  std::optional<ServiceAccount> service_account;

  // ---- account_service.cpp ----
  Status LoadAccounts();
  void CacheAccount(const internal::AccountRow& row, crypto::PrivateKey key);
  std::optional<std::string> DidForHandleOrDid(std::string_view handle_or_did) const;
  std::optional<CachedAccount> Cached(std::string_view did) const;
  std::string CurrentPublicUrl() const;

  ByteSpan secret() const { return AsBytes(jwt_secret); }
  Result<AccessCredentials> VerifyAccess(const net::Request& req,
                                         const AccessOptions& opts) const;
  Result<RefreshCredentials> VerifyRefresh(const net::Request& req, bool allow_expired) const;
  Status CheckAdmin(const net::Request& req) const;
  // Mints a session and stores its refresh token (unless the account is taken down). Blocking.
  Result<SessionTokens> CreateSession(std::string_view did,
                                      const std::optional<internal::AppPasswordRef>& app_password,
                                      bool takendown);
  // Blocking.
  Result<std::optional<SessionTokens>> RotateSession(std::string_view token_id);

  net::Task<Result<CreatedAccount>> CreateAccount(CreateAccountInput input);
  Status EnsureServiceAccount(std::string_view did, std::string_view handle,
                              const crypto::PrivateKey& key, std::vector<DidService> services);
  Result<std::string> ServiceDidDocument() const;

  // ---- account_routes.cpp ----
  void RegisterRoutes(net::Router& router);
};

namespace internal {

// Runs fn on the blocking pool and returns its result. Pass a named local (GCC 12: no
// temporaries with destructors inside a co_await expression).
template <typename T>
net::Task<T> OffThread(std::function<T()> fn) {
  std::optional<T> out;
  std::function<void()> job = [&out, &fn] { out.emplace(fn()); };
  co_await net::RunBlocking(std::move(job));
  co_return std::move(*out);
}

// ---- account_secrets.cpp ----
// Creates `dir` (and parents) with mode 0700 when missing.
Status EnsurePrivateDir(const std::string& dir);
// Reads a secret file (trailing whitespace trimmed), refusing one that group or others can
// read; nullopt when it does not exist.
Result<std::optional<std::string>> ReadSecretFile(const std::string& path);
// Writes `content` to a new file `path` with mode 0600 atomically (temp file, fsync, link,
// fsync dir). kAlreadyExists when `path` exists: a secret file is never replaced.
Status WriteSecretFile(const std::string& path, std::string_view content);
}  // namespace internal

}  // namespace atcr::pds
