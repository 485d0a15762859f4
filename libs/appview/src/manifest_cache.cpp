#include "atcr/appview/manifest_cache.h"

#include "atcr/appview/records.h"

namespace atcr::appview {
namespace {

std::string ManifestKey(std::string_view did, std::string_view repo, const oci::Digest& d) {
  std::string k = "m|";
  k += did;
  k += "|";
  k += repo;
  k += "|";
  k += d.str();
  return k;
}

std::string TagKey(std::string_view did, std::string_view repo, std::string_view tag) {
  std::string k = "t|";
  k += did;
  k += "|";
  k += repo;
  k += "|";
  k += tag;
  return k;
}

std::string RkeyKey(std::string_view did, std::string_view collection, std::string_view rkey) {
  std::string k(did);
  k += "|";
  k += collection;
  k += "|";
  k += rkey;
  return k;
}

constexpr uint64_t kEntryOverhead = 256;

}  // namespace

uint64_t ManifestCache::Generation(const std::string& did) const {
  std::lock_guard lock(mu_);
  auto it = generations_.find(did);
  return it == generations_.end() ? 0 : it->second;
}

std::optional<CachedManifest> ManifestCache::GetManifest(const std::string& did,
                                                         std::string_view repository,
                                                         const oci::Digest& digest) {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(ManifestKey(did, repository, digest));
  if (it == by_key_.end()) {
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->manifest;
}

std::optional<CachedTag> ManifestCache::GetTag(const std::string& did, std::string_view repository,
                                               std::string_view tag) {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(TagKey(did, repository, tag));
  if (it == by_key_.end()) {
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->tag;
}

void ManifestCache::PutManifest(const std::string& did, std::string_view repository,
                                CachedManifest m, uint64_t generation) {
  Node n;
  n.key = ManifestKey(did, repository, m.digest);
  n.did = did;
  n.rkey_key = RkeyKey(did, kManifestCollection, m.rkey);
  n.size = m.bytes.size() + kEntryOverhead;
  n.manifest = std::move(m);
  std::lock_guard lock(mu_);
  InsertLocked(std::move(n), generation);
}

void ManifestCache::PutTag(const std::string& did, std::string_view repository,
                           std::string_view tag, CachedTag t, uint64_t generation) {
  Node n;
  n.key = TagKey(did, repository, tag);
  n.did = did;
  n.rkey_key = RkeyKey(did, kTagCollection, t.rkey);
  n.size = kEntryOverhead;
  n.tag = std::move(t);
  std::lock_guard lock(mu_);
  InsertLocked(std::move(n), generation);
}

void ManifestCache::InsertLocked(Node node, uint64_t generation) {
  auto g = generations_.find(node.did);
  if ((g == generations_.end() ? 0 : g->second) != generation) return;  // raced an invalidation
  if (node.size > max_bytes_) return;
  if (auto it = by_key_.find(node.key); it != by_key_.end()) EraseLocked(it->second);
  if (auto it = by_rkey_.find(node.rkey_key); it != by_rkey_.end()) EraseLocked(it->second);
  bytes_ += node.size;
  lru_.push_front(std::move(node));
  by_key_[lru_.front().key] = lru_.begin();
  by_rkey_[lru_.front().rkey_key] = lru_.begin();
  Evict();
}

void ManifestCache::EraseLocked(List::iterator it) {
  bytes_ -= it->size;
  by_key_.erase(it->key);
  if (auto r = by_rkey_.find(it->rkey_key); r != by_rkey_.end() && r->second == it) {
    by_rkey_.erase(r);
  }
  lru_.erase(it);
}

void ManifestCache::Evict() {
  while (bytes_ > max_bytes_ && !lru_.empty()) EraseLocked(std::prev(lru_.end()));
}

void ManifestCache::BumpLocked(const std::string& did) { ++generations_[did]; }

void ManifestCache::InvalidateRecord(const std::string& did, std::string_view collection,
                                     std::string_view rkey) {
  std::lock_guard lock(mu_);
  BumpLocked(did);
  if (auto it = by_rkey_.find(RkeyKey(did, collection, rkey)); it != by_rkey_.end()) {
    EraseLocked(it->second);
  }
}

void ManifestCache::InvalidateManifest(const std::string& did, std::string_view repository,
                                       const oci::Digest& digest) {
  std::lock_guard lock(mu_);
  BumpLocked(did);
  if (auto it = by_key_.find(ManifestKey(did, repository, digest)); it != by_key_.end()) {
    EraseLocked(it->second);
  }
}

void ManifestCache::InvalidateTag(const std::string& did, std::string_view repository,
                                  std::string_view tag) {
  std::lock_guard lock(mu_);
  BumpLocked(did);
  if (auto it = by_key_.find(TagKey(did, repository, tag)); it != by_key_.end()) {
    EraseLocked(it->second);
  }
}

void ManifestCache::InvalidateOwner(const std::string& did) {
  std::lock_guard lock(mu_);
  BumpLocked(did);
  for (auto it = lru_.begin(); it != lru_.end();) {
    auto next = std::next(it);
    if (it->did == did) EraseLocked(it);
    it = next;
  }
}

uint64_t ManifestCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}
size_t ManifestCache::entries() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}
uint64_t ManifestCache::hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}
uint64_t ManifestCache::misses() const {
  std::lock_guard lock(mu_);
  return misses_;
}

}  // namespace atcr::appview
