// Captain and crew records of a hold and the access rules over them (ATCR's model):
//   read  = the hold is public, or the caller is the owner or crew with blob:read
//           (a private hold only gates anonymous access);
//   write = the owner, or crew with blob:write;
//   crew management = the owner, or crew with crew:admin.
// Records convert to and from their io.atcr.hold.* JSON. Pure values and functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "atcr/base/result.h"

namespace atcr::hold {

inline constexpr std::string_view kCaptainCollection = "io.atcr.hold.captain";
inline constexpr std::string_view kCrewCollection = "io.atcr.hold.crew";
inline constexpr std::string_view kLayerCollection = "io.atcr.hold.layer";
inline constexpr std::string_view kStatsCollection = "io.atcr.hold.stats";
inline constexpr std::string_view kProfileCollection = "app.bsky.actor.profile";
inline constexpr std::string_view kPostCollection = "app.bsky.feed.post";

inline constexpr std::string_view kPermBlobRead = "blob:read";
inline constexpr std::string_view kPermBlobWrite = "blob:write";
inline constexpr std::string_view kPermCrewAdmin = "crew:admin";

struct Captain {
  std::string owner;
  bool is_public = false;
  bool allow_all_crew = false;
  bool enable_bluesky_posts = false;
  std::string deployed_at;
  std::string region;
  std::string provider;
  std::string successor;

  boost::json::object ToRecord() const;
  static Result<Captain> FromRecord(const boost::json::object& record);
};

struct CrewMember {
  std::string member;
  std::string role;  // owner | admin | write | read | member
  std::vector<std::string> permissions;
  std::string tier;
  std::string added_at;

  bool Has(std::string_view permission) const;
  boost::json::object ToRecord() const;
  static Result<CrewMember> FromRecord(const boost::json::object& record);
};

// rkey of a member's crew record: base32(sha256(member DID)[:16]) (lowercase, unpadded).
std::string CrewRkey(std::string_view member_did);
// rkey of a repository's stats record: base32(sha256(owner DID + "/" + repository)[:16]).
std::string StatsRkey(std::string_view owner_did, std::string_view repository);

// `caller` is empty for anonymous requests; `crew` is the caller's crew record, if any.
bool CanRead(const Captain& captain, std::string_view caller, const CrewMember* crew);
bool CanWrite(const Captain& captain, std::string_view caller, const CrewMember* crew);
bool CanManageCrew(const Captain& captain, std::string_view caller, const CrewMember* crew);

}  // namespace atcr::hold
