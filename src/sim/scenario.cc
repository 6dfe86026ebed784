#include "sim/scenario.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <numeric>
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

// Ratios are reported to four decimals: enough to compare runs, and short to read. The
// value is computed from integers in the same way every run, so the text stays identical.
double Round4(double x) { return std::round(x * 10'000.0) / 10'000.0; }
double Ratio(uint64_t num, uint64_t den) {
  return den == 0 ? 0.0 : Round4(static_cast<double>(num) / static_cast<double>(den));
}

// Union-find over the undirected graph of active views: the size of its largest component.
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
    for (NodeId b : sim.node(a).membership().active()) {
      const uint32_t ra = find(static_cast<uint32_t>(a)), rb = find(static_cast<uint32_t>(b));
      if (ra != rb) parent[std::max(ra, rb)] = std::min(ra, rb);
    }
  }
  std::vector<uint32_t> size(n, 0);
  uint32_t largest = 0;
  for (uint32_t x = 0; x < n; ++x) largest = std::max(largest, ++size[find(x)]);
  return largest;
}

// The shape of the active-view graph now.
Json OverlayJson(const PandoSim& sim) {
  const uint64_t n = sim.num_nodes();
  uint64_t active_sum = 0;
  for (NodeId id = 0; id < n; ++id) active_sum += sim.node(id).membership().active().size();
  const uint64_t largest = LargestComponent(sim);
  Json overlay = Json::object();
  overlay["at_ms"] = sim.now();
  overlay["mean_active_view"] = Ratio(active_sum, n);
  overlay["largest_component_nodes"] = largest;
  overlay["largest_component_share"] = Ratio(largest, n);
  return overlay;
}

}  // namespace

Report RunOneGroupScenario(const ScenarioConfig& config) {
  CHECK(config.nodes >= 1 && config.nodes < (uint64_t{1} << 30));
  CHECK(config.entries >= 1);
  CHECK(config.join_window_ms >= 0 && config.warmup_ms >= 0 && config.post_interval_ms >= 0);

  PandoShared shared(config.seed, config.nodes, config.entries, config.flooding);
  shared.payload_bytes = config.payload_bytes;
  shared.broadcast.ihave_timeout_ms = config.ihave_timeout_ms;
  shared.broadcast.graft_timeout_ms = config.graft_timeout_ms;
  shared.broadcast.optimize_lead_ms = config.optimize_lead_ms;
  shared.broadcast.optimize_threshold_hops = config.optimize_threshold_hops;
  shared.broadcast.prune_guard_ms = config.prune_guard_ms;

  NetworkConfig net;
  net.seed = config.seed;
  net.latency_min_ms = config.latency_min_ms;
  net.latency_max_ms = config.latency_max_ms;
  auto sim = std::make_unique<PandoSim>(net, config.nodes,
                                        [&shared](NodeId id) { return PandoNode(id, &shared); });

  // Staggered joins: node i comes up at i * join_window_ms / nodes, through a random earlier
  // node (JoinContact), which is up by then because lower ids start first.
  const uint64_t n = config.nodes;
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
  const TimeMs first_post_ms = config.join_window_ms + config.warmup_ms;
  Json overlay_at_first_post;
  sim->At(first_post_ms,
          [&overlay_at_first_post](PandoSim& s) { overlay_at_first_post = OverlayJson(s); });

  // Posts: entry k from a random node, every post_interval_ms after the warm-up.
  Rng origin_rng(MixHash(config.seed, kOriginTag));
  for (uint64_t k = 0; k < config.entries; ++k) {
    const NodeId origin = origin_rng.Below(n);
    sim->At(first_post_ms + static_cast<TimeMs>(k) * config.post_interval_ms,
            [origin, k](PandoSim& s) {
              s.Invoke(origin, [k](PandoNode& node, Context<PandoMessage>& ctx) {
                node.Post(ctx.Now(), k, ctx);
              });
            });
  }
  const TimeMs last_post_ms =
      first_post_ms + static_cast<TimeMs>(config.entries - 1) * config.post_interval_ms;

  // Run through the posts, then until every node holds every entry or the drain limit. The
  // membership keeps shuffling forever, so the queue never empties on its own.
  const uint64_t expected = n * config.entries;
  sim->RunUntil(last_post_ms);
  const TimeMs limit = last_post_ms + config.drain_limit_ms;
  while (shared.deliveries < expected && sim->now() < limit) {
    sim->RunUntil(std::min(limit, sim->now() + kDrainStepMs));
  }

  // The report: the scenario's outcomes first, then the simulator's configuration and
  // counters (FillReport appends them).
  Report report;
  Json& r = report.result;
  Json& scenario = r["scenario"];
  scenario["broadcast"] = config.flooding ? "flooding" : "plumtree";
  scenario["nodes"] = n;
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
  scenario["optimize_lead_ms"] = config.optimize_lead_ms;
  scenario["optimize_threshold_hops"] = config.optimize_threshold_hops;
  scenario["prune_guard_ms"] = config.prune_guard_ms;
  scenario["first_post_ms"] = first_post_ms;
  scenario["last_post_ms"] = last_post_ms;

  Json& delivery = r["delivery"];
  delivery["expected"] = expected;
  delivery["delivered"] = shared.deliveries;
  // Not rounded: 0.99996 must not read as 1.
  delivery["ratio"] = static_cast<double>(shared.deliveries) / static_cast<double>(expected);
  delivery["last_delivery_ms"] = shared.last_delivery_ms;
  r["delay_ms"] = ToJson(shared.delay);

  // Traffic. Membership messages are counted over the whole run (joins, repairs, shuffles);
  // broadcast messages exist only for the entries.
  const SimStats& stats = sim->stats();
  uint64_t membership_sent = 0, membership_bytes = 0, broadcast_bytes = 0, control_sent = 0;
  for (size_t i = 0; i < stats.per_type.size(); ++i) {
    const MessageStats& m = stats.per_type[i];
    if (i < kFirstBroadcastIndex) {
      membership_sent += m.sent;
      membership_bytes += m.bytes_sent;
    } else {
      broadcast_bytes += m.bytes_sent;
    }
    if (i != kGossipIndex) control_sent += m.sent;
  }
  const uint64_t node_entries = expected;
  const uint64_t node_seconds_x1000 = n * static_cast<uint64_t>(std::max<TimeMs>(sim->now(), 1));
  Json& traffic = r["traffic"];
  traffic["payload_copies"] = shared.payload_copies;
  traffic["payload_copies_per_node_per_entry"] = Ratio(shared.payload_copies, node_entries);
  traffic["broadcast_bytes_per_node_per_entry"] = Ratio(broadcast_bytes, node_entries);
  traffic["broadcast_control_per_node_per_entry"] =
      Ratio(control_sent - membership_sent, node_entries);
  traffic["control_messages_per_node_per_s"] = Ratio(control_sent * 1000, node_seconds_x1000);
  traffic["membership_bytes_per_node_per_s"] = Ratio(membership_bytes * 1000, node_seconds_x1000);

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
