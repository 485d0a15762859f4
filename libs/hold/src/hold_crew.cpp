// Crew and user data: io.atcr.hold.requestCrew, updateCrewTier, exportUserData,
// deleteUserData.
#include "internal/hold_impl.h"

namespace atcr::hold {
namespace {

constexpr std::string_view kRequestCrew = "io.atcr.hold.requestCrew";
constexpr std::string_view kUpdateTier = "io.atcr.hold.updateCrewTier";
constexpr std::string_view kExport = "io.atcr.hold.exportUserData";
constexpr std::string_view kDelete = "io.atcr.hold.deleteUserData";

Result<std::vector<StoredRecord>> ListWhere(RecordStore& records, std::string_view collection,
                                            std::string_view field, const std::string& value) {
  std::vector<StoredRecord> out;
  std::string after;
  for (;;) {
    ATCR_ASSIGN_OR_RETURN(auto page, records.List(collection, 100, after, false));
    if (page.empty()) break;
    after = page.back().rkey;
    for (auto& r : page) {
      const json::value* v = r.value.if_contains(field);
      if (v && v->is_string() && v->get_string() == value) out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace

Task<Response> Hold::Impl::RequestCrew(Request& req) {
  auto access = co_await Authenticate(req, kRequestCrew);
  if (!access.ok()) co_return ErrorResponse(access.error());
  auto body = co_await ReadJsonBody(req);
  if (!body.ok()) co_return ErrorResponse(body.error());

  const std::string rkey = CrewRkey(access->did);
  const std::string uri = RecordUri(identity.did, kCrewCollection, rkey);
  if (access->crew) {
    auto rec = co_await internal::Blocking([&] { return records->Get(kCrewCollection, rkey); });
    json::object out{{"status", "already_member"}, {"uri", uri},
                     {"message", "already a member of this hold's crew"}};
    if (rec.ok() && *rec) out["cid"] = (*rec)->cid;
    co_return JsonResponse(out);
  }
  if (!access->captain.allow_all_crew && !access->is_owner()) {
    co_return ErrorResponse(Error(ErrorCode::kPermissionDenied,
                                  "this hold does not take new crew by request; ask its owner",
                                  "RegistrationDisabled"));
  }
  CrewMember m;
  m.member = access->did;
  m.role = OptionalString(*body, "role").value_or("member");
  if (m.role != "member" && m.role != "read" && m.role != "write") {
    co_return ErrorResponse(InvalidRequest("role may be member, read or write"));
  }
  if (const json::value* perms = body->if_contains("permissions"); perms && !perms->is_null()) {
    if (!perms->is_array()) co_return ErrorResponse(InvalidRequest("permissions must be an array"));
    for (const json::value& p : perms->get_array()) {
      if (!p.is_string() ||
          (p.get_string() != kPermBlobRead && p.get_string() != kPermBlobWrite)) {
        co_return ErrorResponse(
            InvalidRequest("requestCrew may ask for blob:read and blob:write only"));
      }
      m.permissions.emplace_back(p.get_string());
    }
  } else {
    m.permissions = {std::string(kPermBlobRead), std::string(kPermBlobWrite)};
  }
  if (access->is_owner()) {
    m.role = "owner";
    m.permissions = {std::string(kPermBlobRead), std::string(kPermBlobWrite),
                     std::string(kPermCrewAdmin)};
  } else {
    m.tier = config.new_crew_tier;
  }
  m.added_at = NowRfc3339();
  auto written = co_await internal::Blocking([&]() -> Result<std::vector<WriteOutcome>> {
    RecordWrite w;
    w.action = RecordWrite::Action::kPut;
    w.collection = kCrewCollection;
    w.rkey = rkey;
    w.value = m.ToRecord();
    ATCR_ASSIGN_OR_RETURN(auto out, records->Apply({w}));
    std::lock_guard lock(state_mu);
    crew[m.member] = m;
    return out;
  });
  if (!written.ok()) co_return ErrorResponse(written.error());
  json::object out{{"status", "created"},
                   {"uri", uri},
                   {"cid", written->front().cid},
                   {"message", "welcome aboard"}};
  co_return JsonResponse(out);
}

Task<Response> Hold::Impl::UpdateCrewTier(Request& req) {
  auto access = co_await Authenticate(req, kUpdateTier);
  if (!access.ok()) co_return ErrorResponse(access.error());
  if (!IsTrustedAppview(access->did) && !access->can_manage_crew()) {
    co_return ErrorResponse(
        Forbidden("updateCrewTier is for trusted AppViews, the owner and crew admins"));
  }
  auto body = co_await ReadJsonBody(req);
  if (!body.ok()) co_return ErrorResponse(body.error());
  auto user = RequiredDid(*body, "userDid");
  if (!user.ok()) co_return ErrorResponse(user.error());
  auto rank = RequiredInt(*body, "tierRank", 0, INT32_MAX);
  if (!rank.ok()) co_return ErrorResponse(rank.error());
  if (static_cast<size_t>(*rank) >= config.tiers.size()) {
    co_return ErrorResponse(InvalidRequest("tierRank " + std::to_string(*rank) +
                                               " is past the last tier (" +
                                               std::to_string(config.tiers.size() - 1) + ")",
                                           "InvalidTier"));
  }
  std::optional<CrewMember> member;
  {
    std::lock_guard lock(state_mu);
    auto it = crew.find(*user);
    if (it != crew.end()) member = it->second;
  }
  if (!member) {
    co_return ErrorResponse(NotFound(*user + " is not crew on this hold", "CrewNotFound"));
  }
  member->tier = config.tiers[static_cast<size_t>(*rank)].name;
  Status st = co_await internal::Blocking([&] { return PutCrew(*member); });
  if (!st.ok()) co_return ErrorResponse(st.error());
  co_return JsonResponse(json::object{{"tierName", member->tier}});
}

Task<Response> Hold::Impl::ExportUserData(Request& req) {
  auto access = co_await Authenticate(req, kExport);
  if (!access.ok()) co_return ErrorResponse(access.error());
  const std::string& user = access->did;
  auto data = co_await internal::Blocking([&]() -> Result<json::object> {
    json::object out;
    out["exportedAt"] = NowRfc3339();
    out["holdDid"] = identity.did;
    out["userDid"] = user;
    out["isCaptain"] = access->is_owner();
    ATCR_ASSIGN_OR_RETURN(auto crew_rec, records->Get(kCrewCollection, CrewRkey(user)));
    if (crew_rec) out["crewRecord"] = crew_rec->value;
    json::array layers;
    ATCR_ASSIGN_OR_RETURN(auto rows, index->LayersOfUser(user));
    for (const internal::LayerRow& row : rows) {
      ATCR_ASSIGN_OR_RETURN(auto rec, records->Get(kLayerCollection, row.rkey));
      if (rec) layers.push_back(rec->value);
    }
    out["layerRecords"] = std::move(layers);
    json::array stats;
    ATCR_ASSIGN_OR_RETURN(auto stats_recs, ListWhere(*records, kStatsCollection, "ownerDid", user));
    for (const StoredRecord& r : stats_recs) stats.push_back(r.value);
    out["statsRecords"] = std::move(stats);
    out["blueskyPosts"] = json::array();
    return out;
  });
  if (!data.ok()) co_return ErrorResponse(data.error());
  co_return JsonResponse(*data);
}

Task<Response> Hold::Impl::DeleteUserData(Request& req) {
  auto access = co_await Authenticate(req, kDelete);
  if (!access.ok()) co_return ErrorResponse(access.error());
  const std::string& user = access->did;
  auto result = co_await internal::Blocking([&]() -> Result<json::object> {
    std::lock_guard lock(user_locks[std::hash<std::string>()(user) % user_locks.size()]);
    std::vector<RecordWrite> writes;
    bool crew_deleted = false;
    if (!access->is_owner() && access->crew) {
      writes.push_back({RecordWrite::Action::kDelete, std::string(kCrewCollection),
                        CrewRkey(user), {}});
      crew_deleted = true;
    }
    ATCR_ASSIGN_OR_RETURN(auto rows, index->LayersOfUser(user));
    std::vector<std::string> layer_rkeys;
    for (const internal::LayerRow& row : rows) {
      writes.push_back({RecordWrite::Action::kDelete, std::string(kLayerCollection), row.rkey, {}});
      layer_rkeys.push_back(row.rkey);
    }
    ATCR_ASSIGN_OR_RETURN(auto stats, ListWhere(*records, kStatsCollection, "ownerDid", user));
    for (const StoredRecord& r : stats) {
      writes.push_back({RecordWrite::Action::kDelete, std::string(kStatsCollection), r.rkey, {}});
    }
    ATCR_TRY(ApplyWrites(writes));
    ATCR_TRY(index->RemoveLayers(layer_rkeys));
    if (crew_deleted) {
      std::lock_guard state_lock(state_mu);
      crew.erase(user);
    }
    json::object out;
    out["success"] = true;
    out["crewDeleted"] = crew_deleted;
    out["layersDeleted"] = layer_rkeys.size();
    out["statsDeleted"] = stats.size();
    return out;
  });
  if (!result.ok()) co_return ErrorResponse(result.error());
  co_return JsonResponse(*result);
}

}  // namespace atcr::hold
