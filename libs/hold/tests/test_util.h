// Helpers for the hold's unit tests: run a coroutine to completion, temp directories.
#pragma once

#include <stdlib.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>

#include "atcr/net/http.h"

namespace atcr::hold::testing {

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
