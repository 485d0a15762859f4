// UploadSweeper: a background thread that calls UploadStore::CleanupStale every `interval`
// so abandoned upload sessions (a client that died mid-push) do not hold disk forever.
// Stops and joins in the destructor. Used by `atcr registry serve`.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "atcr/registry/upload_store.h"

namespace atcr::registry {

class UploadSweeper {
 public:
  UploadSweeper(std::shared_ptr<UploadStore> uploads, int64_t max_age_seconds,
                std::chrono::seconds interval = std::chrono::hours(1));
  ~UploadSweeper();
  UploadSweeper(const UploadSweeper&) = delete;
  UploadSweeper& operator=(const UploadSweeper&) = delete;

 private:
  void Loop();

  std::shared_ptr<UploadStore> uploads_;
  int64_t max_age_seconds_;
  std::chrono::seconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace atcr::registry
