// Discovery: what a node does with the DHT (proto/dht.h), sans-IO. The node runs it over its
// peer connections (DHT frames); a test runs several over in-memory links.
//
//   Publication. The node publishes a "carries group G" record for every group it carries,
//   and a "holds feed F" record for the feeds it holds (the first feeds_max authors it met),
//   signed by its key with its listen address. Publications are paced (publications_per_s)
//   and repeated every half ttl; all of them go out again whenever the routing table has
//   doubled since the last round (up to republish_contacts_max contacts), so a node that
//   started alone, or early, places its records where the grown network looks.
//   Carriers. A carried group with no overlay neighbour (the runtime asks, NeedCarriers)
//   looks its key up, at most once per carrier_retry_ms; the carriers found, other than this
//   node, come out as joins (the runtime connects to one and joins the group's overlay
//   through it); none found comes out as no_carrier (the group waits alone, and is looked up
//   again).
//   Finds. A client's question ("who carries G?", "who holds F?") is a lookup whose result
//   comes out in finds.
//   Flooded fallback (docs/dht-format.md, "Flooded queries"). When a lookup for records finds
//   none (hostile nodes hid them, say), the records earlier floods brought (hints) answer it if
//   they are still fresh; otherwise a FLOOD goes to flood_fanout overlay neighbours (the
//   runtime's links, DiscoveryHost::Neighbours) and travels up to flood_hops hops, each node
//   passing it once to flood_fanout neighbours of its own, answering FLOOD_HIT with the
//   records it holds (and then not passing it on), each hit going back hop by hop along the
//   query's path. The asker ends at the first hit, or after flood_wait_ms with none. A
//   FLOOD counts against its sender's request rate, like FIND and STORE.
//
// Single-threaded, like every machine in src/proto.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/crypto.h"
#include "proto/dht.h"
#include "proto/dht_record.h"
#include "proto/types.h"

namespace pando::proto {

struct DiscoveryConfig {
  DhtConfig dht;
  uint32_t record_ttl_s = 3'600;
  double publications_per_s = 4;
  size_t feeds_max = 1'024;             // Feeds whose records the node publishes.
  size_t republish_contacts_max = 256;  // Past it, the table's growth no longer republishes.
  TimeMs carrier_retry_ms = 3'000;      // A lonely group's next lookup, at the soonest.
  size_t joins_per_lookup = 2;          // Carriers handed to the runtime from one lookup.
  bool flood = true;                    // The flooded fallback.
  uint8_t flood_hops = 5;
  size_t flood_fanout = 4;
  TimeMs flood_wait_ms = 1'500;          // The asker's wait for a hit.
  TimeMs flood_memory_ms = 30'000;       // How long a node remembers a query it passed on.
  size_t flood_remembered_max = 16'384;  // Queries remembered, at most.
  size_t hints_max = 4'096;              // Records kept from floods' hits.
};

// What the runtime lends Discovery on each call, besides the DHT's needs.
class DiscoveryHost : public DhtHost {
 public:
  // A record of this node's, issued at issued_ms, signed with its key; its address is the
  // node's listen address.
  virtual DhtRecordRef SignRecord(DhtKind kind, const Hash32& key, int64_t issued_ms,
                                  uint32_t ttl_s) = 0;
  // The node's overlay neighbours (every group's active view), for flooded queries.
  virtual std::vector<NodeId> Neighbours() const = 0;

 protected:
  ~DiscoveryHost() = default;
};

struct DiscoveryOutbox {
  DhtOutbox dht;  // Its `done` is emptied by Discovery: results come out below.
  // Group g may join through the record's publisher (its key and address are in the record).
  std::vector<std::pair<uint32_t, DhtRecordRef>> joins;
  // Groups whose lookup found no carrier but this node.
  std::vector<uint32_t> no_carrier;
  // Results of Find and FloodOnly, by the handle they returned.
  std::vector<DhtLookupResult> finds;
  // Every other lookup that ended: publications (PublishRecord's among them), lookups of
  // the node's own point, and lookups the runtime started on dht() itself.
  std::vector<DhtLookupResult> lookups;
  void Clear() {
    dht.Clear();
    joins.clear();
    no_carrier.clear();
    finds.clear();
    lookups.clear();
  }
};

struct DiscoveryCounters {
  uint64_t publications = 0;     // Records published (each a lookup and up to k STOREs).
  uint64_t carrier_lookups = 0;  // Lookups for a lonely group's carriers.
  uint64_t carriers_found = 0;   // Of them, those that found another carrier.
  uint64_t finds = 0;            // Finds asked by clients.
  uint64_t finds_refused = 0;    // Refused: too many lookups in flight.
  uint64_t floods = 0;           // Floods this node started (its lookups found nothing).
  uint64_t floods_found = 0;     // Of them, those a hit answered.
  uint64_t hint_answers = 0;     // Lookups answered from hints instead of a flood.
  uint64_t flood_sent = 0;       // FLOOD messages sent (started or passed on).
  uint64_t flood_hits_sent = 0;  // FLOOD_HIT messages sent (answered or passed back).
  uint64_t flood_dropped = 0;    // FLOODs seen before, or over the sender's rate.
};

class Discovery {
 public:
  // `groups`: the carried groups' names, group g = index g (as NodeCore's).
  Discovery(NodeId self, const PublicKey& self_key, std::vector<std::string> groups,
            const DiscoveryConfig& config);

  // Starts the DHT with these contacts (none: it waits for peers to call) and schedules the
  // first publications. `publish`: the node accepts connections (it has an address to give).
  void Start(TimeMs now, std::span<const NodeId> contacts, bool publish, DiscoveryHost& host,
             DiscoveryOutbox& out);
  // A bootstrap peer met after Start.
  void AddContact(TimeMs now, NodeId contact, DiscoveryHost& host, DiscoveryOutbox& out);
  void OnMessage(TimeMs now, NodeId from, const DhtMessage& m, DiscoveryHost& host,
                 DiscoveryOutbox& out);
  void OnTimer(TimeMs now, DiscoveryHost& host, DiscoveryOutbox& out);
  void OnPeerDown(TimeMs now, NodeId peer, DiscoveryHost& host, DiscoveryOutbox& out);
  TimeMs NextTimerAt() const;

  // This node holds a feed of `author`: publish a record for it (the first feeds_max).
  void HoldsFeed(TimeMs now, const PublicKey& author);
  // Group g has no overlay neighbour: look its carriers up, unless a lookup is in flight or
  // the last one was less than carrier_retry_ms ago.
  void NeedCarriers(TimeMs now, uint32_t g, DiscoveryHost& host, DiscoveryOutbox& out);
  // Looks records of (kind, key) up for a client. 0: too many lookups in flight.
  uint64_t Find(TimeMs now, DhtKind kind, const Hash32& key, DiscoveryHost& host,
                DiscoveryOutbox& out);

  // Floods a query for records of (kind, key) without asking the DHT first: the
  // simulator's flood-only baseline. Its result comes out in finds. 0: no neighbour.
  uint64_t FloodOnly(TimeMs now, DhtKind kind, const Hash32& key, DiscoveryHost& host,
                     DiscoveryOutbox& out);
  // Publishes a record this node signed already (the simulator's shared records), and
  // answers floods with it as with its own. Its result comes out in lookups.
  uint64_t PublishRecord(TimeMs now, DhtRecordRef record, DiscoveryHost& host,
                         DiscoveryOutbox& out);

  const Dht& dht() const { return dht_; }
  // For node lookups the runtime makes itself (their results come out in lookups).
  Dht& dht() { return dht_; }
  const DiscoveryCounters& counters() const { return counters_; }
  bool started() const { return started_; }
  // Whether group g's last carrier lookup found nobody but this node.
  bool lonely(uint32_t g) const { return groups_[g].lonely; }
  size_t feeds() const { return feeds_.size(); }

 private:
  struct GroupState {
    std::string name;
    Hash32 key{};
    uint64_t lookup = 0;  // The carrier lookup in flight (0: none).
    TimeMs looked_at = kNever;
    bool lonely = false;
  };
  struct Due {
    uint8_t kind = 0;
    Hash32 key{};
    bool operator<(const Due& o) const { return kind != o.kind ? kind < o.kind : key < o.key; }
  };
  // A flooded query this node asked, and the lookup result it completes.
  struct Flood {
    DhtLookupResult result;
    TimeMs deadline = 0;
    uint32_t group = UINT32_MAX;  // A carrier lookup's group, else a find.
  };
  // A query this node passed on: whom it came from, until when it is remembered, how many
  // records went back for it.
  struct Seen {
    NodeId from = kNoNode;
    TimeMs until = 0;
    uint32_t records_back = 0;
  };
  // Takes the DHT's finished lookups out of out.dht.done and turns them into results.
  void Collect(TimeMs now, DiscoveryHost& host, DiscoveryOutbox& out);
  // Whether a carrier record is one to join through: another node's, with an address.
  bool Joinable(const DhtRecord& r) const { return r.publisher != self_key_ && !r.address.empty(); }
  // A lookup's result is final: hands it to its carrier lookup or find.
  void Deliver(DhtLookupResult r, uint32_t group, DiscoveryOutbox& out);
  // A lookup found no record: answers it from hints, or floods; false: neither (no
  // neighbour, or floods are off).
  bool Fallback(TimeMs now, DhtLookupResult& r, uint32_t group, DiscoveryHost& host,
                DiscoveryOutbox& out);
  // Floods a query for r's records; r completes when a hit comes or the wait ends.
  void StartFlood(TimeMs now, DhtLookupResult r, uint32_t group, DiscoveryHost& host,
                  DiscoveryOutbox& out);
  void OnFlood(TimeMs now, NodeId from, const DhtFlood& f, DiscoveryHost& host,
               DiscoveryOutbox& out);
  void OnFloodHit(TimeMs now, NodeId from, const DhtFloodHit& h, DiscoveryHost& host,
                  DiscoveryOutbox& out);
  void EndFloods(TimeMs now, DiscoveryOutbox& out);
  // Sends FLOOD to up to flood_fanout neighbours but `except`, chosen by the query id.
  void SendFlood(const DhtFlood& f, NodeId except, DiscoveryHost& host, DiscoveryOutbox& out);
  // The accepted records of (kind, key) this node can give: its own, then those it stores,
  // then (with_hints) hints; at most kDhtRecordsMax.
  std::vector<DhtRecordRef> Known(uint8_t kind, const Hash32& key, bool with_hints,
                                  const DiscoveryHost& host, TimeMs now) const;
  void AddHint(const DhtRecordRef& r);
  void PublishDue(TimeMs now, DiscoveryHost& host, DiscoveryOutbox& out);
  void Schedule(uint8_t kind, const Hash32& key, TimeMs at);
  // Sets first_due_ from due_ (after a publication moved its record's time).
  void FindFirstDue();
  // All records again now (the table doubled).
  void RepublishIfGrown(TimeMs now);

  NodeId self_;
  PublicKey self_key_;
  DiscoveryConfig config_;
  Dht dht_;
  std::vector<GroupState> groups_;
  bool started_ = false;
  bool publish_ = false;
  std::map<Due, TimeMs> due_;       // Each record this node publishes, and when next.
  TimeMs first_due_ = kNever;       // The earliest time in due_: no scan on every call.
  TimeMs next_publication_at_ = 0;  // Pacing.
  size_t contacts_at_round_ = 1;    // The table's size at the last full round.
  std::unordered_set<PublicKey, HashOf32> feeds_;
  std::map<uint64_t, uint32_t> carrier_lookups_;  // Handle -> group.
  std::unordered_set<uint64_t> finds_;            // Handles of clients' finds.
  std::map<Due, DhtRecordRef> own_;               // The last record signed per (kind, key).
  std::map<uint64_t, Flood> floods_;              // By query id.
  std::unordered_map<uint64_t, Seen> seen_;       // Queries passed on, by id.
  std::deque<std::pair<TimeMs, uint64_t>> seen_order_;
  std::map<Due, std::vector<DhtRecordRef>> hints_;
  std::deque<Due> hints_order_;
  size_t hint_count_ = 0;
  uint64_t next_query_ = 1;
  uint64_t next_flood_handle_ = 1;  // FloodOnly's handles: this, with the top bit set.
  DiscoveryCounters counters_;
};

}  // namespace pando::proto
