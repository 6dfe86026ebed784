// The network node's core in the simulator over real signed feeds (sim/real_scenario.h):
// 10,000 nodes, every entry a real Ed25519-signed entry, every node admitting it as the
// network node does, entries overtaking their feed predecessors on the way.
#include <gtest/gtest.h>

#include "sim/real_scenario.h"

namespace pando::sim {
namespace {

TEST(RealSim, TenThousandNodesReplicateRealFeedsThroughTheNodeCore) {
  RealScenarioConfig config;
  config.nodes = 10'000;
  config.entries = 60;
  config.authors = 3;
  config.post_interval_ms = 20;  // One feed's entries 60 ms apart: some overtake others.
  const Report report = RunRealScenario(config);
  const Json& r = report.result;
  SCOPED_TRACE(report.ResultText());
  EXPECT_TRUE(r["delivery"]["complete"].get<bool>());
  EXPECT_EQ(r["delivery"]["delivered"].get<uint64_t>(), config.nodes * config.entries);
  // Each distinct entry's signature was checked once, however many nodes asked.
  EXPECT_EQ(r["verification"]["signatures_checked"].get<uint64_t>(), config.entries);
  EXPECT_GT(r["verification"]["calls"].get<uint64_t>(), config.entries);
  // Honest nodes never find each other misbehaving, and nothing is left waiting.
  EXPECT_EQ(r["violations"].get<uint64_t>(), 0u);
  EXPECT_EQ(r["gaps"]["waiting_at_end"].get<uint64_t>(), 0u);
  EXPECT_EQ(r["gaps"]["dropped_from_waiting"].get<uint64_t>(), 0u);
  // Entries did overtake their predecessors, and the gaps were filled.
  EXPECT_GT(r["gaps"]["waiting_peak_one_node"].get<uint64_t>(), 0u);
  EXPECT_LT(r["delay_ms"]["p99_ms"].get<int64_t>(), 2'000);
}

// The fork attack: an author signs two entries with one seq, posts them at two far-apart
// nodes and goes on posting after one of them. The nodes where the two sides meet find the
// fork in their store; the proof must reach every node, and no node may hold or store any
// entry of the author once it has the proof.
TEST(RealSim, AForkProofReachesEveryNodeAndNothingOfTheAuthorPassesIt) {
  RealScenarioConfig config;
  config.nodes = 3'000;
  config.entries = 20;
  config.authors = 2;
  config.attack = Attack::kFork;
  const Report report = RunRealScenario(config);
  const Json& r = report.result;
  SCOPED_TRACE(report.ResultText());
  const Json& fork = r["fork"];
  EXPECT_GT(fork["detected_by_store"].get<uint64_t>(), 0u);
  EXPECT_TRUE(fork["complete"].get<bool>());
  EXPECT_EQ(fork["nodes_with_proof"].get<uint64_t>(), config.nodes);
  EXPECT_LT(fork["spread_ms"]["p99_ms"].get<int64_t>(), 2'000);
  EXPECT_EQ(fork["later_entries_held_after_proof"].get<uint64_t>(), 0u);
  EXPECT_EQ(fork["stored_after_proof"].get<uint64_t>(), 0u);
  // The author's home node took the proof while the author still posted, and refused the rest.
  EXPECT_GT(fork["later_posts_refused_at_home"].get<uint64_t>(), 0u);
  // One verification of the one proof, however many nodes received it.
  EXPECT_EQ(fork["proof_verifications"].get<uint64_t>(), 1u);
  EXPECT_GE(r["stats"]["by_type"]["fork_proof"]["delivered"].get<uint64_t>(), config.nodes - 1);
  // The honest feeds are untouched, and nobody took anybody for a misbehaving peer.
  EXPECT_TRUE(r["delivery"]["complete"].get<bool>());
  EXPECT_EQ(r["violations"].get<uint64_t>(), 0u);
}

TEST(RealSim, TheSameSeedGivesTheSameReport) {
  RealScenarioConfig config;
  config.nodes = 300;
  config.entries = 20;
  config.authors = 2;
  config.post_interval_ms = 20;
  EXPECT_EQ(RunRealScenario(config).ResultText(), RunRealScenario(config).ResultText());
  config.attack = Attack::kFork;
  EXPECT_EQ(RunRealScenario(config).ResultText(), RunRealScenario(config).ResultText());
}

}  // namespace
}  // namespace pando::sim
