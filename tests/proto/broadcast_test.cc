// Tests of proto/broadcast.h (Plumtree): scripted events per handler, the codec, and a small
// in-test network where the eager links settle into a tree.
#include "proto/broadcast.h"

#include <gtest/gtest.h>

#include <map>
#include <queue>
#include <set>

#include "core/error_codes.h"

namespace pando::proto {
namespace {

Hash32 Id(uint8_t n) {
  Hash32 id{};
  id[0] = n;
  id[31] = 0x5a;
  return id;
}

template <typename T>
std::vector<NodeId> SendsOf(const BroadcastOutbox& out) {
  std::vector<NodeId> to;
  for (const auto& [peer, m] : out.sends) {
    if (std::holds_alternative<T>(m)) to.push_back(peer);
  }
  return to;
}

TEST(BroadcastTest, PostPushesToEagerAndAnnouncesToLazy) {
  Broadcast b;
  for (NodeId p : {1, 2, 3}) b.OnNeighborUp(p);
  b.OnPrune(3);
  BroadcastOutbox out;
  b.Post(0, Id(1), 200, out);
  EXPECT_EQ(SendsOf<Gossip>(out), (std::vector<NodeId>{1, 2}));
  EXPECT_EQ(SendsOf<IHave>(out), (std::vector<NodeId>{3}));
  EXPECT_EQ(std::get<Gossip>(out.sends[0].second).payload_bytes, 200u);
}

TEST(BroadcastTest, DuplicatePrunesTheLinkAndNewEntryIsForwarded) {
  Broadcast b;
  for (NodeId p : {1, 2, 3}) b.OnNeighborUp(p);
  BroadcastOutbox out;
  EXPECT_TRUE(b.OnGossip(0, 1, Gossip{Id(1), 3, 100}, /*is_new=*/true, out));
  EXPECT_EQ(SendsOf<Gossip>(out), (std::vector<NodeId>{2, 3}));  // Not back to the sender.
  EXPECT_EQ(std::get<Gossip>(out.sends[0].second).hops, 4);
  out.Clear();
  EXPECT_FALSE(b.OnGossip(1, 2, Gossip{Id(1), 5, 100}, /*is_new=*/false, out));
  EXPECT_EQ(SendsOf<Prune>(out), (std::vector<NodeId>{2}));
  EXPECT_FALSE(b.IsEager(2));
  out.Clear();
  // A second duplicate on an already lazy link sends nothing.
  b.OnGossip(2, 2, Gossip{Id(1), 5, 100}, false, out);
  EXPECT_TRUE(out.sends.empty());
  EXPECT_EQ(b.eager_count(), 2u);
  EXPECT_EQ(b.lazy_count(), 1u);
}

TEST(BroadcastTest, RelayPushesOnWithoutTouchingLinksOrTheSource) {
  Broadcast b;
  for (NodeId p : {1, 2, 3}) b.OnNeighborUp(p);
  b.OnPrune(3);
  BroadcastOutbox out;
  b.OnIHave(0, 3, IHave{Id(7), 2}, /*have=*/false, out);  // Now missing, timer set.
  out.Clear();
  b.Relay(10, Id(7), 150, /*from=*/1, out);
  EXPECT_EQ(SendsOf<Gossip>(out), (std::vector<NodeId>{2}));
  EXPECT_EQ(SendsOf<IHave>(out), (std::vector<NodeId>{3}));
  EXPECT_TRUE(b.IsEager(1));
  EXPECT_FALSE(b.IsEager(3));
  // No longer missing: the timer grafts nothing.
  out.Clear();
  b.OnTimer(10'000, out);
  EXPECT_TRUE(SendsOf<Graft>(out).empty());
}

TEST(BroadcastTest, MissingAnnouncementIsGraftedAfterTimeout) {
  BroadcastConfig c;
  c.ihave_timeout_ms = 400;
  c.graft_timeout_ms = 200;
  Broadcast b(c);
  for (NodeId p : {1, 2}) b.OnNeighborUp(p);
  b.OnPrune(1);
  b.OnPrune(2);
  BroadcastOutbox out;
  b.OnIHave(1000, 1, IHave{Id(7), 2}, /*have=*/false, out);
  ASSERT_TRUE(out.next_timer_at.has_value());
  EXPECT_EQ(*out.next_timer_at, 1400);
  out.Clear();
  b.OnIHave(1100, 2, IHave{Id(7), 2}, false, out);  // A second announcer is remembered.
  b.OnTimer(1399, out);
  EXPECT_TRUE(SendsOf<Graft>(out).empty());
  b.OnTimer(1400, out);
  EXPECT_EQ(SendsOf<Graft>(out), (std::vector<NodeId>{1}));
  EXPECT_TRUE(b.IsEager(1));  // Grafting makes the link part of the tree.
  EXPECT_EQ(*out.next_timer_at, 1600);
  out.Clear();
  b.OnTimer(1600, out);  // Still missing: ask the next announcer.
  EXPECT_EQ(SendsOf<Graft>(out), (std::vector<NodeId>{2}));
  out.Clear();
  EXPECT_TRUE(b.OnGossip(1700, 2, Gossip{Id(7), 3, 10}, true, out));
  out.Clear();
  b.OnTimer(5000, out);  // Received: nothing more to ask.
  EXPECT_TRUE(SendsOf<Graft>(out).empty());
}

TEST(BroadcastTest, HeldEntriesAndDepartedAnnouncersAreNotGrafted) {
  Broadcast b;
  b.OnNeighborUp(1);
  BroadcastOutbox out;
  b.OnIHave(0, 1, IHave{Id(1), 1}, /*have=*/true, out);
  EXPECT_FALSE(out.next_timer_at.has_value());
  b.OnIHave(0, 1, IHave{Id(2), 1}, false, out);
  b.OnNeighborDown(1);
  out.Clear();
  b.OnTimer(10'000, out);
  EXPECT_TRUE(out.sends.empty());
}

TEST(BroadcastTest, GraftMakesTheLinkEagerAndResends) {
  Broadcast b;
  b.OnNeighborUp(4);
  b.OnPrune(4);
  BroadcastOutbox out;
  b.OnGraft(0, 4, Graft{Id(3)}, /*have=*/true, 321, out);
  EXPECT_TRUE(b.IsEager(4));
  ASSERT_EQ(SendsOf<Gossip>(out), (std::vector<NodeId>{4}));
  EXPECT_EQ(std::get<Gossip>(out.sends[0].second).payload_bytes, 321u);
}

TEST(BroadcastTest, GraftAnswerCarriesTheHopsTheEntryCameWith) {
  Broadcast b;
  for (NodeId p : {1, 2}) b.OnNeighborUp(p);
  BroadcastOutbox out;
  b.OnGossip(0, 1, Gossip{Id(5), 6, 100}, /*is_new=*/true, out);
  out.Clear();
  b.OnGraft(10, 2, Graft{Id(5)}, /*have=*/true, 100, out);
  ASSERT_EQ(SendsOf<Gossip>(out), (std::vector<NodeId>{2}));
  EXPECT_EQ(std::get<Gossip>(out.sends[0].second).hops, 7);
  out.Clear();
  b.Post(20, Id(6), 100, out);  // A local post is at hops 0: its GRAFT answer is at 1.
  out.Clear();
  b.OnGraft(30, 2, Graft{Id(6)}, true, 100, out);
  EXPECT_EQ(std::get<Gossip>(out.sends[0].second).hops, 1);
}

TEST(BroadcastTest, LinkOnlyGraftMakesTheLinkEagerWithoutResending) {
  Broadcast b;
  b.OnNeighborUp(4);
  b.OnPrune(4);
  BroadcastOutbox out;
  b.OnGraft(0, 4, Graft{Id(3), /*link_only=*/true}, /*have=*/true, 321, out);
  EXPECT_TRUE(b.IsEager(4));
  EXPECT_TRUE(out.sends.empty());
}

// The tree optimisation, timing rule: node has eager parent 1 and lazy neighbour 2. Neighbour 2
// announces entry 9 with 3 hops; 150 ms later the entry arrives from 1 with 5 hops. The link
// moves: 2 becomes eager (GRAFT that asks for nothing), 1 lazy (PRUNE).
BroadcastConfig OptimizingConfig() {
  BroadcastConfig c;
  c.optimize_lead_ms = 100;
  c.optimize_threshold_hops = 0;
  c.prune_guard_ms = 2'000;
  return c;
}

TEST(BroadcastTest, EntryArrivingLongAfterAnIHaveMovesTheTreeLink) {
  Broadcast b(OptimizingConfig());
  for (NodeId p : {1, 2, 3}) b.OnNeighborUp(p);
  b.OnPrune(2);
  BroadcastOutbox out;
  b.OnIHave(1000, 2, IHave{Id(9), 3}, /*have=*/false, out);
  out.Clear();
  EXPECT_TRUE(b.OnGossip(1150, 1, Gossip{Id(9), 5, 100}, true, out));
  // Forwarded as usual: GOSSIP to the eager 3, IHAVE to the lazy 2.
  EXPECT_EQ(SendsOf<Gossip>(out), (std::vector<NodeId>{3}));
  ASSERT_EQ(SendsOf<Graft>(out), (std::vector<NodeId>{2}));
  for (const auto& [peer, m] : out.sends) {
    if (const auto* g = std::get_if<Graft>(&m)) {
      EXPECT_TRUE(g->link_only);
      EXPECT_EQ(g->id, Id(9));
    }
  }
  EXPECT_EQ(SendsOf<Prune>(out), (std::vector<NodeId>{1}));
  EXPECT_TRUE(b.IsEager(2));
  EXPECT_FALSE(b.IsEager(1));
  // The entry counts as arrived from 2: a later GRAFT answer is at the announced hops + 1.
  out.Clear();
  b.OnGraft(1200, 3, Graft{Id(9)}, true, 100, out);
  EXPECT_EQ(std::get<Gossip>(out.sends[0].second).hops, 4);
}

TEST(BroadcastTest, NoMoveForASmallLeadMoreHopsOrAfterAGraft) {
  BroadcastOutbox out;
  {  // The IHAVE came only 50 ms earlier.
    Broadcast b(OptimizingConfig());
    for (NodeId p : {1, 2}) b.OnNeighborUp(p);
    b.OnPrune(2);
    b.OnIHave(1000, 2, IHave{Id(9), 3}, false, out);
    out.Clear();
    b.OnGossip(1050, 1, Gossip{Id(9), 5, 100}, true, out);
    EXPECT_TRUE(SendsOf<Graft>(out).empty());
    EXPECT_TRUE(SendsOf<Prune>(out).empty());
    EXPECT_TRUE(b.IsEager(1));
  }
  {  // The announcer's path is longer in hops.
    Broadcast b(OptimizingConfig());
    for (NodeId p : {1, 2}) b.OnNeighborUp(p);
    b.OnPrune(2);
    out.Clear();
    b.OnIHave(1000, 2, IHave{Id(9), 6}, false, out);
    out.Clear();
    b.OnGossip(1300, 1, Gossip{Id(9), 5, 100}, true, out);
    EXPECT_TRUE(SendsOf<Prune>(out).empty());
    EXPECT_FALSE(b.IsEager(2));
  }
  {  // The timer already grafted from the announcer: the entry's arrival moves nothing.
    Broadcast b(OptimizingConfig());
    for (NodeId p : {1, 2}) b.OnNeighborUp(p);
    b.OnPrune(2);
    out.Clear();
    b.OnIHave(1000, 2, IHave{Id(9), 3}, false, out);
    b.OnTimer(1400, out);
    out.Clear();
    b.OnGossip(1450, 1, Gossip{Id(9), 5, 100}, true, out);
    EXPECT_TRUE(SendsOf<Prune>(out).empty());
    EXPECT_TRUE(SendsOf<Graft>(out).empty());
  }
  {  // Turned off.
    BroadcastConfig c = OptimizingConfig();
    c.optimize_lead_ms = 0;
    Broadcast b(c);
    for (NodeId p : {1, 2}) b.OnNeighborUp(p);
    b.OnPrune(2);
    out.Clear();
    b.OnIHave(1000, 2, IHave{Id(9), 3}, false, out);
    out.Clear();
    b.OnGossip(1300, 1, Gossip{Id(9), 5, 100}, true, out);
    EXPECT_TRUE(out.sends.size() == 1 && SendsOf<IHave>(out).size() == 1);
  }
}

// The paper's rule: an IHAVE after the entry, with at least the threshold fewer hops.
TEST(BroadcastTest, ShorterIHaveAfterTheEntryMovesTheTreeLinkWhenEnabled) {
  BroadcastConfig c = OptimizingConfig();
  c.optimize_lead_ms = 0;
  c.optimize_threshold_hops = 3;
  Broadcast b(c);
  for (NodeId p : {1, 2, 3}) b.OnNeighborUp(p);
  b.OnPrune(2);
  b.OnPrune(3);
  BroadcastOutbox out;
  b.OnGossip(1000, 1, Gossip{Id(4), 8, 100}, true, out);
  out.Clear();
  b.OnIHave(1100, 3, IHave{Id(4), 6}, /*have=*/true, out);  // Only 2 shorter: nothing.
  EXPECT_TRUE(out.sends.empty());
  b.OnIHave(1100, 2, IHave{Id(4), 5}, /*have=*/true, out);  // 3 shorter: move to 2.
  EXPECT_EQ(SendsOf<Graft>(out), (std::vector<NodeId>{2}));
  EXPECT_TRUE(std::get<Graft>(out.sends[0].second).link_only);
  EXPECT_EQ(SendsOf<Prune>(out), (std::vector<NodeId>{1}));
  EXPECT_TRUE(b.IsEager(2));
  EXPECT_FALSE(b.IsEager(1));
  out.Clear();
  // The record now says 5 hops via 2: an IHAVE with 3 hops is not 3 shorter.
  b.OnIHave(1200, 3, IHave{Id(4), 3}, true, out);
  EXPECT_TRUE(out.sends.empty());
  // An entry not in the ring (never received here) moves nothing.
  b.OnIHave(1200, 3, IHave{Id(77), 1}, true, out);
  EXPECT_TRUE(out.sends.empty());
}

TEST(BroadcastTest, RecentRingForgetsOldEntries) {
  BroadcastConfig c = OptimizingConfig();
  c.optimize_threshold_hops = 2;
  c.prune_guard_ms = 0;  // Parent 1 carries every entry here; the guard would hold it.
  Broadcast b(c);
  for (NodeId p : {1, 2}) b.OnNeighborUp(p);
  b.OnPrune(2);
  BroadcastOutbox out;
  b.OnGossip(0, 1, Gossip{Id(0), 9, 100}, true, out);
  for (uint8_t e = 1; e <= kRecentCapacity; ++e) b.OnGossip(e, 1, Gossip{Id(e), 9, 100}, true, out);
  out.Clear();
  b.OnIHave(100, 2, IHave{Id(0), 1}, true, out);  // Overwritten in the ring: no move.
  EXPECT_TRUE(out.sends.empty());
  b.OnIHave(100, 2, IHave{Id(kRecentCapacity), 1}, true, out);  // Still there: moves.
  EXPECT_EQ(SendsOf<Graft>(out), (std::vector<NodeId>{2}));
}

// The prune guard: a duplicate from a link that brought another entry first within the window
// does not prune it; outside the window, or with the guard off, it does.
TEST(BroadcastTest, DuplicateDoesNotPruneALinkCarryingOtherEntries) {
  Broadcast b(OptimizingConfig());
  for (NodeId p : {1, 2}) b.OnNeighborUp(p);
  BroadcastOutbox out;
  b.OnGossip(1000, 2, Gossip{Id(1), 4, 100}, true, out);  // 2 brings entry 1 first.
  b.OnGossip(1500, 1, Gossip{Id(2), 4, 100}, true, out);  // 1 brings entry 2 first.
  out.Clear();
  b.OnGossip(1600, 2, Gossip{Id(2), 6, 100}, false, out);  // Duplicate of 2 from 2.
  EXPECT_TRUE(out.sends.empty());
  EXPECT_TRUE(b.IsEager(2));
  b.OnGossip(3100, 2, Gossip{Id(2), 6, 100}, false, out);  // 2.1 s after entry 1: prune.
  EXPECT_EQ(SendsOf<Prune>(out), (std::vector<NodeId>{2}));
  EXPECT_FALSE(b.IsEager(2));

  BroadcastConfig c = OptimizingConfig();
  c.prune_guard_ms = 0;
  Broadcast off(c);
  for (NodeId p : {1, 2}) off.OnNeighborUp(p);
  off.OnGossip(1000, 2, Gossip{Id(1), 4, 100}, true, out);
  off.OnGossip(1500, 1, Gossip{Id(2), 4, 100}, true, out);
  out.Clear();
  off.OnGossip(1600, 2, Gossip{Id(2), 6, 100}, false, out);
  EXPECT_EQ(SendsOf<Prune>(out), (std::vector<NodeId>{2}));
}

TEST(BroadcastTest, OptimisationDoesNotMoveAwayFromALinkCarryingOtherEntries) {
  Broadcast b(OptimizingConfig());
  for (NodeId p : {1, 2}) b.OnNeighborUp(p);
  b.OnPrune(2);
  BroadcastOutbox out;
  b.OnGossip(900, 1, Gossip{Id(1), 4, 100}, true, out);  // 1 is carrying entry 1.
  b.OnIHave(1000, 2, IHave{Id(9), 3}, false, out);
  out.Clear();
  b.OnGossip(1300, 1, Gossip{Id(9), 5, 100}, true, out);
  EXPECT_TRUE(SendsOf<Prune>(out).empty());
  EXPECT_TRUE(SendsOf<Graft>(out).empty());
  EXPECT_TRUE(b.IsEager(1));
}

TEST(BroadcastTest, MissingListIsBounded) {
  Broadcast b;
  b.OnNeighborUp(1);
  BroadcastOutbox out;
  for (int i = 0; i < 100; ++i) b.OnIHave(0, 1, IHave{Id(static_cast<uint8_t>(i)), 1}, false, out);
  out.Clear();
  b.OnTimer(1'000'000, out);
  EXPECT_EQ(SendsOf<Graft>(out).size(), kMissingCapacity);
}

TEST(BroadcastCodecTest, RoundTripAndGoldenBytes) {
  const std::vector<BroadcastMessage> msgs = {Gossip{Id(1), 7, 300}, IHave{Id(2), 9}, Graft{Id(3)},
                                              Graft{Id(3), true}, Prune{}};
  for (const auto& m : msgs) {
    Bytes b;
    Encode(m, b);
    auto back = DecodeBroadcast(b);
    ASSERT_TRUE(back.ok()) << back.error().ToString();
    EXPECT_EQ(back->index(), m.index());
    Bytes again;
    Encode(*back, again);
    EXPECT_EQ(again, b);
    const size_t payload = std::holds_alternative<Gossip>(m) ? 300 : 0;
    EXPECT_EQ(EncodedSize(m), b.size() + payload);
  }
  Bytes prune;
  Encode(Prune{}, prune);
  EXPECT_EQ(ToHex(prune), "0104");
  Bytes ihave;
  Encode(IHave{Id(2), 9}, ihave);
  EXPECT_EQ(ToHex(ihave),
            "0102"
            "020000000000000000000000000000000000000000000000000000000000005a"
            "0900");
  Bytes graft;
  Encode(Graft{Id(3)}, graft);
  EXPECT_EQ(ToHex(graft),
            "0103"
            "030000000000000000000000000000000000000000000000000000000000005a"
            "00");
  Bytes link_only;
  Encode(Graft{Id(3), /*link_only=*/true}, link_only);
  EXPECT_EQ(ToHex(link_only),
            "0103"
            "030000000000000000000000000000000000000000000000000000000000005a"
            "01");
  EXPECT_TRUE(std::get<Graft>(*DecodeBroadcast(link_only)).link_only);
  EXPECT_FALSE(std::get<Graft>(*DecodeBroadcast(graft)).link_only);
}

TEST(BroadcastCodecTest, RejectsMalformed) {
  EXPECT_EQ(DecodeBroadcast(Bytes{}).error().code, codes::kMalformed);
  EXPECT_EQ(DecodeBroadcast(Bytes{2, 4}).error().code, codes::kUnknownVersion);
  EXPECT_EQ(DecodeBroadcast(Bytes{1, 9}).error().code, codes::kMalformed);
  EXPECT_EQ(DecodeBroadcast(Bytes{1, 4, 0}).error().code, codes::kMalformed);
  EXPECT_EQ(DecodeBroadcast(Bytes{1, 3, 0}).error().code, codes::kMalformed);
  EXPECT_EQ(DecodeBroadcast(Bytes(41, 1)).error().code, codes::kMalformed);
  // GRAFT: the 34-byte form without flags, and unknown flag bits, are refused.
  Bytes graft;
  Encode(Graft{Id(3)}, graft);
  graft.pop_back();
  EXPECT_EQ(DecodeBroadcast(graft).error().code, codes::kMalformed);
  graft.push_back(0x02);
  EXPECT_EQ(DecodeBroadcast(graft).error().code, codes::kMalformed);
  graft.back() = 0x81;
  EXPECT_EQ(DecodeBroadcast(graft).error().code, codes::kMalformed);
}

// A small network with random link latencies: every entry reaches every node, and once the
// eager links have settled into a tree each node receives about one copy per entry.
TEST(BroadcastNetworkTest, TreeSettlesToAboutOneCopyPerNode) {
  constexpr NodeId kNodes = 200;
  Rng rng(42);
  std::vector<std::set<NodeId>> adj(kNodes);
  for (NodeId a = 0; a < kNodes; ++a) {  // A ring keeps it connected; chords add degree.
    adj[a].insert((a + 1) % kNodes);
    adj[(a + 1) % kNodes].insert(a);
  }
  while (true) {
    size_t full = 0;
    for (NodeId a = 0; a < kNodes; ++a) full += adj[a].size() >= 4;
    if (full == kNodes) break;
    NodeId a = rng.Below(kNodes), b = rng.Below(kNodes);
    if (a == b || adj[a].size() >= 5 || adj[b].size() >= 5) continue;
    adj[a].insert(b);
    adj[b].insert(a);
  }
  std::map<std::pair<NodeId, NodeId>, TimeMs> latency;
  std::vector<Broadcast> nodes(kNodes);
  for (NodeId a = 0; a < kNodes; ++a) {
    for (NodeId b : adj[a]) {
      nodes[a].OnNeighborUp(b);
      if (a < b) latency[{a, b}] = latency[{b, a}] = 20 + static_cast<TimeMs>(rng.Below(131));
    }
  }
  struct Event {
    TimeMs at;
    uint64_t seq;
    NodeId to, from;  // from == kNoNode: a timer.
    BroadcastMessage m;
    bool operator>(const Event& o) const { return std::tie(at, seq) > std::tie(o.at, o.seq); }
  };
  std::priority_queue<Event, std::vector<Event>, std::greater<>> q;
  uint64_t seq = 0;
  std::vector<std::set<Hash32>> have(kNodes);
  std::vector<TimeMs> timer_at(kNodes, -1);
  size_t gossip_copies = 0;
  auto apply = [&](NodeId self, TimeMs now, BroadcastOutbox& out) {
    for (auto& [to, m] : out.sends) {
      if (std::holds_alternative<Gossip>(m)) ++gossip_copies;
      q.push(Event{now + latency[{self, to}], seq++, to, self, m});
    }
    if (out.next_timer_at && *out.next_timer_at != timer_at[self]) {
      timer_at[self] = *out.next_timer_at;
      q.push(Event{*out.next_timer_at, seq++, self, kNoNode, Prune{}});
    }
    out.Clear();
  };
  BroadcastOutbox out;
  std::vector<size_t> copies_per_entry;
  TimeMs now = 0;
  for (uint8_t e = 0; e < 30; ++e) {
    gossip_copies = 0;
    const NodeId origin = rng.Below(kNodes);
    have[origin].insert(Id(e));
    nodes[origin].Post(now, Id(e), 200, out);
    apply(origin, now, out);
    while (!q.empty()) {
      Event ev = q.top();
      q.pop();
      now = ev.at;
      Broadcast& n = nodes[ev.to];
      if (ev.from == kNoNode) {
        n.OnTimer(now, out);
      } else if (auto* g = std::get_if<Gossip>(&ev.m)) {
        const bool is_new = have[ev.to].insert(g->id).second;
        n.OnGossip(now, ev.from, *g, is_new, out);
      } else if (auto* ih = std::get_if<IHave>(&ev.m)) {
        n.OnIHave(now, ev.from, *ih, have[ev.to].count(ih->id) > 0, out);
      } else if (auto* gr = std::get_if<Graft>(&ev.m)) {
        n.OnGraft(now, ev.from, *gr, have[ev.to].count(gr->id) > 0, 200, out);
      } else {
        n.OnPrune(ev.from);
      }
      apply(ev.to, now, out);
    }
    for (NodeId a = 0; a < kNodes; ++a) ASSERT_TRUE(have[a].count(Id(e))) << int(e) << " " << a;
    copies_per_entry.push_back(gossip_copies);
    now += 1000;
  }
  // The first entry floods (every link eager); later ones follow the tree.
  EXPECT_GT(copies_per_entry.front(), kNodes * 2);
  double late = 0;
  for (size_t i = 20; i < copies_per_entry.size(); ++i) late += copies_per_entry[i];
  late /= static_cast<double>(copies_per_entry.size() - 20) * kNodes;
  EXPECT_LE(late, 1.3) << "payload copies per node per entry after settling";
}

}  // namespace
}  // namespace pando::proto
