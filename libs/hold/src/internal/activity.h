// Recent interest in digests, shared by the request paths and GC: a digest touched (written,
// uploaded to, stat'ed, pulled, named by a push) within the grace period is not collected,
// and a deletion in progress is visible to a push naming the digest (which then fails and can
// be retried), and a digest a push has pinned is never claimed — so a push never records a
// layer GC is deleting, whatever the grace period. Thread-safe, in memory.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace atcr::hold::internal {

class DigestActivity {
 public:
  // Records interest at `now`. False when GC is deleting the digest right now.
  bool Touch(const std::string& digest, int64_t now) {
    std::lock_guard lock(mu_);
    int64_t& t = touched_[digest];
    t = std::max(t, now);
    return !deleting_.contains(digest);
  }
  // A request that is about to record the digest (notifyManifest) pins it for its duration;
  // GC never claims a pinned digest. False when GC is deleting it right now (nothing pinned).
  bool Pin(const std::string& digest, int64_t now) {
    std::lock_guard lock(mu_);
    if (deleting_.contains(digest)) return false;
    int64_t& t = touched_[digest];
    t = std::max(t, now);
    ++pins_[digest];
    return true;
  }
  void Unpin(const std::string& digest) {
    std::lock_guard lock(mu_);
    auto it = pins_.find(digest);
    if (it != pins_.end() && --it->second == 0) pins_.erase(it);
  }
  // GC: claims the digest for deletion unless it is pinned or was touched after `cutoff`.
  bool Claim(const std::string& digest, int64_t cutoff) {
    std::lock_guard lock(mu_);
    if (pins_.contains(digest)) return false;
    auto it = touched_.find(digest);
    if (it != touched_.end() && it->second > cutoff) return false;
    deleting_.insert(digest);
    return true;
  }
  void Release(const std::string& digest) {
    std::lock_guard lock(mu_);
    deleting_.erase(digest);
  }
  bool TouchedAfter(const std::string& digest, int64_t cutoff) const {
    std::lock_guard lock(mu_);
    auto it = touched_.find(digest);
    return it != touched_.end() && it->second > cutoff;
  }
  // Forgets touches at or before cutoff (they no longer protect anything).
  void Prune(int64_t cutoff) {
    std::lock_guard lock(mu_);
    for (auto it = touched_.begin(); it != touched_.end();) {
      it = it->second <= cutoff ? touched_.erase(it) : std::next(it);
    }
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return touched_.size();
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, int64_t> touched_;
  std::unordered_set<std::string> deleting_;
  std::unordered_map<std::string, int> pins_;
};

}  // namespace atcr::hold::internal
