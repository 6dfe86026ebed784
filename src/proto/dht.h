// Discovery: a Kademlia DHT, sans-IO (docs/dht-format.md, "Meaning"). The node runs it over
// its peer connections and the simulator over simulated links; both call it with the time
// and one event and carry out its outbox.
//
// Routing: a node's and a key's place on the ring is a u64 point (the node id; a key's first
// 8 bytes); the runtime says where a node is (DhtHost::PointOf: the simulator's node ids are
// indices, not hashes). The routing table keeps up to k contacts per bucket (bucket i holds
// contacts whose point shares exactly i leading bits with this node's), at most
// range_bucket_max of one address range (S/Kademlia's diversity); a contact enters only once
// it has sent a message itself (a name in a FOUND is a lookup candidate, not a contact), and
// a full bucket keeps its live contacts (Kademlia's preference for old nodes) but gives the
// slot of one that failed fails_to_drop requests in a row to a newcomer. Buckets that are
// not full are refreshed (a lookup of a point in them) after the join and every
// refresh_ms (DhtConfig), so the table grows as log N.
//
// Lookups run over `paths` disjoint paths: each candidate belongs to the one path that first
// heard of it and is asked by that path only, alpha requests at a time per path, so hostile
// nodes on one path cannot steer another. A path ends when its k closest candidates have all
// answered or failed; a lookup with a record kind ends as soon as a record arrives from
// another node (records this node holds itself are in the result, but do not end it).
//
// Records: a node stores what STORE offers if it knows fewer than k nodes nearer the key
// than itself (else STORED(far)), the host verifies its signature and it is fresh (issued at most a
// minute ahead, not expired), keeping the newest per (kind, key, publisher), at most
// records_per_key_max per (kind, key) and records_max in all; it answers a FIND with a kind with
// those records. Publish looks the key up and sends STORE to the k closest nodes found; the runtime
// signs a new record and publishes it again every half ttl.
//
// Memory: a contact is 16 bytes; a simulated node with ~300 contacts holds ~5 KB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <unordered_map>
#include <vector>

#include "core/token_bucket.h"
#include "proto/dht_record.h"
#include "proto/types.h"

namespace pando::proto {

struct DhtConfig {
  size_t k = 20;
  size_t alpha = 3;  // Requests in flight per path.
  size_t paths = 2;
  TimeMs request_timeout_ms = 1'000;
  size_t range_bucket_max = 2;  // Contacts of one address range per bucket (0: no limit).
  uint8_t fails_to_drop = 2;
  size_t records_per_key_max = 64;
  size_t records_max = 100'000;
  size_t records_per_answer = kDhtRecordsMax;
  TimeMs expire_every_ms = 60'000;
  size_t lookups_max = 64;  // Lookups in flight; more are refused (Lookup returns 0).
  // Requests (FIND, STORE) a peer may make: beyond, a FIND gets no answer and a STORE gets
  // STORED(rate). Buckets are kept only while they are not full: `rate_peers_soft_max`
  // triggers forgetting the full ones, so benign traffic keeps the map small.
  double peer_requests_per_s = 20;
  double peer_requests_burst = 60;
  size_t rate_peers_soft_max = 64;
  // Bucket refresh (Kademlia's): once the join's lookup of the node's own point has ended,
  // one node lookup (on one path) of a point in each bucket not full, up to the deepest one
  // with a contact, so the table holds up to k contacts at every distance (log N state) and
  // not only those that messaged the node; later, every refresh_ms, such a lookup for each
  // bucket not full that no lookup has passed through for that long. refresh_ms 0: never
  // again after the join.
  bool refresh_at_join = true;
  TimeMs refresh_ms = 600'000;
};

// What the runtime knows that the DHT needs.
class DhtHost {
 public:
  // A node's point on the ring: its node id over the network; a hash in the simulator.
  virtual uint64_t PointOf(NodeId node) const = 0;
  // Its address range (proto/peer_score.h's RangeKey), or 0: not limited.
  virtual uint64_t RangeOf(NodeId) const { return 0; }
  // The record's signature (the simulator shares one verdict per record).
  virtual Status VerifyRecord(const DhtRecord& record) { return VerifyDhtRecord(record); }
  // Whether `from` may STORE this record here: the node asks that it come from its
  // publisher, announcing the address it connects from (a record cannot send nodes to a
  // third party's address). The simulator lets every STORE through.
  virtual bool MayStore(NodeId /*from*/, const DhtRecord& /*record*/) const { return true; }
  // Unix time in ms at the runtime's time `now`, for records' freshness.
  virtual int64_t UnixMs(TimeMs now) const = 0;

 protected:
  ~DhtHost() = default;
};

// Whether a node accepts the record to store, serve or use (docs/dht-format.md): fresh at
// the host's wall clock, then its signature (the dearer check) verifies.
bool DhtAccepted(const DhtRecord& record, TimeMs now, DhtHost& host);

struct DhtLookupResult {
  uint64_t handle = 0;
  Hash32 target{};
  uint8_t kind = 0;
  // Up to k nodes that answered, nearest first; for a publication, those STOREs went to
  // (k - 1 when this node, among the k nearest, keeps the record itself: kept_here).
  std::vector<NodeId> closest;
  std::vector<DhtRecordRef> records;
  TimeMs started_ms = 0;
  TimeMs finished_ms = 0;
  uint32_t requests = 0;  // FINDs sent.
  uint32_t failures = 0;  // Of them, timed out or undeliverable.
  bool publish = false;   // A publication's lookup: STOREs went to `closest`.
  bool kept_here = false;
  // How the records were found (proto::Discovery fills the last two): the DHT, a flooded
  // query after the DHT found none (flood_messages: the FLOODs this node sent), or hints
  // earlier floods left.
  enum class Source : uint8_t { kDht = 0, kFlood = 1, kHint = 2 };
  Source source = Source::kDht;
  uint32_t flood_messages = 0;
};

struct DhtOutbox {
  std::vector<std::pair<NodeId, DhtMessage>> sends;
  std::vector<DhtLookupResult> done;
  uint32_t stored_acks = 0;  // STORED(0) answers received.
  TimeMs next_timer_at = kNever;
  void Clear() {
    sends.clear();
    done.clear();
    stored_acks = 0;
    next_timer_at = kNever;
  }
};

struct DhtCounters {
  uint64_t finds_answered = 0;
  uint64_t records_stored = 0;
  uint64_t records_refused = 0;
  uint64_t records_expired = 0;
  uint64_t answers_unsolicited = 0;  // FOUND or STORED no request of ours waits for.
  uint64_t requests_over_rate = 0;   // FIND or STORE refused: the peer asked too often.
};

class Dht {
 public:
  Dht(NodeId self, const DhtConfig& config);

  // Takes the bootstrap contacts (trusted as given) and looks up its own point, which fills
  // the routing table from their answers.
  void Start(TimeMs now, std::span<const NodeId> contacts, DhtHost& host, DhtOutbox& out);
  // A contact met after Start (a bootstrap peer that just connected): taken as given, and
  // this node's own point looked up through it.
  void AddContact(TimeMs now, NodeId contact, DhtHost& host, DhtOutbox& out);
  void OnMessage(TimeMs now, NodeId from, const DhtMessage& m, DhtHost& host, DhtOutbox& out);
  void OnTimer(TimeMs now, DhtHost& host, DhtOutbox& out);
  // A request to `peer` cannot be delivered (no connection): it fails now, not at timeout.
  void OnPeerDown(TimeMs now, NodeId peer, DhtHost& host, DhtOutbox& out);

  // Starts a lookup of `target` (kind 0: nodes only); its result comes in out.done. 0: too
  // many lookups in flight.
  uint64_t Lookup(TimeMs now, const Hash32& target, uint8_t kind, DhtHost& host, DhtOutbox& out);
  // Looks the record's key up, then sends STORE to the k closest nodes found, and keeps the
  // record itself if it is among them or knows nobody closer.
  uint64_t Publish(TimeMs now, DhtRecordRef record, DhtHost& host, DhtOutbox& out);

  TimeMs NextTimerAt() const;
  // Counts a request `peer` makes of this node against its rate (FIND, STORE, and the
  // flooded queries Discovery answers); false: over it (counted in requests_over_rate).
  bool AllowRequest(TimeMs now, NodeId peer);
  size_t contacts() const;
  size_t records() const { return record_count_; }
  size_t lookups_in_flight() const { return lookups_.size(); }
  const DhtCounters& counters() const { return counters_; }
  uint64_t refresh_lookups() const { return refresh_lookups_; }
  // The k contacts nearest `point`, nearest first, never `except`.
  std::vector<NodeId> Closest(uint64_t point, size_t n, NodeId except, const DhtHost& host) const;
  // Records held of (kind, key), newest first.
  std::vector<DhtRecordRef> RecordsOf(uint8_t kind, const Hash32& key) const;

 private:
  struct Contact {
    NodeId id = kNoNode;
    uint32_t seen_s = 0;  // Last message from it, in seconds of runtime time.
    uint8_t fails = 0;
  };
  struct Candidate {
    NodeId id = kNoNode;
    uint64_t distance = 0;
    uint8_t path = 0;
    uint8_t state = 0;  // kNew, kAsked, kAnswered, kFailed.
  };
  struct LookupState {
    uint64_t handle = 0;
    Hash32 target{};
    uint64_t point = 0;
    uint8_t kind = 0;
    TimeMs started_ms = 0;
    std::vector<Candidate> candidates;  // Nearest first.
    std::vector<DhtRecordRef> records;
    size_t local_records = 0;  // Of them, those this node held when the lookup began.
    size_t paths = 1;          // Disjoint paths (a refresh takes one).
    uint32_t requests = 0, failures = 0;
    DhtRecordRef publishing;  // Publish: the record to STORE when the lookup ends.
  };
  struct Request {
    uint64_t lookup = 0;  // 0: a STORE.
    NodeId peer = kNoNode;
    TimeMs deadline = 0;
  };
  enum : uint8_t { kNew = 0, kAsked = 1, kAnswered = 2, kFailed = 3 };

  // paths 0: config.paths.
  uint64_t StartLookup(TimeMs now, const Hash32& target, uint8_t kind, DhtRecordRef publishing,
                       DhtHost& host, DhtOutbox& out, size_t paths = 0);
  int BucketOf(uint64_t point) const;
  void Observe(TimeMs now, NodeId node, const DhtHost& host);
  void Failed(NodeId node);
  void Answer(TimeMs now, NodeId from, const DhtFind& m, DhtHost& host, DhtOutbox& out);
  void Take(TimeMs now, NodeId from, const DhtFound& m, DhtHost& host, DhtOutbox& out);
  void TakeStore(TimeMs now, NodeId from, const DhtStore& m, DhtHost& host, DhtOutbox& out);
  DhtStoreCode Keep(TimeMs now, const DhtRecordRef& r, DhtHost& host);
  bool Near(const Hash32& key, const DhtHost& host) const;
  void AddCandidate(LookupState& l, NodeId id, uint8_t path, const DhtHost& host);
  void Step(TimeMs now, LookupState& l, DhtHost& host, DhtOutbox& out);
  bool PathDone(const LookupState& l, uint8_t path) const;
  void Finish(TimeMs now, LookupState& l, DhtHost& host, DhtOutbox& out);
  void FailRequest(TimeMs now, uint32_t rpc, DhtHost& host, DhtOutbox& out);
  void Expire(TimeMs now, DhtHost& host);
  bool Allow(TimeMs now, NodeId peer);
  void SetTimer(DhtOutbox& out);
  // Looks up a point in every bucket up to the deepest with a contact (all: else only those
  // no lookup passed through for refresh_ms).
  void Refresh(TimeMs now, bool all, DhtHost& host, DhtOutbox& out);

  NodeId self_;
  DhtConfig config_;
  uint64_t point_ = 0;                              // Set by Start (the host knows it).
  std::vector<std::vector<Contact>> buckets_;       // By shared leading bits; grown as needed.
  std::map<uint64_t, LookupState> lookups_;         // By handle.
  std::unordered_map<uint32_t, Request> requests_;  // By rpc.
  uint64_t next_handle_ = 1;
  uint64_t join_lookup_ = 0;              // The join's lookup of this node's own point.
  std::vector<TimeMs> bucket_looked_at_;  // By bucket: the last lookup of a point in it.
  TimeMs refresh_at_ = kNever;
  uint64_t refresh_lookups_ = 0;
  uint32_t next_rpc_ = 1;
  // Records by (kind, key): newest first, one per publisher.
  struct KindKey {
    uint8_t kind = 0;
    Hash32 key{};
    bool operator<(const KindKey& o) const { return kind != o.kind ? kind < o.kind : key < o.key; }
  };
  std::map<KindKey, std::vector<DhtRecordRef>> records_;
  size_t record_count_ = 0;
  TimeMs expire_at_ = kNever;
  std::unordered_map<NodeId, TokenBucket> rates_;  // Requests by peer, while not full.
  DhtCounters counters_;
};

}  // namespace pando::proto
