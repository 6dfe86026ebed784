// Tests of core/fork_proof.h: checking, encoding and decoding evidence of a forked feed.

#include "core/fork_proof.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/error_codes.h"
#include "testutil/feed.h"

namespace pando {
namespace {

using ::pando::testing::SignOrDie;
using ::pando::testing::TestKey;
using ::pando::testing::WithBadSignature;

constexpr int64_t kT0 = 1700000000000;

EntryDraft Draft(uint64_t seq, const Hash32& prev, std::string_view text) {
  EntryDraft d;
  d.seq = seq;
  d.prev = prev;
  d.timestamp_ms = kT0 + static_cast<int64_t>(seq);
  d.group = "general";
  d.kind = 1;
  d.payload.assign(text.begin(), text.end());
  return d;
}

Hash32 SomePrev() {
  Hash32 h;
  h.fill(0x42);
  return h;
}

class ForkProofTest : public ::testing::Test {
 protected:
  ForkProofTest()
      : key_(TestKey(1)),
        x_(SignOrDie(Draft(5, SomePrev(), "version A"), key_)),
        y_(SignOrDie(Draft(5, SomePrev(), "version B"), key_)) {}

  KeyPair key_;
  Entry x_;  // Two different entries the author signed with seq 5.
  Entry y_;
};

TEST_F(ForkProofTest, TwoSignedEntriesWithTheSameSeqProveAFork) {
  ForkProof proof{{x_}, {y_}};
  EXPECT_TRUE(VerifyForkProof(proof).ok());
  EXPECT_EQ(proof.author(), key_.public_key());
  EXPECT_EQ(proof.seq(), 5u);
}

TEST_F(ForkProofTest, EncodeDecodeRoundTrip) {
  ForkProof proof{{x_}, {y_}};
  Bytes bytes = EncodeForkProof(proof);
  EXPECT_EQ(bytes.size(), 4 + 4 + x_.bytes().size() + 4 + 4 + y_.bytes().size());
  EXPECT_EQ(GetU32(bytes.data()), 1u);
  auto back = DecodeForkProof(bytes);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->a, proof.a);
  EXPECT_EQ(back->b, proof.b);
  EXPECT_EQ(EncodeForkProof(*back), bytes);
  EXPECT_TRUE(VerifyForkProof(*back).ok());
}

TEST_F(ForkProofTest, EncodeRunMatchesOneSide) {
  ForkProof proof{{x_}, {y_}};
  Bytes a, b;
  EncodeRun(a, proof.a);
  EncodeRun(b, proof.b);
  Append(a, b);
  EXPECT_EQ(a, EncodeForkProof(proof));
}

TEST_F(ForkProofTest, SameEntryTwiceIsMalformed) {
  EXPECT_EQ(VerifyForkProof(ForkProof{{x_}, {x_}}).code(), codes::kMalformed);
}

TEST_F(ForkProofTest, DifferentSeqIsMalformed) {
  Entry z = SignOrDie(Draft(6, SomePrev(), "version A"), key_);
  EXPECT_EQ(VerifyForkProof(ForkProof{{x_}, {z}}).code(), codes::kMalformed);
}

TEST_F(ForkProofTest, DifferentAuthorsIsMalformed) {
  Entry other = SignOrDie(Draft(5, SomePrev(), "version B"), TestKey(2));
  EXPECT_EQ(VerifyForkProof(ForkProof{{x_}, {other}}).code(), codes::kMalformed);
}

TEST_F(ForkProofTest, BadSignatureOnEitherSideIsBadSignature) {
  Entry bad = WithBadSignature(y_);
  EXPECT_EQ(VerifyForkProof(ForkProof{{x_}, {bad}}).code(), codes::kBadSignature);
  EXPECT_EQ(VerifyForkProof(ForkProof{{bad}, {x_}}).code(), codes::kBadSignature);
}

TEST_F(ForkProofTest, LaterSignedEntryAuthenticatesASideWithABadOwnSignature) {
  // The author signed e6, which names e5's exact bytes (bad signature included) as prev.
  Entry e5 = WithBadSignature(y_);
  Entry e6 = SignOrDie(Draft(6, e5.id(), "after B"), key_);
  ForkProof proof{{x_}, {e5, e6}};
  EXPECT_TRUE(VerifyForkProof(proof).ok());
  auto back = DecodeForkProof(EncodeForkProof(proof));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->b.size(), 2u);
  EXPECT_TRUE(VerifyForkProof(*back).ok());
  // Without the later entry the same side proves nothing.
  EXPECT_EQ(VerifyForkProof(ForkProof{{x_}, {e5}}).code(), codes::kBadSignature);
}

TEST_F(ForkProofTest, LaterEntryOfAnotherAuthorDoesNotAuthenticate) {
  Entry e5 = WithBadSignature(y_);
  Entry e6 = SignOrDie(Draft(6, e5.id(), "after B"), TestKey(2));
  EXPECT_EQ(VerifyForkProof(ForkProof{{x_}, {e5, e6}}).code(), codes::kMalformed);
}

TEST_F(ForkProofTest, SideThatDoesNotLinkIsMalformed) {
  Entry unrelated = SignOrDie(Draft(6, SomePrev(), "not linked"), key_);
  EXPECT_EQ(VerifyForkProof(ForkProof{{x_}, {y_, unrelated}}).code(), codes::kMalformed);
}

TEST_F(ForkProofTest, EmptyOrOversizedSideIsMalformed) {
  EXPECT_EQ(VerifyForkProof(ForkProof{{x_}, {}}).code(), codes::kMalformed);
  EXPECT_EQ(VerifyForkProof(ForkProof{{}, {y_}}).code(), codes::kMalformed);

  std::vector<Entry> long_side = {y_};
  while (long_side.size() < kForkProofRunEntriesMax + 1) {
    const Entry& last = long_side.back();
    long_side.push_back(SignOrDie(Draft(last.seq() + 1, last.id(), "more"), key_));
  }
  EXPECT_EQ(VerifyForkProof(ForkProof{{x_}, long_side}).code(), codes::kMalformed);
  long_side.pop_back();
  EXPECT_TRUE(VerifyForkProof(ForkProof{{x_}, long_side}).ok());
}

TEST_F(ForkProofTest, DecodeRejectsEveryTruncation) {
  Entry e5 = WithBadSignature(y_);
  Entry e6 = SignOrDie(Draft(6, e5.id(), "after B"), key_);
  const Bytes bytes = EncodeForkProof(ForkProof{{x_}, {e5, e6}});
  for (size_t len = 0; len < bytes.size(); ++len) {
    auto p = DecodeForkProof(ByteSpan(bytes).first(len));
    EXPECT_FALSE(p.ok()) << "length " << len;
  }
}

TEST_F(ForkProofTest, DecodeRejectsTrailingBytes) {
  Bytes bytes = EncodeForkProof(ForkProof{{x_}, {y_}});
  bytes.push_back(0);
  EXPECT_EQ(DecodeForkProof(bytes).code(), codes::kMalformed);
}

TEST_F(ForkProofTest, DecodeRejectsBadCounts) {
  Bytes zero_count;
  PutU32(zero_count, 0);
  EncodeRun(zero_count, std::vector<Entry>{y_});
  EXPECT_EQ(DecodeForkProof(zero_count).code(), codes::kMalformed);

  Bytes too_many;
  PutU32(too_many, kForkProofRunEntriesMax + 1);
  EXPECT_EQ(DecodeForkProof(too_many).code(), codes::kMalformed);

  Bytes huge;
  PutU32(huge, UINT32_MAX);
  EXPECT_EQ(DecodeForkProof(huge).code(), codes::kMalformed);
}

TEST_F(ForkProofTest, DecodeRejectsEntryLengthPastTheEnd) {
  Bytes bytes;
  PutU32(bytes, 1);
  PutU32(bytes, UINT32_MAX);
  Append(bytes, x_.bytes());
  EXPECT_EQ(DecodeForkProof(bytes).code(), codes::kMalformed);
}

TEST_F(ForkProofTest, DecodeReportsTheEntryError) {
  Bytes bad_entry = x_.bytes();
  bad_entry[0] = 9;  // Unknown version.
  Bytes bytes;
  PutU32(bytes, 1);
  PutU32(bytes, static_cast<uint32_t>(bad_entry.size()));
  Append(bytes, bad_entry);
  EncodeRun(bytes, std::vector<Entry>{y_});
  EXPECT_EQ(DecodeForkProof(bytes).code(), codes::kUnknownVersion);
}

TEST_F(ForkProofTest, FlippedByteNeverYieldsAValidProof) {
  const Bytes good = EncodeForkProof(ForkProof{{x_}, {y_}});
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t mask : {0x01, 0xff}) {
      Bytes bad = good;
      bad[i] ^= mask;
      auto p = DecodeForkProof(bad);
      // Flips in payloads or signatures still decode, but then a side no longer verifies.
      EXPECT_FALSE(p.ok() && VerifyForkProof(*p).ok()) << "byte " << i << " mask " << int{mask};
    }
  }
}

}  // namespace
}  // namespace pando
