// What every Registry backend does (docs/names.md, "The registry"), as one test body that the
// tests of each backend run on it (names_test.cc, etcd_test.cc).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>

#include "names/registry.h"
#include "testutil/feed.h"

namespace pando::names {

// gtest prints an outcome by name.
inline void PrintTo(Outcome o, std::ostream* os) { *os << OutcomeName(o); }

// open() gives a new object on the same, empty registry each time it is called.
inline void CheckRegistryBehaviour(const std::function<std::unique_ptr<Registry>()>& open) {
  using testing::TestKey;
  constexpr int64_t kNow = 1'700'000'000'000;
  auto reg = open();
  const KeyPair ada = TestKey(1), bob = TestKey(2), carol = TestKey(3);
  const Claim first = SignRegistration("ada", ada, kNow);
  EXPECT_EQ(reg->Register(first)->outcome, Outcome::kRegistered);
  // The same claim again is a retry whose first answer was lost: the same answer.
  EXPECT_EQ(reg->Register(first)->outcome, Outcome::kRegistered);
  // Any other claim to the same name, or to a confusable one, is taken, and the answer says
  // by whom.
  auto taken = reg->Register(SignRegistration("ada", bob, kNow));
  EXPECT_EQ(taken->outcome, Outcome::kTaken);
  EXPECT_EQ(taken->holder->owner, ada.public_key());
  EXPECT_EQ(reg->Register(SignRegistration("ada", ada, kNow + 1))->outcome, Outcome::kTaken);
  EXPECT_EQ(reg->Register(SignRegistration("b0b", bob, kNow))->outcome, Outcome::kRegistered);
  taken = reg->Register(SignRegistration("bob", ada, kNow));
  EXPECT_EQ(taken->outcome, Outcome::kTaken);
  EXPECT_EQ(taken->holder->name, "b0b");
  EXPECT_FALSE(reg->Lookup("bob")->has_value());  // b0b holds the skeleton, not bob.
  // A claim signed by someone else than its owner, or with a bad name, is invalid.
  Claim forged = SignRegistration("carol", bob, kNow);
  forged.owner = ada.public_key();
  EXPECT_EQ(reg->Register(forged)->outcome, Outcome::kInvalid);
  EXPECT_EQ(reg->Register(SignRegistration("root", bob, kNow))->outcome, Outcome::kInvalid);

  auto found = reg->Lookup("ADA");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->owner, ada.public_key());
  EXPECT_TRUE(VerifyClaim((*found)->claim).ok());  // Anyone can check it.
  EXPECT_FALSE(reg->Lookup("nobody")->has_value());
  EXPECT_FALSE(reg->Lookup("not valid!")->has_value());

  // Transfer: signed by the current owner, naming the current record.
  const Hash32 prev = ClaimId((*found)->claim);
  EXPECT_EQ(reg->Transfer(SignTransfer("ada", bob, bob.public_key(), prev, kNow))->outcome,
            Outcome::kInvalid);                                 // Not the owner.
  EXPECT_EQ(reg->Transfer(first)->outcome, Outcome::kInvalid);  // Not a transfer.
  const Claim move = SignTransfer("ada", ada, bob.public_key(), prev, kNow + 1);
  EXPECT_EQ(reg->Transfer(move)->outcome, Outcome::kTransferred);
  EXPECT_EQ(reg->Lookup("ada")->value().owner, bob.public_key());
  EXPECT_EQ(reg->Transfer(move)->outcome, Outcome::kTransferred);  // A retry, as above.
  EXPECT_EQ(reg->Register(first)->outcome, Outcome::kTaken);       // No longer the record.
  EXPECT_EQ(reg->NamesOf(bob.public_key())->size(), 2u);
  EXPECT_TRUE(reg->NamesOf(ada.public_key())->empty());
  const Claim onward = SignTransfer("ada", bob, carol.public_key(), ClaimId(move), kNow + 2);
  EXPECT_EQ(reg->Transfer(onward)->outcome, Outcome::kTransferred);
  auto stale = reg->Transfer(move);  // Cannot be replayed once the name moved on.
  EXPECT_EQ(stale->outcome, Outcome::kStale);
  EXPECT_EQ(stale->holder->owner, carol.public_key());
  // A transfer to oneself only renews the claim.
  const Claim renew = SignTransfer("ada", carol, carol.public_key(), ClaimId(onward), kNow + 3);
  EXPECT_EQ(reg->Transfer(renew)->outcome, Outcome::kTransferred);
  auto names_of_bob = reg->NamesOf(bob.public_key());
  ASSERT_EQ(names_of_bob->size(), 1u);
  EXPECT_EQ((*names_of_bob)[0].name, "b0b");
  auto names_of_carol = reg->NamesOf(carol.public_key());
  ASSERT_EQ(names_of_carol->size(), 1u);
  EXPECT_EQ(EncodeClaim((*names_of_carol)[0].claim), EncodeClaim(renew));
  // It outlives the object.
  reg.reset();
  EXPECT_EQ(open()->Lookup("ada")->value().owner, carol.public_key());
}

}  // namespace pando::names
