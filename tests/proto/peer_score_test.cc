// PeerScores: first deliveries, floods relayed over quota, broken promises, colocation,
// decay and verdicts; Membership's repair preferring the better of two passive peers and
// dropping the worst neighbour for a newcomer; and NodeCore feeding the scores from
// admission and from the GRAFTs it sends.
#include "proto/peer_score.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <vector>

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
  c.tenure_weight = 0;
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

TEST(PeerScoreTest, RelayedEntriesOverQuotaCostOnlyBeyondWhatARelayMayPass) {
  PeerScoreConfig c;
  PeerScores s(c);
  s.OnConnected(1, "198.51.100.1");
  // A quota of 1 a second, a burst of 2: an allowance of twice that per (peer, feed).
  ASSERT_DOUBLE_EQ(c.relay_allowance, 2);
  for (int i = 0; i < 4; ++i) s.RelayedOverQuota(1, 7, 1, 2, 0);
  s.RelayedOverQuota(1, 8, 1, 2, 0);  // Another feed has its own.
  EXPECT_DOUBLE_EQ(s.Score(1), 0);
  for (int i = 0; i < 10; ++i) s.RelayedOverQuota(1, 7, 1, 2, 0);
  EXPECT_DOUBLE_EQ(s.Score(1), -10);
  s.RelayedOverQuota(1, 7, 1, 2, 500);  // Refilled by one in 500 ms.
  EXPECT_DOUBLE_EQ(s.Score(1), -10);
  s.RelayedOverQuota(2, 7, 2, 4, 0);  // Not connected: nothing is kept.
  EXPECT_EQ(s.size(), 1u);
}

TEST(PeerScoreTest, AnAnnouncedEntryNotSentWhenAskedIsABrokenPromise) {
  PeerScoreConfig c;
  c.tenure_weight = 0;
  PeerScores s(c);
  s.OnConnected(1, "198.51.100.1");
  s.OnConnected(2, "198.51.101.1");
  const Hash32 a = Blake2b256(AsBytes("a")), b = Blake2b256(AsBytes("b"));
  s.Promised(1, a, 0);
  s.Promised(1, b, 0);
  s.Promised(2, a, 0);
  s.Promised(9, a, 0);  // Not connected: not tracked.
  EXPECT_EQ(s.open_promises(), 3u);
  s.Arrived(1, std::span(&a, 1), false);  // Peer 1 sent a (a late answer counts too).
  s.Arrived(1, std::span(&a, 1), false);
  std::vector<PeerVerdict> v;
  s.Review(c.promise_ms - 1, v);
  EXPECT_EQ(s.open_promises(), 2u);  // Not due yet.
  EXPECT_DOUBLE_EQ(s.Score(1), 0);
  s.Review(c.promise_ms, v);
  EXPECT_EQ(s.open_promises(), 0u);
  EXPECT_DOUBLE_EQ(s.Score(1), -c.broken_promise_weight);  // b.
  EXPECT_DOUBLE_EQ(s.Score(2), -c.broken_promise_weight);  // a: another peer's copy is no help.
  // A peer that leaves takes its open promises with it: leaving is not breaking them.
  s.Promised(2, b, 10'000);
  s.OnGone(2);
  EXPECT_EQ(s.open_promises(), 0u);
  // Ten broken promises prune a peer.
  for (int i = 0; i < 10; ++i) s.Promised(1, Blake2b256(AsBytes(std::to_string(i))), 20'000);
  v.clear();
  s.Review(20'000 + c.promise_ms, v);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].peer, 1u);
}

TEST(PeerScoreTest, OfferedEntriesNotAnsweredWhenWantedAreABrokenPromise) {
  PeerScoreConfig c;
  PeerScores s(c);
  s.OnConnected(1, "198.51.100.1");
  s.OnConnected(2, "198.51.101.1");
  // Each was asked (WANT); a second WANT while one is open owes no second answer.
  s.Asked(1, 0);
  s.Asked(1, 100);
  s.Asked(2, 0);
  EXPECT_EQ(s.open_promises(), 2u);
  // Peer 3 was asked for 25 entries: left unanswered, that weighs want_counts_max promises.
  s.OnConnected(3, "198.51.102.1");
  s.Asked(3, 0, 25);
  // Peer 1 answers with ENTRIES (any of them: a long answer streams); peer 2 only pushes a
  // GOSSIP, which is no answer.
  const Hash32 x = Blake2b256(AsBytes("x"));
  s.Arrived(1, std::span(&x, 1), true);
  s.Arrived(2, std::span(&x, 1), false);
  std::vector<PeerVerdict> v;
  s.Review(c.answer_ms, v);
  EXPECT_DOUBLE_EQ(s.Score(1), 0);
  EXPECT_DOUBLE_EQ(s.Score(2), -c.broken_promise_weight);
  EXPECT_DOUBLE_EQ(s.Score(3), -c.broken_promise_weight * c.want_counts_max);
  EXPECT_EQ(s.open_promises(), 0u);
}

TEST(PeerScoreTest, TenureKeepsALongStandingNeighbourAboveNewcomers) {
  PeerScoreConfig c;
  PeerScores s(c);
  std::vector<PeerVerdict> v;
  s.OnConnected(1, "198.51.100.1");
  s.Review(1'000, v);  // Its tenure starts at the first review that sees it.
  s.OnConnected(2, "198.51.101.1");
  s.Review(31'000, v);
  EXPECT_NEAR(s.Score(1), 30 * c.tenure_weight, 1e-9);
  EXPECT_DOUBLE_EQ(s.Score(2), 0);
  EXPECT_EQ(s.Better(2, 1), 1u);
  // Capped: a newcomer catches up after tenure_cap_ms, and deliveries decide again.
  s.Review(1'000 + 10 * c.tenure_cap_ms, v);
  EXPECT_NEAR(s.Score(1), c.tenure_weight * static_cast<double>(c.tenure_cap_ms) / 1000, 1e-9);
  EXPECT_NEAR(s.Score(2), s.Score(1), 1e-9);
  // Reconnecting starts over.
  s.OnGone(1);
  s.OnConnected(1, "198.51.100.1");
  s.Review(2'000 + 10 * c.tenure_cap_ms, v);
  EXPECT_DOUBLE_EQ(s.Score(1), 0);
  EXPECT_TRUE(v.empty());
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

// A preference by a fixed score per peer.
class Scores final : public PeerPreference {
 public:
  explicit Scores(std::map<NodeId, int> scores) : scores_(std::move(scores)) {}
  NodeId Better(NodeId a, NodeId b) const override { return Of(b) > Of(a) ? b : a; }

 private:
  int Of(NodeId id) const {
    auto it = scores_.find(id);
    return it == scores_.end() ? 0 : it->second;
  }
  std::map<NodeId, int> scores_;
};

// Poor below -5; otherwise as Scores.
class PoorBelow final : public PeerPreference {
 public:
  explicit PoorBelow(std::map<NodeId, int> scores) : scores_(std::move(scores)) {}
  NodeId Better(NodeId a, NodeId b) const override { return Of(b) > Of(a) ? b : a; }
  bool Poor(NodeId id) const override { return Of(id) < -5; }

 private:
  int Of(NodeId id) const {
    auto it = scores_.find(id);
    return it == scores_.end() ? 0 : it->second;
  }
  std::map<NodeId, int> scores_;
};

TEST(PeerScoreTest, APoorNeighbourIsReplacedOneAShuffleIntervalWhileThereIsAPassivePeer) {
  MembershipConfig config;
  config.active_max = 5;
  Membership m(1, config, 3);
  MembershipOutbox out;
  m.Start(0, kNoNode, out);
  PoorBelow prefer({{10, -20}, {11, -8}, {12, 3}, {13, -1}});
  m.SetPreference(&prefer);
  for (NodeId id = 10; id < 15; ++id) m.OnMessage(0, id, Join{}, out);
  // No passive peer yet: nobody is dropped, however poor.
  out.Clear();
  m.OnTimer(config.shuffle_interval_ms, out);
  EXPECT_TRUE(m.IsActive(10));
  ShuffleReply reply;
  for (NodeId id = 20; id < 30; ++id) reply.nodes.push_back(id);
  m.OnMessage(config.shuffle_interval_ms, 12, reply, out);
  // The poorest goes (DISCONNECT) and a passive peer is asked at once, who accepts; one
  // per interval.
  auto step = [&](TimeMs t) {
    out.Clear();
    m.OnTimer(t, out);
    std::vector<NodeId> disconnected, asked;
    for (const auto& [to, msg] : out.sends) {
      if (std::holds_alternative<Disconnect>(msg)) disconnected.push_back(to);
      if (std::holds_alternative<Neighbor>(msg)) asked.push_back(to);
    }
    EXPECT_EQ(asked.size(), disconnected.size());
    for (NodeId a : asked) m.OnMessage(t, a, NeighborReply{.accepted = true}, out);
    return disconnected;
  };
  EXPECT_EQ(step(2 * config.shuffle_interval_ms), std::vector<NodeId>{10});
  EXPECT_FALSE(m.IsActive(10));
  EXPECT_EQ(std::count(m.passive().begin(), m.passive().end(), NodeId{10}), 0);  // Not kept.
  EXPECT_EQ(step(3 * config.shuffle_interval_ms), std::vector<NodeId>{11});
  EXPECT_EQ(m.active().size(), 5u);
  // -1 is not poor: 12, 13 and 14 stay.
  out.Clear();
  m.OnTimer(4 * config.shuffle_interval_ms, out);
  for (NodeId id : {12, 13, 14}) EXPECT_TRUE(m.IsActive(id)) << id;
}

TEST(PeerScoreTest, NewcomersPushingInDropTheWorstNeighbourNotAGoodOne) {
  // A full active view of peers 10..14, of which 10..13 serve the node well; every JOIN and
  // high-priority NEIGHBOR makes room by dropping the worst one (14, then each newcomer in
  // turn), over any seed, so a crowd of newcomers never displaces the good neighbours.
  for (uint64_t seed = 0; seed < 50; ++seed) {
    MembershipConfig config;
    config.active_max = 5;
    Membership m(1, config, seed);
    MembershipOutbox out;
    m.Start(0, kNoNode, out);
    Scores prefer({{10, 5}, {11, 5}, {12, 3}, {13, 1}});
    m.SetPreference(&prefer);
    for (NodeId id = 10; id < 15; ++id) m.OnMessage(0, id, Join{}, out);
    for (NodeId id = 100; id < 140; ++id) {
      out.Clear();
      if (id % 2 == 0) {
        m.OnMessage(1, id, Join{}, out);
      } else {
        m.OnMessage(1, id, Neighbor{.high_priority = true}, out);
      }
    }
    for (NodeId good : {10, 11, 12, 13}) EXPECT_TRUE(m.IsActive(good)) << seed << " " << good;
    EXPECT_TRUE(m.IsActive(139));
  }
}

TEST(PeerScoreTest, ANodeAmongPoorNeighboursRepairsWithHighPriority) {
  // Three neighbours and room for two more: a repair asks at low priority (a full peer may
  // refuse) unless fewer than active_min of the three serve.
  for (bool poor : {false, true}) {
    MembershipConfig config;
    config.active_max = 5;
    Membership m(1, config, 5);
    MembershipOutbox out;
    m.Start(0, kNoNode, out);
    PoorBelow prefer(poor ? std::map<NodeId, int>{{10, -20}, {11, -20}, {12, 1}}
                          : std::map<NodeId, int>{{10, 1}, {11, 1}, {12, 1}});
    m.SetPreference(&prefer);
    for (NodeId id = 10; id < 13; ++id) m.OnMessage(0, id, Join{}, out);
    ShuffleReply reply;
    for (NodeId id = 20; id < 30; ++id) reply.nodes.push_back(id);
    m.OnMessage(0, 12, reply, out);
    out.Clear();
    m.OnTimer(config.neighbor_retry_ms, out);
    int asked = 0;
    for (const auto& [to, msg] : out.sends) {
      if (const auto* n = std::get_if<Neighbor>(&msg)) {
        ++asked;
        EXPECT_EQ(n->high_priority, poor) << to;
      }
    }
    EXPECT_EQ(asked, 1) << poor;
  }
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
  const std::vector<Entry> es = f.Take(8);
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
  // Over quota, pushed: twice what a relay's own quota lets it pass (a burst of 2) is
  // forgiven, since nodes' buckets disagree on which entries fit; beyond, each costs.
  for (size_t i = 2; i < 6; ++i) push(77, i, true);
  EXPECT_DOUBLE_EQ(core.scores().Score(77), 2);
  push(77, 6, true);
  push(77, 7, true);
  EXPECT_DOUBLE_EQ(core.scores().Score(77), 0);
  push(78, 2, false);  // Over quota, but an answer to this node's own request.
  EXPECT_DOUBLE_EQ(core.scores().Score(78), 0);
}

TEST(PeerScoreTest, NodeCoreHoldsAnAnnouncerToTheEntryItWasAskedFor) {
  constexpr TimeMs kNow = 1'700'000'100'000;
  EmptyHost host;
  NodeLimits limits;
  limits.scores.tenure_weight = 0;
  NodeCore core(1, {"blog"}, ReplicaConfig{}, limits, 7);
  NodeOutbox out;
  core.Start(kNow, kNoNode, host, out);
  // Peers 77 and 78 become neighbours (JOIN) and the scores know them.
  for (NodeId peer : {77, 78}) {
    out.Clear();
    core.OnMessage(kNow, peer, GroupMessage{0, Join{}}, {}, false, host, out);
    core.scores().OnConnected(peer, "198.51.10" + std::to_string(peer - 70) + ".1");
  }
  FeedBuilder f(TestKey(1), "blog", kNow - 1'000);
  const std::vector<Entry> es = f.Take(2);
  // Each announces one entry (IHAVE); the node asks for both when the announcements time out.
  out.Clear();
  core.OnMessage(kNow, 77, GroupMessage{0, IHave{es[0].id(), 1}}, {}, true, host, out);
  core.OnMessage(kNow, 78, GroupMessage{0, IHave{es[1].id(), 1}}, {}, true, host, out);
  TimeMs t = kNow;
  for (int i = 0; i < 20 && core.scores().open_promises() < 2; ++i) {
    t = std::max(t + 1, core.NextTimerAt());
    out.Clear();
    core.OnTimer(t, host, out);
  }
  ASSERT_EQ(core.scores().open_promises(), 2u);
  // 77 keeps its promise; 78 never answers.
  ArrivingEntry a{&es[0], false};
  out.Clear();
  core.OnMessage(t, 77, GroupMessage{0, Gossip{es[0].id(), 1, 0}}, std::span(&a, 1), true, host,
                 out);
  EXPECT_EQ(core.scores().open_promises(), 1u);
  // The scores are reviewed at least every review_ms, so the timer comes back in time.
  const TimeMs due = t + core.scores().config().promise_ms;
  while (t < due) {
    t = core.NextTimerAt();
    ASSERT_LE(t, due + core.scores().config().review_ms);
    out.Clear();
    core.OnTimer(t, host, out);
  }
  EXPECT_EQ(core.scores().open_promises(), 0u);
  EXPECT_DOUBLE_EQ(core.scores().Score(78), -core.scores().config().broken_promise_weight);
  EXPECT_GT(core.scores().Score(77), 0);  // Its delivery was a first one.
}

// Two honest cores with nothing to reconcile end their sessions with an empty WANT, which
// owes no answer: neither scores the other down.
TEST(PeerScoreTest, HonestCoresReconcilingNothingBreakNoPromise) {
  constexpr TimeMs kStart = 1'700'000'100'000;
  EmptyHost host;
  std::map<NodeId, NodeCore> cores;
  cores.try_emplace(1, 1, std::vector<std::string>{"blog"}, ReplicaConfig{}, NodeLimits{}, 7);
  cores.try_emplace(2, 2, std::vector<std::string>{"blog"}, ReplicaConfig{}, NodeLimits{}, 8);
  cores.at(1).scores().OnConnected(2, "198.51.102.1");
  cores.at(2).scores().OnConnected(1, "198.51.101.1");
  std::vector<std::tuple<NodeId, NodeId, GroupMessage>> wire;  // (from, to, message)
  uint64_t wants = 0;
  auto take = [&](NodeId from, NodeOutbox& out) {
    for (auto& [to, m] : out.replica.sends) {
      if (std::holds_alternative<Want>(m.body)) ++wants;
      wire.emplace_back(from, to, std::move(m));
    }
    EXPECT_TRUE(out.verdicts.empty());
    out.Clear();
  };
  NodeOutbox out;
  cores.at(1).Start(kStart, kNoNode, host, out);
  take(1, out);
  cores.at(2).Start(kStart, 1, host, out);
  take(2, out);
  for (TimeMs t = kStart; t < kStart + 30'000; t += 100) {
    while (!wire.empty()) {
      auto [from, to, m] = std::move(wire.front());
      wire.erase(wire.begin());
      cores.at(to).OnMessage(t, from, m, {}, false, host, out);
      take(to, out);
    }
    for (auto& [id, core] : cores) {
      if (core.NextTimerAt() > t) continue;
      core.OnTimer(t, host, out);
      take(id, out);
    }
  }
  EXPECT_GT(wants, 0u);  // Sessions ran and ended.
  EXPECT_EQ(cores.at(1).scores().open_promises(), 0u);
  EXPECT_GE(cores.at(1).scores().Score(2), 0);
  EXPECT_GE(cores.at(2).scores().Score(1), 0);
}

}  // namespace
}  // namespace pando::proto
