// Fair share under overload (R4) in the simulator (sim/fair_scenario.h): nodes that admit 100
// entries a second, one group posting ten times that, four quiet groups posting half their
// fair share each. With per-group queues (proto::FairQueue, the network node's) every quiet
// group gets what it posts, soon; with one FIFO queue, the baseline, it does not.
#include <gtest/gtest.h>

#include "sim/fair_scenario.h"

namespace pando::sim {
namespace {

TEST(FairSim, QuietGroupsGetTheirShareUnderAFloodAndFifoDoesNot) {
  const FairShareConfig config;  // 16 nodes, capacity 100/s, flood 10x, 4 quiet groups.
  const Json out = RunFairShareComparison(config);
  SCOPED_TRACE(out["figure"].dump(2));
  const Json& fair = out["fair_queue"]["result"];
  const Json& fifo = out["fifo"]["result"];
  // Every quiet group: at least 90% of its fair share, p99 under 2 s.
  for (size_t g = 1; g < fair["groups"].size(); ++g) {
    SCOPED_TRACE(fair["groups"][g].dump(2));
    EXPECT_GE(fair["groups"][g]["share_of_fair_share"].get<double>(), 0.9);
    EXPECT_LT(fair["groups"][g]["delay_ms"]["p99_ms"].get<int64_t>(), 2'000);
    EXPECT_EQ(fair["groups"][g]["queue_dropped_entries"].get<uint64_t>(), 0u);
  }
  EXPECT_TRUE(fair["quiet"]["targets_met"].get<bool>());
  // The flood was real: it overloaded the nodes, and only its own work was dropped.
  EXPECT_GT(fair["groups"][0]["queue_dropped_entries"].get<uint64_t>(), 0u);
  EXPECT_GT(fair["queue"]["entries_checked_per_node_per_s"].get<double>(), 80.0);
  EXPECT_LE(fair["queue"]["entries_checked_per_node_per_s"].get<double>(), 101.0);
  EXPECT_EQ(fair["violations"].get<uint64_t>(), 0u);
  // One FIFO queue lets the flood starve the quiet groups: the same run misses both targets.
  EXPECT_FALSE(fifo["quiet"]["targets_met"].get<bool>());
  EXPECT_LT(fifo["quiet"]["min_share_of_fair_share"].get<double>(), 0.5);
  EXPECT_GT(fifo["quiet"]["max_p99_ms"].get<int64_t>(), 2'000);
}

TEST(FairSim, TheSameSeedGivesTheSameReport) {
  FairShareConfig config;
  config.nodes = 6;
  config.post_ms = 4'000;
  config.drain_ms = 2'000;
  EXPECT_EQ(RunFairShareScenario(config).ResultText(), RunFairShareScenario(config).ResultText());
}

}  // namespace
}  // namespace pando::sim
