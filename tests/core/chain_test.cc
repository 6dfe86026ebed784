// Tests of core/chain.h: authenticating a run of entries with as few signature checks as
// the run allows.

#include "core/chain.h"

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

EntryDraft DraftAfter(const Entry* prev, int64_t ts, std::string_view text) {
  EntryDraft d;
  d.seq = prev ? prev->seq() + 1 : 1;
  d.prev = prev ? prev->id() : Hash32{};
  d.timestamp_ms = ts;
  d.group = "general";
  d.kind = 1;
  d.payload.assign(text.begin(), text.end());
  return d;
}

// An honest feed of n entries; entries listed in bad_signatures get a corrupted signature,
// and later entries link to the corrupted bytes.
std::vector<Entry> MakeFeed(const KeyPair& key, size_t n, std::vector<size_t> bad_signatures = {}) {
  std::vector<Entry> feed;
  for (size_t i = 0; i < n; ++i) {
    Entry e = SignOrDie(
        DraftAfter(feed.empty() ? nullptr : &feed.back(), kT0 + static_cast<int64_t>(i) * 1000,
                   "entry " + std::to_string(i + 1)),
        key);
    if (std::find(bad_signatures.begin(), bad_signatures.end(), i) != bad_signatures.end()) {
      e = WithBadSignature(e);
    }
    feed.push_back(std::move(e));
  }
  return feed;
}

TEST(AuthenticateRunTest, EmptyRun) {
  RunVerdict v = AuthenticateRun({});
  EXPECT_EQ(v.linked, 0u);
  EXPECT_EQ(v.authenticated, 0u);
  EXPECT_EQ(v.signatures_checked, 0u);
  EXPECT_TRUE(v.link_error.ok());
}

TEST(AuthenticateRunTest, SingleEntry) {
  std::vector<Entry> run = MakeFeed(TestKey(1), 1);
  RunVerdict v = AuthenticateRun(run);
  EXPECT_EQ(v.linked, 1u);
  EXPECT_EQ(v.authenticated, 1u);
  EXPECT_EQ(v.signatures_checked, 1u);
  EXPECT_TRUE(v.link_error.ok());
}

TEST(AuthenticateRunTest, HonestRunOf100CostsOneSignatureCheck) {
  std::vector<Entry> run = MakeFeed(TestKey(1), 100);
  RunVerdict v = AuthenticateRun(run);
  EXPECT_EQ(v.linked, 100u);
  EXPECT_EQ(v.authenticated, 100u);
  EXPECT_EQ(v.signatures_checked, 1u);
  EXPECT_TRUE(v.link_error.ok());
}

TEST(AuthenticateRunTest, RunNeedNotStartAtSeq1) {
  std::vector<Entry> feed = MakeFeed(TestKey(1), 20);
  RunVerdict v = AuthenticateRun(std::span(feed).subspan(5));
  EXPECT_EQ(v.linked, 15u);
  EXPECT_EQ(v.authenticated, 15u);
  EXPECT_EQ(v.signatures_checked, 1u);
}

TEST(AuthenticateRunTest, BadLastSignatureLeavesItUnauthenticated) {
  std::vector<Entry> run = MakeFeed(TestKey(1), 100, {99});
  RunVerdict v = AuthenticateRun(run);
  EXPECT_EQ(v.linked, 100u);  // The corrupted entry still links: its prev is right.
  EXPECT_EQ(v.authenticated, 99u);
  EXPECT_EQ(v.signatures_checked, 2u);
  EXPECT_TRUE(v.link_error.ok());
}

TEST(AuthenticateRunTest, BadSignatureInTheMiddleIsCoveredByALaterOne) {
  // Entry 50's own signature is bad, but entry 51 is signed and names entry 50's exact bytes.
  std::vector<Entry> run = MakeFeed(TestKey(1), 100, {49});
  ASSERT_FALSE(VerifyEntrySignature(run[49]).ok());
  RunVerdict v = AuthenticateRun(run);
  EXPECT_EQ(v.linked, 100u);
  EXPECT_EQ(v.authenticated, 100u);
  EXPECT_EQ(v.signatures_checked, 1u);
}

TEST(AuthenticateRunTest, BadSignaturesAtTheTailCostOneCheckEach) {
  std::vector<Entry> run = MakeFeed(TestKey(1), 10, {6, 7, 8, 9});
  RunVerdict v = AuthenticateRun(run);
  EXPECT_EQ(v.linked, 10u);
  EXPECT_EQ(v.authenticated, 6u);
  EXPECT_EQ(v.signatures_checked, 5u);
}

TEST(AuthenticateRunTest, NoValidSignatureAuthenticatesNothing) {
  std::vector<Entry> run = MakeFeed(TestKey(1), 5, {0, 1, 2, 3, 4});
  RunVerdict v = AuthenticateRun(run);
  EXPECT_EQ(v.linked, 5u);
  EXPECT_EQ(v.authenticated, 0u);
  EXPECT_EQ(v.signatures_checked, 5u);
}

TEST(AuthenticateRunTest, WrongPrevInTheMiddleStopsTheLinkedPart) {
  KeyPair key = TestKey(1);
  std::vector<Entry> run = MakeFeed(key, 100);
  // Replace entry 51 (index 50) with one that names a different prev.
  EntryDraft d = DraftAfter(&run[49], run[50].timestamp_ms(), "forged link");
  d.prev.fill(0x77);
  run[50] = SignOrDie(d, key);
  RunVerdict v = AuthenticateRun(run);
  EXPECT_EQ(v.linked, 50u);
  EXPECT_EQ(v.link_error.code(), codes::kWrongPrev);
  EXPECT_EQ(v.authenticated, 50u);
  EXPECT_EQ(v.signatures_checked, 1u);
}

TEST(AuthenticateRunTest, MissingEntryIsASeqGap) {
  std::vector<Entry> run = MakeFeed(TestKey(1), 100);
  run.erase(run.begin() + 50);
  RunVerdict v = AuthenticateRun(run);
  EXPECT_EQ(v.linked, 50u);
  EXPECT_EQ(v.link_error.code(), codes::kSeqGap);
  EXPECT_EQ(v.authenticated, 50u);
}

TEST(AuthenticateRunTest, RepeatedOrDecreasingSeqIsASeqGap) {
  std::vector<Entry> feed = MakeFeed(TestKey(1), 5);
  std::vector<Entry> repeated = {feed[0], feed[1], feed[1], feed[2]};
  RunVerdict v = AuthenticateRun(repeated);
  EXPECT_EQ(v.linked, 2u);
  EXPECT_EQ(v.link_error.code(), codes::kSeqGap);

  std::vector<Entry> reversed = {feed[3], feed[2]};
  v = AuthenticateRun(reversed);
  EXPECT_EQ(v.linked, 1u);
  EXPECT_EQ(v.link_error.code(), codes::kSeqGap);
}

TEST(AuthenticateRunTest, TimestampRegressionStopsTheLinkedPart) {
  KeyPair key = TestKey(1);
  std::vector<Entry> run = MakeFeed(key, 3);
  run.push_back(SignOrDie(DraftAfter(&run.back(), run.back().timestamp_ms() - 1, "back"), key));
  RunVerdict v = AuthenticateRun(run);
  EXPECT_EQ(v.linked, 3u);
  EXPECT_EQ(v.link_error.code(), codes::kTimestampRegression);
  EXPECT_EQ(v.authenticated, 3u);
}

TEST(AuthenticateRunTest, ChangeOfAuthorStopsTheLinkedPart) {
  std::vector<Entry> alice = MakeFeed(TestKey(1), 3);
  std::vector<Entry> bob = MakeFeed(TestKey(2), 3);
  // Bob's entry 3 even names Alice's entry 2 as prev: only the author differs.
  KeyPair bob_key = TestKey(2);
  std::vector<Entry> run = {alice[0], alice[1],
                            SignOrDie(DraftAfter(&alice[1], alice[1].timestamp_ms(), "x"), bob_key),
                            bob[2]};
  RunVerdict v = AuthenticateRun(run);
  EXPECT_EQ(v.linked, 2u);
  EXPECT_FALSE(v.link_error.ok());
  EXPECT_EQ(v.link_error.code(), codes::kSeqGap);  // The code chain.cc reports today.
  EXPECT_EQ(v.authenticated, 2u);
  EXPECT_EQ(v.signatures_checked, 1u);

  std::vector<Entry> mixed = {alice[0], bob[0]};
  v = AuthenticateRun(mixed);
  EXPECT_EQ(v.linked, 1u);
  EXPECT_FALSE(v.link_error.ok());
  EXPECT_EQ(v.authenticated, 1u);
}

TEST(AuthenticateRunTest, VerdictDoesNotDependOnBatching) {
  // Checking every entry alone or the run at once authenticates the same entries.
  std::vector<Entry> run = MakeFeed(TestKey(1), 12, {3, 4, 11});
  RunVerdict whole = AuthenticateRun(run);
  ASSERT_EQ(whole.linked, run.size());
  for (size_t i = 0; i < run.size(); ++i) {
    bool by_run = i < whole.authenticated;
    // Authenticated alone or through a later entry whose own signature verifies.
    bool by_rule = false;
    for (size_t j = i; j < run.size(); ++j) by_rule |= VerifyEntrySignature(run[j]).ok();
    EXPECT_EQ(by_run, by_rule) << "entry " << i;
  }
}

}  // namespace
}  // namespace pando
