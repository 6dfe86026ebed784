// Discovery's DHT (proto/dht.h) on 3,000 simulated nodes, `pando sim --dht` at a size CI
// affords (docs/sim.md, "Discovery"): every node lookup finds the true 20 nearest live
// nodes, every publication reaches 20 holders, every record is found, and still found from
// live nodes right after half the nodes crash; the same seed gives the same report.
#include <gtest/gtest.h>

#include "sim/dht_scenario.h"

namespace pando::sim {
namespace {

DhtScenarioConfig Config() {
  DhtScenarioConfig config;
  config.nodes = 3'000;
  config.lookups = 200;
  config.records = 200;
  return config;
}

TEST(DhtSim, LookupsFindTheNearestAndRecordsSurviveHalfTheNodesCrashing) {
  const Report report = RunDhtScenario(Config());
  SCOPED_TRACE(report.ResultText());
  const Json& r = report.result;
  EXPECT_EQ(r["node_lookups"]["count"].get<uint64_t>(), 200u);
  EXPECT_DOUBLE_EQ(r["node_lookups"]["exact_share"].get<double>(), 1.0);
  EXPECT_EQ(r["publications"]["count"].get<uint64_t>(), 200u);
  // 20 holders each: STOREs acknowledged, and the publisher itself when it is among them.
  EXPECT_EQ(r["publications"]["acks"].get<uint64_t>() +
                r["publications"]["kept_by_publisher"].get<uint64_t>(),
            200u * 20);
  EXPECT_EQ(r["publications"]["with_nobody_found"].get<uint64_t>(), 0u);
  EXPECT_DOUBLE_EQ(r["record_lookups"]["success_share"].get<double>(), 1.0);
  EXPECT_EQ(r["after_crash"]["crashed"].get<uint64_t>(), 1'500u);
  EXPECT_GE(r["after_crash"]["success_share"].get<double>(), 0.99);
  EXPECT_GT(r["routing"]["contacts_mean"].get<uint64_t>(), 20u);
  // Each record's signature is checked once for the whole network.
  EXPECT_EQ(r["verification"]["signatures_checked"].get<uint64_t>(), 200u);
}

TEST(DhtSim, ARunReplaysFromItsSeed) {
  DhtScenarioConfig config = Config();
  config.nodes = 500;
  config.lookups = 50;
  config.records = 50;
  EXPECT_EQ(RunDhtScenario(config).ResultText(), RunDhtScenario(config).ResultText());
}

}  // namespace
}  // namespace pando::sim
