// AccountService: opening, the account cache, the auth seams, sessions, account creation and
// the single-account (service account) mode. The HTTP handlers are in account_routes.cpp.
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "atcr/atproto/syntax.h"
#include "atcr/base/hash.h"
#include "atcr/base/time.h"
#include "atcr/identity/plc_operation.h"
#include "atcr/net/http_client.h"
#include "atcr/net/xrpc.h"
#include "internal/account_handle.h"
#include "internal/account_password.h"
#include "internal/account_service_impl.h"

namespace atcr::pds {
namespace {

namespace json = boost::json;
using internal::SessionScope;

constexpr size_t kMaxEmailLength = 254;

const char* StateName(AccountState s) {
  switch (s) {
    case AccountState::kActive:
      return "active";
    case AccountState::kDeactivated:
      return "deactivated";
    case AccountState::kTakendown:
      return "takendown";
  }
  return "active";
}

AccountState ParseState(std::string_view s) {
  if (s == "deactivated") return AccountState::kDeactivated;
  if (s == "takendown") return AccountState::kTakendown;
  return AccountState::kActive;
}

Error AuthMissing() {
  return Error(ErrorCode::kUnauthenticated, "Authentication Required", "AuthMissing");
}

// `Authorization: <type> <credentials>` the way the reference splits it.
enum class AuthType { kNone, kBasic, kBearer, kDpop };
struct ParsedAuthorization {
  AuthType type = AuthType::kNone;
  std::string credentials;
};

Result<ParsedAuthorization> ParseAuthorization(const net::Request& req) {
  auto header = req.headers.Get("Authorization");
  if (!header || header->empty()) return ParsedAuthorization{};
  std::string_view v = *header;
  size_t space = v.find(' ');
  if (space == std::string_view::npos || v.find(' ', space + 1) != std::string_view::npos) {
    return InvalidArgument("Malformed authorization header", "InvalidToken");
  }
  std::string type(v.substr(0, space));
  std::string upper = type;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  ParsedAuthorization out;
  out.credentials = std::string(v.substr(space + 1));
  if (upper == "BASIC") {
    out.type = AuthType::kBasic;
  } else if (upper == "BEARER") {
    out.type = AuthType::kBearer;
  } else if (upper == "DPOP") {
    out.type = AuthType::kDpop;
  } else {
    return InvalidArgument("Unsupported authorization type: " + type, "InvalidToken");
  }
  return out;
}

bool LooksLikeEmail(std::string_view email) {
  if (email.size() > kMaxEmailLength) return false;
  size_t at = email.find('@');
  if (at == std::string_view::npos || at == 0 || email.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  std::string_view domain = email.substr(at + 1);
  if (domain.size() < 3 || domain.find('.') == std::string_view::npos || domain.front() == '.' ||
      domain.back() == '.' || domain.find("..") != std::string_view::npos) {
    return false;
  }
  return std::all_of(email.begin(), email.end(), [](unsigned char c) {
    return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != ',' && c != ';' && c != ':' &&
           c != '<' && c != '>' && c != '[' && c != ']' && c != '\\' && c != '"';
  });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

const char* AccountStateName(AccountState state) { return StateName(state); }

// ---------------------------------------------------------------------------------------------
// Opening

Result<std::unique_ptr<AccountService>> AccountService::Open(AccountServiceOptions options,
                                                             RepoHost* repo,
                                                             net::HttpClient* http) {
  if (options.data_dir.empty()) return InvalidArgument("accounts: data_dir is required");
  if (repo == nullptr) return InvalidArgument("accounts: a RepoHost is required");
  if (http == nullptr && !options.single_account) {
    return InvalidArgument("accounts: an HttpClient is required to reach the PLC directory");
  }
  if (!atproto::ValidateDid(options.service_did).ok()) {
    return InvalidArgument("accounts: service_did is not a DID: " + options.service_did);
  }
  for (const std::string& d : options.handle_domains) {
    if (d.size() < 2 || d.front() != '.') {
      return InvalidArgument("accounts: handle domain must start with '.': " + d);
    }
  }
  while (options.public_url.ends_with('/')) options.public_url.pop_back();

  auto impl = std::make_unique<Impl>();
  ATCR_TRY(internal::EnsurePrivateDir(options.data_dir));

  if (options.jwt_secret.empty()) {
    const std::string path = options.data_dir + "/jwt-secret";
    ATCR_ASSIGN_OR_RETURN(auto existing, internal::ReadSecretFile(path));
    if (!existing) {
      std::string secret = HexEncode(RandomBytes(32));
      Status w = internal::WriteSecretFile(path, secret + "\n");
      if (!w.ok() && w.error().code != ErrorCode::kAlreadyExists) return w.error();
      ATCR_ASSIGN_OR_RETURN(existing, internal::ReadSecretFile(path));
      if (!existing) return Internal(path + " vanished after it was written");
    }
    if (existing->empty()) return InvalidArgument(path + " is empty");
    impl->jwt_secret = *existing;
  } else {
    impl->jwt_secret = options.jwt_secret;
  }

  if (!options.single_account) {
    if (!options.plc_rotation_key_hex.empty()) {
      auto key = crypto::PrivateKey::FromHex(crypto::KeyType::kK256, options.plc_rotation_key_hex);
      if (!key.ok()) {
        return InvalidArgument("accounts: plc_rotation_key_hex: " + key.error().message);
      }
      impl->plc_rotation_key = std::move(key).value();
    } else {
      ATCR_ASSIGN_OR_RETURN(crypto::PrivateKey key,
                            LoadOrCreateKeyFile(options.data_dir + "/plc-rotation.key"));
      impl->plc_rotation_key = std::move(key);
    }
    if (!options.recovery_did_key.empty()) {
      auto k = crypto::PublicKey::FromDidKey(options.recovery_did_key);
      if (!k.ok()) return InvalidArgument("accounts: recovery_did_key: " + k.error().message);
    }
  }

  ATCR_ASSIGN_OR_RETURN(impl->store,
                        internal::AccountStore::Open(options.data_dir + "/accounts.sqlite"));
  impl->public_url = options.public_url;
  impl->options = std::move(options);
  impl->repo = repo;
  impl->http = http;
  ATCR_TRY(impl->LoadAccounts());
  return std::unique_ptr<AccountService>(new AccountService(std::move(impl)));
}

AccountService::AccountService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AccountService::~AccountService() = default;

Status AccountService::Impl::LoadAccounts() {
  ATCR_ASSIGN_OR_RETURN(auto rows, store->ListAccounts());
  for (const auto& row : rows) {
    ATCR_ASSIGN_OR_RETURN(crypto::KeyType type, crypto::ParseKeyType(row.key_type));
    auto key = crypto::PrivateKey::FromBytes(type, row.signing_key);
    if (!key.ok()) {
      return Error(ErrorCode::kDataLoss,
                   "accounts.sqlite: bad signing key for " + row.did + ": " + key.error().message);
    }
    CacheAccount(row, std::move(key).value());
  }
  return Ok();
}

void AccountService::Impl::CacheAccount(const internal::AccountRow& row, crypto::PrivateKey key) {
  std::unique_lock lock(mu);
  CachedAccount c;
  c.handle = row.handle;
  c.email = row.email;
  c.state = ParseState(row.status);
  c.service_account = row.service_account;
  c.key = std::make_shared<const crypto::PrivateKey>(std::move(key));
  if (!row.handle.empty()) dids_by_handle[row.handle] = row.did;
  accounts[row.did] = std::move(c);
}

std::optional<std::string> AccountService::Impl::DidForHandleOrDid(
    std::string_view handle_or_did) const {
  std::shared_lock lock(mu);
  if (handle_or_did.starts_with("did:")) {
    if (accounts.count(std::string(handle_or_did))) return std::string(handle_or_did);
    return std::nullopt;
  }
  auto it = dids_by_handle.find(atproto::NormalizeHandle(handle_or_did));
  if (it == dids_by_handle.end()) return std::nullopt;
  return it->second;
}

std::optional<AccountService::Impl::CachedAccount> AccountService::Impl::Cached(
    std::string_view did) const {
  std::shared_lock lock(mu);
  auto it = accounts.find(std::string(did));
  if (it == accounts.end()) return std::nullopt;
  return it->second;
}

std::string AccountService::Impl::CurrentPublicUrl() const {
  std::shared_lock lock(mu);
  return public_url;
}

// ---------------------------------------------------------------------------------------------
// Credentials

Result<AccountService::Impl::AccessCredentials> AccountService::Impl::VerifyAccess(
    const net::Request& req, const AccessOptions& opts) const {
  ATCR_ASSIGN_OR_RETURN(ParsedAuthorization auth, ParseAuthorization(req));
  switch (auth.type) {
    case AuthType::kNone:
      return AuthMissing();
    case AuthType::kBasic:
      return InvalidArgument("Unexpected authorization type", "InvalidToken");
    case AuthType::kDpop:
      return InvalidArgument("OAuth (DPoP) access tokens are not supported by this server",
                             "InvalidToken");
    case AuthType::kBearer:
      break;
  }
  internal::SessionVerifyOptions v;
  v.typ = internal::kAccessTyp;
  v.audience = options.service_did;
  v.scopes = opts.scopes;
  v.now = UnixSeconds();
  ATCR_ASSIGN_OR_RETURN(internal::SessionClaims claims,
                        internal::VerifySessionJwt(auth.credentials, secret(), v));
  if (opts.check_takedown || opts.check_deactivated) {
    auto account = Cached(claims.sub);
    if (!account) {
      return Error(ErrorCode::kPermissionDenied, "Account not found", "AccountNotFound");
    }
    if (opts.check_takedown && account->state == AccountState::kTakendown) {
      return Error(ErrorCode::kUnauthenticated, "Account has been taken down", "AccountTakedown");
    }
    if (opts.check_deactivated && account->state == AccountState::kDeactivated) {
      return Error(ErrorCode::kUnauthenticated, "Account is deactivated", "AccountDeactivated");
    }
  }
  return AccessCredentials{std::move(claims.sub), claims.scope};
}

Result<AccountService::Impl::RefreshCredentials> AccountService::Impl::VerifyRefresh(
    const net::Request& req, bool allow_expired) const {
  ATCR_ASSIGN_OR_RETURN(ParsedAuthorization auth, ParseAuthorization(req));
  if (auth.type != AuthType::kBearer) return AuthMissing();
  internal::SessionVerifyOptions v;
  v.typ = internal::kRefreshTyp;
  v.audience = options.service_did;
  v.scopes = {SessionScope::kRefresh};
  v.allow_expired = allow_expired;
  v.now = UnixSeconds();
  ATCR_ASSIGN_OR_RETURN(internal::SessionClaims claims,
                        internal::VerifySessionJwt(auth.credentials, secret(), v));
  if (claims.jti.empty()) {
    return Error(ErrorCode::kUnauthenticated, "Unexpected missing refresh token id",
                 "MissingTokenId");
  }
  return RefreshCredentials{std::move(claims.sub), std::move(claims.jti)};
}

Status AccountService::Impl::CheckAdmin(const net::Request& req) const {
  Error denied(ErrorCode::kUnauthenticated, "Authentication Required");
  auto auth = ParseAuthorization(req);
  if (!auth.ok() || auth->type != AuthType::kBasic) return denied;
  auto decoded = Base64Decode(auth->credentials, Base64Variant::kStandard);
  if (!decoded.ok()) return denied;
  std::string_view text = AsString(*decoded);
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return denied;
  if (options.admin_password.empty() || text.substr(0, colon) != "admin" ||
      !internal::ConstantTimeEquals(text.substr(colon + 1), options.admin_password)) {
    return denied;
  }
  return Ok();
}

Result<Caller> AccountService::Authenticate(const net::Request& req) const {
  ATCR_ASSIGN_OR_RETURN(ParsedAuthorization auth, ParseAuthorization(req));
  if (auth.type == AuthType::kBasic) {
    ATCR_TRY(impl_->CheckAdmin(req));
    return Caller{Caller::Kind::kAdmin, ""};
  }
  Impl::AccessOptions opts;
  opts.scopes = {SessionScope::kAccess, SessionScope::kAppPassPrivileged, SessionScope::kAppPass};
  opts.check_takedown = true;
  opts.check_deactivated = true;
  ATCR_ASSIGN_OR_RETURN(Impl::AccessCredentials creds, impl_->VerifyAccess(req, opts));
  Caller c;
  c.kind = creds.scope == SessionScope::kAccess ? Caller::Kind::kAccess
                                                : Caller::Kind::kAppPassword;
  c.did = std::move(creds.did);
  return c;
}

// ---------------------------------------------------------------------------------------------
// AccountDirectory

Result<std::string> AccountService::ResolveRepo(std::string_view handle_or_did) const {
  auto did = impl_->DidForHandleOrDid(handle_or_did);
  if (!did) {
    return NotFound("Could not find repo: " + std::string(handle_or_did), "RepoNotFound");
  }
  return *did;
}

std::optional<std::string> AccountService::HandleOf(std::string_view did) const {
  auto a = impl_->Cached(did);
  if (!a || a->handle.empty()) return std::nullopt;
  return a->handle;
}

Result<crypto::PrivateKey> AccountService::SigningKey(std::string_view did) const {
  auto a = impl_->Cached(did);
  if (!a) return NotFound("Could not find repo: " + std::string(did), "RepoNotFound");
  return *a->key;
}

std::string AccountService::AccountStatus(std::string_view did) const {
  auto a = impl_->Cached(did);
  if (!a) return "deleted";
  return StateName(a->state);
}

std::optional<AccountInfo> AccountService::FindAccount(std::string_view handle_or_did) const {
  auto did = impl_->DidForHandleOrDid(handle_or_did);
  if (!did) return std::nullopt;
  auto a = impl_->Cached(*did);
  if (!a) return std::nullopt;
  return AccountInfo{*did, a->handle, a->email, a->state, a->service_account};
}

Status AccountService::SetAccountState(std::string_view did, AccountState state) {
  if (!impl_->Cached(did)) return NotFound("no account " + std::string(did));
  ATCR_TRY(impl_->store->UpdateStatus(did, StateName(state)));
  {
    std::unique_lock lock(impl_->mu);
    auto it = impl_->accounts.find(std::string(did));
    if (it != impl_->accounts.end()) it->second.state = state;
  }
  std::optional<std::string> status;
  if (state != AccountState::kActive) status = StateName(state);
  return impl_->repo->AppendAccountEvent(did, state == AccountState::kActive, status);
}

// ---------------------------------------------------------------------------------------------
// Sessions

Result<AccountService::Impl::SessionTokens> AccountService::Impl::CreateSession(
    std::string_view did, const std::optional<internal::AppPasswordRef>& app_password,
    bool takendown) {
  SessionScope scope = SessionScope::kAccess;
  if (takendown) {
    scope = SessionScope::kTakendown;
  } else if (app_password) {
    scope = app_password->privileged ? SessionScope::kAppPassPrivileged : SessionScope::kAppPass;
  }
  const int64_t now = UnixSeconds();
  const int64_t refresh_exp = now + options.refresh_token_ttl.count();
  const std::string jti = internal::NewRefreshTokenId();
  SessionTokens t;
  t.access_jwt = internal::SignAccessJwt(secret(), did, options.service_did, scope, now,
                                         now + options.access_token_ttl.count());
  t.refresh_jwt =
      internal::SignRefreshJwt(secret(), did, options.service_did, jti, now, refresh_exp);
  // A taken-down account's refresh token is not stored, so it can never be rotated.
  if (!takendown) {
    std::optional<std::string> name;
    if (app_password) name = app_password->name;
    ATCR_TRY(store->StoreRefreshToken(jti, did, name, refresh_exp));
  }
  return t;
}

Result<std::optional<AccountService::Impl::SessionTokens>> AccountService::Impl::RotateSession(
    std::string_view token_id) {
  const int64_t now = UnixSeconds();
  const int64_t refresh_exp = now + options.refresh_token_ttl.count();
  ATCR_ASSIGN_OR_RETURN(auto rotation, store->RotateRefreshToken(token_id, now,
                                                                 options.refresh_grace.count(),
                                                                 refresh_exp));
  if (!rotation) return std::optional<SessionTokens>();
  SessionScope scope = SessionScope::kAccess;
  if (rotation->app_password) {
    scope = rotation->app_password->privileged ? SessionScope::kAppPassPrivileged
                                               : SessionScope::kAppPass;
  }
  SessionTokens t;
  t.access_jwt = internal::SignAccessJwt(secret(), rotation->did, options.service_did, scope, now,
                                         now + options.access_token_ttl.count());
  t.refresh_jwt = internal::SignRefreshJwt(secret(), rotation->did, options.service_did,
                                           rotation->next_id, now, refresh_exp);
  return std::optional<SessionTokens>(std::move(t));
}

// ---------------------------------------------------------------------------------------------
// Account creation

net::Task<Result<CreatedAccount>> AccountService::CreateAccount(CreateAccountInput input) {
  return impl_->CreateAccount(std::move(input));
}

net::Task<Result<CreatedAccount>> AccountService::Impl::CreateAccount(CreateAccountInput input) {
  if (options.single_account) {
    co_return InvalidArgument("Account creation is disabled on this server");
  }
  if (input.password.size() > internal::kNewPasswordMaxLength) {
    co_return InvalidArgument("Password too long. Maximum length is " +
                              std::to_string(internal::kNewPasswordMaxLength) + " characters.");
  }
  if (options.invite_required && input.invite_code.empty()) {
    co_return InvalidArgument("No invite code provided", "InvalidInviteCode");
  }
  std::string email = Lower(input.email);
  if (!email.empty() && !LooksLikeEmail(email)) {
    co_return InvalidArgument(
        "This email address is not supported, please use a different email.");
  }
  ATCR_CO_ASSIGN_OR_RETURN(std::string handle,
                           internal::NormalizeAndValidateNewHandle(input.handle,
                                                                   options.handle_domains));
  if (!input.recovery_key.empty()) {
    auto k = crypto::PublicKey::FromDidKey(input.recovery_key);
    if (!k.ok()) co_return InvalidArgument("Invalid recoveryKey: " + k.error().message);
  }

  // Reserve the handle for the rest of this creation (the DB's UNIQUE constraint is the
  // final word; this keeps two concurrent requests from both minting a DID for it).
  {
    std::unique_lock lock(mu);
    if (dids_by_handle.count(handle) || pending_handles.count(handle)) {
      co_return InvalidArgument("Handle already taken: " + handle);
    }
    pending_handles.insert(handle);
  }
  struct Release {
    Impl* self;
    std::string handle;
    ~Release() {
      std::unique_lock lock(self->mu);
      self->pending_handles.erase(handle);
    }
  } release{this, handle};

  // Invite and email availability, and the password hash (scrypt), off the event loop.
  std::string password_hash;
  std::function<Status()> precheck = [&]() -> Status {
    if (options.invite_required) ATCR_TRY(store->CheckInviteAvailable(input.invite_code));
    if (!email.empty()) {
      ATCR_ASSIGN_OR_RETURN(auto taken, store->GetByEmail(email));
      if (taken) return InvalidArgument("Email already taken: " + email);
    }
    if (!input.password.empty()) {
      ATCR_ASSIGN_OR_RETURN(password_hash, internal::HashAccountPassword(input.password));
    }
    return Ok();
  };
  Status pre = co_await internal::OffThread(std::move(precheck));
  if (!pre.ok()) co_return pre.error();

  // A new repo signing key and the DID's genesis operation, signed by the PDS rotation key.
  crypto::PrivateKey signing_key = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
  const std::string pds_url = CurrentPublicUrl();
  identity::PlcGenesisParams params;
  params.signing_key = signing_key.public_key().DidKey();
  params.handle = handle;
  params.pds_endpoint = pds_url;
  if (!input.recovery_key.empty()) params.rotation_keys.push_back(input.recovery_key);
  if (!options.recovery_did_key.empty()) params.rotation_keys.push_back(options.recovery_did_key);
  params.rotation_keys.push_back(plc_rotation_key->public_key().DidKey());
  auto genesis = identity::CreatePlcGenesis(*plc_rotation_key, params);
  if (!genesis.ok()) {
    Error e = std::move(genesis).error();
    if (e.code == ErrorCode::kInvalidArgument) co_return e;
    co_return Internal("building the PLC genesis operation: " + e.message);
  }
  const std::string did = genesis->did;
  const identity::PlcOperation op = genesis->op;
  std::string plc_url = options.plc_url;
  std::string op_did = did;
  auto submitted =
      co_await identity::SubmitPlcOperation(*http, std::move(plc_url), std::move(op_did), op);
  if (!submitted.ok()) {
    spdlog::error("accounts: creating {} for {} failed at the PLC directory: {}", did, handle,
                  submitted.error().message);
    co_return Internal("PLC directory: " + submitted.error().message);
  }

  // Repo, account row, first session, events.
  CreatedAccount out;
  out.did = did;
  out.handle = handle;
  // Order as the reference sequences it: the account row (not visible until cached), its
  // first session, #identity, #account, then the repo's first commit (#commit, #sync). Any
  // failure undoes all of it: DeleteRepo also drops the DID's sequenced events.
  std::function<Status()> commit = [&]() -> Status {
    internal::AccountRow row;
    row.did = did;
    row.handle = handle;
    row.email = email;
    row.password_scrypt = password_hash;
    row.key_type = crypto::KeyTypeName(signing_key.type());
    row.signing_key.assign(signing_key.secret_bytes().begin(), signing_key.secret_bytes().end());
    row.created_at = NowRfc3339();
    std::optional<internal::InviteUse> invite;
    if (!input.invite_code.empty() && options.invite_required) {
      invite = internal::InviteUse{input.invite_code, row.created_at};
    }
    Status inserted = store->InsertAccount(row, invite);
    if (!inserted.ok()) {
      Error e = inserted.error();
      if (e.code == ErrorCode::kAlreadyExists) {
        if (!email.empty() && e.message.find("email") != std::string::npos) {
          return InvalidArgument("Email already taken: " + email);
        }
        return InvalidArgument("Handle already taken: " + handle);
      }
      return e;
    }
    auto undo = [&](Error e) -> Status {
      Status r = repo->DeleteRepo(did);
      if (!r.ok()) {
        spdlog::error("accounts: could not remove the repo of failed account {}: {}", did,
                      r.error().message);
      }
      Status a = store->DeleteAccount(did);
      if (!a.ok()) {
        spdlog::error("accounts: could not remove the row of failed account {}: {}", did,
                      a.error().message);
      }
      return e;
    };
    auto tokens = CreateSession(did, std::nullopt, false);
    if (!tokens.ok()) return undo(tokens.error());
    Status ev = repo->AppendIdentityEvent(did, handle);
    if (ev.ok()) ev = repo->AppendAccountEvent(did, true, std::nullopt);
    if (!ev.ok()) return undo(ev.error());
    Status created = repo->CreateRepo(did, signing_key);
    if (!created.ok()) return undo(created.error());
    CacheAccount(row, signing_key);
    out.access_jwt = std::move(tokens->access_jwt);
    out.refresh_jwt = std::move(tokens->refresh_jwt);
    return Ok();
  };
  Status committed = co_await internal::OffThread(std::move(commit));
  if (!committed.ok()) co_return committed.error();
  out.did_doc = identity::RenderPlcDidDocument(did, op);
  spdlog::info("accounts: created {} ({})", did, handle);
  co_return out;
}

// ---------------------------------------------------------------------------------------------
// Single-account mode

Status AccountService::EnsureServiceAccount(std::string_view did, std::string_view handle,
                                            const crypto::PrivateKey& signing_key,
                                            std::vector<DidService> services) {
  return impl_->EnsureServiceAccount(did, handle, signing_key, std::move(services));
}

Status AccountService::Impl::EnsureServiceAccount(std::string_view did_in,
                                                  std::string_view handle_in,
                                                  const crypto::PrivateKey& key,
                                                  std::vector<DidService> services) {
  const std::string did(did_in);
  if (Status st = atproto::ValidateDid(did); !st.ok()) {
    return InvalidArgument("service account DID: " + st.error().message);
  }
  std::string handle;
  if (!handle_in.empty()) {
    handle = atproto::NormalizeHandle(handle_in);
    if (Status st = atproto::ValidateHandle(handle); !st.ok()) {
      return InvalidArgument("service account handle: " + st.error().message);
    }
  }
  for (const DidService& s : services) {
    if (s.id.empty() || s.id.find('#') != std::string::npos || s.type.empty() ||
        s.endpoint.empty()) {
      return InvalidArgument("service account: a DID service needs an id (no '#'), a type and "
                             "an endpoint");
    }
  }
  if (!handle.empty()) {
    auto owner = DidForHandleOrDid(handle);
    if (owner && *owner != did) {
      return Error(ErrorCode::kAlreadyExists,
                   "service account handle " + handle + " belongs to " + *owner);
    }
  }

  // The repo first (with #identity and #account ahead of its #commit, as on account
  // creation), then the row: a crash in between is repaired by the next start.
  auto ensure_repo = [&]() -> Status {
    if (repo->HasRepo(did)) return Ok();
    std::optional<std::string> h;
    if (!handle.empty()) h = handle;
    ATCR_TRY(repo->AppendIdentityEvent(did, h));
    ATCR_TRY(repo->AppendAccountEvent(did, true, std::nullopt));
    Status created = repo->CreateRepo(did, key);
    if (!created.ok() && created.error().code != ErrorCode::kAlreadyExists) return created;
    spdlog::info("accounts: created the repo of service account {}", did);
    return Ok();
  };
  ATCR_ASSIGN_OR_RETURN(auto existing, store->GetByDid(did));
  if (existing) {
    ATCR_ASSIGN_OR_RETURN(crypto::KeyType type, crypto::ParseKeyType(existing->key_type));
    if (type != key.type() ||
        !std::equal(existing->signing_key.begin(), existing->signing_key.end(),
                    key.secret_bytes().begin(), key.secret_bytes().end())) {
      return Error(ErrorCode::kFailedPrecondition,
                   "the signing key given for " + did +
                       " is not the one its repo was created with; restore the original key file");
    }
    ATCR_TRY(ensure_repo());
    if (existing->handle != handle) {
      ATCR_TRY(store->UpdateHandle(did, handle));
      {
        std::unique_lock lock(mu);
        if (!existing->handle.empty()) dids_by_handle.erase(existing->handle);
        if (!handle.empty()) dids_by_handle[handle] = did;
        accounts[did].handle = handle;
      }
      std::optional<std::string> h;
      if (!handle.empty()) h = handle;
      ATCR_TRY(repo->AppendIdentityEvent(did, h));
    }
  } else {
    ATCR_TRY(ensure_repo());
    internal::AccountRow row;
    row.did = did;
    row.handle = handle;
    row.key_type = crypto::KeyTypeName(key.type());
    row.signing_key.assign(key.secret_bytes().begin(), key.secret_bytes().end());
    row.created_at = NowRfc3339();
    row.service_account = true;
    ATCR_TRY(store->InsertAccount(row, std::nullopt));
    CacheAccount(row, key);
    spdlog::info("accounts: created service account {}", did);
  }
  std::unique_lock lock(mu);
  service_account = ServiceAccount{did, handle, std::move(services)};
  return Ok();
}

Result<std::string> AccountService::ServiceDidDocument() const {
  return impl_->ServiceDidDocument();
}

Result<std::string> AccountService::Impl::ServiceDidDocument() const {
  std::optional<ServiceAccount> sa;
  std::string url;
  {
    std::shared_lock lock(mu);
    sa = service_account;
    url = public_url;
  }
  if (!sa) return NotFound("no service account");
  auto account = Cached(sa->did);
  if (!account) return NotFound("no service account");
  const crypto::PublicKey& pub = account->key->public_key();
  json::object doc;
  json::array context{"https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"};
  if (pub.type() == crypto::KeyType::kK256) {
    context.push_back("https://w3id.org/security/suites/secp256k1-2019/v1");
  }
  doc["@context"] = std::move(context);
  doc["id"] = sa->did;
  json::array aka;
  if (!sa->handle.empty()) aka.push_back(json::value("at://" + sa->handle));
  doc["alsoKnownAs"] = std::move(aka);
  doc["verificationMethod"] = json::array{json::object{{"id", sa->did + "#atproto"},
                                                       {"type", "Multikey"},
                                                       {"controller", sa->did},
                                                       {"publicKeyMultibase", pub.Multikey()}}};
  json::array service;
  service.push_back(json::object{{"id", "#atproto_pds"},
                                 {"type", "AtprotoPersonalDataServer"},
                                 {"serviceEndpoint", url}});
  for (const DidService& s : sa->services) {
    service.push_back(
        json::object{{"id", "#" + s.id}, {"type", s.type}, {"serviceEndpoint", s.endpoint}});
  }
  doc["service"] = std::move(service);
  return json::serialize(doc);
}

// ---------------------------------------------------------------------------------------------
// Configuration

void AccountService::RegisterRoutes(net::Router& router) { impl_->RegisterRoutes(router); }

const std::string& AccountService::service_did() const { return impl_->options.service_did; }

std::string AccountService::public_url() const { return impl_->CurrentPublicUrl(); }

void AccountService::SetPublicUrl(std::string url) {
  while (url.ends_with('/')) url.pop_back();
  std::unique_lock lock(impl_->mu);
  impl_->public_url = std::move(url);
}

std::string AccountService::plc_rotation_did_key() const {
  if (!impl_->plc_rotation_key) return "";
  return impl_->plc_rotation_key->public_key().DidKey();
}

}  // namespace atcr::pds
