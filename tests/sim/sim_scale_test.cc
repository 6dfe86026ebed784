// Scale smoke test: 100,000 toy nodes flood 10 messages over a random 5-regular graph. It
// checks that the run completes and every node gets every message, and prints the report
// (events per second, bytes per node). ctest label "sim".
#include <gtest/gtest.h>

#include <cstdio>

#include "sim/report.h"
#include "sim/simulator.h"
#include "toy_nodes.h"

namespace pando::sim {
namespace {

TEST(SimScale, Flood100kNodesTenMessages) {
  constexpr size_t kNodes = 100'000;
  constexpr int kMessages = 10;
  NetworkConfig config;
  config.seed = 2024;
  toy::FloodRun run(config, kNodes);
  run.Originate(kMessages);
  ASSERT_TRUE(run.sim->RunUntilIdle(600'000));

  for (int m = 0; m < kMessages; ++m) EXPECT_EQ(run.shared.reached[m], kNodes) << m;
  const SimStats& stats = run.sim->stats();
  EXPECT_EQ(stats.total.delivered, stats.total.sent);
  // Each node forwards each message to its other neighbours once: about 4 sends, 5 from the
  // origin, a few fewer where the multigraph repeats an edge.
  EXPECT_GT(stats.total.sent, kNodes * kMessages * 39 / 10);
  EXPECT_LE(stats.total.sent, kNodes * kMessages * 4 + kMessages);
  EXPECT_LE(toy::FloodSim::kStateBytesPerNode, 64u);

  Report report;
  run.sim->FillReport(&report);
  report.result["first_delivery"] = ToJson(run.shared.first_delivery);
  std::fputs(report.ToText().c_str(), stdout);
  std::printf("events/s %.0f, simulator bytes per node %zu (+%zu node), peak RSS per node %llu\n",
              run.sim->wall_seconds() > 0
                  ? static_cast<double>(stats.events_processed) / run.sim->wall_seconds()
                  : 0.0,
              toy::FloodSim::kStateBytesPerNode, sizeof(toy::FloodNode),
              static_cast<unsigned long long>(PeakRssBytes() / kNodes));
}

}  // namespace
}  // namespace pando::sim
