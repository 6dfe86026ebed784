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

enum class Task : uint8_t { kNodeLookup, kPublish, kRecordBefore, kRecordAfter };

struct Pending {
  Task task = Task::kNodeLookup;
  uint32_t index = 0;  // The record, for publications and record lookups.
};

struct Publication {
  TimeMs started = 0;
  uint32_t needed = 0;  // Acknowledgements wanted (the nodes it went to).
  uint32_t got = 0;
  bool counted = false;
};

struct DhtShared {
  DhtScenarioConfig config;
  std::vector<DhtRecordRef> records;
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

  uint64_t PointOf(NodeId id) const { return MixHash(MixHash(config.seed, kPointTag), id); }
  static uint64_t Key(NodeId node, uint64_t handle) { return (node << 20) ^ handle; }
};

class Host final : public proto::DhtHost {
 public:
  explicit Host(DhtShared* s) : s_(s) {}
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

 private:
  DhtShared* s_;
};

class DhtSimNode {
 public:
  DhtSimNode(NodeId id, DhtShared* shared) : dht_(id, shared->config.dht), shared_(shared) {}

  void OnStart(TimeMs now, Context<DhtMessage>& ctx) {
    const NodeId self = ctx.self();
    std::vector<NodeId> contacts;
    if (self != 0)
      contacts.push_back(MixHash(MixHash(shared_->config.seed, 0xc0417ac7ULL), self) % self);
    Host host(shared_);
    proto::DhtOutbox out;
    dht_.Start(now, contacts, host, out);
    Emit(now, out, ctx);
  }
  void OnMessage(TimeMs now, NodeId from, const DhtMessage& m, Context<DhtMessage>& ctx) {
    if (shared_->hostile[ctx.self()] != 0 && Lie(from, m, ctx)) return;
    Host host(shared_);
    proto::DhtOutbox out;
    dht_.OnMessage(now, from, m, host, out);
    Emit(now, out, ctx);
  }
  void OnTimer(TimeMs now, Context<DhtMessage>& ctx) {
    Host host(shared_);
    proto::DhtOutbox out;
    dht_.OnTimer(now, host, out);
    Emit(now, out, ctx);
  }
  void OnPeerDown(TimeMs now, NodeId peer, Context<DhtMessage>& ctx) {
    Host host(shared_);
    proto::DhtOutbox out;
    dht_.OnPeerDown(now, peer, host, out);
    Emit(now, out, ctx);
  }

  void Begin(TimeMs now, Task task, uint32_t index, Context<DhtMessage>& ctx) {
    Host host(shared_);
    proto::DhtOutbox out;
    uint64_t handle = 0;
    if (task == Task::kNodeLookup) {
      const uint64_t h = MixHash(MixHash(shared_->config.seed, kPickTag + 7), index);
      handle = dht_.Lookup(now, proto::DhtKeyAt(h), 0, host, out);
    } else if (task == Task::kPublish) {
      shared_->publications[ctx.self()] = Publication{now, 0, 0, false};
      handle = dht_.Publish(now, shared_->records[index], host, out);
    } else {
      handle = dht_.Lookup(now, shared_->records[index]->key,
                           static_cast<uint8_t>(proto::DhtKind::kCarriesGroup), host, out);
    }
    CHECK(handle != 0);
    shared_->pending[DhtShared::Key(ctx.self(), handle)] = Pending{task, index};
    Emit(now, out, ctx);
  }

  const proto::Dht& dht() const { return dht_; }

 private:
  // A hostile node's answer to a request: the hostile nodes nearest the target (from the
  // ones numerically nearest its point), no record; a STORE acknowledged and dropped.
  bool Lie(NodeId from, const DhtMessage& m, Context<DhtMessage>& ctx) {
    DhtShared& s = *shared_;
    if (const auto* store = std::get_if<proto::DhtStore>(&m)) {
      ++s.hostile_answers;
      ctx.Send(from, proto::DhtStored{store->rpc, proto::DhtStoreCode::kStored});
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

  void Emit(TimeMs now, proto::DhtOutbox& out, Context<DhtMessage>& ctx) {
    for (auto& [to, m] : out.sends) ctx.Send(to, std::move(m));
    for (DhtLookupResult& r : out.done) Done(now, r, ctx.self());
    if (out.stored_acks > 0) Acked(now, out.stored_acks, ctx.self());
    ctx.SetTimer(dht_.NextTimerAt());
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
      case Task::kRecordBefore:
      case Task::kRecordAfter: {
        const bool before = p.task == Task::kRecordBefore;
        const bool found = std::any_of(r.records.begin(), r.records.end(), [&](const auto& x) {
          return x->bytes == s.records[p.index]->bytes;
        });
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

  proto::Dht dht_;
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
  // Records: one per publisher, each signed by a key of its own, for a group of its own.
  for (uint32_t i = 0; i < config.records; ++i) {
    Seed seed{};
    const uint64_t h = MixHash(config.seed, 0x5eedd47eULL + i);
    for (size_t b = 0; b < 8; ++b) seed[b] = static_cast<uint8_t>(h >> (8 * b));
    const KeyPair key = KeyPair::FromSeed(seed);
    shared.records.push_back(std::make_shared<const DhtRecord>(proto::SignDhtRecord(
        proto::DhtKind::kCarriesGroup, proto::DhtGroupKey("group-" + std::to_string(i)), key,
        "203.0.113." + std::to_string(i % 250 + 1) + ":7400", kEpochMs, 3'600)));
  }

  TimeMs t = config.join_window_ms + config.settle_ms;
  const uint64_t pick = MixHash(config.seed, kPickTag);
  for (uint32_t i = 0; i < config.lookups; ++i) {
    Schedule(sim, t + i * config.spacing_ms, Task::kNodeLookup, i,
             LiveFrom(shared, MixHash(pick, i)));
  }
  t += config.lookups * config.spacing_ms + 10'000;
  const TimeMs publish_at = t;
  for (uint32_t i = 0; i < config.records; ++i) {
    // Distinct publishers: i * n / records.
    Schedule(sim, t + i * config.spacing_ms, Task::kPublish, i,
             LiveFrom(shared, uint64_t{i} * n / std::max<uint32_t>(1, config.records)));
  }
  t += config.records * config.spacing_ms + 10'000;
  for (uint32_t i = 0; i < config.records; ++i) {
    Schedule(sim, t + i * config.spacing_ms, Task::kRecordBefore, i,
             LiveFrom(shared, MixHash(pick + 1, i)));
  }
  t += config.records * config.spacing_ms + 10'000;
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
                   {"hostile_fraction", config.hostile_fraction}};
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
