// Helpers for the hold's unit tests: run a coroutine to completion, temp directories.
#pragma once

#include <stdlib.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>

#include "atcr/net/http.h"

namespace atcr::hold::testing {

// A request body served from memory, in reads of at most `chunk` bytes; optionally failing
// after `fail_after` bytes (a client that went away mid-part).
class StringBody final : public net::BodyReader {
 public:
  explicit StringBody(std::string data, size_t chunk = 1 << 16,
                      std::optional<size_t> fail_after = std::nullopt)
      : data_(std::move(data)), chunk_(chunk), fail_after_(fail_after) {}
  net::Task<Result<size_t>> Read(std::span<uint8_t> buf) override {
    if (fail_after_ && pos_ >= *fail_after_) {
      co_return Error(ErrorCode::kUnavailable, "client went away");
    }
    size_t n = std::min({buf.size(), chunk_, data_.size() - pos_});
    if (fail_after_) n = std::min(n, *fail_after_ - pos_);
    std::memcpy(buf.data(), data_.data() + pos_, n);
    pos_ += n;
    co_return n;
  }
  std::optional<uint64_t> content_length() const override { return data_.size(); }
  void set_limit(uint64_t max_bytes) override { limit_ = max_bytes; }
  uint64_t limit() const override { return limit_; }
  uint64_t bytes_read() const override { return pos_; }

 private:
  std::string data_;
  size_t chunk_;
  std::optional<size_t> fail_after_;
  size_t pos_ = 0;
  uint64_t limit_ = UINT64_MAX;
};

template <typename T>
T RunSync(net::Task<T> task) {
  boost::asio::io_context ioc;
  std::optional<T> out;
  std::exception_ptr failure;
  boost::asio::co_spawn(
      ioc, [&]() -> net::Task<void> { out.emplace(co_await std::move(task)); },
      [&](std::exception_ptr e) { failure = e; });
  ioc.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "atcr-hold-test-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    if (p == nullptr) std::abort();
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace atcr::hold::testing
