// Names (src/names/): normalisation, confusables and reserved names, claims, and the
// embedded registry, including 50 clients racing for 100 names with a check that the
// recorded history of registrations and lookups is linearizable. The registry's behaviour and
// the race are shared with the etcd backend's tests (behaviour.h, race.h, etcd_test.cc).
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include "core/error_codes.h"
#include "names/behaviour.h"
#include "names/race.h"
#include "names/registry.h"
#include "testutil/doc.h"
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

// The golden vector of docs/names.md ("Golden vector"): a registration of ada_lovelace by the
// key of seed 01 01 ... 01 at 1,700,000,000,000 ms. Ed25519 signatures are deterministic, so
// the bytes never change; tests/web/app_test.mjs checks the browser's encoder against the page.
TEST(NameTest, TheGoldenClaimIsTheOneDocsNamesGives) {
  const Bytes claim = EncodeClaim(SignRegistration("ada_lovelace", TestKey(1), kNow));
  const std::string hex = ToHex(claim);
  std::ifstream f(std::string(PANDO_SOURCE_DIR) + "/docs/names.md");
  std::stringstream page;
  page << f.rdbuf();
  // The page wraps the hex at 64 characters a line.
  std::string wrapped;
  for (size_t i = 0; i < hex.size(); i += 64) wrapped += hex.substr(i, 64) + "\n";
  EXPECT_NE(page.str().find(wrapped), std::string::npos) << "docs/names.md should hold\n"
                                                         << wrapped;
}

// docs/names.md lists the reserved words in the first code block under "### Reserved names";
// it must be exactly the list the code refuses.
TEST(NameTest, TheReservedNamesAreTheOnesDocsNamesLists) {
  std::vector<std::string> listed;
  for (const std::string& line : testing::DocBlockAfter(
           std::string(PANDO_SOURCE_DIR) + "/docs/names.md", "### Reserved names")) {
    std::istringstream words(line);
    for (std::string w; words >> w;) listed.push_back(w);
  }
  ASSERT_FALSE(listed.empty()) << "docs/names.md has no code block under ### Reserved names";
  std::vector<std::string> code(kReservedNames.begin(), kReservedNames.end());
  std::sort(listed.begin(), listed.end());
  std::sort(code.begin(), code.end());
  EXPECT_EQ(listed, code);
  EXPECT_EQ(std::adjacent_find(code.begin(), code.end()), code.end()) << "a word twice";
  for (std::string_view typed : {"admin", "adm1n", "Admin", "m0d", "rnod", "pand0"}) {
    EXPECT_EQ(Normalize(typed).code(), codes::kInvalidName) << typed;
  }
  for (std::string_view typed : {"admins", "moderators"}) EXPECT_TRUE(Normalize(typed).ok());
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
  CheckRegistryBehaviour([this] { return std::unique_ptr<Registry>(Open()); });
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
  (void)Open();  // Creates the schema once.
  Race race;
  // Each client has its own connection to the file, as separate processes would.
  race.open = [this](int) -> std::unique_ptr<Registry> {
    return SqliteRegistry::Open(dir_.path() + "/names.db").value();
  };
  race.Run(kNow);
  race.CheckEachWonOnceAndHeld(*Open());
}

}  // namespace
}  // namespace pando::names
