// The discovery scenario behind `pando sim --dht` (docs/sim.md, "Discovery"): the DHT of
// proto/dht.h on every simulated node, measured as issue 18 asks. Nodes join one after
// another, each through a random earlier one; then random nodes look up random points
// (node lookups: latency, requests, whether the k nearest found are the true k nearest);
// publishers each publish one signed record (publication time: to the k-th STORED); random
// nodes look each record up (latency to the first record, success); then a share of the
// nodes crash at once and the records are looked up again from live nodes. Optionally a
// share of the nodes is hostile and tries to hide records (DhtScenarioConfig). Each node
// runs proto::Discovery, the code the network node runs; with `flood`, a record lookup that
// the DHT leaves empty falls back on a flooded query over an overlay of random links, and
// the same records are then looked up by flooding alone, the baseline its cost is measured
// against.
#pragma once

#include <cstdint>

#include "proto/dht.h"
#include "proto/discovery.h"
#include "proto/types.h"
#include "sim/report.h"

namespace pando::sim {

struct DhtScenarioConfig {
  uint64_t nodes = 10'000;
  uint64_t seed = 1;
  proto::TimeMs latency_min_ms = 20;
  proto::TimeMs latency_max_ms = 150;
  proto::TimeMs join_window_ms = 20'000;
  proto::TimeMs settle_ms = 10'000;
  uint32_t lookups = 1'000;       // Node lookups of random points.
  uint32_t records = 1'000;       // Publications, each then looked up once.
  proto::TimeMs spacing_ms = 10;  // Between two lookups or publications.
  double crash_fraction = 0.5;
  // This fraction of the nodes (chosen from the seed) is hostile: each answers a FIND with
  // the hostile nodes nearest the target and no record, and acknowledges a STORE without
  // keeping it, to hide records. Lookups and publications are made by honest nodes.
  double hostile_fraction = 0;
  // Each group's record is published by this many carriers (distinct nodes).
  uint32_t carriers = 1;
  // The flooded fallback, and the flood-only baseline after the record lookups. The
  // overlay it floods over stands in for the catalog group's HyParView active views: each
  // node links to overlay_degree / 2 random others, both ways (mean degree overlay_degree).
  bool flood = false;
  uint32_t overlay_degree = 7;
  proto::DhtConfig dht;
  proto::DiscoveryConfig discovery;  // Its flood settings; `dht` above is used for the DHT.
};

// result: the scenario; routing state per node (contacts: mean, p50, max; bytes); node
// lookups (latency percentiles, requests per lookup, the share that found the true k
// nearest); publications (time to the k-th acknowledgement, acknowledgements); record
// lookups before and after the crash (success share, latency percentiles, requests; with
// `flood`, how many each way and messages per lookup, DHT and flood ones); with `flood`,
// the flood-only baseline (success share, messages per lookup); the simulator's counters.
Report RunDhtScenario(const DhtScenarioConfig& config);

}  // namespace pando::sim
