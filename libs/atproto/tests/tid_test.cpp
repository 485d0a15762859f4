#include "atcr/atproto/tid.h"

#include <algorithm>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "atcr/atproto/syntax.h"
#include "test_util.h"

namespace atcr::atproto {
namespace {

TEST(Tid, ParseAndFormatRoundTrip) {
  auto lines = testing::VectorLines("syntax/tid_syntax_valid.txt");
  ASSERT_GT(lines.size(), 0u);
  for (const auto& l : lines) {
    auto t = Tid::Parse(l);
    ASSERT_TRUE(t.ok()) << l;
    EXPECT_EQ(t->ToString(), l);
  }
  EXPECT_EQ(Tid().ToString(), "2222222222222");
  EXPECT_FALSE(Tid::Parse("zzzzzzzzzzzzz").ok());
}

TEST(Tid, PartsSurviveRoundTrip) {
  // 2023-10-30T22:25:23.123456Z
  int64_t us = 1698704723123456;
  Tid t = Tid::FromParts(us, 517);
  EXPECT_EQ(t.micros(), us);
  EXPECT_EQ(t.clock_id(), 517u);
  auto back = Tid::Parse(t.ToString());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, t);
  EXPECT_EQ(t.ToString()[0], '3');  // current-era TIDs start with 3
}

TEST(Tid, StringOrderIsNumericOrder) {
  Tid a = Tid::FromParts(1000, 5), b = Tid::FromParts(1000, 6), c = Tid::FromParts(1001, 0);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(a.ToString(), b.ToString());
  EXPECT_LT(b.ToString(), c.ToString());
}

TEST(TidClock, StrictlyIncreasesWhenClockStallsOrGoesBack) {
  int64_t now = 1'700'000'000'000'000;
  TidClock clock(7, [&] { return now; });
  Tid a = clock.Next();
  Tid b = clock.Next();  // same microsecond
  now -= 5'000'000;      // wall clock steps back 5 s
  Tid c = clock.Next();
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(a.clock_id(), 7u);
  EXPECT_TRUE(ValidateTid(c.ToString()).ok());
}

TEST(TidClock, NextAfterExceedsFloor) {
  TidClock clock(1, [] { return int64_t{1000}; });
  Tid floor = Tid::FromParts(5'000'000, 1023);
  Tid t = clock.NextAfter(floor);
  EXPECT_GT(t, floor);
  EXPECT_GT(clock.Next(), t);
}

TEST(TidClock, UniqueAcrossThreads) {
  TidClock clock;
  constexpr int kThreads = 4, kPer = 2000;
  std::vector<std::vector<Tid>> got(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < kPer; ++j) got[i].push_back(clock.Next());
    });
  }
  for (auto& t : threads) t.join();
  std::set<Tid> all;
  for (const auto& v : got) {
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(all.size(), size_t{kThreads * kPer});
}

}  // namespace
}  // namespace atcr::atproto
