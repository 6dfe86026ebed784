// NodeCore: the sans-IO logic of one Pando node above the protocols: which entries it holds,
// the admission of arriving entries, holding entries that came before their feed
// predecessor, the WANTs that fill such gaps, and the proto::Replica (membership, broadcast,
// anti-entropy) of every carried group. The network node (node/node.cc) and the simulator
// (sim/real_node.h) run this same code; it never touches a socket, a clock, a thread, a file
// or a random device: every call gets `now`, and what the node must do comes back in a
// NodeOutbox.
//
// Admission of one arriving entry (Admit), in order:
//   1. its group is the group of the message it came in (else PROTOCOL_ERROR: a violation,
//      the runtime bans the sender);
//   2. its author is not forked (else it is dropped, AUTHOR_FORKED, and the sender is sent
//      the fork proof unless it is known to hold it);
//   3. it is not held already (a duplicate);
//   4. its timestamp is not more than limits::kFutureSkewMsMax ahead of `now` (else it is
//      dropped for now; reconciliation offers it again later);
//   5. its signature verifies, unless chain verification of its ENTRIES run authenticated it
//      (else BAD_SIGNATURE: a violation);
//   6. against its feed's head: at or below the head, the store decides (a duplicate or a
//      fork proof);
//   7. its author's quotas in its group (proto/quota.h): over one, it is dropped for now
//      (reconciliation offers it again once the bucket has refilled);
//   8. the direct successor is admitted, stored, and releases what waited for it; further
//      ahead, it is held until its predecessor arrives.
// A held entry is not "held" in the index: it is neither offered to reconciliation nor
// relayed nor reported by HasEntry until its gap fills, so a peer cannot use the node to
// spread entries whose feed nobody can verify. Held entries are bounded by count, by bytes,
// by bytes per feed, and by age (NodeLimits); when a limit is reached the oldest held
// entries go first, and an entry over its feed's share is dropped.
//
// Fork proofs (docs/node.md, "Fork proofs"). The core keeps the set of forked authors (loaded
// from the store at start, LoadForked). A proof reaches it from a peer (a FORK_PROOF frame) or
// from the node's own store, which found a fork (a FORKED answer). A new, valid proof cuts the
// author off: its entries waiting for a predecessor are dropped, none is admitted from then
// on, and the proof goes to every connected peer not known to hold it already (NodeOutbox::
// proof_sends; the runtime sends it ahead of all other frames). One proof per author is
// enough: a proof of an author already forked is dropped unchecked. From one peer, a proof
// that does not verify, a second proof of one author, or more proofs than the peer's rate
// (NodeLimits::proofs_per_s_max) is a violation.
//
// The runtime lends a NodeCoreHost (the store's feed heads, signature verification) on each
// call, as proto::Replica borrows a ReplicaHost; NodeCore itself is the Replica's host.
//
// Single-threaded, like every machine in src/proto.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/entry.h"
#include "core/error.h"
#include "core/fork_proof.h"
#include "core/token_bucket.h"
#include "proto/peer_score.h"
#include "proto/quota.h"
#include "proto/replica.h"
#include "proto/types.h"

namespace pando::proto {

// Limits on what peers can make a node keep. All in one place; docs/node.md lists them.
struct NodeLimits {
  size_t held_entries_max = 20'000;           // Entries waiting for a feed predecessor.
  uint64_t held_bytes_max = 64ull << 20;      // Their bytes, in all.
  uint64_t held_feed_bytes_max = 4ull << 20;  // Their bytes, in one feed.
  TimeMs held_ms_max = 120'000;               // How long one may wait.
  size_t asked_max = 100'000;  // Predecessors remembered as asked for (no second WANT).
  QuotaLimits quota;           // What one author may make the node take (proto/quota.h).
  PeerScoreConfig scores;      // What the node thinks of its peers (proto/peer_score.h).
  // Forked authors remembered (about 48 bytes each). Past it, a proof from a peer is dropped;
  // one the node's own store found stays there (the store refuses the author) unspread.
  size_t forked_authors_max = 1'000'000;
  // New fork proofs accepted from one peer: per second, and in a burst.
  double proofs_per_s_max = 20;
  double proofs_burst = 200;
  // Authors a peer is remembered to hold the proof of (sent by or to it), per peer.
  size_t peer_known_proofs_max = 4096;
};

// An entry in a message being handled, and whether chain verification of its ENTRIES run has
// authenticated it already (so its own signature need not be checked).
struct ArrivingEntry {
  const Entry* entry = nullptr;
  bool authenticated = false;
};

// What the runtime lends NodeCore on each call.
class NodeCoreHost {
 public:
  // The feed head the store holds for (author, group); nullopt if the feed is empty there.
  // Called once per feed, the first time the core meets it. Error: the store failed (the
  // entry is then dropped for now).
  virtual Result<std::optional<FeedHead>> StoredHead(const PublicKey& author, uint32_t group) = 0;
  // Checks an entry's own signature (the simulator shares one verdict per entry between all
  // its nodes). Error: BAD_SIGNATURE.
  virtual Status Verify(const Entry& entry) = 0;
  // Checks a fork proof from a peer (the simulator shares one verdict per proof). Errors:
  // those of VerifyForkProof.
  virtual Status VerifyProof(const ForkProof& proof) { return VerifyForkProof(proof); }

 protected:
  ~NodeCoreHost() = default;
};

// What the runtime does after a call, besides the Replica's sends.
struct NodeOutbox {
  ReplicaOutbox replica;  // Sends (WANTs for missing predecessors among them) and the timer.
  // Entries admitted, for the store, in the order they were admitted (feed order within a
  // feed). The runtime submits them; one it cannot store is given back through Forget.
  std::vector<std::pair<Entry, uint32_t>> to_store;
  // Entries that became held (in the index), for the runtime's waiters and relay cache.
  std::vector<Hash32> now_held;
  // The sender of the message broke the rules: ban it, with this error.
  std::optional<Error> violation;
  // Peers whose score fell below a threshold (OnTimer): close each and keep it away for its
  // keep_away_ms.
  std::vector<PeerVerdict> verdicts;
  // Fork proofs to send, ahead of every other frame: (peer, author). The runtime finds the
  // author's proof (it stored it, or was just handed it).
  std::vector<std::pair<NodeId, PublicKey>> proof_sends;
  // Authors cut off by this call. For a proof from a peer, the runtime stores the proof it
  // handed in (Store::SubmitForkProof) when its author is here; it also stops sending the
  // author's entries it owes (Outflow::Withhold).
  std::vector<PublicKey> now_forked;

  void Clear() {
    replica.Clear();
    to_store.clear();
    now_held.clear();
    violation.reset();
    verdicts.clear();
    proof_sends.clear();
    now_forked.clear();
  }
};

// Counters a node reports in its status.
struct NodeCoreCounters {
  uint64_t entries_received = 0;  // New entries admitted from peers (held ones too).
  uint64_t entries_posted = 0;    // Local entries added.
  uint64_t duplicates = 0;        // Entries that arrived again.
  uint64_t held_dropped = 0;      // Entries dropped from the waiting room (a limit or age).
  uint64_t future_dropped = 0;    // Entries from more than 300 s ahead, dropped for now.
  uint64_t gap_wants = 0;         // WANTs sent for a missing feed predecessor.
  uint64_t quota_dropped = 0;     // Entries over their author's quota, dropped for now.
  uint64_t forked_refused = 0;    // Entries of a forked author refused (AUTHOR_FORKED).
  uint64_t proofs_received = 0;   // New, valid fork proofs from peers.
  uint64_t proofs_duplicate = 0;  // Proofs of authors already forked, dropped unchecked.
  uint64_t proofs_sent = 0;       // Proof sends asked of the runtime.
};

class NodeCore {
 public:
  // `groups` are the carried groups' names, group key i = index i. `seed` seeds every random
  // choice (membership), so a simulated node replays from its seed.
  NodeCore(NodeId self, std::vector<std::string> groups, const ReplicaConfig& config,
           const NodeLimits& limits, uint64_t seed);
  NodeCore(const NodeCore&) = delete;
  NodeCore& operator=(const NodeCore&) = delete;

  // Loads what the store holds of group `g` (at start): (timestamp_ms, id) and size.
  void LoadHeld(uint32_t g, std::vector<ReconItem> items, std::vector<uint32_t> sizes);

  // The node came up: every group joins its overlay through `contact` (kNoNode: start one).
  void Start(TimeMs now, NodeId contact, NodeCoreHost& host, NodeOutbox& out);
  // A message from a peer, with the entries its GOSSIP or ENTRIES carried (decoded and
  // checked against their ids by the runtime). `from_broadcast`: it is a broadcast message;
  // an entry that arrives there ahead of its predecessor makes the node WANT the predecessor
  // from the sender at once (entries from reconciliation do not: the predecessor is on its
  // way in the same exchange, and a WANT would end the peer's session).
  void OnMessage(TimeMs now, NodeId from, const GroupMessage& m,
                 std::span<const ArrivingEntry> entries, bool from_broadcast, NodeCoreHost& host,
                 NodeOutbox& out);
  void OnTimer(TimeMs now, NodeCoreHost& host, NodeOutbox& out);
  // Group g (started) joins its overlay through `contact`, a carrier discovery found.
  void JoinThrough(TimeMs now, uint32_t g, NodeId contact, NodeCoreHost& host, NodeOutbox& out);
  // `peer` said it does not carry group g: it leaves g's views (it was a bootstrap contact
  // that carries other groups, say).
  void NotCarried(TimeMs now, uint32_t g, NodeId peer, NodeCoreHost& host, NodeOutbox& out);
  // When the runtime calls OnTimer next: the Replica's timer, or the next review of the peer
  // scores (every PeerScoreConfig::review_ms while peers are scored), whichever comes first.
  TimeMs NextTimerAt() const;
  void OnPeerDown(TimeMs now, NodeId peer, NodeCoreHost& host, NodeOutbox& out);
  // A local entry (posted on this machine) was committed by the store: hold it and push it.
  // Returns false if it was held already, or its author is forked.
  bool AddLocal(TimeMs now, const Entry& e, NodeCoreHost& host, NodeOutbox& out);
  // Loads the authors the store knows to be forked (at start).
  void LoadForked(std::span<const PublicKey> authors);
  // A fork proof: from peer `from` (a FORK_PROOF frame, decoded by the runtime), or, with
  // `from` kNoNode, from this node's store, which found the fork (verified already). See the
  // file comment.
  void OnForkProof(TimeMs now, NodeId from, const ForkProof& proof, NodeCoreHost& host,
                   NodeOutbox& out);
  bool IsForked(const PublicKey& author) const { return forked_.contains(author); }
  size_t forked_count() const { return forked_.size(); }

  // The store refused entries the core had admitted (their feed heads were wrong here), or
  // their author is forked (the runtime takes its entries out of the index): forget them and
  // what the core assumed of their feeds.
  void Forget(std::span<const std::pair<Hash32, uint32_t>> ids,
              std::span<const std::pair<PublicKey, uint32_t>> feeds);

  // Charges an entry a client submits to this node (not from a peer) to its author's quotas,
  // as admission does. Errors: INVALID_GROUP (not carried), QUOTA_EXCEEDED.
  Status ChargeQuota(TimeMs now, const Entry& e);

  // Queries.
  std::optional<uint32_t> GroupOf(std::string_view name) const;
  const std::string& group_name(uint32_t g) const { return groups_[g].name; }
  size_t group_count() const { return groups_.size(); }
  // Whether the node holds entry `id` (admitted; held entries waiting for a gap are not).
  bool HasEntry(const Hash32& id) const;
  std::optional<uint32_t> SizeOf(uint32_t g, const Hash32& id) const;
  size_t held_count(uint32_t g) const { return groups_[g].items.size(); }
  size_t waiting_count() const { return waiting_.size(); }
  uint64_t waiting_bytes() const { return waiting_bytes_; }
  bool started() const { return started_; }
  const NodeCoreCounters& counters() const { return counters_; }
  Replica& replica() { return replica_; }
  const Replica& replica() const { return replica_; }
  const NodeLimits& limits() const { return limits_; }
  const AuthorQuotas& quotas() const { return quotas_; }
  // The runtime tells the scores of connections (OnConnected) and their ends (OnGone).
  PeerScores& scores() { return scores_; }
  const PeerScores& scores() const { return scores_; }

 private:
  struct Group {
    std::string name;
    std::vector<ReconItem> items;
    std::unordered_map<Hash32, uint32_t, HashOf32> sizes;  // Held entries and their bytes.
  };
  struct FeedKey {
    PublicKey author{};
    uint32_t group = 0;
    bool operator==(const FeedKey&) const = default;
  };
  struct FeedKeyHash {
    size_t operator()(const FeedKey& k) const { return HashOf32{}(k.author) ^ k.group; }
  };
  // An entry waiting for its predecessor.
  struct Waiting {
    Entry entry;
    uint32_t group = 0;
    TimeMs since = 0;
  };
  class ReplicaHostImpl;

  // Admission (see the file comment). Returns the entry's size if it is newly held.
  Result<std::optional<uint32_t>> Admit(TimeMs now, uint32_t g, const ArrivingEntry& a, NodeId from,
                                        NodeCoreHost& host, NodeOutbox& out);
  void Hold(uint32_t g, const Entry& e, NodeOutbox& out);
  void Wait(TimeMs now, uint32_t g, const Entry& e);
  // The entry `id` became its feed's head: admit what waited for it.
  void Release(const Hash32& id, NodeCoreHost& host, NodeOutbox& out);
  // Drops waiting entries older than held_ms_max, then the oldest while over a limit.
  void Expire(TimeMs now);
  void DropWaiting(const Hash32& id);
  FeedHead* HeadOf(const FeedKey& feed, NodeCoreHost& host);
  // Cuts `author` off (see the file comment); false if it was already, or the set is full.
  bool CutOff(const PublicKey& author, NodeOutbox& out);
  // Asks the runtime to send `author`'s proof to `peer` unless the peer is known to hold it.
  void SendProof(TimeMs now, NodeId peer, const PublicKey& author, NodeOutbox& out);
  // Remembers that `peer` holds `author`'s proof, as `how` (kProofFromPeer, kProofToPeer);
  // returns what was known before (0: nothing).
  uint8_t PeerKnows(TimeMs now, NodeId peer, const PublicKey& author, uint8_t how);
  static constexpr uint8_t kProofFromPeer = 1, kProofToPeer = 2;

  NodeLimits limits_;
  ReplicaConfig config_;
  Replica replica_;
  AuthorQuotas quotas_;
  PeerScores scores_;
  // What the node asked of its peers in the sends from `from_send` on (a GRAFT for an
  // announced entry, a WANT): promises the peers' scores hold them to.
  void NotePromises(TimeMs now, size_t from_send, const NodeOutbox& out);

  Rng rng_;
  TimeMs reviewed_at_ = 0;  // The last review of the peer scores.
  bool started_ = false;
  std::vector<Group> groups_;
  // Group indices by name (heterogeneous lookup: no string is built to find one).
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, uint32_t, NameHash, std::equal_to<>> by_name_;
  std::unordered_map<FeedKey, FeedHead, FeedKeyHash> heads_;
  // Waiting entries by id, the ids by the id of the entry they follow, and their arrival
  // order (for age and eviction; ids already gone are skipped).
  std::unordered_map<Hash32, Waiting, HashOf32> waiting_;
  std::unordered_multimap<Hash32, Hash32, HashOf32> waiting_by_prev_;
  std::deque<std::pair<TimeMs, Hash32>> waiting_order_;
  std::unordered_map<FeedKey, uint64_t, FeedKeyHash> waiting_feed_bytes_;
  uint64_t waiting_bytes_ = 0;
  std::unordered_set<Hash32, HashOf32> asked_;  // Predecessors asked for already.
  std::unordered_set<PublicKey, HashOf32> forked_;
  // Per connected peer: its rate of proofs, and the authors it holds the proof of (sent by
  // it or to it: a proof may cross one going the other way, which is no violation).
  struct ProofPeer {
    TokenBucket bucket;
    std::unordered_map<PublicKey, uint8_t, HashOf32> knows;
  };
  std::unordered_map<NodeId, ProofPeer> proof_peers_;
  ProofPeer& ProofPeerOf(NodeId peer, TimeMs now);
  std::map<std::pair<NodeId, uint32_t>, std::unique_ptr<SyncSession>> sessions_;
  // Entries released from the waiting room during a call: relayed once the call is done,
  // since no machine saw them arrive. (group, id, size)
  struct Released {
    uint32_t group;
    Hash32 id;
    uint32_t size;
  };
  std::vector<Released> released_;
  void RelayReleased(TimeMs now, NodeId from, NodeCoreHost& host, NodeOutbox& out);
  // During OnMessage: the entries of the message and whether it is a broadcast one.
  std::span<const ArrivingEntry> arriving_;
  bool from_broadcast_ = false;
  NodeCoreCounters counters_;
};

}  // namespace pando::proto
