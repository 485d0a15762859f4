#include "atcr/oci/manifest.h"

#include <gtest/gtest.h>

#include "atcr/oci/media_types.h"

namespace atcr::oci {
namespace {

const std::string kD1 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const std::string kD2 = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
const std::string kD3 = "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7";

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t pos = s.find(from);
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

const std::string kOciManifestBody = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {
    "mediaType": "application/vnd.oci.image.config.v1+json",
    "digest": ")" + kD1 + R"(",
    "size": 7023
  },
  "layers": [
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
      "digest": ")" + kD2 + R"(",
      "size": 32654,
      "annotations": {"org.opencontainers.image.title": "layer.tar.gz"}
    },
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
      "digest": ")" + kD3 + R"(",
      "size": 0,
      "urls": ["https://example.com/layer"]
    }
  ],
  "annotations": {"org.opencontainers.image.created": "2024-01-02T03:04:05Z", "empty": ""}
})";

const std::string kOciIndexBody = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": ")" + kD1 + R"(",
      "size": 7143,
      "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}
    },
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": ")" + kD2 + R"(",
      "size": 7682,
      "platform": {"architecture": "amd64", "os": "windows", "os.version": "10.0.17763.1",
                   "os.features": ["win32k"], "features": ["sse4"]}
    },
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": ")" + kD3 + R"(",
      "size": 840,
      "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
      "platform": {"architecture": "unknown", "os": "unknown"}
    }
  ],
  "annotations": {"com.example.key": "value"}
})";

const std::string kDockerManifestBody = R"({
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 1469,
      "digest": ")" + kD1 + R"("
   },
   "layers": [
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 2814446,
         "digest": ")" + kD2 + R"("
      }
   ]
})";

const std::string kDockerListBody = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
  "manifests": [
    {
      "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
      "size": 528,
      "digest": ")" + kD1 + R"(",
      "platform": {"architecture": "arm", "os": "linux", "variant": "v7"}
    }
  ]
})";

// umoci writes neither mediaType in the body; its type comes from Content-Type or shape.
const std::string kUmociManifestBody = R"({
  "schemaVersion": 2,
  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": ")" + kD1 +
                                       R"(", "size": 100},
  "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ")" +
                                       kD2 + R"(", "size": 200}]
})";

const std::string kUmociIndexBody = R"({
  "schemaVersion": 2,
  "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": ")" +
                                    kD1 + R"(", "size": 300}]
})";

const std::string kArtifactBody = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "artifactType": "application/vnd.example.sbom.v1",
  "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": ")" + kD2 +
                                  R"(", "size": 2, "data": "e30="},
  "layers": [{"mediaType": "application/vnd.example.sbom.v1+json", "digest": ")" + kD3 +
                                  R"(", "size": 1234}],
  "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": ")" +
                                  kD1 + R"(", "size": 7023}
})";

void ExpectInvalid(const std::string& body, const std::string& ct, const std::string& needle) {
  auto m = ParseManifest(body, ct);
  ASSERT_FALSE(m.ok()) << "accepted: " << body;
  EXPECT_EQ(m.error().wire, "MANIFEST_INVALID") << m.error().message;
  EXPECT_EQ(m.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(m.error().message.find(needle), std::string::npos)
      << "message \"" << m.error().message << "\" lacks \"" << needle << "\"";
}

TEST(ManifestParser, OciImageManifest) {
  auto m = ParseManifest(kOciManifestBody, std::string(kOciManifest));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->media_type, kOciManifest);
  EXPECT_EQ(m->schema_version, 2);
  EXPECT_FALSE(m->is_index);
  ASSERT_TRUE(m->config.has_value());
  EXPECT_EQ(m->config->media_type, kOciConfig);
  EXPECT_EQ(m->config->digest.str(), kD1);
  EXPECT_EQ(m->config->size, 7023);
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->layers[0].digest.str(), kD2);
  EXPECT_EQ(m->layers[0].annotations.at("org.opencontainers.image.title"), "layer.tar.gz");
  EXPECT_EQ(m->layers[1].size, 0);
  ASSERT_EQ(m->layers[1].urls.size(), 1u);
  EXPECT_EQ(m->layers[1].urls[0], "https://example.com/layer");
  EXPECT_TRUE(m->manifests.empty());
  EXPECT_FALSE(m->subject.has_value());
  EXPECT_EQ(m->annotations.size(), 2u);
  EXPECT_EQ(m->annotations.at("empty"), "");
  EXPECT_EQ(m->EffectiveArtifactType(), kOciConfig);
}

TEST(ManifestParser, OciIndexWithPlatforms) {
  auto m = ParseManifest(kOciIndexBody, std::string(kOciIndex));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->media_type, kOciIndex);
  EXPECT_TRUE(m->is_index);
  EXPECT_FALSE(m->config.has_value());
  ASSERT_EQ(m->manifests.size(), 3u);
  ASSERT_TRUE(m->manifests[0].platform.has_value());
  EXPECT_EQ(m->manifests[0].platform->architecture, "arm64");
  EXPECT_EQ(m->manifests[0].platform->os, "linux");
  EXPECT_EQ(m->manifests[0].platform->variant, "v8");
  const Platform& win = *m->manifests[1].platform;
  EXPECT_EQ(win.os, "windows");
  EXPECT_EQ(win.os_version, "10.0.17763.1");
  ASSERT_EQ(win.os_features.size(), 1u);
  EXPECT_EQ(win.os_features[0], "win32k");
  ASSERT_EQ(win.features.size(), 1u);
  EXPECT_EQ(win.features[0], "sse4");
  EXPECT_EQ(m->manifests[2].annotations.at("vnd.docker.reference.type"), "attestation-manifest");
  EXPECT_EQ(m->annotations.at("com.example.key"), "value");
  EXPECT_EQ(m->EffectiveArtifactType(), "");
}

TEST(ManifestParser, DockerSchema2Manifest) {
  auto m = ParseManifest(kDockerManifestBody, std::string(kDockerManifest));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->media_type, kDockerManifest);
  EXPECT_FALSE(m->is_index);
  EXPECT_EQ(m->config->media_type, kDockerConfig);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].size, 2814446);
}

TEST(ManifestParser, DockerManifestList) {
  auto m = ParseManifest(kDockerListBody, std::string(kDockerManifestList));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->media_type, kDockerManifestList);
  EXPECT_TRUE(m->is_index);
  ASSERT_EQ(m->manifests.size(), 1u);
  EXPECT_EQ(m->manifests[0].platform->variant, "v7");
}

TEST(ManifestParser, ArtifactWithSubject) {
  auto m = ParseManifest(kArtifactBody, std::string(kOciManifest));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->artifact_type, "application/vnd.example.sbom.v1");
  EXPECT_EQ(m->EffectiveArtifactType(), "application/vnd.example.sbom.v1");
  EXPECT_EQ(m->config->media_type, kOciEmpty);
  ASSERT_TRUE(m->subject.has_value());
  EXPECT_EQ(m->subject->digest.str(), kD1);
  EXPECT_EQ(m->subject->size, 7023);
}

TEST(ManifestParser, IndexWithSubjectAndArtifactType) {
  std::string body = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
    "artifactType":"application/vnd.example.bundle","manifests":[],
    "subject":{"mediaType":"application/vnd.oci.image.index.v1+json","digest":")" + kD1 +
                     R"(","size":1}})";
  auto m = ParseManifest(body, "");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_TRUE(m->is_index);
  EXPECT_TRUE(m->manifests.empty());
  EXPECT_EQ(m->EffectiveArtifactType(), "application/vnd.example.bundle");
  ASSERT_TRUE(m->subject.has_value());
}

TEST(ManifestParser, UnknownConfigAndLayerTypesAccepted) {
  std::string body = Replace(Replace(kOciManifestBody, std::string(kOciConfig),
                                     "application/vnd.cncf.helm.config.v1+json"),
                             "application/vnd.oci.image.layer.v1.tar+gzip",
                             "application/vnd.wasm.content.layer.v1+wasm");
  auto m = ParseManifest(body, std::string(kOciManifest));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->config->media_type, "application/vnd.cncf.helm.config.v1+json");
  EXPECT_EQ(m->layers[0].media_type, "application/vnd.wasm.content.layer.v1+wasm");
}

TEST(ManifestParser, UnknownDigestAlgorithmInDescriptorAccepted) {
  // image-spec: well-formed but unknown algorithms SHOULD pass validation.
  std::string body = Replace(kOciManifestBody, kD2, "sha384:abcdef0123");
  auto m = ParseManifest(body, std::string(kOciManifest));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_FALSE(m->layers[0].digest.supported());
}

TEST(ManifestParser, UnknownFieldsIgnored) {
  std::string body = Replace(Replace(kOciManifestBody, "\"schemaVersion\": 2,",
                                     "\"schemaVersion\": 2, \"vendor\": {\"x\": [1, null, true]},"),
                             "\"size\": 7023", "\"size\": 7023, \"extra\": 1.5");
  auto m = ParseManifest(body, std::string(kOciManifest));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->config->size, 7023);
}

TEST(ManifestParser, ContentTypeParametersAndCaseIgnored) {
  auto m = ParseManifest(kOciManifestBody,
                         "Application/VND.oci.image.manifest.v1+json; charset=utf-8");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->media_type, kOciManifest);
}

TEST(ManifestParser, GenericContentTypeDefersToBody) {
  for (const char* ct : {"", "application/json", "application/json; charset=utf-8"}) {
    SCOPED_TRACE(ct);
    auto m = ParseManifest(kDockerListBody, ct);
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_EQ(m->media_type, kDockerManifestList);
  }
}

TEST(ManifestParser, UmociMissingMediaTypeFromContentType) {
  auto m = ParseManifest(kUmociManifestBody, std::string(kOciManifest));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->media_type, kOciManifest);
  auto d = ParseManifest(kUmociManifestBody, std::string(kDockerManifest));
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->media_type, kDockerManifest);
  auto i = ParseManifest(kUmociIndexBody, std::string(kDockerManifestList));
  ASSERT_TRUE(i.ok()) << i.error().message;
  EXPECT_EQ(i->media_type, kDockerManifestList);
  EXPECT_TRUE(i->is_index);
}

TEST(ManifestParser, UmociMissingMediaTypeFromShape) {
  for (const char* ct : {"", "application/json", "application/octet-stream"}) {
    SCOPED_TRACE(ct);
    auto m = ParseManifest(kUmociManifestBody, ct);
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_EQ(m->media_type, kOciManifest);
    EXPECT_FALSE(m->is_index);
    auto i = ParseManifest(kUmociIndexBody, ct);
    ASSERT_TRUE(i.ok()) << i.error().message;
    EXPECT_EQ(i->media_type, kOciIndex);
    EXPECT_TRUE(i->is_index);
  }
}

TEST(ManifestParser, RejectsSchema1ByContentType) {
  ExpectInvalid(kDockerManifestBody, std::string(kDockerSchema1), "schema 1");
  ExpectInvalid(kDockerManifestBody, std::string(kDockerSchema1Signed) + "; charset=utf-8",
                "schema 1");
  // Rejected before the body is even looked at.
  ExpectInvalid("not json", std::string(kDockerSchema1Signed), "schema 1");
}

TEST(ManifestParser, RejectsSchema1ByBody) {
  const std::string signed_v1 = R"({
   "schemaVersion": 1,
   "name": "hello-world",
   "tag": "latest",
   "architecture": "amd64",
   "fsLayers": [{"blobSum": ")" + kD1 + R"("}],
   "history": [{"v1Compatibility": "{}"}],
   "signatures": [{"header": {"alg": "ES256"}, "signature": "x", "protected": "y"}]
})";
  ExpectInvalid(signed_v1, "", "schema 1");
  ExpectInvalid(signed_v1, "application/json", "schema 1");
  ExpectInvalid(signed_v1, std::string(kOciManifest), "schema 1");
  ExpectInvalid(R"({"schemaVersion":2,"mediaType":")" + std::string(kDockerSchema1) + R"("})",
                "", "schema 1");
}

TEST(ManifestParser, RejectsMediaTypeContradictingContentType) {
  ExpectInvalid(kOciManifestBody, std::string(kDockerManifest), "contradicts");
  ExpectInvalid(kOciManifestBody, std::string(kOciIndex), "contradicts");
  ExpectInvalid(kDockerListBody, std::string(kOciIndex), "contradicts");
  ExpectInvalid(kOciManifestBody, "text/plain", "contradicts");
}

TEST(ManifestParser, RejectsUnknownManifestMediaTypes) {
  ExpectInvalid(Replace(kOciManifestBody, std::string(kOciManifest),
                        "application/vnd.oci.artifact.manifest.v1+json"),
                "", "unsupported manifest mediaType");
  // A Content-Type that is not a manifest type and a body of no recognizable shape.
  ExpectInvalid(R"({"schemaVersion":2,"blobs":[]})",
                "application/vnd.oci.artifact.manifest.v1+json", "cannot tell the manifest type");
  ExpectInvalid(R"({"schemaVersion":2})", "", "cannot tell the manifest type");
  ExpectInvalid(R"({"schemaVersion":2,"layers":[]})", "", "cannot tell the manifest type");
}

TEST(ManifestParser, RejectsIndexManifestConfusion) {
  // CVE-2021-41190: one document must not read as both a manifest and an index.
  std::string both_shapes = R"({"schemaVersion":2,"config":{"mediaType":"a/b","digest":")" +
                            kD1 + R"(","size":1},"manifests":[]})";
  ExpectInvalid(both_shapes, "", "cannot tell");
  ExpectInvalid(both_shapes, std::string(kOciManifest), "must not have manifests");
  ExpectInvalid(both_shapes, std::string(kOciIndex), "must not have config or layers");
  ExpectInvalid(Replace(kOciIndexBody, "\"manifests\"", "\"layers\":[],\"manifests\""), "",
                "must not have config or layers");
}

TEST(ManifestParser, RejectsMissingRequiredParts) {
  ExpectInvalid(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
                   "layers":[]})",
                "", "config is required");
  ExpectInvalid(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"})",
                "", "manifests is required");
  ExpectInvalid(Replace(kOciManifestBody, "\"schemaVersion\": 2,", ""), "",
                "schemaVersion is required");
  ExpectInvalid(Replace(kOciManifestBody, "\"schemaVersion\": 2", "\"schemaVersion\": 3"), "",
                "schemaVersion must be 2");
  ExpectInvalid(Replace(kOciManifestBody, "\"schemaVersion\": 2", "\"schemaVersion\": \"2\""),
                "", "schemaVersion must be 2");
  ExpectInvalid(Replace(kOciManifestBody, "\"schemaVersion\": 2", "\"schemaVersion\": 2.0"), "",
                "schemaVersion must be 2");
}

TEST(ManifestParser, NullOptionalArraysReadAsEmpty) {
  // Go encoders write nil slices as null (image-spec's specs-go has no omitempty on them).
  std::string body = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":")" + kD2 +
                     R"(","size":2},"layers":null,"annotations":null})";
  auto m = ParseManifest(body, "");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_TRUE(m->layers.empty());
  auto i = ParseManifest(
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":null})",
      "");
  ASSERT_TRUE(i.ok()) << i.error().message;
  EXPECT_TRUE(i->manifests.empty());
}

TEST(ManifestParser, RejectsMalformedDescriptors) {
  const std::string cfg = "\"config\": {\n    \"mediaType\": \"application/vnd.oci.image.config.v1+json\",\n    \"digest\": \"" + kD1 + "\",\n    \"size\": 7023\n  }";
  ASSERT_NE(kOciManifestBody.find(cfg), std::string::npos);
  auto with_config = [&](const std::string& c) {
    return Replace(kOciManifestBody, cfg, "\"config\": " + c);
  };
  const std::string dg = "\"digest\":\"" + kD1 + "\"";
  const struct {
    std::string config;
    std::string needle;
  } cases[] = {
      {"[]", "config must be a descriptor object"},
      {"\"x\"", "config must be a descriptor object"},
      {"null", "config is required"},
      {"{" + dg + ",\"size\":1}", "config.mediaType is required"},
      {"{\"mediaType\":7," + dg + ",\"size\":1}", "config.mediaType is required"},
      {"{\"mediaType\":\"\"," + dg + ",\"size\":1}", "config.mediaType must not be empty"},
      {"{\"mediaType\":\"notamediatype\"," + dg + ",\"size\":1}", "not a media type"},
      {"{\"mediaType\":\"a/b c\"," + dg + ",\"size\":1}", "not a media type"},
      {"{\"mediaType\":\"a/b\",\"size\":1}", "config.digest is required"},
      {"{\"mediaType\":\"a/b\",\"digest\":5,\"size\":1}", "config.digest is required"},
      {"{\"mediaType\":\"a/b\",\"digest\":\"sha256:ABC\",\"size\":1}", "config.digest:"},
      {"{\"mediaType\":\"a/b\",\"digest\":\"" + Replace(kD1, "e3b0", "E3B0") + "\",\"size\":1}",
       "lowercase"},
      {"{\"mediaType\":\"a/b\",\"digest\":\"md5\",\"size\":1}", "config.digest:"},
      {"{\"mediaType\":\"a/b\"," + dg + "}", "config.size is required"},
      {"{\"mediaType\":\"a/b\"," + dg + ",\"size\":-1}", "config.size must be an integer"},
      {"{\"mediaType\":\"a/b\"," + dg + ",\"size\":1.5}", "config.size must be an integer"},
      {"{\"mediaType\":\"a/b\"," + dg + ",\"size\":1e3}", "config.size must be an integer"},
      {"{\"mediaType\":\"a/b\"," + dg + ",\"size\":\"1\"}", "config.size must be an integer"},
      {"{\"mediaType\":\"a/b\"," + dg + ",\"size\":null}", "config.size must be an integer"},
      {"{\"mediaType\":\"a/b\"," + dg + ",\"size\":9223372036854775808}",
       "config.size must be an integer"},
      {"{\"mediaType\":\"a/b\"," + dg + ",\"size\":1,\"urls\":\"http://x\"}", "config.urls"},
      {"{\"mediaType\":\"a/b\"," + dg + ",\"size\":1,\"urls\":[1]}", "config.urls"},
      {"{\"mediaType\":\"a/b\"," + dg + ",\"size\":1,\"annotations\":[]}", "config.annotations"},
      {"{\"mediaType\":\"a/b\"," + dg + ",\"size\":1,\"annotations\":{\"k\":1}}",
       "config.annotations[\"k\"]"},
      {"{\"mediaType\":\"a/b\"," + dg + ",\"size\":1,\"artifactType\":3}", "config.artifactType"},
      {"{\"mediaType\":\"a/b\"," + dg + ",\"size\":1,\"data\":{}}", "config.data"},
      {"{\"mediaType\":\"a/b\"," + dg + ",\"size\":1,\"platform\":{\"os\":\"linux\"}}",
       "config.platform.architecture is required"},
      {"{\"mediaType\":\"a/b\"," + dg + ",\"size\":1,\"platform\":[]}",
       "config.platform must be an object"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.config);
    ExpectInvalid(with_config(c.config), "", c.needle);
  }
  // The largest int64 is a valid size.
  auto big = ParseManifest(
      with_config("{\"mediaType\":\"a/b\"," + dg + ",\"size\":9223372036854775807}"), "");
  ASSERT_TRUE(big.ok()) << big.error().message;
  EXPECT_EQ(big->config->size, INT64_MAX);
}

TEST(ManifestParser, ErrorsNameTheFailingElement) {
  ExpectInvalid(Replace(kOciIndexBody, "\"size\": 7682", "\"size\": -5"), "",
                "manifests[1].size");
  ExpectInvalid(Replace(kOciManifestBody, "\"size\": 32654", "\"size\": true"), "",
                "layers[0].size");
  ExpectInvalid(Replace(kOciIndexBody, "\"os.features\": [\"win32k\"]", "\"os.features\": \"w\""),
                "", "manifests[1].platform.os.features");
  ExpectInvalid(Replace(kOciManifestBody, "\"layers\": [", "\"layers\": {\"x\":[") + "}", "",
                "layers must be an array");
  ExpectInvalid(Replace(kArtifactBody, "\"subject\": {", "\"subject\": {\"x\":1,\"size\":-1,"), "",
                "duplicate key");
  ExpectInvalid(Replace(kArtifactBody, "\"subject\": {\"mediaType\"", "\"subject\": {\"m\""), "",
                "subject.mediaType is required");
  ExpectInvalid(Replace(kArtifactBody, "\"artifactType\": \"application/vnd.example.sbom.v1\"",
                        "\"artifactType\": \"sbom\""),
                "", "artifactType \"sbom\" is not a media type");
  ExpectInvalid(Replace(kOciManifestBody, "\"empty\": \"\"", "\"empty\": null"), "",
                "annotations[\"empty\"] must be a string");
}

TEST(ManifestParser, RejectsInvalidJson) {
  const std::string bad[] = {
      "",
      "   ",
      "{",
      "[]",
      "null",
      "\"manifest\"",
      "2",
      R"({"schemaVersion":2,})",
      R"({"schemaVersion":2} {})",
      R"({"schemaVersion":2} x)",
      R"(// comment
{"schemaVersion":2})",
      "{\"schemaVersion\":2,\"annotations\":{\"k\":\"\xff\"}}",  // invalid UTF-8
      "{\"schemaVersion\":2,\"annotations\":{\"k\":\"\xc0\x80\"}}",  // overlong NUL
      R"({'schemaVersion':2})",
      R"({"schemaVersion":NaN})",
  };
  for (const auto& b : bad) {
    SCOPED_TRACE(b);
    auto m = ParseManifest(b, "");
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().wire, "MANIFEST_INVALID");
  }
}

TEST(ManifestParser, RejectsDuplicateKeys) {
  // Parsers disagree on which duplicate wins; the registry must not be the one that differs.
  ExpectInvalid(Replace(kOciManifestBody, "\"schemaVersion\": 2,",
                        "\"schemaVersion\": 2, \"layers\": [],"),
                "", "duplicate key");
  ExpectInvalid(Replace(kOciManifestBody, "\"size\": 7023", "\"size\": 7023, \"size\": 1"), "",
                "duplicate key");
  ExpectInvalid(R"({"schemaVersion":2,"config":{},"x":{"a":1,"a":1}})", "", "duplicate key");
}

TEST(ManifestParser, DepthLimit) {
  std::string ok_nested = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"x":)";
  std::string deep = ok_nested;
  for (int i = 0; i < 100; ++i) deep += "[";
  for (int i = 0; i < 100; ++i) deep += "]";
  deep += "}";
  ExpectInvalid(deep, "", "nested deeper than");
  std::string shallow = ok_nested;
  for (int i = 0; i < 30; ++i) shallow += "[";
  for (int i = 0; i < 30; ++i) shallow += "]";
  shallow += "}";
  EXPECT_TRUE(ParseManifest(shallow, "").ok());
}

TEST(ManifestParser, RejectsOversizedBody) {
  std::string body = Replace(kOciManifestBody, "\"empty\": \"\"",
                             "\"big\": \"" + std::string(kMaxManifestBytes, 'a') + "\"");
  ASSERT_GT(body.size(), kMaxManifestBytes);
  auto m = ParseManifest(body, std::string(kOciManifest));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().wire, "SIZE_INVALID");
  EXPECT_NE(m.error().message.find(std::to_string(kMaxManifestBytes)), std::string::npos);
  // Exactly at the limit is still parsed.
  std::string at_limit = Replace(kOciManifestBody, "\"empty\": \"\"", "\"big\": \"\"");
  at_limit.insert(at_limit.size() - 1, std::string(kMaxManifestBytes - at_limit.size(), ' '));
  ASSERT_EQ(at_limit.size(), kMaxManifestBytes);
  EXPECT_TRUE(ParseManifest(at_limit, "").ok());
}

TEST(MediaTypes, Essence) {
  std::string storage;
  EXPECT_EQ(MediaTypeEssence("  Application/JSON ; charset=utf-8", storage), "application/json");
  EXPECT_EQ(MediaTypeEssence("", storage), "");
  EXPECT_EQ(MediaTypeEssence(";x", storage), "");
  EXPECT_TRUE(IsManifestMediaType(kDockerManifestList));
  EXPECT_FALSE(IsManifestMediaType(kDockerSchema1));
  EXPECT_FALSE(IsManifestMediaType(kOciConfig));
  EXPECT_TRUE(IsIndexMediaType(kOciIndex));
  EXPECT_FALSE(IsIndexMediaType(kOciManifest));
  EXPECT_TRUE(IsValidMediaType("application/vnd.oci.image.layer.v1.tar+gzip"));
  EXPECT_FALSE(IsValidMediaType("application"));
  EXPECT_FALSE(IsValidMediaType("application/"));
  EXPECT_FALSE(IsValidMediaType("/json"));
  EXPECT_FALSE(IsValidMediaType("application/json; charset=utf-8"));
  EXPECT_FALSE(IsValidMediaType("a/b/c"));
  EXPECT_FALSE(IsValidMediaType("a/" + std::string(128, 'b')));
}

}  // namespace
}  // namespace atcr::oci
