// Garbage collection of a hold's blobs: mark (every digest an io.atcr.hold.layer record
// names, every upload in flight) and sweep (delete the other blobs). Online: pushes and pulls
// keep running; a blob written, uploaded to, asked about (getBlob, HEAD) or named by a push
// within the grace period is never deleted, and each deletion re-checks its digest under a
// claim that a concurrent notifyManifest either sees or waits out. Unfinished uploads
// untouched for longer than the upload age are aborted. A dry run reports what would go.
// GarbageCollector comes from Hold::gc(); GcScheduler runs it periodically on its own thread.
// Thread-safe; one run at a time (a second concurrent Run fails with kAborted).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/object.hpp>

#include "atcr/base/result.h"
#include "atcr/net/http.h"

namespace atcr::hold {

struct GcReport {
  bool dry_run = true;
  int64_t started_unix = 0;
  int64_t finished_unix = 0;
  uint64_t blobs_scanned = 0;
  uint64_t blobs_referenced = 0;  // named by a layer record
  uint64_t blobs_protected = 0;   // unreferenced but within the grace period or in flight
  struct Candidate {
    std::string digest;
    uint64_t size = 0;
  };
  std::vector<Candidate> candidates;  // unreferenced and past grace: deleted (or would be)
  uint64_t candidate_bytes = 0;
  uint64_t blobs_deleted = 0;
  uint64_t bytes_deleted = 0;
  uint64_t uploads_aborted = 0;  // stale uploads (dry run: would be)
  std::vector<std::string> errors;

  boost::json::object ToJson() const;
};

class GarbageCollector {
 public:
  virtual ~GarbageCollector() = default;
  virtual net::Task<Result<GcReport>> Run(bool dry_run) = 0;
  virtual std::optional<GcReport> LastReport() const = 0;
};

// Runs gc.Run(dry_run) every `interval` on a thread of its own (first run after
// `first_delay`), logging each report. Stops (and joins) in its destructor.
class GcScheduler {
 public:
  GcScheduler(GarbageCollector& gc, std::chrono::seconds interval, bool dry_run,
              std::chrono::seconds first_delay);
  ~GcScheduler();
  GcScheduler(const GcScheduler&) = delete;
  GcScheduler& operator=(const GcScheduler&) = delete;

  uint64_t runs() const;

 private:
  void Loop();
  GarbageCollector& gc_;
  std::chrono::seconds interval_;
  bool dry_run_;
  std::chrono::seconds first_delay_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  uint64_t runs_ = 0;
  std::thread thread_;
};

}  // namespace atcr::hold
