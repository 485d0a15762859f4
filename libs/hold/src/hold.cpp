// Hold construction, first-start bootstrap, shared helpers, identity and repo-read routes,
// the admin API and route registration.
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <set>

#include "atcr/atproto/syntax.h"
#include "atcr/base/time.h"
#include "internal/gc_impl.h"
#include "internal/hold_impl.h"

namespace atcr::hold {

// ---------------------------------------------------------------- shared helpers

Response JsonResponse(const json::object& body, int status) {
  return Response::Json(status, json::serialize(body));
}

Response ErrorResponse(const Error& e) {
  if (e.wire == "QuotaExceeded" || e.wire == "BlobNotFound" || e.wire == "InvalidDigest" ||
      e.wire == "DigestMismatch") {
    return net::XrpcErrorResponse(400, e.wire, e.message);
  }
  return net::XrpcErrorResponse(e);
}

Error InvalidRequest(std::string message, std::string wire) {
  return Error(ErrorCode::kInvalidArgument, std::move(message), std::move(wire));
}

Error Forbidden(std::string message) {
  return Error(ErrorCode::kPermissionDenied, std::move(message), "Forbidden");
}

Task<Result<json::object>> ReadJsonBody(Request& req, uint64_t max_bytes) {
  auto text = co_await req.body->ReadAll(max_bytes);
  if (!text.ok()) {
    if (text.error().code == ErrorCode::kResourceExhausted) {
      co_return Error(ErrorCode::kResourceExhausted,
                      "request body larger than " + std::to_string(max_bytes) + " bytes",
                      "PayloadTooLarge");
    }
    co_return std::move(text).error();
  }
  if (text->empty()) co_return json::object();
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec || !v.is_object()) co_return InvalidRequest("request body must be a JSON object");
  co_return std::move(v.as_object());
}

Result<std::string> RequiredString(const json::object& o, std::string_view key, size_t max_len) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return InvalidRequest(std::string(key) + " is required");
  if (!v->is_string()) return InvalidRequest(std::string(key) + " must be a string");
  if (v->get_string().empty()) return InvalidRequest(std::string(key) + " must not be empty");
  if (v->get_string().size() > max_len) {
    return InvalidRequest(std::string(key) + " is longer than " + std::to_string(max_len));
  }
  return std::string(v->get_string());
}

std::optional<std::string> OptionalString(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->get_string());
}

Result<int64_t> RequiredInt(const json::object& o, std::string_view key, int64_t min,
                            int64_t max) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return InvalidRequest(std::string(key) + " is required");
  int64_t n = 0;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    n = static_cast<int64_t>(v->get_uint64());
  } else {
    return InvalidRequest(std::string(key) + " must be an integer");
  }
  if (n < min || n > max) {
    return InvalidRequest(std::string(key) + " must be between " + std::to_string(min) +
                          " and " + std::to_string(max));
  }
  return n;
}

Result<std::string> RequiredDid(const json::object& o, std::string_view key) {
  ATCR_ASSIGN_OR_RETURN(std::string did, RequiredString(o, key, 2048));
  if (!atproto::ValidateDid(did).ok()) {
    return InvalidRequest(std::string(key) + " \"" + did + "\" is not a DID");
  }
  return did;
}

int64_t Hold::Impl::Now() const { return clock ? clock() : UnixSeconds(); }

std::string Hold::Impl::NowRfc3339() const {
  // Sub-second precision from the real clock when it agrees with the (test) clock.
  int64_t us = UnixMicros();
  if (us / 1000000 != Now()) us = Now() * 1000000;
  return FormatRfc3339(us);
}

Access Hold::Impl::AccessFor(const std::string& did) const {
  Access a;
  a.did = did;
  std::lock_guard lock(state_mu);
  a.captain = captain;
  if (!did.empty()) {
    auto it = crew.find(did);
    if (it != crew.end()) a.crew = it->second;
  }
  return a;
}

Task<Result<Access>> Hold::Impl::Authenticate(const Request& req, std::string_view lxm) {
  std::string method(lxm);
  auto caller = co_await verifier->VerifyRequest(req, std::move(method));
  if (!caller.ok()) co_return std::move(caller).error();
  co_return AccessFor(caller->did);
}

Task<Result<Access>> Hold::Impl::AuthenticateOptional(const Request& req, std::string_view lxm) {
  if (!net::BearerToken(req)) co_return AccessFor("");
  co_return co_await Authenticate(req, lxm);
}

bool Hold::Impl::IsSelf(std::string_view repo) const {
  if (repo == identity.did || (!identity.handle.empty() && repo == identity.handle)) return true;
  // A client that did not percent-encode did:web:host%3Aport in its query sent a ':' that the
  // server decoded; accept that spelling too.
  std::string decoded = identity.did;
  if (auto pos = decoded.find("%3A"); pos != std::string::npos) decoded.replace(pos, 3, ":");
  return repo == decoded;
}

bool Hold::Impl::IsTrustedAppview(const std::string& did) const {
  for (const std::string& d : config.trusted_appviews) {
    if (d == did) return true;
  }
  return false;
}

const QuotaTier* Hold::Impl::TierOf(const std::string& did) const {
  std::string name = config.new_crew_tier;
  {
    std::lock_guard lock(state_mu);
    auto it = crew.find(did);
    if (it != crew.end() && !it->second.tier.empty()) name = it->second.tier;
  }
  const QuotaTier* fallback = nullptr;
  for (const QuotaTier& t : config.tiers) {
    if (t.name == name) return &t;
    if (t.name == config.new_crew_tier) fallback = &t;
  }
  return fallback;  // a tier removed from the config falls back to the default tier
}

std::optional<uint64_t> Hold::Impl::LimitOf(const std::string& did) const {
  {
    std::lock_guard lock(state_mu);
    if (did == captain.owner) return std::nullopt;
  }
  const QuotaTier* t = TierOf(did);
  return t ? std::optional<uint64_t>(t->quota_bytes) : std::optional<uint64_t>(0);
}

void Hold::Impl::Touch(const std::string& digest) {
  const int64_t now = Now();
  activity.Touch(digest, now);
  if (activity.size() > 500000) activity.Prune(now - config.gc_grace_seconds);
}

Result<std::vector<WriteOutcome>> Hold::Impl::ApplyWrites(const std::vector<RecordWrite>& writes) {
  std::vector<WriteOutcome> all;
  for (size_t i = 0; i < writes.size(); i += kMaxWritesPerCommit) {
    std::vector<RecordWrite> batch(
        writes.begin() + static_cast<std::ptrdiff_t>(i),
        writes.begin() + static_cast<std::ptrdiff_t>(std::min(writes.size(), i + kMaxWritesPerCommit)));
    ATCR_ASSIGN_OR_RETURN(auto out, records->Apply(batch));
    all.insert(all.end(), out.begin(), out.end());
  }
  return all;
}

Status Hold::Impl::PutCrew(const CrewMember& m) {
  RecordWrite w;
  w.action = RecordWrite::Action::kPut;
  w.collection = kCrewCollection;
  w.rkey = CrewRkey(m.member);
  w.value = m.ToRecord();
  ATCR_TRY(records->Apply({w}));
  std::lock_guard lock(state_mu);
  crew[m.member] = m;
  return Ok();
}

Status Hold::Impl::DeleteCrew(const std::string& did) {
  RecordWrite w;
  w.action = RecordWrite::Action::kDelete;
  w.collection = kCrewCollection;
  w.rkey = CrewRkey(did);
  ATCR_TRY(records->Apply({w}));
  std::lock_guard lock(state_mu);
  crew.erase(did);
  return Ok();
}

Status Hold::Impl::BumpStats(const std::string& owner_did, const std::string& repository,
                             bool push) {
  const std::string rkey = StatsRkey(owner_did, repository);
  std::lock_guard lock(stats_locks[std::hash<std::string>()(rkey) % stats_locks.size()]);
  ATCR_ASSIGN_OR_RETURN(auto current, records->Get(kStatsCollection, rkey));
  json::object v;
  if (current) {
    v = current->value;
  } else {
    v["$type"] = kStatsCollection;
    v["ownerDid"] = owner_did;
    v["repository"] = repository;
    v["pullCount"] = 0;
    v["pushCount"] = 0;
  }
  auto count = [&](const char* key) {
    const json::value* c = v.if_contains(key);
    return c && c->is_int64() ? c->get_int64() : 0;
  };
  const std::string now = NowRfc3339();
  if (push) {
    v["pushCount"] = count("pushCount") + 1;
    v["lastPush"] = now;
  } else {
    v["pullCount"] = count("pullCount") + 1;
    v["lastPull"] = now;
  }
  v["updatedAt"] = now;
  RecordWrite w;
  w.action = RecordWrite::Action::kPut;
  w.collection = kStatsCollection;
  w.rkey = rkey;
  w.value = std::move(v);
  ATCR_TRY(records->Apply({w}));
  return Ok();
}

// ---------------------------------------------------------------- bootstrap

namespace {

Result<std::vector<StoredRecord>> ListAll(RecordStore& records, std::string_view collection) {
  std::vector<StoredRecord> all;
  std::string after;
  for (;;) {
    ATCR_ASSIGN_OR_RETURN(auto page, records.List(collection, 100, after, false));
    if (page.empty()) break;
    after = page.back().rkey;
    for (auto& r : page) all.push_back(std::move(r));
  }
  return all;
}

internal::LayerRow RowFromLayerRecord(const StoredRecord& r) {
  internal::LayerRow row;
  row.rkey = r.rkey;
  auto str = [&](const char* k) {
    const json::value* v = r.value.if_contains(k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  row.user_did = str("userDid");
  row.digest = str("digest");
  if (const json::value* s = r.value.if_contains("size"); s && s->is_int64() && s->get_int64() > 0) {
    row.size = static_cast<uint64_t>(s->get_int64());
  }
  row.media_type = str("mediaType");
  row.manifest = str("manifest");
  row.repository = str("repository");
  row.created_at = str("createdAt");
  return row;
}

}  // namespace

Status Hold::Impl::Bootstrap() {
  const std::string now = NowRfc3339();
  std::vector<RecordWrite> writes;

  ATCR_ASSIGN_OR_RETURN(auto cap_record, records->Get(kCaptainCollection, "self"));
  Captain want;
  if (cap_record) {
    auto parsed = Captain::FromRecord(cap_record->value);
    if (parsed.ok()) want = std::move(parsed).value();
  }
  if (want.deployed_at.empty()) want.deployed_at = now;
  // The configuration is the source of truth for the policy fields.
  want.owner = config.owner_did;
  want.is_public = config.is_public;
  want.allow_all_crew = config.allow_all_crew;
  want.enable_bluesky_posts = config.enable_bluesky_posts;
  want.region = config.region;
  want.provider = config.provider;
  if (!cap_record || cap_record->value != want.ToRecord()) {
    writes.push_back({RecordWrite::Action::kPut, std::string(kCaptainCollection), "self",
                      want.ToRecord()});
  }

  ATCR_ASSIGN_OR_RETURN(auto owner_crew, records->Get(kCrewCollection, CrewRkey(config.owner_did)));
  if (!owner_crew) {
    CrewMember owner;
    owner.member = config.owner_did;
    owner.role = "owner";
    owner.permissions = {std::string(kPermBlobRead), std::string(kPermBlobWrite),
                         std::string(kPermCrewAdmin)};
    owner.added_at = now;
    writes.push_back({RecordWrite::Action::kPut, std::string(kCrewCollection),
                      CrewRkey(config.owner_did), owner.ToRecord()});
  }

  ATCR_ASSIGN_OR_RETURN(auto profile, records->Get(kProfileCollection, "self"));
  if (!profile) {
    json::object p;
    p["$type"] = kProfileCollection;
    std::string name = config.profile_display_name;
    if (name.empty()) name = identity.public_url.substr(identity.public_url.find("://") + 3);
    p["displayName"] = name.substr(0, 64);
    p["description"] = config.profile_description.empty()
                           ? std::string("An ATCR hold: container image blobs for its crew.")
                           : config.profile_description;
    p["createdAt"] = now;
    writes.push_back(
        {RecordWrite::Action::kPut, std::string(kProfileCollection), "self", std::move(p)});
  }
  if (!writes.empty()) {
    ATCR_TRY(records->Apply(writes));
    spdlog::info("hold: {} {} bootstrap record(s) written", identity.did, writes.size());
  }

  ATCR_ASSIGN_OR_RETURN(auto crew_records, ListAll(*records, kCrewCollection));
  std::unordered_map<std::string, CrewMember> loaded;
  for (const StoredRecord& r : crew_records) {
    auto m = CrewMember::FromRecord(r.value);
    if (!m.ok()) {
      spdlog::warn("hold: ignoring crew record {}: {}", r.uri, m.error().message);
      continue;
    }
    loaded[m->member] = std::move(m).value();
  }
  std::lock_guard lock(state_mu);
  captain = std::move(want);
  crew = std::move(loaded);
  return Ok();
}

Status Hold::Impl::ReconcileIndex() {
  ATCR_ASSIGN_OR_RETURN(auto layer_records, ListAll(*records, kLayerCollection));
  ATCR_ASSIGN_OR_RETURN(auto indexed, index->LayerRkeys());
  std::set<std::string> in_index(indexed.begin(), indexed.end());
  std::set<std::string> in_records;
  std::vector<internal::LayerRow> rows;
  rows.reserve(layer_records.size());
  for (const StoredRecord& r : layer_records) {
    in_records.insert(r.rkey);
    rows.push_back(RowFromLayerRecord(r));
  }
  if (in_index == in_records) return Ok();
  spdlog::info("hold: rebuilding the layer index from {} layer record(s) ({} indexed)",
               rows.size(), in_index.size());
  return index->ReplaceLayers(rows);
}

// ---------------------------------------------------------------- identity and repo routes

Task<Response> Hold::Impl::DidDocument(Request&) {
  Response r = Response::Json(200, DidDocumentJson(identity));
  r.headers.Set("Cache-Control", "max-age=300");
  co_return r;
}

Task<Response> Hold::Impl::AtprotoDid(Request&) {
  co_return Response::Text(200, identity.did);
}

Task<Response> Hold::Impl::Health(Request&) {
  json::object o;
  o["version"] = "atcr-hold/0.1";
  co_return JsonResponse(o);
}

Task<Response> Hold::Impl::DescribeServer(Request&) {
  json::object o;
  o["did"] = identity.did;
  o["availableUserDomains"] = json::array();
  o["inviteCodeRequired"] = true;
  co_return JsonResponse(o);
}

namespace {

json::object RecordJson(const StoredRecord& r) {
  json::object o;
  o["uri"] = r.uri;
  o["cid"] = r.cid;
  o["value"] = r.value;
  return o;
}

}  // namespace

Task<Response> Hold::Impl::RepoGetRecord(Request& req) {
  auto repo = req.Query("repo");
  auto collection = req.Query("collection");
  auto rkey = req.Query("rkey");
  if (!repo || !collection || !rkey) {
    co_return ErrorResponse(InvalidRequest("repo, collection and rkey are required"));
  }
  if (!IsSelf(*repo)) {
    co_return ErrorResponse(NotFound("Could not find repo: " + *repo, "RepoNotFound"));
  }
  auto rec = co_await internal::Blocking([&] { return records->Get(*collection, *rkey); });
  if (!rec.ok()) co_return ErrorResponse(rec.error());
  if (!*rec) {
    co_return ErrorResponse(NotFound(
        "Could not locate record: " + RecordUri(identity.did, *collection, *rkey), "RecordNotFound"));
  }
  co_return JsonResponse(RecordJson(**rec));
}

Task<Response> Hold::Impl::RepoListRecords(Request& req) {
  auto repo = req.Query("repo");
  auto collection = req.Query("collection");
  if (!repo || !collection) co_return ErrorResponse(InvalidRequest("repo and collection are required"));
  if (!IsSelf(*repo)) {
    co_return ErrorResponse(NotFound("Could not find repo: " + *repo, "RepoNotFound"));
  }
  size_t limit = 50;
  if (auto l = req.Query("limit")) {
    int64_t n = std::atoll(l->c_str());
    if (n < 1 || n > 100) co_return ErrorResponse(InvalidRequest("limit must be 1..100"));
    limit = static_cast<size_t>(n);
  }
  std::string cursor = req.Query("cursor").value_or("");
  bool reverse = req.Query("reverse").value_or("") == "true";
  auto page = co_await internal::Blocking(
      [&] { return records->List(*collection, limit, cursor, reverse); });
  if (!page.ok()) co_return ErrorResponse(page.error());
  json::object o;
  json::array arr;
  for (const StoredRecord& r : *page) arr.push_back(RecordJson(r));
  o["records"] = std::move(arr);
  if (page->size() == limit) o["cursor"] = page->back().rkey;
  co_return JsonResponse(o);
}

Task<Response> Hold::Impl::RepoDescribeRepo(Request& req) {
  auto repo = req.Query("repo");
  if (!repo) co_return ErrorResponse(InvalidRequest("repo is required"));
  if (!IsSelf(*repo)) {
    co_return ErrorResponse(NotFound("Could not find repo: " + *repo, "RepoNotFound"));
  }
  auto collections = co_await internal::Blocking([&] { return records->Collections(); });
  if (!collections.ok()) co_return ErrorResponse(collections.error());
  json::object o;
  o["handle"] = identity.handle.empty() ? std::string("handle.invalid") : identity.handle;
  o["did"] = identity.did;
  o["didDoc"] = json::parse(DidDocumentJson(identity));
  json::array cols;
  for (const std::string& c : *collections) cols.emplace_back(c);
  o["collections"] = std::move(cols);
  o["handleIsCorrect"] = !identity.handle.empty();
  co_return JsonResponse(o);
}

// ---------------------------------------------------------------- admin API

std::optional<Response> Hold::Impl::CheckAdmin(const Request& req) const {
  auto token = net::BearerToken(req);
  const std::string& want = config.admin_token;
  if (!token || want.empty() || token->size() != want.size() ||
      CRYPTO_memcmp(token->data(), want.data(), want.size()) != 0) {
    Response r = net::XrpcErrorResponse(401, "AuthenticationRequired", "admin token required");
    r.headers.Set("WWW-Authenticate", "Bearer realm=\"atcr-hold-admin\"");
    return r;
  }
  return std::nullopt;
}

Task<Response> Hold::Impl::AdminGc(Request& req) {
  if (auto denied = CheckAdmin(req)) co_return std::move(*denied);
  if (req.method == net::Method::kGet) {
    auto last = gc->LastReport();
    if (!last) co_return ErrorResponse(NotFound("no GC run yet", "NotFound"));
    co_return JsonResponse(last->ToJson());
  }
  std::string dry = req.Query("dry_run").value_or("true");
  bool dry_run = !(dry == "false" || dry == "0");
  auto report = co_await gc->Run(dry_run);
  if (!report.ok()) co_return ErrorResponse(report.error());
  co_return JsonResponse(report->ToJson());
}

Task<Response> Hold::Impl::AdminCrew(Request& req) {
  if (auto denied = CheckAdmin(req)) co_return std::move(*denied);
  if (req.method == net::Method::kGet) {
    json::array arr;
    {
      std::lock_guard lock(state_mu);
      for (const auto& [did, m] : crew) {
        json::object o = m.ToRecord();
        o.erase("$type");
        arr.push_back(std::move(o));
      }
    }
    json::object o;
    o["crew"] = std::move(arr);
    co_return JsonResponse(o);
  }
  if (req.method == net::Method::kDelete) {
    auto did = req.Query("did");
    if (!did) co_return ErrorResponse(InvalidRequest("did is required"));
    if (*did == config.owner_did) co_return ErrorResponse(InvalidRequest("the owner stays crew"));
    Status st = co_await internal::Blocking([&] { return DeleteCrew(*did); });
    if (!st.ok()) co_return ErrorResponse(st.error());
    co_return JsonResponse(json::object{{"deleted", *did}});
  }
  if (req.method != net::Method::kPost && req.method != net::Method::kPut) {
    co_return net::XrpcErrorResponse(405, "InvalidRequest", "GET, POST or DELETE");
  }
  auto body = co_await ReadJsonBody(req);
  if (!body.ok()) co_return ErrorResponse(body.error());
  auto did = RequiredDid(*body, "did");
  if (!did.ok()) co_return ErrorResponse(did.error());
  CrewMember m;
  {
    std::lock_guard lock(state_mu);
    auto it = crew.find(*did);
    if (it != crew.end()) m = it->second;
  }
  m.member = *did;
  if (m.added_at.empty()) m.added_at = NowRfc3339();
  m.role = OptionalString(*body, "role").value_or(m.role.empty() ? "write" : m.role);
  if (const json::value* p = body->if_contains("permissions"); p && p->is_array()) {
    m.permissions.clear();
    for (const json::value& v : p->get_array()) {
      if (!v.is_string()) co_return ErrorResponse(InvalidRequest("permissions must be strings"));
      m.permissions.emplace_back(v.get_string());
    }
  } else if (m.permissions.empty()) {
    m.permissions = {std::string(kPermBlobRead), std::string(kPermBlobWrite)};
  }
  if (auto tier = OptionalString(*body, "tier")) {
    bool known = false;
    for (const QuotaTier& t : config.tiers) known = known || t.name == *tier;
    if (!known) co_return ErrorResponse(InvalidRequest("unknown tier " + *tier, "InvalidTier"));
    m.tier = *tier;
  } else if (m.tier.empty()) {
    m.tier = config.new_crew_tier;
  }
  Status st = co_await internal::Blocking([&] { return PutCrew(m); });
  if (!st.ok()) co_return ErrorResponse(st.error());
  json::object o = m.ToRecord();
  o.erase("$type");
  co_return JsonResponse(o);
}

Task<Response> Hold::Impl::AdminUsage(Request& req) {
  if (auto denied = CheckAdmin(req)) co_return std::move(*denied);
  auto usage = co_await internal::Blocking([&] { return index->UsageByUser(); });
  if (!usage.ok()) co_return ErrorResponse(usage.error());
  json::array arr;
  for (const auto& [did, u] : *usage) {
    json::object o;
    o["userDid"] = did;
    o["uniqueBlobs"] = u.unique_blobs;
    o["totalSize"] = u.total_size;
    if (auto limit = LimitOf(did)) o["limit"] = *limit;
    arr.push_back(std::move(o));
  }
  co_return JsonResponse(json::object{{"users", std::move(arr)}});
}

// ---------------------------------------------------------------- Hold

Hold::Hold(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Hold::~Hold() = default;

const HoldIdentity& Hold::identity() const { return impl_->identity; }
GarbageCollector& Hold::gc() { return *impl_->gc; }
ServiceAuthVerifier& Hold::verifier() { return *impl_->verifier; }

Result<std::unique_ptr<Hold>> Hold::Create(HoldConfig config, HoldDeps deps) {
  if (!deps.storage || !deps.records || !deps.did_source) {
    return InvalidArgument("hold: storage, records and did_source are required");
  }
  if (deps.url_signing_key.size() < 32) {
    return InvalidArgument("hold: the URL-signing key must have at least 32 bytes");
  }
  if (deps.records->did() != deps.identity.did) {
    return InvalidArgument("hold: the record store belongs to " + deps.records->did() +
                           ", not " + deps.identity.did);
  }
  auto impl = std::make_unique<Impl>();
  impl->config = std::move(config);
  impl->identity = std::move(deps.identity);
  impl->storage = std::move(deps.storage);
  impl->records = std::move(deps.records);
  impl->clock = std::move(deps.now);
  impl->atproto_blob = std::move(deps.atproto_blob);
  impl->started_unix = impl->Now();
  ATCR_ASSIGN_OR_RETURN(impl->index,
                        internal::HoldIndex::Open(impl->config.data_dir + "/hold.sqlite"));
  ServiceAuthOptions auth;
  auth.audience = impl->identity.did;
  auth.clock_skew_seconds = impl->config.token_clock_skew_seconds;
  auth.allow_reuse = impl->config.allow_token_reuse;
  if (impl->clock) auth.now = impl->clock;
  impl->verifier = std::make_unique<ServiceAuthVerifier>(auth, std::move(deps.did_source));
  impl->signer = std::make_unique<UrlSigner>(std::move(deps.url_signing_key), impl->clock);
  impl->gc = internal::NewGarbageCollector(*impl);
  ATCR_TRY(impl->Bootstrap());
  ATCR_TRY(impl->ReconcileIndex());
  return std::unique_ptr<Hold>(new Hold(std::move(impl)));
}

void Hold::Register(net::Router& router, net::Handler repo_routes) {
  Impl* m = impl_.get();
  using net::Method;
  using net::XrpcPath;
  auto bind = [m](Task<Response> (Impl::*fn)(Request&)) {
    return [m, fn](Request& req) { return (m->*fn)(req); };
  };
  if (repo_routes) {
    router.Add(Method::kGet, "/.well-known/did.json", repo_routes);
    router.Add(Method::kGet, "/.well-known/atproto-did", repo_routes);
    net::RouteOptions pds_route;
    pds_route.name = "pds";
    pds_route.fallback = true;
    router.AddPrefix("/xrpc/", repo_routes, pds_route);
    if (!m->atproto_blob) {
      m->atproto_blob = [repo_routes](Request& req, std::string) { return repo_routes(req); };
    }
  } else {
    router.Add(Method::kGet, "/.well-known/did.json", bind(&Impl::DidDocument));
    router.Add(Method::kGet, "/.well-known/atproto-did", bind(&Impl::AtprotoDid));
    router.Add(Method::kGet, "/xrpc/_health", bind(&Impl::Health));
    router.Add(Method::kGet, XrpcPath("com.atproto.server.describeServer"),
               bind(&Impl::DescribeServer));
    router.Add(Method::kGet, XrpcPath("com.atproto.repo.getRecord"), bind(&Impl::RepoGetRecord));
    router.Add(Method::kGet, XrpcPath("com.atproto.repo.listRecords"),
               bind(&Impl::RepoListRecords));
    router.Add(Method::kGet, XrpcPath("com.atproto.repo.describeRepo"),
               bind(&Impl::RepoDescribeRepo));
  }
  router.Add(Method::kGet, XrpcPath("com.atproto.sync.getBlob"), bind(&Impl::GetBlob));

  router.Add(Method::kPost, XrpcPath("io.atcr.hold.initiateUpload"), bind(&Impl::InitiateUpload));
  router.Add(Method::kPost, XrpcPath("io.atcr.hold.getPartUploadUrl"), bind(&Impl::GetPartUploadUrl));
  net::RouteOptions part_route;
  part_route.name = "io.atcr.hold.uploadPart";
  part_route.max_body = m->config.max_part_bytes;
  router.Add(Method::kPut, XrpcPath("io.atcr.hold.uploadPart"), bind(&Impl::UploadPart), part_route);
  router.Add(Method::kPost, XrpcPath("io.atcr.hold.uploadPart"), bind(&Impl::UploadPart), part_route);
  router.Add(Method::kPost, XrpcPath("io.atcr.hold.completeUpload"), bind(&Impl::CompleteUpload));
  router.Add(Method::kPost, XrpcPath("io.atcr.hold.abortUpload"), bind(&Impl::AbortUpload));
  router.Add(Method::kPost, XrpcPath("io.atcr.hold.notifyManifest"), bind(&Impl::NotifyManifest));
  router.Add(Method::kGet, XrpcPath("io.atcr.hold.getLayersForManifest"),
             bind(&Impl::GetLayersForManifest));
  router.Add(Method::kGet, XrpcPath("io.atcr.hold.getQuota"), bind(&Impl::GetQuota));
  router.Add(Method::kGet, XrpcPath("io.atcr.hold.listTiers"), bind(&Impl::ListTiers));
  router.Add(Method::kPost, XrpcPath("io.atcr.hold.setStats"), bind(&Impl::SetStats));
  router.Add(Method::kPost, XrpcPath("io.atcr.hold.requestCrew"), bind(&Impl::RequestCrew));
  router.Add(Method::kPost, XrpcPath("io.atcr.hold.updateCrewTier"), bind(&Impl::UpdateCrewTier));
  router.Add(Method::kGet, XrpcPath("io.atcr.hold.exportUserData"), bind(&Impl::ExportUserData));
  router.Add(Method::kPost, XrpcPath("io.atcr.hold.deleteUserData"), bind(&Impl::DeleteUserData));

  net::RouteOptions blob_route;
  blob_route.name = "signed-blob";
  router.AddPrefix("/blobs/", bind(&Impl::SignedBlobGet), blob_route);
  net::RouteOptions upload_route;
  upload_route.name = "signed-part";
  upload_route.max_body = m->config.max_part_bytes;
  router.AddPrefix("/uploads/", bind(&Impl::SignedPartPut), upload_route);

  if (m->config.admin_enabled) {
    for (Method method : {Method::kGet, Method::kPost}) {
      router.Add(method, "/admin/api/gc", bind(&Impl::AdminGc));
    }
    for (Method method : {Method::kGet, Method::kPost, Method::kPut, Method::kDelete}) {
      router.Add(method, "/admin/api/crew", bind(&Impl::AdminCrew));
    }
    router.Add(Method::kGet, "/admin/api/usage", bind(&Impl::AdminUsage));
  }
  if (!repo_routes) net::AddXrpcNotFoundFallback(router);
}

}  // namespace atcr::hold
