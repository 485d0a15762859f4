#include "atcr/atproto/tid.h"

#include <algorithm>

#include "atcr/atproto/syntax.h"
#include "atcr/base/hash.h"
#include "atcr/base/time.h"

namespace atcr::atproto {
namespace {
constexpr std::string_view kAlphabet = "234567abcdefghijklmnopqrstuvwxyz";
}  // namespace

Tid Tid::FromParts(int64_t micros, uint32_t clock_id) {
  uint64_t us = static_cast<uint64_t>(std::clamp<int64_t>(micros, 0, kMaxMicros));
  return Tid((us << 10) | (clock_id & kMaxClockId));
}

Result<Tid> Tid::Parse(std::string_view text) {
  ATCR_TRY(ValidateTid(text));
  uint64_t v = 0;
  for (char c : text) v = (v << 5) | static_cast<uint64_t>(kAlphabet.find(c));
  return Tid(v);
}

std::string Tid::ToString() const {
  std::string out(13, '2');
  uint64_t v = value_;
  for (int i = 12; i >= 0; --i) {
    out[static_cast<size_t>(i)] = kAlphabet[v & 31];
    v >>= 5;
  }
  return out;
}

TidClock::TidClock() : TidClock(0, {}) {
  Bytes r = RandomBytes(2);
  clock_id_ = ((uint32_t{r[0]} << 8) | r[1]) & Tid::kMaxClockId;
}

TidClock::TidClock(uint32_t clock_id, NowFn now)
    : clock_id_(clock_id & Tid::kMaxClockId), now_(std::move(now)) {
  if (!now_) now_ = [] { return UnixMicros(); };
}

Tid TidClock::Next() { return NextAfter(Tid()); }

Tid TidClock::NextAfter(const Tid& floor) {
  int64_t now = now_();
  // Strictly above the floor's timestamp, whatever its clock id: keeps the TID above it.
  int64_t min_us = floor.value() == 0 ? 0 : floor.micros() + 1;
  int64_t last = last_micros_.load(std::memory_order_relaxed);
  int64_t next;
  do {
    next = std::max({now, last + 1, min_us});
  } while (!last_micros_.compare_exchange_weak(last, next, std::memory_order_relaxed));
  return Tid::FromParts(next, clock_id_);
}

}  // namespace atcr::atproto
