// The store's CRDT state (src/store/crdt.cc): it equals the in-memory merge of the same
// entries, whatever order they arrive in, and rebuilding it from the entries alone gives
// the state that was kept incrementally.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "core/error_codes.h"
#include "core/limits.h"
#include "crdt/workload.h"  // tests/crdt/workload.h
#include "store/store.h"
#include "testutil/feed.h"

namespace pando::store {
namespace {

constexpr int64_t kStart = 1'700'000'000'000;
constexpr int64_t kNow = kStart + 10'000'000;

class CrdtStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("pando-crdt-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    store_.reset();
    auto s = Store::Open(StoreOptions{(dir_ / "pando.db").string()});
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    store_ = std::move(s).value();
  }
  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
};

// Writers that see each other's entries late: each writes from its own replica and
// receives the others' entries in random interleavings (each feed in order).
struct Workload {
  std::vector<std::vector<Entry>> feeds;  // per author, in seq order
  crdt::Replica all;                      // every entry applied
};

Workload MakeWorkload(uint64_t seed, size_t authors, size_t ops) {
  std::mt19937_64 rng(seed);
  Workload w;
  std::vector<crdt::Replica> replicas(authors);
  std::vector<testing::OpFeed> feeds;
  for (size_t i = 0; i < authors; ++i) {
    feeds.emplace_back(testing::TestKey(static_cast<uint8_t>(i + 1)), "kv", kStart);
  }
  w.feeds.resize(authors);
  std::vector<size_t> seen(authors * authors, 0);  // seen[a*authors+b]: b's entries a applied
  for (size_t k = 0; k < ops; ++k) {
    const size_t a = rng() % authors;
    // Catch up on a random prefix of some other feed.
    const size_t b = rng() % authors;
    size_t& upto = seen[a * authors + b];
    const size_t target = upto + rng() % (w.feeds[b].size() - upto + 1);
    for (; upto < target; ++upto) (void)replicas[a].Apply(w.feeds[b][upto]);
    crdt::Op op = testing::RandomOp(rng, replicas[a], "kv", feeds[a].key().public_key());
    Entry e = feeds[a].Next(std::move(op), replicas[a].last_hlc(), 1 + rng() % 3);
    EXPECT_TRUE(replicas[a].Apply(e).ok());
    seen[a * authors + a] = w.feeds[a].size() + 1;
    w.feeds[a].push_back(e);
    EXPECT_TRUE(w.all.Apply(e).ok());
  }
  return w;
}

// Submits the feeds in a random interleaving, in small random batches.
void Deliver(Store& store, const Workload& w, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<size_t> next(w.feeds.size(), 0);
  std::vector<Entry> batch;
  size_t left = 0;
  for (const auto& f : w.feeds) left += f.size();
  while (left > 0) {
    const size_t a = rng() % w.feeds.size();
    if (next[a] == w.feeds[a].size()) continue;
    batch.push_back(w.feeds[a][next[a]++]);
    --left;
    if (rng() % 4 == 0 || left == 0) {
      for (const Status& s : store.Add(batch, kNow)) ASSERT_TRUE(s.ok()) << s.error().ToString();
      batch.clear();
    }
  }
}

TEST_F(CrdtStoreTest, StateEqualsTheInMemoryMergeWhateverTheOrder) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const Workload w = MakeWorkload(seed, 4, 150);
    // A fresh store per seed.
    store_.reset();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    Reopen();
    Deliver(*store_, w, seed * 7);
    auto dump = store_->CrdtDump();
    ASSERT_TRUE(dump.ok()) << dump.error().ToString();
    ASSERT_EQ(*dump, w.all.Dump()) << "failing seed " << seed;
    auto hlc = store_->CrdtLastHlc();
    ASSERT_TRUE(hlc.ok());
    EXPECT_EQ(*hlc, w.all.last_hlc());
  }
}

TEST_F(CrdtStoreTest, RebuildFromEntriesAloneEqualsTheIncrementalState) {
  const Workload w = MakeWorkload(42, 5, 2000);
  Deliver(*store_, w, 43);
  auto incremental = store_->CrdtDump();
  ASSERT_TRUE(incremental.ok());
  ASSERT_EQ(*incremental, w.all.Dump());
  auto applied = store_->RebuildCrdt();
  ASSERT_TRUE(applied.ok()) << applied.error().ToString();
  EXPECT_EQ(*applied, 2000);
  auto rebuilt = store_->CrdtDump();
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_EQ(*rebuilt, *incremental);
  // And after reopening: the state is on disk, not in memory.
  Reopen();
  auto reopened = store_->CrdtDump();
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(*reopened, *incremental);
}

TEST_F(CrdtStoreTest, InvalidOperationsAreStoredButChangeNothing) {
  testing::OpFeed f(testing::TestKey(1), "kv", kStart);
  crdt::Op good;
  good.name = "m";
  good.action = crdt::MapUpdate{{{"a", "1"}}};
  Entry ok = f.Next(good, 0);
  // A clock far ahead of the entry's timestamp would win every later write.
  Entry far = f.Next(good, crdt::HlcFromMs(kStart + limits::kFutureSkewMsMax + 100));
  // A kind 3 entry whose payload is not an operation.
  testing::FeedBuilder raw(testing::TestKey(2), "kv");
  EntryDraft d;
  d.timestamp_ms = kStart;
  d.group = "kv";
  d.kind = kinds::kCrdt;
  d.payload = {1, 2, 3};
  Entry junk = Entry::Sign(d, testing::TestKey(2)).value();
  for (const Status& s : store_->Add(std::vector<Entry>{ok, far, junk}, kNow)) {
    EXPECT_TRUE(s.ok()) << s.error().ToString();
  }
  crdt::Replica r;
  ASSERT_TRUE(r.Apply(ok).ok());
  EXPECT_EQ(r.Apply(far).code(), codes::kBadOperation);
  EXPECT_EQ(r.Apply(junk).code(), codes::kBadOperation);
  auto dump = store_->CrdtDump();
  ASSERT_TRUE(dump.ok());
  EXPECT_EQ(*dump, r.Dump());
  auto cell = store_->CrdtMapField(crdt::ObjectKey{"kv", {}, crdt::Type::kMap, "m"}, "a");
  ASSERT_TRUE(cell.ok());
  ASSERT_TRUE(cell->has_value());
  EXPECT_EQ((*cell)->value, "1");
  EXPECT_EQ((*cell)->stamp.entry, ok.id());
  auto applied = store_->RebuildCrdt();
  ASSERT_TRUE(applied.ok());
  EXPECT_EQ(*applied, 1);
}

TEST_F(CrdtStoreTest, ObjectsAreListedByGroupOwnerAndType) {
  testing::OpFeed f(testing::TestKey(1), "kv", kStart);
  crdt::Op profile;
  profile.personal = true;
  profile.name = "profile";
  profile.action = crdt::MapUpdate{{{"name", "\"Ada\""}}};
  crdt::Op follows;
  follows.personal = true;
  follows.name = "follows";
  follows.action = crdt::SetAdd{{"\"x\""}};
  crdt::Op shared;
  shared.name = "likes";
  shared.action = crdt::CounterAdd{3};
  std::vector<Entry> es{f.Next(profile, 0), f.Next(follows, 0), f.Next(shared, 0)};
  for (const Status& s : store_->Add(es, kNow)) ASSERT_TRUE(s.ok());
  const PublicKey me = testing::TestKey(1).public_key();
  auto mine = store_->FindCrdt(CrdtQuery{.group = "kv", .owner = me});
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0].key.name, "profile");  // maps (1) before sets (2)
  EXPECT_EQ((*mine)[1].key.name, "follows");
  EXPECT_EQ((*mine)[1].changed_by, es[1].id());
  auto sets = store_->FindCrdt(CrdtQuery{.type = crdt::Type::kSet});
  ASSERT_TRUE(sets.ok());
  ASSERT_EQ(sets->size(), 1u);
  auto counters = store_->FindCrdt(CrdtQuery{.owner = PublicKey{}});
  ASSERT_TRUE(counters.ok());
  ASSERT_EQ(counters->size(), 1u);
  auto likes = store_->LoadCrdt(counters->front().key);
  ASSERT_TRUE(likes.ok() && likes->has_value());
  EXPECT_EQ(std::get<crdt::CounterState>((*likes)->state).value(), 3);
  auto none = store_->LoadCrdt(crdt::ObjectKey{"kv", {}, crdt::Type::kMap, "nothing"});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

}  // namespace
}  // namespace pando::store
