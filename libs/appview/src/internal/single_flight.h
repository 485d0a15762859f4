// SingleFlight: at most one call per key in flight; concurrent callers for the same key wait
// for the leader's result instead of starting their own (token refresh per DID, service-token
// fetches per (did, aud, lxm), PDS scans). Waiters resume on their own executors. Thread-safe.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "atcr/net/http.h"

namespace atcr::appview::internal {

template <typename T>
class SingleFlight {
 public:
  using Make = std::function<net::Task<T>()>;

  // Runs make() unless a call for `key` is already running, in which case its result is
  // shared. make() must not throw (atcr coroutines report errors as values).
  net::Task<T> Do(std::string key, Make make) {
    std::shared_ptr<Call> call;
    bool leader = false;
    {
      std::lock_guard lock(mu_);
      auto it = calls_.find(key);
      if (it == calls_.end()) {
        call = std::make_shared<Call>();
        calls_.emplace(key, call);
        leader = true;
      } else {
        call = it->second;
      }
    }
    if (!leader) {
      std::shared_ptr<const T> shared = co_await Wait(call);
      co_return *shared;
    }
    T result = co_await make();
    auto shared = std::make_shared<const T>(result);
    std::vector<std::function<void(std::shared_ptr<const T>)>> waiters;
    {
      std::lock_guard lock(mu_);
      calls_.erase(key);
      std::lock_guard call_lock(call->mu);
      call->result = shared;
      waiters.swap(call->waiters);
    }
    for (auto& w : waiters) w(shared);
    co_return result;
  }

 private:
  struct Call {
    std::mutex mu;
    std::shared_ptr<const T> result;
    std::vector<std::function<void(std::shared_ptr<const T>)>> waiters;
  };

  static net::Task<std::shared_ptr<const T>> Wait(std::shared_ptr<Call> call) {
    auto init = [](auto handler, std::shared_ptr<Call> c) {
      auto ex = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                    boost::asio::execution::outstanding_work.tracked);
      auto h = std::make_shared<decltype(handler)>(std::move(handler));
      auto resume = [h, ex](std::shared_ptr<const T> r) {
        boost::asio::dispatch(ex, [h, r]() mutable { std::move(*h)(std::move(r)); });
      };
      std::unique_lock lock(c->mu);
      if (c->result) {
        auto r = c->result;
        lock.unlock();
        resume(std::move(r));
        return;
      }
      c->waiters.push_back(std::move(resume));
    };
    co_return co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                                   void(std::shared_ptr<const T>)>(
        init, boost::asio::use_awaitable, std::move(call));
  }

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Call>> calls_;
};

}  // namespace atcr::appview::internal
