// RecordScanner: every record of one collection in one repo (listRecords, paged), kept for a
// short TTL. The AppView needs whole collections for tag lists, referrers, deletes that must
// find every tag of a manifest, and for records ATCR wrote under record keys atcr does not
// derive. Invalidated by the AppView's own writes and by the firehose. Bounded by max_records
// per scan. Concurrent scans of one collection share one listing. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "atcr/appview/pds_client.h"
#include "single_flight.h"

namespace atcr::appview::internal {

class RecordScanner {
 public:
  RecordScanner(std::shared_ptr<PdsClient> pds, std::chrono::seconds ttl, size_t max_records)
      : pds_(std::move(pds)), ttl_(ttl), max_records_(max_records) {}

  using Records = std::shared_ptr<const std::vector<RecordValue>>;

  net::Task<Result<Records>> List(std::string pds, std::string did, std::string collection) {
    std::string key = did + " " + collection;
    {
      std::lock_guard lock(mu_);
      auto it = cache_.find(key);
      if (it != cache_.end() && it->second.expires > std::chrono::steady_clock::now()) {
        co_return it->second.records;
      }
    }
    uint64_t gen = Generation(did);
    SingleFlight<Result<Records>>::Make make = [this, pds, did, collection, key,
                                                gen]() -> net::Task<Result<Records>> {
      auto out = std::make_shared<std::vector<RecordValue>>();
      std::string cursor;
      for (;;) {
        std::string p = pds;
        std::string d = did;
        std::string c = collection;
        std::string cur = cursor;
        auto page = co_await pds_->ListRecords(std::move(p), std::move(d), std::move(c), 100,
                                               std::move(cur));
        if (!page.ok()) co_return page.error();
        for (auto& r : page->records) out->push_back(std::move(r));
        if (out->size() > max_records_) {
          co_return ResourceExhausted(did + " has more than " + std::to_string(max_records_) +
                                      " " + collection + " records");
        }
        if (page->cursor.empty() || page->records.empty() || page->cursor == cursor) break;
        cursor = page->cursor;
      }
      Records shared = out;
      std::lock_guard lock(mu_);
      if (GenerationLocked(did) == gen) {
        cache_[key] = {shared, std::chrono::steady_clock::now() + ttl_};
      }
      co_return shared;
    };
    co_return co_await flights_.Do(key, std::move(make));
  }

  void Invalidate(const std::string& did) {
    std::lock_guard lock(mu_);
    ++generations_[did];
    for (auto it = cache_.begin(); it != cache_.end();) {
      if (it->first.starts_with(did + " ")) {
        it = cache_.erase(it);
      } else {
        ++it;
      }
    }
  }

 private:
  uint64_t Generation(const std::string& did) {
    std::lock_guard lock(mu_);
    return GenerationLocked(did);
  }
  uint64_t GenerationLocked(const std::string& did) {
    auto it = generations_.find(did);
    return it == generations_.end() ? 0 : it->second;
  }

  struct Entry {
    Records records;
    std::chrono::steady_clock::time_point expires;
  };
  std::shared_ptr<PdsClient> pds_;
  std::chrono::seconds ttl_;
  size_t max_records_;
  std::mutex mu_;
  std::map<std::string, Entry> cache_;
  std::map<std::string, uint64_t> generations_;
  SingleFlight<Result<Records>> flights_;
};

}  // namespace atcr::appview::internal
