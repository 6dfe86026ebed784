#include "sim/dht_scenario.h"

#include <algorithm>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/crypto.h"
#include "core/error_codes.h"
#include "sim/simulator.h"
#include "sim/stats.h"

namespace pando::sim {
namespace {

using proto::DhtLookupResult;
using proto::DhtMessage;
using proto::DhtRecord;
using proto::DhtRecordRef;
using proto::TimeMs;

constexpr int64_t kEpochMs = 1'800'000'000'000;  // Unix ms at simulated time 0.
constexpr uint64_t kPointTag = 0xd47e0001ULL;
constexpr uint64_t kPickTag = 0xd47e0002ULL;

enum class Task : uint8_t { kNodeLookup, kPublish, kRecordBefore, kRecordAfter, kFloodOnly };

struct Pending {
  Task task = Task::kNodeLookup;
  uint32_t index = 0;  // The record (publications) or the group (record lookups).
};

struct Publication {
  TimeMs started = 0;
  uint32_t needed = 0;  // Acknowledgements wanted (the nodes it went to).
  uint32_t got = 0;
  bool counted = false;
};

struct DhtShared {
  DhtScenarioConfig config;
  std::vector<DhtRecordRef> records;       // Group g's carriers' records: g * carriers + c.
  std::vector<std::vector<NodeId>> links;  // The overlay, with `flood`.
  std::unordered_map<const DhtRecord*, bool> verdicts;
  uint64_t verifications = 0;
  std::unordered_map<uint64_t, Pending> pending;  // By (node << 20) ^ handle.
  std::unordered_map<NodeId, Publication> publications;
  std::vector<uint8_t> crashed_or_not;  // 1: crashed.
  std::vector<uint8_t> hostile;         // 1: hostile.
  std::vector<std::pair<uint64_t, NodeId>> hostile_by_point;
  uint64_t hostile_answers = 0;
  std::vector<std::pair<uint64_t, NodeId>> scratch;

  LatencyHistogram node_lookup_ms, publish_ms, record_before_ms, record_after_ms;
  uint64_t node_lookups = 0, node_lookups_exact = 0, node_lookup_requests = 0;
  uint64_t nearest_found = 0, nearest_wanted = 0;
  uint64_t publications_done = 0, publications_empty = 0, acks = 0, kept_here = 0;
  uint64_t record_before = 0, record_before_found = 0, record_before_requests = 0;
  uint64_t record_after = 0, record_after_found = 0, record_after_requests = 0;
  // With `flood`: record lookups answered by a flood, and FLOOD and FLOOD_HIT messages sent
  // in each phase (before: the record lookups; baseline: the flood-only lookups).
  uint64_t record_before_by_flood = 0, flood_messages_before = 0;
  uint64_t baseline = 0, baseline_found = 0, flood_messages_baseline = 0;
  LatencyHistogram baseline_ms;
  TimeMs baseline_from = kNever, baseline_until = kNever;  // The baseline's window.

  uint64_t PointOf(NodeId id) const { return MixHash(MixHash(config.seed, kPointTag), id); }
  static uint64_t Key(NodeId node, uint64_t handle) { return (node << 20) ^ handle; }
};

class Host final : public proto::DiscoveryHost {
 public:
  Host(DhtShared* s, NodeId self) : s_(s), self_(self) {}
  uint64_t PointOf(NodeId node) const override { return s_->PointOf(node); }
  Status VerifyRecord(const DhtRecord& r) override {
    auto [it, added] = s_->verdicts.try_emplace(&r, false);
    if (added) {
      ++s_->verifications;
      it->second = proto::VerifyDhtRecord(r).ok();
    }
    if (it->second) return {};
    return Error{codes::kBadSignature, "The DHT record's signature is not its publisher's."};
  }
  int64_t UnixMs(TimeMs now) const override { return kEpochMs + now; }
  DhtRecordRef SignRecord(proto::DhtKind, const Hash32&, int64_t, uint32_t) override {
    return nullptr;  // Simulated nodes publish the shared records only (PublishRecord).
  }
  std::vector<NodeId> Neighbours() const override {
    return s_->links.empty() ? std::vector<NodeId>{} : s_->links[self_];
  }

 private:
  DhtShared* s_;
  NodeId self_;
};

proto::DiscoveryConfig DiscoveryOf(const DhtScenarioConfig& c) {
  proto::DiscoveryConfig d = c.discovery;
  d.dht = c.dht;
  d.flood = c.flood;
  return d;
}

class DhtSimNode {
 public:
  DhtSimNode(NodeId id, DhtShared* shared)
      : node_(id, PublicKey{}, {}, DiscoveryOf(shared->config)), shared_(shared) {}

  void OnStart(TimeMs now, Context<DhtMessage>& ctx) {
    const NodeId self = ctx.self();
    std::vector<NodeId> contacts;
    if (self != 0)
      contacts.push_back(MixHash(MixHash(shared_->config.seed, 0xc0417ac7ULL), self) % self);
    Host host(shared_, self);
    proto::DiscoveryOutbox out;
    node_.Start(now, contacts, /*publish=*/false, host, out);
    Emit(now, out, ctx);
  }
  void OnMessage(TimeMs now, NodeId from, const DhtMessage& m, Context<DhtMessage>& ctx) {
    if (shared_->hostile[ctx.self()] != 0 && Lie(from, m, ctx)) return;
    Host host(shared_, ctx.self());
    proto::DiscoveryOutbox out;
    node_.OnMessage(now, from, m, host, out);
    Emit(now, out, ctx);
  }
  void OnTimer(TimeMs now, Context<DhtMessage>& ctx) {
    Host host(shared_, ctx.self());
    proto::DiscoveryOutbox out;
    node_.OnTimer(now, host, out);
    Emit(now, out, ctx);
  }
  void OnPeerDown(TimeMs now, NodeId peer, Context<DhtMessage>& ctx) {
    Host host(shared_, ctx.self());
    proto::DiscoveryOutbox out;
    node_.OnPeerDown(now, peer, host, out);
    Emit(now, out, ctx);
  }

  void Begin(TimeMs now, Task task, uint32_t index, Context<DhtMessage>& ctx) {
    Host host(shared_, ctx.self());
    proto::DiscoveryOutbox out;
    uint64_t handle = 0;
    if (task == Task::kNodeLookup) {
      const uint64_t h = MixHash(MixHash(shared_->config.seed, kPickTag + 7), index);
      handle = node_.dht().Lookup(now, proto::DhtKeyAt(h), 0, host, out.dht);
    } else if (task == Task::kPublish) {
      shared_->publications[ctx.self()] = Publication{now, 0, 0, false};
      handle = node_.PublishRecord(now, shared_->records[index], host, out);
    } else if (task == Task::kFloodOnly) {
      handle = node_.FloodOnly(now, proto::DhtKind::kCarriesGroup, GroupKey(index), host, out);
    } else {
      handle = node_.Find(now, proto::DhtKind::kCarriesGroup, GroupKey(index), host, out);
    }
    CHECK(handle != 0);
    shared_->pending[DhtShared::Key(ctx.self(), handle)] = Pending{task, index};
    Emit(now, out, ctx);
  }

  const proto::Dht& dht() const { return node_.dht(); }

 private:
  // A hostile node's answer to a request: the hostile nodes nearest the target (from the
  // ones numerically nearest its point), no record; a STORE acknowledged and dropped; a
  // FLOOD or FLOOD_HIT dropped.
  bool Lie(NodeId from, const DhtMessage& m, Context<DhtMessage>& ctx) {
    DhtShared& s = *shared_;
    if (const auto* store = std::get_if<proto::DhtStore>(&m)) {
      ++s.hostile_answers;
      ctx.Send(from, proto::DhtStored{store->rpc, proto::DhtStoreCode::kStored});
      return true;
    }
    // A flooded query, or a hit going back, goes no further.
    if (std::holds_alternative<proto::DhtFlood>(m) ||
        std::holds_alternative<proto::DhtFloodHit>(m)) {
      ++s.hostile_answers;
      return true;
    }
    const auto* find = std::get_if<proto::DhtFind>(&m);
    if (find == nullptr) return false;
    ++s.hostile_answers;
    const uint64_t point = proto::DhtPoint(find->target);
    auto at = std::lower_bound(s.hostile_by_point.begin(), s.hostile_by_point.end(),
                               std::pair<uint64_t, NodeId>{point, 0});
    const ptrdiff_t first = std::max<ptrdiff_t>(0, (at - s.hostile_by_point.begin()) - 20);
    const auto last =
        std::min<ptrdiff_t>(static_cast<ptrdiff_t>(s.hostile_by_point.size()), first + 40);
    std::vector<std::pair<uint64_t, NodeId>> near;
    for (ptrdiff_t i = first; i < last; ++i) {
      const NodeId id = s.hostile_by_point[static_cast<size_t>(i)].second;
      if (id != ctx.self() && id != from) near.emplace_back(s.PointOf(id) ^ point, id);
    }
    std::sort(near.begin(), near.end());
    proto::DhtFound f;
    f.rpc = find->rpc;
    for (size_t i = 0; i < near.size() && f.nodes.size() < proto::kDhtNodesMax; ++i) {
      f.nodes.push_back(near[i].second);
    }
    ctx.Send(from, std::move(f));
    return true;
  }

  Hash32 GroupKey(uint32_t group) const {
    return shared_->records[size_t{group} * shared_->config.carriers]->key;
  }

  void Emit(TimeMs now, proto::DiscoveryOutbox& out, Context<DhtMessage>& ctx) {
    DhtShared& s = *shared_;
    for (auto& [to, m] : out.dht.sends) {
      if (std::holds_alternative<proto::DhtFlood>(m) ||
          std::holds_alternative<proto::DhtFloodHit>(m)) {
        if (now < s.baseline_from) {
          ++s.flood_messages_before;
        } else if (now < s.baseline_until) {
          ++s.flood_messages_baseline;
        }
      }
      ctx.Send(to, std::move(m));
    }
    // The DHT's own `done` was emptied by Discovery: results come as lookups and finds.
    for (DhtLookupResult& r : out.lookups) Done(now, r, ctx.self());
    for (DhtLookupResult& r : out.finds) Done(now, r, ctx.self());
    if (out.dht.stored_acks > 0) Acked(now, out.dht.stored_acks, ctx.self());
    ctx.SetTimer(node_.NextTimerAt());
  }

  void Acked(TimeMs now, uint32_t acks, NodeId self) {
    shared_->acks += acks;
    auto it = shared_->publications.find(self);
    if (it == shared_->publications.end()) return;
    Publication& p = it->second;
    p.got += acks;
    if (!p.counted && p.needed > 0 && p.got >= p.needed) {
      p.counted = true;
      shared_->publish_ms.Add(now - p.started);
    }
  }

  void Done(TimeMs now, const DhtLookupResult& r, NodeId self) {
    auto it = shared_->pending.find(DhtShared::Key(self, r.handle));
    if (it == shared_->pending.end()) return;  // The join's own lookup.
    const Pending p = it->second;
    shared_->pending.erase(it);
    DhtShared& s = *shared_;
    switch (p.task) {
      case Task::kNodeLookup:
        ++s.node_lookups;
        s.node_lookup_requests += r.requests;
        s.node_lookup_ms.Add(now - r.started_ms);
        Score(r, self);
        break;
      case Task::kPublish: {
        ++s.publications_done;
        Publication& pub = s.publications[self];
        pub.needed = static_cast<uint32_t>(r.closest.size());
        s.kept_here += r.kept_here ? 1 : 0;
        if (pub.needed == 0) ++s.publications_empty;
        break;
      }
      case Task::kFloodOnly: {
        const Hash32 key = GroupKey(p.index);
        ++s.baseline;
        if (std::any_of(r.records.begin(), r.records.end(),
                        [&](const auto& x) { return x->key == key; })) {
          ++s.baseline_found;
          s.baseline_ms.Add(now - r.started_ms);
        }
        break;
      }
      case Task::kRecordBefore:
      case Task::kRecordAfter: {
        const bool before = p.task == Task::kRecordBefore;
        const Hash32 key = GroupKey(p.index);
        const bool found = std::any_of(r.records.begin(), r.records.end(),
                                       [&](const auto& x) { return x->key == key; });
        if (before && found && r.source != DhtLookupResult::Source::kDht) {
          ++s.record_before_by_flood;
        }
        (before ? s.record_before : s.record_after) += 1;
        (before ? s.record_before_requests : s.record_after_requests) += r.requests;
        if (found) {
          (before ? s.record_before_found : s.record_after_found) += 1;
          (before ? s.record_before_ms : s.record_after_ms).Add(now - r.started_ms);
        }
        break;
      }
    }
  }

  // How many of the true k nearest live nodes a node lookup found.
  void Score(const DhtLookupResult& r, NodeId self) {
    DhtShared& s = *shared_;
    const uint64_t point = proto::DhtPoint(r.target);
    s.scratch.clear();
    for (NodeId id = 0; id < s.crashed_or_not.size(); ++id) {
      if (id != self && s.crashed_or_not[id] == 0)
        s.scratch.emplace_back(s.PointOf(id) ^ point, id);
    }
    const size_t k = std::min(s.config.dht.k, s.scratch.size());
    std::nth_element(s.scratch.begin(), s.scratch.begin() + static_cast<ptrdiff_t>(k),
                     s.scratch.end());
    std::vector<NodeId> truth;
    for (size_t i = 0; i < k; ++i) truth.push_back(s.scratch[i].second);
    std::sort(truth.begin(), truth.end());
    size_t hit = 0;
    for (NodeId id : r.closest) hit += std::binary_search(truth.begin(), truth.end(), id) ? 1 : 0;
    s.nearest_found += hit;
    s.nearest_wanted += k;
    if (hit == k) ++s.node_lookups_exact;
  }

  proto::Discovery node_;
  DhtShared* shared_;
};

using DhtSim = Simulator<DhtSimNode, DhtMessage>;

// A live honest node, from h on.
NodeId LiveFrom(const DhtShared& s, uint64_t h) {
  const uint64_t n = s.crashed_or_not.size();
  NodeId id = h % n;
  while (s.crashed_or_not[id] != 0 || s.hostile[id] != 0) id = (id + 1) % n;
  return id;
}

void Schedule(DhtSim& sim, TimeMs at, Task task, uint32_t index, NodeId node) {
  sim.At(at, [node, task, index](DhtSim& x) {
    x.Invoke(node, [task, index](DhtSimNode& n, Context<DhtMessage>& ctx) {
      n.Begin(ctx.Now(), task, index, ctx);
    });
  });
}

}  // namespace

Report RunDhtScenario(const DhtScenarioConfig& config) {
  CHECK(config.nodes >= 2);
  InitCrypto();
  const uint64_t n = config.nodes;
  DhtShared shared;
  shared.config = config;
  shared.crashed_or_not.assign(n, 0);
  shared.hostile.assign(n, 0);
  for (NodeId id = 1; id < n; ++id) {
    const double u =
        static_cast<double>(MixHash(MixHash(config.seed, 0xbadd47eULL), id) >> 11) * 0x1p-53;
    if (u < config.hostile_fraction) {
      shared.hostile[id] = 1;
      shared.hostile_by_point.emplace_back(shared.PointOf(id), id);
    }
  }
  std::sort(shared.hostile_by_point.begin(), shared.hostile_by_point.end());
  NetworkConfig net;
  net.seed = config.seed;
  net.latency_min_ms = config.latency_min_ms;
  net.latency_max_ms = config.latency_max_ms;
  DhtShared* sp = &shared;
  DhtSim sim(net, n, [sp](NodeId id) { return DhtSimNode(id, sp); });
  for (NodeId id = 0; id < n; ++id) {
    sim.At(static_cast<TimeMs>(id * config.join_window_ms / n), [id](DhtSim& x) { x.Start(id); });
  }
  // Records: `records` groups, each with `carriers` carriers, each record signed by a key of
  // its own.
  CHECK(config.carriers >= 1);
  const uint64_t publications = uint64_t{config.records} * config.carriers;
  for (uint64_t i = 0; i < publications; ++i) {
    Seed seed{};
    const uint64_t h = MixHash(config.seed, 0x5eedd47eULL + i);
    for (size_t b = 0; b < 8; ++b) seed[b] = static_cast<uint8_t>(h >> (8 * b));
    const KeyPair key = KeyPair::FromSeed(seed);
    shared.records.push_back(std::make_shared<const DhtRecord>(proto::SignDhtRecord(
        proto::DhtKind::kCarriesGroup,
        proto::DhtGroupKey("group-" + std::to_string(i / config.carriers)), key,
        "203.0.113." + std::to_string(i % 250 + 1) + ":7400", kEpochMs, 3'600)));
  }
  // The overlay the flood travels: overlay_degree / 2 random links per node, both ways.
  if (config.flood) {
    shared.links.assign(n, {});
    const uint64_t per_node = std::max<uint32_t>(1, config.overlay_degree / 2);
    for (NodeId id = 0; id < n; ++id) {
      for (uint64_t j = 0; j < per_node; ++j) {
        const NodeId other = MixHash(MixHash(config.seed, 0x0f100dULL + j), id) % n;
        if (other == id) continue;
        shared.links[id].push_back(other);
        shared.links[other].push_back(id);
      }
    }
  }

  TimeMs t = config.join_window_ms + config.settle_ms;
  const uint64_t pick = MixHash(config.seed, kPickTag);
  for (uint32_t i = 0; i < config.lookups; ++i) {
    Schedule(sim, t + i * config.spacing_ms, Task::kNodeLookup, i,
             LiveFrom(shared, MixHash(pick, i)));
  }
  t += config.lookups * config.spacing_ms + 10'000;
  const TimeMs publish_at = t;
  for (uint64_t i = 0; i < publications; ++i) {
    // Distinct publishers: i * n / publications.
    Schedule(sim, t + static_cast<TimeMs>(i) * config.spacing_ms, Task::kPublish,
             static_cast<uint32_t>(i),
             LiveFrom(shared, i * n / std::max<uint64_t>(1, publications)));
  }
  t += static_cast<TimeMs>(publications) * config.spacing_ms + 10'000;
  for (uint32_t i = 0; i < config.records; ++i) {
    Schedule(sim, t + i * config.spacing_ms, Task::kRecordBefore, i,
             LiveFrom(shared, MixHash(pick + 1, i)));
  }
  t += config.records * config.spacing_ms + 10'000;
  if (config.flood) {
    // The baseline: the same groups looked up by flooding alone, from other askers.
    shared.baseline_from = t;
    for (uint32_t i = 0; i < config.records; ++i) {
      Schedule(sim, t + i * config.spacing_ms, Task::kFloodOnly, i,
               LiveFrom(shared, MixHash(pick + 4, i)));
    }
    t += config.records * config.spacing_ms + 10'000;
    shared.baseline_until = t;
  }
  sim.RunUntil(t);

  // Routing state, before the crash.
  std::vector<uint64_t> contacts(n);
  uint64_t sum = 0;
  for (NodeId id = 0; id < n; ++id) sum += contacts[id] = sim.node(id).dht().contacts();
  std::sort(contacts.begin(), contacts.end());

  // The crash, then the records again from live nodes.
  const auto crash = static_cast<uint64_t>(config.crash_fraction * static_cast<double>(n));
  for (uint64_t i = 0, placed = 0; placed < crash && i < 100 * n; ++i) {
    const NodeId id = MixHash(pick + 2, i) % n;
    if (shared.crashed_or_not[id] != 0) continue;
    shared.crashed_or_not[id] = 1;
    sim.Crash(id);
    ++placed;
  }
  const TimeMs after_at = t + 1'000;
  for (uint32_t i = 0; i < config.records; ++i) {
    Schedule(sim, after_at + i * config.spacing_ms, Task::kRecordAfter, i,
             LiveFrom(shared, MixHash(pick + 3, i)));
  }
  sim.RunUntil(after_at + config.records * config.spacing_ms + 30'000);

  Report report;
  Json& r = report.result;
  r["scenario"] = {{"kind", "dht"},
                   {"nodes", n},
                   {"seed", config.seed},
                   {"k", config.dht.k},
                   {"alpha", config.dht.alpha},
                   {"paths", config.dht.paths},
                   {"request_timeout_ms", config.dht.request_timeout_ms},
                   {"join_window_ms", config.join_window_ms},
                   {"crash_fraction", config.crash_fraction},
                   {"hostile_fraction", config.hostile_fraction},
                   {"carriers", config.carriers},
                   {"flood", config.flood}};
  r["routing"] = {{"contacts_mean", n == 0 ? 0 : sum / n},
                  {"contacts_p50", contacts[n / 2]},
                  {"contacts_max", contacts.back()},
                  {"bytes_per_node_mean", n == 0 ? 0 : 16 * sum / n}};
  auto share = [](uint64_t a, uint64_t b) {
    return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b);
  };
  r["node_lookups"] = {{"count", shared.node_lookups},
                       {"latency_ms", ToJson(shared.node_lookup_ms)},
                       {"requests_mean", share(shared.node_lookup_requests, shared.node_lookups)},
                       {"exact_share", share(shared.node_lookups_exact, shared.node_lookups)},
                       {"nearest_found_share", share(shared.nearest_found, shared.nearest_wanted)}};
  r["publications"] = {{"count", shared.publications_done},
                       {"to_kth_ack_ms", ToJson(shared.publish_ms)},
                       {"acks", shared.acks},
                       {"kept_by_publisher", shared.kept_here},
                       {"with_nobody_found", shared.publications_empty},
                       {"started_at_ms", publish_at}};
  r["record_lookups"] = {
      {"count", shared.record_before},
      {"success_share", share(shared.record_before_found, shared.record_before)},
      {"latency_ms", ToJson(shared.record_before_ms)},
      {"requests_mean", share(shared.record_before_requests, shared.record_before)}};
  if (config.flood) {
    // Messages per lookup: FIND and FOUND (two per request), FLOOD and FLOOD_HIT.
    r["record_lookups"]["found_by_flood"] = shared.record_before_by_flood;
    r["record_lookups"]["flood_messages_mean"] =
        share(shared.flood_messages_before, shared.record_before);
    r["record_lookups"]["messages_mean"] = share(
        2 * shared.record_before_requests + shared.flood_messages_before, shared.record_before);
    r["flood_only"] = {{"count", shared.baseline},
                       {"success_share", share(shared.baseline_found, shared.baseline)},
                       {"latency_ms", ToJson(shared.baseline_ms)},
                       {"messages_mean", share(shared.flood_messages_baseline, shared.baseline)},
                       {"hops", config.discovery.flood_hops},
                       {"fanout", config.discovery.flood_fanout},
                       {"overlay_degree", config.overlay_degree}};
  }
  r["after_crash"] = {{"crashed", crash},
                      {"count", shared.record_after},
                      {"success_share", share(shared.record_after_found, shared.record_after)},
                      {"latency_ms", ToJson(shared.record_after_ms)},
                      {"requests_mean", share(shared.record_after_requests, shared.record_after)}};
  r["verification"] = {{"signatures_checked", shared.verifications}};
  r["hostile"] = {{"nodes", shared.hostile_by_point.size()},
                  {"lying_answers", shared.hostile_answers}};
  sim.FillReport(&report);
  return report;
}

}  // namespace pando::sim
