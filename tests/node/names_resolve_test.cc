// node::ResolveName (node/names.h): which attestations make a name, in log order, for a
// node that trusts some attesters and not others.
#include <gtest/gtest.h>

#include "core/kinds.h"
#include "node/names.h"
#include "testutil/feed.h"

namespace pando::node {
namespace {

using testing::TestKey;
constexpr int64_t kNow = 1'700'000'000'000;

class ResolveTest : public ::testing::Test {
 protected:
  // An attestation of claim c by `by`, the next entry of by's feed in the catalog.
  Entry Attest(const KeyPair& by, const names::Claim& c) {
    return Attest(by, names::EncodeClaim(c));
  }
  Entry Attest(const KeyPair& by, Bytes payload) {
    EntryDraft d;
    d.group = "catalog";
    d.kind = kinds::kName;
    d.payload = std::move(payload);
    d.timestamp_ms = kNow + static_cast<int64_t>(log_.size());
    auto& head = heads_[by.public_key()];
    d.seq = head.first + 1;
    d.prev = head.second;
    Entry e = Entry::Sign(d, by).value();
    head = {d.seq, e.id()};
    log_.push_back(e);
    return e;
  }
  std::optional<Resolved> Resolve(std::string_view name) {
    return ResolveName(log_, name, [&](const PublicKey& k) { return k == registry_.public_key(); });
  }
  const KeyPair registry_ = TestKey(10), rogue_ = TestKey(11);
  const KeyPair ada_ = TestKey(1), bob_ = TestKey(2);
  std::vector<Entry> log_;
  std::map<PublicKey, std::pair<uint64_t, Hash32>> heads_;
};

TEST_F(ResolveTest, TheFirstTrustedRegistrationHoldsTheSkeleton) {
  Attest(rogue_, names::SignRegistration("ada", bob_, kNow));  // Earlier, but not trusted.
  Attest(registry_, Bytes{1, 2, 3});                           // Not a claim.
  const Entry won = Attest(registry_, names::SignRegistration("ada", ada_, kNow));
  Attest(registry_, names::SignRegistration("ada", bob_, kNow));  // Taken already.
  auto r = Resolve("ada");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->record.owner, ada_.public_key());
  EXPECT_EQ(r->attestation, won.id());
  EXPECT_EQ(r->attester, registry_.public_key());
  EXPECT_FALSE(Resolve("bob"));
}

TEST_F(ResolveTest, AConfusableNameDoesNotResolveToTheHolder) {
  // Attestations are read per skeleton: "b0b" and "bob" share one.
  Attest(registry_, names::SignRegistration("b0b", bob_, kNow));
  Attest(registry_, names::SignRegistration("bob", ada_, kNow));
  EXPECT_EQ(Resolve("b0b")->record.owner, bob_.public_key());
  EXPECT_FALSE(Resolve("bob"));
}

TEST_F(ResolveTest, TransfersFollowTheChainOfRecords) {
  const names::Claim reg = names::SignRegistration("ada", ada_, kNow);
  Attest(registry_, reg);
  const Hash32 prev = names::ClaimId(reg);
  // Not the owner's signature, an unknown prev, or an untrusted attester: ignored.
  Attest(registry_, names::SignTransfer("ada", bob_, bob_.public_key(), prev, kNow + 1));
  Attest(registry_, names::SignTransfer("ada", ada_, bob_.public_key(), Hash32{7}, kNow + 1));
  Attest(rogue_, names::SignTransfer("ada", ada_, bob_.public_key(), prev, kNow + 1));
  EXPECT_EQ(Resolve("ada")->record.owner, ada_.public_key());
  const names::Claim move = names::SignTransfer("ada", ada_, bob_.public_key(), prev, kNow + 2);
  Attest(registry_, move);
  EXPECT_EQ(Resolve("ada")->record.owner, bob_.public_key());
  // The old record cannot be moved again; the new owner can move it on.
  Attest(registry_, names::SignTransfer("ada", ada_, ada_.public_key(), prev, kNow + 3));
  EXPECT_EQ(Resolve("ada")->record.owner, bob_.public_key());
  Attest(registry_,
         names::SignTransfer("ada", bob_, ada_.public_key(), names::ClaimId(move), kNow + 4));
  EXPECT_EQ(Resolve("ada")->record.owner, ada_.public_key());
}

TEST(NameJsonTest, ARecordFromAnotherNodeMustBeItsClaims) {
  const names::Claim c = names::SignRegistration("ada", TestKey(1), kNow);
  nlohmann::json j = RecordJson(names::Record{c.name, c.owner, c});
  EXPECT_TRUE(RecordFromJson(j).ok());
  nlohmann::json other_owner = j;
  other_owner["owner"] = AuthorId(TestKey(2).public_key());
  EXPECT_FALSE(RecordFromJson(other_owner).ok());
  nlohmann::json forged = j;
  std::string hex = j["claim"];
  hex[10] = hex[10] == '0' ? '1' : '0';  // A byte of the name: the signature breaks.
  forged["claim"] = hex;
  EXPECT_FALSE(RecordFromJson(forged).ok());
  EXPECT_FALSE(AnswerFromJson(nlohmann::json{{"outcome", "won"}}).ok());
  auto taken = AnswerFromJson(nlohmann::json{{"outcome", "taken"}, {"holder", j}});
  ASSERT_TRUE(taken.ok());
  EXPECT_EQ(taken->outcome, names::Outcome::kTaken);
  EXPECT_EQ(taken->holder->owner, c.owner);
}

}  // namespace
}  // namespace pando::node
