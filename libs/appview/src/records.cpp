#include "atcr/appview/records.h"

#include <boost/json.hpp>

#include <cstring>

#include "atcr/atproto/tid.h"
#include "atcr/base/hash.h"
#include "atcr/identity/resolver.h"

namespace atcr::appview {
namespace json = boost::json;

namespace {

// 2020-01-01T00:00:00Z in microseconds: the derived TIDs' timestamps fall in the 2^48 µs
// (about 8.9 years) after it, so they look like plausible TIDs to tools that decode them.
constexpr int64_t kTidEpochMicros = 1577836800LL * 1000000;

json::object Annotations(const std::map<std::string, std::string>& a) {
  json::object o;
  for (const auto& [k, v] : a) o[k] = v;
  return o;
}

json::object BlobReference(const oci::Descriptor& d) {
  json::object o;
  o["mediaType"] = d.media_type;
  o["size"] = d.size;
  o["digest"] = d.digest.str();
  if (!d.urls.empty()) {
    json::array urls;
    for (const auto& u : d.urls) urls.emplace_back(u);
    o["urls"] = std::move(urls);
  }
  if (!d.annotations.empty()) o["annotations"] = Annotations(d.annotations);
  return o;
}

json::object ManifestReference(const oci::Descriptor& d) {
  json::object o;
  o["mediaType"] = d.media_type;
  o["size"] = d.size;
  o["digest"] = d.digest.str();
  if (d.platform) {
    json::object p;
    p["architecture"] = d.platform->architecture;
    p["os"] = d.platform->os;
    if (!d.platform->os_version.empty()) p["osVersion"] = d.platform->os_version;
    if (!d.platform->os_features.empty()) {
      json::array f;
      for (const auto& s : d.platform->os_features) f.emplace_back(s);
      p["osFeatures"] = std::move(f);
    }
    if (!d.platform->variant.empty()) p["variant"] = d.platform->variant;
    o["platform"] = std::move(p);
  }
  if (!d.annotations.empty()) o["annotations"] = Annotations(d.annotations);
  return o;
}

std::string StringField(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return {};
  return std::string(v->get_string());
}

Result<BlobDescriptor> ParseDescriptor(const json::value& v, std::string_view what) {
  if (!v.is_object()) return InvalidArgument(std::string(what) + ": not an object");
  const json::object& o = v.get_object();
  BlobDescriptor d;
  auto digest = oci::Digest::Parse(StringField(o, "digest"));
  if (!digest.ok()) return InvalidArgument(std::string(what) + ".digest: " + digest.error().message);
  d.digest = *digest;
  if (const json::value* s = o.if_contains("size"); s != nullptr && s->is_int64()) {
    d.size = s->get_int64();
  }
  d.media_type = StringField(o, "mediaType");
  return d;
}

}  // namespace

std::string ManifestRkey(std::string_view repository, const oci::Digest& digest) {
  std::string key(repository);
  key += "@";
  key += digest.str();
  auto h = Sha256(key);
  uint64_t a = 0;
  uint64_t b = 0;
  for (int i = 0; i < 8; ++i) a = (a << 8) | h[i];
  for (int i = 8; i < 16; ++i) b = (b << 8) | h[i];
  int64_t micros = kTidEpochMicros + static_cast<int64_t>(a >> 16);  // 48 bits
  return atproto::Tid::FromParts(micros, static_cast<uint32_t>(b & atproto::Tid::kMaxClockId))
      .ToString();
}

std::string TagRkey(std::string_view repository, std::string_view tag) {
  std::string out;
  out.reserve(repository.size() + 1 + tag.size());
  for (char c : repository) out.push_back(c == '/' ? '~' : c);
  out.push_back(':');
  out.append(tag);
  return out;
}

std::string RecordUri(std::string_view did, std::string_view collection, std::string_view rkey) {
  std::string out = "at://";
  out += did;
  out += "/";
  out += collection;
  out += "/";
  out += rkey;
  return out;
}

json::object BlobRef::ToJson() const {
  json::object o;
  o["$type"] = "blob";
  json::object ref;
  ref["$link"] = cid;
  o["ref"] = std::move(ref);
  o["mimeType"] = mime_type;
  o["size"] = size;
  return o;
}

Result<BlobRef> BlobRef::FromJson(const json::value& v) {
  if (!v.is_object()) return InvalidArgument("blob: not an object");
  const json::object& o = v.get_object();
  BlobRef b;
  if (const json::value* ref = o.if_contains("ref"); ref != nullptr && ref->is_object()) {
    b.cid = StringField(ref->get_object(), "$link");
  } else {
    b.cid = StringField(o, "cid");  // legacy blob form {cid, mimeType}
  }
  if (b.cid.empty()) return InvalidArgument("blob: no ref");
  b.mime_type = StringField(o, "mimeType");
  if (const json::value* s = o.if_contains("size"); s != nullptr && s->is_int64()) {
    b.size = s->get_int64();
  }
  return b;
}

json::object BuildManifestRecord(const ManifestRecordInput& in) {
  const oci::Manifest& m = *in.manifest;
  json::object r;
  r["$type"] = kManifestCollection;
  r["repository"] = in.repository;
  r["digest"] = in.digest.str();
  r["mediaType"] = in.media_type;
  r["schemaVersion"] = m.schema_version;
  if (m.config) r["config"] = BlobReference(*m.config);
  if (!m.is_index) {
    json::array layers;
    for (const auto& l : m.layers) layers.emplace_back(BlobReference(l));
    r["layers"] = std::move(layers);
  } else {
    json::array manifests;
    for (const auto& c : m.manifests) manifests.emplace_back(ManifestReference(c));
    r["manifests"] = std::move(manifests);
  }
  if (m.subject) r["subject"] = BlobReference(*m.subject);
  if (!in.hold_did.empty()) r["holdDid"] = in.hold_did;
  r["manifestBlob"] = in.manifest_blob.ToJson();
  if (!m.annotations.empty()) r["annotations"] = Annotations(m.annotations);
  r["createdAt"] = in.created_at;
  return r;
}

json::object BuildTagRecord(std::string_view repository, std::string_view tag,
                            std::string_view manifest_uri, std::string_view digest,
                            std::string_view now) {
  json::object r;
  r["$type"] = kTagCollection;
  r["repository"] = repository;
  r["tag"] = tag;
  r["manifest"] = manifest_uri;
  // The deprecated digest too: older ATCR readers look only at it, and it saves a lookup.
  r["manifestDigest"] = digest;
  r["createdAt"] = now;
  r["updatedAt"] = now;
  return r;
}

json::object BuildProfileRecord(std::string_view default_hold, std::string_view now) {
  json::object r;
  r["$type"] = kProfileCollection;
  if (!default_hold.empty()) r["defaultHold"] = default_hold;
  r["createdAt"] = now;
  r["updatedAt"] = now;
  return r;
}

Result<ManifestRecord> ParseManifestRecord(const json::value& record) {
  if (!record.is_object()) return InvalidArgument("io.atcr.manifest record: not an object");
  const json::object& o = record.get_object();
  ManifestRecord m;
  m.repository = StringField(o, "repository");
  if (m.repository.empty()) return InvalidArgument("io.atcr.manifest record: no repository");
  auto digest = oci::Digest::Parse(StringField(o, "digest"));
  if (!digest.ok()) {
    return InvalidArgument("io.atcr.manifest record: digest: " + digest.error().message);
  }
  m.digest = *digest;
  m.media_type = StringField(o, "mediaType");
  m.hold_did = StringField(o, "holdDid");
  m.hold_endpoint = StringField(o, "holdEndpoint");
  if (m.hold_did.empty() && !m.hold_endpoint.empty()) {
    if (m.hold_endpoint.starts_with("did:")) {
      m.hold_did = m.hold_endpoint;  // some old records stored the DID in holdEndpoint
    } else if (auto d = identity::DidWebFromUrl(m.hold_endpoint); d.ok()) {
      m.hold_did = *d;
    }
  }
  if (const json::value* b = o.if_contains("manifestBlob")) {
    ATCR_ASSIGN_OR_RETURN(BlobRef blob, BlobRef::FromJson(*b));
    m.manifest_blob = std::move(blob);
  }
  if (const json::value* s = o.if_contains("subject")) {
    ATCR_ASSIGN_OR_RETURN(BlobDescriptor d, ParseDescriptor(*s, "subject"));
    m.subject = d.digest;
  }
  if (const json::value* c = o.if_contains("config")) {
    ATCR_ASSIGN_OR_RETURN(BlobDescriptor d, ParseDescriptor(*c, "config"));
    m.blobs.push_back(std::move(d));
  }
  if (const json::value* ls = o.if_contains("layers"); ls != nullptr && ls->is_array()) {
    for (const json::value& l : ls->get_array()) {
      ATCR_ASSIGN_OR_RETURN(BlobDescriptor d, ParseDescriptor(l, "layers[]"));
      m.blobs.push_back(std::move(d));
    }
  }
  if (const json::value* ms = o.if_contains("manifests"); ms != nullptr && ms->is_array()) {
    for (const json::value& c : ms->get_array()) {
      ATCR_ASSIGN_OR_RETURN(BlobDescriptor d, ParseDescriptor(c, "manifests[]"));
      m.manifests.push_back(std::move(d));
    }
  }
  m.created_at = StringField(o, "createdAt");
  return m;
}

Result<TagRecord> ParseTagRecord(const json::value& record) {
  if (!record.is_object()) return InvalidArgument("io.atcr.tag record: not an object");
  const json::object& o = record.get_object();
  TagRecord t;
  t.repository = StringField(o, "repository");
  t.tag = StringField(o, "tag");
  if (t.repository.empty() || t.tag.empty()) {
    return InvalidArgument("io.atcr.tag record: repository and tag are required");
  }
  t.manifest_uri = StringField(o, "manifest");
  if (std::string d = StringField(o, "manifestDigest"); !d.empty()) {
    if (auto parsed = oci::Digest::Parse(d); parsed.ok()) t.digest = *parsed;
  }
  if (t.manifest_uri.empty() && !t.digest) {
    return InvalidArgument("io.atcr.tag record: neither manifest nor manifestDigest");
  }
  return t;
}

Result<ProfileRecord> ParseProfileRecord(const json::value& record) {
  if (!record.is_object()) return InvalidArgument("io.atcr.sailor.profile record: not an object");
  ProfileRecord p;
  p.default_hold = StringField(record.get_object(), "defaultHold");
  return p;
}

}  // namespace atcr::appview
