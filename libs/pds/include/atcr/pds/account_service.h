// The account half of atcr's PDS: accounts with did:plc identities minted through a PLC
// directory, password and app-password sessions (HS256 access/refresh JWTs shaped like the
// reference PDS's), service-auth tokens signed with each account's repo key, handle
// resolution, and the single-account mode a hold uses (a did:web account with its DID
// document served at /.well-known/did.json). It implements the RequestAuthenticator and
// AccountDirectory seams of auth.h for the repo/sync endpoints. Thread-safe.
//
//   AccountServiceOptions o{.data_dir = dir, .plc_url = "http://127.0.0.1:2582"};
//   ATCR_ASSIGN_OR_RETURN(auto accounts, AccountService::Open(o, &repo_host, &http));
//   accounts->RegisterRoutes(router);  // before net::Server starts; outlive the server
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atcr/base/result.h"
#include "atcr/crypto/keys.h"
#include "atcr/net/http.h"
#include "atcr/pds/auth.h"

namespace atcr::net {
class HttpClient;
class Router;
}  // namespace atcr::net

namespace atcr::identity {
class Resolver;
}

namespace atcr::pds {

// What the account side needs from the repo store. All calls block (the service calls them
// from the blocking pool). RepoStoreHost (account_repo_host.h) forwards them to a RepoStore;
// tests use a fake.
class RepoHost {
 public:
  virtual ~RepoHost() = default;
  // Creates the repo of `did` with its first, empty, signed commit (and sequences the repo's
  // #commit / #sync events). kAlreadyExists when the repo exists. Account creation calls
  // AppendIdentityEvent and AppendAccountEvent first (the reference's event order).
  virtual Status CreateRepo(std::string_view did, const crypto::PrivateKey& key) = 0;
  // Sequences #identity {did, handle}.
  virtual Status AppendIdentityEvent(std::string_view did, std::optional<std::string> handle) = 0;
  // Sequences #account {did, active, status}.
  virtual Status AppendAccountEvent(std::string_view did, bool active,
                                    std::optional<std::string> status) = 0;
  // Removes the repo and every sequenced event of the DID; Ok when there is nothing. Undoes a
  // failed account creation.
  virtual Status DeleteRepo(std::string_view did) = 0;
  virtual bool HasRepo(std::string_view did) = 0;
};

struct AccountServiceOptions {
  // DATA: created 0700 when missing. Holds accounts.sqlite (0600), jwt-secret (0600, when
  // jwt_secret is empty) and plc-rotation.key (0600, when plc_rotation_key_hex is empty).
  std::string data_dir;
  // The PDS's own DID: the audience of session tokens and describeServer's `did`.
  std::string service_did = "did:web:localhost";
  // Where clients reach this PDS; the #atproto_pds endpoint of every DID minted here.
  std::string public_url = "http://localhost:2583";
  // Handle suffixes accounts may be created under, each starting with '.'.
  std::vector<std::string> handle_domains = {".test"};
  std::string plc_url = "https://plc.directory";
  bool invite_required = false;
  // HTTP Basic "admin:<password>"; empty disables admin access.
  std::string admin_password;
  // HS256 key of session tokens (the reference's PDS_JWT_SECRET; its UTF-8 bytes are the key).
  // Empty = read DATA/jwt-secret, generating it on first start.
  std::string jwt_secret;
  // 64 hex characters of the K-256 PLC rotation key (PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX).
  // Empty = read DATA/plc-rotation.key, generating it on first start.
  std::string plc_rotation_key_hex;
  // An extra rotation key (did:key) put on every new DID ahead of the PDS's (PDS_RECOVERY_DID_KEY).
  std::string recovery_did_key;
  // The reference's lifetimes.
  std::chrono::seconds access_token_ttl{120 * 60};
  std::chrono::seconds refresh_token_ttl{90 * 24 * 3600};
  // How long a rotated refresh token may still be presented (and yields the same successor).
  std::chrono::seconds refresh_grace{2 * 3600};
  // createSession never answers faster than this (the reference waits 350 ms so timing says
  // nothing about which part failed). Tests may set 0.
  std::chrono::milliseconds login_min_duration{350};
  // Include the DID document in createSession/refreshSession/getSession answers (the
  // reference's PDS_ENABLE_DID_DOC_WITH_SESSION; off by default like there).
  bool did_doc_with_session = false;
  // Answered by GET /xrpc/_health as {"version": ...}.
  std::string version = "0.1.0";
  // describeServer links/contact; empty ones are left out.
  std::string privacy_policy_url;
  std::string terms_of_service_url;
  std::string contact_email;
  // Resolves handles not hosted here for com.atproto.identity.resolveHandle; null = such
  // handles answer "Unable to resolve handle". Not owned; must outlive the service.
  identity::Resolver* resolver = nullptr;
  // Single-account mode (a hold's embedded PDS): no password accounts, no PLC. Only
  // describeServer, resolveHandle, _health and the well-known routes are registered; the one
  // account comes from EnsureServiceAccount.
  bool single_account = false;
  // Upper bound for request bodies of these endpoints.
  uint64_t max_request_body = 100 * 1024;
};

// One entry of a DID document's "service" list.
struct DidService {
  std::string id;    // fragment without '#', e.g. "atcr_hold"
  std::string type;  // e.g. "AtcrHoldService"
  std::string endpoint;
};

// Account state as the sync endpoints report it.
enum class AccountState { kActive, kDeactivated, kTakendown };
// "active" | "deactivated" | "takendown".
const char* AccountStateName(AccountState state);

struct AccountInfo {
  std::string did;
  std::string handle;  // "" = none
  std::string email;   // "" = none
  AccountState state = AccountState::kActive;
  bool service_account = false;
};

struct CreateAccountInput {
  std::string handle;
  std::string email;     // optional (the reference requires one; atcr does not)
  std::string password;  // optional; without one the account cannot log in
  std::string invite_code;
  std::string recovery_key;  // did:key put first in the DID's rotation keys
};

// The createAccount answer.
struct CreatedAccount {
  std::string did;
  std::string handle;
  std::string access_jwt;
  std::string refresh_jwt;
  std::string did_doc;  // JSON text of the DID document
};

class AccountService final : public RequestAuthenticator, public AccountDirectory {
 public:
  // Opens (creating) DATA/accounts.sqlite and the secrets. `repo` and `http` are not owned
  // and must outlive the service; `http` may be null in single-account mode.
  static Result<std::unique_ptr<AccountService>> Open(AccountServiceOptions options,
                                                      RepoHost* repo, net::HttpClient* http);
  ~AccountService() override;
  AccountService(const AccountService&) = delete;
  AccountService& operator=(const AccountService&) = delete;

  // com.atproto.server.{createAccount, createSession, refreshSession, getSession,
  // deleteSession, describeServer, createAppPassword, listAppPasswords, revokeAppPassword,
  // getServiceAuth, createInviteCode}, com.atproto.identity.resolveHandle,
  // GET /.well-known/atproto-did, GET /.well-known/did.json (single-account mode, or when a
  // service account exists), GET /xrpc/_health.
  void RegisterRoutes(net::Router& router);

  // ---- RequestAuthenticator ----
  // `Bearer <access JWT>`: HS256 signature, aud = service DID, typ at+jwt, exp, scope one of
  // com.atproto.access / appPassPrivileged / appPass; then the account must exist (403
  // AccountNotFound), not be taken down (401 AccountTakedown) nor deactivated (401
  // AccountDeactivated). `Basic admin:<password>` gives Caller::kAdmin (401
  // AuthenticationRequired when wrong). Missing header: 401 AuthMissing. Like the reference,
  // InvalidToken / ExpiredToken are 400s (kInvalidArgument with that wire name): clients such
  // as @atproto/api refresh their session on a 400 ExpiredToken.
  Result<Caller> Authenticate(const net::Request& req) const override;

  // ---- AccountDirectory ----
  Result<std::string> ResolveRepo(std::string_view handle_or_did) const override;
  std::optional<std::string> HandleOf(std::string_view did) const override;
  Result<crypto::PrivateKey> SigningKey(std::string_view did) const override;
  std::string AccountStatus(std::string_view did) const override;

  // ---- Accounts ----
  // What the createAccount endpoint does, for wiring code (e.g. `atcr dev`'s demo account).
  // Errors carry the endpoint's XRPC names.
  net::Task<Result<CreatedAccount>> CreateAccount(CreateAccountInput input);
  std::optional<AccountInfo> FindAccount(std::string_view handle_or_did) const;
  // Deactivates, takes down or reactivates an account; sequences #account. Taking down or
  // deactivating revokes its refresh tokens. Blocking.
  Status SetAccountState(std::string_view did, AccountState state);

  // ---- Single-account mode (holds) ----
  // Creates the account `did` (usually did:web:<host>) with its repo on first start, signed by
  // `signing_key`, with no password; later starts check the key is the same one
  // (kFailedPrecondition otherwise) and update the handle if it changed (sequencing
  // #identity). The key is the caller's to persist (see LoadOrCreateKeyFile). Blocking.
  // `services` are added to the DID document after #atproto_pds.
  Status EnsureServiceAccount(std::string_view did, std::string_view handle,
                              const crypto::PrivateKey& signing_key,
                              std::vector<DidService> services = {});
  // The DID document served at /.well-known/did.json: Multikey #atproto, #atproto_pds at the
  // public URL, the extra services, alsoKnownAs at://<handle>. NotFound before
  // EnsureServiceAccount.
  Result<std::string> ServiceDidDocument() const;

  // ---- Configuration ----
  const std::string& service_did() const;
  std::string public_url() const;
  // For tests and wiring that learn the bound port only after starting the server (port 0):
  // new DIDs and the did.json use the new URL. Thread-safe.
  void SetPublicUrl(std::string url);
  // did:key of the PDS's PLC rotation key.
  std::string plc_rotation_did_key() const;

  struct Impl;  // src/internal/account_service_impl.h

 private:
  explicit AccountService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads a private key file (64 hex characters of the scalar, optionally followed by a
// newline) or, when `path` does not exist, generates a key and writes it with mode 0600
// (atomically: temp file + fsync + link, never replacing an existing file). Refuses a key
// file that group or others can read.
Result<crypto::PrivateKey> LoadOrCreateKeyFile(const std::string& path,
                                               crypto::KeyType type = crypto::KeyType::kK256);

}  // namespace atcr::pds
