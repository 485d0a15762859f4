#include "atcr/oci/manifest.h"

#include <boost/json/value.hpp>

#include "atcr/oci/media_types.h"
#include "strict_json.h"

namespace atcr::oci {
namespace json = boost::json;
namespace {

constexpr std::string_view kWire = "MANIFEST_INVALID";

Error Invalid(std::string msg) { return InvalidArgument(std::move(msg), std::string(kWire)); }

Error Schema1Rejected() {
  return Invalid(
      "Docker schema 1 manifests are deprecated and not accepted; push an OCI or Docker "
      "schema 2 manifest instead (e.g. convert with skopeo copy --format oci)");
}

std::string_view View(const json::string& s) { return {s.data(), s.size()}; }

const json::value* Find(const json::object& o, std::string_view key) {
  return o.if_contains(json::string_view(key.data(), key.size()));
}

// An optional field: absent and null both mean "not there" (Go encoders write nil slices as
// null, and Go decoders accept null for any optional field).
const json::value* FindOptional(const json::object& o, std::string_view key) {
  const json::value* v = Find(o, key);
  return v == nullptr || v->is_null() ? nullptr : v;
}

Result<std::string> OptionalString(const json::object& o, std::string_view key,
                                   const std::string& where) {
  const json::value* v = FindOptional(o, key);
  if (v == nullptr) return std::string();
  const json::string* s = v->if_string();
  if (s == nullptr) return Invalid(where + std::string(key) + " must be a string");
  return std::string(View(*s));
}

Result<std::vector<std::string>> OptionalStringArray(const json::object& o, std::string_view key,
                                                     const std::string& where) {
  std::vector<std::string> out;
  const json::value* v = FindOptional(o, key);
  if (v == nullptr) return out;
  const json::array* a = v->if_array();
  if (a == nullptr) return Invalid(where + std::string(key) + " must be an array of strings");
  out.reserve(a->size());
  for (const json::value& e : *a) {
    const json::string* s = e.if_string();
    if (s == nullptr) return Invalid(where + std::string(key) + " must be an array of strings");
    out.emplace_back(View(*s));
  }
  return out;
}

Result<std::map<std::string, std::string>> OptionalAnnotations(const json::object& o,
                                                               const std::string& where) {
  std::map<std::string, std::string> out;
  const json::value* v = FindOptional(o, "annotations");
  if (v == nullptr) return out;
  const json::object* m = v->if_object();
  if (m == nullptr) return Invalid(where + "annotations must be an object of strings");
  for (const auto& kv : *m) {
    const json::string* s = kv.value().if_string();
    if (s == nullptr) {
      return Invalid(where + "annotations[\"" + std::string(kv.key()) + "\"] must be a string");
    }
    out.emplace(std::string(kv.key()), std::string(View(*s)));
  }
  return out;
}

Result<std::string> OptionalMediaType(const json::object& o, std::string_view key,
                                      const std::string& where) {
  ATCR_ASSIGN_OR_RETURN(std::string mt, OptionalString(o, key, where));
  if (!mt.empty() && !IsValidMediaType(mt)) {
    return Invalid(where + std::string(key) + " \"" + mt + "\" is not a media type (RFC 6838)");
  }
  return mt;
}

Result<Platform> ParsePlatform(const json::value& v, const std::string& where) {
  const json::object* o = v.if_object();
  if (o == nullptr) return Invalid(where + " must be an object");
  std::string prefix = where + ".";
  Platform p;
  for (std::string_view key : {"architecture", "os"}) {
    const json::value* f = Find(*o, key);
    if (f == nullptr || !f->is_string()) {
      return Invalid(prefix + std::string(key) + " is required and must be a string");
    }
  }
  ATCR_ASSIGN_OR_RETURN(p.architecture, OptionalString(*o, "architecture", prefix));
  ATCR_ASSIGN_OR_RETURN(p.os, OptionalString(*o, "os", prefix));
  ATCR_ASSIGN_OR_RETURN(p.os_version, OptionalString(*o, "os.version", prefix));
  ATCR_ASSIGN_OR_RETURN(p.os_features, OptionalStringArray(*o, "os.features", prefix));
  ATCR_ASSIGN_OR_RETURN(p.variant, OptionalString(*o, "variant", prefix));
  ATCR_ASSIGN_OR_RETURN(p.features, OptionalStringArray(*o, "features", prefix));
  return p;
}

// A descriptor (image-spec descriptor.md). `where` names it in errors, e.g. "layers[2]".
Result<Descriptor> ParseDescriptor(const json::value& v, const std::string& where) {
  const json::object* o = v.if_object();
  if (o == nullptr) return Invalid(where + " must be a descriptor object");
  std::string prefix = where + ".";
  Descriptor d;

  const json::value* mt = Find(*o, "mediaType");
  if (mt == nullptr || !mt->is_string()) {
    return Invalid(prefix + "mediaType is required and must be a string");
  }
  ATCR_ASSIGN_OR_RETURN(d.media_type, OptionalMediaType(*o, "mediaType", prefix));
  if (d.media_type.empty()) return Invalid(prefix + "mediaType must not be empty");

  const json::value* dg = Find(*o, "digest");
  if (dg == nullptr || !dg->is_string()) {
    return Invalid(prefix + "digest is required and must be a string");
  }
  auto digest = Digest::Parse(View(dg->get_string()));
  if (!digest.ok()) return Invalid(prefix + "digest: " + digest.error().message);
  d.digest = std::move(digest).value();

  const json::value* sz = Find(*o, "size");
  if (sz == nullptr) return Invalid(prefix + "size is required");
  if (const int64_t* i = sz->if_int64(); i != nullptr && *i >= 0) {
    d.size = *i;
  } else {
    return Invalid(prefix + "size must be an integer between 0 and 2^63-1");
  }

  ATCR_ASSIGN_OR_RETURN(d.artifact_type, OptionalMediaType(*o, "artifactType", prefix));
  ATCR_ASSIGN_OR_RETURN(d.annotations, OptionalAnnotations(*o, prefix));
  ATCR_ASSIGN_OR_RETURN(d.urls, OptionalStringArray(*o, "urls", prefix));
  // Embedded content is opaque to the registry; only its type is checked.
  ATCR_TRY(OptionalString(*o, "data", prefix));
  if (const json::value* p = FindOptional(*o, "platform")) {
    ATCR_ASSIGN_OR_RETURN(d.platform, ParsePlatform(*p, prefix + "platform"));
  }
  return d;
}

// A descriptor array that may be absent or null (both read as empty).
Result<std::vector<Descriptor>> ParseDescriptorArray(const json::object& o, std::string_view key) {
  std::vector<Descriptor> out;
  const json::value* v = FindOptional(o, key);
  if (v == nullptr) return out;
  const json::array* a = v->if_array();
  if (a == nullptr) return Invalid(std::string(key) + " must be an array of descriptors");
  out.reserve(a->size());
  for (size_t i = 0; i < a->size(); ++i) {
    ATCR_ASSIGN_OR_RETURN(Descriptor d,
                          ParseDescriptor((*a)[i], std::string(key) + "[" + std::to_string(i) + "]"));
    out.push_back(std::move(d));
  }
  return out;
}

bool IsSchema1(std::string_view mt) { return mt == kDockerSchema1 || mt == kDockerSchema1Signed; }

// A Content-Type that says nothing about which manifest this is.
bool IsGenericContentType(std::string_view ct) { return ct.empty() || ct == "application/json"; }

}  // namespace

std::string Manifest::EffectiveArtifactType() const {
  if (!artifact_type.empty()) return artifact_type;
  if (config) return config->media_type;
  return {};
}

Result<Manifest> ParseManifest(std::string_view body, std::string_view content_type) {
  if (body.size() > kMaxManifestBytes) {
    return Error(ErrorCode::kResourceExhausted,
                 "manifest is " + std::to_string(body.size()) + " bytes, limit is " +
                     std::to_string(kMaxManifestBytes),
                 "SIZE_INVALID");
  }
  std::string ct_storage;
  std::string_view ct = MediaTypeEssence(content_type, ct_storage);
  if (IsSchema1(ct)) return Schema1Rejected();

  ATCR_ASSIGN_OR_RETURN(json::value doc, internal::ParseStrictJson(body, kWire));
  const json::object* root = doc.if_object();
  if (root == nullptr) return Invalid("manifest must be a JSON object");

  Manifest m;
  const json::value* sv = Find(*root, "schemaVersion");
  if (sv == nullptr) return Invalid("schemaVersion is required (2)");
  const int64_t* svi = sv->if_int64();
  if (svi != nullptr && *svi == 1) return Schema1Rejected();
  if (svi == nullptr || *svi != 2) return Invalid("schemaVersion must be 2");
  m.schema_version = 2;

  ATCR_ASSIGN_OR_RETURN(std::string body_mt, OptionalString(*root, "mediaType", ""));
  if (IsSchema1(body_mt)) return Schema1Rejected();
  if (!body_mt.empty()) {
    if (!IsManifestMediaType(body_mt)) {
      return Invalid("unsupported manifest mediaType \"" + body_mt +
                     "\" (want an OCI image manifest or index, or a Docker schema 2 manifest or "
                     "manifest list)");
    }
    if (!IsGenericContentType(ct) && ct != body_mt) {
      return Invalid("manifest mediaType \"" + body_mt + "\" contradicts Content-Type \"" +
                     std::string(ct) + "\"");
    }
    m.media_type = body_mt;
  } else if (IsManifestMediaType(ct)) {
    m.media_type = std::string(ct);
  }

  bool has_manifests = Find(*root, "manifests") != nullptr;
  bool has_config = Find(*root, "config") != nullptr;
  bool has_layers = Find(*root, "layers") != nullptr;
  if (m.media_type.empty()) {
    // No declared type (umoci and some older tools omit mediaType): go by shape.
    if (has_manifests && !has_config && !has_layers) {
      m.media_type = std::string(kOciIndex);
    } else if (has_config && !has_manifests) {
      m.media_type = std::string(kOciManifest);
    } else {
      std::string why = ct.empty() || IsGenericContentType(ct)
                            ? std::string("no Content-Type")
                            : "unsupported Content-Type \"" + std::string(ct) + "\"";
      return Invalid("cannot tell the manifest type: no mediaType in the body, " + why +
                     ", and the body has neither config (manifest) nor manifests (index) alone");
    }
  }
  m.is_index = IsIndexMediaType(m.media_type);

  // A document that is both an index and a manifest would be read differently by different
  // clients (CVE-2021-41190), so the fields of the other kind are refused.
  if (m.is_index) {
    if (has_config || has_layers) {
      return Invalid("an index (" + m.media_type + ") must not have config or layers");
    }
    const json::value* ms = Find(*root, "manifests");
    if (ms == nullptr) return Invalid("manifests is required in an index");
    ATCR_ASSIGN_OR_RETURN(m.manifests, ParseDescriptorArray(*root, "manifests"));
  } else {
    if (has_manifests) {
      return Invalid("an image manifest (" + m.media_type + ") must not have manifests");
    }
    const json::value* cfg = FindOptional(*root, "config");
    if (cfg == nullptr) return Invalid("config is required in an image manifest");
    ATCR_ASSIGN_OR_RETURN(m.config, ParseDescriptor(*cfg, "config"));
    ATCR_ASSIGN_OR_RETURN(m.layers, ParseDescriptorArray(*root, "layers"));
  }

  if (const json::value* subject = FindOptional(*root, "subject")) {
    ATCR_ASSIGN_OR_RETURN(m.subject, ParseDescriptor(*subject, "subject"));
  }
  ATCR_ASSIGN_OR_RETURN(m.artifact_type, OptionalMediaType(*root, "artifactType", ""));
  ATCR_ASSIGN_OR_RETURN(m.annotations, OptionalAnnotations(*root, ""));
  return m;
}

}  // namespace atcr::oci
