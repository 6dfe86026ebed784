// Names (src/names/): normalisation, confusables and reserved names, claims, and the
// embedded registry, including 50 clients racing for 100 names with a check that the
// recorded history of registrations and lookups is linearizable.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <thread>

#include "core/error_codes.h"
#include "names/registry.h"
#include "testutil/feed.h"

namespace pando::names {
namespace {

using testing::TestKey;
constexpr int64_t kNow = 1'700'000'000'000;

TEST(NameTest, NormalisationFoldsCaseAndRefusesWhatDocsNamesRefuses) {
  EXPECT_EQ(Normalize("Ada_Lovelace").value(), "ada_lovelace");
  EXPECT_EQ(Normalize("x-1").value(), "x-1");
  struct Bad {
    std::string typed;
    const char* why;
  };
  const std::vector<Bad> bad = {Bad{"ab", "3 to 32"},
                                Bad{std::string(33, 'a'), "3 to 32"},
                                Bad{"1abc", "start with a letter"},
                                Bad{"abc-", "ends with"},
                                Bad{"a--b", "in a row"},
                                Bad{"a_-b", "in a row"},
                                Bad{"ada lovelace", "holds ' '"},
                                Bad{"ad\xc3\xa1", "outside ASCII"},
                                Bad{"\xd0\xb0"
                                    "da",
                                    "outside ASCII"},
                                Bad{"Admin", "reserved"},
                                Bad{"adm1n", "reserved"},
                                Bad{"PANDO", "reserved"}};
  for (const Bad& b : bad) {
    auto r = Normalize(b.typed);
    ASSERT_FALSE(r.ok()) << b.typed;
    EXPECT_EQ(r.code(), codes::kInvalidName);
    EXPECT_NE(r.error().message.find(b.why), std::string::npos) << r.error().message;
  }
}

TEST(NameTest, ConfusableNamesShareASkeleton) {
  EXPECT_EQ(Skeleton("ada_lovelace"), Skeleton("ada-1ovelace"));
  EXPECT_EQ(Skeleton("modern"), Skeleton("modem"));
  EXPECT_EQ(Skeleton("b0b"), Skeleton("bob"));
  EXPECT_EQ(Skeleton("jim"), Skeleton("j1m"));
  EXPECT_NE(Skeleton("ada"), Skeleton("adb"));
}

TEST(NameTest, ClaimsRoundTripAndRefuseDamage) {
  const Claim c = SignRegistration("ada", TestKey(1), kNow);
  const Bytes b = EncodeClaim(c);
  auto back = DecodeClaim(b);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(EncodeClaim(*back), b);
  EXPECT_TRUE(VerifyClaim(*back).ok());
  EXPECT_TRUE(back->is_registration());
  for (size_t n = 0; n < b.size(); ++n) {
    EXPECT_EQ(DecodeClaim(ByteSpan(b).first(n)).code(), codes::kBadClaim) << n;
  }
  Bytes flipped = b;
  flipped[3] ^= 1;  // A byte of the name: the signature no longer covers it.
  EXPECT_EQ(VerifyClaim(DecodeClaim(flipped).value()).code(), codes::kBadSignature);
  Claim upper = c;
  upper.name = "ADA";
  EXPECT_EQ(VerifyClaim(upper).code(), codes::kInvalidName);
}

class RegistryTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteRegistry> Open() {
    auto r = SqliteRegistry::Open(dir_.path() + "/names.db");
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return std::move(r).value();
  }
  testing::TempDir dir_;
};

TEST_F(RegistryTest, RegisterLookupTakenInvalidAndTransfer) {
  auto reg = Open();
  const KeyPair ada = TestKey(1), bob = TestKey(2);
  EXPECT_EQ(reg->Register(SignRegistration("ada", ada, kNow))->outcome, Outcome::kRegistered);
  // The same name, or a confusable one, is taken, and the answer says by whom.
  for (const char* other : {"ada", "ada"}) {
    auto r = reg->Register(SignRegistration(other, bob, kNow));
    EXPECT_EQ(r->outcome, Outcome::kTaken);
    EXPECT_EQ(r->holder->owner, ada.public_key());
  }
  EXPECT_EQ(reg->Register(SignRegistration("b0b", bob, kNow))->outcome, Outcome::kRegistered);
  EXPECT_EQ(reg->Register(SignRegistration("bob", ada, kNow))->outcome, Outcome::kTaken);
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
            Outcome::kInvalid);  // Not the owner.
  const Claim move = SignTransfer("ada", ada, bob.public_key(), prev, kNow + 1);
  EXPECT_EQ(reg->Transfer(move)->outcome, Outcome::kTransferred);
  EXPECT_EQ(reg->Lookup("ada")->value().owner, bob.public_key());
  EXPECT_EQ(reg->Transfer(move)->outcome, Outcome::kStale);  // Cannot be replayed.
  EXPECT_EQ(reg->NamesOf(bob.public_key())->size(), 2u);
  EXPECT_TRUE(reg->NamesOf(ada.public_key())->empty());
  // It is on disk.
  reg.reset();
  EXPECT_EQ(Open()->Lookup("ada")->value().owner, bob.public_key());
}

// One operation as a client saw it: when it was invoked and when it returned.
struct Op {
  bool lookup = false;
  int client = 0;
  std::string name;
  std::chrono::steady_clock::time_point start, end;
  bool won = false;              // register: registered
  std::optional<PublicKey> saw;  // lookup: the owner it returned
};

// Register-if-absent and lookup on one name form a linearizable history iff there is at
// most one winner W, every lookup that ended before W started saw nothing, every lookup that
// started after W ended saw W's owner, a lookup that saw an owner saw W's, and no register that
// lost ended before W started (it lost to someone).
void CheckLinearizable(const std::vector<Op>& ops, const std::vector<PublicKey>& keys) {
  std::map<std::string, std::vector<const Op*>> by_name;
  for (const Op& o : ops) by_name[o.name].push_back(&o);
  for (const auto& [name, list] : by_name) {
    const Op* w = nullptr;
    int winners = 0;
    for (const Op* o : list) {
      if (!o->lookup && o->won) {
        w = o;
        ++winners;
      }
    }
    ASSERT_EQ(winners, 1) << name << " was won " << winners << " times";
    for (const Op* o : list) {
      if (o->lookup) {
        if (o->end < w->start) {
          EXPECT_FALSE(o->saw) << name << ": saw an owner before the win";
        }
        if (o->start > w->end) {
          ASSERT_TRUE(o->saw) << name << ": saw nothing after the win";
        }
        if (o->saw) {
          EXPECT_EQ(*o->saw, keys[w->client]) << name << ": saw another owner than the winner";
        }
      } else if (!o->won) {
        EXPECT_FALSE(o->end < w->start) << name << ": lost before anyone won";
      }
    }
  }
}

// The checker itself refuses histories that are not linearizable.
TEST(LinearizabilityTest, TheCheckerRefusesBadHistories) {
  // Static: EXPECT_FATAL_FAILURE may only use variables of static storage.
  static const std::vector<PublicKey> keys = {TestKey(1).public_key(), TestKey(2).public_key()};
  static const auto t0 = std::chrono::steady_clock::now();
  auto at = [](int ms) { return t0 + std::chrono::milliseconds(ms); };
  static const Op win{false, 0, "n", at(0), at(10), true, std::nullopt};
  static const Op win2{false, 1, "n", at(20), at(30), true, std::nullopt};
  static const Op late_nothing{true, 1, "n", at(40), at(50), false, std::nullopt};
  static const Op early_owner{true, 1, "n", at(-20), at(-10), false, keys[0]};
  static const Op other_owner{true, 1, "n", at(40), at(50), false, keys[1]};
  static const Op lost_first{false, 1, "n", at(-20), at(-10), false, std::nullopt};
  static const Op ok_lookup{true, 1, "n", at(5), at(6), false, std::nullopt};
  CheckLinearizable({win, ok_lookup}, keys);  // Overlapping: either answer is fine.
  EXPECT_FATAL_FAILURE(CheckLinearizable({win, win2}, keys), "won 2 times");
  EXPECT_FATAL_FAILURE(CheckLinearizable({win, late_nothing}, keys), "saw nothing after");
  EXPECT_NONFATAL_FAILURE(CheckLinearizable({win, early_owner}, keys), "before the win");
  EXPECT_NONFATAL_FAILURE(CheckLinearizable({win, other_owner}, keys), "another owner");
  EXPECT_NONFATAL_FAILURE(CheckLinearizable({win, lost_first}, keys), "lost before");
}

TEST_F(RegistryTest, FiftyClientsRaceForAHundredNamesAndEachIsWonOnce) {
  constexpr int kClients = 50, kNames = 100;
  (void)Open();  // Creates the schema once.
  std::vector<KeyPair> keypairs;
  std::vector<PublicKey> keys;
  for (int i = 0; i < kClients; ++i) {
    keypairs.push_back(TestKey(static_cast<uint8_t>(i + 1)));
    keys.push_back(keypairs.back().public_key());
  }
  std::vector<std::vector<Op>> history(kClients);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      // Each client has its own connection to the file, as separate processes would.
      auto reg = SqliteRegistry::Open(dir_.path() + "/names.db").value();
      std::mt19937 rng(c);
      std::vector<int> order(kNames);
      for (int i = 0; i < kNames; ++i) order[i] = i;
      std::shuffle(order.begin(), order.end(), rng);
      ++ready;
      while (ready < kClients) std::this_thread::yield();
      for (int i : order) {
        const std::string name = "user" + std::to_string(i);
        Op op;
        op.client = c;
        op.name = name;
        op.lookup = rng() % 3 == 0;
        op.start = std::chrono::steady_clock::now();
        if (op.lookup) {
          auto r = reg->Lookup(name);
          ASSERT_TRUE(r.ok()) << r.error().ToString();
          if (*r) op.saw = (*r)->owner;
        } else {
          auto r = reg->Register(SignRegistration(name, keypairs[c], kNow));
          ASSERT_TRUE(r.ok()) << r.error().ToString();
          ASSERT_NE(r->outcome, Outcome::kInvalid);
          op.won = r->outcome == Outcome::kRegistered;
        }
        op.end = std::chrono::steady_clock::now();
        history[c].push_back(op);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<Op> all;
  for (auto& h : history) all.insert(all.end(), h.begin(), h.end());
  // Every name was tried by about 33 clients; each must have exactly one winner, whom the
  // registry still names.
  CheckLinearizable(all, keys);
  auto reg = Open();
  for (int i = 0; i < kNames; ++i) {
    const std::string name = "user" + std::to_string(i);
    const Op* winner = nullptr;
    for (const Op& o : all) {
      if (o.name == name && o.won) winner = &o;
    }
    ASSERT_NE(winner, nullptr);
    EXPECT_EQ(reg->Lookup(name)->value().owner, keys[winner->client]) << name;
  }
}

}  // namespace
}  // namespace pando::names
