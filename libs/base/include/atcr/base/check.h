// ATCR_CHECK: assert an invariant of atcr's own code (never input). Aborts with file:line.
#pragma once

namespace atcr::internal {
[[noreturn]] void CheckFailed(const char* expr, const char* file, int line);
}

#define ATCR_CHECK(cond) \
  ((cond) ? (void)0 : ::atcr::internal::CheckFailed(#cond, __FILE__, __LINE__))
