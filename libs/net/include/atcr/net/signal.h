// Signal: an awaitable cross-thread wakeup. Writers on any thread call Notify() (never blocks);
// one coroutine at a time awaits Wait(timeout), which returns true when Notify() was called
// since the previous Wait returned (notifications coalesce), false on timeout. Used by the
// PDS firehose: commits notify, each subscribeRepos session waits. Notify() and Wait() may race
// freely (no lost wakeup); the Signal may be destroyed once no Wait is in progress, even with
// Notify()s still in flight on other executors.
//
//   while (ws.is_open()) {
//     co_await signal.Wait(std::chrono::seconds(1));  // then read new events and send them
//   }
#pragma once

#include <chrono>
#include <memory>

#include "atcr/net/http.h"

namespace atcr::net {

class Signal {
 public:
  Signal();
  ~Signal();
  Signal(const Signal&) = delete;
  Signal& operator=(const Signal&) = delete;

  // Thread-safe; wakes the waiter (if any) or makes the next Wait return true at once.
  void Notify();
  // Call from a coroutine; at most one Wait in progress at a time (a second one is a bug and
  // aborts). A timeout <= 0 only checks for a pending notification.
  Task<bool> Wait(std::chrono::milliseconds timeout);

  struct State;  // implementation detail (signal.cpp)

 private:
  std::shared_ptr<State> state_;
};

}  // namespace atcr::net
