// The io.atcr.* records the AppView writes into a user's repo and reads back: building them
// from a pushed manifest (every lexicon field), their record keys, and parsing records written
// by atcr or by ATCR (including the deprecated holdEndpoint and manifestDigest). Used by the
// manifest store and Profiles. Pure functions; thread-safe.
//
// Record keys (ATCR documents none; readers never depend on them, README.md "Records"):
//   io.atcr.manifest  TID derived from SHA-256(repository "@" digest): valid for the lexicon's
//                     `tid` key, deterministic (re-push overwrites), distinct per repository.
//   io.atcr.tag       <repository, '/' -> '~'> ":" <tag>: injective; retagging overwrites.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "atcr/base/result.h"
#include "atcr/oci/digest.h"
#include "atcr/oci/manifest.h"

namespace atcr::appview {

inline constexpr std::string_view kManifestCollection = "io.atcr.manifest";
inline constexpr std::string_view kTagCollection = "io.atcr.tag";
inline constexpr std::string_view kProfileCollection = "io.atcr.sailor.profile";
inline constexpr std::string_view kProfileRkey = "self";

std::string ManifestRkey(std::string_view repository, const oci::Digest& digest);
std::string TagRkey(std::string_view repository, std::string_view tag);
// "at://<did>/<collection>/<rkey>".
std::string RecordUri(std::string_view did, std::string_view collection, std::string_view rkey);

// An ATProto blob reference as it appears in a record ({"$type":"blob","ref":{"$link"},...}).
struct BlobRef {
  std::string cid;
  std::string mime_type;
  int64_t size = 0;

  boost::json::object ToJson() const;
  static Result<BlobRef> FromJson(const boost::json::value& v);
};

struct ManifestRecordInput {
  std::string repository;  // without the owner prefix
  oci::Digest digest;
  std::string media_type;
  const oci::Manifest* manifest = nullptr;  // the parsed bytes
  std::string hold_did;                     // empty: omitted
  BlobRef manifest_blob;
  std::string created_at;  // RFC 3339
};
boost::json::object BuildManifestRecord(const ManifestRecordInput& in);
boost::json::object BuildTagRecord(std::string_view repository, std::string_view tag,
                                   std::string_view manifest_uri, std::string_view digest,
                                   std::string_view now);
boost::json::object BuildProfileRecord(std::string_view default_hold, std::string_view now);

struct BlobDescriptor {
  oci::Digest digest;
  int64_t size = 0;
  std::string media_type;
};

// The parts of an io.atcr.manifest record the AppView serves from.
struct ManifestRecord {
  std::string repository;
  oci::Digest digest;
  std::string media_type;
  std::string hold_did;       // holdDid, or did:web derived from the deprecated holdEndpoint
  std::string hold_endpoint;  // deprecated holdEndpoint when present
  std::optional<BlobRef> manifest_blob;
  std::optional<oci::Digest> subject;
  std::vector<BlobDescriptor> blobs;      // config then layers (image manifests)
  std::vector<BlobDescriptor> manifests;  // children (indexes)
  std::string created_at;
};
// Fails (kInvalidArgument) when a field the AppView relies on is missing or malformed.
Result<ManifestRecord> ParseManifestRecord(const boost::json::value& record);

struct TagRecord {
  std::string repository;
  std::string tag;
  std::string manifest_uri;            // may be empty for old records
  std::optional<oci::Digest> digest;   // from manifestDigest (deprecated) when present
};
Result<TagRecord> ParseTagRecord(const boost::json::value& record);

struct ProfileRecord {
  std::string default_hold;  // a DID, or a URL in old records; empty when unset
};
Result<ProfileRecord> ParseProfileRecord(const boost::json::value& record);

}  // namespace atcr::appview
