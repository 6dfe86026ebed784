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
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/check.h"
#include "core/entry.h"
#include "core/error_codes.h"
#include "proto/node_core.h"
#include "sim/pando_node.h"
#include "sim/simulator.h"
#include "sim/stats.h"

namespace pando::sim {

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

  uint64_t verify_calls = 0;   // Verifications asked for by nodes.
  uint64_t verifications = 0;  // Signatures actually checked (distinct entries).
  uint64_t deliveries = 0;     // (node, entry) pairs held, origins included.
  uint64_t violations = 0;     // Messages a node found misbehaving (none expected).
  uint64_t waiting_peak = 0;   // The most entries one node held back at once.
  LatencyHistogram delay;
  proto::NodeOutbox out;  // Scratch, reused by every call.

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
};

class RealNode {
 public:
  RealNode(NodeId id, RealShared* shared)
      : core_(std::make_unique<proto::NodeCore>(id, shared->groups, shared->replica, shared->limits,
                                                NodeSeed(shared->seed, id, 7))),
        shared_(shared) {}

  void OnStart(TimeMs now, Context<PandoMessage>& ctx) {
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

  void OnMessage(TimeMs now, NodeId from, const PandoMessage& m, Context<PandoMessage>& ctx) {
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

  void OnTimer(TimeMs now, Context<PandoMessage>& ctx) {
    armed_ = kNever;
    Host host(shared_);
    core_->OnTimer(now, host, Scratch());
    Finish(now, ctx);
  }

  void OnPeerDown(TimeMs now, NodeId peer, Context<PandoMessage>& ctx) {
    Host host(shared_);
    core_->OnPeerDown(now, peer, host, Scratch());
    Finish(now, ctx);
  }

  std::vector<NodeId> Connections() const { return core_->replica().Connections(); }
  void Prefetch() const {}

  // Posts entry k: its author's node has signed it (RealShared::entries) and stores it now.
  void Post(TimeMs now, uint32_t k, Context<PandoMessage>& ctx) {
    shared_->posted_ms[k] = now;
    Host host(shared_);
    CHECK(core_->AddLocal(now, shared_->entries[k], host, Scratch()));
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

   private:
    RealShared* shared_;
  };

  proto::NodeOutbox& Scratch() {
    shared_->out.Clear();
    return shared_->out;
  }

  void Finish(TimeMs now, Context<PandoMessage>& ctx) {
    proto::NodeOutbox& out = shared_->out;
    for (const Hash32& id : out.now_held) {
      auto it = shared_->index.find(id);
      CHECK(it != shared_->index.end());
      ++shared_->holders[it->second];
      ++shared_->deliveries;
      const TimeMs posted = shared_->posted_ms[it->second];
      if (posted != kNever && posted != now) shared_->delay.Add(now - posted);
    }
    for (auto& [to, m] : out.replica.sends) {
      ctx.Send(to, std::move(m));
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

using RealSim = Simulator<RealNode, PandoMessage>;

}  // namespace pando::sim
