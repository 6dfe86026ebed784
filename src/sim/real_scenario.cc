#include "sim/real_scenario.h"

#include <algorithm>
#include <memory>
#include <string>

#include "core/crypto.h"
#include "sim/real_node.h"

namespace pando::sim {
namespace {

constexpr proto::TimeMs kDrainStepMs = 1'000;
constexpr uint64_t kHomeTag = 0x4e0e;

// The signed entries of the run: author a's feed holds entries a, a + authors, ...
void SignEntries(const RealScenarioConfig& config, proto::TimeMs first_post_ms,
                 RealShared& shared) {
  std::vector<KeyPair> keys;
  std::vector<FeedHead> heads(config.authors);
  for (uint32_t a = 0; a < config.authors; ++a) {
    Seed seed{};
    const uint64_t s = MixHash(config.seed, 0xa0 + a);
    for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(s >> (8 * (i % 8)) ^ i);
    keys.push_back(KeyPair::FromSeed(seed));
  }
  for (uint64_t k = 0; k < config.entries; ++k) {
    const uint32_t a = static_cast<uint32_t>(k % config.authors);
    EntryDraft d;
    d.group = shared.groups[0];
    d.kind = 1;
    d.seq = heads[a].seq + 1;
    d.prev = heads[a].id;
    d.timestamp_ms = first_post_ms + static_cast<proto::TimeMs>(k) * config.post_interval_ms;
    const std::string text = "entry " + std::to_string(k) + " ";
    d.payload.resize(std::max<size_t>(config.payload_bytes, text.size()), '.');
    std::copy(text.begin(), text.end(), d.payload.begin());
    auto e = Entry::Sign(d, keys[a]);
    CHECK(e.ok());
    heads[a] = FeedHead{e->seq(), e->id(), e->timestamp_ms()};
    shared.Add(std::move(e).value());
  }
}

}  // namespace

Report RunRealScenario(const RealScenarioConfig& config) {
  CHECK(config.nodes >= 1 && config.authors >= 1 && config.entries >= 1);
  InitCrypto();
  const uint64_t n = config.nodes;
  const proto::TimeMs first_post_ms = config.join_window_ms + config.warmup_ms;
  RealShared shared;
  shared.seed = config.seed;
  SignEntries(config, first_post_ms, shared);

  NetworkConfig net;
  net.seed = config.seed;
  net.latency_min_ms = config.latency_min_ms;
  net.latency_max_ms = config.latency_max_ms;
  auto sim =
      std::make_unique<RealSim>(net, n, [&shared](NodeId id) { return RealNode(id, &shared); });
  for (NodeId id = 0; id < n; ++id) {
    const proto::TimeMs at = static_cast<proto::TimeMs>(id * config.join_window_ms / n);
    sim->At(at, [id](RealSim& s) { s.Start(id); });
  }
  for (uint64_t k = 0; k < config.entries; ++k) {
    const uint32_t a = static_cast<uint32_t>(k % config.authors);
    const NodeId home = MixHash(MixHash(config.seed, kHomeTag), a) % n;
    const uint32_t index = static_cast<uint32_t>(k);
    sim->At(shared.entries[k].timestamp_ms(), [home, index](RealSim& s) {
      s.Invoke(home, [index](RealNode& node, Context<PandoMessage>& ctx) {
        node.Post(ctx.Now(), index, ctx);
      });
    });
  }
  const proto::TimeMs last_post_ms = shared.entries.back().timestamp_ms();
  auto all_delivered = [&] {
    return std::all_of(shared.holders.begin(), shared.holders.end(),
                       [n](uint32_t h) { return h >= n; });
  };
  sim->RunUntil(last_post_ms);
  const proto::TimeMs limit = last_post_ms + config.drain_limit_ms;
  while (!all_delivered() && sim->now() < limit) {
    sim->RunUntil(std::min(limit, sim->now() + kDrainStepMs));
  }

  uint64_t waiting_now = 0, gap_wants = 0, held_dropped = 0;
  for (NodeId id = 0; id < n; ++id) {
    const proto::NodeCore& core = sim->node(id).core();
    waiting_now += core.waiting_count();
    gap_wants += core.counters().gap_wants;
    held_dropped += core.counters().held_dropped;
  }

  Report report;
  Json& r = report.result;
  Json& scenario = r["scenario"];
  scenario["entries_kind"] = "real";
  scenario["nodes"] = n;
  scenario["entries"] = config.entries;
  scenario["authors"] = config.authors;
  scenario["post_interval_ms"] = config.post_interval_ms;
  scenario["payload_bytes"] = config.payload_bytes;
  scenario["seed"] = config.seed;
  r["delivery"] = {{"expected", n * config.entries},
                   {"delivered", shared.deliveries},
                   {"complete", all_delivered()},
                   {"finished_at_ms", sim->now() - last_post_ms}};
  r["delay_ms"] = ToJson(shared.delay);
  r["verification"] = {{"calls", shared.verify_calls},
                       {"signatures_checked", shared.verifications},
                       {"distinct_entries", config.entries}};
  r["gaps"] = {{"wants_for_predecessors", gap_wants},
               {"waiting_peak_one_node", shared.waiting_peak},
               {"waiting_at_end", waiting_now},
               {"dropped_from_waiting", held_dropped}};
  r["violations"] = shared.violations;
  sim->FillReport(&report);
  Json by_type = Json::object();
  for (size_t i = 0; i < sim->stats().per_type.size(); ++i) {
    by_type[kPandoMessageNames[i]] = ToJson(sim->stats().per_type[i]);
  }
  r["stats"]["by_type"] = std::move(by_type);
  return report;
}

}  // namespace pando::sim
