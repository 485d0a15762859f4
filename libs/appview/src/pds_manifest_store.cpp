#include "atcr/appview/pds_manifest_store.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include <algorithm>
#include <set>

#include "atcr/atproto/syntax.h"
#include "atcr/base/hash.h"
#include "atcr/base/time.h"
#include "internal/record_scanner.h"

namespace atcr::appview {
namespace json = boost::json;

struct PdsManifestStore::Found {
  CachedManifest manifest;
};

namespace {

constexpr size_t kMaxScanRecords = 20000;

Error ManifestUnknown(const std::string& what) { return NotFound(what, "MANIFEST_UNKNOWN"); }

bool DigestMatches(std::string_view bytes, const oci::Digest& d) {
  if (!d.supported()) return false;
  Hasher h(d.hash_algorithm());
  h.Update(bytes);
  Bytes out = h.Finish();
  return oci::Digest::FromHash(d.hash_algorithm(), out) == d;
}

std::string RkeyOf(std::string_view uri) {
  auto parsed = atproto::AtUri::Parse(uri);
  return parsed.ok() ? parsed->rkey : std::string();
}

// A failure to reach the owner's PDS is UNAVAILABLE to the registry client, not a 500.
Error Upstream(const Error& e, std::string_view what) {
  if (e.code == ErrorCode::kNotFound || !e.wire.empty()) {
    if (e.code == ErrorCode::kUnavailable || e.code == ErrorCode::kDeadlineExceeded) {
      return Error(e.code, std::string(what) + ": " + e.message, "UNAVAILABLE");
    }
    return e;
  }
  if (e.code == ErrorCode::kUnavailable || e.code == ErrorCode::kDeadlineExceeded) {
    return Error(e.code, std::string(what) + ": " + e.message, "UNAVAILABLE");
  }
  return e;
}

json::object BlobInfoJson(const oci::Descriptor& d, bool with_media_type) {
  json::object o;
  o["digest"] = d.digest.str();
  o["size"] = d.size;
  if (with_media_type) o["mediaType"] = d.media_type;
  return o;
}

json::object NotifyBody(const std::string& repository, const std::string& did,
                        const oci::Digest& digest, const std::string& tag,
                        std::string_view operation, const oci::Manifest& m) {
  json::object info;
  info["mediaType"] = m.media_type;
  if (m.config) info["config"] = BlobInfoJson(*m.config, false);
  if (!m.is_index) {
    json::array layers;
    for (const auto& l : m.layers) layers.emplace_back(BlobInfoJson(l, true));
    info["layers"] = std::move(layers);
  } else {
    json::array children;
    for (const auto& c : m.manifests) {
      json::object o = BlobInfoJson(c, true);
      if (c.platform) {
        json::object p;
        p["architecture"] = c.platform->architecture;
        p["os"] = c.platform->os;
        o["platform"] = std::move(p);
      }
      children.emplace_back(std::move(o));
    }
    info["manifests"] = std::move(children);
  }
  json::object body;
  body["repository"] = repository;
  body["userDid"] = did;
  body["manifestDigest"] = digest.str();
  if (!tag.empty()) body["tag"] = tag;
  body["operation"] = operation;
  body["manifest"] = std::move(info);
  return body;
}

}  // namespace

PdsManifestStore::PdsManifestStore(std::shared_ptr<AppViewServices> services)
    : s_(std::move(services)),
      scanner_(std::make_unique<internal::RecordScanner>(s_->pds, std::chrono::seconds(30),
                                                         kMaxScanRecords)) {}

PdsManifestStore::~PdsManifestStore() = default;

void PdsManifestStore::InvalidateRecord(const std::string& did, std::string_view collection,
                                        std::string_view rkey) {
  s_->cache->InvalidateRecord(did, collection, rkey);
  scanner_->Invalidate(did);
  if (collection == kProfileCollection) s_->profiles->Invalidate(did);
}

// The record of a manifest: by atcr's derived key, else by scanning the collection.
namespace {

struct ManifestHit {
  RecordValue record;
  ManifestRecord parsed;
  std::string rkey;
};

bool Matches(const ManifestRecord& m, const std::string& repository, const oci::Digest& d) {
  return m.repository == repository && m.digest == d;
}

}  // namespace

Task<Result<PdsManifestStore::Found>> PdsManifestStore::FindManifest(const RepositoryOwner& owner,
                                                                     const oci::Digest& digest,
                                                                     uint64_t generation) {
  if (auto hit = s_->cache->GetManifest(owner.did, owner.repository, digest)) {
    co_return Found{std::move(*hit)};
  }
  std::optional<ManifestHit> hit;
  {
    std::string pds = owner.pds_endpoint;
    std::string did = owner.did;
    std::string collection(kManifestCollection);
    std::string rkey = ManifestRkey(owner.repository, digest);
    auto rec = co_await s_->pds->GetRecord(pds, did, collection, rkey);
    if (rec.ok()) {
      auto parsed = ParseManifestRecord(rec->value);
      if (parsed.ok() && Matches(*parsed, owner.repository, digest)) {
        hit = ManifestHit{std::move(*rec), std::move(*parsed), rkey};
      }
    } else if (rec.error().code != ErrorCode::kNotFound) {
      co_return Upstream(rec.error(), "reading the manifest record");
    }
  }
  if (!hit) {
    std::string pds = owner.pds_endpoint;
    std::string did = owner.did;
    std::string collection(kManifestCollection);
    auto all = co_await scanner_->List(pds, did, collection);
    if (!all.ok()) co_return Upstream(all.error(), "listing manifest records");
    for (const RecordValue& r : **all) {
      auto parsed = ParseManifestRecord(r.value);
      if (parsed.ok() && Matches(*parsed, owner.repository, digest)) {
        hit = ManifestHit{r, std::move(*parsed), RkeyOf(r.uri)};
        break;
      }
    }
  }
  if (!hit) {
    co_return ManifestUnknown("no manifest " + digest.str() + " in " + owner.repository);
  }
  if (!hit->parsed.manifest_blob) {
    co_return ManifestUnknown("the record of " + digest.str() +
                              " has no manifestBlob; its exact bytes are not available");
  }
  std::string pds = owner.pds_endpoint;
  std::string did = owner.did;
  std::string cid = hit->parsed.manifest_blob->cid;
  auto bytes = co_await s_->pds->GetBlob(pds, did, cid);
  if (!bytes.ok()) co_return Upstream(bytes.error(), "reading the manifest blob");
  if (!DigestMatches(*bytes, digest)) {
    co_return Error(ErrorCode::kDataLoss, "the manifest blob " + cid + " of " + owner.did +
                                              " does not hash to " + digest.str());
  }
  CachedManifest m;
  m.bytes = std::move(*bytes);
  m.media_type = hit->parsed.media_type;
  if (m.media_type.empty()) {
    auto p = oci::ParseManifest(m.bytes, "");
    if (p.ok()) m.media_type = p->media_type;
  }
  m.digest = digest;
  m.rkey = hit->rkey;
  m.hold_did = hit->parsed.hold_did;
  s_->cache->PutManifest(owner.did, owner.repository, m, generation);

  // Remember what this manifest makes readable, and where (pulls redirect to that hold).
  ManifestRecord parsed = hit->parsed;
  RepositoryOwner o = owner;
  auto index = s_->index;
  std::string media_type = m.media_type;
  std::string rkey = m.rkey;
  co_await net::RunBlocking([&] {
    Status st = index->PutManifest({o.did, o.repository, digest.str(), rkey, parsed.hold_did,
                                    media_type});
    if (st.ok()) st = index->PutOwner(o.did, o.handle);
    if (st.ok() && !parsed.hold_did.empty()) {
      for (const BlobDescriptor& b : parsed.blobs) {
        st = index->Link({o.did, o.repository, b.digest.str(), static_cast<uint64_t>(b.size),
                          parsed.hold_did},
                         /*replace=*/false);
        if (!st.ok()) break;
      }
    }
    if (!st.ok()) spdlog::warn("appview: index update failed: {}", st.error().ToString());
  });
  co_return Found{std::move(m)};
}

Task<Result<CachedTag>> PdsManifestStore::FindTag(const RepositoryOwner& owner,
                                                  const std::string& tag, uint64_t generation) {
  std::optional<TagRecord> found;
  std::string found_rkey;
  {
    std::string pds = owner.pds_endpoint;
    std::string did = owner.did;
    std::string collection(kTagCollection);
    std::string rkey = TagRkey(owner.repository, tag);
    auto rec = co_await s_->pds->GetRecord(pds, did, collection, rkey);
    if (rec.ok()) {
      auto parsed = ParseTagRecord(rec->value);
      if (parsed.ok() && parsed->repository == owner.repository && parsed->tag == tag) {
        found = std::move(*parsed);
        found_rkey = rkey;
      }
    } else if (rec.error().code != ErrorCode::kNotFound) {
      co_return Upstream(rec.error(), "reading the tag record");
    }
  }
  if (!found) {
    std::string pds = owner.pds_endpoint;
    std::string did = owner.did;
    std::string collection(kTagCollection);
    auto all = co_await scanner_->List(pds, did, collection);
    if (!all.ok()) co_return Upstream(all.error(), "listing tag records");
    for (const RecordValue& r : **all) {
      auto parsed = ParseTagRecord(r.value);
      if (parsed.ok() && parsed->repository == owner.repository && parsed->tag == tag) {
        found = std::move(*parsed);
        found_rkey = RkeyOf(r.uri);
        break;
      }
    }
  }
  if (!found) co_return ManifestUnknown("no tag " + tag + " in " + owner.repository);

  CachedTag t;
  t.rkey = found_rkey;
  if (found->digest) {
    t.digest = *found->digest;
  } else {
    // Only the manifest's AT-URI: its record names the digest.
    auto uri = atproto::AtUri::Parse(found->manifest_uri);
    if (!uri.ok() || uri->collection != kManifestCollection) {
      co_return ManifestUnknown("tag " + tag + " points at " + found->manifest_uri);
    }
    std::string pds = owner.pds_endpoint;
    std::string did = owner.did;
    std::string collection(kManifestCollection);
    std::string rkey = uri->rkey;
    auto rec = co_await s_->pds->GetRecord(pds, did, collection, rkey);
    if (!rec.ok()) {
      if (rec.error().code == ErrorCode::kNotFound) {
        co_return ManifestUnknown("tag " + tag + " points at a deleted manifest");
      }
      co_return Upstream(rec.error(), "reading the tagged manifest record");
    }
    auto parsed = ParseManifestRecord(rec->value);
    if (!parsed.ok()) co_return ManifestUnknown("tag " + tag + ": " + parsed.error().message);
    t.digest = parsed->digest;
  }
  s_->cache->PutTag(owner.did, owner.repository, tag, t, generation);
  co_return t;
}

Task<Result<registry::StoredManifest>> PdsManifestStore::Get(std::string_view repository,
                                                             const oci::Reference& reference) {
  auto owner = co_await s_->names->Resolve(repository);
  if (!owner.ok()) co_return owner.error();
  uint64_t gen = s_->cache->Generation(owner->did);
  oci::Digest digest;
  if (reference.is_digest()) {
    digest = reference.digest();
  } else {
    std::optional<CachedTag> tag = s_->cache->GetTag(owner->did, owner->repository,
                                                     reference.tag());
    if (!tag) {
      auto found = co_await FindTag(*owner, reference.tag(), gen);
      if (!found.ok()) co_return found.error();
      tag = std::move(*found);
    }
    digest = tag->digest;
  }
  auto m = co_await FindManifest(*owner, digest, gen);
  if (!m.ok()) co_return m.error();
  registry::StoredManifest out;
  out.bytes = std::move(m->manifest.bytes);
  out.media_type = std::move(m->manifest.media_type);
  out.digest = m->manifest.digest;
  co_return out;
}

Task<Status> PdsManifestStore::Put(const registry::ManifestPut& put) {
  auto owner_r = co_await s_->names->Resolve(put.repository);
  if (!owner_r.ok()) co_return owner_r.error();
  const RepositoryOwner owner = std::move(*owner_r);
  auto manifest = oci::ParseManifest(put.bytes, put.media_type);
  if (!manifest.ok()) co_return manifest.error();

  // The hold: where this image's blobs went (their links), else the push hold.
  std::string hold_did;
  {
    std::vector<std::string> blob_digests;
    if (manifest->config) blob_digests.push_back(manifest->config->digest.str());
    for (const auto& l : manifest->layers) {
      if (l.urls.empty()) blob_digests.push_back(l.digest.str());
    }
    auto index = s_->index;
    Status st;
    co_await net::RunBlocking([&] {
      for (const std::string& d : blob_digests) {
        auto link = index->GetLink(owner.did, owner.repository, d);
        if (!link.ok()) {
          st = link.error();
          return;
        }
        if (link->has_value()) {
          hold_did = (*link)->hold_did;
          return;
        }
      }
    });
    if (!st.ok()) co_return st;
  }
  if (hold_did.empty() && manifest->is_index) {
    for (const auto& c : manifest->manifests) {
      if (auto hit = s_->cache->GetManifest(owner.did, owner.repository, c.digest)) {
        if (!hit->hold_did.empty()) {
          hold_did = hit->hold_did;
          break;
        }
      }
    }
  }
  if (hold_did.empty()) {
    std::string did = owner.did;
    std::string pds = owner.pds_endpoint;
    auto h = co_await s_->profiles->PushHold(did, pds);
    if (!h.ok()) co_return h.error();
    hold_did = *h;
  }

  const std::string rkey = ManifestRkey(owner.repository, put.digest);
  const std::string uri = RecordUri(owner.did, kManifestCollection, rkey);
  // Re-pushing a manifest only moves tags.
  bool exists = false;
  {
    std::string pds = owner.pds_endpoint;
    std::string did = owner.did;
    std::string collection(kManifestCollection);
    std::string key = rkey;
    auto rec = co_await s_->pds->GetRecord(pds, did, collection, key);
    if (rec.ok()) {
      auto parsed = ParseManifestRecord(rec->value);
      exists = parsed.ok() && Matches(*parsed, owner.repository, put.digest) &&
               parsed->manifest_blob.has_value();
    } else if (rec.error().code != ErrorCode::kNotFound) {
      co_return Upstream(rec.error(), "reading the manifest record");
    }
  }

  json::object record;
  if (!exists) {
    std::string bytes = put.bytes;
    std::string media_type = put.media_type;
    std::function<Task<Result<BlobRef>>(const PdsSession&)> upload =
        [this, bytes, media_type](const PdsSession& s) -> Task<Result<BlobRef>> {
      std::string pds = s.pds_endpoint;
      std::string access = s.access_jwt;
      std::string b = bytes;
      std::string mt = media_type;
      co_return co_await s_->pds->UploadBlob(std::move(pds), std::move(access), std::move(b),
                                             std::move(mt));
    };
    auto blob = co_await s_->sessions->WithSession<BlobRef>(owner.did, std::move(upload));
    if (!blob.ok()) co_return Upstream(blob.error(), "uploading the manifest blob");
    ManifestRecordInput in;
    in.repository = owner.repository;
    in.digest = put.digest;
    in.media_type = put.media_type;
    in.manifest = &*manifest;
    in.hold_did = hold_did;
    in.manifest_blob = *blob;
    in.created_at = NowRfc3339();
    record = BuildManifestRecord(in);
    json::value as_value = record;
    Status valid = s_->lexicons->ValidateRecord(kManifestCollection, as_value, rkey);
    if (!valid.ok()) {
      co_return InvalidArgument("the io.atcr.manifest record would not validate: " +
                                    valid.error().message,
                                "MANIFEST_INVALID");
    }
  }
  std::vector<std::pair<std::string, json::object>> tag_records;
  const std::string now = NowRfc3339();
  for (const std::string& tag : put.tags) {
    json::object t = BuildTagRecord(owner.repository, tag, uri, put.digest.str(), now);
    json::value as_value = t;
    std::string tag_rkey = TagRkey(owner.repository, tag);
    Status valid = s_->lexicons->ValidateRecord(kTagCollection, as_value, tag_rkey);
    if (!valid.ok()) {
      co_return InvalidArgument("the io.atcr.tag record would not validate: " +
                                    valid.error().message,
                                "MANIFEST_INVALID");
    }
    tag_records.emplace_back(std::move(tag_rkey), std::move(t));
  }

  // The hold checks the quota and records the layers before the manifest becomes visible.
  if (!hold_did.empty()) {
    auto hold = co_await s_->holds->Info(hold_did);
    if (hold.ok()) {
      json::object body = NotifyBody(owner.repository, owner.did, put.digest,
                                     put.tags.empty() ? std::string() : put.tags.front(), "push",
                                     *manifest);
      std::function<Task<Result<json::object>>(std::string)> call =
          [this, hold = *hold, body](std::string token) -> Task<Result<json::object>> {
        HoldInfo h = hold;
        json::object b = body;
        co_return co_await s_->holds->NotifyManifest(std::move(h), std::move(token),
                                                     std::move(b));
      };
      std::string did = owner.did;
      std::string lxm = "io.atcr.hold.notifyManifest";
      // A push whose blobs were all mounted uploaded nothing, so the user may not be crew yet.
      auto notified =
          co_await WithHoldTokenJoiningCrew<json::object>(*s_, did, *hold, lxm, std::move(call));
      if (!notified.ok()) {
        if (notified.error().wire == "QuotaExceeded") {
          co_return Error(ErrorCode::kResourceExhausted,
                          "storage quota exceeded on hold " + hold_did + ": " +
                              notified.error().message,
                          "DENIED");
        }
        spdlog::warn("appview: notifyManifest(push) to {} failed: {}", hold_did,
                     notified.error().ToString());
      }
    } else {
      spdlog::warn("appview: hold {} unreachable for notifyManifest: {}", hold_did,
                   hold.error().message);
    }
  }

  auto write = [this, &owner](std::string collection, std::string key,
                              json::object rec) -> Task<Status> {
    std::function<Task<Result<std::string>>(const PdsSession&)> call =
        [this, collection, key, rec](const PdsSession& s) -> Task<Result<std::string>> {
      std::string pds = s.pds_endpoint;
      std::string access = s.access_jwt;
      std::string repo = s.did;
      std::string c = collection;
      std::string k = key;
      json::object r = rec;
      co_return co_await s_->pds->PutRecord(std::move(pds), std::move(access), std::move(repo),
                                            std::move(c), std::move(k), std::move(r));
    };
    auto r = co_await s_->sessions->WithSession<std::string>(owner.did, std::move(call));
    if (!r.ok()) co_return Upstream(r.error(), "writing " + collection + " record");
    co_return Ok();
  };
  if (!exists) {
    std::string collection(kManifestCollection);
    std::string key = rkey;
    ATCR_CO_TRY(co_await write(std::move(collection), std::move(key), std::move(record)));
  }
  for (auto& [tag_rkey, t] : tag_records) {
    std::string collection(kTagCollection);
    std::string key = tag_rkey;
    ATCR_CO_TRY(co_await write(std::move(collection), std::move(key), std::move(t)));
  }

  // Serve what was just written without asking the PDS again.
  s_->cache->InvalidateManifest(owner.did, owner.repository, put.digest);
  for (const std::string& tag : put.tags) s_->cache->InvalidateTag(owner.did, owner.repository, tag);
  scanner_->Invalidate(owner.did);
  uint64_t gen = s_->cache->Generation(owner.did);
  CachedManifest cm;
  cm.bytes = put.bytes;
  cm.media_type = put.media_type;
  cm.digest = put.digest;
  cm.rkey = rkey;
  cm.hold_did = hold_did;
  s_->cache->PutManifest(owner.did, owner.repository, std::move(cm), gen);
  for (const std::string& tag : put.tags) {
    s_->cache->PutTag(owner.did, owner.repository, tag,
                      CachedTag{put.digest, TagRkey(owner.repository, tag)}, gen);
  }
  auto index = s_->index;
  std::string digest = put.digest.str();
  std::string media_type = put.media_type;
  co_await net::RunBlocking([&] {
    Status st = index->PutManifest({owner.did, owner.repository, digest, rkey, hold_did,
                                    media_type});
    if (st.ok()) st = index->PutOwner(owner.did, owner.handle);
    if (!st.ok()) spdlog::warn("appview: index update failed: {}", st.error().ToString());
  });
  spdlog::info("appview: pushed {}/{}@{} ({} tags) to {}'s PDS, blobs on {}", owner.handle,
               owner.repository, put.digest.str(), put.tags.size(), owner.did, hold_did);
  co_return Ok();
}

Task<Status> PdsManifestStore::Delete(std::string_view repository, const oci::Digest& digest) {
  auto owner_r = co_await s_->names->Resolve(repository);
  if (!owner_r.ok()) co_return owner_r.error();
  const RepositoryOwner owner = std::move(*owner_r);

  std::string pds = owner.pds_endpoint;
  std::string did = owner.did;
  std::string manifests(kManifestCollection);
  auto all = co_await scanner_->List(pds, did, manifests);
  if (!all.ok()) co_return Upstream(all.error(), "listing manifest records");
  std::string rkey;
  for (const RecordValue& r : **all) {
    auto parsed = ParseManifestRecord(r.value);
    if (parsed.ok() && Matches(*parsed, owner.repository, digest)) {
      rkey = RkeyOf(r.uri);
      break;
    }
  }
  if (rkey.empty()) co_return ManifestUnknown("no manifest " + digest.str() + " in " + owner.repository);

  std::string tags(kTagCollection);
  auto all_tags = co_await scanner_->List(pds, did, tags);
  if (!all_tags.ok()) co_return Upstream(all_tags.error(), "listing tag records");
  std::vector<std::pair<std::string, std::string>> doomed;  // (collection, rkey)
  std::vector<std::string> tag_names;
  for (const RecordValue& r : **all_tags) {
    auto t = ParseTagRecord(r.value);
    if (!t.ok() || t->repository != owner.repository) continue;
    bool points = (!t->manifest_uri.empty() && RkeyOf(t->manifest_uri) == rkey) ||
                  (t->manifest_uri.empty() && t->digest && *t->digest == digest);
    if (points) {
      doomed.emplace_back(std::string(kTagCollection), RkeyOf(r.uri));
      tag_names.push_back(t->tag);
    }
  }
  doomed.emplace_back(std::string(kManifestCollection), rkey);

  for (auto& [collection, key] : doomed) {
    std::function<Task<Result<bool>>(const PdsSession&)> call =
        [this, collection, key](const PdsSession& s) -> Task<Result<bool>> {
      std::string p = s.pds_endpoint;
      std::string access = s.access_jwt;
      std::string repo = s.did;
      std::string c = collection;
      std::string k = key;
      Status st = co_await s_->pds->DeleteRecord(std::move(p), std::move(access), std::move(repo),
                                                 std::move(c), std::move(k));
      if (!st.ok()) co_return st.error();
      co_return true;
    };
    auto r = co_await s_->sessions->WithSession<bool>(owner.did, std::move(call));
    if (!r.ok()) co_return Upstream(r.error(), "deleting " + collection + " record");
  }

  s_->cache->InvalidateManifest(owner.did, owner.repository, digest);
  for (const std::string& t : tag_names) s_->cache->InvalidateTag(owner.did, owner.repository, t);
  scanner_->Invalidate(owner.did);
  auto index = s_->index;
  std::string d = digest.str();
  co_await net::RunBlocking([&] {
    Status st = index->DeleteManifest(owner.did, owner.repository, d);
    if (!st.ok()) spdlog::warn("appview: index update failed: {}", st.error().ToString());
  });
  co_return Ok();
}

Task<Status> PdsManifestStore::DeleteTag(std::string_view repository, std::string_view tag) {
  auto owner_r = co_await s_->names->Resolve(repository);
  if (!owner_r.ok()) co_return owner_r.error();
  const RepositoryOwner owner = std::move(*owner_r);
  std::string t(tag);
  uint64_t gen = s_->cache->Generation(owner.did);
  s_->cache->InvalidateTag(owner.did, owner.repository, t);  // always ask the PDS
  auto found = co_await FindTag(owner, t, gen + 1);
  if (!found.ok()) co_return found.error();
  std::string rkey = found->rkey;
  std::function<Task<Result<bool>>(const PdsSession&)> call =
      [this, rkey](const PdsSession& s) -> Task<Result<bool>> {
    std::string p = s.pds_endpoint;
    std::string access = s.access_jwt;
    std::string repo = s.did;
    std::string c(kTagCollection);
    std::string k = rkey;
    Status st = co_await s_->pds->DeleteRecord(std::move(p), std::move(access), std::move(repo),
                                               std::move(c), std::move(k));
    if (!st.ok()) co_return st.error();
    co_return true;
  };
  auto r = co_await s_->sessions->WithSession<bool>(owner.did, std::move(call));
  if (!r.ok()) co_return Upstream(r.error(), "deleting the tag record");
  s_->cache->InvalidateTag(owner.did, owner.repository, t);
  scanner_->Invalidate(owner.did);
  co_return Ok();
}

Task<Result<std::vector<oci::Digest>>> PdsManifestStore::FindMissing(
    std::string_view repository, std::span<const oci::Digest> digests) {
  auto owner = co_await s_->names->Resolve(repository);
  if (!owner.ok()) co_return owner.error();
  std::vector<oci::Digest> missing;
  for (const oci::Digest& d : digests) {
    if (s_->cache->GetManifest(owner->did, owner->repository, d)) continue;
    uint64_t gen = s_->cache->Generation(owner->did);
    auto found = co_await FindManifest(*owner, d, gen);
    if (found.ok()) continue;
    if (found.error().code != ErrorCode::kNotFound) co_return found.error();
    missing.push_back(d);
  }
  co_return missing;
}

Task<Result<std::vector<std::string>>> PdsManifestStore::ListTags(std::string_view repository,
                                                                  std::string_view after,
                                                                  size_t limit) {
  auto owner = co_await s_->names->Resolve(repository);
  if (!owner.ok()) co_return owner.error();
  std::string pds = owner->pds_endpoint;
  std::string did = owner->did;
  std::string tags_collection(kTagCollection);
  auto all = co_await scanner_->List(pds, did, tags_collection);
  if (!all.ok()) co_return Upstream(all.error(), "listing tag records");
  std::set<std::string> tags;
  for (const RecordValue& r : **all) {
    auto t = ParseTagRecord(r.value);
    if (t.ok() && t->repository == owner->repository) tags.insert(t->tag);
  }
  if (tags.empty()) {
    std::string manifests(kManifestCollection);
    auto ms = co_await scanner_->List(pds, did, manifests);
    if (!ms.ok()) co_return Upstream(ms.error(), "listing manifest records");
    bool any = false;
    for (const RecordValue& r : **ms) {
      auto m = ParseManifestRecord(r.value);
      if (m.ok() && m->repository == owner->repository) {
        any = true;
        break;
      }
    }
    if (!any) {
      co_return NotFound("repository " + std::string(repository) + " has no manifests",
                         "NAME_UNKNOWN");
    }
  }
  std::vector<std::string> out;
  for (const std::string& t : tags) {
    if (!after.empty() && t <= after) continue;
    if (out.size() >= limit) break;
    out.push_back(t);
  }
  co_return out;
}

Task<Result<std::vector<std::string>>> PdsManifestStore::ListRepositories(std::string_view after,
                                                                          size_t limit) {
  Result<std::vector<std::string>> out = std::vector<std::string>();
  std::string a(after);
  auto index = s_->index;
  co_await net::RunBlocking([&] { out = index->Catalog(a, limit); });
  co_return out;
}

Task<Result<std::vector<oci::Descriptor>>> PdsManifestStore::Referrers(
    std::string_view repository, const oci::Digest& subject,
    std::optional<std::string_view> artifact_type) {
  std::vector<oci::Descriptor> out;
  auto owner = co_await s_->names->Resolve(repository);
  if (!owner.ok()) {
    if (owner.error().code == ErrorCode::kNotFound) co_return out;
    co_return owner.error();
  }
  std::string pds = owner->pds_endpoint;
  std::string did = owner->did;
  std::string manifests(kManifestCollection);
  auto all = co_await scanner_->List(pds, did, manifests);
  if (!all.ok()) co_return Upstream(all.error(), "listing manifest records");
  std::vector<oci::Digest> candidates;
  for (const RecordValue& r : **all) {
    auto m = ParseManifestRecord(r.value);
    if (m.ok() && m->repository == owner->repository && m->subject && *m->subject == subject) {
      candidates.push_back(m->digest);
    }
  }
  for (const oci::Digest& d : candidates) {
    uint64_t gen = s_->cache->Generation(owner->did);
    auto found = co_await FindManifest(*owner, d, gen);
    if (!found.ok()) {
      if (found.error().code == ErrorCode::kNotFound) continue;
      co_return found.error();
    }
    auto parsed = oci::ParseManifest(found->manifest.bytes, found->manifest.media_type);
    if (!parsed.ok()) continue;
    oci::Descriptor desc;
    desc.media_type = found->manifest.media_type;
    desc.digest = d;
    desc.size = static_cast<int64_t>(found->manifest.bytes.size());
    desc.artifact_type = parsed->EffectiveArtifactType();
    if (parsed->is_index && parsed->artifact_type.empty()) desc.artifact_type.clear();
    desc.annotations = parsed->annotations;
    if (artifact_type && desc.artifact_type != *artifact_type) continue;
    out.push_back(std::move(desc));
  }
  std::sort(out.begin(), out.end(),
            [](const oci::Descriptor& a, const oci::Descriptor& b) { return a.digest < b.digest; });
  co_return out;
}

Task<Result<std::string>> PdsManifestStore::RepositoryHold(RepositoryOwner owner) {
  Result<std::optional<std::string>> known = std::optional<std::string>();
  auto index = s_->index;
  co_await net::RunBlocking([&] { known = index->RepositoryHold(owner.did, owner.repository); });
  if (!known.ok()) co_return known.error();
  if (known->has_value()) co_return **known;
  std::string pds = owner.pds_endpoint;
  std::string did = owner.did;
  std::string manifests(kManifestCollection);
  auto all = co_await scanner_->List(pds, did, manifests);
  if (!all.ok()) co_return Upstream(all.error(), "listing manifest records");
  std::string newest_at;
  std::string hold;
  for (const RecordValue& r : **all) {
    auto m = ParseManifestRecord(r.value);
    if (m.ok() && m->repository == owner.repository && !m->hold_did.empty() &&
        m->created_at >= newest_at) {
      newest_at = m->created_at;
      hold = m->hold_did;
    }
  }
  co_return hold;
}

Task<Status> PdsManifestStore::NotifyPull(std::string name, oci::Digest digest) {
  auto owner = co_await s_->names->Resolve(name);
  if (!owner.ok()) co_return owner.error();
  auto session = co_await s_->sessions->Current(owner->did);
  if (!session.ok()) co_return Ok();  // no session of the owner here: nobody to mint a token
  uint64_t gen = s_->cache->Generation(owner->did);
  auto found = co_await FindManifest(*owner, digest, gen);
  if (!found.ok()) co_return found.error();
  if (found->manifest.hold_did.empty()) co_return Ok();
  auto parsed = oci::ParseManifest(found->manifest.bytes, found->manifest.media_type);
  if (!parsed.ok()) co_return parsed.error();
  auto hold = co_await s_->holds->Info(found->manifest.hold_did);
  if (!hold.ok()) co_return hold.error();
  json::object body = NotifyBody(owner->repository, owner->did, digest, "", "pull", *parsed);
  std::function<Task<Result<json::object>>(std::string)> call =
      [this, hold = *hold, body](std::string token) -> Task<Result<json::object>> {
    HoldInfo h = hold;
    json::object b = body;
    co_return co_await s_->holds->NotifyManifest(std::move(h), std::move(token), std::move(b));
  };
  std::string did = owner->did;
  std::string lxm = "io.atcr.hold.notifyManifest";
  auto r = co_await WithHoldToken<json::object>(*s_, did, *hold, lxm, std::move(call));
  if (!r.ok()) co_return r.error();
  co_return Ok();
}

}  // namespace atcr::appview
