// Tests of the HyParView membership machine (src/proto/membership.h) and its byte format
// (docs/membership-format.md): golden vectors, decode failures, one scripted test per
// handler, and a deterministic 200-node network that joins, shuffles and survives a crash of
// half its nodes.
#include "proto/membership.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <queue>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/error_codes.h"

namespace pando::proto {
namespace {

// --- Codec ----------------------------------------------------------------------------------

std::string EncodeHex(const MembershipMessage& m) {
  Bytes out;
  Encode(m, out);
  EXPECT_EQ(out.size(), EncodedSize(m));
  return ToHex(out);
}

std::string DecodeCode(std::string_view hex) {
  Result<MembershipMessage> r = DecodeMembership(*FromHex(hex));
  return std::string(r.code());
}

// These bytes are the format; docs/membership-format.md lists the same vectors. They must
// never change: a change here breaks every deployed peer.
TEST(MembershipCodecTest, GoldenVectors) {
  struct Vector {
    MembershipMessage message;
    std::string hex;
  };
  const std::vector<Vector> vectors = {
      {Join{}, "0101"},
      {ForwardJoin{0x0102030405060708, 6}, "0102080706050403020106"},
      {Disconnect{}, "0103"},
      {Neighbor{.high_priority = true}, "010401"},
      {NeighborReply{.accepted = false}, "010500"},
      {Shuffle{7, 5, {7, 0x1122334455667788}},
       "01060700000000000000050207000000000000008877665544332211"},
      {ShuffleReply{{1, 256}}, "01070201000000000000000001000000000000"},
  };
  for (const Vector& v : vectors) {
    EXPECT_EQ(EncodeHex(v.message), v.hex);
    Result<MembershipMessage> decoded = DecodeMembership(*FromHex(v.hex));
    ASSERT_TRUE(decoded.ok()) << v.hex << ": " << decoded.error().ToString();
    EXPECT_EQ(*decoded, v.message) << v.hex;
  }
}

TEST(MembershipCodecTest, RejectsMalformed) {
  const std::string malformed(codes::kMalformed);
  EXPECT_EQ(DecodeCode(""), malformed);                        // No header.
  EXPECT_EQ(DecodeCode("01"), malformed);                      // Half a header.
  EXPECT_EQ(DecodeCode("0201"), malformed);                    // Unknown version.
  EXPECT_EQ(DecodeCode("0100"), malformed);                    // Unknown type 0.
  EXPECT_EQ(DecodeCode("0108"), malformed);                    // Unknown type 8.
  EXPECT_EQ(DecodeCode("010100"), malformed);                  // Trailing byte.
  EXPECT_EQ(DecodeCode("01020807060504030201"), malformed);    // Truncated: no ttl.
  EXPECT_EQ(DecodeCode("0104"), malformed);                    // Truncated: no priority.
  EXPECT_EQ(DecodeCode("010402"), malformed);                  // A bool must be 0 or 1.
  EXPECT_EQ(DecodeCode("0102ffffffffffffffff03"), malformed);  // kNoNode is no peer.
  // The count promises two nodes, the bytes hold one.
  EXPECT_EQ(DecodeCode("0107020100000000000000"), malformed);
  // 65 nodes exceed kMaxMessageNodes even though all the bytes are there.
  std::string oversized = "010741";
  for (int i = 0; i < 65; ++i) oversized += "0100000000000000";
  EXPECT_EQ(DecodeCode(oversized), malformed);
  // 64 nodes are the most a list may hold.
  std::string largest = "010740";
  for (int i = 0; i < 64; ++i) largest += "0100000000000000";
  EXPECT_TRUE(DecodeMembership(*FromHex(largest)).ok());
}

// A random valid message: every type, ttl values and list lengths up to the limit.
MembershipMessage RandomMessage(Rng& rng) {
  auto node = [&rng] { return rng.Below(4) == 0 ? rng.Below(300) : rng.Next() >> 1; };
  auto nodes = [&] {
    std::vector<NodeId> list(rng.Below(kMaxMessageNodes + 1));
    for (NodeId& n : list) n = node();
    return list;
  };
  auto ttl = [&rng] { return static_cast<uint8_t>(rng.Below(256)); };
  switch (rng.Below(7)) {
    case 0:
      return Join{};
    case 1:
      return ForwardJoin{node(), ttl()};
    case 2:
      return Disconnect{};
    case 3:
      return Neighbor{rng.Chance(1, 2)};
    case 4:
      return NeighborReply{rng.Chance(1, 2)};
    case 5:
      return Shuffle{node(), ttl(), nodes()};
    default:
      return ShuffleReply{nodes()};
  }
}

// Random messages survive the round trip, and mutated encodings (a changed byte, a cut or an
// extra byte) either fail to decode or decode to something that re-encodes to exactly the
// same bytes: one encoding per message. A cheap, seeded stand-in for the fuzz target.
TEST(MembershipCodecTest, RoundTripAndMutations) {
  Rng rng(42);
  for (int i = 0; i < 20'000; ++i) {
    MembershipMessage message = RandomMessage(rng);
    Bytes bytes;
    Encode(message, bytes);
    ASSERT_EQ(bytes.size(), EncodedSize(message));
    Result<MembershipMessage> decoded = DecodeMembership(bytes);
    ASSERT_TRUE(decoded.ok()) << ToHex(bytes);
    ASSERT_EQ(*decoded, message);

    switch (rng.Below(3)) {
      case 0:
        bytes[rng.Below(bytes.size())] = static_cast<uint8_t>(rng.Next());
        break;
      case 1:
        bytes.resize(rng.Below(bytes.size()));
        break;
      default:
        bytes.push_back(static_cast<uint8_t>(rng.Next()));
    }
    Result<MembershipMessage> mutated = DecodeMembership(bytes);
    if (!mutated.ok()) {
      EXPECT_EQ(mutated.code(), codes::kMalformed);
      continue;
    }
    Bytes again;
    Encode(*mutated, again);
    ASSERT_EQ(ToHex(again), ToHex(bytes));
  }
}

// --- Scripted handler tests -----------------------------------------------------------------

constexpr NodeId kSelf = 100;

template <typename T>
std::vector<std::pair<NodeId, T>> SentOf(const MembershipOutbox& out) {
  std::vector<std::pair<NodeId, T>> result;
  for (const auto& [to, m] : out.sends) {
    if (const T* t = std::get_if<T>(&m)) result.emplace_back(to, *t);
  }
  return result;
}

bool Has(std::span<const NodeId> view, NodeId id) {
  return std::find(view.begin(), view.end(), id) != view.end();
}

std::vector<NodeId> Sorted(std::span<const NodeId> view) {
  std::vector<NodeId> v(view.begin(), view.end());
  std::sort(v.begin(), v.end());
  return v;
}

// The defaults, except that shuffles wait long enough to stay out of the way of the timer
// expectations of tests about other things, and the active view is full at 5 neighbours,
// as the scripted views below assume.
MembershipConfig TestConfig() {
  MembershipConfig config;
  config.shuffle_interval_ms = 1'000'000;
  config.active_max = 5;
  return config;
}
constexpr TimeMs kRetryMs = MembershipConfig{}.neighbor_retry_ms;

// A started node plus helpers that script its peers. `out_` holds the last call's actions.
class MembershipTest : public ::testing::Test {
 protected:
  MembershipTest() : m_(kSelf, TestConfig(), 7) { m_.Start(0, kNoNode, out_); }

  void Receive(NodeId from, const MembershipMessage& message, TimeMs now = 1) {
    out_.Clear();
    m_.OnMessage(now, from, message, out_);
    m_.CheckInvariants();
  }
  void PeerDown(NodeId peer, TimeMs now = 1) {
    out_.Clear();
    m_.OnPeerDown(now, peer, out_);
    m_.CheckInvariants();
  }
  void Timer(TimeMs now) {
    out_.Clear();
    m_.OnTimer(now, out_);
    m_.CheckInvariants();
  }
  // Peers asking while there is room become neighbours.
  void AddNeighbors(const std::vector<NodeId>& peers) {
    for (NodeId p : peers) Receive(p, Neighbor{});
    for (NodeId p : peers) ASSERT_TRUE(m_.IsActive(p));
  }
  // An unsolicited shuffle reply is the quickest way to plant passive entries; it takes at
  // most 1 + ka + kp = 8 per message.
  void AddPassive(NodeId first, size_t count) {
    for (size_t done = 0; done < count;) {
      ShuffleReply reply;
      for (; reply.nodes.size() < 8 && done < count; ++done) reply.nodes.push_back(first + done);
      Receive(999, reply);
    }
  }

  Membership m_;
  MembershipOutbox out_;
};

TEST_F(MembershipTest, SizeFitsTheBudget) {
  EXPECT_LE(sizeof(Membership), kMembershipSizeMax);
  std::printf("sizeof(Membership) = %zu\n", sizeof(Membership));
}

TEST_F(MembershipTest, StartWithContactSendsJoin) {
  Membership joiner(5, MembershipConfig{}, 1);
  MembershipOutbox out;
  joiner.Start(0, 1, out);
  EXPECT_EQ(Sorted(joiner.active()), std::vector<NodeId>{1});
  EXPECT_EQ(out.neighbor_up, std::vector<NodeId>{1});
  ASSERT_EQ(out.sends.size(), 1u);
  EXPECT_EQ(out.sends[0].first, 1u);
  EXPECT_TRUE(std::holds_alternative<Join>(out.sends[0].second));
  EXPECT_TRUE(out.next_timer_at.has_value());
}

TEST_F(MembershipTest, JoinIntoEmptyNodeThenForwardsLaterJoins) {
  Receive(1, Join{});
  EXPECT_EQ(Sorted(m_.active()), std::vector<NodeId>{1});
  EXPECT_EQ(out_.neighbor_up, std::vector<NodeId>{1});
  EXPECT_TRUE(out_.sends.empty());  // Nobody to announce the newcomer to.

  Receive(2, Join{});
  EXPECT_EQ(Sorted(m_.active()), (std::vector<NodeId>{1, 2}));
  auto walks = SentOf<ForwardJoin>(out_);
  ASSERT_EQ(walks.size(), 1u);
  EXPECT_EQ(walks[0].first, 1u);
  EXPECT_EQ(walks[0].second, (ForwardJoin{2, 6}));
}

TEST_F(MembershipTest, JoinIntoFullNodeDropsOneAndWalksFromTheRest) {
  AddNeighbors({1, 2, 3, 4, 5});
  Receive(9, Join{});
  auto drops = SentOf<Disconnect>(out_);
  ASSERT_EQ(drops.size(), 1u);
  NodeId dropped = drops[0].first;
  EXPECT_EQ(out_.neighbor_down, std::vector<NodeId>{dropped});
  EXPECT_TRUE(Has(m_.passive(), dropped));
  EXPECT_TRUE(m_.IsActive(9));
  EXPECT_EQ(m_.active().size(), 5u);
  auto walks = SentOf<ForwardJoin>(out_);
  EXPECT_EQ(walks.size(), 4u);
  for (const auto& [to, walk] : walks) {
    EXPECT_TRUE(m_.IsActive(to) && to != 9);
    EXPECT_EQ(walk, (ForwardJoin{9, 6}));
  }
}

TEST_F(MembershipTest, ForwardJoinWalksOnAndNotesNewcomerAtPrwl) {
  AddNeighbors({1, 2, 3});
  Receive(1, ForwardJoin{50, 5});
  auto walks = SentOf<ForwardJoin>(out_);
  ASSERT_EQ(walks.size(), 1u);
  EXPECT_TRUE(walks[0].first == 2 || walks[0].first == 3);  // Never back to the sender.
  EXPECT_EQ(walks[0].second, (ForwardJoin{50, 4}));
  EXPECT_FALSE(Has(m_.passive(), 50));

  Receive(1, ForwardJoin{50, 3});  // ttl == PRWL: note it, walk on.
  EXPECT_TRUE(Has(m_.passive(), 50));
  EXPECT_FALSE(m_.IsActive(50));
  ASSERT_EQ(SentOf<ForwardJoin>(out_).size(), 1u);
  EXPECT_EQ(SentOf<ForwardJoin>(out_)[0].second.ttl, 2);

  Receive(1, ForwardJoin{60, 200});  // An overlong walk is cut to ARWL.
  EXPECT_EQ(SentOf<ForwardJoin>(out_)[0].second.ttl, 5);
}

TEST_F(MembershipTest, ForwardJoinEndsInActiveView) {
  AddNeighbors({1, 2, 3});
  Receive(1, ForwardJoin{50, 0});
  EXPECT_TRUE(m_.IsActive(50));
  EXPECT_EQ(out_.neighbor_up, std::vector<NodeId>{50});
  auto asks = SentOf<Neighbor>(out_);
  ASSERT_EQ(asks.size(), 1u);
  EXPECT_EQ(asks[0], (std::pair<NodeId, Neighbor>{50, Neighbor{.high_priority = true}}));
  EXPECT_TRUE(SentOf<ForwardJoin>(out_).empty());
}

TEST_F(MembershipTest, ForwardJoinEndsWhenSenderIsOnlyNeighbor) {
  AddNeighbors({1});
  Receive(1, ForwardJoin{50, 5});
  EXPECT_TRUE(m_.IsActive(50));
  EXPECT_TRUE(SentOf<ForwardJoin>(out_).empty());
}

TEST_F(MembershipTest, ForwardJoinOfSelfIsIgnored) {
  AddNeighbors({1, 2});
  Receive(1, ForwardJoin{kSelf, 0});
  EXPECT_TRUE(out_.sends.empty());
  EXPECT_EQ(m_.active().size(), 2u);
}

TEST_F(MembershipTest, DisconnectMovesPeerToPassiveAndRepairs) {
  AddNeighbors({1, 2, 3});
  Receive(1, Disconnect{});
  EXPECT_EQ(Sorted(m_.active()), (std::vector<NodeId>{2, 3}));
  EXPECT_EQ(Sorted(m_.passive()), std::vector<NodeId>{1});
  EXPECT_EQ(out_.neighbor_down, std::vector<NodeId>{1});
  // The only passive candidate is asked at low priority: we still have active_min neighbours.
  auto asks = SentOf<Neighbor>(out_);
  ASSERT_EQ(asks.size(), 1u);
  EXPECT_EQ(asks[0], (std::pair<NodeId, Neighbor>{1, Neighbor{.high_priority = false}}));

  Receive(4, Disconnect{});  // Not a neighbour: nothing to do.
  EXPECT_TRUE(out_.sends.empty() && out_.neighbor_down.empty());
}

TEST_F(MembershipTest, NeighborLowPriorityRejectedWhenFull) {
  AddNeighbors({1, 2, 3, 4, 5});
  Receive(6, Neighbor{.high_priority = false});
  EXPECT_FALSE(m_.IsActive(6));
  EXPECT_EQ(SentOf<NeighborReply>(out_),
            (std::vector<std::pair<NodeId, NeighborReply>>{{6, NeighborReply{false}}}));
  EXPECT_TRUE(out_.neighbor_up.empty());
  // A neighbour asking again is simply confirmed.
  Receive(3, Neighbor{});
  EXPECT_EQ(SentOf<NeighborReply>(out_)[0].second, NeighborReply{true});
  EXPECT_TRUE(out_.neighbor_up.empty());
}

TEST_F(MembershipTest, NeighborHighPriorityAcceptedWhenFull) {
  AddNeighbors({1, 2, 3, 4, 5});
  Receive(6, Neighbor{.high_priority = true});
  EXPECT_TRUE(m_.IsActive(6));
  EXPECT_EQ(m_.active().size(), 5u);
  EXPECT_EQ(SentOf<NeighborReply>(out_)[0], (std::pair<NodeId, NeighborReply>{6, {true}}));
  auto drops = SentOf<Disconnect>(out_);
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_TRUE(Has(m_.passive(), drops[0].first));
  EXPECT_EQ(out_.neighbor_up, std::vector<NodeId>{6});
  EXPECT_EQ(out_.neighbor_down, std::vector<NodeId>{drops[0].first});
}

TEST_F(MembershipTest, FailureRepairPromotesFromPassive) {
  AddNeighbors({1, 2, 3});
  AddPassive(10, 2);
  PeerDown(1);
  EXPECT_EQ(out_.neighbor_down, std::vector<NodeId>{1});
  EXPECT_FALSE(Has(m_.passive(), 1));  // Failed peers are not kept as candidates.
  auto asks = SentOf<Neighbor>(out_);
  ASSERT_EQ(asks.size(), 1u);
  NodeId asked = asks[0].first;
  EXPECT_TRUE(asked == 10 || asked == 11);
  EXPECT_FALSE(asks[0].second.high_priority);

  Receive(asked, NeighborReply{true});
  EXPECT_TRUE(m_.IsActive(asked));
  EXPECT_FALSE(Has(m_.passive(), asked));
  EXPECT_EQ(out_.neighbor_up, std::vector<NodeId>{asked});
  // Still below active_max: the other candidate is asked at once.
  NodeId other = asked == 10 ? 11 : 10;
  EXPECT_EQ(SentOf<Neighbor>(out_)[0].first, other);
}

TEST_F(MembershipTest, BelowActiveMinAsksAtHighPriority) {
  AddNeighbors({1, 2});
  AddPassive(10, 1);
  PeerDown(1);  // One neighbour left, below active_min = 2.
  EXPECT_EQ(SentOf<Neighbor>(out_),
            (std::vector<std::pair<NodeId, Neighbor>>{{10, Neighbor{.high_priority = true}}}));
  AddPassive(11, 1);
  PeerDown(10);  // The candidate failed; the next one is asked, still at high priority.
  EXPECT_EQ(SentOf<Neighbor>(out_),
            (std::vector<std::pair<NodeId, Neighbor>>{{11, Neighbor{.high_priority = true}}}));
  PeerDown(2);  // The last neighbour is gone as well.
  EXPECT_TRUE(m_.active().empty());
  EXPECT_EQ(SentOf<Neighbor>(out_).size(), 0u);  // Still waiting on 11.
  Receive(11, NeighborReply{true});
  EXPECT_EQ(Sorted(m_.active()), std::vector<NodeId>{11});
}

TEST_F(MembershipTest, RejectionIsRetriedOnTheTimer) {
  AddNeighbors({1, 2});
  AddPassive(10, 1);
  EXPECT_EQ(out_.next_timer_at, std::optional<TimeMs>(1));  // A candidate: repair at once.
  Timer(5);
  ASSERT_EQ(SentOf<Neighbor>(out_).size(), 1u);
  EXPECT_EQ(out_.next_timer_at, std::optional<TimeMs>(5 + kRetryMs));  // The reply deadline.
  Receive(10, NeighborReply{false}, 10);
  EXPECT_TRUE(out_.sends.empty());  // No immediate retry.
  EXPECT_TRUE(Has(m_.passive(), 10));
  Timer(5 + kRetryMs);
  EXPECT_EQ(SentOf<Neighbor>(out_).size(), 1u);
}

TEST_F(MembershipTest, UnansweredRequestTimesOutAndFailedCandidateIsSkipped) {
  AddNeighbors({1, 2});
  AddPassive(10, 2);
  Timer(5);
  NodeId first = SentOf<Neighbor>(out_)[0].first;
  PeerDown(first, 6);  // The connect failed: ask the other candidate at once.
  EXPECT_FALSE(Has(m_.passive(), first));
  NodeId second = SentOf<Neighbor>(out_)[0].first;
  EXPECT_NE(second, first);
  Timer(6 + kRetryMs);  // Silence: the candidate is dropped.
  EXPECT_FALSE(Has(m_.passive(), second));
  EXPECT_TRUE(m_.passive().empty());
}

TEST_F(MembershipTest, LateAcceptanceIsUndone) {
  AddNeighbors({1});
  Receive(42, NeighborReply{true});  // We never asked 42 (or gave up on it).
  EXPECT_FALSE(m_.IsActive(42));
  EXPECT_EQ(SentOf<Disconnect>(out_).size(), 1u);
  EXPECT_EQ(SentOf<Disconnect>(out_)[0].first, 42u);
}

TEST_F(MembershipTest, RejoinsThroughContactWhenAlone) {
  Membership joiner(5, MembershipConfig{}, 1);
  MembershipOutbox out;
  joiner.Start(0, 1, out);
  out.Clear();
  joiner.OnPeerDown(10, 1, out);  // The contact is unreachable.
  EXPECT_TRUE(joiner.active().empty());
  EXPECT_TRUE(out.sends.empty());  // Not at once: a dead contact fails as fast as we ask.
  out.Clear();
  joiner.OnTimer(kRetryMs, out);
  EXPECT_TRUE(joiner.IsActive(1));
  EXPECT_EQ(SentOf<Join>(out).size(), 1u);
}

TEST_F(MembershipTest, ShuffleSendsSampleAndReplyReplacesSentEntriesFirst) {
  AddNeighbors({1, 2, 3, 4});
  AddPassive(10, 30);
  Timer(TestConfig().shuffle_interval_ms + 1);  // The first shuffle is due by now.
  auto shuffles = SentOf<Shuffle>(out_);
  ASSERT_EQ(shuffles.size(), 1u);
  const auto& [target, shuffle] = shuffles[0];
  EXPECT_TRUE(m_.IsActive(target));
  EXPECT_EQ(shuffle.origin, kSelf);
  EXPECT_EQ(shuffle.ttl, 6);
  ASSERT_EQ(shuffle.nodes.size(), 1u + 3 + 4);
  EXPECT_EQ(shuffle.nodes[0], kSelf);
  std::vector<NodeId> sent_passive;
  for (size_t i = 1; i < shuffle.nodes.size(); ++i) {
    EXPECT_NE(shuffle.nodes[i], target);
    if (i >= 4) sent_passive.push_back(shuffle.nodes[i]);
    EXPECT_EQ(m_.IsActive(shuffle.nodes[i]), i < 4);
  }
  std::vector<NodeId> distinct = Sorted(shuffle.nodes);
  EXPECT_EQ(std::adjacent_find(distinct.begin(), distinct.end()), distinct.end());

  Receive(77, ShuffleReply{{200, 201, 202, 203}});
  EXPECT_EQ(m_.passive().size(), 30u);
  for (NodeId n : {200, 201, 202, 203}) EXPECT_TRUE(Has(m_.passive(), n));
  for (NodeId n : sent_passive) EXPECT_FALSE(Has(m_.passive(), n));
}

TEST_F(MembershipTest, ShuffleWalksOnWhileTtlLasts) {
  AddNeighbors({1, 2, 3});
  Receive(1, Shuffle{50, 4, {50, 51}});
  auto shuffles = SentOf<Shuffle>(out_);
  ASSERT_EQ(shuffles.size(), 1u);
  EXPECT_TRUE(shuffles[0].first == 2 || shuffles[0].first == 3);
  EXPECT_EQ(shuffles[0].second, (Shuffle{50, 3, {50, 51}}));
  EXPECT_TRUE(m_.passive().empty());  // Only the walk's last node keeps the sample.
}

TEST_F(MembershipTest, ShuffleEndsWithReplyAndIntegration) {
  AddNeighbors({1, 2});
  AddPassive(10, 3);
  Receive(1, Shuffle{50, 1, {50, 2, kSelf, 51}});
  auto replies = SentOf<ShuffleReply>(out_);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].first, 50u);  // Straight to the origin.
  EXPECT_EQ(Sorted(replies[0].second.nodes), (std::vector<NodeId>{10, 11, 12}));
  // Self and active peers are skipped; the rest join the passive view.
  EXPECT_EQ(Sorted(m_.passive()), (std::vector<NodeId>{10, 11, 12, 50, 51}));
}

TEST_F(MembershipTest, OwnShuffleComingBackIsDropped) {
  AddNeighbors({1, 2});
  Receive(1, Shuffle{kSelf, 3, {kSelf, 9}});
  EXPECT_TRUE(out_.sends.empty());
  EXPECT_TRUE(m_.passive().empty());
}

TEST_F(MembershipTest, MessagesFromSelfAreIgnored) {
  Receive(kSelf, Join{});
  Receive(kSelf, Neighbor{.high_priority = true});
  Receive(kSelf, ShuffleReply{{1, 2}});
  EXPECT_TRUE(out_.sends.empty());
  EXPECT_TRUE(m_.active().empty());
  EXPECT_TRUE(m_.passive().empty());
}

// A neighbour lost to a failure is probed every reconnect_interval_ms: a refusal proves it
// reachable and is answered with a high-priority request; an acceptance makes it a
// neighbour; a failed probe keeps it listed for the next round.
TEST_F(MembershipTest, LostNeighboursAreProbedUntilTheyAnswer) {
  constexpr TimeMs kInterval = MembershipConfig{}.reconnect_interval_ms;
  AddNeighbors({1, 2, 3, 4, 5});
  PeerDown(1, 10);
  PeerDown(2, 10);
  EXPECT_EQ(std::vector<NodeId>(m_.lost().begin(), m_.lost().end()), (std::vector<NodeId>{1, 2}));
  Receive(6, Neighbor{}, 20);  // Refill the view, so the probes below meet a full view.
  Receive(7, Neighbor{}, 20);
  ASSERT_EQ(m_.active().size(), 5u);

  // First probe: peer 1, low priority. It fails: 1 stays listed, now behind 2.
  Timer(10 + kInterval);
  auto probes = SentOf<Neighbor>(out_);
  ASSERT_EQ(probes.size(), 1u);
  EXPECT_EQ(probes[0].first, 1u);
  EXPECT_FALSE(probes[0].second.high_priority);
  EXPECT_TRUE(out_.neighbor_down.empty());  // A probe drops nobody.
  PeerDown(1, 11 + kInterval);
  EXPECT_EQ(std::vector<NodeId>(m_.lost().begin(), m_.lost().end()), (std::vector<NodeId>{2, 1}));

  // Second probe: peer 2 refuses (its view is full), which proves it reachable: insist.
  Timer(10 + 2 * kInterval);
  probes = SentOf<Neighbor>(out_);
  ASSERT_EQ(probes.size(), 1u);
  EXPECT_EQ(probes[0].first, 2u);
  Receive(2, NeighborReply{.accepted = false}, 11 + 2 * kInterval);
  probes = SentOf<Neighbor>(out_);
  ASSERT_EQ(probes.size(), 1u);
  EXPECT_TRUE(probes[0].second.high_priority);
  EXPECT_TRUE(m_.IsActive(2));
  EXPECT_EQ(out_.neighbor_down.size(), 1u);  // Room was made for it.
  EXPECT_EQ(std::vector<NodeId>(m_.lost().begin(), m_.lost().end()), (std::vector<NodeId>{1}));

  // Third probe: peer 1 is back and has room: it accepts and becomes a neighbour.
  Timer(10 + 3 * kInterval);
  ASSERT_EQ(SentOf<Neighbor>(out_).size(), 1u);
  EXPECT_EQ(SentOf<Neighbor>(out_)[0].first, 1u);
  Receive(1, NeighborReply{.accepted = true}, 11 + 3 * kInterval);
  EXPECT_TRUE(m_.IsActive(1));
  EXPECT_TRUE(m_.lost().empty());
  // Nothing left to probe: no further probe goes out.
  Timer(10 + 5 * kInterval);
  for (const auto& [to, n] : SentOf<Neighbor>(out_)) EXPECT_NE(to, 1u);
}

TEST_F(MembershipTest, LostListKeepsTheNewestAndIgnoresDisconnects) {
  AddNeighbors({1, 2, 3, 4, 5});
  Receive(5, Disconnect{}, 5);  // Alive, only leaving: a passive candidate, not lost.
  EXPECT_TRUE(m_.lost().empty());
  for (NodeId p : {1, 2, 3, 4}) PeerDown(p, 10);
  AddNeighbors({11, 12});
  PeerDown(11, 20);
  PeerDown(12, 20);
  EXPECT_EQ(std::vector<NodeId>(m_.lost().begin(), m_.lost().end()),
            (std::vector<NodeId>{3, 4, 11, 12}));
}

// --- A deterministic network ----------------------------------------------------------------

// A plain event queue with a fixed one-way latency and FIFO links, no threads. Every
// message goes through Encode and DecodeMembership on its way, and a send to, or a
// connection with, a crashed node comes back to the sender as OnPeerDown, as a real
// transport's connect error would.
class Network {
 public:
  static constexpr TimeMs kLatencyMs = 10;

  Network(size_t n, uint64_t seed) : rng_(seed), alive_(n, true), timer_generation_(n, 0) {
    nodes_.reserve(n);
    for (size_t i = 0; i < n; ++i) nodes_.emplace_back(i, MembershipConfig{}, seed * 1000 + i);
  }

  // Node 0 founds the overlay; node i joins at i * 20 ms through a random earlier node.
  void StartAll() {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      NodeId contact = i == 0 ? kNoNode : rng_.Below(i);
      Push({static_cast<TimeMs>(i) * 20, Event::kStart, i, contact, Join{}, 0});
    }
  }

  void RunUntil(TimeMs end) {
    while (!queue_.empty() && queue_.top().at <= end) Step();
    now_ = end;
  }

  // Runs until no message is in flight, holding timers back, so that the views can be
  // compared without counting half-finished exchanges.
  void Quiesce() {
    std::vector<Event> timers;
    while (!queue_.empty()) {
      if (queue_.top().kind == Event::kTimer) {
        timers.push_back(queue_.top());
        queue_.pop();
      } else {
        Step();
      }
    }
    for (Event& e : timers) {
      e.at = std::max(e.at, now_);  // Late, never back in time.
      Push(std::move(e));
    }
  }

  // Crashes a random `count` of the nodes; their neighbours' transports notice.
  void CrashRandom(size_t count) {
    for (size_t crashed = 0; crashed < count;) {
      NodeId victim = rng_.Below(nodes_.size());
      if (!alive_[victim]) continue;
      alive_[victim] = false;
      ++crashed;
      for (NodeId peer : nodes_[victim].active()) {
        Push({now_ + kLatencyMs, Event::kPeerDown, peer, victim, Join{}, 0});
      }
    }
  }

  const Membership& node(NodeId i) const { return nodes_[i]; }
  bool alive(NodeId i) const { return alive_[i]; }
  size_t size() const { return nodes_.size(); }

 private:
  struct Event {
    enum Kind { kStart, kMessage, kTimer, kPeerDown };
    TimeMs at;
    Kind kind;
    NodeId to;
    NodeId other;  // The sender, the contact or the failed peer.
    MembershipMessage message;
    uint64_t generation;  // Of the timer; a replaced timer's event is stale.
    uint64_t seq = 0;     // Insertion order breaks ties, which keeps links FIFO.
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
  };

  void Push(Event e) {
    e.seq = next_seq_++;
    queue_.push(std::move(e));
  }

  void Step() {
    Event e = queue_.top();
    queue_.pop();
    now_ = e.at;
    if (!alive_[e.to]) {
      // The message reached a dead node: the sender learns its connection failed.
      if (e.kind == Event::kMessage && alive_[e.other]) PeerDownLater(e.other, e.to);
      return;
    }
    Membership& m = nodes_[e.to];
    out_.Clear();
    switch (e.kind) {
      case Event::kStart:
        m.Start(now_, e.other, out_);
        break;
      case Event::kMessage:
        m.OnMessage(now_, e.other, e.message, out_);
        break;
      case Event::kTimer:
        if (e.generation != timer_generation_[e.to]) return;
        m.OnTimer(now_, out_);
        break;
      case Event::kPeerDown:
        m.OnPeerDown(now_, e.other, out_);
        break;
    }
    m.CheckInvariants();
    Carry(e.to);
  }

  void PeerDownLater(NodeId at, NodeId failed) {
    Push({now_ + kLatencyMs, Event::kPeerDown, at, failed, Join{}, 0});
  }

  void Carry(NodeId from) {
    for (NodeId up : out_.neighbor_up) {
      EXPECT_TRUE(std::find(out_.neighbor_down.begin(), out_.neighbor_down.end(), up) ==
                  out_.neighbor_down.end());
      if (!alive_[up]) PeerDownLater(from, up);
    }
    for (auto& [to, message] : out_.sends) {
      Bytes wire;
      Encode(message, wire);
      Result<MembershipMessage> decoded = DecodeMembership(wire);
      ASSERT_TRUE(decoded.ok());
      Push({now_ + kLatencyMs, Event::kMessage, to, from, std::move(decoded).value(), 0});
    }
    if (out_.next_timer_at) {
      Push({*out_.next_timer_at, Event::kTimer, from, 0, Join{}, ++timer_generation_[from]});
    }
  }

  Rng rng_;
  std::vector<Membership> nodes_;
  std::vector<bool> alive_;
  std::vector<uint64_t> timer_generation_;
  std::priority_queue<Event, std::vector<Event>, Later> queue_;
  uint64_t next_seq_ = 0;
  TimeMs now_ = 0;
  MembershipOutbox out_;
};

// Checks symmetry among live nodes, that no live node keeps a dead neighbour, and returns
// whether the live nodes form one connected graph over their active views.
bool CheckOverlay(const Network& net) {
  size_t live = 0;
  NodeId root = kNoNode;
  for (NodeId i = 0; i < net.size(); ++i) {
    if (!net.alive(i)) continue;
    ++live;
    if (root == kNoNode) root = i;
    for (NodeId peer : net.node(i).active()) {
      EXPECT_TRUE(net.alive(peer)) << i << " keeps dead " << peer;
      EXPECT_TRUE(net.node(peer).IsActive(i)) << i << " -> " << peer << " is one-way";
    }
  }
  std::vector<bool> seen(net.size(), false);
  std::vector<NodeId> stack = {root};
  seen[root] = true;
  size_t reached = 0;
  while (!stack.empty()) {
    NodeId at = stack.back();
    stack.pop_back();
    ++reached;
    for (NodeId peer : net.node(at).active()) {
      if (net.alive(peer) && !seen[peer]) {
        seen[peer] = true;
        stack.push_back(peer);
      }
    }
  }
  return reached == live;
}

TEST(MembershipNetworkTest, TwoHundredNodesJoinShuffleAndSurviveHalfCrashing) {
  Network net(200, 1);
  net.StartAll();
  net.RunUntil(60'000);
  net.Quiesce();
  EXPECT_TRUE(CheckOverlay(net));
  size_t total = 0;
  for (NodeId i = 0; i < net.size(); ++i) {
    EXPECT_GE(net.node(i).active().size(), 2u) << "node " << i;
    EXPECT_FALSE(net.node(i).passive().empty()) << "node " << i;
    total += net.node(i).active().size();
  }
  std::printf("mean active view after joins: %.2f\n",
              static_cast<double>(total) / static_cast<double>(net.size()));

  net.CrashRandom(100);
  net.RunUntil(90'000);
  net.Quiesce();
  EXPECT_TRUE(CheckOverlay(net));
  total = 0;
  for (NodeId i = 0; i < net.size(); ++i) {
    if (!net.alive(i)) continue;
    // Stronger than connectivity: repair brings every survivor back to active_min at least.
    EXPECT_GE(net.node(i).active().size(), 2u) << "node " << i;
    total += net.node(i).active().size();
  }
  std::printf("mean active view of survivors: %.2f\n", static_cast<double>(total) / 100.0);
}

}  // namespace
}  // namespace pando::proto
