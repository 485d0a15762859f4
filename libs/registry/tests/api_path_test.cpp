#include "internal/api_path.h"

#include <gtest/gtest.h>

namespace atcr::registry::internal {
namespace {

struct Case {
  const char* path;
  Endpoint endpoint;
  const char* name;
  const char* arg;
};

TEST(ApiPath, RecognisesEveryEndpointFromTheEnd) {
  const Case cases[] = {
      {"/v2/", Endpoint::kBase, "", ""},
      {"/v2", Endpoint::kBase, "", ""},
      {"/v2/_catalog", Endpoint::kCatalog, "", ""},
      {"/v2/a/tags/list", Endpoint::kTagsList, "a", ""},
      {"/v2/a/b/c/tags/list", Endpoint::kTagsList, "a/b/c", ""},
      {"/v2/a/manifests/latest", Endpoint::kManifest, "a", "latest"},
      {"/v2/org/app/manifests/sha256:abc", Endpoint::kManifest, "org/app", "sha256:abc"},
      {"/v2/a/blobs/sha256:abc", Endpoint::kBlob, "a", "sha256:abc"},
      {"/v2/a/b/blobs/uploads/", Endpoint::kUploadStart, "a/b", ""},
      {"/v2/a/blobs/uploads", Endpoint::kUploadStart, "a", ""},
      {"/v2/a/blobs/uploads/0123abcd", Endpoint::kUpload, "a", "0123abcd"},
      {"/v2/a/referrers/sha256:abc", Endpoint::kReferrers, "a", "sha256:abc"},
      // Names may contain the words the endpoints use.
      {"/v2/blobs/manifests/x", Endpoint::kManifest, "blobs", "x"},
      {"/v2/manifests/tags/list", Endpoint::kTagsList, "manifests", ""},
      {"/v2/x/blobs/blobs/uploads/", Endpoint::kUploadStart, "x/blobs", ""},
      {"/v2/tags/list/tags/list", Endpoint::kTagsList, "tags/list", ""},
  };
  for (const Case& c : cases) {
    ApiPath p = ParseApiPath(c.path);
    EXPECT_EQ(p.endpoint, c.endpoint) << c.path;
    EXPECT_EQ(p.name, c.name) << c.path;
    EXPECT_EQ(p.arg, c.arg) << c.path;
  }
}

TEST(ApiPath, RejectsShapesWithoutAName) {
  for (const char* path : {"/v3/", "/v2/manifests/latest", "/v2/blobs/sha256:x", "/v2/tags/list",
                           "/v2/a", "/v2/a/", "/v2/a/manifests/", "/v2/a/blobs/", "/x/v2/"}) {
    EXPECT_EQ(ParseApiPath(path).endpoint, Endpoint::kUnknown) << path;
  }
}

}  // namespace
}  // namespace atcr::registry::internal
