// Mark-and-sweep over the hold's blobs (see gc.h for the rules) and its scheduler thread.
#include "atcr/hold/gc.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <unordered_set>

#include "atcr/base/time.h"
#include "internal/gc_impl.h"
#include "internal/hold_impl.h"

namespace atcr::hold {

json::object GcReport::ToJson() const {
  json::object o;
  o["dryRun"] = dry_run;
  o["startedAt"] = FormatRfc3339(started_unix * 1000000);
  o["finishedAt"] = FormatRfc3339(finished_unix * 1000000);
  o["blobsScanned"] = blobs_scanned;
  o["blobsReferenced"] = blobs_referenced;
  o["blobsProtected"] = blobs_protected;
  json::array cands;
  for (const Candidate& c : candidates) {
    cands.push_back(json::object{{"digest", c.digest}, {"size", c.size}});
  }
  o["candidates"] = std::move(cands);
  o["candidateBytes"] = candidate_bytes;
  o["blobsDeleted"] = blobs_deleted;
  o["bytesDeleted"] = bytes_deleted;
  o["uploadsAborted"] = uploads_aborted;
  json::array errs;
  for (const std::string& e : errors) errs.emplace_back(e);
  o["errors"] = std::move(errs);
  return o;
}

namespace internal {
namespace {

class Collector final : public GarbageCollector {
 public:
  explicit Collector(Hold::Impl& hold) : h_(hold) {}

  std::optional<GcReport> LastReport() const override {
    std::lock_guard lock(mu_);
    return last_;
  }

  net::Task<Result<GcReport>> Run(bool dry_run) override {
    if (running_.exchange(true)) {
      co_return Error(ErrorCode::kAborted, "a GC run is already in progress", "GcRunning");
    }
    struct Done {
      std::atomic<bool>& flag;
      ~Done() { flag = false; }
    } done{running_};

    GcReport rep;
    rep.dry_run = dry_run;
    const int64_t now = h_.Now();
    rep.started_unix = now;
    const int64_t cutoff = now - h_.config.gc_grace_seconds;
    const int64_t upload_cutoff = now - h_.config.gc_upload_max_age_seconds;
    // Interest recorded before this process started is unknown: until a grace period has
    // passed, nothing unreferenced is old enough to be sure about.
    const bool warming_up = now - h_.started_unix < h_.config.gc_grace_seconds;

    // Stale uploads first, so what remains in the index is what is really in flight.
    auto uploads = co_await Blocking([&] { return h_.index->Uploads(); });
    if (!uploads.ok()) co_return std::move(uploads).error();
    std::unordered_set<std::string> in_flight;
    for (const UploadRow& u : *uploads) {
      if (u.touched_unix >= upload_cutoff) {
        in_flight.insert(u.digest);
        continue;
      }
      ++rep.uploads_aborted;
      if (dry_run) continue;
      Status st = co_await h_.storage->AbortUpload(u.id);
      if (!st.ok() && st.error().code != ErrorCode::kNotFound) {
        rep.errors.push_back("abort upload " + u.id + ": " + st.error().message);
        continue;
      }
      Status rm = co_await Blocking([&] { return h_.index->RemoveUpload(u.id); });
      if (!rm.ok()) rep.errors.push_back("forget upload " + u.id + ": " + rm.error().message);
    }
    if (!dry_run) {
      // Uploads the index does not know (a crash between StartUpload and the index row).
      auto orphans = co_await h_.storage->CleanupUploads(h_.config.gc_upload_max_age_seconds);
      if (orphans.ok()) {
        rep.uploads_aborted += *orphans;
      } else {
        rep.errors.push_back("clean up uploads: " + orphans.error().message);
      }
    }

    // Mark.
    auto referenced = co_await Blocking([&] { return h_.index->ReferencedDigests(); });
    if (!referenced.ok()) co_return std::move(referenced).error();
    auto blobs = co_await h_.storage->List();
    if (!blobs.ok()) co_return std::move(blobs).error();

    for (const StoredBlob& b : *blobs) {
      ++rep.blobs_scanned;
      const std::string& d = b.digest.str();
      if (referenced->contains(d)) {
        ++rep.blobs_referenced;
      } else if (warming_up || in_flight.contains(d) || b.modified_unix > cutoff ||
                 h_.activity.TouchedAfter(d, cutoff)) {
        ++rep.blobs_protected;
      } else {
        rep.candidates.push_back({d, b.size});
        rep.candidate_bytes += b.size;
      }
    }

    // Sweep: each deletion re-checks its digest while holding a claim that pushes see.
    if (!dry_run) {
      for (const GcReport::Candidate& c : rep.candidates) {
        if (!h_.activity.Claim(c.digest, cutoff)) continue;
        auto still = co_await Blocking([&] { return h_.index->IsReferenced(c.digest); });
        if (!still.ok() || *still) {
          h_.activity.Release(c.digest);
          if (!still.ok()) rep.errors.push_back("recheck " + c.digest + ": " + still.error().message);
          continue;
        }
        auto digest = oci::Digest::Parse(c.digest);
        Status st;
        if (digest.ok()) {
          st = co_await h_.storage->Delete(*digest);
        } else {
          st = digest.error();
        }
        h_.activity.Release(c.digest);
        if (st.ok()) {
          ++rep.blobs_deleted;
          rep.bytes_deleted += c.size;
        } else if (st.error().code != ErrorCode::kNotFound) {
          rep.errors.push_back("delete " + c.digest + ": " + st.error().message);
        }
      }
    }
    h_.activity.Prune(cutoff);
    rep.finished_unix = h_.Now();
    spdlog::info(
        "hold gc{}: {} blobs scanned, {} referenced, {} protected, {} candidates ({} bytes), "
        "{} deleted ({} bytes), {} uploads aborted, {} errors",
        dry_run ? " (dry run)" : "", rep.blobs_scanned, rep.blobs_referenced, rep.blobs_protected,
        rep.candidates.size(), rep.candidate_bytes, rep.blobs_deleted, rep.bytes_deleted,
        rep.uploads_aborted, rep.errors.size());
    {
      std::lock_guard lock(mu_);
      last_ = rep;
    }
    co_return rep;
  }

 private:
  Hold::Impl& h_;
  std::atomic<bool> running_{false};
  mutable std::mutex mu_;
  std::optional<GcReport> last_;
};

}  // namespace

std::unique_ptr<GarbageCollector> NewGarbageCollector(Hold::Impl& hold) {
  return std::make_unique<Collector>(hold);
}

}  // namespace internal

GcScheduler::GcScheduler(GarbageCollector& gc, std::chrono::seconds interval, bool dry_run,
                         std::chrono::seconds first_delay)
    : gc_(gc), interval_(interval), dry_run_(dry_run), first_delay_(first_delay) {
  thread_ = std::thread([this] { Loop(); });
}

GcScheduler::~GcScheduler() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

uint64_t GcScheduler::runs() const {
  std::lock_guard lock(mu_);
  return runs_;
}

void GcScheduler::Loop() {
  std::chrono::seconds wait = first_delay_;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, wait, [this] { return stop_; })) return;
    }
    boost::asio::io_context ioc;
    boost::asio::co_spawn(
        ioc,
        [this]() -> net::Task<void> {
          auto report = co_await gc_.Run(dry_run_);
          if (!report.ok()) spdlog::warn("hold gc: {}", report.error().message);
        },
        boost::asio::detached);
    ioc.run();
    {
      std::lock_guard lock(mu_);
      ++runs_;
    }
    wait = interval_;
  }
}

}  // namespace atcr::hold
