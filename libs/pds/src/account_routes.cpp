// The account side's HTTP surface: com.atproto.server.* session and account methods,
// com.atproto.identity.resolveHandle, the well-known identity documents and /xrpc/_health.
// Shapes, error names and status codes follow @atproto/pds 0.4.217.
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>

#include "atcr/atproto/syntax.h"
#include "atcr/base/time.h"
#include "atcr/crypto/jwt.h"
#include "atcr/identity/resolver.h"
#include "atcr/net/http_client.h"
#include "atcr/net/router.h"
#include "atcr/net/xrpc.h"
#include "internal/account_handle.h"
#include "internal/account_password.h"
#include "internal/account_service_impl.h"

namespace atcr::pds {
namespace {

namespace json = boost::json;
using internal::SessionScope;
using Impl = AccountService::Impl;

constexpr size_t kMaxAppPasswordNameLength = 1024;
constexpr int64_t kMaxServiceAuthSeconds = 3600;         // exp at most an hour ahead
constexpr int64_t kMaxMethodlessServiceAuthSeconds = 60;  // a minute without lxm
constexpr const char* kInvalidHandle = "handle.invalid";

// Methods a service token may be minted for only from a full or privileged app-password
// session, and methods no service token may be minted for (the reference's
// PRIVILEGED_METHODS / PROTECTED_METHODS).
bool IsPrivilegedMethod(std::string_view lxm) {
  return lxm == "com.atproto.server.createAccount" || lxm.starts_with("chat.bsky.");
}
bool IsProtectedMethod(std::string_view lxm) {
  static constexpr std::string_view kProtected[] = {
      "com.atproto.admin.sendEmail",
      "com.atproto.identity.requestPlcOperationSignature",
      "com.atproto.identity.signPlcOperation",
      "com.atproto.identity.updateHandle",
      "com.atproto.server.activateAccount",
      "com.atproto.server.confirmEmail",
      "com.atproto.server.createAppPassword",
      "com.atproto.server.deactivateAccount",
      "com.atproto.server.getAccountInviteCodes",
      "com.atproto.server.getSession",
      "com.atproto.server.listAppPasswords",
      "com.atproto.server.requestAccountDelete",
      "com.atproto.server.requestEmailConfirmation",
      "com.atproto.server.requestEmailUpdate",
      "com.atproto.server.revokeAppPassword",
      "com.atproto.server.updateEmail",
  };
  return std::find(std::begin(kProtected), std::end(kProtected), lxm) != std::end(kProtected);
}

const std::vector<SessionScope>& StandardScopes() {
  static const std::vector<SessionScope> k = {SessionScope::kAccess,
                                              SessionScope::kAppPassPrivileged,
                                              SessionScope::kAppPass};
  return k;
}

// ---- Responses ----

net::Response Fail(const Error& e) {
  int status = net::XrpcStatusFor(e);
  if (status >= 500) {
    // The reference hides 5xx details from clients; the log keeps them.
    spdlog::error("accounts: {}", e.ToString());
    if (status == 500) return net::XrpcErrorResponse(500, "InternalServerError", "Internal Server Error");
  }
  return net::XrpcErrorResponse(e);
}

net::Response JsonOk(const json::value& v) { return net::Response::Json(200, json::serialize(v)); }

// What the reference's auth verifiers add to every authenticated answer.
net::Response Private(net::Response r) {
  r.headers.Set("Cache-Control", "private");
  r.headers.Set("Vary", "Authorization");
  return r;
}

net::Response EmptyOk() { return net::Response::Empty(200); }

// ---- Input (lexicon-style messages) ----

std::string Describe(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string: {
      std::string s(v.get_string());
      if (s.size() > 48) s = s.substr(0, 48) + "…";
      return json::serialize(json::value(s));
    }
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return json::serialize(v);
    case json::kind::bool_:
      return v.get_bool() ? "true" : "false";
    case json::kind::null:
      return "null";
    case json::kind::array:
      return "array";
    case json::kind::object:
      return "object";
  }
  return "value";
}

Error InputError(std::string message) { return InvalidArgument(std::move(message)); }

Result<std::optional<std::string>> OptString(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(json::string_view(key.data(), key.size()));
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) {
    return InputError("Expected string value type (got " + Describe(*v) + ") at $." +
                      std::string(key));
  }
  return std::optional<std::string>(std::string(v->get_string()));
}

Result<std::string> ReqString(const json::object& o, std::string_view key) {
  ATCR_ASSIGN_OR_RETURN(auto v, OptString(o, key));
  if (!v) return InputError("Missing required key \"" + std::string(key) + "\" at $");
  return std::move(*v);
}

Result<std::optional<bool>> OptBool(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(json::string_view(key.data(), key.size()));
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_bool()) {
    return InputError("Expected boolean value type (got " + Describe(*v) + ") at $." +
                      std::string(key));
  }
  return std::optional<bool>(v->get_bool());
}

Result<std::optional<int64_t>> OptInt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(json::string_view(key.data(), key.size()));
  if (v == nullptr) return std::optional<int64_t>();
  if (v->is_int64()) return std::optional<int64_t>(v->as_int64());
  if (v->is_uint64() && v->as_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return std::optional<int64_t>(static_cast<int64_t>(v->as_uint64()));
  }
  return InputError("Expected integer value type (got " + Describe(*v) + ") at $." +
                    std::string(key));
}

std::string MediaType(std::string_view content_type) {
  std::string_view t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  std::string out(t);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A procedure's JSON body, checked the way xrpc-server does before the handler runs.
net::Task<Result<json::object>> ReadJsonInput(net::Request& req, uint64_t limit) {
  auto length = req.body->content_length();
  if (length && *length == 0) {
    co_return InputError("A request body is expected but none was provided");
  }
  auto ct = req.headers.Get("Content-Type");
  std::string type = ct ? MediaType(*ct) : std::string("application/octet-stream");
  if (type != "application/json") {
    co_return InputError("Wrong request encoding (Content-Type): " + type);
  }
  auto text = co_await req.body->ReadAll(limit);
  if (!text.ok()) {
    Error e = std::move(text).error();
    if (e.code == ErrorCode::kResourceExhausted) {
      co_return Error(ErrorCode::kResourceExhausted, "request entity too large", "PayloadTooLarge");
    }
    co_return e;
  }
  if (text->empty()) co_return InputError("A request body is expected but none was provided");
  json::parse_options opts;
  opts.max_depth = 32;
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec, {}, opts);
  if (ec) co_return InputError("Request body is not valid JSON: " + ec.message());
  if (!v.is_object()) {
    co_return InputError("Expected object value type (got " + Describe(v) + ") at $");
  }
  co_return std::move(v.as_object());
}

// Bodies of body-less procedures are read and ignored.
net::Task<void> DrainBody(net::Request& req) { (void)co_await req.body->Drain(); }

Error ParamsError(std::string_view nsid, const std::string& issue) {
  return InvalidArgument("Invalid " + std::string(nsid) + " params: " + issue);
}

// "scheme://host[:port]/..." -> host.
std::string HostOfUrl(std::string_view url) {
  size_t scheme = url.find("://");
  std::string_view rest = scheme == std::string_view::npos ? url : url.substr(scheme + 3);
  rest = rest.substr(0, rest.find('/'));
  if (rest.starts_with('[')) return std::string(rest.substr(0, rest.find(']') + 1));
  return std::string(rest.substr(0, rest.find(':')));
}

// The Host header without its port, lowercased (Express's req.hostname).
std::string RequestHostname(const net::Request& req) {
  auto host = req.headers.Get("Host");
  if (!host) return "";
  std::string h = HostOfUrl(*host);
  std::transform(h.begin(), h.end(), h.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return h;
}


net::Task<void> SleepUntil(std::chrono::steady_clock::time_point deadline) {
  if (std::chrono::steady_clock::now() >= deadline) co_return;
  auto ex = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer timer(ex, deadline);
  boost::system::error_code ec;
  auto token = boost::asio::redirect_error(boost::asio::use_awaitable, ec);
  co_await timer.async_wait(token);
}

// The fields every session answer shares (createSession, refreshSession, getSession).
void AddAccountFields(json::object& body, const internal::AccountRow& row,
                      const std::optional<json::value>& did_doc) {
  body["did"] = row.did;
  if (did_doc) body["didDoc"] = *did_doc;
  body["handle"] = row.handle.empty() ? std::string(kInvalidHandle) : row.handle;
  if (!row.email.empty()) body["email"] = row.email;
  body["emailConfirmed"] = !row.email_confirmed_at.empty();
  if (row.status == "active") {
    body["active"] = true;
  } else {
    body["active"] = false;
    body["status"] = row.status;
  }
}

Result<internal::AccountRow> RequireRow(Result<std::optional<internal::AccountRow>> row,
                                        std::string_view did, bool allow_takendown) {
  if (!row.ok()) return std::move(row).error();
  if (!*row || (!allow_takendown && (*row)->status == "takendown")) {
    return InvalidArgument("Could not find user info for account: " + std::string(did));
  }
  return std::move(**row);
}

// ---- Handlers ----

struct Handlers {
  Impl* self;

  // The DID document for session answers (only when did_doc_with_session is on): the service
  // account's own, or the PLC directory's. A failure leaves it out, as the reference does.
  net::Task<std::optional<json::value>> DidDocForSession(std::string did) {
    if (!self->options.did_doc_with_session) co_return std::nullopt;
    co_return co_await ResolveDidDoc(std::move(did));
  }

  net::Task<std::optional<json::value>> ResolveDidDoc(std::string did) {
    bool is_service = false;
    {
      std::shared_lock lock(self->mu);
      is_service = self->service_account && self->service_account->did == did;
    }
    if (is_service) {
      auto doc = self->ServiceDidDocument();
      if (!doc.ok()) co_return std::nullopt;
      boost::system::error_code ec;
      json::value v = json::parse(*doc, ec);
      if (ec) co_return std::nullopt;
      co_return v;
    }
    if (!did.starts_with("did:plc:") || self->http == nullptr) co_return std::nullopt;
    std::string base = self->options.plc_url;
    while (base.ends_with('/')) base.pop_back();
    net::ClientRequest creq;
    creq.url = base + "/" + did;
    creq.timeout = std::chrono::milliseconds(5000);
    auto resp = co_await self->http->Send(std::move(creq));
    if (!resp.ok() || resp->status != 200) co_return std::nullopt;
    boost::system::error_code ec;
    json::value v = json::parse(resp->body, ec);
    if (ec || !v.is_object()) co_return std::nullopt;
    co_return v;
  }

  net::Task<net::Response> CreateAccount(net::Request& req) {
    auto body = co_await ReadJsonInput(req, self->options.max_request_body);
    if (!body.ok()) co_return Fail(body.error());
    auto handle = ReqString(*body, "handle");
    if (!handle.ok()) co_return Fail(handle.error());
    if (!atproto::ValidateHandle(*handle).ok()) {
      co_return Fail(InputError("Invalid handle (got " + Describe(json::value(*handle)) +
                                ") at $.handle"));
    }
    CreateAccountInput in;
    in.handle = std::move(*handle);
    for (auto [key, dest] : {std::pair<const char*, std::string*>{"email", &in.email},
                             {"password", &in.password},
                             {"inviteCode", &in.invite_code},
                             {"recoveryKey", &in.recovery_key}}) {
      auto v = OptString(*body, key);
      if (!v.ok()) co_return Fail(v.error());
      if (*v) *dest = std::move(**v);
    }
    auto did = OptString(*body, "did");
    if (!did.ok()) co_return Fail(did.error());
    if (*did) {
      // Bringing an existing DID (account migration) needs a service-auth token from it and
      // a deactivated start; not offered here.
      co_return Fail(Error(ErrorCode::kUnauthenticated,
                           "Missing auth to create account with did: " + **did));
    }
    if (body->contains("plcOp")) co_return Fail(InputError("Unsupported input: \"plcOp\""));
    auto created = co_await self->CreateAccount(std::move(in));
    if (!created.ok()) co_return Fail(created.error());
    json::object out;
    out["handle"] = created->handle;
    out["did"] = created->did;
    boost::system::error_code ec;
    json::value doc = json::parse(created->did_doc, ec);
    if (!ec) out["didDoc"] = std::move(doc);
    out["accessJwt"] = created->access_jwt;
    out["refreshJwt"] = created->refresh_jwt;
    co_return JsonOk(out);
  }

  net::Task<net::Response> CreateSession(net::Request& req) {
    auto body = co_await ReadJsonInput(req, self->options.max_request_body);
    if (!body.ok()) co_return Fail(body.error());
    auto identifier = ReqString(*body, "identifier");
    if (!identifier.ok()) co_return Fail(identifier.error());
    auto password = ReqString(*body, "password");
    if (!password.ok()) co_return Fail(password.error());
    auto allow_takendown = OptBool(*body, "allowTakendown");
    if (!allow_takendown.ok()) co_return Fail(allow_takendown.error());
    if (auto f = OptString(*body, "authFactorToken"); !f.ok()) co_return Fail(f.error());
    if (password->size() > internal::kOldPasswordMaxLength) {
      co_return Fail(Error(ErrorCode::kUnauthenticated,
                           "Password too long. Consider resetting your password."));
    }

    const auto deadline = std::chrono::steady_clock::now() + self->options.login_min_duration;
    struct Login {
      internal::AccountRow row;
      std::optional<internal::AppPasswordRef> app_password;
      bool takendown = false;
    };
    std::function<Result<Login>()> login = [&]() -> Result<Login> {
      const Error invalid(ErrorCode::kUnauthenticated, "Invalid identifier or password");
      std::string id = *identifier;
      std::transform(id.begin(), id.end(), id.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      std::optional<internal::AccountRow> row;
      if (id.find('@') != std::string::npos) {
        ATCR_ASSIGN_OR_RETURN(row, self->store->GetByEmail(id));
      } else if (id.starts_with("did:")) {
        // DIDs are case-sensitive (did:web:localhost%3A8080): try the identifier as given.
        ATCR_ASSIGN_OR_RETURN(row, self->store->GetByDid(*identifier));
        if (!row) {
          ATCR_ASSIGN_OR_RETURN(row, self->store->GetByDid(id));
        }
      } else if (atproto::ValidateHandle(id).ok()) {
        ATCR_ASSIGN_OR_RETURN(row, self->store->GetByHandle(id));
      }
      if (!row) return invalid;
      Login out;
      out.takendown = row->status == "takendown";
      bool valid = !row->password_scrypt.empty() &&
                   internal::VerifyPasswordHash(*password, row->password_scrypt);
      if (!valid) {
        // Taken-down accounts cannot log in with an app password.
        if (out.takendown) return invalid;
        ATCR_ASSIGN_OR_RETURN(std::string hash,
                              internal::HashAppPassword(row->did, *password));
        ATCR_ASSIGN_OR_RETURN(auto app_passwords, self->store->ListAppPasswords(row->did));
        for (const auto& ap : app_passwords) {
          if (internal::ConstantTimeEquals(hash, ap.password_scrypt)) {
            out.app_password = internal::AppPasswordRef{ap.name, ap.privileged};
          }
        }
        if (!out.app_password) return invalid;
      }
      out.row = std::move(*row);
      return out;
    };
    auto logged_in = co_await internal::OffThread(std::move(login));
    co_await SleepUntil(deadline);
    if (!logged_in.ok()) co_return Fail(logged_in.error());
    if (logged_in->takendown && !allow_takendown->value_or(false)) {
      co_return Fail(
          Error(ErrorCode::kUnauthenticated, "Account has been taken down", "AccountTakedown"));
    }
    std::function<Result<Impl::SessionTokens>()> mint = [&]() {
      return self->CreateSession(logged_in->row.did, logged_in->app_password,
                                 logged_in->takendown);
    };
    auto tokens = co_await internal::OffThread(std::move(mint));
    if (!tokens.ok()) co_return Fail(tokens.error());
    auto did_doc = co_await DidDocForSession(logged_in->row.did);
    json::object out;
    out["accessJwt"] = tokens->access_jwt;
    out["refreshJwt"] = tokens->refresh_jwt;
    AddAccountFields(out, logged_in->row, did_doc);
    co_return JsonOk(out);
  }

  net::Task<net::Response> RefreshSession(net::Request& req) {
    co_await DrainBody(req);
    auto creds = self->VerifyRefresh(req, /*allow_expired=*/false);
    if (!creds.ok()) co_return Private(Fail(creds.error()));
    struct Refreshed {
      internal::AccountRow row;
      Impl::SessionTokens tokens;
    };
    std::function<Result<Refreshed>()> rotate = [&]() -> Result<Refreshed> {
      ATCR_ASSIGN_OR_RETURN(internal::AccountRow row,
                            RequireRow(self->store->GetByDid(creds->did), creds->did,
                                       /*allow_takendown=*/true));
      if (row.status == "takendown") {
        return Error(ErrorCode::kUnauthenticated, "Account has been taken down",
                     "AccountTakedown");
      }
      ATCR_ASSIGN_OR_RETURN(auto rotated, self->RotateSession(creds->token_id));
      if (!rotated) return InvalidArgument("Token has been revoked", "ExpiredToken");
      return Refreshed{std::move(row), std::move(*rotated)};
    };
    auto refreshed = co_await internal::OffThread(std::move(rotate));
    if (!refreshed.ok()) co_return Private(Fail(refreshed.error()));
    auto did_doc = co_await DidDocForSession(creds->did);
    json::object out;
    out["accessJwt"] = refreshed->tokens.access_jwt;
    out["refreshJwt"] = refreshed->tokens.refresh_jwt;
    AddAccountFields(out, refreshed->row, did_doc);
    co_return Private(JsonOk(out));
  }

  net::Task<net::Response> GetSession(net::Request& req) {
    Impl::AccessOptions opts;
    opts.scopes = StandardScopes();
    opts.scopes.push_back(SessionScope::kSignupQueued);
    auto creds = self->VerifyAccess(req, opts);
    if (!creds.ok()) co_return Private(Fail(creds.error()));
    std::function<Result<internal::AccountRow>()> load = [&]() {
      return RequireRow(self->store->GetByDid(creds->did), creds->did, false);
    };
    auto row = co_await internal::OffThread(std::move(load));
    if (!row.ok()) co_return Private(Fail(row.error()));
    auto did_doc = co_await DidDocForSession(creds->did);
    json::object out;
    AddAccountFields(out, *row, did_doc);
    co_return Private(JsonOk(out));
  }

  net::Task<net::Response> DeleteSession(net::Request& req) {
    co_await DrainBody(req);
    auto creds = self->VerifyRefresh(req, /*allow_expired=*/true);
    if (!creds.ok()) co_return Private(Fail(creds.error()));
    std::function<Status()> revoke = [&]() {
      return self->store->RevokeRefreshToken(creds->token_id);
    };
    Status st = co_await internal::OffThread(std::move(revoke));
    if (!st.ok()) co_return Private(Fail(st.error()));
    co_return Private(EmptyOk());
  }

  net::Task<net::Response> DescribeServer(net::Request& req) {
    co_await DrainBody(req);
    json::object out;
    out["did"] = self->options.service_did;
    json::array domains;
    if (!self->options.single_account) {
      for (const auto& d : self->options.handle_domains) domains.push_back(json::value(d));
    }
    out["availableUserDomains"] = std::move(domains);
    out["inviteCodeRequired"] = self->options.invite_required;
    json::object links;
    if (!self->options.privacy_policy_url.empty()) {
      links["privacyPolicy"] = self->options.privacy_policy_url;
    }
    if (!self->options.terms_of_service_url.empty()) {
      links["termsOfService"] = self->options.terms_of_service_url;
    }
    out["links"] = std::move(links);
    json::object contact;
    if (!self->options.contact_email.empty()) contact["email"] = self->options.contact_email;
    out["contact"] = std::move(contact);
    co_return JsonOk(out);
  }

  net::Task<net::Response> CreateAppPassword(net::Request& req) {
    Impl::AccessOptions opts;
    opts.scopes = {SessionScope::kAccess};  // app-password sessions may not mint more
    opts.check_takedown = true;
    auto creds = self->VerifyAccess(req, opts);
    if (!creds.ok()) {
      co_await DrainBody(req);
      co_return Private(Fail(creds.error()));
    }
    auto body = co_await ReadJsonInput(req, self->options.max_request_body);
    if (!body.ok()) co_return Private(Fail(body.error()));
    auto name = ReqString(*body, "name");
    if (!name.ok()) co_return Private(Fail(name.error()));
    auto privileged = OptBool(*body, "privileged");
    if (!privileged.ok()) co_return Private(Fail(privileged.error()));
    if (name->empty() || name->size() > kMaxAppPasswordNameLength) {
      co_return Private(Fail(InvalidArgument("App password name must be 1 to " +
                                             std::to_string(kMaxAppPasswordNameLength) +
                                             " characters")));
    }
    std::string password = internal::GenerateAppPassword();
    internal::AppPasswordRow row;
    row.name = *name;
    row.privileged = privileged->value_or(false);
    row.created_at = NowRfc3339();
    std::function<Status()> insert = [&]() -> Status {
      ATCR_ASSIGN_OR_RETURN(row.password_scrypt, internal::HashAppPassword(creds->did, password));
      Status st = self->store->InsertAppPassword(creds->did, row);
      if (!st.ok() && st.error().code == ErrorCode::kAlreadyExists) {
        return InvalidArgument("An app password with this name already exists: " + row.name);
      }
      return st;
    };
    Status st = co_await internal::OffThread(std::move(insert));
    if (!st.ok()) co_return Private(Fail(st.error()));
    json::object out;
    out["name"] = row.name;
    out["password"] = password;
    out["createdAt"] = row.created_at;
    out["privileged"] = row.privileged;
    co_return Private(JsonOk(out));
  }

  net::Task<net::Response> ListAppPasswords(net::Request& req) {
    co_await DrainBody(req);
    Impl::AccessOptions opts;
    opts.scopes = StandardScopes();
    auto creds = self->VerifyAccess(req, opts);
    if (!creds.ok()) co_return Private(Fail(creds.error()));
    std::function<Result<std::vector<internal::AppPasswordRow>>()> list = [&]() {
      return self->store->ListAppPasswords(creds->did);
    };
    auto rows = co_await internal::OffThread(std::move(list));
    if (!rows.ok()) co_return Private(Fail(rows.error()));
    json::array passwords;
    for (const auto& r : *rows) {
      passwords.push_back(json::object{
          {"name", r.name}, {"createdAt", r.created_at}, {"privileged", r.privileged}});
    }
    json::object out;
    out["passwords"] = std::move(passwords);
    co_return Private(JsonOk(out));
  }

  net::Task<net::Response> RevokeAppPassword(net::Request& req) {
    Impl::AccessOptions opts;
    opts.scopes = StandardScopes();
    auto creds = self->VerifyAccess(req, opts);
    if (!creds.ok()) {
      co_await DrainBody(req);
      co_return Private(Fail(creds.error()));
    }
    auto body = co_await ReadJsonInput(req, self->options.max_request_body);
    if (!body.ok()) co_return Private(Fail(body.error()));
    auto name = ReqString(*body, "name");
    if (!name.ok()) co_return Private(Fail(name.error()));
    std::function<Status()> revoke = [&]() {
      return self->store->RevokeAppPassword(creds->did, *name);
    };
    Status st = co_await internal::OffThread(std::move(revoke));
    if (!st.ok()) co_return Private(Fail(st.error()));
    co_return Private(EmptyOk());
  }

  net::Task<net::Response> GetServiceAuth(net::Request& req) {
    co_await DrainBody(req);
    static constexpr std::string_view kNsid = "com.atproto.server.getServiceAuth";
    Impl::AccessOptions opts;
    opts.scopes = StandardScopes();
    opts.scopes.push_back(SessionScope::kTakendown);
    auto creds = self->VerifyAccess(req, opts);
    if (!creds.ok()) co_return Private(Fail(creds.error()));

    auto aud = req.Query("aud");
    if (!aud) co_return Private(Fail(ParamsError(kNsid, "Missing required key \"aud\"")));
    // A DID, or (as current reference versions accept) a DID with a #service fragment.
    std::string_view aud_did = std::string_view(*aud).substr(0, aud->find('#'));
    if (!atproto::ValidateDid(aud_did).ok() ||
        (aud->find('#') != std::string::npos && aud->size() == aud_did.size() + 1)) {
      co_return Private(Fail(ParamsError(
          kNsid, "Invalid DID (got " + Describe(json::value(*aud)) + ")")));
    }
    std::optional<int64_t> exp;
    if (auto e = req.Query("exp")) {
      int64_t v = 0;
      auto [ptr, ec] = std::from_chars(e->data(), e->data() + e->size(), v);
      if (ec != std::errc() || ptr != e->data() + e->size()) {
        co_return Private(Fail(ParamsError(
            kNsid, "Expected integer value type (got " + Describe(json::value(*e)) + ")")));
      }
      exp = v;
    }
    std::string lxm;
    if (auto l = req.Query("lxm")) {
      if (!atproto::ValidateNsid(*l).ok()) {
        co_return Private(Fail(
            ParamsError(kNsid, "Invalid NSID (got " + Describe(json::value(*l)) + ")")));
      }
      lxm = *l;
    }

    if (creds->scope == SessionScope::kTakendown && lxm != "com.atproto.server.createAccount") {
      co_return Private(Fail(InvalidArgument("Bad token scope", "InvalidToken")));
    }
    if (!lxm.empty() && IsPrivilegedMethod(lxm) && creds->scope != SessionScope::kAccess &&
        creds->scope != SessionScope::kAppPassPrivileged) {
      co_return Private(Fail(InvalidArgument(
          "insufficient access to request a service auth token for the following method: " +
          lxm)));
    }
    const int64_t now_ms = UnixMicros() / 1000;
    const int64_t now = now_ms / 1000;
    int64_t ttl = kMaxMethodlessServiceAuthSeconds;
    if (exp && *exp != 0) {
      // The reference compares in milliseconds.
      const int64_t diff_ms = *exp * 1000 - now_ms;
      if (diff_ms < 0) {
        co_return Private(Fail(InvalidArgument("expiration is in past", "BadExpiration")));
      }
      if (diff_ms > kMaxServiceAuthSeconds * 1000) {
        co_return Private(Fail(InvalidArgument(
            "cannot request a token with an expiration more than an hour in the future",
            "BadExpiration")));
      }
      if (lxm.empty() && diff_ms > kMaxMethodlessServiceAuthSeconds * 1000) {
        co_return Private(Fail(InvalidArgument(
            "cannot request a method-less token with an expiration more than a minute in the "
            "future",
            "BadExpiration")));
      }
      ttl = *exp - now;
    }
    if (!lxm.empty() && IsProtectedMethod(lxm)) {
      co_return Private(Fail(InvalidArgument(
          "cannot request a service auth token for the following protected method: " + lxm)));
    }
    auto account = self->Cached(creds->did);
    if (!account) {
      co_return Private(Fail(Error(ErrorCode::kPermissionDenied, "Account not found",
                                   "AccountNotFound")));
    }
    crypto::ServiceAuthRequest sreq;
    sreq.iss = creds->did;
    sreq.aud = *aud;
    sreq.lxm = lxm;
    sreq.ttl_seconds = ttl;
    sreq.now = now;
    json::object out;
    out["token"] = crypto::SignServiceAuthJwt(*account->key, sreq);
    co_return Private(JsonOk(out));
  }

  net::Task<net::Response> CreateInviteCode(net::Request& req) {
    Status admin = self->CheckAdmin(req);
    if (!admin.ok()) {
      co_await DrainBody(req);
      co_return Private(Fail(admin.error()));
    }
    auto body = co_await ReadJsonInput(req, self->options.max_request_body);
    if (!body.ok()) co_return Private(Fail(body.error()));
    auto uses = OptInt(*body, "useCount");
    if (!uses.ok()) co_return Private(Fail(uses.error()));
    if (!*uses) co_return Private(Fail(InputError("Missing required key \"useCount\" at $")));
    auto for_account = OptString(*body, "forAccount");
    if (!for_account.ok()) co_return Private(Fail(for_account.error()));
    if (*for_account && !atproto::ValidateDid(**for_account).ok()) {
      co_return Private(Fail(InputError("Invalid DID (got " +
                                        Describe(json::value(**for_account)) +
                                        ") at $.forAccount")));
    }
    std::string code = internal::GenerateInviteCode(HostOfUrl(self->CurrentPublicUrl()));
    std::function<Status()> insert = [&]() {
      return self->store->InsertInviteCode(code, **uses, for_account->value_or("admin"), "admin",
                                           NowRfc3339());
    };
    Status st = co_await internal::OffThread(std::move(insert));
    if (!st.ok()) co_return Private(Fail(st.error()));
    json::object out;
    out["code"] = code;
    co_return Private(JsonOk(out));
  }

  net::Task<net::Response> ResolveHandle(net::Request& req) {
    co_await DrainBody(req);
    static constexpr std::string_view kNsid = "com.atproto.identity.resolveHandle";
    auto handle = req.Query("handle");
    if (!handle) co_return Fail(ParamsError(kNsid, "Missing required key \"handle\""));
    if (!atproto::ValidateHandle(*handle).ok()) {
      co_return Fail(
          ParamsError(kNsid, "Invalid handle (got " + Describe(json::value(*handle)) + ")"));
    }
    std::string normalized = atproto::NormalizeHandle(*handle);
    if (auto did = self->DidForHandleOrDid(normalized)) {
      co_return JsonOk(json::object{{"did", *did}});
    }
    const Error unresolvable = InvalidArgument("Unable to resolve handle");
    if (internal::IsSupportedHandle(normalized, self->options.handle_domains) ||
        self->options.resolver == nullptr) {
      co_return Fail(unresolvable);
    }
    auto did = co_await self->options.resolver->ResolveHandle(normalized);
    if (!did.ok() || !atproto::ValidateDid(*did).ok()) co_return Fail(unresolvable);
    co_return JsonOk(json::object{{"did", *did}});
  }

  net::Task<net::Response> AtprotoDid(net::Request& req) {
    co_await DrainBody(req);
    std::string host = RequestHostname(req);
    std::optional<std::string> did;
    if (atproto::ValidateHandle(host).ok()) did = self->DidForHandleOrDid(host);
    if (!did && self->options.single_account) {
      // A hold answers with its own DID whatever name it is reached by.
      std::shared_lock lock(self->mu);
      if (self->service_account) did = self->service_account->did;
    }
    if (!did) co_return net::Response::Text(404, "User not found");
    co_return net::Response::Text(200, *did, "text/plain; charset=utf-8");
  }

  net::Task<net::Response> DidJson(net::Request& req) {
    co_await DrainBody(req);
    auto doc = self->ServiceDidDocument();
    if (!doc.ok()) co_return net::Response::Text(404, "Not Found");
    co_return net::Response::Json(200, std::move(*doc));
  }

  net::Task<net::Response> Health(net::Request& req) {
    co_await DrainBody(req);
    std::function<Status()> ping = [&]() { return self->store->Ping(); };
    Status st = co_await internal::OffThread(std::move(ping));
    json::object out;
    out["version"] = self->options.version;
    if (!st.ok()) {
      spdlog::error("accounts: health check failed: {}", st.error().ToString());
      out["error"] = "Service Unavailable";
      co_return net::Response::Json(503, json::serialize(out));
    }
    co_return JsonOk(out);
  }
};

}  // namespace

void AccountService::Impl::RegisterRoutes(net::Router& router) {
  auto h = std::make_shared<Handlers>(Handlers{this});
  const uint64_t max_body = options.max_request_body;
  using Member = net::Task<net::Response> (Handlers::*)(net::Request&);
  auto add = [&](net::Method method, std::string path, std::string name, Member fn) {
    net::RouteOptions ro;
    ro.name = std::move(name);
    ro.max_body = max_body;
    router.Add(method, std::move(path),
               [h, fn](net::Request& req) -> net::Task<net::Response> {
                 return ((*h).*fn)(req);
               },
               std::move(ro));
  };
  auto xrpc = [&](net::Method method, const char* nsid, Member fn) {
    add(method, net::XrpcPath(nsid), nsid, fn);
  };
  using M = net::Method;
  xrpc(M::kGet, "com.atproto.server.describeServer", &Handlers::DescribeServer);
  xrpc(M::kGet, "com.atproto.identity.resolveHandle", &Handlers::ResolveHandle);
  add(M::kGet, "/xrpc/_health", "_health", &Handlers::Health);
  add(M::kGet, "/.well-known/atproto-did", "/.well-known/atproto-did", &Handlers::AtprotoDid);
  add(M::kGet, "/.well-known/did.json", "/.well-known/did.json", &Handlers::DidJson);
  if (options.single_account) return;
  xrpc(M::kPost, "com.atproto.server.createAccount", &Handlers::CreateAccount);
  xrpc(M::kPost, "com.atproto.server.createSession", &Handlers::CreateSession);
  xrpc(M::kPost, "com.atproto.server.refreshSession", &Handlers::RefreshSession);
  xrpc(M::kGet, "com.atproto.server.getSession", &Handlers::GetSession);
  xrpc(M::kPost, "com.atproto.server.deleteSession", &Handlers::DeleteSession);
  xrpc(M::kPost, "com.atproto.server.createAppPassword", &Handlers::CreateAppPassword);
  xrpc(M::kGet, "com.atproto.server.listAppPasswords", &Handlers::ListAppPasswords);
  xrpc(M::kPost, "com.atproto.server.revokeAppPassword", &Handlers::RevokeAppPassword);
  xrpc(M::kGet, "com.atproto.server.getServiceAuth", &Handlers::GetServiceAuth);
  xrpc(M::kPost, "com.atproto.server.createInviteCode", &Handlers::CreateInviteCode);
}

}  // namespace atcr::pds
