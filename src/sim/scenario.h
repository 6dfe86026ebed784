// Scenarios of whole Pando overlays in the simulator (issue 3), behind `pando sim` and the
// sim tests. Each returns a Report whose `result` is byte-identical for the same config.
#pragma once

#include <cstdint>

#include "proto/broadcast.h"
#include "proto/membership.h"
#include "proto/sync.h"
#include "proto/types.h"
#include "sim/report.h"

namespace pando::sim {

struct ScenarioConfig {
  uint64_t nodes = 10'000;
  uint64_t entries = 50;
  proto::TimeMs latency_min_ms = 20;
  proto::TimeMs latency_max_ms = 150;
  uint64_t seed = 1;
  // The Usenet-style baseline: forward every new entry to every active neighbour, never
  // prune, on the same HyParView overlay.
  bool flooding = false;
  // Nodes join one after the other, evenly spread over this window, each through a random
  // earlier node; spreading them keeps the join walks of a million nodes from piling up.
  proto::TimeMs join_window_ms = 10'000;
  // After the last join, before the first post: repairs settle and shuffles mix the views.
  proto::TimeMs warmup_ms = 30'000;
  // Entry k is posted at (join_window_ms + warmup_ms + k * post_interval_ms), from a random
  // node. 2 s keeps about one entry in flight at a time, the regime Plumtree's one shared
  // eager tree is built for. With entries overlapping, a PRUNE caused by one entry's
  // duplicate can cut the tree under others still spreading; the prune guard
  // (proto::BroadcastConfig::prune_guard_ms) avoids most of those cuts. At 100,000 nodes and
  // 200 entries (docs/sim.md): every 500 ms, 1.42 copies per node per entry and p99 2.1 s;
  // every 2 s, 1.08-1.10 and 1.7 s; every 100 ms, 1.70 and 1.7 s.
  proto::TimeMs post_interval_ms = 2'000;
  uint32_t payload_bytes = 200;
  // The run stops once every node holds every entry, or this long after the last post.
  proto::TimeMs drain_limit_ms = 60'000;
  // Plumtree's timers (proto::BroadcastConfig): how long an announced entry may be missing
  // before a GRAFT, and how long a GRAFT may go unanswered before the next announcer. The
  // library's 400 ms measured best for delay: at 1,000,000 nodes and 2 s spacing, before the
  // tree optimisation, 1 s cut copies per node per entry from 1.19 to 1.11 but raised p99
  // from 2.0 s to 2.4 s.
  proto::TimeMs ihave_timeout_ms = proto::BroadcastConfig{}.ihave_timeout_ms;
  proto::TimeMs graft_timeout_ms = proto::BroadcastConfig{}.graft_timeout_ms;

  // Groups besides the catalog. With G > 0, node n also carries group 1 + (n mod G), and
  // entry k is posted to group k mod (G + 1), where group 0 is the catalog, from a random
  // carrier of that group. With 0, every entry goes to the catalog.
  uint32_t groups = 0;

  // Anti-entropy (proto/sync.h): a reconciliation with each new neighbour as it comes up,
  // and one every sync_interval_ms with a neighbour in turn (0: none periodically).
  bool sync = true;
  proto::TimeMs sync_interval_ms = proto::SyncConfig{}.interval_ms;

  // Faults, timed from the first post. A crash takes crash_fraction of the nodes (chosen
  // from the seed) down at once, for good. A partition splits the nodes into two halves
  // (chosen from the seed) for partition_ms; messages between them are lost and
  // connections across break.
  double crash_fraction = 0;
  proto::TimeMs crash_at_ms = 0;
  proto::TimeMs partition_at_ms = -1;  // Negative: no partition.
  proto::TimeMs partition_ms = 0;
  // Plumtree's tree optimisation and prune guard (proto::BroadcastConfig); 0 turns each off.
  proto::TimeMs optimize_lead_ms = proto::BroadcastConfig{}.optimize_lead_ms;
  uint16_t optimize_threshold_hops = proto::BroadcastConfig{}.optimize_threshold_hops;
  proto::TimeMs prune_guard_ms = proto::BroadcastConfig{}.prune_guard_ms;
  // HyParView's active view size (proto::MembershipConfig::active_max): the overlay's degree.
  uint8_t active_view = proto::MembershipConfig{}.active_max;
};

// `entries` synthetic entries posted from random carriers over HyParView overlays (one per
// group), disseminated by Plumtree (or flooding), with anti-entropy, under the configured
// faults. result: the scenario, delivery (overall, and of entries posted after a crash),
// whether any entry reached a node outside its group, replication delay percentiles,
// payload copies, control traffic and bytes per node, anti-entropy traffic, the largest
// connected component of the catalog overlay (and after a crash, when the survivors
// reconnected), convergence after a heal, and the simulator's counters; environment: wall
// time and memory. docs/sim.md describes every field.
Report RunScenario(const ScenarioConfig& config);

}  // namespace pando::sim
