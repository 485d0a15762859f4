// Runs a blocking function returning a value on net::RunBlocking and hands the value back to
// the calling coroutine. The function must not throw.
#pragma once

#include <optional>
#include <type_traits>
#include <utility>

#include "atcr/net/http.h"

namespace atcr::registry::internal {

template <typename F>
net::Task<std::invoke_result_t<F&>> Blocking(F fn) {
  std::optional<std::invoke_result_t<F&>> out;
  co_await net::RunBlocking([&] { out.emplace(fn()); });
  co_return std::move(*out);
}

}  // namespace atcr::registry::internal
