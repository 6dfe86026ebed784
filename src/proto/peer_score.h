// PeerScores: what a node thinks of each connected peer, from what it sees itself (R6), so
// that peers which waste its work are dropped and the overlays repair towards peers which
// serve it well, by local decisions alone. Sans-IO: every call gets `now`; NodeCore feeds it
// from admission and broadcast, the runtime from connections, and NodeCore's timer turns
// low scores into the verdicts the runtime carries out.
//
// A peer's score is the sum of (as in gossipsub v1.1's peer scoring, simplified):
//   + first_delivery_weight per entry it was first to bring, counted up to
//     first_delivery_cap (an old friend cannot bank credit for unlimited abuse later);
//   - over_quota_weight per entry it pushed over its author's quota (proto/quota.h) beyond
//     what a relay's own quota would have let it pass: an honest relay forwards only what
//     its quotas admitted, so it pushes one author's entries no faster than a quota allows,
//     though nodes' buckets disagree on which ones (RelayedOverQuota forgives that much per
//     peer and author); a peer that keeps pushing a flood pays for it, whoever wrote it;
//   - broken_promise_weight per promise it did not keep: an entry it announced (IHAVE) and
//     did not send within promise_ms of the node's GRAFT (first or a later copy counts), or
//     entries it offered in reconciliation and did not answer within answer_ms of the
//     node's WANT with any ENTRIES. NodeCore registers what it asks (Promised, Asked); what
//     arrives keeps promises (Arrived, also called by runtimes before their ingest queues);
//     a promise neither kept nor ended by the peer's leaving is broken (Review);
//   - colocation_weight * (n - colocation_threshold)^2 when n connected peers share its
//     address range (an IPv4 /24 or an IPv6 /48): Sybils from one range count as few.
//     Loopback peers (a devnet's nodes on this machine) are not counted.
// The counters decay by `decay` every decay_ms, so a peer recovers from a bad minute and
// good service long ago does not shield it now.
//
// Verdicts, on each Review: a score below prune_threshold closes the peer's connection and
// keeps it away for prune_ms (its groups repair through other peers); below
// graylist_threshold, for graylist_ms. Invalid entries and protocol violations are not
// scored: they ban at once (PeerGuard).
//
// Memory: one record per connected peer (removed by OnGone), one counter per address range
// in use, and at most promises_max open promises (beyond, new ones go untracked).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/token_bucket.h"
#include "proto/membership.h"
#include "proto/types.h"

namespace pando::proto {

struct PeerScoreConfig {
  bool enabled = true;
  double first_delivery_weight = 1.0;
  double first_delivery_cap = 100;
  double over_quota_weight = 1.0;
  double broken_promise_weight = 5.0;
  TimeMs promise_ms = 2'000;  // A GRAFT's answer later than this is a broken promise ...
  TimeMs answer_ms = 5'000;   // ... and a WANT's (a long answer streams: its start counts).
  // An unanswered WANT counts as one broken promise per entry asked, up to this many: a
  // neighbour that offered a feed's backlog in reconciliation and sends none of it (a
  // hoarder: it never pushes either) is caught in one round, not left near zero.
  uint32_t want_counts_max = 10;
  size_t promises_max = 4'096;
  size_t relayed_max = 4'096;  // (peer, feed) allowances kept; all forgotten when full.
  // A relay's allowance of refused pushes, in multiples of this node's quota (rate and
  // burst): two nodes may admit nearly disjoint parts of a flood at the same quota rate, so
  // an honest relay can push a whole quota's worth this node refuses; twice leaves room.
  double relay_allowance = 2.0;
  // Only entries at most this old (by their timestamp) count as a pushed flood (NodeCore).
  TimeMs fresh_push_ms = 10'000;
  // Tenure (gossipsub v1.1's time in mesh): a connection's age counts this much a second,
  // up to tenure_cap_ms, so a crowd of newcomers cannot push long-standing neighbours out
  // (Membership evicts the worst neighbour) before it has served any better.
  double tenure_weight = 0.1;
  TimeMs tenure_cap_ms = 60'000;
  double colocation_weight = 10.0;
  uint32_t colocation_threshold = 8;  // Peers from one range before it costs anything.
  double decay = 0.9;                 // Counters kept per decay_ms.
  TimeMs decay_ms = 10'000;
  TimeMs review_ms = 1'000;  // NodeCore reviews the scores at least this often.
  // A neighbour below this is replaced with a passive peer (PeerPreference::Poor), one per
  // group each shuffle interval: a hoarder asked only now and then stays above
  // prune_threshold, but not above this.
  double replace_threshold = -10;
  double prune_threshold = -50;
  double graylist_threshold = -200;
  TimeMs prune_ms = 60'000;
  TimeMs graylist_ms = 600'000;
};

// The range an address belongs to for colocation: "a.b.c" for IPv4 (its /24), the first
// three groups for IPv6 (its /48), the whole text for anything else.
std::string AddressRange(std::string_view address);
// The range as a number for PeerPreference::RangeOf: never 0, but 0 for a loopback address
// (this machine's own nodes are not limited).
uint64_t RangeKey(std::string_view address);

struct PeerVerdict {
  NodeId peer = kNoNode;
  double score = 0;
  TimeMs keep_away_ms = 0;  // prune_ms or graylist_ms.
  bool graylisted = false;
};

class PeerScores final : public PeerPreference {
 public:
  explicit PeerScores(const PeerScoreConfig& config) : config_(config) {}

  // A connection to `peer` from `address` (IP, no port) came up; a peer connected twice is
  // counted once.
  void OnConnected(NodeId peer, std::string_view address);
  void OnGone(NodeId peer);

  void FirstDelivery(NodeId peer);
  void OverQuota(NodeId peer);
  // The peer pushed (unasked) an entry of `feed` (an author in a group, hashed) that is over
  // its quota here; rate and burst: this node's quota for that author. Forgiven while the
  // peer's refused pushes of the feed stay within relay_allowance times it; beyond,
  // OverQuota.
  void RelayedOverQuota(NodeId peer, uint64_t feed, double rate, double burst, TimeMs now);
  void BrokenPromise(NodeId peer, uint32_t count = 1);
  // The node asked `peer` (GRAFT) for entry `id` it had announced.
  void Promised(NodeId peer, const Hash32& id, TimeMs now);
  // The node asked `peer` for entries it offered (a WANT, in reconciliation or for a missing
  // predecessor) for `ids` entries: the peer owes an answer (ENTRIES) within answer_ms; one
  // open per peer.
  void Asked(NodeId peer, TimeMs now, size_t ids = 1);
  // Entries arrived from `peer` (answer: in ENTRIES): keeps the promises they fulfil.
  void Arrived(NodeId peer, std::span<const Hash32> ids, bool answer);
  // Whether `id` came from `peer` lately as the answer to this node's GRAFT (one of the
  // last kKeptRemembered kept): a GOSSIP the node asked for is no unasked push.
  bool Answered(NodeId peer, const Hash32& id) const;
  static constexpr size_t kKeptRemembered = 64;
  size_t open_promises() const { return promises_.size(); }

  double Score(NodeId peer) const;
  // Of two peers, the one with the higher score (a, when equal or both unknown).
  NodeId Better(NodeId a, NodeId b) const override { return Score(b) > Score(a) ? b : a; }
  // From the runtime's function (SetRangeOf: it knows where every peer it heard of may be
  // dialled), or else for connected peers only.
  uint64_t RangeOf(NodeId peer) const override;
  bool Poor(NodeId peer) const override { return Score(peer) < config_.replace_threshold; }
  void SetRangeOf(std::function<uint64_t(NodeId)> range_of) { range_of_ = std::move(range_of); }
  // Counts the promises past promise_ms as broken, decays the counters when due and
  // appends a verdict for each peer below a threshold (the
  // runtime closes it; its record goes with OnGone).
  void Review(TimeMs now, std::vector<PeerVerdict>& out);

  size_t size() const { return peers_.size(); }
  const PeerScoreConfig& config() const { return config_; }

 private:
  struct Record {
    std::string range;  // Empty for a loopback peer.
    double first_deliveries = 0;
    double over_quota = 0;
    double broken_promises = 0;
    TimeMs since = -1;  // The first review that saw the connection.
  };
  PeerScoreConfig config_;
  std::function<uint64_t(NodeId)> range_of_;
  std::unordered_map<NodeId, Record> peers_;
  std::unordered_map<std::string, uint32_t> ranges_;  // Connected peers per range.
  // Open promises by (peer, id): their deadlines and weights.
  struct PromiseKey {
    NodeId peer = kNoNode;
    Hash32 id{};
    bool operator==(const PromiseKey&) const = default;
  };
  struct PromiseHash {
    size_t operator()(const PromiseKey& k) const {
      return HashOf32{}(k.id) ^ (size_t{k.peer} * 0x9e3779b97f4a7c15ULL);
    }
  };
  struct Promise {
    TimeMs due = 0;
    uint32_t count = 1;  // Broken promises it counts as.
  };
  std::unordered_map<PromiseKey, Promise, PromiseHash> promises_;
  std::array<PromiseKey, kKeptRemembered> kept_{};  // The last GRAFT promises kept, a ring.
  size_t kept_next_ = 0;
  // The allowance of refused pushes by (peer, feed).
  struct RelayKey {
    NodeId peer = kNoNode;
    uint64_t feed = 0;
    bool operator==(const RelayKey&) const = default;
  };
  struct RelayHash {
    size_t operator()(const RelayKey& k) const {
      return k.feed ^ (size_t{k.peer} * 0x9e3779b97f4a7c15ULL);
    }
  };
  std::unordered_map<RelayKey, TokenBucket, RelayHash> relayed_;
  TimeMs decayed_at_ = 0;
  TimeMs reviewed_at_ = 0;  // The last Review's now: tenure is measured up to it.
};

}  // namespace pando::proto
