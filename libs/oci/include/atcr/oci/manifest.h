// Parsing and validation of image manifests and indexes (OCI and Docker schema 2). The
// original bytes are never re-serialised: callers keep them and use the parse result only to
// learn references, subject and platform data. Schema 1 is rejected with a clear error.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atcr/base/result.h"
#include "atcr/oci/digest.h"

namespace atcr::oci {

constexpr size_t kMaxManifestBytes = 4 * 1024 * 1024;

struct Platform {
  std::string architecture;
  std::string os;
  std::string os_version;
  std::vector<std::string> os_features;
  std::string variant;
  std::vector<std::string> features;
};

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::string artifact_type;
  std::map<std::string, std::string> annotations;
  std::vector<std::string> urls;
  std::optional<Platform> platform;
};

struct Manifest {
  std::string media_type;  // resolved: body mediaType, else Content-Type, else by shape
  int schema_version = 2;
  bool is_index = false;
  std::optional<Descriptor> config;   // image manifests
  std::vector<Descriptor> layers;     // image manifests
  std::vector<Descriptor> manifests;  // indexes
  std::optional<Descriptor> subject;
  std::string artifact_type;
  std::map<std::string, std::string> annotations;

  // artifactType for a referrers descriptor: artifactType, else config.mediaType.
  std::string EffectiveArtifactType() const;
};

// Validates `body` as a manifest uploaded with `content_type` (may be empty). Errors carry
// wire "MANIFEST_INVALID" (including schema 1, a mediaType contradicting Content-Type,
// unknown manifest media types, malformed descriptors) or "SIZE_INVALID"/"DIGEST_INVALID".
Result<Manifest> ParseManifest(std::string_view body, std::string_view content_type);

}  // namespace atcr::oci
