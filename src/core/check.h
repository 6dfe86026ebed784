// CHECK and DCHECK: always-on and debug-only invariant assertions.
//
// A failed CHECK means a bug in Pando, never bad input: input errors are reported with a
// Status. The process prints where it failed and aborts, so a core dump or sanitizer report
// shows the state.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace pando::internal {
[[noreturn]] inline void CheckFailed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "CHECK failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}
}  // namespace pando::internal

#define CHECK(cond) \
  ((cond) ? static_cast<void>(0) : ::pando::internal::CheckFailed(#cond, __FILE__, __LINE__))

#ifdef NDEBUG
#define DCHECK(cond) static_cast<void>(0)
#else
#define DCHECK(cond) CHECK(cond)
#endif
