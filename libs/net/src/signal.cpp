// Signal: a flag plus, while a coroutine waits, a timer on a strand of the waiter's executor.
// Notify() sets the flag and posts one cancel of that timer to the strand. The waiting
// coroutine runs on its own strand so the posted cancel can only run once the timer wait has
// started; a per-wait id keeps a late cancel from cutting a later wait short.
#include "atcr/net/signal.h"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <mutex>
#include <optional>

#include "atcr/base/check.h"

namespace atcr::net {

namespace asio = boost::asio;

struct Signal::State {
  std::mutex mu;
  bool notified = false;     // guarded by mu
  bool waiting = false;      // a Wait is in progress
  bool wake_posted = false;  // a cancel for the current wait is already on its way
  uint64_t wait_id = 0;
  asio::steady_timer* timer = nullptr;     // the current wait's timer (lives on strand)
  std::optional<asio::any_io_executor> strand;
};

namespace {

Task<bool> WaitOnStrand(std::shared_ptr<Signal::State> s, asio::any_io_executor strand,
                        std::chrono::milliseconds timeout) {
  asio::steady_timer timer(strand, timeout);
  {
    std::lock_guard lock(s->mu);
    if (s->notified) {
      s->notified = false;
      co_return true;
    }
    s->waiting = true;
    s->wake_posted = false;
    ++s->wait_id;
    s->timer = &timer;
    s->strand = strand;
  }
  // Unregisters on every path, including the frame being destroyed with its io_context.
  struct Unregister {
    Signal::State& s;
    ~Unregister() {
      std::lock_guard lock(s.mu);
      s.waiting = false;
      s.timer = nullptr;
      s.strand.reset();
    }
  } unregister{*s};
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  std::lock_guard lock(s->mu);
  bool notified = s->notified;
  s->notified = false;
  co_return notified;
}

}  // namespace

Signal::Signal() : state_(std::make_shared<State>()) {}
Signal::~Signal() = default;

void Signal::Notify() {
  std::lock_guard lock(state_->mu);
  state_->notified = true;
  if (!state_->waiting || state_->wake_posted) return;
  state_->wake_posted = true;
  // Posted under the lock: while waiting is set the waiter's frame, and so its executor, is
  // alive.
  asio::post(*state_->strand, [s = state_, id = state_->wait_id] {
    std::lock_guard lock(s->mu);
    if (s->waiting && s->wait_id == id && s->timer != nullptr) s->timer->cancel();
  });
}

Task<bool> Signal::Wait(std::chrono::milliseconds timeout) {
  auto s = state_;
  {
    std::lock_guard lock(s->mu);
    ATCR_CHECK(!s->waiting);  // one waiter at a time
    if (s->notified || timeout.count() <= 0) {
      bool notified = s->notified;
      s->notified = false;
      co_return notified;
    }
  }
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  asio::any_io_executor strand = asio::make_strand(ex);
  auto op = asio::co_spawn(strand, WaitOnStrand(std::move(s), strand, timeout),
                           asio::use_awaitable);
  co_return co_await std::move(op);
}

}  // namespace atcr::net
