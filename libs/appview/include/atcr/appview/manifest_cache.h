// ManifestCache: tag -> digest and (repository, digest) -> exact manifest bytes, in memory,
// so a warm manifest GET or HEAD makes no network call. Entries drop when their record changes
// (own writes, the owner's firehose); a per-owner generation keeps a read that raced such a
// change out. Bounded by bytes (LRU). Used by PdsManifestStore. Thread-safe.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "atcr/oci/digest.h"

namespace atcr::appview {

struct CachedManifest {
  std::string bytes;
  std::string media_type;
  oci::Digest digest;
  std::string rkey;      // io.atcr.manifest record key
  std::string hold_did;  // where its blobs live
};

struct CachedTag {
  oci::Digest digest;
  std::string rkey;  // io.atcr.tag record key
};

class ManifestCache {
 public:
  explicit ManifestCache(uint64_t max_bytes = 64ull << 20) : max_bytes_(max_bytes) {}

  // The owner's generation; pass it back to Put* so an entry read before an invalidation of
  // that owner is not stored after it.
  uint64_t Generation(const std::string& did) const;

  std::optional<CachedManifest> GetManifest(const std::string& did, std::string_view repository,
                                            const oci::Digest& digest);
  std::optional<CachedTag> GetTag(const std::string& did, std::string_view repository,
                                  std::string_view tag);
  void PutManifest(const std::string& did, std::string_view repository, CachedManifest m,
                   uint64_t generation);
  void PutTag(const std::string& did, std::string_view repository, std::string_view tag,
              CachedTag t, uint64_t generation);

  // A record of the owner changed or went away (firehose, own writes): drops what it backed
  // and bumps the owner's generation.
  void InvalidateRecord(const std::string& did, std::string_view collection,
                        std::string_view rkey);
  void InvalidateManifest(const std::string& did, std::string_view repository,
                          const oci::Digest& digest);
  void InvalidateTag(const std::string& did, std::string_view repository, std::string_view tag);
  void InvalidateOwner(const std::string& did);

  uint64_t bytes() const;
  size_t entries() const;
  uint64_t hits() const;
  uint64_t misses() const;

 private:
  struct Node {
    std::string key;  // "m|did|repo|digest" or "t|did|repo|tag"
    std::string did;
    std::string rkey_key;  // "did|collection|rkey"
    std::optional<CachedManifest> manifest;
    std::optional<CachedTag> tag;
    uint64_t size = 0;
  };
  using List = std::list<Node>;

  void EraseLocked(List::iterator it);
  void BumpLocked(const std::string& did);
  void InsertLocked(Node node, uint64_t generation);
  void Evict();

  const uint64_t max_bytes_;
  mutable std::mutex mu_;
  List lru_;  // front = most recently used
  std::unordered_map<std::string, List::iterator> by_key_;
  std::unordered_map<std::string, List::iterator> by_rkey_;
  std::unordered_map<std::string, uint64_t> generations_;
  uint64_t bytes_ = 0;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace atcr::appview
