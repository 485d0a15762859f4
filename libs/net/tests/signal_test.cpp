#include "atcr/net/signal.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include "coro_support.h"

namespace atcr::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::RunSync;

TEST(Signal, NotifyBeforeWaitIsKeptAndCoalesced) {
  Signal s;
  s.Notify();
  s.Notify();
  EXPECT_TRUE(RunSync(s.Wait(60000ms)));
  EXPECT_FALSE(RunSync(s.Wait(1ms)));  // both notifications were consumed by one Wait
  EXPECT_FALSE(RunSync(s.Wait(0ms)));
  s.Notify();
  EXPECT_TRUE(RunSync(s.Wait(0ms)));
}

TEST(Signal, TimesOutWithoutNotify) {
  Signal s;
  EXPECT_FALSE(RunSync(s.Wait(20ms)));
}

TEST(Signal, NotifyFromAnotherThreadWakesTheWaiter) {
  Signal s;
  std::thread notifier;
  auto start = Clock::now();
  bool woke = RunSync([&]() -> Task<bool> {
    notifier = std::thread([&] {
      std::this_thread::sleep_for(20ms);  // let the Wait below begin (not an assertion)
      s.Notify();
    });
    co_return co_await s.Wait(120000ms);
  }());
  notifier.join();
  EXPECT_TRUE(woke);
  // A lost wakeup would only end at the 120 s timeout.
  EXPECT_LT(Clock::now() - start, 60s);
}

// Many threads notify while one coroutine (on a multi-threaded io_context, through a strand
// or not) waits in a loop: every notification must be followed by a Wait that returns true
// well before its (long) timeout.
void Stress(bool on_strand) {
  Signal s;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 2000;
  std::atomic<int> produced{0};
  boost::asio::io_context ioc(4);
  std::promise<int> result;
  auto consumer = [&]() -> Task<void> {
    int seen = 0;
    int slow = 0;
    while (seen < kThreads * kPerThread) {
      auto t0 = Clock::now();
      bool notified = co_await s.Wait(120000ms);
      if (Clock::now() - t0 > 30s) ++slow;
      int now = produced.load();
      // A true Wait means something new; a false one (never expected here) means it timed out.
      if (!notified) ++slow;
      seen = now;
    }
    result.set_value(slow);
  };
  if (on_strand) {
    boost::asio::co_spawn(boost::asio::make_strand(ioc), consumer(), boost::asio::detached);
  } else {
    boost::asio::co_spawn(ioc, consumer(), boost::asio::detached);
  }
  std::vector<std::thread> runners;
  for (int i = 0; i < 4; ++i) runners.emplace_back([&] { ioc.run(); });
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        produced.fetch_add(1);
        s.Notify();
        if (i % 64 == 0) std::this_thread::yield();
      }
    });
  }
  for (auto& p : producers) p.join();
  auto f = result.get_future();
  ASSERT_EQ(f.wait_for(100s), std::future_status::ready) << "a wakeup was lost";
  EXPECT_EQ(f.get(), 0);
  for (auto& r : runners) r.join();
}

TEST(Signal, StressManyNotifiers) { Stress(false); }
TEST(Signal, StressManyNotifiersOnStrand) { Stress(true); }

TEST(Signal, DestroyedAfterWaiterWhileNotifiesAreInFlight) {
  for (int round = 0; round < 200; ++round) {
    boost::asio::io_context ioc;
    auto s = std::make_unique<Signal>();
    std::atomic<bool> stop{false};
    bool woke = false;
    boost::asio::co_spawn(
        ioc, [&]() -> Task<void> { woke = co_await s->Wait(60000ms); }, boost::asio::detached);
    std::thread notifier([&] {
      while (!stop.load()) s->Notify();
    });
    ioc.run_one();  // starts the Wait
    while (!woke) ioc.run_one();
    stop.store(true);
    notifier.join();
    s.reset();   // posted cancels may still be queued in ioc
    ioc.run();   // and run after the Signal is gone
    EXPECT_TRUE(woke);
  }
}

}  // namespace
}  // namespace atcr::net
