// Manifests (GET/HEAD/PUT/DELETE) and the referrers API.
#include <boost/json.hpp>

#include <algorithm>
#include <set>

#include "atcr/base/hash.h"
#include "atcr/oci/manifest.h"
#include "atcr/oci/media_types.h"
#include "atcr/oci/name.h"
#include "internal/api.h"
#include "internal/descriptor_json.h"

namespace atcr::registry {
namespace json = boost::json;
using internal::ErrorResponse;
using internal::OciError;
using oci::ErrorCodeOci;

namespace {

constexpr size_t kMaxTagsPerPut = 64;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Content negotiation, decided for atcr (the OCI spec mandates none; see README.md):
//  - no Accept header, or one listing */* or application/*: serve whatever is stored;
//  - Accept lists the stored type: serve it;
//  - a Docker schema 2 manifest or list is served whatever Accept says (there is nothing to
//    convert it to);
//  - an OCI manifest or index whose type Accept does not list: 404 MANIFEST_UNKNOWN, as
//    distribution does, so a client that cannot parse OCI types never receives one.
bool Acceptable(const Request& req, std::string_view stored) {
  if (stored == oci::kDockerManifest || stored == oci::kDockerManifestList) return true;
  std::vector<std::string_view> values = req.headers.GetAll("Accept");
  if (values.empty()) return true;
  std::string want = Lower(stored);
  bool any = false;
  for (std::string_view value : values) {
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      std::string_view item = value.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      std::string storage;
      std::string_view essence = oci::MediaTypeEssence(item, storage);
      if (!essence.empty()) {
        any = true;
        if (essence == "*/*" || essence == "application/*" || essence == want) return true;
      }
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }
  return !any;  // an Accept header with nothing in it counts as absent
}

// Error of oci::ParseReference for a request that reads or deletes: a reference that is not
// even a valid tag names nothing, so it is unknown; a malformed digest is DIGEST_INVALID.
Response BadReference(const Error& e, const Request& req, std::string_view name,
                      std::string_view ref) {
  if (e.wire == "DIGEST_INVALID") return ErrorResponse(e, req);
  return OciError(ErrorCodeOci::kManifestUnknown,
                  "manifest " + std::string(ref) + " is not in repository " + std::string(name) +
                      " (" + e.message + ")");
}

bool IsNonDistributable(std::string_view mt) {
  return mt.starts_with("application/vnd.oci.image.layer.nondistributable.") ||
         mt == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
}

std::vector<oci::Digest> Unique(std::vector<oci::Digest> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

}  // namespace

Task<Response> DistributionApi::Impl::GetManifest(Request& req, const std::string& name,
                                                  const std::string& ref_text) {
  auto ref = oci::ParseReference(ref_text);
  if (!ref.ok()) co_return BadReference(ref.error(), req, name, ref_text);
  auto got = co_await manifests->Get(name, *ref);
  if (!got.ok()) co_return ErrorResponse(got.error(), req);
  StoredManifest& m = *got;
  if (!Acceptable(req, m.media_type)) {
    co_return OciError(ErrorCodeOci::kManifestUnknown,
                       "manifest " + ref_text + " is a " + m.media_type +
                           ", which the Accept header does not list");
  }
  Response resp;
  if (internal::IfNoneMatch(req, m.digest)) {
    resp = Response::Empty(304);
  } else {
    resp.status = 200;
    resp.content_length = m.bytes.size();
    resp.body = std::move(m.bytes);
  }
  resp.headers.Set("Content-Type", m.media_type);
  resp.headers.Set("Docker-Content-Digest", m.digest.str());
  resp.headers.Set("ETag", internal::ETag(m.digest));
  co_return resp;
}

Task<Response> DistributionApi::Impl::PutManifest(Request& req, const std::string& name,
                                                  const std::string& ref_text) {
  auto ref = oci::ParseReference(ref_text);
  if (!ref.ok()) {
    if (ref.error().wire == "DIGEST_INVALID") co_return ErrorResponse(ref.error(), req);
    co_return OciError(ErrorCodeOci::kManifestInvalid, "invalid tag: " + ref.error().message);
  }
  std::vector<std::string> tags;
  if (!ref->is_digest()) tags.push_back(ref->tag());
  for (std::string& t : req.QueryAll("tag")) {
    Status st = oci::ValidateTag(t);
    if (!st.ok()) {
      co_return OciError(ErrorCodeOci::kManifestInvalid, "invalid tag: " + st.error().message);
    }
    if (std::find(tags.begin(), tags.end(), t) == tags.end()) tags.push_back(std::move(t));
  }
  if (tags.size() > kMaxTagsPerPut) {
    co_return OciError(ErrorCodeOci::kManifestInvalid,
                       "at most " + std::to_string(kMaxTagsPerPut) + " tags per manifest PUT");
  }

  // The digest algorithm: the client's when it pushes by digest, else sha256.
  HashAlgorithm alg = HashAlgorithm::kSha256;
  if (ref->is_digest()) {
    if (!ref->digest().supported()) {
      co_return OciError(ErrorCodeOci::kDigestInvalid,
                         "unsupported digest algorithm: " + std::string(ref->digest().algorithm()));
    }
    alg = ref->digest().hash_algorithm();
  }

  // Body: at most 4 MiB. Over the limit -> 413 before anything is read when the length is
  // announced, or as soon as the limit is crossed.
  constexpr size_t kMax = oci::kMaxManifestBytes;
  auto too_big = [] {
    return OciError(ErrorCodeOci::kManifestInvalid,
                    "manifest is larger than the limit of " + std::to_string(kMax) + " bytes",
                    {}, 413);
  };
  if (auto len = req.body->content_length(); len && *len > kMax) co_return too_big();
  req.body->set_limit(kMax);
  auto body = co_await req.body->ReadAll(kMax);
  if (!body.ok()) {
    if (body.error().code == ErrorCode::kResourceExhausted) co_return too_big();
    co_return internal::BodyReadError(body.error(), req, ErrorCodeOci::kManifestInvalid);
  }
  std::string content_type(req.headers.Get("Content-Type").value_or(""));
  auto parsed = oci::ParseManifest(*body, content_type);
  if (!parsed.ok()) co_return ErrorResponse(parsed.error(), req);
  const oci::Manifest& man = *parsed;

  Hasher hasher(alg);
  hasher.Update(std::string_view(*body));
  oci::Digest digest = oci::Digest::FromHash(alg, hasher.Finish());
  if (ref->is_digest() && digest != ref->digest()) {
    co_return OciError(ErrorCodeOci::kDigestInvalid,
                       "manifest digest is " + digest.str() + ", not " + ref->digest().str(),
                       internal::DigestDetail(ref->digest()));
  }

  // Every blob and child manifest the manifest references must be in this repository.
  std::vector<oci::Digest> need_blobs, need_manifests, need_any;
  if (man.is_index) {
    for (const oci::Descriptor& d : man.manifests) {
      (oci::IsManifestMediaType(d.media_type) ? need_manifests : need_any).push_back(d.digest);
    }
  } else {
    if (man.config) need_blobs.push_back(man.config->digest);
    for (const oci::Descriptor& d : man.layers) {
      if (IsNonDistributable(d.media_type) && !d.urls.empty()) continue;
      need_blobs.push_back(d.digest);
    }
  }
  std::vector<oci::Digest> missing;
  if (!need_blobs.empty()) {
    std::vector<oci::Digest> unique = Unique(std::move(need_blobs));
    auto m = co_await blobs->FindMissing(name, unique);
    if (!m.ok()) co_return ErrorResponse(m.error(), req);
    missing.insert(missing.end(), m->begin(), m->end());
  }
  if (!need_manifests.empty() || !need_any.empty()) {
    std::vector<oci::Digest> all = need_manifests;
    all.insert(all.end(), need_any.begin(), need_any.end());
    std::vector<oci::Digest> unique = Unique(std::move(all));
    auto m = co_await manifests->FindMissing(name, unique);
    if (!m.ok()) co_return ErrorResponse(m.error(), req);
    // An entry of unknown type may also be a plain blob of the repository.
    std::set<oci::Digest> any(need_any.begin(), need_any.end());
    std::vector<oci::Digest> maybe_blob;
    for (const oci::Digest& d : *m) {
      (any.count(d) ? maybe_blob : missing).push_back(d);
    }
    if (!maybe_blob.empty()) {
      auto b = co_await blobs->FindMissing(name, maybe_blob);
      if (!b.ok()) co_return ErrorResponse(b.error(), req);
      missing.insert(missing.end(), b->begin(), b->end());
    }
  }
  if (!missing.empty()) {
    std::sort(missing.begin(), missing.end());
    std::string msg = "manifest references " + missing.front().str() +
                      ", which is not in repository " + name;
    if (missing.size() > 1) msg += " (and " + std::to_string(missing.size() - 1) + " more)";
    co_return OciError(ErrorCodeOci::kManifestBlobUnknown, msg,
                       internal::DigestDetail(missing.front()));
  }

  ManifestPut put;
  put.repository = name;
  put.media_type = man.media_type;
  put.digest = digest;
  put.tags = tags;
  if (man.subject) {
    put.subject = man.subject->digest;
    put.referrer.media_type = man.media_type;
    put.referrer.digest = digest;
    put.referrer.size = static_cast<int64_t>(body->size());
    put.referrer.artifact_type = man.EffectiveArtifactType();
    put.referrer.annotations = man.annotations;
  }
  put.bytes = std::move(*body);
  Status st = co_await manifests->Put(put);
  if (!st.ok()) co_return ErrorResponse(st.error(), req);

  Response resp = Response::Empty(201);
  resp.headers.Set("Location", internal::ManifestLocation(name, digest));
  resp.headers.Set("Docker-Content-Digest", digest.str());
  if (man.subject) resp.headers.Set("OCI-Subject", man.subject->digest.str());
  if (ref->is_digest()) {
    for (const std::string& t : tags) resp.headers.Add("OCI-Tag", t);
  }
  co_return resp;
}

Task<Response> DistributionApi::Impl::DeleteManifest(Request& req, const std::string& name,
                                                     const std::string& ref_text) {
  if (!options.delete_enabled) {
    co_return OciError(ErrorCodeOci::kUnsupported, "deletes are disabled on this registry", {},
                       405);
  }
  auto ref = oci::ParseReference(ref_text);
  if (!ref.ok()) co_return BadReference(ref.error(), req, name, ref_text);
  Status st;
  if (ref->is_digest()) {
    st = co_await manifests->Delete(name, ref->digest());
  } else {
    st = co_await manifests->DeleteTag(name, ref->tag());
  }
  if (!st.ok()) co_return ErrorResponse(st.error(), req);
  co_return Response::Empty(202);
}

Task<Response> DistributionApi::Impl::Referrers(Request& req, const std::string& name,
                                                const std::string& digest_text) {
  auto subject = oci::Digest::Parse(digest_text);
  if (!subject.ok()) co_return ErrorResponse(subject.error(), req);
  std::optional<std::string> filter = req.Query("artifactType");
  if (filter && filter->empty()) filter.reset();
  std::optional<std::string_view> filter_view;
  if (filter) filter_view = *filter;
  auto found = co_await manifests->Referrers(name, *subject, filter_view);
  if (!found.ok()) co_return ErrorResponse(found.error(), req);

  json::array list;
  for (const oci::Descriptor& d : *found) list.emplace_back(internal::DescriptorJson(d));
  json::object index;
  index["schemaVersion"] = 2;
  index["mediaType"] = oci::kOciIndex;
  index["manifests"] = std::move(list);
  Response resp = Response::Json(200, json::serialize(index));
  resp.headers.Set("Content-Type", std::string(oci::kOciIndex));
  if (filter) resp.headers.Set("OCI-Filters-Applied", "artifactType");
  co_return resp;
}

}  // namespace atcr::registry
