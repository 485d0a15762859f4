// RunBlocking: the process-wide bounded pool for blocking work (file I/O, fsync, SQLite).
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <exception>
#include <thread>

#include "atcr/net/http.h"

namespace atcr::net {
namespace {

boost::asio::thread_pool& BlockingPool() {
  // Never destroyed: handlers may still be queued when static destructors run at exit.
  static auto* pool = new boost::asio::thread_pool(
      std::max<unsigned>(4, 2 * std::max(1u, std::thread::hardware_concurrency())));
  return *pool;
}

}  // namespace

Task<void> RunBlocking(std::function<void()> fn) {
  auto init = [](auto handler, std::function<void()> work) {
    // Keep the caller's executor alive (outstanding work) while fn runs on the pool.
    auto ex = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                  boost::asio::execution::outstanding_work.tracked);
    boost::asio::post(BlockingPool(), [handler = std::move(handler), work = std::move(work),
                                       ex = std::move(ex)]() mutable {
      std::exception_ptr error;
      try {
        work();
      } catch (...) {
        error = std::current_exception();
      }
      boost::asio::dispatch(ex, [handler = std::move(handler), error]() mutable {
        std::move(handler)(error);
      });
    });
  };
  co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                       void(std::exception_ptr)>(init, boost::asio::use_awaitable,
                                                                 std::move(fn));
}

}  // namespace atcr::net
