// Runs a blocking call (SQLite, files) on the blocking pool from a coroutine and returns its
// value. Pass lambdas that capture by reference only: they are trivially destructible, so the
// call is safe inside a co_await expression (the GCC 12 temporary pitfall, see net/http.h).
//
//   Result<CommitInfo> root = co_await internal::Blocking([&] { return store.GetRoot(did); });
#pragma once

#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "atcr/net/http.h"

namespace atcr::pds::internal {

template <typename F>
net::Task<std::invoke_result_t<F&>> Blocking(F fn) {
  std::optional<std::invoke_result_t<F&>> out;
  std::function<void()> job = [&] { out.emplace(fn()); };
  co_await net::RunBlocking(std::move(job));
  co_return std::move(*out);
}

}  // namespace atcr::pds::internal
