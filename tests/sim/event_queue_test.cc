// The calendar queue against a naive reference (a heap ordered by time, then push order),
// and the slot pool that holds messages in flight.
#include "sim/event_queue.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <queue>
#include <tuple>
#include <vector>

#include "sim/slot_pool.h"

namespace pando::sim {
namespace {

struct RefItem {
  TimeMs at;
  uint64_t seq;
  Event e;
  bool operator>(const RefItem& o) const { return std::tie(at, seq) > std::tie(o.at, o.seq); }
};
using RefQueue = std::priority_queue<RefItem, std::vector<RefItem>, std::greater<>>;

TEST(EventQueue, PopsInTimeThenPushOrder) {
  EventQueue q;
  q.Push(5, Event::Make(EventKind::kTimer, 1, 0));
  q.Push(3, Event::Make(EventKind::kMessage, 2, 7));
  q.Push(5, Event::Make(EventKind::kPeerDown, 3, 0));
  q.Push(3, Event::Make(EventKind::kAction, 0, 9));
  TimeMs at;
  Event e;
  std::vector<std::pair<TimeMs, uint32_t>> got;
  while (q.PopUntil(100, &at, &e)) got.emplace_back(at, e.target());
  EXPECT_EQ(got, (std::vector<std::pair<TimeMs, uint32_t>>{{3, 2}, {3, 0}, {5, 1}, {5, 3}}));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.now(), 5);
}

TEST(EventQueue, RespectsLimitAndAdvance) {
  EventQueue q;
  q.Push(10, Event::Make(EventKind::kTimer, 1, 0));
  TimeMs at;
  Event e;
  EXPECT_FALSE(q.PopUntil(9, &at, &e));
  EXPECT_EQ(q.now(), 0);
  q.AdvanceTo(9);
  EXPECT_TRUE(q.PopUntil(10, &at, &e));
  EXPECT_EQ(at, 10);
  EXPECT_EQ(e.kind(), EventKind::kTimer);
}

// Far events (beyond the window) pushed early must come out before same-time events pushed
// directly once the window covers that time.
TEST(EventQueue, FarEventsKeepPushOrder) {
  EventQueue q;
  const TimeMs far = EventQueue::kWindowMs * 3 + 17;
  q.Push(far, Event::Make(EventKind::kTimer, 1, 0));
  q.Push(far - EventQueue::kWindowMs, Event::Make(EventKind::kTimer, 2, 0));
  TimeMs at;
  Event e;
  ASSERT_TRUE(q.PopUntil(far, &at, &e));
  EXPECT_EQ(e.target(), 2u);
  q.Push(far, Event::Make(EventKind::kTimer, 3, 0));
  ASSERT_TRUE(q.PopUntil(far, &at, &e));
  EXPECT_EQ(at, far);
  EXPECT_EQ(e.target(), 1u);
  ASSERT_TRUE(q.PopUntil(far, &at, &e));
  EXPECT_EQ(e.target(), 3u);
}

// Random pushes (near, far, at now) interleaved with pops and limits, compared event by event
// with the reference queue.
TEST(EventQueue, MatchesReferenceQueue) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    proto::Rng rng(seed);
    EventQueue q;
    RefQueue ref;
    uint64_t seq = 0;
    uint32_t id = 0;
    for (int step = 0; step < 20'000; ++step) {
      const uint64_t r = rng.Below(100);
      if (r < 55) {
        TimeMs delay;
        const uint64_t shape = rng.Below(10);
        if (shape == 0) {
          delay = 0;
        } else if (shape < 8) {
          delay = static_cast<TimeMs>(rng.Below(300));
        } else {
          delay = static_cast<TimeMs>(rng.Below(3 * EventQueue::kWindowMs));
        }
        const Event e = Event::Make(EventKind::kMessage, id % kMaxNodes, id);
        ++id;
        q.Push(q.now() + delay, e);
        ref.push({q.now() + delay, seq++, e});
      } else {
        const TimeMs limit = q.now() + static_cast<TimeMs>(rng.Below(200));
        TimeMs at;
        Event e;
        const bool popped = q.PopUntil(limit, &at, &e);
        const bool ref_has = !ref.empty() && ref.top().at <= limit;
        ASSERT_EQ(popped, ref_has) << "seed " << seed << " step " << step;
        if (popped) {
          ASSERT_EQ(at, ref.top().at);
          ASSERT_EQ(e.arg, ref.top().e.arg);
          ref.pop();
        } else if (r % 2 == 0) {
          q.AdvanceTo(limit);
        }
      }
      ASSERT_EQ(q.size(), ref.size());
    }
  }
}

TEST(SlotPool, ReusesFreedIndicesAndSpansChunks) {
  SlotPool<std::vector<int>> pool;
  const uint32_t n = SlotPool<std::vector<int>>::kChunkSize + 10;
  for (uint32_t i = 0; i < n; ++i) EXPECT_EQ(pool.Add({static_cast<int>(i)}), i);
  EXPECT_EQ(pool[n - 1], std::vector<int>{static_cast<int>(n - 1)});
  EXPECT_EQ(pool[3], std::vector<int>{3});
  pool.Free(3);
  pool.Free(n - 2);
  EXPECT_EQ(pool.in_use(), n - 2);
  EXPECT_EQ(pool.Add({-1}), n - 2);
  EXPECT_EQ(pool.Add({-2}), 3u);
  EXPECT_EQ(pool[3], std::vector<int>{-2});
  EXPECT_EQ(pool.Add({-3}), n);
  EXPECT_EQ(pool.in_use(), n + 1);
}

}  // namespace
}  // namespace pando::sim
