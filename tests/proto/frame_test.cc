// Tests of proto/frame.h against docs/frame-format.md: golden vectors, round trips of every
// frame type, the decoder's refusals, and FrameReader's incremental cutting and limits.
#include "proto/frame.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/error_codes.h"
#include "core/fork_proof.h"
#include "testutil/feed.h"

namespace pando::proto {
namespace {

constexpr NodeId kSender = 1001, kReceiver = 1002;

Hash32 Filled(uint8_t b) {
  Hash32 h;
  h.fill(b);
  return h;
}

std::string Hex(const Frame& f) { return ToHex(EncodeFrame(f)); }

Result<Frame> DecodeWhole(const Bytes& wire) {
  // The frame as a reader gets it: length prefix, then type and body.
  FrameReader reader(kSender, kReceiver);
  reader.Append(wire);
  Result<std::optional<Frame>> next = reader.Next();
  if (!next.ok()) return next.error();
  EXPECT_TRUE(next->has_value());
  if (!next->has_value()) return Error{codes::kInternal, "no whole frame in the bytes"};
  return std::move(**next);
}

std::string CodeOf(const std::string& hex) {
  Result<Frame> r = DecodeWhole(*FromHex(hex));
  return r.ok() ? "ok" : std::string(r.code());
}

// These bytes are the format; docs/frame-format.md lists the same vectors.
TEST(FrameTest, GoldenVectors) {
  EXPECT_EQ(Hex(HelloFrame{1, "127.0.0.1:7000"}), "1100000001010e3132372e302e302e313a37303030");
  EXPECT_EQ(Hex(GroupFrame{7, "blog.me"}), "0d000000020700000007626c6f672e6d65");
  EXPECT_EQ(Hex(GoAwayFrame{"MALFORMED", "bad frame"}),
            "1600000003094d414c464f524d45440900626164206672616d65");
  EXPECT_EQ(Hex(BroadcastFrame{1, Prune{}, {}}), "0700000011010000000104");
  EXPECT_EQ(Hex(PingFrame{}), "0100000004");
  EXPECT_EQ(Hex(WantFrame{2, {Filled(0x11), Filled(0x22)}}),
            "4700000013020000000200" + std::string(64, '1') + std::string(64, '2'));
  // Checked independently against a Python BLAKE2b: the id of 32 bytes of 01.
  const Hash32 k = Filled(0x01);
  EXPECT_EQ(NodeIdOfKey(k), 0x9276576ef8ea0cf4u);
  EXPECT_EQ(Hex(MembershipFrame{3, ForwardJoin{NodeIdOfKey(k), 6}, {{k, "10.0.0.2:7000"}}}),
            "4100000010030000000b000102f40ceaf86e57769206"
            "01" +
                ToHex(k) + "0d31302e302e302e323a37303030");
}

// Vectors 8 to 10 of docs/frame-format.md: DHT and NOT_CARRIED.
TEST(FrameTest, DhtAndNotCarriedGoldenVectors) {
  const std::string find_hex =
      "01010700000089dd441078d42647ac012ce1641634d312622ee5c611145a98d66dc0405584b801";
  EXPECT_EQ(Hex(DhtFrame{DhtFind{7, DhtGroupKey("blog"), 1}, {}}),
            "2b000000062700" + find_hex + "00");
  EXPECT_EQ(Hex(NotCarriedFrame{"blog"}), "060000000704626c6f67");
  const Hash32 k = Filled(0x01);
  EXPECT_EQ(Hex(DhtFrame{DhtFound{7, {NodeIdOfKey(k)}, {}}, {{k, "10.0.0.2:7000"}}}),
            "42000000061000010207000000"
            "01f40ceaf86e577692"
            "00"
            "01" +
                ToHex(k) + "0d31302e302e302e323a37303030");
}

TEST(FrameTest, DhtFramesCheckTheirMessageAndPeerRecords) {
  const Hash32 k1 = Filled(0x01), k2 = Filled(0x02);
  const NodeId n1 = NodeIdOfKey(k1);
  const std::string malformed(codes::kMalformed);
  auto code = [](const DhtFrame& f) { return CodeOf(ToHex(EncodeFrame(f))); };
  EXPECT_EQ(code(DhtFrame{DhtFound{1, {n1}, {}}, {}}), malformed);             // Missing.
  EXPECT_EQ(code(DhtFrame{DhtFound{1, {n1}, {}}, {{k2, "x:1"}}}), malformed);  // Wrong.
  EXPECT_EQ(code(DhtFrame{DhtStored{1, DhtStoreCode::kFull}, {{k1, "x:1"}}}), malformed);
  EXPECT_EQ(code(DhtFrame{DhtFound{1, {kSender, kReceiver}, {}}, {}}), "ok");  // The two ends.
  // A message over its limit, one that does not decode, one cut short.
  EXPECT_EQ(CodeOf("04000000"
                   "06"
                   "a919"
                   "00"),
            malformed);  // Declares 6,569 bytes.
  EXPECT_EQ(CodeOf("0a000000"
                   "06"
                   "0600"
                   "010909090909"
                   "00"),
            malformed);
  EXPECT_EQ(CodeOf("05000000"
                   "06"
                   "0700"
                   "0101"),
            malformed);
  // NOT_CARRIED: an invalid name, or none.
  EXPECT_EQ(CodeOf("030000000701"
                   "20"),
            malformed);
  EXPECT_EQ(CodeOf("020000000700"), malformed);
}

// The fork proof of vector 6 of docs/frame-format.md: entry vector 1 of
// docs/entry-vectors.md (seed 01..01, seq 1, group `general`, "Hello, Pando!") and a second
// entry its author signed for the same seq, with the payload "Hello, fork!".
ForkProof VectorProof() {
  EntryDraft d;
  d.seq = 1;
  d.timestamp_ms = 1700000000000;
  d.kind = 1;
  d.group = "general";
  const std::string_view a = "Hello, Pando!", b = "Hello, fork!";
  const KeyPair key = testing::TestKey(1);
  d.payload.assign(a.begin(), a.end());
  Entry x = testing::SignOrDie(d, key);
  d.payload.assign(b.begin(), b.end());
  Entry y = testing::SignOrDie(d, key);
  return ForkProof{{x}, {y}};
}

TEST(FrameTest, ForkProofGoldenVector) {
  const ForkProof proof = VectorProof();
  ASSERT_TRUE(VerifyForkProof(proof).ok());
  EXPECT_EQ(ToHex(proof.a.front().id()),
            "23322cf49360aeb34a2ffd15fdf902ff5a9599204191b0cc791793484a50f473");
  EXPECT_EQ(ToHex(proof.b.front().id()),
            "c009c40f9ad030071f44a0195d5e60f349dca2d8db61ec8484d4ad4a5b78f81a");
  const std::string second =
      "018a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f"
      "5c01000000000000000000000000000000000000000000000000000000000000"
      "0000000000000000000068e5cf8b01000001000767656e6572616c0c00000048"
      "656c6c6f2c20666f726b21247ac93eb512bea85c8b3e9b7de50b00cf1835e5ff"
      "5c91b61d1a1d5d366fcef5a9d036eea46714e2174319acf92c8b5b2ca4abf510"
      "467bcc0d99cc202aadc00f";
  EXPECT_EQ(ToHex(proof.b.front().bytes()), second);
  EXPECT_EQ(
      Hex(ForkProofFrame{EncodeForkProof(proof)}),
      "680100000501000000ac000000" + ToHex(proof.a.front().bytes()) + "01000000ab000000" + second);
}

TEST(FrameTest, NodeIdIsTheKeysHashPrefix) {
  const Hash32 key = Filled(0x01);
  const Hash32 h = Blake2b256(key);
  EXPECT_EQ(NodeIdOfKey(key), GetU64(h.data()));
  EXPECT_NE(NodeIdOfKey(key), NodeIdOfKey(Filled(0x02)));
}

TEST(FrameTest, EveryTypeRoundTrips) {
  const Hash32 k1 = Filled(0x01), k2 = Filled(0x02);
  const NodeId n1 = NodeIdOfKey(k1), n2 = NodeIdOfKey(k2);
  const std::vector<Frame> frames = {
      HelloFrame{1, ""},
      HelloFrame{1, "[::1]:7000"},
      GroupFrame{0xfffffffe, "catalog"},
      GoAwayFrame{"OVERSIZE", std::string(1000, 'x')},
      PingFrame{},
      MembershipFrame{3, Join{}, {}},
      MembershipFrame{3, ForwardJoin{n1, 6}, {{k1, "10.0.0.2:7000"}}},
      // The sender and the receiver need no record; repeats need one.
      MembershipFrame{
          4, Shuffle{kSender, 5, {kSender, n1, n2, n1, kReceiver}}, {{k2, "b:1"}, {k1, "a:1"}}},
      MembershipFrame{4, ShuffleReply{{n2}}, {{k2, "b:1"}}},
      BroadcastFrame{5, Gossip{Filled(9), 3, 4}, {1, 2, 3, 4}},
      BroadcastFrame{5, IHave{Filled(9), 3}, {}},
      BroadcastFrame{5, Graft{Filled(9), true}, {}},
      ReconcileFrame{6, true, {}},
      ReconcileFrame{6, false, {1, 2, 3}},
      WantFrame{7, {}},
      EntriesFrame{8, {{1}, {}, Bytes(70'000, 7)}},
      ForkProofFrame{{0}},
      ForkProofFrame{Bytes(kFrameBytesMax - 1, 3)},
      DhtFrame{DhtFind{1, Filled(4), 0}, {}},
      DhtFrame{DhtFound{2, {n1, kSender, n2}, {}}, {{k1, "a:1"}, {k2, "b:1"}}},
      DhtFrame{DhtStored{3, DhtStoreCode::kFar}, {}},
      NotCarriedFrame{"catalog"},
  };
  for (const Frame& f : frames) {
    const Bytes wire = EncodeFrame(f);
    Result<Frame> back = DecodeWhole(wire);
    ASSERT_TRUE(back.ok()) << ToHex(wire).substr(0, 80) << ": " << back.error().ToString();
    EXPECT_EQ(*back, f) << ToHex(wire).substr(0, 80);
    EXPECT_EQ(EncodeFrame(*back), wire);
  }
}

TEST(FrameTest, RefusesMalformedFrames) {
  const std::string malformed(codes::kMalformed);
  EXPECT_EQ(CodeOf("0100000063"), malformed);        // Unknown type 0x63.
  EXPECT_EQ(CodeOf("020000000400"), malformed);      // PING with a body.
  EXPECT_EQ(CodeOf("00000000"), malformed);          // Length 0.
  EXPECT_EQ(CodeOf("020000000101"), malformed);      // HELLO cut short.
  EXPECT_EQ(CodeOf("0400000001010000"), malformed);  // Bytes after the last field.
  EXPECT_EQ(CodeOf("0100000005"), malformed);        // FORK_PROOF without a proof.
  EXPECT_EQ(CodeOf("03000000010200"),                // HELLO version 2.
            std::string(codes::kUnknownVersion));
  EXPECT_EQ(CodeOf("0700000002070000000161"), "ok");       // GROUP "a".
  EXPECT_EQ(CodeOf("0700000002070000000120"), malformed);  // GROUP " ": invalid name.
  EXPECT_EQ(CodeOf("0600000002070000000000"), malformed);  // Cut before the name's bytes.
  // BROADCAST: unknown inner type, a PRUNE with trailing bytes, a GOSSIP whose entry length
  // differs from its header, an IHAVE cut short.
  EXPECT_EQ(CodeOf("0700000011010000000109"), malformed);
  EXPECT_EQ(CodeOf("080000001101000000010400"), malformed);
  {
    Bytes wire = EncodeFrame(BroadcastFrame{5, Gossip{Filled(9), 3, 4}, {1, 2, 3, 4}});
    wire.pop_back();
    wire[0] -= 1;
    EXPECT_EQ(DecodeWhole(wire).code(), codes::kMalformed);
  }
  EXPECT_EQ(CodeOf("0800000011010000000102aa"), malformed);
  // RECONCILE open flag 2; WANT over its count and cut short; ENTRIES with none.
  EXPECT_EQ(CodeOf("060000001201000000"
                   "02"),
            malformed);
  EXPECT_EQ(CodeOf("07000000130100000001"
                   "10"),
            malformed);  // 4097 ids announced.
  EXPECT_EQ(CodeOf("07000000130100000001"
                   "00"),
            malformed);  // One id announced, none sent.
  EXPECT_EQ(CodeOf("07000000140100000000"
                   "00"),
            malformed);
}

TEST(FrameTest, PeerRecordsMustMatchTheNamedNodes) {
  const Hash32 k1 = Filled(0x01), k2 = Filled(0x02);
  const NodeId n1 = NodeIdOfKey(k1);
  auto code = [](const MembershipFrame& f) {
    return std::string(DecodeWhole(EncodeFrame(f)).code());
  };
  const std::string malformed(codes::kMalformed);
  EXPECT_EQ(code(MembershipFrame{1, ForwardJoin{n1, 6}, {}}), malformed);             // Missing.
  EXPECT_EQ(code(MembershipFrame{1, ForwardJoin{n1, 6}, {{k2, "x:1"}}}), malformed);  // Wrong.
  EXPECT_EQ(code(MembershipFrame{1, ForwardJoin{n1, 6}, {{k1, "x:1"}, {k1, "y:1"}}}),
            malformed);                                                   // Twice.
  EXPECT_EQ(code(MembershipFrame{1, Join{}, {{k1, "x:1"}}}), malformed);  // Not named.
  // An empty address cannot be encoded; craft it by hand.
  Bytes wire = EncodeFrame(MembershipFrame{1, ForwardJoin{n1, 6}, {{k1, "x"}}});
  wire.pop_back();
  wire.back() = 0;  // Address length 0.
  wire[0] -= 1;
  EXPECT_EQ(DecodeWhole(wire).code(), codes::kMalformed);
}

TEST(FrameReaderTest, CutsAStreamFedByteByByte) {
  const std::vector<Frame> frames = {HelloFrame{1, "h:1"}, GroupFrame{1, "g"},
                                     ReconcileFrame{1, true, Bytes(5000, 3)}, WantFrame{1, {}}};
  Bytes stream;
  for (const Frame& f : frames) EncodeFrame(f, stream);
  FrameReader reader(kSender, kReceiver);
  std::vector<Frame> got;
  for (uint8_t b : stream) {
    reader.Append(ByteSpan(&b, 1));
    for (;;) {
      Result<std::optional<Frame>> next = reader.Next();
      ASSERT_TRUE(next.ok()) << next.error().ToString();
      if (!next->has_value()) break;
      got.push_back(std::move(**next));
    }
  }
  EXPECT_EQ(got, frames);
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(FrameReaderTest, RefusesAnOversizeLengthBeforeItsBodyAndStaysFailed) {
  FrameReader reader(kSender, kReceiver);
  Bytes header;
  PutU32(header, static_cast<uint32_t>(kFrameBytesMax + 1));
  reader.Append(header);
  Result<std::optional<Frame>> next = reader.Next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.code(), codes::kOversize);
  // Later bytes, even a valid frame, change nothing: the stream cannot be resynced.
  reader.Append(EncodeFrame(HelloFrame{1, ""}));
  EXPECT_EQ(reader.Next().code(), codes::kOversize);

  // The largest frame is accepted.
  FrameReader big(kSender, kReceiver);
  big.Append(EncodeFrame(ReconcileFrame{1, false, Bytes(kFrameBytesMax - 6, 0)}));
  Result<std::optional<Frame>> ok = big.Next();
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_TRUE(ok->has_value());
}

}  // namespace
}  // namespace pando::proto
