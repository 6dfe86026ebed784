// Tests of proto/replica.h: Replicas driven by hand over a scripted in-memory wire, with a
// fake store and session table: routing by group, a whole reconciliation and the relay of
// what it found, simultaneous opens, and sessions ending with their neighbour.
#include "proto/replica.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace pando::proto {
namespace {

constexpr uint32_t kEntryBytes = 100;

// Entry k of the tests: its id starts with k, and its timestamp is 1000 + k.
Hash32 EntryId(uint8_t k) {
  Hash32 id{};
  id[0] = k;
  id[31] = 0xee;
  return id;
}

// The runtime's side: a store of ids by group, and a session table, as a network node
// would keep them (the simulator shares one table among all its nodes instead).
class FakeHost final : public ReplicaHost {
 public:
  explicit FakeHost(const ReplicaConfig& config) : config_(config) {}

  const ReplicaConfig& config() const override { return config_; }
  std::optional<uint32_t> EntryBytes(uint32_t group, const Hash32& id) override {
    return Holds(group, id) ? std::optional<uint32_t>(kEntryBytes) : std::nullopt;
  }
  std::vector<ReconItem> Items(uint32_t group) override {
    std::vector<ReconItem> items;
    for (const Hash32& id : store_[group]) items.push_back({1000u + id[0], id});
    return items;
  }
  std::optional<uint32_t> Accept(uint32_t group, const Hash32& id, NodeId from) override {
    if (!store_[group].insert(id).second) return std::nullopt;
    accepted.emplace_back(id, from);
    return kEntryBytes;
  }
  SyncSession* FindSession(NodeId peer, uint32_t group) override {
    auto it = sessions_.find({peer, group});
    return it == sessions_.end() ? nullptr : it->second.get();
  }
  SyncSession& SetSession(NodeId peer, uint32_t group,
                          std::unique_ptr<SyncSession> session) override {
    auto& slot = sessions_[{peer, group}];
    slot = std::move(session);
    return *slot;
  }
  void EraseSession(NodeId peer, uint32_t group) override { sessions_.erase({peer, group}); }

  void Hold(uint32_t group, uint8_t k) { store_[group].insert(EntryId(k)); }
  bool Holds(uint32_t group, const Hash32& id) { return store_[group].count(id) > 0; }
  const std::set<Hash32>& Held(uint32_t group) { return store_[group]; }
  size_t session_count() const { return sessions_.size(); }

  std::vector<std::pair<Hash32, NodeId>> accepted;  // Ids stored on arrival, and whence.

 private:
  ReplicaConfig config_;
  std::map<uint32_t, std::set<Hash32>> store_;
  std::map<std::pair<NodeId, uint32_t>, std::unique_ptr<SyncSession>> sessions_;
};

struct Sent {
  NodeId from, to;
  GroupMessage m;
};

// Replicas joined by a FIFO wire that the test pumps; sends to a node that is not on it are
// kept in `outside`.
class Wire {
 public:
  struct Node {
    Node(NodeId id, const ReplicaConfig& config) : replica(id), host(config) {}
    Replica replica;
    FakeHost host;
    ReplicaCounters counters;
  };

  Node& Add(NodeId id, const ReplicaConfig& config, std::vector<uint32_t> groups) {
    auto node = std::make_unique<Node>(id, config);
    for (uint32_t g : groups) node->replica.AddGroup(g, config, /*membership_seed=*/id * 7 + g);
    return *(nodes_[id] = std::move(node));
  }
  Node& at(NodeId id) { return *nodes_.at(id); }

  void Start(NodeId id, uint32_t group, NodeId contact, uint64_t phase = 0) {
    Node& n = at(id);
    out_.Clear();
    n.replica.Start(now, group, contact, phase, n.host, out_);
    Collect(id);
  }
  void Deliver(NodeId from, NodeId to, const GroupMessage& m) {
    Node& n = at(to);
    out_.Clear();
    n.replica.OnMessage(now, from, m, n.host, out_);
    Collect(to);
  }
  void Timer(NodeId id) {
    Node& n = at(id);
    out_.Clear();
    n.replica.OnTimer(now, n.host, out_);
    Collect(id);
  }
  void PeerDown(NodeId id, NodeId peer) {
    Node& n = at(id);
    out_.Clear();
    n.replica.OnPeerDown(now, peer, n.host, out_);
    Collect(id);
  }
  // Delivers queued messages in order until none is left.
  void Pump() {
    while (!queue_.empty()) {
      Sent s = std::move(queue_.front());
      queue_.pop_front();
      Deliver(s.from, s.to, s.m);
    }
  }
  // Takes the queued messages off the wire without delivering them.
  std::vector<Sent> TakeQueued() {
    std::vector<Sent> taken(std::make_move_iterator(queue_.begin()),
                            std::make_move_iterator(queue_.end()));
    queue_.clear();
    return taken;
  }

  TimeMs now = 0;
  TimeMs last_next_timer_at = kNever;
  std::vector<Sent> log;      // Every message sent, in order.
  std::vector<Sent> outside;  // Messages to nodes not on the wire.

 private:
  void Collect(NodeId from) {
    Node& n = at(from);
    const ReplicaCounters& c = out_.counters;
    n.counters.misrouted += c.misrouted;
    n.counters.gossip_received += c.gossip_received;
    n.counters.sessions_opened += c.sessions_opened;
    n.counters.entries_reconciled += c.entries_reconciled;
    n.counters.decode_errors += c.decode_errors;
    last_next_timer_at = out_.next_timer_at;
    EXPECT_EQ(out_.next_timer_at, n.replica.NextTimerAt());
    for (auto& send : out_.sends) {
      Sent s{from, send.first, std::move(send.second)};
      log.push_back(s);
      if (nodes_.count(s.to) > 0) {
        queue_.push_back(std::move(s));
      } else {
        outside.push_back(std::move(s));
      }
    }
  }

  std::map<NodeId, std::unique_ptr<Node>> nodes_;
  std::deque<Sent> queue_;
  ReplicaOutbox out_;
};

template <typename T>
std::vector<Sent> OfType(const std::vector<Sent>& sent) {
  std::vector<Sent> found;
  for (const Sent& s : sent) {
    if (std::holds_alternative<T>(s.m.body)) found.push_back(s);
  }
  return found;
}

ReplicaConfig OnConnectOnly() {
  ReplicaConfig config;
  config.sync.interval_ms = 0;  // Sessions only as neighbours come up.
  return config;
}

TEST(ReplicaTest, RoutesByGroupAndDropsUncarriedGroups) {
  Wire wire;
  const ReplicaConfig config = OnConnectOnly();
  Wire::Node& a = wire.Add(1, config, {0, 5});
  wire.Add(2, config, {5});
  EXPECT_TRUE(a.replica.Carries(5));
  EXPECT_FALSE(a.replica.Carries(6));
  wire.Start(1, 0, kNoNode);
  wire.Start(1, 5, kNoNode);
  wire.Start(2, 5, /*contact=*/1);  // Node 2 joins group 5's overlay through node 1.
  wire.Pump();
  // Node 1 took node 2 into group 5's view only; every message was tagged with group 5.
  EXPECT_TRUE(a.replica.membership(1).IsActive(2));
  EXPECT_FALSE(a.replica.membership(0).IsActive(2));
  ASSERT_FALSE(wire.log.empty());
  for (const Sent& s : wire.log) EXPECT_EQ(s.m.group, 5u);
  EXPECT_EQ(a.replica.Connections(), std::vector<NodeId>{2});

  // A message of a group node 1 does not carry is dropped and counted, whatever it is.
  const size_t sent_before = wire.log.size();
  wire.Deliver(2, 1, GroupMessage{6, Gossip{EntryId(1), 1, kEntryBytes}});
  wire.Deliver(2, 1, GroupMessage{6, Join{}});
  EXPECT_EQ(a.counters.misrouted, 2u);
  EXPECT_EQ(wire.log.size(), sent_before);
  EXPECT_TRUE(a.host.accepted.empty());
  EXPECT_FALSE(a.replica.membership(0).IsActive(2));

  // The same GOSSIP in group 5 is stored and counted.
  wire.Deliver(2, 1, GroupMessage{5, Gossip{EntryId(1), 1, kEntryBytes}});
  EXPECT_EQ(a.counters.gossip_received, 1u);
  ASSERT_EQ(a.host.accepted.size(), 1u);
  EXPECT_TRUE(a.host.Holds(5, EntryId(1)));
  EXPECT_FALSE(a.host.Holds(0, EntryId(1)));
}

// Node 1 holds entries 1-5 of group 7, node 2 holds 1-2 and a neighbour outside the wire
// (node 3). When 2 joins 1, node 1 (the lower id) opens a session; node 2 ends it with a
// WANT for 3-5, gets them in ENTRIES, stores them and relays them to node 3 through its tree.
TEST(ReplicaTest, ReconciliationFetchesWhatIsMissingAndRelaysIt) {
  Wire wire;
  const ReplicaConfig config = OnConnectOnly();
  Wire::Node& a = wire.Add(1, config, {7});
  Wire::Node& b = wire.Add(2, config, {7});
  for (uint8_t k = 1; k <= 5; ++k) a.host.Hold(7, k);
  for (uint8_t k = 1; k <= 2; ++k) b.host.Hold(7, k);
  wire.Start(1, 7, kNoNode);
  wire.Start(2, 7, kNoNode);
  wire.Deliver(3, 2, GroupMessage{7, Join{}});  // Node 3 joins through node 2.
  EXPECT_TRUE(b.replica.membership(0).IsActive(3));
  ASSERT_EQ(OfType<Reconcile>(wire.outside).size(), 1u);  // 2 < 3: node 2 opened with 3.
  EXPECT_TRUE(b.replica.broadcast(0).IsEager(3));
  wire.outside.clear();

  wire.Start(2, 7, /*contact=*/1);  // Restarting node 2 now joins through node 1.
  wire.Pump();

  std::vector<Sent> opens;
  for (const Sent& s : OfType<Reconcile>(wire.log)) {
    if (s.to != 3) opens.push_back(s);
  }
  ASSERT_FALSE(opens.empty());
  EXPECT_EQ(opens[0].from, 1u);
  EXPECT_TRUE(std::get<Reconcile>(opens[0].m.body).open);
  EXPECT_EQ(a.counters.sessions_opened, 1u);
  EXPECT_EQ(b.counters.sessions_opened, 1u);  // The one with node 3.

  // Node 2 said WANT first, with exactly what it lacked; node 1 answered in turn (nothing).
  const std::vector<Sent> wants = OfType<Want>(wire.log);
  ASSERT_EQ(wants.size(), 2u);
  EXPECT_EQ(wants[0].from, 2u);
  EXPECT_EQ(std::get<Want>(wants[0].m.body).ids,
            (std::vector<Hash32>{EntryId(3), EntryId(4), EntryId(5)}));
  EXPECT_EQ(wants[1].from, 1u);
  EXPECT_TRUE(std::get<Want>(wants[1].m.body).ids.empty());
  const std::vector<Sent> entries = OfType<Entries>(wire.log);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].from, 1u);
  EXPECT_EQ(std::get<Entries>(entries[0].m.body).payload_bytes, 3 * kEntryBytes);

  // Node 2 stored them, counted them as obtained by reconciliation, and pushed each on to
  // its eager neighbour 3, not back to node 1.
  EXPECT_EQ(b.host.Held(7), a.host.Held(7));
  EXPECT_EQ(b.counters.entries_reconciled, 3u);
  EXPECT_EQ(a.counters.entries_reconciled, 0u);
  std::vector<Hash32> relayed;
  for (const Sent& s : OfType<Gossip>(wire.outside)) {
    EXPECT_EQ(s.from, 2u);
    EXPECT_EQ(s.to, 3u);
    EXPECT_EQ(s.m.group, 7u);
    relayed.push_back(std::get<Gossip>(s.m.body).id);
  }
  EXPECT_EQ(relayed, (std::vector<Hash32>{EntryId(3), EntryId(4), EntryId(5)}));
  EXPECT_TRUE(OfType<Gossip>(wire.log).size() == relayed.size());
  // Both sessions between 1 and 2 are over; node 2's with node 3 still waits.
  EXPECT_EQ(a.host.session_count(), 0u);
  EXPECT_EQ(b.host.session_count(), 1u);
  EXPECT_NE(b.host.FindSession(3, 7), nullptr);
}

// Entries younger than settle_ms stay out of a periodic session over an old link: they are
// left to the tree. Node 1 holds entries 1-5 stamped 1,001-1,005 ms; the two nodes have been
// neighbours since 0 ms; at 6,003 ms, with the default 5 s, entries 4 and 5 are too young,
// so node 2 asks only for 3.
TEST(ReplicaTest, YoungEntriesAreLeftToTheBroadcast) {
  Wire wire;
  ReplicaConfig config;
  config.sync.interval_ms = 6'003;
  config.sync.on_connect = false;
  ASSERT_EQ(config.sync.settle_ms, 5'000);
  Wire::Node& a = wire.Add(1, config, {7});
  Wire::Node& b = wire.Add(2, config, {7});
  wire.Start(1, 7, kNoNode);
  wire.Start(2, 7, /*contact=*/1, /*phase=*/0);
  wire.Pump();
  ASSERT_TRUE(b.replica.membership(0).IsActive(1));
  for (uint8_t k = 1; k <= 5; ++k) a.host.Hold(7, k);
  for (uint8_t k = 1; k <= 2; ++k) b.host.Hold(7, k);
  wire.now = 6'003;
  wire.Timer(2);
  wire.Pump();
  const std::vector<Sent> wants = OfType<Want>(wire.log);
  ASSERT_FALSE(wants.empty());
  EXPECT_EQ(wants[0].from, 2u);
  EXPECT_EQ(std::get<Want>(wants[0].m.body).ids, (std::vector<Hash32>{EntryId(3)}));
  EXPECT_TRUE(b.host.Holds(7, EntryId(3)));
  EXPECT_FALSE(b.host.Holds(7, EntryId(4)));
}

// A node that (re)starts was on nobody's broadcast tree while the youngest entries spread:
// its first sessions, over fresh links, reconcile them too, at once, instead of leaving them
// to a periodic session 10 s or more later (a restarted node used to wait 10-13 s for
// entries younger than 5 s).
TEST(ReplicaTest, ANodeThatJustStartedGetsTheYoungestEntriesAtOnce) {
  Wire wire;
  const ReplicaConfig config = OnConnectOnly();
  Wire::Node& a = wire.Add(1, config, {7});
  Wire::Node& b = wire.Add(2, config, {7});
  for (uint8_t k = 1; k <= 5; ++k) a.host.Hold(7, k);
  for (uint8_t k = 1; k <= 2; ++k) b.host.Hold(7, k);
  wire.now = 6'003;
  wire.Start(1, 7, kNoNode);
  wire.Start(2, 7, /*contact=*/1);
  wire.Pump();
  const std::vector<Sent> wants = OfType<Want>(wire.log);
  ASSERT_FALSE(wants.empty());
  EXPECT_EQ(wants[0].from, 2u);
  EXPECT_EQ(std::get<Want>(wants[0].m.body).ids,
            (std::vector<Hash32>{EntryId(3), EntryId(4), EntryId(5)}));
  EXPECT_TRUE(b.host.Holds(7, EntryId(5)));
}

// Both nodes' periodic timers pick each other at the same moment: the session of the lower
// id goes on, and the higher id's gives way and answers it.
TEST(ReplicaTest, SimultaneousOpensLeaveTheLowerIdsSession) {
  Wire wire;
  ReplicaConfig config;
  config.sync.on_connect = false;
  config.sync.interval_ms = 1'000;
  Wire::Node& a = wire.Add(1, config, {7});
  Wire::Node& b = wire.Add(2, config, {7});
  for (uint8_t k = 1; k <= 40; ++k) a.host.Hold(7, k);
  for (uint8_t k = 20; k <= 60; ++k) b.host.Hold(7, k);
  wire.Start(1, 7, kNoNode, /*phase=*/499);
  wire.Start(2, 7, /*contact=*/1, /*phase=*/499);
  wire.Pump();
  ASSERT_TRUE(a.replica.membership(0).IsActive(2));
  ASSERT_TRUE(b.replica.membership(0).IsActive(1));
  EXPECT_TRUE(OfType<Reconcile>(wire.log).empty());

  wire.now = 500;  // Both schedules are due (0 + 1 + 499 % 1000).
  const size_t before = wire.log.size();
  wire.Timer(1);
  wire.Timer(2);
  const std::vector<Sent> queued = wire.TakeQueued();
  const std::vector<Sent> opens = OfType<Reconcile>(queued);
  ASSERT_EQ(opens.size(), 2u);
  EXPECT_TRUE(std::get<Reconcile>(opens[0].m.body).open);
  EXPECT_TRUE(std::get<Reconcile>(opens[1].m.body).open);
  SyncSession* a_session = a.host.FindSession(2, 7);
  ASSERT_NE(a_session, nullptr);

  // Node 2's open reaches node 1 first: node 1 keeps its own session and says nothing.
  auto sync_sent = [&wire] {
    return OfType<Reconcile>(wire.log).size() + OfType<Want>(wire.log).size();
  };
  const size_t sync_after_timers = sync_sent();
  for (const Sent& s : opens) {
    if (s.from == 2) wire.Deliver(s.from, s.to, s.m);
  }
  EXPECT_EQ(sync_sent(), sync_after_timers);
  EXPECT_EQ(a.host.FindSession(2, 7), a_session);
  // Node 1's open reaches node 2, which gives way: it answers as the responder.
  for (const Sent& s : opens) {
    if (s.from == 1) wire.Deliver(s.from, s.to, s.m);
  }
  ASSERT_EQ(sync_sent(), sync_after_timers + 1);
  const std::vector<Sent> reconciles = OfType<Reconcile>(wire.log);
  EXPECT_EQ(reconciles.back().from, 2u);
  EXPECT_FALSE(std::get<Reconcile>(reconciles.back().m.body).open);
  // Anything else the timers sent (a shuffle, say) goes out now too.
  for (const Sent& s : queued) {
    if (!std::holds_alternative<Reconcile>(s.m.body)) wire.Deliver(s.from, s.to, s.m);
  }

  wire.Pump();
  EXPECT_GT(wire.log.size(), before);
  EXPECT_EQ(a.host.Held(7), b.host.Held(7));
  EXPECT_EQ(a.host.Held(7).size(), 60u);
  EXPECT_EQ(a.counters.entries_reconciled, 20u);  // 41-60.
  EXPECT_EQ(b.counters.entries_reconciled, 19u);  // 1-19.
  EXPECT_EQ(a.host.session_count(), 0u);
  EXPECT_EQ(b.host.session_count(), 0u);
}

// A neighbour that goes down takes its sessions with it; a late reply finds none.
TEST(ReplicaTest, NeighbourDownDropsItsSession) {
  Wire wire;
  const ReplicaConfig config = OnConnectOnly();
  Wire::Node& a = wire.Add(1, config, {7, 8});
  Wire::Node& b = wire.Add(2, config, {7, 8});
  a.host.Hold(7, 1);
  b.host.Hold(7, 2);  // So that node 2 answers with a RECONCILE, not yet a WANT.
  wire.Start(1, 7, kNoNode);
  wire.Start(1, 8, kNoNode);
  wire.Start(2, 7, /*contact=*/1);
  wire.Start(2, 8, /*contact=*/1);
  // Deliver the JOINs only: node 1 opens a session with node 2 in each group.
  for (const Sent& s : wire.TakeQueued()) {
    if (std::holds_alternative<Join>(s.m.body)) wire.Deliver(s.from, s.to, s.m);
  }
  std::vector<Sent> opens = OfType<Reconcile>(wire.TakeQueued());
  ASSERT_EQ(opens.size(), 2u);
  ASSERT_NE(a.host.FindSession(2, 7), nullptr);
  ASSERT_NE(a.host.FindSession(2, 8), nullptr);

  // Node 2 answers group 7's open, but node 1 hears that node 2 is down first.
  wire.Deliver(opens[0].from, opens[0].to, opens[0].m);
  std::vector<Sent> replies = wire.TakeQueued();
  ASSERT_EQ(replies.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<Reconcile>(replies[0].m.body));
  wire.PeerDown(1, 2);
  EXPECT_EQ(a.host.FindSession(2, 7), nullptr);
  EXPECT_EQ(a.host.FindSession(2, 8), nullptr);
  EXPECT_FALSE(a.replica.membership(0).IsActive(2));
  const size_t before = wire.log.size();
  wire.Deliver(replies[0].from, replies[0].to, replies[0].m);
  EXPECT_EQ(wire.log.size(), before);  // No session: the reply is ignored.
  EXPECT_EQ(b.counters.decode_errors + a.counters.decode_errors, 0u);

  // A session with a peer outside the overlay (it opened one with node 1 while node 1 was
  // not its neighbour) ends too: no neighbour-down from the membership covers that one.
  ItemSet other({{1000u + 9, EntryId(9)}});
  Session opener(&other);
  wire.Deliver(9, 1, GroupMessage{7, Reconcile{true, opener.Initiate()}});
  ASSERT_NE(a.host.FindSession(9, 7), nullptr);
  ASSERT_TRUE(std::holds_alternative<Reconcile>(wire.outside.back().m.body));
  EXPECT_FALSE(a.replica.membership(0).IsActive(9));
  wire.PeerDown(1, 9);
  EXPECT_EQ(a.host.FindSession(9, 7), nullptr);
}

TEST(ReplicaTest, EncodedSizeCountsTheGroupTag) {
  const GroupMessage m{3, Want{{EntryId(1), EntryId(2)}}};
  EXPECT_EQ(EncodedSize(m), kGroupTagBytes + EncodedSize(Want{{EntryId(1), EntryId(2)}}));
  EXPECT_EQ(EncodedSize(GroupMessage{0, Gossip{EntryId(1), 1, 500}}),
            kGroupTagBytes + EncodedSize(BroadcastMessage(Gossip{EntryId(1), 1, 500})));
}

}  // namespace
}  // namespace pando::proto
