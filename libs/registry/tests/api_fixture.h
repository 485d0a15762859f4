// Fixture for the Distribution API tests: a real net::Server on 127.0.0.1:0 over a temp data
// dir, a raw HTTP client, and builders for blobs and manifests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "atcr/oci/media_types.h"
#include "test_support.h"

namespace atcr::registry::testing {

struct Blob {
  std::string data;
  std::string digest;
  std::string media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
};

inline Blob MakeBlob(std::string data, std::string media_type = {}) {
  Blob b;
  b.digest = DigestOf(data);
  b.data = std::move(data);
  if (!media_type.empty()) b.media_type = std::move(media_type);
  return b;
}

inline std::string DescriptorJson(const Blob& b, std::string extra = {}) {
  return R"({"mediaType":")" + b.media_type + R"(","digest":")" + b.digest + R"(","size":)" +
         std::to_string(b.data.size()) + extra + "}";
}

// An OCI image manifest over a config and layers; `extra` is spliced in at the top level.
inline std::string ImageManifest(const Blob& config, const std::vector<Blob>& layers,
                                 std::string extra = {}) {
  std::string s = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)";
  s += R"("config":)" + DescriptorJson(config) + R"(,"layers":[)";
  for (size_t i = 0; i < layers.size(); ++i) {
    if (i > 0) s += ",";
    s += DescriptorJson(layers[i]);
  }
  s += "]" + extra + "}";
  return s;
}

inline std::string SubjectJson(const std::string& manifest_body) {
  return R"(,"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
         DigestOf(manifest_body) + R"(","size":)" + std::to_string(manifest_body.size()) + "}";
}

class ApiTest : public ::testing::Test {
 protected:
  void Start(DistributionApiOptions options = {}) {
    registry_.reset();
    registry_ = std::make_unique<TestRegistry>(dir_.path(), std::move(options), &content_);
  }
  void SetUp() override { Start(); }

  TestClient client() const { return registry_->client(); }
  HttpResponse Do(std::string_view method, std::string_view target, const HeaderList& h = {},
                  std::string_view body = {}) const {
    return client().Do(method, target, h, body);
  }

  // Monolithic POST; returns the digest.
  std::string PushBlob(const std::string& repo, const Blob& b) {
    HttpResponse r =
        Do("POST", "/v2/" + repo + "/blobs/uploads/?digest=" + b.digest,
           {{"Content-Type", "application/octet-stream"}}, b.data);
    EXPECT_EQ(r.status, 201) << r.body;
    return b.digest;
  }

  HttpResponse PutManifest(const std::string& repo, const std::string& ref, const std::string& body,
                           std::string media_type = std::string(oci::kOciManifest)) {
    HeaderList h;
    if (!media_type.empty()) h.emplace_back("Content-Type", media_type);
    return Do("PUT", "/v2/" + repo + "/manifests/" + ref, h, body);
  }

  // Pushes config + layers and the manifest under `tag`; returns the manifest body.
  std::string PushImage(const std::string& repo, const std::string& tag, const std::string& salt) {
    Blob config = MakeBlob(R"({"architecture":"amd64","os":"linux","salt":")" + salt + "\"}",
                           std::string(oci::kOciConfig));
    Blob layer = MakeBlob("layer-bytes-" + salt);
    PushBlob(repo, config);
    PushBlob(repo, layer);
    std::string body = ImageManifest(config, {layer});
    HttpResponse r = PutManifest(repo, tag, body);
    EXPECT_EQ(r.status, 201) << r.body;
    return body;
  }

  TempDir dir_;
  std::shared_ptr<storage::BlobStore> content_;
  std::unique_ptr<TestRegistry> registry_;
};

}  // namespace atcr::registry::testing
