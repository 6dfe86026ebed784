// FairQueue: deficit round robin between groups of arriving work, its bounds and its
// counters, driven item by item.
#include "proto/fair_queue.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace pando::proto {
namespace {

// An item is its number, so tests can see the order.
using Queue = FairQueue<int>;

FairQueueLimits Limits(uint64_t quantum, uint64_t group_max = 1 << 20,
                       uint64_t total_max = 1 << 22) {
  FairQueueLimits l;
  l.quantum_bytes = quantum;
  l.group_bytes_max = group_max;
  l.total_bytes_max = total_max;
  return l;
}

// Pops until `bytes` have been served (or nothing is left); returns the bytes per group.
std::map<uint32_t, uint64_t> Serve(Queue& q, uint64_t bytes) {
  std::map<uint32_t, uint64_t> by_group;
  uint64_t served = 0;
  while (served < bytes) {
    auto s = q.Pop();
    if (!s) break;
    by_group[s->group] += s->bytes;
    served += s->bytes;
  }
  return by_group;
}

TEST(FairQueueTest, OneGroupIsFirstInFirstOut) {
  Queue q(Limits(100));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(q.Push(0, i, 30 + 20 * (i % 3), 1));
  for (int i = 0; i < 10; ++i) {
    auto s = q.Pop();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->item, i);
  }
  EXPECT_FALSE(q.Pop());
  EXPECT_TRUE(q.empty());
}

TEST(FairQueueTest, BusyGroupsShareBytesEquallyWhateverTheirItemSizes) {
  // Group 1 sends 1,500-byte items, group 2 100-byte items, group 3 700-byte items: byte
  // shares come out equal, not item shares.
  Queue q(Limits(1'000, 1 << 24, 1 << 26));
  const std::map<uint32_t, uint64_t> size = {{1, 1'500}, {2, 100}, {3, 700}};
  for (int i = 0; i < 4'000; ++i) {
    for (const auto& [g, bytes] : size) ASSERT_TRUE(q.Push(g, i, bytes, 1));
  }
  const std::map<uint32_t, uint64_t> served = Serve(q, 900'000);
  ASSERT_EQ(served.size(), 3u);
  for (const auto& [g, bytes] : served) {
    // Each within one quantum plus one item of the mean share.
    EXPECT_NEAR(static_cast<double>(bytes), 300'000.0, 1'000.0 + 1'500.0) << "group " << g;
  }
}

TEST(FairQueueTest, AQuietGroupWaitsAtMostOneTurnOfTheFlood) {
  Queue q(Limits(1'000));
  for (int i = 0; i < 1'000; ++i) ASSERT_TRUE(q.Push(0, i, 100, 1));  // The flood.
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(q.Pop());                  // Being served.
  ASSERT_TRUE(q.Push(7, -1, 300, 1));
  // The flood finishes its turn (at most 10 items of its quantum), then the quiet item.
  int before = 0;
  for (;;) {
    auto s = q.Pop();
    ASSERT_TRUE(s);
    if (s->group == 7) break;
    ++before;
  }
  EXPECT_LE(before, 10);
}

TEST(FairQueueTest, AnIdleGroupKeepsNoCredit) {
  Queue q(Limits(1'000));
  // Group 1 spends 100 of its 1,000-byte quantum, then has nothing more: its credit goes.
  ASSERT_TRUE(q.Push(1, 0, 100, 1));
  ASSERT_EQ(q.Pop()->group, 1u);
  // Now both are busy with 500-byte items; group 2 queued first.
  for (int i = 1; i <= 20; ++i) {
    ASSERT_TRUE(q.Push(2, i, 500, 1));
    ASSERT_TRUE(q.Push(1, i, 500, 1));
  }
  std::string order;
  for (int i = 0; i < 8; ++i) order += std::to_string(q.Pop()->group);
  // Two items per turn each: group 1 does not spend 900 saved bytes on a third.
  EXPECT_EQ(order, "22112211");
}

TEST(FairQueueTest, ARefundLetsTheGroupGoOnWithItsTurn) {
  Queue q(Limits(1'000));
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(q.Push(1, i, 500, 1));
    ASSERT_TRUE(q.Push(2, i, 500, 1));
  }
  // Group 1's first item was a copy of one held already: its credit comes back, and its turn
  // goes on for two more items before group 2's.
  auto first = q.Pop();
  ASSERT_EQ(first->group, 1u);
  q.Refund(1, 500);
  std::string order = "1";
  for (int i = 0; i < 5; ++i) order += std::to_string(q.Pop()->group);
  EXPECT_EQ(order, "111221");
  // A refund once the group's turn is over gives it nothing.
  order.clear();
  for (int i = 0; i < 2; ++i) order += std::to_string(q.Pop()->group);
  q.Refund(1, 10'000);
  for (int i = 0; i < 4; ++i) order += std::to_string(q.Pop()->group);
  EXPECT_EQ(order, "122112");
}

TEST(FairQueueTest, AnItemLargerThanTheQuantumWaitsForCreditAndDoesNotStall) {
  Queue q(Limits(100));
  ASSERT_TRUE(q.Push(1, 1, 450, 3));  // Needs five turns of credit.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(q.Push(2, 100 + i, 100, 1));
  std::string order;
  while (auto s = q.Pop()) order += std::to_string(s->group);
  // Group 2 is served one item per turn meanwhile; group 1's item goes at its fifth turn.
  EXPECT_EQ(order.find('1'), 4u);
  EXPECT_EQ(order.size(), 21u);
}

TEST(FairQueueTest, AFullGroupDropsItsNewestAndCountsThem) {
  Queue q(Limits(1'000, /*group_max=*/1'000, /*total_max=*/1 << 20));
  for (int i = 0; i < 15; ++i) q.Push(1, i, 100, 2);
  EXPECT_TRUE(q.Push(2, 99, 100, 1));  // Another group is not affected.
  const FairQueueGroupStats s = q.stats(1);
  EXPECT_EQ(s.queued_items, 10u);
  EXPECT_EQ(s.queued_bytes, 1'000u);
  EXPECT_EQ(s.queued_entries, 20u);
  EXPECT_EQ(s.dropped_items, 5u);
  EXPECT_EQ(s.dropped_entries, 10u);
  EXPECT_EQ(q.stats(2).dropped_items, 0u);
  // What stayed is the oldest, in order.
  for (int i = 0; i < 10; ++i) {
    auto p = q.Pop();
    ASSERT_TRUE(p);
    if (p->group == 2) p = q.Pop();
    EXPECT_EQ(p->item, i);
  }
  EXPECT_EQ(q.stats(1).served_items, 10u);
  EXPECT_EQ(q.stats(1).served_entries, 20u);
}

TEST(FairQueueTest, WhenAllIsFullTheLongestGroupMakesRoom) {
  Queue q(Limits(1'000, /*group_max=*/10'000, /*total_max=*/5'000));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(q.Push(1, i, 100, 1));  // Fills the total.
  EXPECT_EQ(q.bytes(), 5'000u);
  // The flood cannot grow further: its own newest item is the one dropped.
  EXPECT_FALSE(q.Push(1, 50, 100, 1));
  // A quiet group's items get in; the flood's newest make room.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(q.Push(2, 100 + i, 100, 1));
  EXPECT_EQ(q.bytes(), 5'000u);
  EXPECT_EQ(q.stats(2).queued_items, 5u);
  EXPECT_EQ(q.stats(2).dropped_items, 0u);
  EXPECT_EQ(q.stats(1).queued_items, 45u);
  EXPECT_EQ(q.stats(1).dropped_items, 6u);
  EXPECT_EQ(q.total().dropped_items, 6u);
  EXPECT_EQ(q.total().queued_items, 50u);
  // The flood kept its oldest items.
  auto first = q.Pop();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->item, 0);
}

TEST(FairQueueTest, TwoFloodsDoNotEvictEachOther) {
  Queue q(Limits(1'000, /*group_max=*/10'000, /*total_max=*/4'000));
  for (int i = 0; i < 30; ++i) {
    q.Push(1, i, 100, 1);
    q.Push(2, i, 100, 1);
  }
  // Once the total is full, each flood's own newest items are dropped.
  EXPECT_EQ(q.stats(1).queued_bytes, 2'000u);
  EXPECT_EQ(q.stats(2).queued_bytes, 2'000u);
  EXPECT_EQ(q.stats(1).dropped_items, 10u);
  EXPECT_EQ(q.stats(2).dropped_items, 10u);
}

TEST(FairQueueTest, AGroupEmptiedByDropsLeavesTheRingCleanly) {
  Queue q(Limits(100, /*group_max=*/10'000, /*total_max=*/1'000));
  ASSERT_TRUE(q.Push(1, 1, 500, 1));
  ASSERT_TRUE(q.Push(2, 2, 100, 1));
  // Group 3's item needs room: group 1, the longest, loses its only item.
  ASSERT_TRUE(q.Push(3, 3, 450, 1));
  EXPECT_EQ(q.stats(1).queued_items, 0u);
  std::vector<uint32_t> groups;
  while (auto s = q.Pop()) groups.push_back(s->group);
  EXPECT_EQ(groups, (std::vector<uint32_t>{2, 3}));
  EXPECT_TRUE(q.empty());
  // Group 1 comes back and is served like any other.
  ASSERT_TRUE(q.Push(1, 4, 50, 1));
  EXPECT_EQ(q.Pop()->item, 4);
}

}  // namespace
}  // namespace pando::proto
