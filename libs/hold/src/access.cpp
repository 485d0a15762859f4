#include "atcr/hold/access.h"

#include <algorithm>

#include <boost/json.hpp>

#include "atcr/atproto/syntax.h"
#include "atcr/base/hash.h"

namespace atcr::hold {
namespace json = boost::json;
namespace {

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}
bool Bool(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_bool() && v->get_bool();
}
std::string Rkey16(std::string_view text) {
  auto h = Sha256(text);
  return Base32Encode(ByteSpan(h.data(), 16));
}

}  // namespace

json::object Captain::ToRecord() const {
  json::object r;
  r["$type"] = kCaptainCollection;
  r["owner"] = owner;
  r["public"] = is_public;
  r["allowAllCrew"] = allow_all_crew;
  r["enableBlueskyPosts"] = enable_bluesky_posts;
  r["deployedAt"] = deployed_at;
  if (!region.empty()) r["region"] = region;
  if (!provider.empty()) r["provider"] = provider;
  if (!successor.empty()) r["successor"] = successor;
  return r;
}

Result<Captain> Captain::FromRecord(const json::object& r) {
  Captain c;
  c.owner = Str(r, "owner");
  if (!atproto::ValidateDid(c.owner).ok()) {
    return Error(ErrorCode::kDataLoss, "captain record has no valid owner DID");
  }
  c.is_public = Bool(r, "public");
  c.allow_all_crew = Bool(r, "allowAllCrew");
  c.enable_bluesky_posts = Bool(r, "enableBlueskyPosts");
  c.deployed_at = Str(r, "deployedAt");
  c.region = Str(r, "region");
  c.provider = Str(r, "provider");
  c.successor = Str(r, "successor");
  return c;
}

bool CrewMember::Has(std::string_view permission) const {
  return std::find(permissions.begin(), permissions.end(), permission) != permissions.end();
}

json::object CrewMember::ToRecord() const {
  json::object r;
  r["$type"] = kCrewCollection;
  r["member"] = member;
  r["role"] = role;
  json::array perms;
  for (const std::string& p : permissions) perms.emplace_back(p);
  r["permissions"] = std::move(perms);
  if (!tier.empty()) r["tier"] = tier;
  r["addedAt"] = added_at;
  return r;
}

Result<CrewMember> CrewMember::FromRecord(const json::object& r) {
  CrewMember m;
  m.member = Str(r, "member");
  if (!atproto::ValidateDid(m.member).ok()) {
    return Error(ErrorCode::kDataLoss, "crew record has no valid member DID");
  }
  m.role = Str(r, "role");
  if (const json::value* perms = r.if_contains("permissions"); perms && perms->is_array()) {
    for (const json::value& p : perms->get_array()) {
      if (p.is_string()) m.permissions.emplace_back(p.get_string());
    }
  }
  m.tier = Str(r, "tier");
  m.added_at = Str(r, "addedAt");
  return m;
}

std::string CrewRkey(std::string_view member_did) { return Rkey16(member_did); }

std::string StatsRkey(std::string_view owner_did, std::string_view repository) {
  std::string key(owner_did);
  key.append("/").append(repository);
  return Rkey16(key);
}

bool CanRead(const Captain& captain, std::string_view caller, const CrewMember* crew) {
  if (captain.is_public) return true;
  if (caller.empty()) return false;
  if (caller == captain.owner) return true;
  return crew != nullptr && crew->member == caller && crew->Has(kPermBlobRead);
}

bool CanWrite(const Captain& captain, std::string_view caller, const CrewMember* crew) {
  if (caller.empty()) return false;
  if (caller == captain.owner) return true;
  return crew != nullptr && crew->member == caller && crew->Has(kPermBlobWrite);
}

bool CanManageCrew(const Captain& captain, std::string_view caller, const CrewMember* crew) {
  if (caller.empty()) return false;
  if (caller == captain.owner) return true;
  return crew != nullptr && crew->member == caller && crew->Has(kPermCrewAdmin);
}

}  // namespace atcr::hold
