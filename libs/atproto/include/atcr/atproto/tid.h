// TID: the 64-bit timestamp identifier used for record keys and commit revisions.
// Layout: top bit 0 | 53 bits of microseconds since the Unix epoch | 10 bits of clock id,
// written as 13 characters of base32-sortable ("234567abcdefghijklmnopqrstuvwxyz"), so string
// order equals numeric order. TidClock hands out strictly increasing TIDs; it is thread-safe.
//
//   atproto::TidClock clock;                 // random clock id
//   std::string rkey = clock.Next().ToString();
//   ATCR_ASSIGN_OR_RETURN(atproto::Tid t, atproto::Tid::Parse(rkey));
//   int64_t us = t.micros();
#pragma once

#include <atomic>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "atcr/base/result.h"

namespace atcr::atproto {

class Tid {
 public:
  static constexpr uint32_t kMaxClockId = 1023;
  static constexpr int64_t kMaxMicros = (int64_t{1} << 53) - 1;

  Tid() = default;  // "2222222222222"
  static Tid FromParts(int64_t micros, uint32_t clock_id);
  static Tid FromInteger(uint64_t value) { return Tid(value & ~(uint64_t{1} << 63)); }
  static Result<Tid> Parse(std::string_view text);

  uint64_t value() const { return value_; }
  int64_t micros() const { return static_cast<int64_t>(value_ >> 10); }
  uint32_t clock_id() const { return static_cast<uint32_t>(value_ & kMaxClockId); }
  std::string ToString() const;

  friend auto operator<=>(const Tid&, const Tid&) = default;

 private:
  explicit Tid(uint64_t v) : value_(v) {}
  uint64_t value_ = 0;
};

// Issues TIDs that strictly increase across all calls on this clock, even when the wall
// clock stalls or steps back: the timestamp part is max(now, last + 1 µs).
class TidClock {
 public:
  using NowFn = std::function<int64_t()>;  // microseconds since the Unix epoch
  TidClock();                              // random clock id, wall clock
  explicit TidClock(uint32_t clock_id, NowFn now = {});

  Tid Next();
  // A TID greater than both `floor` and everything issued before (e.g. floor = a repo's
  // current rev loaded from storage).
  Tid NextAfter(const Tid& floor);
  uint32_t clock_id() const { return clock_id_; }

 private:
  uint32_t clock_id_;
  NowFn now_;
  std::atomic<int64_t> last_micros_{0};
};

}  // namespace atcr::atproto
