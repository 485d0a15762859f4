// Parsing of Distribution API paths. A repository name may contain slashes, so the endpoint
// is recognised from the last segments: .../manifests/<ref>, .../blobs/<digest>,
// .../blobs/uploads/, .../blobs/uploads/<id>, .../tags/list, .../referrers/<digest>.
// Only the shape is checked here; names, references and digests are validated by the caller.
#pragma once

#include <string>
#include <string_view>

namespace atcr::registry::internal {

enum class Endpoint {
  kBase,         // /v2/
  kCatalog,      // /v2/_catalog
  kTagsList,     // /v2/<name>/tags/list
  kManifest,     // /v2/<name>/manifests/<reference>
  kBlob,         // /v2/<name>/blobs/<digest>
  kUploadStart,  // /v2/<name>/blobs/uploads/
  kUpload,       // /v2/<name>/blobs/uploads/<id>
  kReferrers,    // /v2/<name>/referrers/<digest>
  kUnknown,
};

struct ApiPath {
  Endpoint endpoint = Endpoint::kUnknown;
  std::string name;  // repository
  std::string arg;   // reference, digest or upload id
};

ApiPath ParseApiPath(std::string_view path);

}  // namespace atcr::registry::internal
