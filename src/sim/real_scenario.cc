#include "sim/real_scenario.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.h"
#include "sim/real_node.h"

namespace pando::sim {
namespace {

constexpr proto::TimeMs kDrainStepMs = 1'000;
constexpr uint64_t kHomeTag = 0x4e0e;
// The forker's key and home node: far from the honest authors' tags (0xa0 + a).
constexpr uint64_t kForkerTag = 0xf02c'0000;

constexpr uint64_t kRoleTag = 0x201e;
constexpr uint64_t kSpammerTag = 0x5ba0'0000;

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

// Gives `count` distinct pseudo-random honest nodes other than node 0 and `except` the role.
void PickNodes(const RealScenarioConfig& config, uint64_t tag, uint32_t count, Role role,
               NodeId except, RealShared& shared) {
  const uint64_t n = config.nodes;
  CHECK(uint64_t{count} + 2 <= n);
  uint32_t placed = 0;
  for (uint64_t i = 0; placed < count; ++i) {
    const NodeId id = MixHash(MixHash(config.seed, tag), i) % n;
    if (id == 0 || id == except || !shared.Honest(id)) continue;
    shared.roles[id] = role;
    ++placed;
  }
}

// The roles of config.attack: RealShared::roles, hostile, eclipse_target.
void ChooseRoles(const RealScenarioConfig& config, RealShared& shared) {
  const uint64_t n = config.nodes;
  shared.roles.assign(n, Role::kHonest);
  shared.hostile_ranges = std::max<uint32_t>(1, config.hostile_ranges);
  switch (config.attack) {
    case Attack::kHoard:
    case Attack::kSybil: {
      const Role role = config.attack == Attack::kHoard ? Role::kHoarder : Role::kSybil;
      for (NodeId id = 1; id < n; ++id) {
        const double u =
            static_cast<double>(MixHash(MixHash(config.seed, kRoleTag), id) >> 11) * 0x1p-53;
        if (u < config.hostile_fraction) shared.roles[id] = role;
      }
      break;
    }
    case Attack::kEclipse:
      shared.eclipse_target = 1 + MixHash(config.seed, kRoleTag) % (n - 1);
      PickNodes(config, kRoleTag + 1, config.eclipsers, Role::kEclipser, shared.eclipse_target,
                shared);
      break;
    case Attack::kSpam:
      PickNodes(config, kRoleTag + 2, config.spammers, Role::kSpammer, proto::kNoNode, shared);
      break;
    case Attack::kNone:
    case Attack::kFork:
      break;
  }
  for (NodeId id = 0; id < n; ++id) {
    if (!shared.Honest(id)) shared.hostile.push_back(id);
  }
  shared.attack.scored_out.assign(n, 0);
  if (shared.scores) {
    shared.range_keys.resize(n);
    for (NodeId id = 0; id < n; ++id) shared.range_keys[id] = proto::RangeKey(shared.Address(id));
  }
}

// An honest node, the first from h mod n on.
NodeId HonestFrom(const RealShared& shared, uint64_t h, uint64_t n) {
  NodeId id = h % n;
  while (!shared.Honest(id)) id = (id + 1) % n;
  return id;
}

// The spammers' floods, signed, each posted from its home node (the spammers in `shared`,
// in order) from first_ms to last_ms.
void ScheduleSpam(const RealScenarioConfig& config, proto::TimeMs first_ms, proto::TimeMs last_ms,
                  RealShared& shared, RealSim& sim) {
  std::vector<NodeId> homes;
  for (NodeId id : shared.hostile) {
    if (shared.RoleOf(id) == Role::kSpammer) homes.push_back(id);
  }
  shared.spam_first = static_cast<uint32_t>(shared.entries.size());
  const auto count =
      static_cast<uint64_t>(config.spam_per_s * static_cast<double>(last_ms - first_ms) / 1000.0);
  for (uint32_t s = 0; s < homes.size(); ++s) {
    const KeyPair key = AuthorKey(config.seed, kSpammerTag + s);
    FeedHead head;
    for (uint64_t i = 0; i < count; ++i) {
      const auto ts = first_ms + static_cast<proto::TimeMs>(static_cast<double>(i) * 1000.0 /
                                                            config.spam_per_s);
      const uint32_t k =
          shared.Add(SignNextEntry(key, head, shared.groups[0], ts, config.payload_bytes, i));
      SchedulePost(sim, homes[s], k, ts);
    }
  }
}

// Every eclipser asks the target to take it as a neighbour, with high priority, every
// eclipse_interval_ms from `from` to `until`.
void ScheduleEclipse(const RealScenarioConfig& config, proto::TimeMs from, proto::TimeMs until,
                     const RealShared& shared, RealSim& sim) {
  const NodeId target = shared.eclipse_target;
  for (proto::TimeMs t = from; t <= until; t += config.eclipse_interval_ms) {
    sim.At(t, [&shared, target](RealSim& s) {
      for (NodeId id : shared.hostile) {
        s.Invoke(id, [target](RealNode&, Context<RealMessage>& ctx) {
          ctx.Send(target,
                   RealMessage{proto::GroupMessage{0, proto::Neighbor{.high_priority = true}}});
        });
      }
    });
  }
}

uint64_t BytesSent(const RealSim& sim) {
  uint64_t bytes = 0;
  for (const MessageStats& t : sim.stats().per_type) bytes += t.bytes_sent;
  return bytes;
}

Json AttackReport(const RealScenarioConfig& config, const RealShared& shared, const RealSim& sim) {
  const AttackStats& a = shared.attack;
  uint64_t links = 0, hostile_links = 0;
  for (NodeId id = 0; id < config.nodes; ++id) {
    if (!shared.Honest(id)) continue;
    for (NodeId p : sim.node(id).Connections()) {
      ++links;
      if (!shared.Honest(p)) ++hostile_links;
    }
  }
  uint64_t scored_out = 0;
  for (uint8_t s : a.scored_out) scored_out += s;
  const uint64_t honest = config.nodes - shared.hostile.size();
  Json r = {{"kind", AttackName(config.attack)},
            {"honest_nodes", honest},
            {"hostile_nodes", shared.hostile.size()},
            {"detection_ms", a.first_verdict_on_hostile == kNever
                                 ? Json(nullptr)
                                 : Json(a.first_verdict_on_hostile - a.start)},
            {"hostile_scored_out", scored_out},
            {"verdicts_on_hostile", a.verdicts_on_hostile},
            {"verdicts_on_honest", a.verdicts_on_honest},
            {"refused_from_kept_away", a.refused_kept_away},
            {"entry_messages_withheld", a.withheld},
            {"shuffle_samples_lied", a.lies},
            {"hostile_share_of_nodes",
             static_cast<double>(shared.hostile.size()) / static_cast<double>(config.nodes)},
            {"hostile_share_of_honest_links_at_end",
             links == 0 ? 0.0 : static_cast<double>(hostile_links) / static_cast<double>(links)}};
  if (config.attack == Attack::kSpam) {
    const uint64_t spam = shared.entries.size() - shared.spam_first;
    r["spam"] = {
        {"entries_signed", spam},
        {"held_per_honest_node", static_cast<double>(a.spam_held) / static_cast<double>(honest)}};
  }
  if (config.attack == Attack::kEclipse) {
    const NodeId t = shared.eclipse_target;
    uint64_t hostile_neighbours = 0;
    const auto conns = sim.node(t).Connections();
    for (NodeId p : conns) hostile_neighbours += shared.Honest(p) ? 0 : 1;
    r["target"] = {
        {"node", t},
        {"delivered", a.target_delivered},
        {"expected", config.entries},
        {"delay_ms", ToJson(a.target_delay)},
        {"eclipsers_scored_out", a.target_verdicts},
        {"detection_ms",
         a.target_first_verdict == kNever ? Json(nullptr) : Json(a.target_first_verdict - a.start)},
        {"neighbours_at_end", conns.size()},
        {"hostile_neighbours_at_end", hostile_neighbours}};
  }
  return r;
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

std::optional<Attack> ParseAttack(std::string_view name) {
  for (Attack a :
       {Attack::kFork, Attack::kSpam, Attack::kHoard, Attack::kSybil, Attack::kEclipse}) {
    if (name == AttackName(a)) return a;
  }
  return std::nullopt;
}

std::string_view AttackName(Attack attack) {
  switch (attack) {
    case Attack::kNone:
      return "none";
    case Attack::kFork:
      return "fork";
    case Attack::kSpam:
      return "spam";
    case Attack::kHoard:
      return "hoard";
    case Attack::kSybil:
      return "sybil";
    case Attack::kEclipse:
      return "eclipse";
  }
  return "none";
}

Report RunRealScenario(const RealScenarioConfig& config) {
  CHECK(config.nodes >= 1 && config.authors >= 1 && config.entries >= 1);
  InitCrypto();
  const bool fork = config.attack == Attack::kFork;
  const bool hostile_nodes = config.attack != Attack::kNone && !fork;
  std::optional<Report> baseline;
  if (hostile_nodes && config.baseline) {
    RealScenarioConfig b = config;
    b.attack = Attack::kNone;
    b.scores = true;
    baseline = RunRealScenario(b);
  }
  const uint64_t n = config.nodes;
  const proto::TimeMs first_post_ms = config.join_window_ms + config.warmup_ms;
  RealShared shared;
  shared.seed = config.seed;
  shared.scores = config.scores || hostile_nodes;
  ChooseRoles(config, shared);
  const uint64_t honest = n - shared.hostile.size();
  const bool late = config.hostile_join_ms >= 0 &&
                    (config.attack == Attack::kHoard || config.attack == Attack::kSybil);
  if (late) shared.hostile_join_at = first_post_ms + config.hostile_join_ms;
  SignEntries(config, first_post_ms, shared);
  shared.measured = static_cast<uint32_t>(config.entries);
  const uint32_t fork_first =
      fork ? SignFork(config, first_post_ms + config.fork_at_ms, shared) : 0;
  if (fork) shared.fork->proof_at.assign(n, kNever);

  auto sim =
      StartRealSim(shared, n, config.latency_min_ms, config.latency_max_ms, config.join_window_ms);
  for (uint64_t k = 0; k < config.entries; ++k) {
    const uint32_t a = static_cast<uint32_t>(k % config.authors);
    const NodeId home = HonestFrom(shared, MixHash(MixHash(config.seed, kHomeTag), a), n);
    SchedulePost(*sim, home, static_cast<uint32_t>(k), shared.entries[k].timestamp_ms());
  }
  if (fork) {
    const NodeId home = MixHash(MixHash(config.seed, kHomeTag), kForkerTag) % n;
    ScheduleFork(*sim, shared, fork_first, home, (home + n / 2) % n);
  }
  const proto::TimeMs last_honest_ms = shared.entries[config.entries - 1].timestamp_ms();
  shared.attack.start = late ? shared.hostile_join_at : first_post_ms;
  if (config.attack == Attack::kSpam) {
    ScheduleSpam(config, first_post_ms, last_honest_ms, shared, *sim);
  }
  if (config.attack == Attack::kEclipse) {
    shared.attack.start = first_post_ms + config.eclipse_at_ms;
    ScheduleEclipse(config, shared.attack.start, last_honest_ms, shared, *sim);
  }
  const proto::TimeMs last_post_ms = std::max(last_honest_ms, shared.entries.back().timestamp_ms());
  // Every honest entry on every honest node, and the proof too.
  auto all_delivered = [&] {
    return std::all_of(shared.holders.begin(), shared.holders.begin() + config.entries,
                       [honest](uint32_t h) { return h >= honest; }) &&
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
  if (config.attack != Attack::kNone) scenario["attack"] = AttackName(config.attack);
  if (late) scenario["hostile_join_ms"] = config.hostile_join_ms;
  if (config.scores || hostile_nodes) scenario["peer_scores"] = true;
  scenario["nodes"] = n;
  scenario["entries"] = config.entries;
  scenario["authors"] = config.authors;
  scenario["post_interval_ms"] = config.post_interval_ms;
  scenario["payload_bytes"] = config.payload_bytes;
  scenario["seed"] = config.seed;
  r["delivery"] = {{"expected", honest * config.entries},
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
  if (fork) r["fork"] = ForkReport(shared, n);
  if (hostile_nodes) r["attack"] = AttackReport(config, shared, *sim);
  if (baseline) {
    const Json& b = baseline->result;
    const uint64_t base_bytes = b["traffic"]["bytes_sent"].get<uint64_t>();
    r["baseline"] = {{"delivery_complete", b["delivery"]["complete"]},
                     {"delay_ms", b["delay_ms"]},
                     {"bytes_sent", base_bytes}};
  }
  r["traffic"] = {{"bytes_sent", BytesSent(*sim)}};
  if (baseline) {
    r["traffic"]["baseline_bytes_sent"] = r["baseline"]["bytes_sent"];
    r["traffic"]["ratio_to_baseline"] =
        static_cast<double>(BytesSent(*sim)) /
        static_cast<double>(std::max<uint64_t>(1, r["baseline"]["bytes_sent"].get<uint64_t>()));
  }
  sim->FillReport(&report);
  Json by_type = Json::object();
  for (size_t i = 0; i < sim->stats().per_type.size(); ++i) {
    by_type[sim->stats().type_names[i]] = ToJson(sim->stats().per_type[i]);
  }
  r["stats"]["by_type"] = std::move(by_type);
  return report;
}

}  // namespace pando::sim
