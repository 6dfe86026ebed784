// PeerScores: first deliveries, floods relayed over quota, colocation, decay and verdicts;
// Membership's repair preferring the better of two passive peers; and NodeCore feeding the
// scores from admission.
#include "proto/peer_score.h"

#include <gtest/gtest.h>

#include "proto/node_core.h"
#include "testutil/feed.h"

namespace pando::proto {
namespace {

using testing::FeedBuilder;
using testing::TestKey;

TEST(PeerScoreTest, AddressRangesAreSlash24AndSlash48) {
  EXPECT_EQ(AddressRange("203.0.113.7"), "203.0.113");
  EXPECT_EQ(AddressRange("2001:db8:85a3:8d3:1319:8a2e:370:7348"), "2001:db8:85a3");
  EXPECT_EQ(AddressRange("localhost"), "localhost");
}

TEST(PeerScoreTest, FloodsLowerAScoreUntilThePeerIsPrunedThenGraylisted) {
  PeerScoreConfig c;
  PeerScores s(c);
  s.OnConnected(1, "198.51.100.1");
  s.OnConnected(2, "198.51.101.1");
  for (int i = 0; i < 500; ++i) s.FirstDelivery(1);
  EXPECT_DOUBLE_EQ(s.Score(1), c.first_delivery_cap);  // Credit is capped.
  for (int i = 0; i < 60; ++i) s.OverQuota(2);
  std::vector<PeerVerdict> v;
  s.Review(1'000, v);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].peer, 2u);
  EXPECT_FALSE(v[0].graylisted);
  EXPECT_EQ(v[0].keep_away_ms, c.prune_ms);
  for (int i = 0; i < 200; ++i) s.OverQuota(2);
  v.clear();
  s.Review(2'000, v);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(v[0].graylisted);
  EXPECT_EQ(v[0].keep_away_ms, c.graylist_ms);
  // The good peer's capped credit does not shield it from a later flood either.
  for (int i = 0; i < 160; ++i) s.OverQuota(1);
  v.clear();
  s.Review(3'000, v);
  EXPECT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].peer, 2u);  // Worst first.
}

TEST(PeerScoreTest, ScoresDecaySoAPeerRecovers) {
  PeerScoreConfig c;
  PeerScores s(c);
  s.OnConnected(1, "198.51.100.1");
  for (int i = 0; i < 60; ++i) s.OverQuota(1);
  std::vector<PeerVerdict> v;
  s.Review(1, v);
  EXPECT_EQ(v.size(), 1u);
  // Ten decay periods later: 60 * 0.9^10 = 20.9, above the prune threshold.
  v.clear();
  s.Review(1 + 10 * c.decay_ms, v);
  EXPECT_TRUE(v.empty());
  EXPECT_NEAR(s.Score(1), -60 * std::pow(0.9, 10), 1e-9);
  // A clock far ahead decays everything in one step.
  s.Review(1 + 1'000'000 * c.decay_ms, v);
  EXPECT_NEAR(s.Score(1), 0, 1e-9);
}

TEST(PeerScoreTest, ManyPeersFromOneRangeCountAsFew) {
  PeerScoreConfig c;
  PeerScores s(c);
  for (NodeId id = 1; id <= c.colocation_threshold; ++id)
    s.OnConnected(id, "192.0.2." + std::to_string(id));
  EXPECT_DOUBLE_EQ(s.Score(1), 0);
  s.OnConnected(100, "192.0.2.100");
  s.OnConnected(101, "192.0.2.101");
  s.OnConnected(101, "192.0.2.101");  // Counted once.
  EXPECT_DOUBLE_EQ(s.Score(1), -c.colocation_weight * 4);
  s.OnConnected(200, "198.51.100.1");
  EXPECT_DOUBLE_EQ(s.Score(200), 0);  // Another range.
  for (NodeId id = 102; id < 110; ++id) s.OnConnected(id, "192.0.2.1");
  std::vector<PeerVerdict> v;
  s.Review(1, v);
  EXPECT_EQ(v.size(), c.colocation_threshold + 10);  // Every peer of the crowded range.
  // A devnet's nodes on this machine are no crowd.
  for (NodeId id = 300; id < 340; ++id) s.OnConnected(id, "127.0.0.1");
  EXPECT_DOUBLE_EQ(s.Score(300), 0);
  for (NodeId id = 300; id < 340; ++id) s.OnGone(id);
  s.OnGone(101);
  s.OnGone(101);
  EXPECT_EQ(s.size(), 1u + c.colocation_threshold + 9);
}

TEST(PeerScoreTest, UnknownPeersScoreZeroAndBetterPrefersTheHigher) {
  PeerScores s(PeerScoreConfig{});
  s.OnConnected(1, "198.51.100.1");
  s.OnConnected(2, "198.51.101.1");
  s.FirstDelivery(2);
  EXPECT_EQ(s.Better(1, 2), 2u);
  EXPECT_EQ(s.Better(2, 1), 2u);
  EXPECT_EQ(s.Better(7, 8), 7u);
  s.OverQuota(9);  // Not connected: nothing is kept.
  EXPECT_EQ(s.size(), 2u);
}

// A preference that always wants one peer.
class Wants final : public PeerPreference {
 public:
  explicit Wants(NodeId id) : id_(id) {}
  NodeId Better(NodeId a, NodeId b) const override { return b == id_ ? b : a; }

 private:
  NodeId id_;
};

TEST(PeerScoreTest, RepairAsksTheBetterOfTwoPassivePeers) {
  // Over many seeds, a node whose active view lost its neighbours repairs from its passive
  // view; with the preference the wanted peer is asked far more often than 1 time in n.
  int wanted_first = 0;
  const int runs = 200;
  for (int seed = 0; seed < runs; ++seed) {
    Membership m(1, MembershipConfig{}, seed);
    MembershipOutbox out;
    m.Start(0, kNoNode, out);
    // Ten passive peers arrive in a shuffle reply, then a neighbour request is due.
    ShuffleReply reply;
    for (NodeId id = 10; id < 20; ++id) reply.nodes.push_back(id);
    out.Clear();
    Wants w(13);
    m.SetPreference(&w);
    m.OnMessage(0, 10, reply, out);
    out.Clear();
    m.OnTimer(10'000, out);
    for (const auto& [to, msg] : out.sends) {
      if (std::holds_alternative<Neighbor>(msg)) {
        wanted_first += to == 13 ? 1 : 0;
        break;
      }
    }
  }
  // Two draws: P = 1 - 0.9^2 = 0.19 against 0.1 with one.
  EXPECT_GT(wanted_first, runs * 14 / 100);
}

class EmptyHost final : public NodeCoreHost {
 public:
  Result<std::optional<FeedHead>> StoredHead(const PublicKey&, uint32_t) override {
    return std::optional<FeedHead>();
  }
  Status Verify(const Entry& e) override { return VerifyEntrySignature(e); }
};

TEST(PeerScoreTest, NodeCoreScoresFirstDeliveriesAndPushedFloodsNotAnswers) {
  constexpr TimeMs kNow = 1'700'000'100'000;
  NodeLimits limits;
  limits.quota.young_entries_burst = 2;
  EmptyHost host;
  NodeCore core(1, {"catalog", "blog"}, ReplicaConfig{}, limits, 7);
  NodeOutbox out;
  core.Start(kNow, kNoNode, host, out);
  core.scores().OnConnected(77, "198.51.100.1");
  core.scores().OnConnected(78, "198.51.101.1");
  FeedBuilder f(TestKey(1), "blog", kNow - 1'000);
  const std::vector<Entry> es = f.Take(6);
  auto push = [&](NodeId from, size_t i, bool broadcast) {
    ArrivingEntry a{&es[i], false};
    out.Clear();
    if (broadcast) {
      core.OnMessage(kNow, from, GroupMessage{1, Gossip{es[i].id(), 0, 0}}, std::span(&a, 1), true,
                     host, out);
    } else {
      core.OnMessage(kNow, from, GroupMessage{1, proto::Entries{{es[i].id()}}}, std::span(&a, 1),
                     false, host, out);
    }
  };
  push(77, 0, true);
  push(77, 1, true);
  EXPECT_DOUBLE_EQ(core.scores().Score(77), 2);
  push(77, 2, true);  // Over quota, pushed.
  EXPECT_DOUBLE_EQ(core.scores().Score(77), 1);
  push(78, 2, false);  // Over quota, but an answer to this node's own request.
  EXPECT_DOUBLE_EQ(core.scores().Score(78), 0);
}

}  // namespace
}  // namespace pando::proto
