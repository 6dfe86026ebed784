#include "sim/scenario.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <numeric>
#include <optional>
#include <vector>

#include "core/check.h"
#include "sim/network.h"
#include "sim/pando_node.h"
#include "sim/simulator.h"

namespace pando::sim {
namespace {

// How often joins are scheduled while nodes come up: each action starts the nodes due in
// its slice, so a million joins cost a few thousand scripted actions, not a million.
constexpr TimeMs kJoinStepMs = 10;
// How often the drain phase checks whether every node holds every entry.
constexpr TimeMs kDrainStepMs = 100;
constexpr uint64_t kOriginTag = 0x0419'1e55ULL;
constexpr uint64_t kCrashTag = 0xc2a5'4ed0ULL;
constexpr uint64_t kSideTag = 0x51de'0a1fULL;
// After a crash, how often and how long the survivors' overlay is checked for one component.
constexpr TimeMs kComponentStepMs = 1'000;
constexpr TimeMs kComponentWatchMs = 120'000;

// Ratios are reported to four decimals: enough to compare runs, and short to read. The
// value is computed from integers in the same way every run, so the text stays identical.
double Round4(double x) { return std::round(x * 10'000.0) / 10'000.0; }
double Ratio(uint64_t num, uint64_t den) {
  return den == 0 ? 0.0 : Round4(static_cast<double>(num) / static_cast<double>(den));
}

// Union-find over the undirected graph of the catalog's active views among up nodes: the
// size of its largest component.
uint64_t LargestComponent(const PandoSim& sim) {
  const size_t n = sim.num_nodes();
  std::vector<uint32_t> parent(n);
  std::iota(parent.begin(), parent.end(), 0u);
  auto find = [&](uint32_t x) {
    while (parent[x] != x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  for (NodeId a = 0; a < n; ++a) {
    if (!sim.net().IsUp(a)) continue;
    for (NodeId b : sim.node(a).membership().active()) {
      if (!sim.net().IsUp(b)) continue;
      const uint32_t ra = find(static_cast<uint32_t>(a)), rb = find(static_cast<uint32_t>(b));
      if (ra != rb) parent[std::max(ra, rb)] = std::min(ra, rb);
    }
  }
  std::vector<uint32_t> size(n, 0);
  uint32_t largest = 0;
  for (uint32_t x = 0; x < n; ++x) {
    if (sim.net().IsUp(x)) largest = std::max(largest, ++size[find(x)]);
  }
  return largest;
}

uint64_t UpNodes(const PandoSim& sim) {
  uint64_t up = 0;
  for (NodeId id = 0; id < sim.num_nodes(); ++id) up += sim.net().IsUp(id) ? 1 : 0;
  return up;
}

// The shape of the catalog's active-view graph among up nodes now.
Json OverlayJson(const PandoSim& sim) {
  const uint64_t up = UpNodes(sim);
  uint64_t active_sum = 0;
  for (NodeId id = 0; id < sim.num_nodes(); ++id) {
    if (sim.net().IsUp(id)) active_sum += sim.node(id).membership().active().size();
  }
  const uint64_t largest = LargestComponent(sim);
  Json overlay = Json::object();
  overlay["at_ms"] = sim.now();
  overlay["up_nodes"] = up;
  overlay["mean_active_view"] = Ratio(active_sum, up);
  overlay["largest_component_nodes"] = largest;
  overlay["largest_component_share"] = Ratio(largest, up);
  return overlay;
}

// Bytes and messages sent so far, by message type.
std::vector<MessageStats> Snapshot(const PandoSim& sim) { return sim.stats().per_type; }
uint64_t BytesSince(const PandoSim& sim, const std::vector<MessageStats>& before, size_t type) {
  return sim.stats().per_type[type].bytes_sent - before[type].bytes_sent;
}

}  // namespace

Report RunScenario(const ScenarioConfig& config) {
  CHECK(config.nodes >= 1 && config.nodes < (uint64_t{1} << 30));
  CHECK(config.entries >= 1);
  CHECK(config.join_window_ms >= 0 && config.warmup_ms >= 0 && config.post_interval_ms >= 0);
  CHECK(config.crash_fraction >= 0 && config.crash_fraction < 1);
  CHECK(config.groups < config.nodes);

  const uint64_t n = config.nodes;
  PandoShared shared(config.seed, n, config.entries, config.flooding);
  shared.payload_bytes = config.payload_bytes;
  shared.replica.broadcast.ihave_timeout_ms = config.ihave_timeout_ms;
  shared.replica.broadcast.graft_timeout_ms = config.graft_timeout_ms;
  shared.replica.sync_enabled = config.sync;
  shared.replica.sync.interval_ms = config.sync_interval_ms;
  if (config.groups > 0) {
    for (NodeId id = 0; id < n; ++id) shared.AddNodeGroup(id, 1 + id % config.groups);
  }
  for (uint64_t k = 0; k < config.entries; ++k) {
    shared.entry_group[k] = static_cast<uint32_t>(k % (uint64_t{config.groups} + 1));
  }

  // Which nodes a crash takes down, and which half of a partition each node is in.
  const TimeMs first_post_ms = config.join_window_ms + config.warmup_ms;
  const bool crash = config.crash_fraction > 0;
  const TimeMs crash_ms = first_post_ms + config.crash_at_ms;
  std::vector<bool> crashed(crash ? n : 0, false);
  uint64_t crashed_count = 0;
  for (NodeId id = 0; crash && id < n; ++id) {
    const double u = static_cast<double>(MixHash(MixHash(config.seed, kCrashTag), id) >> 11) /
                     static_cast<double>(uint64_t{1} << 53);
    crashed[id] = u < config.crash_fraction;
    crashed_count += crashed[id] ? 1 : 0;
  }
  const bool partition = config.partition_at_ms >= 0;
  const TimeMs cut_ms = first_post_ms + config.partition_at_ms;
  const TimeMs heal_ms = cut_ms + config.partition_ms;
  auto side = [seed = config.seed](NodeId id) {
    return static_cast<uint32_t>(MixHash(MixHash(seed, kSideTag), id) & 1);
  };
  shared.replica.broadcast.optimize_lead_ms = config.optimize_lead_ms;
  shared.replica.broadcast.optimize_threshold_hops = config.optimize_threshold_hops;
  shared.replica.broadcast.prune_guard_ms = config.prune_guard_ms;
  shared.replica.membership.active_max = config.active_view;

  NetworkConfig net;
  net.seed = config.seed;
  net.latency_min_ms = config.latency_min_ms;
  net.latency_max_ms = config.latency_max_ms;
  auto sim =
      std::make_unique<PandoSim>(net, n, [&shared](NodeId id) { return PandoNode(id, &shared); });

  // Staggered joins: node i comes up at i * join_window_ms / nodes, through a random earlier
  // node of each of its groups (PandoShared::JoinContact), which is up by then because lower
  // ids start first.
  for (TimeMs t = 0;; t += kJoinStepMs) {
    const TimeMs window = std::max<TimeMs>(config.join_window_ms, 1);
    const uint64_t lo = std::min<uint64_t>(
        n, (static_cast<uint64_t>(t) * n + window - 1) / static_cast<uint64_t>(window));
    const uint64_t hi =
        t + kJoinStepMs >= window
            ? n
            : std::min<uint64_t>(n, (static_cast<uint64_t>(t + kJoinStepMs) * n + window - 1) /
                                        static_cast<uint64_t>(window));
    if (hi > lo) {
      sim->At(t, [lo, hi](PandoSim& s) {
        for (NodeId id = lo; id < hi; ++id) s.Start(id);
      });
    }
    if (hi >= n) break;
  }

  // The overlay the entries start on, taken before the first post (scheduled first, so it
  // runs first at that time). Flooding and Plumtree runs of one seed share it exactly; the
  // final one differs because the runs end at different times and shuffles go on.
  Json overlay_at_first_post;
  sim->At(first_post_ms,
          [&overlay_at_first_post](PandoSim& s) { overlay_at_first_post = OverlayJson(s); });

  // Faults, scheduled before the posts so that at equal times they come first.
  Json crash_json = Json::object();
  std::optional<TimeMs> reconnected_ms;
  if (crash) {
    sim->At(crash_ms, [&crashed](PandoSim& s) {
      for (NodeId id = 0; id < s.num_nodes(); ++id) {
        if (crashed[id]) s.Crash(id);
      }
    });
    // Every second for two minutes: has the survivors' overlay become one component again?
    const uint64_t survivors = n - crashed_count;
    for (TimeMs after = kComponentStepMs; after <= kComponentWatchMs; after += kComponentStepMs) {
      sim->At(crash_ms + after, [&, after, survivors](PandoSim& s) {
        if (reconnected_ms && after != 30'000) return;
        const uint64_t largest = LargestComponent(s);
        if (!reconnected_ms && largest * 100 >= survivors * 99) reconnected_ms = after;
        if (after == 30'000)
          crash_json["largest_component_share_at_30s"] = Ratio(largest, survivors);
      });
    }
  }
  std::vector<MessageStats> at_heal;
  uint64_t posted_before_heal = 0;
  Json partition_json = Json::object();
  if (partition) {
    sim->At(cut_ms, [&side](PandoSim& s) { s.Partition(side); });
    sim->At(heal_ms, [&](PandoSim& s) {
      s.Heal();
      at_heal = Snapshot(s);
      uint64_t differing = 0, missing = 0;
      for (uint64_t k = 0; k < config.entries && shared.posted_ms[k] != kNever; ++k) {
        ++posted_before_heal;
        const uint64_t want = shared.CarrierCount(shared.entry_group[k]);
        differing += shared.holders[k] < want ? 1 : 0;
        missing += want - shared.holders[k];
      }
      partition_json["entries_posted_before_heal"] = posted_before_heal;
      partition_json["entries_differing_at_heal"] = differing;
      partition_json["missing_node_entries_at_heal"] = missing;
    });
  }

  // Posts: entry k from a random carrier of its group (an up one), every post_interval_ms
  // after the warm-up.
  Rng origin_rng(MixHash(config.seed, kOriginTag));
  // By group, its carriers that a crash leaves up (all of them without a crash).
  auto up = [&](NodeId id) { return !crash || !crashed[id]; };
  std::vector<uint64_t> up_carriers(config.groups + 1, 0);
  for (NodeId id = 0; id < n; ++id) up_carriers[kCatalogGroup] += up(id) ? 1 : 0;
  for (uint32_t g = 1; g <= config.groups; ++g) {
    for (NodeId id : shared.carriers[g]) up_carriers[g] += up(id) ? 1 : 0;
  }
  uint64_t first_after_crash = config.entries;
  for (uint64_t k = 0; k < config.entries; ++k) {
    const TimeMs at = first_post_ms + static_cast<TimeMs>(k) * config.post_interval_ms;
    const uint32_t g = shared.entry_group[k];
    const uint64_t count = shared.CarrierCount(g);
    uint64_t i = origin_rng.Below(count);
    auto carrier = [&](uint64_t j) {
      return g == kCatalogGroup ? NodeId{j} : shared.carriers[g][j];
    };
    if (crash && at >= crash_ms) {
      first_after_crash = std::min(first_after_crash, k);
      CHECK(up_carriers[g] > 0);
      while (crashed[carrier(i)]) i = (i + 1) % count;
    }
    const NodeId origin = carrier(i);
    sim->At(at, [origin, k](PandoSim& s) {
      s.Invoke(origin,
               [k](PandoNode& node, Context<PandoMessage>& ctx) { node.Post(ctx.Now(), k, ctx); });
    });
  }
  const TimeMs last_post_ms =
      first_post_ms + static_cast<TimeMs>(config.entries - 1) * config.post_interval_ms;

  // How many nodes should end up holding entry k: its group's carriers, the up ones for an
  // entry posted after the crash. Entries posted before a crash count only in the final
  // scan, which looks at the survivors.
  auto expected_holders = [&](uint64_t k) {
    const uint32_t g = shared.entry_group[k];
    return k >= first_after_crash ? up_carriers[g] : shared.CarrierCount(g);
  };
  auto all_delivered = [&](uint64_t end) {
    for (uint64_t k = crash ? first_after_crash : 0; k < end; ++k) {
      if (shared.holders[k] < expected_holders(k)) return false;
    }
    return true;
  };

  // Run through the posts and the faults, then until every node holds every entry or the
  // drain limit. The membership keeps shuffling forever, so the queue never empties.
  TimeMs run_to = last_post_ms;
  if (crash) run_to = std::max(run_to, crash_ms + kComponentWatchMs);
  if (partition) run_to = std::max(run_to, heal_ms);
  if (!partition) {
    sim->RunUntil(run_to);
  } else {
    // After the heal, watch for the moment every node holds every entry posted before it.
    sim->RunUntil(heal_ms);
    std::optional<TimeMs> converged;
    const TimeMs watch_to = std::max(run_to, heal_ms + config.drain_limit_ms);
    while (sim->now() < watch_to && !converged) {
      sim->RunUntil(std::min(watch_to, sim->now() + kDrainStepMs));
      if (all_delivered(posted_before_heal)) converged = sim->now() - heal_ms;
    }
    if (converged) {
      partition_json["converged_after_heal_ms"] = *converged;
    } else {
      partition_json["converged_after_heal_ms"] = nullptr;
    }
    sim->RunUntil(std::max(run_to, sim->now()));
  }
  const TimeMs limit = std::max(run_to, last_post_ms + config.drain_limit_ms);
  while (!all_delivered(config.entries) && sim->now() < limit) {
    sim->RunUntil(std::min(limit, sim->now() + kDrainStepMs));
  }

  // Delivery. Without a crash every (carrier, entry) pair is counted as it happens; after a
  // crash, scan the survivors. With groups, also scan for entries held outside their group.
  uint64_t expected = 0, delivered = 0, outside = 0;
  for (uint64_t k = 0; k < config.entries; ++k) {
    expected += up_carriers[shared.entry_group[k]];
  }
  if (!crash && config.groups == 0) {
    delivered = shared.deliveries;
  } else {
    for (NodeId id = 0; id < n; ++id) {
      if (crash && crashed[id]) continue;
      for (uint64_t k = 0; k < config.entries; ++k) {
        if (!shared.Has(id, k)) continue;
        if (shared.Carries(id, shared.entry_group[k])) {
          ++delivered;
        } else {
          ++outside;
        }
      }
    }
  }

  // The report: the scenario's outcomes first, then the simulator's configuration and
  // counters (FillReport appends them).
  Report report;
  Json& r = report.result;
  Json& scenario = r["scenario"];
  scenario["broadcast"] = config.flooding ? "flooding" : "plumtree";
  scenario["nodes"] = n;
  scenario["groups"] = config.groups;
  scenario["entries"] = config.entries;
  scenario["seed"] = config.seed;
  scenario["latency_min_ms"] = config.latency_min_ms;
  scenario["latency_max_ms"] = config.latency_max_ms;
  scenario["join_window_ms"] = config.join_window_ms;
  scenario["warmup_ms"] = config.warmup_ms;
  scenario["post_interval_ms"] = config.post_interval_ms;
  scenario["payload_bytes"] = config.payload_bytes;
  scenario["ihave_timeout_ms"] = config.ihave_timeout_ms;
  scenario["graft_timeout_ms"] = config.graft_timeout_ms;
  scenario["sync"] = config.sync;
  scenario["sync_interval_ms"] = config.sync_interval_ms;
  scenario["optimize_lead_ms"] = config.optimize_lead_ms;
  scenario["optimize_threshold_hops"] = config.optimize_threshold_hops;
  scenario["prune_guard_ms"] = config.prune_guard_ms;
  scenario["active_view"] = config.active_view;
  scenario["first_post_ms"] = first_post_ms;
  scenario["last_post_ms"] = last_post_ms;
  if (crash) {
    scenario["crash_fraction"] = config.crash_fraction;
    scenario["crash_ms"] = crash_ms;
  }
  if (partition) {
    scenario["partition_ms"] = cut_ms;
    scenario["heal_ms"] = heal_ms;
  }

  Json& delivery = r["delivery"];
  delivery["expected"] = expected;
  delivery["delivered"] = delivered;
  // Not rounded: 0.99996 must not read as 1.
  delivery["ratio"] = static_cast<double>(delivered) / static_cast<double>(expected);
  delivery["last_delivery_ms"] = shared.last_delivery_ms;
  if (crash) {
    uint64_t after_expected = 0, after_delivered = 0;
    for (uint64_t k = first_after_crash; k < config.entries; ++k) {
      after_expected += expected_holders(k);
      after_delivered += shared.holders[k];
    }
    Json& after = delivery["posted_after_crash"];
    after["entries"] = config.entries - first_after_crash;
    after["expected"] = after_expected;
    after["delivered"] = after_delivered;
    after["ratio"] = after_expected == 0 ? 1.0
                                         : static_cast<double>(after_delivered) /
                                               static_cast<double>(after_expected);
  }
  if (config.groups > 0) {
    Json& groups = r["groups"];
    groups["groups"] = config.groups + 1;
    groups["carriers_per_group_min"] = shared.carriers[1].size();
    groups["held_outside_their_group"] = outside;
    groups["misrouted_messages"] = shared.misrouted;
  }
  r["delay_ms"] = ToJson(shared.delay);

  // Traffic. Membership messages are counted over the whole run (joins, repairs, shuffles);
  // broadcast messages exist only for the entries. Control: everything but entries.
  const SimStats& stats = sim->stats();
  uint64_t membership_bytes = 0, broadcast_bytes = 0, broadcast_control = 0, control_sent = 0,
           sync_bytes = 0;
  for (size_t i = 0; i < stats.per_type.size(); ++i) {
    const MessageStats& m = stats.per_type[i];
    if (i < kFirstBroadcastIndex) {
      membership_bytes += m.bytes_sent;
    } else if (i < kFirstSyncIndex) {
      broadcast_bytes += m.bytes_sent;
      if (i != kGossipIndex) broadcast_control += m.sent;
    } else {
      sync_bytes += m.bytes_sent;
    }
    if (i != kGossipIndex && i != kEntriesIndex) control_sent += m.sent;
  }
  const uint64_t node_seconds_x1000 = n * static_cast<uint64_t>(std::max<TimeMs>(sim->now(), 1));
  Json& traffic = r["traffic"];
  traffic["payload_copies"] = shared.payload_copies;
  traffic["payload_copies_per_node_per_entry"] = Ratio(shared.payload_copies, expected);
  traffic["broadcast_bytes_per_node_per_entry"] = Ratio(broadcast_bytes, expected);
  traffic["broadcast_control_per_node_per_entry"] = Ratio(broadcast_control, expected);
  traffic["control_messages_per_node_per_s"] = Ratio(control_sent * 1000, node_seconds_x1000);
  traffic["membership_bytes_per_node_per_s"] = Ratio(membership_bytes * 1000, node_seconds_x1000);

  Json& sync = r["sync"];
  sync["sessions"] = shared.sync_sessions;
  sync["entries_obtained"] = shared.sync_entries;
  sync["decode_errors"] = shared.sync_errors;
  sync["bytes"] = sync_bytes;
  sync["bytes_per_node_per_s"] = Ratio(sync_bytes * 1000, node_seconds_x1000);

  if (crash) {
    crash_json["crashed"] = crashed_count;
    crash_json["survivors"] = n - crashed_count;
    if (reconnected_ms) {
      crash_json["reconnected_after_ms"] = *reconnected_ms;
    } else {
      crash_json["reconnected_after_ms"] = nullptr;
    }
    r["crash"] = std::move(crash_json);
  }
  if (partition) {
    // Anti-entropy's cost of the heal: RECONCILE and WANT bytes against what differed.
    const uint64_t recon =
        BytesSince(*sim, at_heal, kFirstSyncIndex) + BytesSince(*sim, at_heal, kFirstSyncIndex + 1);
    partition_json["reconciliation_bytes_after_heal"] = recon;
    partition_json["entries_bytes_after_heal"] = BytesSince(*sim, at_heal, kEntriesIndex);
    partition_json["gossip_bytes_after_heal"] = BytesSince(*sim, at_heal, kGossipIndex);
    const uint64_t differing = partition_json["entries_differing_at_heal"].get<uint64_t>();
    partition_json["reconciliation_bytes_per_differing_entry"] = Ratio(recon, differing);
    partition_json["reconciliation_bytes_per_missing_node_entry"] =
        Ratio(recon, partition_json["missing_node_entries_at_heal"].get<uint64_t>());
    r["partition"] = std::move(partition_json);
  }

  r["overlay_at_first_post"] = std::move(overlay_at_first_post);
  r["overlay"] = OverlayJson(*sim);

  sim->FillReport(&report);
  // The simulator names variant alternatives by index; give them the protocol's names.
  Json by_type = Json::object();
  for (size_t i = 0; i < stats.per_type.size(); ++i) {
    by_type[kPandoMessageNames[i]] = ToJson(stats.per_type[i]);
  }
  r["stats"]["by_type"] = std::move(by_type);

  Json& env = report.environment;
  env["have_bytes_per_node"] = shared.words_per_node * sizeof(uint64_t);
  return report;
}

}  // namespace pando::sim
