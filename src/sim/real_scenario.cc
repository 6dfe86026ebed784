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
// The forker's key and home node: far from the honest authors' tags (0xa0 + a).
constexpr uint64_t kForkerTag = 0xf02c'0000;

// The key of the author `tag` names in a run of `seed`.
KeyPair AuthorKey(uint64_t seed, uint64_t tag) {
  Seed bytes{};
  const uint64_t s = MixHash(seed, tag);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(s >> (8 * (i % 8)) ^ i);
  return KeyPair::FromSeed(bytes);
}

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

// The fork of config.fork: entries x and y (seq 1, one author), then the author's later
// entries after x; all added to shared, the proof too. Returns the index of x.
uint32_t SignFork(const RealScenarioConfig& config, proto::TimeMs at_ms, RealShared& shared) {
  const KeyPair key = AuthorKey(config.seed, kForkerTag);
  EntryDraft d;
  d.group = shared.groups[0];
  d.kind = 1;
  d.timestamp_ms = at_ms;
  const auto sign = [&](const std::string& text) {
    d.payload.assign(text.begin(), text.end());
    auto e = Entry::Sign(d, key);
    CHECK(e.ok());
    return std::move(e).value();
  };
  const uint32_t first = shared.Add(sign("one version"));
  shared.Add(sign("another version"));
  Hash32 prev = shared.entries[first].id();
  for (uint32_t i = 1; i <= config.fork_later_entries; ++i) {
    d.seq = 1 + i;
    d.prev = prev;
    d.timestamp_ms = at_ms + i * config.fork_later_interval_ms;
    const uint32_t k = shared.Add(sign("later " + std::to_string(i)));
    prev = shared.entries[k].id();
  }
  RealFork f;
  f.author = key.public_key();
  f.x = shared.entries[first].id();
  f.y = shared.entries[first + 1].id();
  ForkProof proof{{shared.entries[first]}, {shared.entries[first + 1]}};
  f.proof_bytes = static_cast<uint32_t>(EncodeForkProof(proof).size());
  f.proof = shared.AddProof(std::move(proof));
  shared.fork = std::move(f);
  return first;
}

// Posts the fork: x and the later entries at `home`, y at `other`.
void ScheduleFork(RealSim& sim, const RealShared& shared, uint32_t first, NodeId home,
                  NodeId other) {
  for (uint32_t k = first; k < shared.entries.size(); ++k) {
    const NodeId at = k == first + 1 ? other : home;
    sim.At(shared.entries[k].timestamp_ms(), [at, k](RealSim& s) {
      s.Invoke(at,
               [k](RealNode& node, Context<RealMessage>& ctx) { node.Post(ctx.Now(), k, ctx); });
    });
  }
}

Json ForkReport(const RealShared& shared, uint64_t n) {
  const RealFork& f = *shared.fork;
  LatencyHistogram spread;
  for (proto::TimeMs at : f.proof_at) {
    if (at != kNever) spread.Add(at - f.first_detection);
  }
  return {{"detected_by_store", f.detections},
          {"nodes_with_proof", f.nodes_with_proof},
          {"complete", f.nodes_with_proof == n},
          {"spread_ms", ToJson(spread)},
          {"proof_bytes", f.proof_bytes},
          {"proof_verifications", shared.proof_verifications},
          {"later_entries_held", f.later_delivered},
          {"later_entries_held_after_proof", f.held_after_proof},
          {"stored_after_proof", f.stored_after_proof},
          {"later_posts_refused_at_home", f.refused_posts}};
}

}  // namespace

KeyPair SimAuthorKey(uint64_t seed, uint64_t author) { return AuthorKey(seed, 0xa0 + author); }

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
  shared.measured = static_cast<uint32_t>(config.entries);
  const uint32_t fork_first =
      config.fork ? SignFork(config, first_post_ms + config.fork_at_ms, shared) : 0;
  if (config.fork) shared.fork->proof_at.assign(n, kNever);

  auto sim =
      StartRealSim(shared, n, config.latency_min_ms, config.latency_max_ms, config.join_window_ms);
  for (uint64_t k = 0; k < config.entries; ++k) {
    const uint32_t a = static_cast<uint32_t>(k % config.authors);
    const NodeId home = MixHash(MixHash(config.seed, kHomeTag), a) % n;
    SchedulePost(*sim, home, static_cast<uint32_t>(k), shared.entries[k].timestamp_ms());
  }
  if (config.fork) {
    const NodeId home = MixHash(MixHash(config.seed, kHomeTag), kForkerTag) % n;
    ScheduleFork(*sim, shared, fork_first, home, (home + n / 2) % n);
  }
  const proto::TimeMs last_post_ms = std::max(shared.entries[config.entries - 1].timestamp_ms(),
                                              shared.entries.back().timestamp_ms());
  // Every honest entry on every node, and the proof too.
  auto all_delivered = [&] {
    return std::all_of(shared.holders.begin(), shared.holders.begin() + config.entries,
                       [n](uint32_t h) { return h >= n; }) &&
           (!shared.fork || shared.fork->nodes_with_proof == n);
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
  if (config.fork) scenario["attack"] = "fork";
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
  if (config.fork) r["fork"] = ForkReport(shared, n);
  sim->FillReport(&report);
  Json by_type = Json::object();
  for (size_t i = 0; i < sim->stats().per_type.size(); ++i) {
    by_type[sim->stats().type_names[i]] = ToJson(sim->stats().per_type[i]);
  }
  r["stats"]["by_type"] = std::move(by_type);
  return report;
}

}  // namespace pando::sim
