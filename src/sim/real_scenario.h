// The real-entries scenario behind `pando sim --real-entries` (docs/sim.md): the network
// node's own logic (proto::NodeCore: admission, holding, gap filling, the Replica) on every
// simulated node, over real signed entries of real feeds.
#pragma once

#include <cstdint>
#include <string>

#include "core/crypto.h"
#include "core/entry.h"
#include "proto/types.h"
#include "sim/report.h"

namespace pando::sim {

struct RealScenarioConfig {
  uint64_t nodes = 10'000;
  uint64_t entries = 100;
  // Entry k is the next entry of author k mod authors' feed in the catalog group, posted
  // from that author's home node (a node chosen from the seed). Consecutive entries of one
  // feed, authors * post_interval_ms apart, can overtake each other on their way, so nodes
  // hold some back until their predecessor arrives, and WANT it.
  uint32_t authors = 10;
  proto::TimeMs post_interval_ms = 50;
  uint32_t payload_bytes = 200;
  uint64_t seed = 1;
  proto::TimeMs latency_min_ms = 20;
  proto::TimeMs latency_max_ms = 150;
  proto::TimeMs join_window_ms = 10'000;
  proto::TimeMs warmup_ms = 30'000;
  proto::TimeMs drain_limit_ms = 60'000;

  // The fork attack (`--attack fork`): at fork_at_ms after the first post, one more author
  // signs two entries with one seq and posts one at its home node and the other at another
  // node; then it goes on after the first of them from its home node, fork_later_entries
  // entries fork_later_interval_ms apart (each refused there once the home node holds the
  // proof).
  bool fork = false;
  proto::TimeMs fork_at_ms = 1'000;
  uint32_t fork_later_entries = 20;
  proto::TimeMs fork_later_interval_ms = 100;
};

// result: the scenario; delivery; replication delay percentiles; verification (calls by
// nodes and signatures actually checked: one per distinct entry); gap filling (WANTs of a
// missing predecessor, the most entries one node held back); violations (0 for honest
// nodes); the simulator's counters. With `fork`, also "fork": the nodes whose store found
// it, when; how long the proof took from the first detection to reach each node (p50, p99,
// max) and how many it reached; the forker's later entries held anywhere, held or stored by
// a node that had the proof already (0), and refused at its home node.
Report RunRealScenario(const RealScenarioConfig& config);

// The key of simulated author `author` in a run seeded with `seed`.
KeyPair SimAuthorKey(uint64_t seed, uint64_t author);
// Signs the next entry of a feed whose head is `head` (and moves `head` to it): kind 1 in
// `group`, a payload of `payload_bytes` that begins "entry K ".
Entry SignNextEntry(const KeyPair& key, FeedHead& head, const std::string& group,
                    proto::TimeMs timestamp_ms, uint32_t payload_bytes, uint64_t k);

}  // namespace pando::sim
