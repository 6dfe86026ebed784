// The sans-IO Kademlia DHT (proto/dht.h) over a small in-memory network with one-step
// delivery: lookups find the true nearest nodes, records published are found and forged
// ones are not, buckets keep their live contacts and at most two of one address range, a
// silent peer fails its request at the timeout, and answers nobody asked for are ignored.
#include "proto/dht.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <vector>

#include "core/error_codes.h"
#include "testutil/feed.h"

namespace pando::proto {
namespace {

using testing::TestKey;

constexpr int64_t kEpochMs = 1'700'000'000'000;

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

class Host final : public DhtHost {
 public:
  uint64_t PointOf(NodeId node) const override { return Mix(node); }
  uint64_t RangeOf(NodeId node) const override {
    return ranges.contains(node) ? ranges.at(node) : 0;
  }
  int64_t UnixMs(TimeMs now) const override { return kEpochMs + now; }
  std::map<NodeId, uint64_t> ranges;
};

// N nodes; messages are delivered in order, one hop each, at time `now` (instantly); nodes
// in `silent` never answer.
class Net {
 public:
  explicit Net(size_t n, DhtConfig config = {}) {
    for (NodeId id = 0; id < n; ++id) nodes.emplace_back(id, config);
  }
  void Pump(TimeMs now) {
    while (!wire.empty()) {
      auto [from, to, m] = std::move(wire.front());
      wire.pop_front();
      if (silent.contains(to)) continue;
      DhtOutbox out;
      nodes[to].OnMessage(now, from, m, host, out);
      Collect(to, out);
    }
  }
  void Collect(NodeId from, DhtOutbox& out) {
    for (auto& [to, m] : out.sends) wire.emplace_back(from, to, std::move(m));
    for (DhtLookupResult& r : out.done) done[from].push_back(std::move(r));
    acks += out.stored_acks;
  }
  // Every node joins through node 0, one after another.
  void JoinAll(TimeMs now) {
    for (NodeId id = 0; id < nodes.size(); ++id) {
      DhtOutbox out;
      const std::vector<NodeId> contact = id == 0 ? std::vector<NodeId>{} : std::vector<NodeId>{0};
      nodes[id].Start(now, contact, host, out);
      Collect(id, out);
      Pump(now);
    }
    done.clear();  // The joins' own lookups.
  }
  // The true k nearest nodes to a point, `except` left out.
  std::vector<NodeId> Nearest(uint64_t point, size_t k, NodeId except) const {
    std::vector<std::pair<uint64_t, NodeId>> all;
    for (NodeId id = 0; id < nodes.size(); ++id) {
      if (id != except && !silent.contains(id)) all.emplace_back(host.PointOf(id) ^ point, id);
    }
    std::sort(all.begin(), all.end());
    std::vector<NodeId> ids;
    for (size_t i = 0; i < k && i < all.size(); ++i) ids.push_back(all[i].second);
    return ids;
  }

  Host host;
  std::vector<Dht> nodes;
  std::deque<std::tuple<NodeId, NodeId, DhtMessage>> wire;
  std::map<NodeId, std::vector<DhtLookupResult>> done;
  std::set<NodeId> silent;
  uint64_t acks = 0;
};

Hash32 KeyAt(uint64_t seed) {
  Hash32 k{};
  const Hash32 h = Blake2b256(AsBytes(std::to_string(seed)));
  std::copy(h.begin(), h.end(), k.begin());
  return k;
}

TEST(DhtTest, LookupsFindTheTrueNearestNodes) {
  Net net(300);
  net.JoinAll(0);
  for (NodeId id = 0; id < 300; ++id) EXPECT_GT(net.nodes[id].contacts(), 10u) << id;
  for (uint64_t t = 0; t < 20; ++t) {
    const NodeId asker = (t * 37) % 300;
    const Hash32 target = KeyAt(t);
    DhtOutbox out;
    ASSERT_NE(net.nodes[asker].Lookup(1'000, target, 0, net.host, out), 0u);
    net.Collect(asker, out);
    net.Pump(1'000);
    ASSERT_EQ(net.done[asker].size(), 1u) << t;
    const DhtLookupResult r = net.done[asker].back();
    net.done[asker].clear();
    EXPECT_EQ(r.closest, net.Nearest(DhtPoint(target), 20, asker)) << t;
    EXPECT_GT(r.requests, 0u);
  }
}

TEST(DhtTest, APublishedRecordIsFoundAndAForgedOneIsNot) {
  Net net(200);
  net.JoinAll(0);
  const KeyPair key = TestKey(5);
  auto record = std::make_shared<const DhtRecord>(SignDhtRecord(
      DhtKind::kCarriesGroup, DhtGroupKey("blog"), key, "198.51.100.5:7400", kEpochMs, 3'600));
  DhtOutbox out;
  net.nodes[17].Publish(2'000, record, net.host, out);
  net.Collect(17, out);
  net.Pump(2'000);
  ASSERT_EQ(net.done[17].size(), 1u);
  EXPECT_TRUE(net.done[17][0].publish);
  EXPECT_EQ(net.acks, 20u);  // Each of the 20 nearest stored it.
  for (NodeId id : net.Nearest(DhtPoint(record->key), 20, kNoNode)) {
    EXPECT_EQ(net.nodes[id].RecordsOf(1, record->key).size(), 1u) << id;
  }
  // Any node finds it.
  for (NodeId asker : {3, 99, 150}) {
    DhtOutbox o;
    net.nodes[asker].Lookup(3'000, record->key, 1, net.host, o);
    net.Collect(asker, o);
    net.Pump(3'000);
    ASSERT_FALSE(net.done[asker].empty());
    ASSERT_EQ(net.done[asker].back().records.size(), 1u) << asker;
    EXPECT_EQ(net.done[asker].back().records[0]->bytes, record->bytes);
  }
  // A record whose signature is not the publisher's is refused by every holder.
  DhtRecord forged = SignDhtRecord(DhtKind::kCarriesGroup, DhtGroupKey("news"), key,
                                   "198.51.100.5:7400", kEpochMs, 3'600);
  forged.publisher = TestKey(6).public_key();
  forged.bytes = SignDhtRecord(DhtKind::kCarriesGroup, DhtGroupKey("news"), key,
                               "198.51.100.5:7400", kEpochMs, 3'600)
                     .bytes;
  std::copy(forged.publisher.begin(), forged.publisher.end(), forged.bytes.begin() + 34);
  auto bad = std::make_shared<const DhtRecord>(forged);
  const uint64_t acks_before = net.acks;
  DhtOutbox o2;
  net.nodes[17].Publish(4'000, bad, net.host, o2);
  net.Collect(17, o2);
  net.Pump(4'000);
  EXPECT_EQ(net.acks, acks_before);
  for (NodeId id = 0; id < 200; ++id) {
    EXPECT_TRUE(net.nodes[id].RecordsOf(1, bad->key).empty()) << id;
  }
  // An expired record is refused too.
  auto old = std::make_shared<const DhtRecord>(
      SignDhtRecord(DhtKind::kCarriesGroup, DhtGroupKey("old"), key, "198.51.100.5:7400",
                    kEpochMs - 7'200'000, 3'600));
  DhtOutbox o3;
  net.nodes[17].Publish(5'000, old, net.host, o3);
  net.Collect(17, o3);
  net.Pump(5'000);
  EXPECT_EQ(net.acks, acks_before);
}

TEST(DhtTest, ClosestIsTheNearestContactsInXorOrder) {
  Net net(300);
  net.JoinAll(0);
  for (NodeId id : {0, 7, 150, 299}) {
    const Dht& d = net.nodes[id];
    // Every contact, whatever the order; then the 20 nearest by brute force.
    const std::vector<NodeId> all = d.Closest(0, 100'000, kNoNode, net.host);
    ASSERT_EQ(all.size(), d.contacts());
    for (uint64_t t = 0; t < 50; ++t) {
      const uint64_t point = t == 0 ? net.host.PointOf(id) : DhtPoint(KeyAt(t * 31 + id));
      std::vector<std::pair<uint64_t, NodeId>> sorted;
      for (NodeId c : all) sorted.emplace_back(net.host.PointOf(c) ^ point, c);
      std::sort(sorted.begin(), sorted.end());
      std::vector<NodeId> want;
      for (size_t i = 0; i < 20 && i < sorted.size(); ++i) want.push_back(sorted[i].second);
      EXPECT_EQ(d.Closest(point, 20, kNoNode, net.host), want) << id << " " << t;
    }
  }
}

TEST(DhtTest, ASilentPeerFailsAtTheTimeoutAndTheLookupGoesOn) {
  DhtConfig config;
  Net net(120, config);
  net.JoinAll(0);
  // A third of the nodes stop answering.
  for (NodeId id = 1; id < 120; id += 3) net.silent.insert(id);
  const Hash32 target = KeyAt(77);
  DhtOutbox out;
  const uint64_t handle = net.nodes[0].Lookup(10'000, target, 0, net.host, out);
  net.Collect(0, out);
  TimeMs t = 10'000;
  // This lookup's result (a bucket refresh may end lookups of its own meanwhile).
  auto result = [&]() -> const DhtLookupResult* {
    for (const DhtLookupResult& r : net.done[0]) {
      if (r.handle == handle) return &r;
    }
    return nullptr;
  };
  for (int i = 0; i < 50 && result() == nullptr; ++i) {
    net.Pump(t);
    if (result() != nullptr) break;
    t = std::max(t + 1, net.nodes[0].NextTimerAt());
    DhtOutbox o;
    net.nodes[0].OnTimer(t, net.host, o);
    net.Collect(0, o);
  }
  ASSERT_NE(result(), nullptr);
  const DhtLookupResult& r = *result();
  EXPECT_GT(r.failures, 0u);
  EXPECT_GE(r.finished_ms - r.started_ms, config.request_timeout_ms);
  // Every node in the result answered. The other nodes do not know the silent ones are
  // gone, so their answers name silent nodes among their 20 nearest, and live nodes ranked
  // just past them may go unnamed: most of the 20 nearest live nodes are found.
  const std::vector<NodeId> truth = net.Nearest(DhtPoint(target), 20, 0);
  size_t found = 0;
  for (NodeId id : r.closest) {
    EXPECT_FALSE(net.silent.contains(id)) << id;
    found += std::count(truth.begin(), truth.end(), id);
  }
  EXPECT_EQ(r.closest.size(), 20u);
  EXPECT_GE(found, 15u);
}

TEST(DhtTest, BucketsKeepLiveContactsAndTwoOfARange) {
  DhtConfig config;
  config.k = 4;
  Dht d(0, config);
  Host host;
  DhtOutbox out;
  d.Start(0, {}, host, out);
  // Nodes whose points fall in bucket 0 (the top bit differs from node 0's): all in one range.
  std::vector<NodeId> far;
  for (NodeId id = 1; far.size() < 12; ++id) {
    if ((host.PointOf(id) ^ host.PointOf(0)) >> 63) far.push_back(id);
  }
  for (NodeId id : far) host.ranges[id] = 42;
  for (NodeId id : far) d.OnMessage(0, id, DhtStored{999, DhtStoreCode::kStored}, host, out);
  EXPECT_EQ(d.contacts(), 2u);  // Two of range 42.
  // Others of other ranges fill the bucket to k; more are turned away while these live.
  for (size_t i = 0; i < far.size(); ++i) host.ranges[far[i]] = 100 + i;
  for (NodeId id : far) d.OnMessage(0, id, DhtStored{999, DhtStoreCode::kStored}, host, out);
  EXPECT_EQ(d.contacts(), 4u);
  EXPECT_EQ(d.counters().answers_unsolicited, 24u);  // Nobody asked for those STOREDs.
}

TEST(DhtTest, APeerAskingTooOftenIsAnsweredAtItsRateOnly) {
  DhtConfig config;
  Dht d(0, config);
  Host host;
  DhtOutbox out;
  d.Start(0, {}, host, out);
  auto answers = [&](TimeMs now, int finds) {
    out.Clear();
    for (int i = 0; i < finds; ++i) {
      d.OnMessage(now, 7, DhtFind{static_cast<uint32_t>(i), KeyAt(i), 0}, host, out);
    }
    return out.sends.size();
  };
  EXPECT_EQ(answers(1'000, 100), 60u);  // The burst.
  EXPECT_EQ(answers(2'000, 100), 20u);  // A second's worth.
  EXPECT_EQ(d.counters().requests_over_rate, 120u);
  // A STORE over the rate is told so.
  auto record = std::make_shared<const DhtRecord>(
      SignDhtRecord(DhtKind::kHoldsFeed, DhtFeedKey(TestKey(3).public_key()), TestKey(3),
                    "198.51.100.3:7400", kEpochMs, 600));
  out.Clear();
  d.OnMessage(2'000, 7, DhtStore{5, record}, host, out);
  ASSERT_EQ(out.sends.size(), 1u);
  EXPECT_EQ(std::get<DhtStored>(out.sends[0].second).code, DhtStoreCode::kRate);
  // Another peer is not held back by this one.
  out.Clear();
  d.OnMessage(2'000, 8, DhtStore{6, record}, host, out);
  EXPECT_EQ(std::get<DhtStored>(out.sends[0].second).code, DhtStoreCode::kStored);
}

TEST(DhtTest, ANodeThatKnowsKNodesNearerAKeyRefusesItsRecords) {
  Dht d(0, DhtConfig{});
  Host host;
  DhtOutbox out;
  d.Start(0, {}, host, out);
  // Twenty contacts in the half of the ring opposite node 0, where the key lies.
  const uint64_t far_point = host.PointOf(0) ^ (uint64_t{1} << 63);
  int added = 0;
  for (NodeId id = 1; added < 20; ++id) {
    if (((host.PointOf(id) ^ host.PointOf(0)) >> 63) == 0) continue;
    d.OnMessage(0, id, DhtStored{999, DhtStoreCode::kStored}, host, out);
    ++added;
  }
  auto record_at = [](uint64_t point) {
    return std::make_shared<const DhtRecord>(SignDhtRecord(
        DhtKind::kHoldsPiece, DhtKeyAt(point), TestKey(4), "198.51.100.4:7400", kEpochMs, 600));
  };
  out.Clear();
  d.OnMessage(1'000, 1'000'001, DhtStore{1, record_at(far_point)}, host, out);
  EXPECT_EQ(std::get<DhtStored>(out.sends.at(0).second).code, DhtStoreCode::kFar);
  // A key at its own point: nobody is nearer, so it keeps it.
  out.Clear();
  d.OnMessage(1'000, 1'000'001, DhtStore{2, record_at(host.PointOf(0))}, host, out);
  EXPECT_EQ(std::get<DhtStored>(out.sends.at(0).second).code, DhtStoreCode::kStored);
  EXPECT_EQ(d.records(), 1u);
}

}  // namespace
}  // namespace pando::proto
