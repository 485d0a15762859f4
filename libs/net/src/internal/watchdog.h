// Watchdog: one timer per connection that closes the socket when a deadline passes, so every
// socket operation (Beast reads, writes, sendfile waits, connects) is bounded without a timer
// per operation. Moving the deadline later is a plain store; only moving it earlier than the
// armed expiry touches the timer. All calls must come from the strand the watchdog runs on.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <utility>

namespace atcr::net::internal {

using Clock = std::chrono::steady_clock;

class Watchdog : public std::enable_shared_from_this<Watchdog> {
 public:
  // Starts a watchdog on ex (a strand); on_expire runs on that strand when a deadline passes.
  static std::shared_ptr<Watchdog> Start(const boost::asio::any_io_executor& ex,
                                         std::function<void()> on_expire) {
    auto w = std::shared_ptr<Watchdog>(new Watchdog(ex, std::move(on_expire)));
    boost::asio::co_spawn(ex, Loop(w), boost::asio::detached);
    return w;
  }

  void ExpireAt(Clock::time_point t) {
    deadline_ = t;
    if (t < armed_) timer_.cancel();  // wake the loop so it re-arms earlier
  }
  void ExpireAfter(Clock::duration d) { ExpireAt(Clock::now() + d); }
  void Disarm() { deadline_ = Clock::time_point::max(); }
  // Ends the loop; on_expire is never called after Stop().
  void Stop() {
    stopped_ = true;
    timer_.cancel();
  }
  bool fired() const { return fired_; }
  void reset_fired() { fired_ = false; }

 private:
  Watchdog(const boost::asio::any_io_executor& ex, std::function<void()> on_expire)
      : timer_(ex), on_expire_(std::move(on_expire)) {}

  static boost::asio::awaitable<void> Loop(std::shared_ptr<Watchdog> self) {
    while (!self->stopped_) {
      self->armed_ = self->deadline_;
      self->timer_.expires_at(self->armed_);
      boost::system::error_code ec;
      co_await self->timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (self->stopped_) break;
      if (Clock::now() >= self->deadline_) {
        self->fired_ = true;
        self->deadline_ = Clock::time_point::max();
        self->on_expire_();
      }
    }
    self->on_expire_ = nullptr;
  }

  boost::asio::steady_timer timer_;
  std::function<void()> on_expire_;
  Clock::time_point deadline_ = Clock::time_point::max();
  Clock::time_point armed_ = Clock::time_point::max();
  bool stopped_ = false;
  bool fired_ = false;
};

}  // namespace atcr::net::internal
