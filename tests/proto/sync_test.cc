// Tests of proto/sync.h: the anti-entropy schedule and the message sizes.
#include "proto/sync.h"

#include <gtest/gtest.h>

#include <vector>

namespace pando::proto {
namespace {

TEST(SyncSchedulerTest, LowerIdOpensOnConnect) {
  SyncScheduler s;
  EXPECT_TRUE(s.OpensOnConnect(3, 7));
  EXPECT_FALSE(s.OpensOnConnect(7, 3));
  SyncScheduler off(SyncConfig{.interval_ms = 10'000, .on_connect = false});
  EXPECT_FALSE(off.OpensOnConnect(3, 7));
}

TEST(SyncSchedulerTest, PeriodicSessionsTakeNeighboursInTurn) {
  SyncScheduler s(SyncConfig{.interval_ms = 1'000});
  EXPECT_EQ(s.next_at(), kNever);
  s.Start(100, 12'345);
  const TimeMs first = s.next_at();
  EXPECT_EQ(first, 100 + 1 + 12'345 % 1'000);  // The phase spreads nodes over the interval.
  const std::vector<NodeId> view = {4, 5, 6};
  EXPECT_EQ(s.OnTimer(first - 1, view), std::nullopt);  // Early: nothing, no change.
  EXPECT_EQ(s.next_at(), first);
  std::vector<NodeId> picked;
  TimeMs t = first;
  for (int i = 0; i < 4; ++i) {
    std::optional<NodeId> peer = s.OnTimer(t, view);
    ASSERT_TRUE(peer.has_value());
    picked.push_back(*peer);
    EXPECT_EQ(s.next_at(), t + 1'000);
    t = s.next_at();
  }
  EXPECT_EQ(picked, (std::vector<NodeId>{4, 5, 6, 4}));
  // No neighbour: no session, but the schedule goes on.
  EXPECT_EQ(s.OnTimer(t, {}), std::nullopt);
  EXPECT_EQ(s.next_at(), t + 1'000);
}

TEST(SyncSchedulerTest, ZeroIntervalMeansOnConnectOnly) {
  SyncScheduler s(SyncConfig{.interval_ms = 0});
  s.Start(0, 99);
  EXPECT_EQ(s.next_at(), kNever);
}

TEST(SyncMessageTest, Sizes) {
  EXPECT_EQ(EncodedSize(Reconcile{true, Bytes(100)}), 103u);
  EXPECT_EQ(EncodedSize(Want{{Hash32{}, Hash32{}}}), 70u);
  EXPECT_EQ(EncodedSize(Entries{{Hash32{}}, 250}), 256u);
}

}  // namespace
}  // namespace pando::proto
