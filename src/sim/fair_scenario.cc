#include "sim/fair_scenario.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "core/crypto.h"
#include "sim/real_node.h"
#include "sim/real_scenario.h"

namespace pando::sim {
namespace {

constexpr uint64_t kHomeTag = 0xfa1e;
constexpr double kTargetShare = 0.9;
constexpr proto::TimeMs kTargetP99Ms = 2'000;

// One entry to post: when, in which group (0 is the flood), by which of its authors.
struct Post {
  proto::TimeMs at;
  uint32_t group;
  uint32_t author;
};

// Posts of one group: `per_s` a second from `first_ms` for `duration_ms`, spread evenly,
// the first `offset` (a fraction of the spacing) late.
void Schedule(uint32_t group, uint32_t authors, double per_s, proto::TimeMs first_ms,
              proto::TimeMs duration_ms, double offset, std::vector<Post>& out) {
  const auto count = static_cast<uint64_t>(per_s * static_cast<double>(duration_ms) / 1000.0);
  for (uint64_t i = 0; i < count; ++i) {
    const double at = (static_cast<double>(i) + offset) * 1000.0 / per_s;
    out.push_back(
        Post{first_ms + static_cast<proto::TimeMs>(at), group, static_cast<uint32_t>(i % authors)});
  }
}

// What one group's entries did.
struct GroupFigures {
  uint64_t posted = 0;
  uint64_t posted_in_window = 0;
  uint64_t held_pairs = 0;           // (node, entry) pairs held by a node other than the origin.
  uint64_t delivered_in_window = 0;  // Of those, first held within the window.
  LatencyHistogram delay;
};

}  // namespace

Report RunFairShareScenario(const FairShareConfig& config) {
  CHECK(config.nodes >= 2 && config.capacity_per_s > 0 && config.flood_authors >= 1 &&
        config.quiet_authors >= 1);
  InitCrypto();
  const uint64_t n = config.nodes;
  const uint32_t groups = config.quiet_groups + 1;
  const proto::TimeMs first_post_ms = config.join_window_ms + config.warmup_ms;
  const double fair_share_per_s = config.capacity_per_s / groups;
  const double quiet_per_s = config.quiet_share * fair_share_per_s;

  RealShared shared;
  shared.seed = config.seed;
  shared.groups = {"flood"};
  for (uint32_t q = 1; q <= config.quiet_groups; ++q)
    shared.groups.push_back("quiet-" + std::to_string(q));
  shared.limits.quota.enabled = config.quotas;
  shared.ingest_entries_per_s = config.capacity_per_s;
  shared.ingest_turn_ms = config.turn_ms;
  shared.ingest_limits = config.queue;
  shared.ingest_fifo = config.fifo;

  // The posts, in time order, each the next entry of its author's feed.
  std::vector<Post> posts;
  Schedule(0, config.flood_authors, config.flood_factor * config.capacity_per_s, first_post_ms,
           config.post_ms, 0, posts);
  for (uint32_t q = 1; q <= config.quiet_groups; ++q) {
    Schedule(q, config.quiet_authors, quiet_per_s, first_post_ms, config.post_ms,
             static_cast<double>(q) / groups, posts);
  }
  std::stable_sort(posts.begin(), posts.end(),
                   [](const Post& a, const Post& b) { return a.at < b.at; });
  std::vector<std::vector<KeyPair>> keys(groups);
  std::vector<std::vector<FeedHead>> heads(groups);
  for (uint32_t g = 0; g < groups; ++g) {
    const uint32_t authors = g == 0 ? config.flood_authors : config.quiet_authors;
    for (uint32_t a = 0; a < authors; ++a)
      keys[g].push_back(SimAuthorKey(config.seed, g * 1'000'000ull + a));
    heads[g].resize(authors);
  }
  std::vector<NodeId> home(posts.size());
  for (size_t k = 0; k < posts.size(); ++k) {
    const Post& p = posts[k];
    shared.Add(SignNextEntry(keys[p.group][p.author], heads[p.group][p.author],
                             shared.groups[p.group], p.at, config.payload_bytes, k));
    home[k] = MixHash(MixHash(config.seed, kHomeTag + p.group), p.author) % n;
  }

  // What reached whom, and when.
  const proto::TimeMs window_from = first_post_ms + config.post_ms / 2;
  const proto::TimeMs window_to = first_post_ms + config.post_ms;
  std::vector<GroupFigures> figures(groups);
  std::vector<uint32_t> held(posts.size(), 0);
  for (const Post& p : posts) {
    ++figures[p.group].posted;
    if (p.at >= window_from && p.at < window_to) ++figures[p.group].posted_in_window;
  }
  shared.on_held = [&](uint32_t k, NodeId node, proto::TimeMs now) {
    if (node == home[k]) return;
    GroupFigures& f = figures[posts[k].group];
    ++held[k];
    ++f.held_pairs;
    f.delay.Add(now - posts[k].at);
    if (now >= window_from && now < window_to) ++f.delivered_in_window;
  };

  auto sim =
      StartRealSim(shared, n, config.latency_min_ms, config.latency_max_ms, config.join_window_ms);
  for (size_t k = 0; k < posts.size(); ++k) {
    SchedulePost(*sim, home[k], static_cast<uint32_t>(k), posts[k].at);
  }
  sim->RunUntil(window_to + config.drain_ms);
  const proto::TimeMs end = sim->now();
  // Pairs still missing count as the time they have waited so far.
  for (size_t k = 0; k < posts.size(); ++k) {
    for (uint64_t m = held[k]; m < n - 1; ++m) figures[posts[k].group].delay.Add(end - posts[k].at);
  }

  std::vector<proto::FairQueueGroupStats> queued(groups);
  proto::FairQueueGroupStats queue_total;
  for (NodeId id = 0; id < n; ++id) {
    const auto* q = sim->node(id).ingest();
    if (q == nullptr) continue;
    for (uint32_t g = 0; g < groups; ++g) {
      queued[g].dropped_entries += q->stats(g).dropped_entries;
      queued[g].served_entries += q->stats(g).served_entries;
    }
    const proto::FairQueueGroupStats t = q->total();
    queue_total.dropped_entries += t.dropped_entries;
    queue_total.served_entries += t.served_entries;
    queue_total.queued_entries += t.queued_entries;
  }

  Report report;
  Json& r = report.result;
  Json& scenario = r["scenario"];
  scenario["entries_kind"] = "real";
  scenario["queue"] = config.fifo ? "fifo" : "fair";
  scenario["nodes"] = n;
  scenario["quiet_groups"] = config.quiet_groups;
  scenario["capacity_entries_per_s"] = config.capacity_per_s;
  scenario["flood_factor"] = config.flood_factor;
  scenario["quiet_share"] = config.quiet_share;
  scenario["flood_authors"] = config.flood_authors;
  scenario["quiet_authors"] = config.quiet_authors;
  scenario["post_ms"] = config.post_ms;
  scenario["drain_ms"] = config.drain_ms;
  scenario["payload_bytes"] = config.payload_bytes;
  scenario["turn_ms"] = config.turn_ms;
  scenario["quantum_bytes"] = config.queue.quantum_bytes;
  scenario["group_queue_bytes_max"] = config.queue.group_bytes_max;
  scenario["queue_bytes_max"] = config.queue.total_bytes_max;
  scenario["quotas"] = config.quotas;
  scenario["seed"] = config.seed;
  scenario["first_post_ms"] = first_post_ms;
  scenario["window_ms"] = {window_from, window_to};

  const double window_s = static_cast<double>(window_to - window_from) / 1000.0;
  const double others = static_cast<double>(n - 1);
  double min_share = 1e9;
  proto::TimeMs max_p99 = 0;
  Json by_group = Json::array();
  for (uint32_t g = 0; g < groups; ++g) {
    const GroupFigures& f = figures[g];
    const double offered_per_s = static_cast<double>(f.posted_in_window) / window_s;
    const double delivered_per_s = static_cast<double>(f.delivered_in_window) / others / window_s;
    const double due_per_s = std::min(offered_per_s, fair_share_per_s);
    const double share = due_per_s > 0 ? delivered_per_s / due_per_s : 0;
    Json j = Json::object();
    j["name"] = shared.groups[g];
    j["posted"] = f.posted;
    j["posted_per_s"] = offered_per_s;
    j["fair_share_per_s"] = fair_share_per_s;
    j["delivered_per_node_per_s"] = delivered_per_s;
    j["share_of_fair_share"] = share;
    j["held_pairs"] = f.held_pairs;
    j["expected_pairs"] = f.posted * (n - 1);
    j["delay_ms"] = ToJson(f.delay);
    if (!config.fifo) j["queue_dropped_entries"] = queued[g].dropped_entries;
    by_group.push_back(std::move(j));
    if (g > 0) {
      min_share = std::min(min_share, share);
      max_p99 = std::max(max_p99, f.delay.Percentile(990));
    }
  }
  r["groups"] = std::move(by_group);
  r["quiet"] = {{"min_share_of_fair_share", min_share},
                {"max_p99_ms", max_p99},
                {"targets_met", min_share >= kTargetShare && max_p99 < kTargetP99Ms}};
  // Signature checks: what the capacity bounds (second copies are served but cost none).
  r["queue"] = {{"entries_checked_per_node_per_s",
                 static_cast<double>(shared.verify_calls) / static_cast<double>(n) /
                     (static_cast<double>(end - first_post_ms) / 1000.0)},
                {"served_entries", queue_total.served_entries},
                {"dropped_entries", queue_total.dropped_entries},
                {"queued_at_end", queue_total.queued_entries}};
  uint64_t gap_wants = 0, held_dropped = 0, duplicates = 0;
  for (NodeId id = 0; id < n; ++id) {
    const proto::NodeCoreCounters& c = sim->node(id).core().counters();
    gap_wants += c.gap_wants;
    held_dropped += c.held_dropped;
    duplicates += c.duplicates;
  }
  r["gaps"] = {{"wants_for_predecessors", gap_wants},
               {"waiting_peak_one_node", shared.waiting_peak},
               {"dropped_from_waiting", held_dropped},
               {"duplicates", duplicates}};
  r["verification"] = {{"calls", shared.verify_calls},
                       {"signatures_checked", shared.verifications}};
  r["violations"] = shared.violations;
  sim->FillReport(&report);
  return report;
}

Json RunFairShareComparison(FairShareConfig config) {
  config.fifo = false;
  const Report fair = RunFairShareScenario(config);
  config.fifo = true;
  const Report fifo = RunFairShareScenario(config);
  const auto line = [](const Report& r) {
    const Json& q = r.result["quiet"];
    return Json{{"min_share_of_fair_share", q["min_share_of_fair_share"]},
                {"max_p99_ms", q["max_p99_ms"]},
                {"targets_met", q["targets_met"]}};
  };
  Json out = Json::object();
  out["fair_queue"] = {{"result", fair.result}, {"environment", fair.environment}};
  out["fifo"] = {{"result", fifo.result}, {"environment", fifo.environment}};
  out["figure"] = {{"target_min_share_of_fair_share", kTargetShare},
                   {"target_max_p99_ms", kTargetP99Ms},
                   {"fair_queue", line(fair)},
                   {"fifo", line(fifo)}};
  return out;
}

}  // namespace pando::sim
