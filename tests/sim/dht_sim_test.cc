// Discovery's DHT (proto/dht.h) on 3,000 simulated nodes, `pando sim --dht` at a size CI
// affords (docs/sim.md, "Discovery"): every node lookup finds the true 20 nearest live
// nodes, every publication reaches 20 holders, every record is found, and still found from
// live nodes right after half the nodes crash; with hostile nodes hiding records, the flooded
// fallback finds what the DHT misses; the same seed gives the same report.
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

// Hostile nodes (10%) hide records from the DHT: the flooded fallback finds most of what
// it misses, at fewer messages per lookup than flooding alone; with no hostile node the
// DHT finds everything and nothing floods.
TEST(DhtSim, TheFloodedFallbackFindsWhatHostileNodesHideForLessThanFloodingAlone) {
  DhtScenarioConfig config = Config();
  config.nodes = 2'000;
  config.carriers = 5;
  config.flood = true;
  config.hostile_fraction = 0.1;
  const Json r = RunDhtScenario(config).result;
  const Json& fallback = r["record_lookups"];
  const Json& alone = r["flood_only"];
  const auto by_flood = fallback["found_by_flood"].get<uint64_t>();
  const double dht_share = fallback["success_share"].get<double>() - by_flood / 200.0;
  EXPECT_GT(by_flood, 10u);
  EXPECT_GE(fallback["success_share"].get<double>(), 0.9) << fallback.dump();
  EXPECT_LT(dht_share, 0.8) << fallback.dump();
  EXPECT_EQ(alone["count"].get<uint64_t>(), 200u);
  EXPECT_LT(fallback["messages_mean"].get<double>(), alone["messages_mean"].get<double>())
      << r.dump();

  config.hostile_fraction = 0;
  const Json honest = RunDhtScenario(config).result;
  EXPECT_DOUBLE_EQ(honest["record_lookups"]["success_share"].get<double>(), 1.0);
  EXPECT_EQ(honest["record_lookups"]["found_by_flood"].get<uint64_t>(), 0u);
  EXPECT_LT(honest["record_lookups"]["messages_mean"].get<double>() * 10,
            honest["flood_only"]["messages_mean"].get<double>());
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
