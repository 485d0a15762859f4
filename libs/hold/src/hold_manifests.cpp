// Manifest bookkeeping: io.atcr.hold.notifyManifest (quota, layer records, stats),
// getLayersForManifest, getQuota, listTiers, setStats.
#include <map>
#include <set>

#include "atcr/atproto/syntax.h"
#include "atcr/hold/config.h"
#include "internal/hold_impl.h"

namespace atcr::hold {
namespace {

constexpr std::string_view kNotify = "io.atcr.hold.notifyManifest";
constexpr std::string_view kLayers = "io.atcr.hold.getLayersForManifest";
constexpr std::string_view kSetStats = "io.atcr.hold.setStats";

struct BlobRef {
  oci::Digest digest;
  uint64_t size = 0;
  std::string media_type;
};

Result<BlobRef> ParseBlobRef(const json::value& v, std::string_view what,
                             std::string default_media_type) {
  if (!v.is_object()) return InvalidRequest(std::string(what) + " must be an object");
  const json::object& o = v.get_object();
  ATCR_ASSIGN_OR_RETURN(std::string text, RequiredString(o, "digest", 128));
  auto digest = oci::Digest::ParseSupported(text);
  if (!digest.ok()) return InvalidRequest(std::string(what) + ": " + digest.error().message);
  ATCR_ASSIGN_OR_RETURN(int64_t size, RequiredInt(o, "size", 0, INT64_MAX));
  BlobRef b;
  b.digest = *digest;
  b.size = static_cast<uint64_t>(size);
  b.media_type = OptionalString(o, "mediaType").value_or(std::move(default_media_type));
  if (b.media_type.size() > 128) b.media_type.resize(128);
  return b;
}

// Layers that are not stored on the hold (Windows foreign layers, fetched from their urls).
bool IsForeign(std::string_view media_type) {
  return media_type.find(".foreign.") != std::string_view::npos ||
         media_type.find("nondistributable") != std::string_view::npos;
}

json::object LayerRecord(const internal::LayerRow& row) {
  json::object r;
  r["$type"] = kLayerCollection;
  r["digest"] = row.digest;
  r["size"] = row.size;
  r["mediaType"] = row.media_type;
  if (!row.manifest.empty()) r["manifest"] = row.manifest;
  if (!row.repository.empty()) r["repository"] = row.repository;
  r["userDid"] = row.user_did;
  r["createdAt"] = row.created_at;
  return r;
}

}  // namespace

Task<Response> Hold::Impl::NotifyManifest(Request& req) {
  auto access = co_await Authenticate(req, kNotify);
  if (!access.ok()) co_return ErrorResponse(access.error());
  auto body = co_await ReadJsonBody(req);
  if (!body.ok()) co_return ErrorResponse(body.error());
  auto repository = RequiredString(*body, "repository", 256);
  if (!repository.ok()) co_return ErrorResponse(repository.error());
  auto user = RequiredDid(*body, "userDid");
  if (!user.ok()) co_return ErrorResponse(user.error());
  auto manifest_digest_text = RequiredString(*body, "manifestDigest", 128);
  if (!manifest_digest_text.ok()) co_return ErrorResponse(manifest_digest_text.error());
  auto manifest_digest = oci::Digest::ParseSupported(*manifest_digest_text);
  if (!manifest_digest.ok()) {
    co_return ErrorResponse(InvalidRequest("manifestDigest: " + manifest_digest.error().message));
  }
  const std::string operation = OptionalString(*body, "operation").value_or("push");
  if (operation != "push" && operation != "pull") {
    co_return ErrorResponse(
        InvalidRequest("operation must be push or pull, not \"" + operation + "\"",
                       "InvalidOperation"));
  }

  if (operation == "pull") {
    if (!access->can_read()) {
      co_return ErrorResponse(Forbidden(access->did + " may not read from this hold"));
    }
    Status st = co_await internal::Blocking([&] { return BumpStats(*user, *repository, false); });
    if (!st.ok()) co_return ErrorResponse(st.error());
    json::object out{{"success", true}, {"operation", "pull"}, {"statsUpdated", true},
                     {"layersCreated", 0}, {"postCreated", false}};
    co_return JsonResponse(out);
  }

  if (access->did != *user) {
    co_return ErrorResponse(Error(ErrorCode::kPermissionDenied,
                                  "the token is for " + access->did + ", the push for " + *user,
                                  "UserMismatch"));
  }
  if (!access->can_write()) {
    co_return ErrorResponse(
        Forbidden(access->did + " may not write to this hold (owner or crew with blob:write)"));
  }
  const json::value* manifest = body->if_contains("manifest");
  if (manifest == nullptr || !manifest->is_object()) {
    co_return ErrorResponse(InvalidRequest("manifest is required"));
  }
  const json::object& m = manifest->get_object();
  const std::string media_type = OptionalString(m, "mediaType").value_or("");
  const std::string config_type = media_type.find("docker") != std::string::npos
                                      ? "application/vnd.docker.container.image.v1+json"
                                      : "application/vnd.oci.image.config.v1+json";
  std::vector<BlobRef> blobs;
  if (const json::value* c = m.if_contains("config"); c && !c->is_null()) {
    auto ref = ParseBlobRef(*c, "manifest.config", config_type);
    if (!ref.ok()) co_return ErrorResponse(ref.error());
    blobs.push_back(std::move(*ref));
  }
  if (const json::value* layers = m.if_contains("layers"); layers && !layers->is_null()) {
    if (!layers->is_array() || layers->get_array().size() > 10000) {
      co_return ErrorResponse(InvalidRequest("manifest.layers must be an array (<= 10000)"));
    }
    for (const json::value& l : layers->get_array()) {
      auto ref = ParseBlobRef(l, "manifest.layers[]", "application/vnd.oci.image.layer.v1.tar");
      if (!ref.ok()) co_return ErrorResponse(ref.error());
      if (!IsForeign(ref->media_type)) blobs.push_back(std::move(*ref));
    }
  }

  // Every blob must be here, and must stay: pinned, GC cannot claim it until the records are
  // written, and a deletion that was already under way makes the pin fail.
  struct Pins {
    internal::DigestActivity& activity;
    std::vector<std::string> digests;
    ~Pins() {
      for (const std::string& d : digests) activity.Unpin(d);
    }
  } pins{activity, {}};
  std::map<std::string, uint64_t> stored_size;
  for (const BlobRef& b : blobs) {
    if (stored_size.contains(b.digest.str())) continue;
    if (!activity.Pin(b.digest.str(), Now())) {
      co_return ErrorResponse(Error(ErrorCode::kUnavailable,
                                    "blob " + b.digest.str() +
                                        " is being garbage-collected; upload it again",
                                    "BlobNotFound"));
    }
    pins.digests.push_back(b.digest.str());
    oci::Digest d = b.digest;
    auto st = co_await storage->Stat(std::move(d));
    if (!st.ok()) {
      if (st.error().code == ErrorCode::kNotFound) {
        co_return ErrorResponse(NotFound(
            "blob " + b.digest.str() + " of this manifest is not stored on this hold",
            "BlobNotFound"));
      }
      co_return ErrorResponse(st.error());
    }
    stored_size[b.digest.str()] = st->size;
  }
  // The stored size counts for quotas and records, not the one the caller claims.
  for (BlobRef& b : blobs) b.size = stored_size[b.digest.str()];

  const std::string manifest_uri =
      "at://" + *user + "/io.atcr.manifest/" + std::string(manifest_digest->encoded());
  const std::string now = NowRfc3339();
  const std::optional<uint64_t> limit = LimitOf(*user);
  auto created = co_await internal::Blocking([&]() -> Result<size_t> {
    std::lock_guard lock(user_locks[std::hash<std::string>()(*user) % user_locks.size()]);
    std::vector<internal::LayerRow> rows;
    std::vector<std::pair<std::string, uint64_t>> fresh;
    std::set<std::string> in_this_push;
    for (const BlobRef& b : blobs) {
      if (!in_this_push.insert(b.digest.str()).second) continue;
      ATCR_ASSIGN_OR_RETURN(bool known, index->HasLayer(manifest_uri, b.digest.str()));
      if (known) continue;
      internal::LayerRow row;
      row.rkey = tids.Next().ToString();
      row.user_did = *user;
      row.digest = b.digest.str();
      row.size = b.size;
      row.media_type = b.media_type;
      row.manifest = manifest_uri;
      row.repository = *repository;
      row.created_at = now;
      fresh.emplace_back(row.digest, row.size);
      rows.push_back(std::move(row));
    }
    if (rows.empty()) return size_t{0};
    if (limit) {
      ATCR_ASSIGN_OR_RETURN(uint64_t added, index->AddedBytes(*user, fresh));
      ATCR_ASSIGN_OR_RETURN(internal::Usage usage, index->UsageOf(*user));
      if (added > 0 && usage.total_size + added > *limit) {
        const QuotaTier* tier = TierOf(*user);
        return Error(ErrorCode::kResourceExhausted,
                     "quota exceeded: " + *user + " uses " + FormatByteSize(usage.total_size) +
                         ", this push adds " + FormatByteSize(added) + ", the " +
                         (tier ? tier->name : std::string("default")) + " tier allows " +
                         FormatByteSize(*limit),
                     "QuotaExceeded");
      }
    }
    std::vector<RecordWrite> writes;
    for (const internal::LayerRow& row : rows) {
      writes.push_back({RecordWrite::Action::kCreate, std::string(kLayerCollection), row.rkey,
                        LayerRecord(row)});
    }
    ATCR_TRY(ApplyWrites(writes));
    ATCR_TRY(index->AddLayers(rows));
    return rows.size();
  });
  if (!created.ok()) co_return ErrorResponse(created.error());
  Status st = co_await internal::Blocking([&] { return BumpStats(*user, *repository, true); });
  json::object out{{"success", true},
                   {"operation", "push"},
                   {"statsUpdated", st.ok()},
                   {"layersCreated", *created},
                   {"postCreated", false}};
  co_return JsonResponse(out);
}

Task<Response> Hold::Impl::GetLayersForManifest(Request& req) {
  auto uri = req.Query("manifest");
  if (!uri || !atproto::ValidateAtUri(*uri).ok()) {
    co_return ErrorResponse(InvalidRequest("manifest must be an at-uri"));
  }
  if (!AccessFor("").captain.is_public) {
    auto access = co_await Authenticate(req, kLayers);
    if (!access.ok()) co_return ErrorResponse(access.error());
    if (!access->can_read()) co_return ErrorResponse(Forbidden(access->did + " may not read"));
  }
  auto rows = co_await internal::Blocking([&] { return index->LayersOfManifest(*uri); });
  if (!rows.ok()) co_return ErrorResponse(rows.error());
  json::array layers;
  for (const internal::LayerRow& row : *rows) layers.push_back(LayerRecord(row));
  co_return JsonResponse(json::object{{"layers", std::move(layers)}});
}

Task<Response> Hold::Impl::GetQuota(Request& req) {
  auto user = req.Query("userDid");
  if (!user || !atproto::ValidateDid(*user).ok()) {
    co_return ErrorResponse(InvalidRequest("userDid must be a DID", "InvalidUserDid"));
  }
  auto usage = co_await internal::Blocking([&] { return index->UsageOf(*user); });
  if (!usage.ok()) co_return ErrorResponse(usage.error());
  json::object out;
  out["userDid"] = *user;
  out["uniqueBlobs"] = usage->unique_blobs;
  out["totalSize"] = usage->total_size;
  if (std::optional<uint64_t> limit = LimitOf(*user)) {
    out["limit"] = *limit;
    if (const QuotaTier* tier = TierOf(*user)) out["tier"] = tier->name;
  }
  co_return JsonResponse(out);
}

Task<Response> Hold::Impl::ListTiers(Request&) {
  json::array tiers;
  for (const QuotaTier& t : config.tiers) {
    tiers.push_back(json::object{{"name", t.name},
                                 {"quotaBytes", t.quota_bytes},
                                 {"quotaFormatted", FormatByteSize(t.quota_bytes)},
                                 {"scanOnPush", t.scan_on_push}});
  }
  co_return JsonResponse(json::object{{"tiers", std::move(tiers)}});
}

Task<Response> Hold::Impl::SetStats(Request& req) {
  auto access = co_await Authenticate(req, kSetStats);
  if (!access.ok()) co_return ErrorResponse(access.error());
  if (!access->can_manage_crew() && !IsTrustedAppview(access->did)) {
    co_return ErrorResponse(Forbidden("setStats is for the owner, crew admins and trusted AppViews"));
  }
  auto body = co_await ReadJsonBody(req);
  if (!body.ok()) co_return ErrorResponse(body.error());
  auto owner = RequiredDid(*body, "ownerDid");
  if (!owner.ok()) co_return ErrorResponse(owner.error());
  auto repository = RequiredString(*body, "repository", 256);
  if (!repository.ok()) co_return ErrorResponse(repository.error());
  for (const char* key : {"lastPull", "lastPush"}) {
    if (auto t = OptionalString(*body, key); t && !atproto::ValidateDatetime(*t).ok()) {
      co_return ErrorResponse(InvalidRequest(std::string(key) + " must be a datetime"));
    }
  }
  for (const char* key : {"pullCount", "pushCount"}) {
    if (body->contains(key)) {
      auto n = RequiredInt(*body, key, 0, INT64_MAX);
      if (!n.ok()) co_return ErrorResponse(n.error());
    }
  }
  Status st = co_await internal::Blocking([&]() -> Status {
    const std::string rkey = StatsRkey(*owner, *repository);
    std::lock_guard lock(stats_locks[std::hash<std::string>()(rkey) % stats_locks.size()]);
    ATCR_ASSIGN_OR_RETURN(auto current, records->Get(kStatsCollection, rkey));
    json::object v;
    if (current) v = current->value;
    v["$type"] = kStatsCollection;
    v["ownerDid"] = *owner;
    v["repository"] = *repository;
    for (const char* key : {"pullCount", "pushCount"}) {
      if (const json::value* n = body->if_contains(key)) {
        v[key] = *n;
      } else if (!v.contains(key)) {
        v[key] = 0;
      }
    }
    for (const char* key : {"lastPull", "lastPush"}) {
      if (auto t = OptionalString(*body, key)) v[key] = *t;
    }
    v["updatedAt"] = NowRfc3339();
    RecordWrite w;
    w.action = RecordWrite::Action::kPut;
    w.collection = kStatsCollection;
    w.rkey = rkey;
    w.value = std::move(v);
    ATCR_TRY(records->Apply({w}));
    return Ok();
  });
  if (!st.ok()) co_return ErrorResponse(st.error());
  co_return JsonResponse(json::object{{"success", true}});
}

}  // namespace atcr::hold
