// NodeCore, PeerGuard and AddressBook: the node's sans-IO logic, driven with explicit times.
#include "proto/node_core.h"

#include <gtest/gtest.h>

#include "core/error_codes.h"
#include "proto/address_book.h"
#include "proto/peer_guard.h"
#include "testutil/feed.h"

namespace pando::proto {
namespace {

using testing::FeedBuilder;
using testing::TestKey;

constexpr TimeMs kNow = 1'700'000'100'000;  // After every FeedBuilder timestamp below.
constexpr NodeId kPeer = 77;

// A host whose store is empty and which counts verifications.
class FakeHost final : public NodeCoreHost {
 public:
  Result<std::optional<FeedHead>> StoredHead(const PublicKey&, uint32_t) override {
    return std::optional<FeedHead>();
  }
  Status Verify(const Entry& e) override {
    ++verified;
    return VerifyEntrySignature(e);
  }
  Status VerifyProof(const ForkProof& proof) override {
    ++verified;
    return VerifyForkProof(proof);
  }
  int verified = 0;
};

class NodeCoreTest : public ::testing::Test {
 protected:
  NodeCoreTest() : core_(1, {"catalog", "blog"}, ReplicaConfig{}, Limits(), 42) {
    NodeOutbox out;
    core_.Start(kNow, kNoNode, host_, out);
  }
  static NodeLimits Limits() {
    NodeLimits l;
    l.held_entries_max = 100;
    l.held_bytes_max = 64 * 1024;
    l.held_feed_bytes_max = 16 * 1024;
    l.held_ms_max = 60'000;
    // These tests are about the waiting room: quotas (quota_test.cc) would drop most of
    // their floods before it.
    l.quota.enabled = false;
    l.proofs_burst = 20;
    return l;
  }
  // Delivers `entries` as a GOSSIP each (broadcast) from `from`.
  NodeOutbox Gossip(TimeMs now, const Entry& e, NodeId from = kPeer) {
    NodeOutbox out;
    ArrivingEntry a{&e, false};
    core_.OnMessage(now, from, GroupMessage{1, proto::Gossip{e.id(), 0, 0}}, std::span(&a, 1), true,
                    host_, out);
    return out;
  }
  NodeOutbox Entries(TimeMs now, const std::vector<Entry>& entries) {
    NodeOutbox out;
    std::vector<ArrivingEntry> arriving;
    proto::Entries m;
    for (const Entry& e : entries) {
      arriving.push_back({&e, false});
      m.ids.push_back(e.id());
    }
    core_.OnMessage(now, kPeer, GroupMessage{1, m}, arriving, false, host_, out);
    return out;
  }
  static bool Wants(const NodeOutbox& out, const Hash32& id) {
    for (const auto& [to, m] : out.replica.sends) {
      if (const auto* w = std::get_if<Want>(&m.body)) {
        if (to == kPeer && w->ids.size() == 1 && w->ids[0] == id) return true;
      }
    }
    return false;
  }

  FakeHost host_;
  NodeCore core_;
};

TEST_F(NodeCoreTest, AnEntryInOrderIsHeldAndStored) {
  FeedBuilder feed(TestKey(1), "blog");
  const Entry e = feed.Next();
  NodeOutbox out = Gossip(kNow, e);
  EXPECT_TRUE(core_.HasEntry(e.id()));
  ASSERT_EQ(out.to_store.size(), 1u);
  EXPECT_EQ(out.to_store[0].first.id(), e.id());
  EXPECT_EQ(core_.counters().entries_received, 1u);
  EXPECT_FALSE(out.violation);
}

TEST_F(NodeCoreTest, AnEntryAheadOfItsPredecessorWaitsUnseenThenIsReleased) {
  FeedBuilder feed(TestKey(1), "blog");
  const std::vector<Entry> es = feed.Take(3);
  NodeOutbox out = Gossip(kNow, es[2]);
  // It waits, but is not held: not offered, not relayed, not reported.
  EXPECT_FALSE(core_.HasEntry(es[2].id()));
  EXPECT_EQ(core_.held_count(1), 0u);
  EXPECT_EQ(core_.waiting_count(), 1u);
  EXPECT_TRUE(out.to_store.empty());
  // The broadcast makes the node ask the sender for the missing predecessor.
  EXPECT_TRUE(Wants(out, es[1].id()));
  out = Entries(kNow, {es[0], es[1]});
  EXPECT_TRUE(core_.HasEntry(es[0].id()));
  EXPECT_TRUE(core_.HasEntry(es[1].id()));
  EXPECT_TRUE(core_.HasEntry(es[2].id()));
  EXPECT_EQ(core_.waiting_count(), 0u);
  EXPECT_EQ(core_.waiting_bytes(), 0u);
  ASSERT_EQ(out.to_store.size(), 3u);
  EXPECT_EQ(out.to_store[2].first.id(), es[2].id());
}

TEST_F(NodeCoreTest, WaitingEntriesExpire) {
  FeedBuilder feed(TestKey(1), "blog");
  const std::vector<Entry> es = feed.Take(3);
  Gossip(kNow, es[2]);
  EXPECT_EQ(core_.waiting_count(), 1u);
  NodeOutbox out;
  core_.OnTimer(kNow + Limits().held_ms_max + 1, host_, out);
  EXPECT_EQ(core_.waiting_count(), 0u);
  EXPECT_EQ(core_.counters().held_dropped, 1u);
  // Its predecessors arriving later no longer release it.
  out = Entries(kNow + Limits().held_ms_max + 2, {es[0], es[1]});
  EXPECT_FALSE(core_.HasEntry(es[2].id()));
}

TEST_F(NodeCoreTest, OneFeedCannotFillTheWaitingRoom) {
  // 3,000 entries of 4 KB from one fresh key, each ahead of its predecessor (the attack that
  // held 340-510 MB on every node of a devnet): at most held_feed_bytes_max wait.
  FeedBuilder feed(TestKey(2), "blog");
  const std::string big(4000, 'x');
  std::vector<Entry> es;
  for (int i = 0; i < 3000; ++i) es.push_back(feed.Next(big));
  for (size_t i = 1; i < es.size(); ++i) Entries(kNow, {es[i]});
  EXPECT_LE(core_.waiting_bytes(), Limits().held_feed_bytes_max);
  EXPECT_GT(core_.counters().held_dropped, 2900u);
  EXPECT_EQ(core_.held_count(1), 0u);
}

TEST_F(NodeCoreTest, TheWaitingRoomIsBoundedInBytesAcrossFeeds) {
  const std::string big(4000, 'y');
  for (uint8_t k = 10; k < 60; ++k) {
    FeedBuilder feed(TestKey(k), "blog");
    feed.Next(big);
    Entries(kNow, {feed.Next(big), feed.Next(big)});
  }
  EXPECT_LE(core_.waiting_bytes(), Limits().held_bytes_max);
  EXPECT_LE(core_.waiting_count(), Limits().held_entries_max);
}

TEST_F(NodeCoreTest, AnEntryOfAnotherGroupIsAViolation) {
  FeedBuilder feed(TestKey(1), "catalog");
  NodeOutbox out = Gossip(kNow, feed.Next());  // Sent in a message of group "blog".
  ASSERT_TRUE(out.violation);
  EXPECT_EQ(out.violation->code, codes::kProtocol);
}

TEST_F(NodeCoreTest, ABadSignatureIsAViolationAndNothingIsHeld) {
  FeedBuilder feed(TestKey(1), "blog");
  Bytes bytes = feed.Next().bytes();
  bytes[bytes.size() - 1] ^= 1;  // The signature's last byte.
  auto forged = Entry::Decode(bytes);
  ASSERT_TRUE(forged.ok());
  NodeOutbox out = Entries(kNow, {*forged});
  ASSERT_TRUE(out.violation);
  EXPECT_EQ(out.violation->code, codes::kBadSignature);
  EXPECT_FALSE(core_.HasEntry(forged->id()));
}

TEST_F(NodeCoreTest, AnEntryFromTheFarFutureIsDroppedForNow) {
  FeedBuilder feed(TestKey(1), "blog", kNow + 3'600'000);
  const Entry e = feed.Next();
  NodeOutbox out = Gossip(kNow, e);
  EXPECT_FALSE(out.violation);
  EXPECT_FALSE(core_.HasEntry(e.id()));
  EXPECT_EQ(core_.counters().future_dropped, 1u);
  Gossip(kNow + 3'600'000, e);
  EXPECT_TRUE(core_.HasEntry(e.id()));
}

TEST_F(NodeCoreTest, ARefusedEntryIsForgotten) {
  FeedBuilder feed(TestKey(1), "blog");
  const Entry e = feed.Next();
  Gossip(kNow, e);
  ASSERT_TRUE(core_.HasEntry(e.id()));
  const std::pair<Hash32, uint32_t> ids[] = {{e.id(), 1}};
  const std::pair<PublicKey, uint32_t> feeds[] = {{e.author(), 1}};
  core_.Forget(ids, feeds);
  EXPECT_FALSE(core_.HasEntry(e.id()));
  EXPECT_EQ(core_.held_count(1), 0u);
}

// Fork proofs (docs/node.md, "Fork proofs").
class NodeCoreForkTest : public NodeCoreTest {
 protected:
  static constexpr NodeId kOther = 78, kThird = 79;
  NodeCoreForkTest()
      : author_(TestKey(5)),
        feed_(author_, "blog"),
        first_(feed_.Next("first")),
        x_(feed_.At(2, first_.id(), "one version")),
        y_(feed_.At(2, first_.id(), "another version")) {
    // kPeer and kOther join the node's overlays: they are its connections.
    for (NodeId p : {kPeer, kOther}) {
      NodeOutbox out;
      core_.OnMessage(kNow, p, GroupMessage{0, Join{}}, {}, false, host_, out);
    }
  }
  ForkProof Proof() const { return ForkProof{{x_}, {y_}}; }
  NodeOutbox Proof(NodeId from, const ForkProof& proof, TimeMs now = kNow) {
    NodeOutbox out;
    core_.OnForkProof(now, from, proof, host_, out);
    return out;
  }
  static std::vector<NodeId> SentTo(const NodeOutbox& out) {
    std::vector<NodeId> to;
    for (const auto& [peer, author] : out.proof_sends) to.push_back(peer);
    std::sort(to.begin(), to.end());
    return to;
  }

  KeyPair author_;
  FeedBuilder feed_;
  Entry first_, x_, y_;
};

TEST_F(NodeCoreForkTest, AValidProofCutsTheAuthorOffAndGoesToEveryOtherPeerOnce) {
  ASSERT_EQ(core_.replica().Connections().size(), 2u);
  NodeOutbox out = Proof(kPeer, Proof());
  EXPECT_FALSE(out.violation);
  ASSERT_EQ(out.now_forked.size(), 1u);
  EXPECT_EQ(out.now_forked[0], author_.public_key());
  EXPECT_TRUE(core_.IsForked(author_.public_key()));
  EXPECT_EQ(SentTo(out), std::vector<NodeId>{kOther});  // Not back to its sender.
  EXPECT_EQ(core_.counters().proofs_received, 1u);
  // The same proof from another peer: dropped unchecked, not relayed again.
  const int verified = host_.verified;
  out = Proof(kOther, Proof());
  EXPECT_FALSE(out.violation);
  EXPECT_TRUE(out.now_forked.empty());
  EXPECT_TRUE(out.proof_sends.empty());
  EXPECT_EQ(core_.counters().proofs_duplicate, 1u);
  EXPECT_EQ(host_.verified, verified);
}

TEST_F(NodeCoreForkTest, AForkedAuthorsEntriesAreRefusedAndTheSenderIsToldOnce) {
  Proof(kPeer, Proof());
  const Entry later = feed_.At(3, x_.id(), "later");
  // From a peer that holds the proof (it sent it): refused, nothing sent.
  NodeOutbox out = Gossip(kNow, first_, kPeer);
  EXPECT_FALSE(core_.HasEntry(first_.id()));
  EXPECT_TRUE(out.to_store.empty());
  EXPECT_TRUE(out.proof_sends.empty());
  // From a peer that may not: it gets the proof, once.
  out = Gossip(kNow, later, kThird);
  EXPECT_FALSE(out.violation);
  EXPECT_EQ(SentTo(out), std::vector<NodeId>{kThird});
  out = Entries(kNow, {first_});
  EXPECT_TRUE(out.to_store.empty());
  EXPECT_EQ(core_.counters().forked_refused, 3u);
  EXPECT_EQ(core_.counters().entries_received, 0u);
  // A local entry of the author is not held either.
  EXPECT_FALSE(core_.AddLocal(kNow, first_, host_, out));
}

TEST_F(NodeCoreForkTest, TheAuthorsWaitingEntriesAreDropped) {
  const Entry ahead = feed_.At(5, x_.id(), "ahead");
  FeedBuilder other(TestKey(6), "blog");
  const std::vector<Entry> others = other.Take(3);
  Gossip(kNow, ahead);
  Gossip(kNow, others[2]);
  ASSERT_EQ(core_.waiting_count(), 2u);
  Proof(kPeer, Proof());
  EXPECT_EQ(core_.waiting_count(), 1u);  // Only the other author's.
}

TEST_F(NodeCoreForkTest, AProofThatDoesNotVerifyIsAViolation) {
  NodeOutbox out = Proof(kPeer, ForkProof{{x_}, {testing::WithBadSignature(y_)}});
  ASSERT_TRUE(out.violation);
  EXPECT_EQ(out.violation->code, codes::kBadSignature);
  EXPECT_FALSE(core_.IsForked(author_.public_key()));
  EXPECT_TRUE(out.proof_sends.empty());
  out = Proof(kOther, ForkProof{{x_}, {x_}});  // One entry twice proves nothing.
  ASSERT_TRUE(out.violation);
  EXPECT_EQ(out.violation->code, codes::kMalformed);
}

TEST_F(NodeCoreForkTest, OnePeerSendingOneAuthorsProofTwiceIsAViolation) {
  EXPECT_FALSE(Proof(kPeer, Proof()).violation);
  NodeOutbox out = Proof(kPeer, Proof());
  ASSERT_TRUE(out.violation);
  EXPECT_EQ(out.violation->code, codes::kProtocol);
}

TEST_F(NodeCoreForkTest, AProofCrossingOneSentToThePeerIsNoViolation) {
  // Found here first and sent to kOther, which found it too and sent it here.
  NodeOutbox out = Proof(kNoNode, Proof());
  EXPECT_EQ(SentTo(out), (std::vector<NodeId>{kPeer, kOther}));
  out = Proof(kOther, Proof());
  EXPECT_FALSE(out.violation);
  EXPECT_TRUE(out.proof_sends.empty());
}

TEST_F(NodeCoreForkTest, MoreProofsThanThePeersRateIsAFlood) {
  const size_t burst = static_cast<size_t>(Limits().proofs_burst);
  std::optional<Error> violation;
  size_t sent = 0;
  for (uint8_t k = 10; !violation && sent < burst + 1; ++k, ++sent) {
    FeedBuilder f(TestKey(k), "blog");
    const Entry a = f.At(1, Hash32{}, "a"), b = f.At(1, Hash32{}, "b");
    violation = Proof(kPeer, ForkProof{{a}, {b}}).violation;
  }
  ASSERT_TRUE(violation);
  EXPECT_EQ(violation->code, codes::kFlood);
  EXPECT_EQ(sent, burst + 1);
}

TEST_F(NodeCoreForkTest, ForkedAuthorsLoadedAtStartAreRefused) {
  const PublicKey a = author_.public_key();
  core_.LoadForked(std::span(&a, 1));
  NodeOutbox out = Gossip(kNow, first_);
  EXPECT_FALSE(core_.HasEntry(first_.id()));
  EXPECT_EQ(core_.counters().forked_refused, 1u);
}

TEST(PeerGuardTest, ABannedPeerCannotComeBackWithAFreshKeyFromItsAddress) {
  PeerGuard guard(PeerLimits{});
  ASSERT_TRUE(guard.OnAccept(0, "10.0.0.9").ok());
  ASSERT_TRUE(guard.OnPeer(0, 1, "10.0.0.9").ok());
  ASSERT_TRUE(guard.OnPeer(0, 2, "10.0.0.5").ok());  // A good peer elsewhere.
  guard.Ban(10, 1, "10.0.0.9");
  guard.OnClose("10.0.0.9");
  EXPECT_EQ(guard.OnPeer(20, 1, "10.0.0.9").error().code, codes::kBanned);
  // A fresh key from the same address is refused while the strike lasts ...
  ASSERT_TRUE(guard.OnAccept(20, "10.0.0.9").ok());
  EXPECT_EQ(guard.OnPeer(20, 3, "10.0.0.9").error().code, codes::kBanned);
  // ... a key this node knew from before is not, nor a fresh key from another address.
  EXPECT_TRUE(guard.OnPeer(20, 2, "10.0.0.9").ok());
  EXPECT_TRUE(guard.OnPeer(20, 4, "10.0.0.6").ok());
  // After the ban, both end.
  const TimeMs later = 10 + PeerLimits{}.ban_ms + 1;
  EXPECT_TRUE(guard.OnPeer(later, 1, "10.0.0.9").ok());
  EXPECT_TRUE(guard.OnPeer(later, 5, "10.0.0.9").ok());
}

// Known keys are capped (the oldest goes); a key banned and known again keeps its place
// and the stale slot of its first time evicts nobody.
TEST(PeerGuardTest, KnownKeysAreCappedOldestFirstAndABanLeavesNoStaleSlot) {
  PeerLimits limits;
  limits.known_keys_max = 3;
  PeerGuard guard(limits);
  ASSERT_TRUE(guard.OnPeer(0, 1, "10.0.0.1").ok());
  guard.Ban(1, 1, "");
  const TimeMs later = 1 + limits.ban_ms + 1;
  ASSERT_TRUE(guard.OnPeer(later, 1, "10.0.0.1").ok());
  ASSERT_TRUE(guard.OnPeer(later, 2, "10.0.0.2").ok());
  ASSERT_TRUE(guard.OnPeer(later, 3, "10.0.0.3").ok());
  // A struck address takes only known keys: key 1 still is one.
  guard.Ban(later, 9, "10.0.0.7");
  EXPECT_TRUE(guard.OnPeer(later, 1, "10.0.0.7").ok());
  // A fourth key pushes out the oldest, key 1.
  ASSERT_TRUE(guard.OnPeer(later, 4, "10.0.0.4").ok());
  EXPECT_EQ(guard.OnPeer(later, 1, "10.0.0.7").error().code, codes::kBanned);
  EXPECT_TRUE(guard.OnPeer(later, 2, "10.0.0.7").ok());
}

TEST(PeerGuardTest, ConnectionsPerAddressAndHandshakeRateAreCapped) {
  PeerLimits limits;
  limits.connections_per_address_max = 3;
  limits.handshakes_per_address_per_s = 1;
  limits.handshakes_per_address_burst = 5;
  PeerGuard guard(limits);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(guard.OnAccept(0, "10.0.0.1").ok());
  EXPECT_EQ(guard.OnAccept(0, "10.0.0.1").error().code, codes::kBusy);
  EXPECT_TRUE(guard.OnAccept(0, "10.0.0.2").ok());
  guard.OnClose("10.0.0.1");
  ASSERT_TRUE(guard.OnAccept(0, "10.0.0.1").ok());  // The 4th handshake of the burst.
  guard.OnClose("10.0.0.1");
  ASSERT_TRUE(guard.OnAccept(0, "10.0.0.1").ok());  // The 5th.
  guard.OnClose("10.0.0.1");
  EXPECT_EQ(guard.OnAccept(0, "10.0.0.1").error().code, codes::kRateLimited);
  EXPECT_TRUE(guard.OnAccept(1'000, "10.0.0.1").ok());  // One more a second later.
}

TEST(PeerGuardTest, MoreFramesThanTheRateIsAFlood) {
  PeerLimits limits;
  limits.frames_per_s_max = 10;
  PeerGuard guard(limits);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(guard.OnFrame(1, 9).ok());
  EXPECT_EQ(guard.OnFrame(1, 9).error().code, codes::kFlood);
  EXPECT_TRUE(guard.OnFrame(20'000, 9).ok());  // A new window.
}

TEST(AddressBookTest, AFailingAddressBacksOffAndIsDropped) {
  AddressBookLimits limits;
  AddressBook book(limits);
  const PeerRecord rec{{}, "10.9.9.9:7000"};
  book.Learn(0, 5, rec, false);
  ASSERT_TRUE(book.MayDial(0, 5));
  book.OnDialFailed(0, 5);
  EXPECT_FALSE(book.MayDial(1, 5));
  EXPECT_TRUE(book.MayDial(limits.retry_min_ms * 2, 5));
  for (uint32_t i = 1; i < limits.failures_max; ++i) book.OnDialFailed(1'000'000, 5);
  EXPECT_EQ(book.Find(5), nullptr);
  // Peers repeating the record cannot bring it back while the drop lasts.
  book.Learn(1'000'001, 5, rec, false);
  EXPECT_EQ(book.Find(5), nullptr);
}

TEST(AddressBookTest, SecondHandNeverReplacesFirstHand) {
  AddressBook book;
  book.Learn(0, 5, PeerRecord{{}, "10.0.0.5:7000"}, true);
  book.Learn(1, 5, PeerRecord{{}, "203.0.113.1:22"}, false);
  ASSERT_NE(book.Find(5), nullptr);
  EXPECT_EQ(book.Find(5)->address, "10.0.0.5:7000");
}

TEST(AddressBookTest, RecordsExpireAndAreBounded) {
  AddressBookLimits limits;
  limits.records_max = 10;
  AddressBook book(limits);
  for (NodeId i = 0; i < 50; ++i)
    book.Learn(static_cast<TimeMs>(i), i, PeerRecord{{}, "h:1"}, false);
  EXPECT_LE(book.size(), 10u);
  book.Expire(limits.ttl_ms + 100);
  EXPECT_EQ(book.size(), 0u);
}

}  // namespace
}  // namespace pando::proto
