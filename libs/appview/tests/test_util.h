// Shared pieces of the AppView unit tests: a temp dir and a coroutine runner.
#pragma once

#include <stdlib.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <filesystem>
#include <optional>
#include <string>

#include "atcr/net/http.h"

namespace atcr::appview::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "atcr-appview-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs a coroutine to completion on a private io_context.
template <typename T>
T RunSync(net::Task<T> task) {
  boost::asio::io_context ioc;
  std::optional<T> out;
  std::exception_ptr error;
  boost::asio::co_spawn(
      ioc, [&]() -> net::Task<void> { out.emplace(co_await std::move(task)); },
      [&](std::exception_ptr e) { error = e; });
  ioc.run();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

}  // namespace atcr::appview::testing
