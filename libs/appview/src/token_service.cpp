#include "atcr/appview/token_service.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "atcr/base/encoding.h"
#include "atcr/base/hash.h"
#include "atcr/base/time.h"
#include "atcr/net/xrpc.h"
#include "atcr/oci/errors.h"

namespace atcr::appview {
namespace json = boost::json;

namespace {

net::Response TokenError(int status, oci::ErrorCodeOci code, std::string_view message) {
  return net::Response::Json(status, oci::ErrorBody(code, message));
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// application/x-www-form-urlencoded; repeated keys kept in order.
std::vector<std::pair<std::string, std::string>> ParseForm(std::string_view body) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view item = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    auto k = net::PercentDecode(item.substr(0, eq), true);
    auto v = net::PercentDecode(eq == std::string_view::npos ? "" : item.substr(eq + 1), true);
    if (k.ok() && v.ok()) out.emplace_back(std::move(*k), std::move(*v));
  }
  return out;
}

bool Has(const std::vector<std::string>& v, std::string_view s) {
  for (const auto& x : v) {
    if (x == s) return true;
  }
  return false;
}

}  // namespace

TokenService::TokenService(std::shared_ptr<AppViewServices> services,
                           std::shared_ptr<RegistryTokenSigner> signer, TokenServiceOptions options,
                           RepositoryHoldFn repository_hold)
    : s_(std::move(services)),
      signer_(std::move(signer)),
      options_(std::move(options)),
      repository_hold_(std::move(repository_hold)),
      salt_(RandomId()) {}

void TokenService::Register(net::Router& router) {
  net::Handler h = [this](net::Request& req) { return HandleToken(req); };
  net::RouteOptions opts;
  opts.name = "auth_token";
  opts.max_body = 64 * 1024;
  router.Add(net::Method::kGet, "/auth/token", h, opts);
  router.Add(net::Method::kPost, "/auth/token", h, opts);
  net::RouteOptions jwks_opts;
  jwks_opts.name = "auth_jwks";
  router.Add(
      net::Method::kGet, "/auth/jwks.json",
      [this](net::Request&) -> Task<net::Response> {
        co_return net::Response::Json(200, json::serialize(signer_->Jwks()));
      },
      jwks_opts);
}

Task<Result<std::string>> TokenService::Login(std::string identifier, std::string password) {
  std::string key = Sha256Hex(salt_ + "\n" + identifier + "\n" + password);
  std::string remembered;
  {
    std::lock_guard lock(mu_);
    auto it = logins_.find(key);
    if (it != logins_.end()) {
      if (it->second.second > std::chrono::steady_clock::now()) remembered = it->second.first;
      if (remembered.empty()) logins_.erase(it);
    }
  }
  if (!remembered.empty()) {
    // Only while the PDS session it stands for is alive; a session the PDS ended (refresh
    // refused) needs a real login again.
    auto session = co_await s_->sessions->Current(remembered);
    if (session.ok()) co_return remembered;
    std::lock_guard lock(mu_);
    logins_.erase(key);
  }
  auto ident = co_await s_->names->ResolveIdentity(identifier);
  if (!ident.ok()) {
    if (ident.error().code == ErrorCode::kNotFound) {
      co_return Error(ErrorCode::kUnauthenticated, "unknown user " + identifier);
    }
    co_return ident.error();
  }
  std::string pds = ident->pds_endpoint;
  std::string did = ident->did;
  auto session = co_await s_->sessions->Login(pds, did, identifier, password);
  if (!session.ok()) co_return session.error();
  spdlog::info("appview: {} ({}) logged in through {}", ident->handle, did, pds);
  if (options_.on_login) options_.on_login(did, pds);
  {
    auto index = s_->index;
    std::string handle = ident->handle;
    co_await net::RunBlocking([&] { (void)index->PutOwner(did, handle); });
  }
  Status profile = co_await s_->profiles->Ensure(did);
  if (!profile.ok()) {
    spdlog::warn("appview: could not ensure the profile of {}: {}", did,
                 profile.error().ToString());
  }
  if (options_.credential_cache_seconds > 0) {
    std::lock_guard lock(mu_);
    if (logins_.size() > 10000) logins_.clear();
    logins_[key] = {did, std::chrono::steady_clock::now() +
                             std::chrono::seconds(options_.credential_cache_seconds)};
  }
  co_return did;
}

Task<std::vector<registry::Access>> TokenService::Grant(std::string subject,
                                                        std::vector<registry::Access> requested) {
  std::vector<registry::Access> granted;
  for (registry::Access& want : requested) {
    registry::Access g{want.type, want.name, {}};
    if (want.type == "registry" && want.name == "catalog") {
      for (const std::string& a : want.actions) {
        if (a == "*") g.actions.push_back(a);
      }
    } else if (want.type == "repository") {
      std::vector<std::string> allowed;
      auto owner = co_await s_->names->Resolve(want.name);
      if (!owner.ok()) {
        // Let the registry answer NAME_UNKNOWN / NAME_INVALID for reads.
        allowed = {"pull"};
      } else if (!subject.empty() && owner->did == subject) {
        allowed = {"pull", "push", "delete"};
      } else if (!subject.empty()) {
        allowed = {"pull"};
      } else {
        auto hold = co_await repository_hold_(*owner);
        bool is_public = true;
        if (hold.ok() && !hold->empty()) {
          auto info = co_await s_->holds->Info(*hold);
          is_public = info.ok() && info->is_public;
        } else if (!hold.ok()) {
          is_public = false;
        }
        if (is_public) allowed = {"pull"};
      }
      for (const std::string& a : want.actions) {
        if (a == "*") {
          g.actions = allowed;
          break;
        }
        if (Has(allowed, a) && !Has(g.actions, a)) g.actions.push_back(a);
      }
    }
    if (!g.actions.empty()) granted.push_back(std::move(g));
  }
  co_return granted;
}

Task<net::Response> TokenService::Issue(std::string subject, std::vector<std::string> scopes,
                                        bool oauth_form) {
  std::vector<registry::Access> requested;
  for (const std::string& scope_list : scopes) {
    // One `scope` may hold several space-separated scopes.
    std::string_view rest = scope_list;
    while (!rest.empty()) {
      size_t sp = rest.find(' ');
      std::string_view one = rest.substr(0, sp);
      rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
      if (one.empty()) continue;
      auto a = ParseScope(one);
      if (!a.ok()) {
        co_return TokenError(400, oci::ErrorCodeOci::kUnsupported, a.error().message);
      }
      requested.push_back(std::move(*a));
    }
  }
  std::vector<registry::Access> granted = co_await Grant(subject, std::move(requested));
  RegistryToken t;
  t.subject = subject;
  t.access = granted;
  t.auth_method = subject.empty() ? "" : "app_password";
  t.issued_at = UnixSeconds();
  t.expires_at = t.issued_at + options_.token_ttl_seconds;
  std::string token = signer_->Issue(t);
  json::object o;
  if (!oauth_form) o["token"] = token;
  o["access_token"] = token;
  o["expires_in"] = options_.token_ttl_seconds;
  o["issued_at"] = FormatRfc3339(t.issued_at * 1000000);
  if (oauth_form) {
    std::string scope;
    for (const auto& a : granted) {
      if (!scope.empty()) scope += " ";
      scope += a.Scope();
    }
    o["scope"] = scope;
  }
  net::Response r = net::Response::Json(200, json::serialize(o));
  r.headers.Set("Cache-Control", "no-store");
  co_return r;
}

Task<net::Response> TokenService::HandleToken(net::Request& req) {
  if (auto service = req.Query("service"); service && *service != options_.service) {
    co_return TokenError(400, oci::ErrorCodeOci::kUnsupported,
                         "this token service is for \"" + options_.service + "\", not \"" +
                             *service + "\"");
  }
  std::vector<std::string> scopes;
  std::optional<std::pair<std::string, std::string>> creds;
  bool oauth_form = false;
  if (req.method == net::Method::kPost) {
    auto body = co_await req.body->ReadAll(64 * 1024);
    if (!body.ok()) co_return TokenError(400, oci::ErrorCodeOci::kUnsupported, body.error().message);
    std::string grant_type;
    std::string user;
    std::string password;
    for (auto& [k, v] : ParseForm(*body)) {
      if (k == "grant_type") grant_type = v;
      if (k == "username") user = v;
      if (k == "password") password = v;
      if (k == "scope") scopes.push_back(v);
      if (k == "service" && v != options_.service) {
        co_return TokenError(400, oci::ErrorCodeOci::kUnsupported, "unknown service " + v);
      }
    }
    if (grant_type != "password") {
      net::Response r = net::Response::Json(
          400, R"({"error":"unsupported_grant_type","error_description":"only grant_type=password is supported"})");
      co_return r;
    }
    creds = std::make_pair(std::move(user), std::move(password));
    oauth_form = true;
  } else {
    scopes = req.QueryAll("scope");
    creds = net::BasicCredentials(req);
    if (!creds && req.headers.Has("Authorization")) {
      co_return TokenError(401, oci::ErrorCodeOci::kUnauthorized,
                           "the token service takes Basic credentials (handle or DID and an app "
                           "password)");
    }
  }
  std::string subject;
  if (creds) {
    if (creds->first.empty() || creds->second.empty()) {
      co_return TokenError(401, oci::ErrorCodeOci::kUnauthorized, "empty username or password");
    }
    std::string user = creds->first;
    std::string password = creds->second;
    auto did = co_await Login(std::move(user), std::move(password));
    if (!did.ok()) {
      if (did.error().code == ErrorCode::kUnauthenticated) {
        spdlog::info("appview: login of {} refused: {}", creds->first, did.error().message);
        co_return TokenError(401, oci::ErrorCodeOci::kUnauthorized,
                             "invalid username or app password");
      }
      spdlog::warn("appview: login of {} failed: {}", creds->first, did.error().ToString());
      co_return TokenError(503, oci::ErrorCodeOci::kUnavailable,
                           "cannot reach the user's PDS: " + did.error().message);
    }
    subject = std::move(*did);
  }
  co_return co_await Issue(std::move(subject), std::move(scopes), oauth_form);
}

net::Task<Status> TokenService::Authenticate(const net::Request& request,
                                             std::span<const registry::Access> access) {
  auto bearer = net::BearerToken(request);
  if (!bearer) {
    co_return Error(ErrorCode::kUnauthenticated, "authentication required");
  }
  auto token = VerifyCached(*bearer);
  if (!token.ok()) co_return token.error();
  std::vector<const registry::Access*> missing;
  for (const registry::Access& a : access) {
    if (!Covers(token->access, a)) missing.push_back(&a);
  }
  if (missing.empty()) co_return Ok();
  if (!token->subject.empty()) {
    for (const registry::Access* a : missing) {
      if (a->type != "repository") continue;
      bool writes = Has(a->actions, "push") || Has(a->actions, "delete");
      if (!writes) continue;
      auto owner = co_await s_->names->Resolve(a->name);
      if (owner.ok() && owner->did != token->subject) {
        co_return Error(ErrorCode::kPermissionDenied,
                        "requested access to the resource is denied: only " + owner->handle +
                            " may push to " + a->name);
      }
    }
  }
  co_return Error(ErrorCode::kUnauthenticated, "the token does not grant " + missing.front()->Scope(),
                  "insufficient_scope");
}

Result<RegistryToken> TokenService::VerifyCached(const std::string& jwt) {
  int64_t now = UnixSeconds();
  {
    std::lock_guard lock(verified_mu_);
    auto it = verified_.find(jwt);
    if (it != verified_.end()) {
      if (it->second.expires_at > now) return it->second;
      verified_.erase(it);
    }
  }
  auto token = signer_->Verify(jwt);
  if (!token.ok()) return token;
  std::lock_guard lock(verified_mu_);
  if (verified_.size() >= 8192) {
    for (auto it = verified_.begin(); it != verified_.end();) {
      it = it->second.expires_at <= now ? verified_.erase(it) : std::next(it);
    }
    if (verified_.size() >= 8192) verified_.clear();
  }
  verified_.emplace(jwt, *token);
  return token;
}

std::string TokenService::Challenge(std::span<const registry::Access> access,
                                    const Error& why) const {
  std::string c = "Bearer realm=" + Quote(options_.realm) + ",service=" + Quote(options_.service);
  std::string scope;
  for (const registry::Access& a : access) {
    if (!scope.empty()) scope += " ";
    scope += a.Scope();
  }
  if (!scope.empty()) c += ",scope=" + Quote(scope);
  if (why.wire == "invalid_token" || why.wire == "insufficient_scope") {
    c += ",error=" + Quote(why.wire);
  }
  return c;
}

}  // namespace atcr::appview
