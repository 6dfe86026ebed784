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
#pragma once

#include <algorithm>
#include <cstdint>
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
};
// A FORK_PROOF frame is its length, its type byte and the proof.
inline uint64_t EncodedSize(const RealMessage& m) {
  return m.proof != kNoProof ? 5 + uint64_t{m.proof_bytes} : EncodedSize(m.message);
}
// Counted per type of group message, and fork proofs on their own.
template <>
struct VariantTraits<RealMessage> {
  static constexpr size_t kCount = std::variant_size_v<proto::PeerBody> + 1;
  static size_t Index(const RealMessage& m) {
    return m.proof != kNoProof ? kCount - 1 : m.message.body.index();
  }
  static std::vector<std::string> Names() {
    std::vector<std::string> names(std::begin(kPandoMessageNames), std::end(kPandoMessageNames));
    names.push_back("fork_proof");
    return names;
  }
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
  proto::NodeOutbox out;  // Scratch, reused by every call.

  std::vector<ForkProof> proofs;  // By index.
  std::vector<int8_t> proof_verdicts;
  uint64_t proof_verifications = 0;
  std::optional<RealFork> fork;

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
        shared_(shared) {}

  void OnStart(TimeMs now, Context<RealMessage>& ctx) {
    armed_ = kNever;
    // Each node joins through a pseudo-random earlier node, like PandoShared::JoinContact.
    const NodeId contact =
        core_->replica().self() == 0
            ? proto::kNoNode
            : MixHash(MixHash(shared_->seed, 0xc0417ac7ULL), core_->replica().self()) %
                  core_->replica().self();
    Host host(shared_);
    core_->Start(now, contact, host, Scratch());
    Finish(now, ctx);
  }

  void OnMessage(TimeMs now, NodeId from, const RealMessage& rm, Context<RealMessage>& ctx) {
    if (rm.proof != kNoProof) {
      Host host(shared_);
      core_->OnForkProof(now, from, shared_->proofs[rm.proof], host, Scratch());
      return Finish(now, ctx);
    }
    const PandoMessage& m = rm.message;
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
    Finish(now, ctx);
  }

  void OnTimer(TimeMs now, Context<RealMessage>& ctx) {
    armed_ = kNever;
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

  void Finish(TimeMs now, Context<RealMessage>& ctx) {
    proto::NodeOutbox& out = shared_->out;
    if (shared_->fork) WatchFork(now, out);
    for (const Hash32& id : out.now_held) {
      auto it = shared_->index.find(id);
      CHECK(it != shared_->index.end());
      ++shared_->holders[it->second];
      if (it->second >= shared_->measured) continue;
      ++shared_->deliveries;
      const TimeMs posted = shared_->posted_ms[it->second];
      if (posted != kNever && posted != now) shared_->delay.Add(now - posted);
    }
    for (const auto& [to, author] : out.proof_sends) {
      ctx.Send(to, RealMessage{{}, shared_->fork->proof, shared_->fork->proof_bytes});
    }
    for (auto& [to, m] : out.replica.sends) {
      ctx.Send(to, RealMessage{std::move(m)});
    }
    if (out.violation) ++shared_->violations;
    shared_->waiting_peak = std::max<uint64_t>(shared_->waiting_peak, core_->waiting_count());
    const TimeMs next = core_->replica().NextTimerAt();
    if (next != armed_ && next != kNever) {
      armed_ = next;
      ctx.SetTimer(next);
    }
  }

  std::unique_ptr<proto::NodeCore> core_;
  RealShared* shared_;
  TimeMs armed_ = kNever;
};

using RealSim = Simulator<RealNode, RealMessage>;

}  // namespace pando::sim
