// Discovery (proto/discovery.h) over an in-memory network with one-step delivery: nodes
// publish records of the groups they carry and the feeds they hold, a group with no
// neighbour finds its carriers (never itself), a group nobody else carries says so and is
// looked up again only after carrier_retry_ms, finds answer clients, publications are paced,
// and a node that started alone publishes again once its routing table has grown.
#include "proto/discovery.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "testutil/feed.h"

namespace pando::proto {
namespace {

using testing::TestKey;

constexpr int64_t kEpochMs = 1'700'000'000'000;

class Host final : public DiscoveryHost {
 public:
  uint64_t PointOf(NodeId node) const override {
    uint64_t x = node + 0x9e3779b97f4a7c15ULL;  // splitmix64: points spread over the ring.
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }
  int64_t UnixMs(TimeMs now) const override { return kEpochMs + now; }
  DhtRecordRef SignRecord(DhtKind kind, const Hash32& key, int64_t issued_ms,
                          uint32_t ttl_s) override {
    ++signed_;
    return std::make_shared<const DhtRecord>(
        SignDhtRecord(kind, key, TestKey(static_cast<uint8_t>(signer + 1)),
                      "10.0.0." + std::to_string(signer + 1) + ":7000", issued_ms, ttl_s));
  }
  std::vector<NodeId> Neighbours() const override {
    auto it = links.find(signer);
    return it == links.end() ? std::vector<NodeId>{} : it->second;
  }
  NodeId signer = 0;  // The node calling: its key signs, its links are its neighbours.
  std::map<NodeId, std::vector<NodeId>> links;
  int signed_ = 0;
};

// Node i carries groups[i]; its key is TestKey(i + 1).
class Net {
 public:
  explicit Net(std::vector<std::vector<std::string>> groups, DiscoveryConfig config = {}) {
    for (size_t i = 0; i < groups.size(); ++i) {
      nodes.push_back(std::make_unique<Discovery>(
          i, TestKey(static_cast<uint8_t>(i + 1)).public_key(), groups[i], config));
    }
    outs.resize(groups.size());
  }
  DiscoveryOutbox& Out(NodeId id) {
    host.signer = id;
    return outs[id];
  }
  void Collect(NodeId from) {
    DiscoveryOutbox& out = outs[from];
    for (auto& [to, m] : out.dht.sends) wire.emplace_back(from, to, std::move(m));
    out.dht.sends.clear();
  }
  void Pump(TimeMs now) {
    while (!wire.empty()) {
      auto [from, to, m] = std::move(wire.front());
      wire.pop_front();
      if (hide_records && std::holds_alternative<DhtStore>(m)) continue;
      if (auto* f = std::get_if<DhtFound>(&m); f && hide_records) f->records.clear();
      if (std::holds_alternative<DhtFlood>(m)) ++floods_carried;
      nodes[to]->OnMessage(now, from, m, host, Out(to));
      Collect(to);
    }
  }
  // Node 0 starts alone; the others through node 0, one after another.
  void StartAll(TimeMs now) {
    for (NodeId id = 0; id < nodes.size(); ++id) {
      const std::vector<NodeId> contact = id == 0 ? std::vector<NodeId>{} : std::vector<NodeId>{0};
      nodes[id]->Start(now, contact, true, host, Out(id));
      Collect(id);
      Pump(now);
    }
  }
  // Node `id` acts at `now` (its outbox emptied first), and the network carries it out;
  // returns the node's outbox.
  DiscoveryOutbox& Act(NodeId id, TimeMs now,
                       const std::function<void(Discovery&, DiscoveryOutbox&)>& act) {
    DiscoveryOutbox& out = Out(id);
    out.Clear();
    act(*nodes[id], out);
    Collect(id);
    Pump(now);
    return out;
  }
  // Runs every node's timer up to `until`, a step at a time.
  void RunUntil(TimeMs from, TimeMs until, TimeMs step = 50) {
    for (TimeMs t = from; t <= until; t += step) {
      for (NodeId id = 0; id < nodes.size(); ++id) {
        if (nodes[id]->NextTimerAt() <= t) {
          nodes[id]->OnTimer(t, host, Out(id));
          Collect(id);
        }
      }
      Pump(t);
    }
  }

  Host host;
  std::vector<std::unique_ptr<Discovery>> nodes;
  std::vector<DiscoveryOutbox> outs;
  std::deque<std::tuple<NodeId, NodeId, DhtMessage>> wire;
  // STOREs are lost and FOUND answers lose their records (hostile nodes hide them).
  bool hide_records = false;
  size_t floods_carried = 0;
};

TEST(DiscoveryTest, AGroupWithNoNeighbourFindsItsCarriersNeverItself) {
  // Nodes 1..3 carry "blog"; node 4 carries "blog" too and joins through node 0, which
  // carries "other" only.
  Net net({{"other"}, {"blog"}, {"blog"}, {"blog"}, {"blog"}});
  net.StartAll(0);
  net.RunUntil(0, 5'000);
  DiscoveryOutbox& out = net.Act(
      4, 5'000, [&](Discovery& d, DiscoveryOutbox& o) { d.NeedCarriers(5'000, 0, net.host, o); });
  ASSERT_EQ(out.joins.size(), 2u);  // joins_per_lookup.
  for (const auto& [g, record] : out.joins) {
    EXPECT_EQ(g, 0u);
    EXPECT_EQ(record->kind, DhtKind::kCarriesGroup);
    EXPECT_EQ(record->key, DhtGroupKey("blog"));
    EXPECT_NE(record->publisher, TestKey(5).public_key());  // Not node 4 itself.
    EXPECT_NE(record->publisher, TestKey(1).public_key());  // Node 0 does not carry it.
  }
  EXPECT_TRUE(out.no_carrier.empty());
  EXPECT_FALSE(net.nodes[4]->lonely(0));
  EXPECT_EQ(net.nodes[4]->counters().carriers_found, 1u);
}

TEST(DiscoveryTest, AGroupNobodyElseCarriesSaysSoAndIsLookedUpAgainOnlyAfterTheRetryTime) {
  DiscoveryConfig config;
  config.carrier_retry_ms = 3'000;
  Net net({{"other"}, {"alone"}, {"other"}}, config);
  net.StartAll(0);
  net.RunUntil(0, 2'000);
  DiscoveryOutbox& out = net.Act(
      1, 2'000, [&](Discovery& d, DiscoveryOutbox& o) { d.NeedCarriers(2'000, 0, net.host, o); });
  EXPECT_TRUE(out.joins.empty());
  EXPECT_EQ(out.no_carrier, std::vector<uint32_t>{0});
  EXPECT_TRUE(net.nodes[1]->lonely(0));
  // Asked again at once: no new lookup until carrier_retry_ms has passed.
  out.Clear();
  net.nodes[1]->NeedCarriers(2'500, 0, net.host, out);
  EXPECT_TRUE(out.dht.sends.empty());
  EXPECT_EQ(net.nodes[1]->counters().carrier_lookups, 1u);
  net.nodes[1]->NeedCarriers(5'000, 0, net.host, out);
  EXPECT_EQ(net.nodes[1]->counters().carrier_lookups, 2u);
}

TEST(DiscoveryTest, FindsAnswerWhoHoldsAFeed) {
  Net net({{"g"}, {"g"}, {"g"}, {"g"}});
  const PublicKey author = TestKey(40).public_key();
  net.nodes[2]->HoldsFeed(0, author);  // Before Start: published once started.
  net.StartAll(0);
  net.RunUntil(0, 5'000);
  DiscoveryOutbox& out = net.Out(0);
  out.Clear();
  const uint64_t h =
      net.nodes[0]->Find(5'000, DhtKind::kHoldsFeed, DhtFeedKey(author), net.host, out);
  ASSERT_NE(h, 0u);
  net.Collect(0);
  net.Pump(5'000);
  ASSERT_EQ(out.finds.size(), 1u);
  EXPECT_EQ(out.finds[0].handle, h);
  ASSERT_EQ(out.finds[0].records.size(), 1u);
  EXPECT_EQ(out.finds[0].records[0]->publisher, TestKey(3).public_key());
  EXPECT_EQ(out.finds[0].records[0]->address, "10.0.0.3:7000");
  // A feed nobody holds: the lookup ends with no record.
  net.Act(0, 5'000, [&](Discovery& d, DiscoveryOutbox& o) {
    d.Find(5'000, DhtKind::kHoldsFeed, DhtFeedKey(TestKey(41).public_key()), net.host, o);
  });
  ASSERT_EQ(out.finds.size(), 1u);
  EXPECT_TRUE(out.finds[0].records.empty());
}

TEST(DiscoveryTest, PublicationsArePacedAndRepeatedEveryHalfTtl) {
  DiscoveryConfig config;
  config.publications_per_s = 2;
  config.record_ttl_s = 120;
  Net net({{"a", "b", "c", "d"}}, config);
  net.StartAll(0);
  EXPECT_EQ(net.nodes[0]->counters().publications, 1u);  // Paced: one now, one per 500 ms.
  net.RunUntil(0, 1'400);
  EXPECT_EQ(net.nodes[0]->counters().publications, 3u);
  net.RunUntil(1'450, 2'000);
  EXPECT_EQ(net.nodes[0]->counters().publications, 4u);
  net.RunUntil(2'050, 59'000, 500);
  EXPECT_EQ(net.nodes[0]->counters().publications, 4u);  // Nothing more is due yet.
  net.RunUntil(59'500, 63'000, 500);
  EXPECT_EQ(net.nodes[0]->counters().publications, 8u);  // Again after ttl / 2.
}

TEST(DiscoveryTest, ANodeThatStartedAlonePublishesAgainOnceItsTableHasGrown) {
  Net net({{"a"}, {"x"}, {"x"}, {"x"}, {"x"}, {"x"}});
  net.StartAll(0);  // Node 0 alone first: its record stays with itself.
  const uint64_t before = net.nodes[0]->counters().publications;
  EXPECT_EQ(before, 1u);
  net.RunUntil(0, 3'000);
  EXPECT_GT(net.nodes[0]->counters().publications, before);
  // Its record is held by other nodes now, not only by node 0.
  size_t holders = 0;
  for (NodeId id = 1; id < net.nodes.size(); ++id) {
    holders += net.nodes[id]->dht().RecordsOf(1, DhtGroupKey("a")).size();
  }
  EXPECT_GE(holders, 3u);
}

// Nodes 0..7 in a line of overlay links (0-1-2-...-7), a chord 2-5 making a cycle; node 7
// carries "far"; the DHT loses every STORE and hides every record in its answers.
Net LineWithHiddenRecords(DiscoveryConfig config) {
  std::vector<std::vector<std::string>> groups(8, std::vector<std::string>{"near"});
  groups[7] = {"far"};
  Net net(groups, config);
  for (NodeId i = 0; i + 1 < 8; ++i) {
    net.host.links[i].push_back(i + 1);
    net.host.links[i + 1].push_back(i);
  }
  net.host.links[2].push_back(5);
  net.host.links[5].push_back(2);
  net.hide_records = true;
  return net;
}

TEST(DiscoveryTest, WhenTheDhtFindsNothingAFloodedQueryFindsTheCarrierWithinItsHops) {
  DiscoveryConfig config;
  config.flood_hops = 8;
  config.flood_fanout = 4;
  config.carrier_retry_ms = 1'000;
  Net net = LineWithHiddenRecords(config);
  net.StartAll(0);
  net.RunUntil(0, 3'000);
  // Node 0 asks who carries "far": the DHT hides node 7's record, the flood reaches node 7
  // (0-1-2-5-6-7), whose hit comes back along the path.
  Net& n = net;
  DiscoveryOutbox& out = n.Act(0, 3'000, [&](Discovery& d, DiscoveryOutbox& o) {
    d.Find(3'000, DhtKind::kCarriesGroup, DhtGroupKey("far"), n.host, o);
  });
  n.RunUntil(3'050, 5'000);
  ASSERT_EQ(out.finds.size(), 1u);
  const DhtLookupResult& r = out.finds[0];
  EXPECT_EQ(r.source, DhtLookupResult::Source::kFlood);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0]->publisher, TestKey(8).public_key());
  EXPECT_EQ(r.flood_messages, 1u);  // Node 0 has one link.
  EXPECT_EQ(n.nodes[0]->counters().floods_found, 1u);
  // Every node passed the query on at most once: the cycle 2-3-4-5 brought it twice to some.
  uint64_t dropped = 0;
  for (const auto& d : n.nodes) dropped += d->counters().flood_dropped;
  EXPECT_GT(dropped, 0u);
  EXPECT_LE(n.floods_carried, 2u * 8u);
  // Asked again, the hint answers without a flood.
  const size_t carried = n.floods_carried;
  DiscoveryOutbox& again = n.Act(0, 5'000, [&](Discovery& d, DiscoveryOutbox& o) {
    d.Find(5'000, DhtKind::kCarriesGroup, DhtGroupKey("far"), n.host, o);
  });
  n.RunUntil(5'050, 6'000);
  ASSERT_EQ(again.finds.size(), 1u);
  EXPECT_EQ(again.finds[0].source, DhtLookupResult::Source::kHint);
  ASSERT_EQ(again.finds[0].records.size(), 1u);
  EXPECT_EQ(n.floods_carried, carried);
  EXPECT_EQ(n.nodes[0]->counters().hint_answers, 1u);
}

TEST(DiscoveryTest, AFloodedQueryStopsAtItsHopLimit) {
  DiscoveryConfig config;
  config.flood_hops = 3;  // 0-1-2-(3|5): node 7 is out of reach.
  Net net = LineWithHiddenRecords(config);
  net.StartAll(0);
  net.RunUntil(0, 3'000);
  DiscoveryOutbox& out = net.Act(0, 3'000, [&](Discovery& d, DiscoveryOutbox& o) {
    d.Find(3'000, DhtKind::kCarriesGroup, DhtGroupKey("far"), net.host, o);
  });
  net.RunUntil(3'050, 5'000);
  ASSERT_EQ(out.finds.size(), 1u);
  EXPECT_TRUE(out.finds[0].records.empty());
  EXPECT_EQ(out.finds[0].source, DhtLookupResult::Source::kFlood);
  EXPECT_EQ(net.nodes[0]->counters().floods, 1u);
  EXPECT_EQ(net.nodes[0]->counters().floods_found, 0u);
  EXPECT_EQ(net.floods_carried, 4u);  // 0->1, 1->2, 2->3 and 2->5.
}

}  // namespace
}  // namespace pando::proto
