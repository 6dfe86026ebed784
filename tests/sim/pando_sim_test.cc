// The CI scenario of issue 3: 10,000 simulated nodes running the real HyParView and Plumtree
// machines, one group, 50 entries from random nodes over 20-150 ms links. Asserts full
// delivery, the delay and copy targets, that flooding on the same overlay costs more copies,
// and that a run's deterministic report is byte-identical for the same seed.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

#include "sim/pando_node.h"
#include "sim/report.h"
#include "sim/scenario.h"

namespace pando::sim {
namespace {

ScenarioConfig CiConfig(bool flooding) {
  ScenarioConfig config;
  config.nodes = 10'000;
  config.entries = 50;
  config.seed = 3;
  config.flooding = flooding;
  return config;
}

// The runs are shared by the tests below: each takes a few seconds.
class PandoScenario : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    plumtree_ = RunOneGroupScenario(CiConfig(false));
    flooding_ = RunOneGroupScenario(CiConfig(true));
  }
  static void TearDownTestSuite() {
    plumtree_.reset();
    flooding_.reset();
  }
  static inline std::optional<Report> plumtree_;
  static inline std::optional<Report> flooding_;
};

TEST_F(PandoScenario, PlumtreeDeliversEverythingWithinTargets) {
  const Json& r = plumtree_->result;
  EXPECT_EQ(r["delivery"]["delivered"].get<uint64_t>(), 10'000u * 50u);
  EXPECT_EQ(r["delivery"]["ratio"].get<double>(), 1.0);
  EXPECT_LT(r["delay_ms"]["p99_ms"].get<int64_t>(), 2000);
  EXPECT_LE(r["traffic"]["payload_copies_per_node_per_entry"].get<double>(), 1.3);
  EXPECT_EQ(r["overlay"]["largest_component_share"].get<double>(), 1.0);
}

TEST_F(PandoScenario, FloodingDeliversEverythingWithMoreCopies) {
  const Json& f = flooding_->result;
  EXPECT_EQ(f["delivery"]["ratio"].get<double>(), 1.0);
  EXPECT_GT(f["traffic"]["payload_copies_per_node_per_entry"].get<double>(), 1.3);
  EXPECT_GT(f["traffic"]["payload_copies_per_node_per_entry"].get<double>(),
            plumtree_->result["traffic"]["payload_copies_per_node_per_entry"].get<double>());
  // The baseline runs on the same overlay: membership does not depend on the broadcast.
  EXPECT_EQ(f["overlay_at_first_post"], plumtree_->result["overlay_at_first_post"]);
}

TEST_F(PandoScenario, SameSeedGivesIdenticalReport) {
  const Report again = RunOneGroupScenario(CiConfig(false));
  EXPECT_EQ(again.ResultText(), plumtree_->ResultText());
  // And the seed matters.
  ScenarioConfig other = CiConfig(false);
  other.seed = 4;
  other.nodes = 2'000;
  const Report different = RunOneGroupScenario(other);
  EXPECT_NE(different.ResultText(), plumtree_->ResultText());
}

TEST_F(PandoScenario, MemoryPerNodeStaysWithinBudget) {
  // Issue 3 budgets 16 KiB per simulated node; the node itself and the simulator's state
  // are most of it at scale (messages in flight and the queue are the rest).
  EXPECT_LE(sizeof(PandoNode) + PandoSim::kStateBytesPerNode + 50 / 8 + 8, 16u * 1024u);
}

TEST(SyntheticEntry, IdRoundTrips) {
  for (uint64_t k : {0ull, 1ull, 999ull, 1ull << 40}) {
    EXPECT_EQ(SyntheticEntryIndex(SyntheticEntryId(k)), k);
  }
}

}  // namespace
}  // namespace pando::sim
