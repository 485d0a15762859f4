// Internal helpers of the hold: running blocking work from coroutines.
#pragma once

#include <optional>
#include <type_traits>
#include <utility>

#include "atcr/net/http.h"

namespace atcr::hold::internal {

// Runs fn() on net's blocking pool and returns its result. Pass lambdas that capture by
// reference only (trivially destructible, so safe inside a co_await expression on GCC 12).
template <typename F>
auto Blocking(F fn) -> net::Task<std::invoke_result_t<F&>> {
  std::optional<std::invoke_result_t<F&>> out;
  co_await net::RunBlocking([&] { out.emplace(fn()); });
  co_return std::move(*out);
}

}  // namespace atcr::hold::internal
