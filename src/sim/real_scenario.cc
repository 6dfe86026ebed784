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
  for (uint32_t a = 0; a < config.authors; ++a) keys.push_back(SimAuthorKey(config.seed, a));
  for (uint64_t k = 0; k < config.entries; ++k) {
    const uint32_t a = static_cast<uint32_t>(k % config.authors);
    const proto::TimeMs ts =
        first_post_ms + static_cast<proto::TimeMs>(k) * config.post_interval_ms;
    shared.Add(SignNextEntry(keys[a], heads[a], shared.groups[0], ts, config.payload_bytes, k));
  }
}

}  // namespace

KeyPair SimAuthorKey(uint64_t seed, uint64_t author) {
  Seed key_seed{};
  const uint64_t s = MixHash(seed, 0xa0 + author);
  for (size_t i = 0; i < key_seed.size(); ++i) {
    key_seed[i] = static_cast<uint8_t>(s >> (8 * (i % 8)) ^ i);
  }
  return KeyPair::FromSeed(key_seed);
}

Entry SignNextEntry(const KeyPair& key, FeedHead& head, const std::string& group,
                    proto::TimeMs timestamp_ms, uint32_t payload_bytes, uint64_t k) {
  EntryDraft d;
  d.group = group;
  d.kind = 1;
  d.seq = head.seq + 1;
  d.prev = head.id;
  d.timestamp_ms = timestamp_ms;
  const std::string text = "entry " + std::to_string(k) + " ";
  d.payload.resize(std::max<size_t>(payload_bytes, text.size()), '.');
  std::copy(text.begin(), text.end(), d.payload.begin());
  auto e = Entry::Sign(d, key);
  CHECK(e.ok());
  head = FeedHead{e->seq(), e->id(), e->timestamp_ms()};
  return std::move(e).value();
}

Report RunRealScenario(const RealScenarioConfig& config) {
  CHECK(config.nodes >= 1 && config.authors >= 1 && config.entries >= 1);
  InitCrypto();
  const uint64_t n = config.nodes;
  const proto::TimeMs first_post_ms = config.join_window_ms + config.warmup_ms;
  RealShared shared;
  shared.seed = config.seed;
  SignEntries(config, first_post_ms, shared);

  auto sim =
      StartRealSim(shared, n, config.latency_min_ms, config.latency_max_ms, config.join_window_ms);
  for (uint64_t k = 0; k < config.entries; ++k) {
    const uint32_t a = static_cast<uint32_t>(k % config.authors);
    const NodeId home = MixHash(MixHash(config.seed, kHomeTag), a) % n;
    SchedulePost(*sim, home, static_cast<uint32_t>(k), shared.entries[k].timestamp_ms());
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
