// The fair-share scenario behind `pando sim --group-flood` (docs/sim.md): does every group
// still get its turn to write when one group floods the network (R4)?
//
// Every node runs the network node's core (sim/real_node.h) over real signed entries and
// checks at most `capacity_per_s` entries per simulated second through its ingest queue, the
// network node's proto::FairQueue. One group posts flood_factor times that capacity; the
// quiet groups each post quiet_share of their fair share (capacity / groups). A quiet group
// should then get everything it posts, and soon: its throughput as a share of its fair
// share (here, of what it posts) and its delay are measured, with per-group queues and again
// with one shared FIFO queue, the baseline, on the same entries, overlay and seed.
#pragma once

#include <cstdint>

#include "proto/fair_queue.h"
#include "proto/types.h"
#include "sim/report.h"

namespace pando::sim {

struct FairShareConfig {
  uint64_t nodes = 16;
  uint32_t quiet_groups = 4;        // Besides the flooding group.
  double capacity_per_s = 100;      // Entries (signatures) one node checks per second.
  double flood_factor = 10;         // The flood posts this many times capacity_per_s.
  double quiet_share = 0.5;         // Each quiet group posts this much of its fair share.
  uint32_t flood_authors = 50;      // The flood's feeds, 20 entries a second each by default.
  uint32_t quiet_authors = 2;       // Feeds of each quiet group.
  proto::TimeMs post_ms = 20'000;   // How long every group posts.
  proto::TimeMs drain_ms = 10'000;  // After the last post, until the figures are taken.
  uint32_t payload_bytes = 200;
  uint64_t seed = 1;
  proto::TimeMs latency_min_ms = 20;
  proto::TimeMs latency_max_ms = 150;
  proto::TimeMs join_window_ms = 2'000;
  proto::TimeMs warmup_ms = 10'000;
  proto::TimeMs turn_ms = 10;  // A node's ingest turn: it admits a turn's worth at a time.
  // The queue, scaled to this capacity: a quantum of about 12 entries (120 ms of a node's
  // capacity) and room for about 30 s of it per group.
  proto::FairQueueLimits queue = {
      .quantum_bytes = 4 * 1024, .group_bytes_max = 1 << 20, .total_bytes_max = 4 << 20};
  // Quotas (proto/quota.h) are off: they bound each author, while the flood here comes from
  // many authors within their quotas; the queue is what is measured.
  bool quotas = false;
  bool fifo = false;  // One shared FIFO queue instead of one per group: the baseline.
};

// One run. result: the scenario; per group (the flood first) what it posted, what reached
// the other nodes per second in the second half of the posting time against what it posted
// then, that as a share of its fair share, its delay (post to each other node's first copy;
// pairs still missing at the end count as the time they waited), entries dropped in the
// queues; `quiet`: the smallest share and the largest p99 among the quiet groups;
// violations; the simulator's counters.
Report RunFairShareScenario(const FairShareConfig& config);

// The run with per-group queues and the FIFO baseline, and the figure against the targets
// (quiet groups at least 90% of their fair share, p99 under 2 s):
// {"fair_queue": report, "fifo": report, "figure": {...}}.
Json RunFairShareComparison(FairShareConfig config);

}  // namespace pando::sim
