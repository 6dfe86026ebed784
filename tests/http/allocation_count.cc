// Counts heap allocations, so routes_test.cc can show that matching a path allocates
// nothing. A program may replace the global operator new once; pando_http_routes_test does,
// here, in a file of its own so that the compiler never sees these definitions inlined into
// the code that calls them. Under AddressSanitizer, whose runtime brings its own, nothing is
// replaced and nothing counted.
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PANDO_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define PANDO_ASAN 1
#endif

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

uint64_t AllocationCount() { return g_allocations.load(std::memory_order_relaxed); }

#ifdef PANDO_ASAN
bool AllocationsCounted() { return false; }
#else
bool AllocationsCounted() { return true; }

void* operator new(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#endif
