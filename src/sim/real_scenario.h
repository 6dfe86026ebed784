// The real-entries scenario behind `pando sim --real-entries` (docs/sim.md): the network
// node's own logic (proto::NodeCore: admission, holding, gap filling, the Replica) on every
// simulated node, over real signed entries of real feeds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/crypto.h"
#include "core/entry.h"
#include "proto/types.h"
#include "sim/report.h"

namespace pando::sim {

// `pando sim --real-entries --attack` (docs/sim.md "Attacks"; the roles in sim/real_node.h).
enum class Attack : uint8_t { kNone, kFork, kSpam, kHoard, kSybil, kEclipse };
// "fork", "spam", "hoard", "sybil", "eclipse"; nullopt for anything else.
std::optional<Attack> ParseAttack(std::string_view name);
std::string_view AttackName(Attack attack);

struct RealScenarioConfig {
  uint64_t nodes = 10'000;
  uint64_t entries = 100;
  // Entry k is the next entry of author k mod authors' feed in the catalog group, posted
  // from that author's home node (a node chosen from the seed). Consecutive entries of one
  // feed, authors * post_interval_ms apart, can overtake each other on their way, so nodes
  // hold some back until their predecessor arrives, and WANT it.
  uint32_t authors = 10;
  proto::TimeMs post_interval_ms = 50;
  uint32_t payload_bytes = 200;
  uint64_t seed = 1;
  proto::TimeMs latency_min_ms = 20;
  proto::TimeMs latency_max_ms = 150;
  proto::TimeMs join_window_ms = 10'000;
  proto::TimeMs warmup_ms = 30'000;
  proto::TimeMs drain_limit_ms = 60'000;

  Attack attack = Attack::kNone;
  // Nodes score their peers and carry out the verdicts (RealShared::scores); every attack
  // but the fork turns it on, and so does its baseline run.
  bool scores = false;

  // The fork attack (`--attack fork`): at fork_at_ms after the first post, one more author
  // signs two entries with one seq and posts one at its home node and the other at another
  // node; then it goes on after the first of them from its home node, fork_later_entries
  // entries fork_later_interval_ms apart (each refused there once the home node holds the
  // proof).
  proto::TimeMs fork_at_ms = 1'000;
  uint32_t fork_later_entries = 20;
  proto::TimeMs fork_later_interval_ms = 100;

  // hoard, sybil: this fraction of the nodes is hostile, chosen from the seed (node 0, the
  // first contact, stays honest). 40 Sybils per honest node: 40.0 / 41.
  double hostile_fraction = 0.2;
  // sybil, eclipse: the /24 ranges the hostile nodes' addresses are spread over.
  uint32_t hostile_ranges = 16;
  // hoard, sybil: with hostile_join_ms >= 0, the honest nodes join first (over
  // join_window_ms, each through an earlier honest node) and the hostile ones join from
  // hostile_join_ms after the first post on, over another join window, each through an
  // earlier node of any kind: the attack on a warm overlay of gossipsub v1.1's evaluation.
  // The attack's start (for detection) is then their first join. -1: all join together.
  proto::TimeMs hostile_join_ms = -1;
  // eclipse: this many eclipsers besiege one honest node from eclipse_at_ms after the first
  // post, asking it every eclipse_interval_ms.
  uint32_t eclipsers = 64;
  proto::TimeMs eclipse_at_ms = 5'000;
  proto::TimeMs eclipse_interval_ms = 1'000;
  // spam: this many fresh keys, each posting spam_per_s entries a second from its own
  // (hostile) home node while the honest authors post.
  uint32_t spammers = 2;
  double spam_per_s = 200;
  // With an attack but the fork: first run the same network without the attack (same
  // seed, same honest posts, scores on), for the attack's extra traffic as a ratio.
  bool baseline = true;
};

// result: the scenario; delivery; replication delay percentiles; verification (calls by
// nodes and signatures actually checked: one per distinct entry); gap filling (WANTs of a
// missing predecessor, the most entries one node held back); violations (0 for honest
// nodes); the simulator's counters. With `fork`, also "fork": the nodes whose store found
// it, when; how long the proof took from the first detection to reach each node (p50, p99,
// max) and how many it reached; the forker's later entries held anywhere, held or stored by
// a node that had the proof already (0), and refused at its home node. With another attack,
// delivery and delays count honest nodes only, and "attack" reports the hostile and honest
// nodes, the time from the attack's start to the first hostile node scored out, verdicts
// on hostile and on honest peers, what hostile nodes withheld, the hostile share of honest
// active views at the end, the spam honest nodes took, the eclipse target's own delivery
// and delays, and the bytes sent next to the baseline run's.
Report RunRealScenario(const RealScenarioConfig& config);

// The key of simulated author `author` in a run seeded with `seed`.
KeyPair SimAuthorKey(uint64_t seed, uint64_t author);
// Signs the next entry of a feed whose head is `head` (and moves `head` to it): kind 1 in
// `group`, a payload of `payload_bytes` that begins "entry K ".
Entry SignNextEntry(const KeyPair& key, FeedHead& head, const std::string& group,
                    proto::TimeMs timestamp_ms, uint32_t payload_bytes, uint64_t k);

}  // namespace pando::sim
