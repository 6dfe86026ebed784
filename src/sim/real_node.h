// RealNode: the simulator's adapter that runs proto::NodeCore, the network node's own logic
// (admission, holding entries that arrive before their feed predecessor, the WANTs that fill
// such gaps, the Replica), over real signed entries. Where PandoNode (pando_node.h) models
// entries as bits to reach a million nodes, RealNode shows that the node's admission path
// itself replicates: every entry is a real Ed25519-signed entry of a real hash-chained feed,
// and every node checks it as the network node does.
//
// The entries live once, in RealShared, and messages name them by id (a GOSSIP or an
// ENTRIES carries ids; the receiver looks the bytes up in the shared table, as the network
// node finds them in its frame). Signature verification is the one cost that would grow with
// nodes x entries, so RealShared::Verify checks each distinct entry once and hands the
// verdict to every node that asks again: the verdict is a pure function of the bytes.
//
// Fork proofs travel as their own message (RealMessage with a proof index), as the FORK_PROOF
// frame does, naming no group, and are verified once per distinct proof likewise. The
// simulated store holds nothing of its own, so it finds a fork where a real one would: an
// entry the core hands it (to_store) is one side of RealShared::fork while the node holds
// the other side; the node then hands the proof to its core, as the network node does.
//
// Ingest capacity (RealShared::ingest_entries_per_s, the fair-share scenario of
// sim/fair_scenario.h): a node then checks at most that many entries (signatures) per
// simulated second; a second copy of an entry it holds costs nothing.
// Messages that carry entries wait in a proto::FairQueue, the network node's own, per group
// (or all in one queue for the FIFO baseline), and the node serves them in turns of
// ingest_turn_ms with a turn's worth of budget, as the network node's event loop does.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/check.h"
#include "core/entry.h"
#include "core/error_codes.h"
#include "core/fork_proof.h"
#include "proto/fair_queue.h"
#include "proto/node_core.h"
#include "sim/pando_node.h"
#include "sim/simulator.h"
#include "sim/stats.h"

namespace pando::sim {

inline constexpr uint32_t kNoProof = UINT32_MAX;

// What simulated nodes send each other: a group message, or (proof != kNoProof) the fork
// proof RealShared::proofs[proof], which names no group, as the FORK_PROOF frame carries it.
struct RealMessage {
  proto::GroupMessage message;
  uint32_t proof = kNoProof;
  uint32_t proof_bytes = 0;  // Its encoding's size, for EncodedSize.
  // A GOAWAY: the sender closed the connection (it keeps this node away for a while).
  bool goaway = false;
};
// A FORK_PROOF frame is its length, its type byte and the proof; a GOAWAY, with its code
// and a short reason, about 64 bytes.
inline constexpr uint64_t kGoawayBytes = 64;
inline uint64_t EncodedSize(const RealMessage& m) {
  if (m.goaway) return kGoawayBytes;
  return m.proof != kNoProof ? 5 + uint64_t{m.proof_bytes} : EncodedSize(m.message);
}
// Counted per type of group message, and fork proofs and GOAWAYs on their own.
template <>
struct VariantTraits<RealMessage> {
  static constexpr size_t kCount = std::variant_size_v<proto::PeerBody> + 2;
  static size_t Index(const RealMessage& m) {
    if (m.goaway) return kCount - 1;
    return m.proof != kNoProof ? kCount - 2 : m.message.body.index();
  }
  static std::vector<std::string> Names() {
    std::vector<std::string> names(std::begin(kPandoMessageNames), std::end(kPandoMessageNames));
    names.push_back("fork_proof");
    names.push_back("goaway");
    return names;
  }
};

inline RealMessage Goaway() {
  RealMessage m;
  m.goaway = true;
  return m;
}

// What a simulated node does (`pando sim --attack`, docs/sim.md "Attacks"). Hostile nodes
// run the node's own core, so they keep the overlay's protocol, and betray it where an
// attacker gains by it:
//   kHoarder takes entries and never forwards one (no GOSSIP, no ENTRIES), while it still
//     announces them (IHAVE): promises it will not keep;
//   kSybil hoards likewise, and every shuffle sample it hands out names hostile nodes only,
//     to fill honest passive views with its own kind; its addresses share a few /24s;
//   kEclipser is a Sybil that also asks one target, with high priority, to take it as a
//     neighbour every second, and never lets go of it (no DISCONNECT);
//   kSpammer keeps the protocol and posts a flood of entries far over any quota.
enum class Role : uint8_t { kHonest, kHoarder, kSybil, kEclipser, kSpammer };

// What the attacks of a run came to.
struct AttackStats {
  TimeMs start = kNever;                     // When the attack began.
  TimeMs first_verdict_on_hostile = kNever;  // An honest node first scored out a hostile one.
  uint64_t verdicts_on_hostile = 0;          // Honest nodes closing hostile peers for a score.
  uint64_t verdicts_on_honest = 0;           // ... closing honest peers (false positives).
  std::vector<uint8_t> scored_out;           // By node: scored out by at least one honest node.
  uint64_t withheld = 0;                     // Entry messages hostile nodes did not send.
  uint64_t lies = 0;                         // Shuffle samples a Sybil filled with its own kind.
  uint64_t refused_kept_away = 0;        // Messages from peers kept away, refused with a GOAWAY.
  uint64_t spam_held = 0;                // (honest node, spam entry) pairs held.
  uint64_t target_verdicts = 0;          // Eclipsers the target scored out ...
  TimeMs target_first_verdict = kNever;  // ... the first one when.
  uint64_t target_delivered = 0;         // Honest entries the eclipse target held ...
  LatencyHistogram target_delay;         // ... and their delays there.
};

// The fork of one author in a run: the two sides, and what came of them.
struct RealFork {
  PublicKey author{};
  Hash32 x{}, y{};            // The two entries with one seq.
  uint32_t proof = kNoProof;  // In RealShared::proofs.
  uint32_t proof_bytes = 0;
  TimeMs first_detection = kNever;  // When a node's store first found it.
  uint64_t detections = 0;          // Nodes whose own store found it.
  std::vector<TimeMs> proof_at;     // By node: when its core cut the author off.
  uint64_t nodes_with_proof = 0;
  uint64_t later_delivered = 0;     // (node, entry) pairs of the author's later entries held.
  uint64_t held_after_proof = 0;    // Of those, held by a node that had the proof: 0.
  uint64_t stored_after_proof = 0;  // The author's entries handed to the store after: 0.
  uint64_t refused_posts = 0;       // Later entries its home node refused to post.
};

// Everything the nodes of one run share. Not thread-safe, like the simulator.
struct RealShared {
  uint64_t seed = 1;
  std::vector<std::string> groups = {"catalog"};
  proto::ReplicaConfig replica;
  proto::NodeLimits limits;

  std::vector<Entry> entries;                            // By index k.
  std::unordered_map<Hash32, uint32_t, HashOf32> index;  // Id -> k.
  std::vector<TimeMs> posted_ms;                         // By k: when its author posted it.
  std::vector<uint32_t> holders;                         // By k: nodes that hold it.
  std::vector<int8_t> verdicts;                          // By k: 0 unknown, 1 valid, -1 not.
  // Entries below this index count towards deliveries and delays (a forker's do not).
  uint32_t measured = UINT32_MAX;

  uint64_t verify_calls = 0;   // Verifications asked for by nodes.
  uint64_t verifications = 0;  // Signatures actually checked (distinct entries).
  uint64_t deliveries = 0;     // (node, entry) pairs held, origins included.
  uint64_t violations = 0;     // Messages a node found misbehaving (none expected).
  uint64_t waiting_peak = 0;   // The most entries one node held back at once.
  LatencyHistogram delay;
  // Ingest capacity: 0 admits every message at once. Else each node admits at most this many
  // entries per second through its fair queue, served every ingest_turn_ms; with ingest_fifo
  // all groups share one queue (the baseline the fair queue is measured against).
  double ingest_entries_per_s = 0;
  TimeMs ingest_turn_ms = 10;
  proto::FairQueueLimits ingest_limits;
  bool ingest_fifo = false;
  // Told of every (entry k, node) pair the first time the node holds it.
  std::function<void(uint32_t k, NodeId node, TimeMs now)> on_held;
  proto::NodeOutbox out;  // Scratch, reused by every call.

  std::vector<ForkProof> proofs;  // By index.
  std::vector<int8_t> proof_verdicts;
  uint64_t proof_verifications = 0;
  std::optional<RealFork> fork;

  // Attacks: each node's role (empty: every node is honest) and the hostile nodes, whose
  // ids Sybils hand out. Only honest nodes count towards holders, deliveries and delays.
  std::vector<Role> roles;
  std::vector<NodeId> hostile;
  uint32_t hostile_ranges = 16;  // The /24s Sybils' and eclipsers' addresses are in.
  // With hostile_join_at != kNever, honest nodes join through earlier honest nodes and the
  // hostile ones from this time on (StartRealSim).
  TimeMs hostile_join_at = kNever;
  NodeId eclipse_target = proto::kNoNode;
  uint32_t spam_first = UINT32_MAX;  // Entries from this index on are a spammer's.
  // Nodes tell their peer scores (proto/peer_score.h) of their connections, with simulated
  // addresses, and carry out the verdicts as the network node does: close the connection
  // (a GOAWAY) and keep the peer away (its messages refused) for keep_away_ms.
  bool scores = false;
  std::vector<uint64_t> range_keys;  // With scores: RangeKey(Address(id)) by node.
  AttackStats attack;

  Role RoleOf(NodeId id) const { return roles.empty() ? Role::kHonest : roles[id]; }
  bool Honest(NodeId id) const { return RoleOf(id) == Role::kHonest; }
  // A node's address: an honest node (a hoarder or a spammer too) has a /24 of its own; a
  // Sybil or an eclipser one of hostile_ranges shared /24s.
  std::string Address(NodeId id) const {
    const Role r = RoleOf(id);
    if (r == Role::kSybil || r == Role::kEclipser) {
      const uint64_t range = MixHash(seed, id) % hostile_ranges;
      return "66." + std::to_string(range / 256) + "." + std::to_string(range % 256) + "." +
             std::to_string(id % 250 + 1);
    }
    return std::to_string(11 + (id >> 16) % 200) + "." + std::to_string((id >> 8) & 255) + "." +
           std::to_string(id & 255) + ".1";
  }

  uint32_t Add(Entry e) {
    const uint32_t k = static_cast<uint32_t>(entries.size());
    index.emplace(e.id(), k);
    entries.push_back(std::move(e));
    posted_ms.push_back(kNever);
    holders.push_back(0);
    verdicts.push_back(0);
    return k;
  }
  const Entry* Find(const Hash32& id) const {
    auto it = index.find(id);
    return it == index.end() ? nullptr : &entries[it->second];
  }
  Status Verify(const Entry& e) {
    ++verify_calls;
    auto it = index.find(e.id());
    CHECK(it != index.end());
    int8_t& v = verdicts[it->second];
    if (v == 0) {
      ++verifications;
      v = VerifyEntrySignature(e).ok() ? 1 : -1;
    }
    if (v > 0) return {};
    return Error{codes::kBadSignature, "The entry's signature does not verify."};
  }
  uint32_t AddProof(ForkProof proof) {
    proofs.push_back(std::move(proof));
    proof_verdicts.push_back(0);
    return static_cast<uint32_t>(proofs.size() - 1);
  }
  // Verifies one of `proofs` (nodes hand in the shared object) once; another one directly.
  Status VerifyProof(const ForkProof& proof) {
    if (proofs.empty() || &proof < proofs.data() || &proof >= proofs.data() + proofs.size()) {
      return VerifyForkProof(proof);
    }
    int8_t& v = proof_verdicts[static_cast<size_t>(&proof - proofs.data())];
    Status s;
    if (v == 0) {
      ++proof_verifications;
      s = VerifyForkProof(proof);
      v = s.ok() ? 1 : -1;
    }
    if (v > 0) return {};
    return s.ok() ? Error{codes::kBadSignature, "The fork proof does not verify."} : s;
  }
};

class RealNode {
 public:
  RealNode(NodeId id, RealShared* shared)
      : core_(std::make_unique<proto::NodeCore>(id, shared->groups, shared->replica, shared->limits,
                                                NodeSeed(shared->seed, id, 7))),
        shared_(shared),
        rng_(NodeSeed(shared->seed, id, 8)) {
    if (shared->scores) {
      core_->scores().SetRangeOf([shared](NodeId peer) { return shared->range_keys[peer]; });
    }
  }

  void OnStart(TimeMs now, Context<RealMessage>& ctx) {
    armed_ = kNever;
    // Each node joins through a pseudo-random earlier node, like PandoShared::JoinContact;
    // when hostile nodes join late, an honest node's contact is the first honest node at or
    // below that one (node 0 is honest).
    const NodeId self = core_->replica().self();
    NodeId contact = proto::kNoNode;
    if (self != 0) {
      contact = MixHash(MixHash(shared_->seed, 0xc0417ac7ULL), self) % self;
      if (shared_->hostile_join_at != kNever && shared_->Honest(self)) {
        while (!shared_->Honest(contact)) --contact;
      }
    }
    Host host(shared_);
    core_->Start(now, contact, host, Scratch());
    Finish(now, ctx);
  }

  void OnMessage(TimeMs now, NodeId from, const RealMessage& rm, Context<RealMessage>& ctx) {
    if (shared_->scores) {
      if (rm.goaway) {
        down_.push_back(from);
        return Finish(now, ctx);
      }
      if (KeptAway(from, now)) {
        ++shared_->attack.refused_kept_away;
        ctx.Send(from, Goaway());
        return;
      }
    }
    if (rm.proof != kNoProof) {
      Host host(shared_);
      core_->OnForkProof(now, from, shared_->proofs[rm.proof], host, Scratch());
      return Finish(now, ctx);
    }
    const PandoMessage& m = rm.message;
    if (shared_->ingest_entries_per_s > 0 && Queue(now, from, m)) return Finish(now, ctx);
    Handle(now, from, m, ctx);
    Finish(now, ctx);
  }

  void OnTimer(TimeMs now, Context<RealMessage>& ctx) {
    armed_ = kNever;
    if (ingest_ && now >= ingest_->next_turn) Serve(now, ctx);
    Host host(shared_);
    core_->OnTimer(now, host, Scratch());
    Finish(now, ctx);
  }

  void OnPeerDown(TimeMs now, NodeId peer, Context<RealMessage>& ctx) {
    Host host(shared_);
    core_->OnPeerDown(now, peer, host, Scratch());
    Finish(now, ctx);
  }

  std::vector<NodeId> Connections() const { return core_->replica().Connections(); }
  void Prefetch() const {}

  // Posts entry k: its author's node has signed it (RealShared::entries) and stores it now.
  // The entry of a forked author is refused, as the node's store would refuse it.
  void Post(TimeMs now, uint32_t k, Context<RealMessage>& ctx) {
    Host host(shared_);
    if (!core_->AddLocal(now, shared_->entries[k], host, Scratch())) {
      CHECK(core_->IsForked(shared_->entries[k].author()));
      ++shared_->fork->refused_posts;
      return;
    }
    shared_->posted_ms[k] = now;
    Finish(now, ctx);
  }

  const proto::NodeCore& core() const { return *core_; }
  const proto::Membership& membership(size_t i = 0) const { return core_->replica().membership(i); }
  // The node's ingest queue; nullptr without an ingest capacity.
  const proto::FairQueue<std::pair<NodeId, PandoMessage>>* ingest() const {
    return ingest_ ? &ingest_->queue : nullptr;
  }

 private:
  class Host final : public proto::NodeCoreHost {
   public:
    explicit Host(RealShared* shared) : shared_(shared) {}
    // The simulated store holds nothing the core has not seen: its feed heads are the truth.
    Result<std::optional<FeedHead>> StoredHead(const PublicKey&, uint32_t) override {
      return std::optional<FeedHead>();
    }
    Status Verify(const Entry& e) override { return shared_->Verify(e); }
    Status VerifyProof(const ForkProof& proof) override { return shared_->VerifyProof(proof); }

   private:
    RealShared* shared_;
  };

  // Messages with entries waiting for the node's ingest capacity, and its budget.
  struct Ingest {
    explicit Ingest(const proto::FairQueueLimits& limits) : queue(limits) {}
    proto::FairQueue<std::pair<NodeId, PandoMessage>> queue;
    double budget = 0;  // Entries the node may still admit (negative: a large item overdrew).
    TimeMs budget_at = 0;
    TimeMs next_turn = kNever;  // kNever: nothing queued.
  };

  // Queues a message that carries entries (returns false for any other). It is served at
  // once if the node has budget left.
  bool Queue(TimeMs now, NodeId from, const PandoMessage& m) {
    // Entries the node holds already cost nothing: a message of only those does not wait.
    const auto fresh = [&](const Hash32& id) {
      const Entry* e = shared_->Find(id);
      return e != nullptr && !core_->HasEntry(id) ? e : nullptr;
    };
    const Entry* gossiped = nullptr;
    std::optional<proto::Entries> answer;
    if (const auto* g = std::get_if<proto::Gossip>(&m.body)) {
      gossiped = fresh(g->id);
    } else if (const auto* es = std::get_if<proto::Entries>(&m.body)) {
      answer.emplace();
      for (const Hash32& id : es->ids) {
        if (fresh(id) != nullptr) answer->ids.push_back(id);
      }
    }
    if (gossiped == nullptr && (!answer || answer->ids.empty())) return false;
    // Kept promises count on arrival, queued or not (Node::Ingest).
    if (gossiped != nullptr) {
      const Hash32 id = gossiped->id();
      core_->scores().Arrived(from, std::span(&id, 1), false);
    } else {
      core_->scores().Arrived(from, answer->ids, true);
    }
    if (!ingest_) {
      ingest_ = std::make_unique<Ingest>(shared_->ingest_limits);
      ingest_->budget_at = now;
      ingest_->budget = TurnBudget();
    }
    const uint32_t flow = shared_->ingest_fifo ? 0 : m.group;
    if (gossiped != nullptr) {
      ingest_->queue.Push(flow, {from, m}, gossiped->bytes().size(), 1);
    } else {
      // An answer of many entries goes in pieces, as the network node queues it.
      const auto size = [&](size_t i) -> uint64_t {
        return shared_->Find(answer->ids[i])->bytes().size();
      };
      proto::ForEachPiece(
          answer->ids.size(), ingest_->queue.limits().piece_bytes_max, size,
          [&](size_t begin, size_t end, uint64_t bytes) {
            proto::Entries piece{{answer->ids.begin() + begin, answer->ids.begin() + end}, bytes};
            ingest_->queue.Push(flow, {from, PandoMessage{m.group, std::move(piece)}}, bytes,
                                static_cast<uint32_t>(end - begin));
          });
    }
    if (ingest_->next_turn == kNever) ingest_->next_turn = now;
    return true;
  }

  // What the node admits in one turn.
  double TurnBudget() const {
    return shared_->ingest_entries_per_s * static_cast<double>(shared_->ingest_turn_ms) / 1000.0;
  }

  // One turn: refills the budget for the time since the last (at most one turn's worth, so
  // an idle node saves up nothing), then admits queued work while budget is left.
  void Serve(TimeMs now, Context<RealMessage>& ctx) {
    Ingest& in = *ingest_;
    const double turn = TurnBudget();
    in.budget = std::min(turn, in.budget + shared_->ingest_entries_per_s *
                                               static_cast<double>(now - in.budget_at) / 1000.0);
    in.budget_at = now;
    while (in.budget > 0) {
      auto s = in.queue.Pop();
      if (!s) break;
      // The capacity is signature checks: an entry held already (a second copy) costs none.
      const uint64_t before = shared_->verify_calls;
      Handle(now, s->item.first, s->item.second, ctx);
      const uint64_t checked = shared_->verify_calls - before;
      in.budget -= static_cast<double>(checked);
      // Copies of entries that arrived while this one waited: the group's credit goes back.
      if (checked < s->entries) {
        in.queue.Refund(s->group, s->bytes * (s->entries - checked) / s->entries);
      }
      Emit(now, ctx);
    }
    in.next_turn = in.queue.empty() ? kNever : now + shared_->ingest_turn_ms;
  }

  void Handle(TimeMs now, NodeId from, const PandoMessage& m, Context<RealMessage>&) {
    std::vector<proto::ArrivingEntry> arriving;
    bool broadcast = false;
    if (const auto* g = std::get_if<proto::Gossip>(&m.body)) {
      broadcast = true;
      if (const Entry* e = shared_->Find(g->id)) arriving.push_back({e, false});
    } else if (const auto* es = std::get_if<proto::Entries>(&m.body)) {
      for (const Hash32& id : es->ids) {
        if (const Entry* e = shared_->Find(id)) arriving.push_back({e, false});
      }
    } else {
      broadcast =
          m.body.index() >= proto::kFirstBroadcastIndex && m.body.index() < proto::kFirstSyncIndex;
    }
    Host host(shared_);
    core_->OnMessage(now, from, m, arriving, broadcast, host, Scratch());
  }

  proto::NodeOutbox& Scratch() {
    shared_->out.Clear();
    return shared_->out;
  }

  // The simulated store: finds the fork, as a real one would, among what the core hands it,
  // and counts what is held and stored of the forked author.
  void WatchFork(TimeMs now, proto::NodeOutbox& out) {
    RealFork& f = *shared_->fork;
    const NodeId self = core_->replica().self();
    const bool had_proof = f.proof_at[self] != kNever;
    for (const auto& [e, g] : out.to_store) {
      if (e.author() != f.author) continue;
      if (had_proof) ++f.stored_after_proof;
      if (had_proof || core_->IsForked(f.author)) continue;
      if ((e.id() == f.x && core_->HasEntry(f.y)) || (e.id() == f.y && core_->HasEntry(f.x))) {
        ++f.detections;
        f.first_detection = std::min(f.first_detection, now);
        Host host(shared_);
        core_->OnForkProof(now, proto::kNoNode, shared_->proofs[f.proof], host, out);
      }
    }
    for (const Hash32& id : out.now_held) {
      const Entry& e = shared_->entries[shared_->index.at(id)];
      if (e.author() != f.author || id == f.x || id == f.y) continue;
      ++f.later_delivered;
      if (had_proof) ++f.held_after_proof;
    }
    if (!out.now_forked.empty() && !had_proof) {
      f.proof_at[self] = now;
      ++f.nodes_with_proof;
    }
  }

  // Whether the peer is kept away (a verdict of this node's scores) at `now`.
  bool KeptAway(NodeId peer, TimeMs now) {
    std::erase_if(kept_away_, [now](const auto& k) { return k.second <= now; });
    return std::any_of(kept_away_.begin(), kept_away_.end(),
                       [peer](const auto& k) { return k.first == peer; });
  }

  // A hostile node's betrayal of one send (Role): true to withhold it; it may also rewrite
  // it (a Sybil's shuffle sample).
  bool Betray(TimeMs now, NodeId to, proto::GroupMessage& m) {
    const Role role = shared_->RoleOf(core_->replica().self());
    if (role == Role::kHonest || role == Role::kSpammer) return false;
    // An eclipser behaves until the siege begins, as a covert attacker would.
    if (role == Role::kEclipser && now < shared_->attack.start) return false;
    const size_t type = m.body.index();
    if (type == proto::kGossipIndex || type == proto::kEntriesIndex) return true;
    if (role == Role::kHoarder) return false;
    if (role == Role::kEclipser && to == shared_->eclipse_target &&
        std::holds_alternative<proto::Disconnect>(m.body)) {
      return true;
    }
    std::vector<NodeId>* sample = nullptr;
    size_t keep = 0;
    if (auto* sh = std::get_if<proto::Shuffle>(&m.body)) {
      sample = &sh->nodes;
      keep = 1;  // The origin itself.
    } else if (auto* reply = std::get_if<proto::ShuffleReply>(&m.body)) {
      sample = &reply->nodes;
    }
    if (sample != nullptr && !shared_->hostile.empty()) {
      for (size_t i = keep; i < sample->size(); ++i) {
        (*sample)[i] = shared_->hostile[rng_.Below(shared_->hostile.size())];
      }
      ++shared_->attack.lies;
    }
    return false;
  }

  // Closes the connections of the verdicts (an honest node's scores) and keeps the peers away.
  void CarryOut(TimeMs now, const std::vector<proto::PeerVerdict>& verdicts,
                Context<RealMessage>& ctx) {
    AttackStats& a = shared_->attack;
    for (const proto::PeerVerdict& v : verdicts) {
      if (KeptAway(v.peer, now)) continue;
      kept_away_.emplace_back(v.peer, now + v.keep_away_ms);
      ctx.Send(v.peer, Goaway());
      down_.push_back(v.peer);
      if (shared_->Honest(v.peer)) {
        ++a.verdicts_on_honest;
      } else {
        if (core_->replica().self() == shared_->eclipse_target) {
          ++a.target_verdicts;
          a.target_first_verdict = std::min(a.target_first_verdict, now);
        }
        ++a.verdicts_on_hostile;
        a.first_verdict_on_hostile = std::min(a.first_verdict_on_hostile, now);
        a.scored_out[v.peer] = 1;
      }
    }
  }

  // Tells the scores of connections that came and went since the last call.
  void SyncScores() {
    std::vector<NodeId> now = core_->replica().Connections();
    std::sort(now.begin(), now.end());
    proto::PeerScores& scores = core_->scores();
    for (NodeId p : known_) {
      if (!std::binary_search(now.begin(), now.end(), p)) scores.OnGone(p);
    }
    for (NodeId p : now) {
      if (!std::binary_search(known_.begin(), known_.end(), p)) {
        scores.OnConnected(p, shared_->Address(p));
      }
    }
    known_ = std::move(now);
  }

  // Carries out the outbox of the last core call, then the peer failures it led to (GOAWAYs
  // received, peers closed or kept away), each of which is a core call of its own.
  void Emit(TimeMs now, Context<RealMessage>& ctx) {
    EmitOutbox(now, ctx);
    while (!down_.empty()) {
      const NodeId peer = down_.back();
      down_.pop_back();
      Host host(shared_);
      core_->OnPeerDown(now, peer, host, Scratch());
      EmitOutbox(now, ctx);
    }
  }

  void EmitOutbox(TimeMs now, Context<RealMessage>& ctx) {
    proto::NodeOutbox& out = shared_->out;
    const NodeId self = core_->replica().self();
    const bool honest = shared_->Honest(self);
    if (shared_->fork) WatchFork(now, out);
    for (const Hash32& id : out.now_held) {
      auto it = shared_->index.find(id);
      CHECK(it != shared_->index.end());
      if (!honest) continue;
      if (it->second >= shared_->spam_first) ++shared_->attack.spam_held;
      ++shared_->holders[it->second];
      if (it->second >= shared_->measured) continue;
      ++shared_->deliveries;
      const TimeMs posted = shared_->posted_ms[it->second];
      if (posted != kNever && posted != now) shared_->delay.Add(now - posted);
      if (self == shared_->eclipse_target) {
        ++shared_->attack.target_delivered;
        if (posted != kNever && posted != now) shared_->attack.target_delay.Add(now - posted);
      }
      if (shared_->on_held) shared_->on_held(it->second, core_->replica().self(), now);
    }
    for (const auto& [to, author] : out.proof_sends) {
      ctx.Send(to, RealMessage{{}, shared_->fork->proof, shared_->fork->proof_bytes});
    }
    for (auto& [to, m] : out.replica.sends) {
      if (!honest && Betray(now, to, m)) {
        ++shared_->attack.withheld;
        continue;
      }
      if (shared_->scores && KeptAway(to, now)) {
        // The node would not dial it: to its core, the peer is unreachable.
        if (std::find(down_.begin(), down_.end(), to) == down_.end()) down_.push_back(to);
        continue;
      }
      ctx.Send(to, RealMessage{std::move(m)});
    }
    if (out.violation) ++shared_->violations;
    if (shared_->scores && honest && !out.verdicts.empty()) {
      std::vector<proto::PeerVerdict> verdicts = std::move(out.verdicts);
      out.Clear();
      CarryOut(now, verdicts, ctx);
      return;
    }
    out.Clear();
  }

  void Finish(TimeMs now, Context<RealMessage>& ctx) {
    Emit(now, ctx);
    if (shared_->scores) SyncScores();
    shared_->waiting_peak = std::max<uint64_t>(shared_->waiting_peak, core_->waiting_count());
    if (ingest_ && ingest_->next_turn <= now) Serve(now, ctx);
    TimeMs next = core_->NextTimerAt();
    if (ingest_) next = std::min(next, ingest_->next_turn);
    if (next != armed_ && next != kNever) {
      armed_ = next;
      ctx.SetTimer(next);
    }
  }

  std::unique_ptr<proto::NodeCore> core_;
  RealShared* shared_;
  std::unique_ptr<Ingest> ingest_;  // With an ingest capacity, once something was queued.
  TimeMs armed_ = kNever;
  // With RealShared::scores: the connections the scores know of (sorted), the peers kept
  // away (until when), and peer failures still to hand to the core.
  std::vector<NodeId> known_;
  std::vector<std::pair<NodeId, TimeMs>> kept_away_;
  std::vector<NodeId> down_;
  proto::Rng rng_{0};  // A hostile node's lies; seeded in the constructor.
};

using RealSim = Simulator<RealNode, RealMessage>;

// A simulator of `nodes` RealNodes over `shared` (seeded with shared.seed), node i starting
// at i * join_window_ms / nodes, each joining through a pseudo-random earlier node.
inline std::unique_ptr<RealSim> StartRealSim(RealShared& shared, uint64_t nodes,
                                             TimeMs latency_min_ms, TimeMs latency_max_ms,
                                             TimeMs join_window_ms) {
  NetworkConfig net;
  net.seed = shared.seed;
  net.latency_min_ms = latency_min_ms;
  net.latency_max_ms = latency_max_ms;
  RealShared* s = &shared;
  auto sim = std::make_unique<RealSim>(net, nodes, [s](NodeId id) { return RealNode(id, s); });
  for (NodeId id = 0; id < nodes; ++id) {
    auto at = static_cast<TimeMs>(id * join_window_ms / nodes);
    if (shared.hostile_join_at != kNever && !shared.Honest(id)) at += shared.hostile_join_at;
    sim->At(at, [id](RealSim& r) { r.Start(id); });
  }
  return sim;
}

// Node `home` posts entry k of RealShared::entries at `at`.
inline void SchedulePost(RealSim& sim, NodeId home, uint32_t k, TimeMs at) {
  sim.At(at, [home, k](RealSim& s) {
    s.Invoke(home,
             [k](RealNode& node, Context<RealMessage>& ctx) { node.Post(ctx.Now(), k, ctx); });
  });
}

}  // namespace pando::sim
