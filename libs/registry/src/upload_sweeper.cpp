#include "atcr/registry/upload_sweeper.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

namespace atcr::registry {

UploadSweeper::UploadSweeper(std::shared_ptr<UploadStore> uploads, int64_t max_age_seconds,
                             std::chrono::seconds interval)
    : uploads_(std::move(uploads)), max_age_seconds_(max_age_seconds), interval_(interval) {
  thread_ = std::thread([this] { Loop(); });
}

UploadSweeper::~UploadSweeper() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void UploadSweeper::Loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, interval_, [this] { return stop_; })) return;
    }
    boost::asio::io_context ioc;
    boost::asio::co_spawn(
        ioc,
        [this]() -> net::Task<void> {
          auto removed = co_await uploads_->CleanupStale(max_age_seconds_);
          if (!removed.ok()) {
            spdlog::warn("registry: cleaning stale uploads: {}", removed.error().ToString());
          } else if (*removed > 0) {
            spdlog::info("registry: removed {} stale upload sessions", *removed);
          }
        },
        [](std::exception_ptr e) {
          if (e) spdlog::error("registry: upload sweeper failed");
        });
    ioc.run();
  }
}

}  // namespace atcr::registry
