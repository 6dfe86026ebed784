#include "store/store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/bundle.h"
#include "core/error_codes.h"
#include "core/kinds.h"
#include "crdt/state.h"
#include "store/import.h"
#include "store/migrations.h"
#include "testutil/feed.h"

namespace pando::store {
namespace {

using pando::testing::FeedBuilder;
using pando::testing::TempDir;
using pando::testing::TestKey;
using pando::testing::WithBadSignature;

constexpr int64_t kNow = 1'800'000'000'000;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    auto s = Store::Open(StoreOptions{path()});
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    store_ = std::move(s).value();
  }
  std::string path() const { return dir_.path() + "/pando.db"; }

  Status AddOne(const Entry& e) { return store_->Add(std::span(&e, 1), kNow).front(); }
  std::vector<Status> AddAll(const std::vector<Entry>& es) { return store_->Add(es, kNow); }

  // Every row of every table, as text: equal dumps mean an identical logical store.
  std::string Dump() {
    auto db = Db::Open(path(), false).value();
    std::string out;
    auto tables =
        // The post index (posts, post_text and its shadow tables, post_index) and the CRDT
        // state (crdt_*) are derived from entries after each commit; they are left out, so a
        // dump shows stored facts only.
        db.Prepare(
              "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'post%' "
              "AND name NOT LIKE 'crdt%' ORDER BY name")
            .value();
    std::vector<std::string> names;
    while (*tables.Step()) names.push_back(tables.Text(0));
    for (const auto& t : names) {
      auto cols = db.Prepare(
                        "SELECT group_concat('quote(' || name || ')', '||''|''||') FROM "
                        "pragma_table_info('" +
                        t + "')")
                      .value();
      (void)*cols.Step();
      auto all = db.Prepare("SELECT " + cols.Text(0) + " FROM " + t + " ORDER BY rowid").value();
      out += "[" + t + "]\n";
      while (*all.Step()) out += all.Text(0) + "\n";
    }
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, NewStoreHasLatestSchemaAndReopens) {
  auto db = Db::Open(path(), false).value();
  EXPECT_EQ(SchemaVersion(db).value(), Migrations().back().version);
  Reopen();
  EXPECT_EQ(store_->Stats()->entries, 0);
}

TEST_F(StoreTest, StoresAndReadsBackInLogOrder) {
  FeedBuilder a(TestKey(1), "blog.a", 1000);
  FeedBuilder b(TestKey(2), "blog.b", 1000);
  std::vector<Entry> es = {a.Next("a1"), b.Next("b1"), a.Next("a2"), b.Next("b2")};
  for (const Status& s : AddAll(es)) EXPECT_TRUE(s.ok()) << s.error().ToString();

  for (const Entry& e : es) {
    auto got = store_->Get(e.id());
    ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ(**got, e);
  }
  auto log = store_->Log(LogQuery{}).value();
  ASSERT_EQ(log.size(), 4u);
  for (size_t i = 1; i < log.size(); ++i) {
    const auto key = [](const Entry& e) { return std::make_pair(e.timestamp_ms(), e.id()); };
    EXPECT_LT(key(log[i - 1]), key(log[i]));
  }
  LogQuery only_a;
  only_a.group = "blog.a";
  EXPECT_EQ(store_->Log(only_a)->size(), 2u);
  LogQuery by_b;
  by_b.author = TestKey(2).public_key();
  EXPECT_EQ(store_->Log(by_b)->size(), 2u);
  auto head = store_->Head(TestKey(1).public_key(), "blog.a").value();
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->seq, 2u);
  EXPECT_EQ(head->id, es[2].id());
  EXPECT_FALSE(store_->Head(TestKey(1).public_key(), "blog.b")->has_value());
}

TEST_F(StoreTest, GetRawReadsABatchInTheOrderAsked) {
  FeedBuilder a(TestKey(1), "blog.a", 1000);
  std::vector<Entry> es = {a.Next("a1"), a.Next("a2"), a.Next("a3")};
  for (const Status& s : AddAll(es)) ASSERT_TRUE(s.ok()) << s.error().ToString();
  Hash32 unknown{};
  unknown[0] = 0xab;
  const std::vector<Hash32> ids = {es[2].id(), unknown, es[0].id(), es[2].id(), es[1].id()};
  auto got = store_->GetRaw(ids);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  ASSERT_EQ(got->size(), ids.size());
  EXPECT_EQ((*got)[0], es[2].bytes());
  EXPECT_FALSE((*got)[1].has_value());
  EXPECT_EQ((*got)[2], es[0].bytes());
  EXPECT_EQ((*got)[3], es[2].bytes());
  EXPECT_EQ((*got)[4], es[1].bytes());
  EXPECT_TRUE(store_->GetRaw({})->empty());
  // The statement is reused and reset: a write after a read is seen by the next read.
  const Entry a4 = a.Next("a4");
  ASSERT_TRUE(AddOne(a4).ok());
  EXPECT_EQ(store_->GetRaw(std::vector<Hash32>{a4.id()})->front(), a4.bytes());
  EXPECT_EQ(**store_->Get(a4.id()), a4);
}

TEST_F(StoreTest, FindsByIdPrefix) {
  FeedBuilder a(TestKey(1), "g");
  Entry e = a.Next();
  ASSERT_TRUE(AddOne(e).ok());
  const std::string hex = ToHex(e.id());
  for (size_t n : {4u, 5u, 15u, 16u, 17u, 64u}) {
    auto found = store_->FindByIdPrefix(hex.substr(0, n)).value();
    ASSERT_EQ(found.size(), 1u) << n;
    EXPECT_EQ(found[0], e);
  }
  EXPECT_EQ(store_->FindByIdPrefix("abc").code(), codes::kBadId);
  EXPECT_EQ(store_->FindByIdPrefix("zzzz").code(), codes::kBadId);
}

// Each rejection must leave every table byte for byte as it was.
TEST_F(StoreTest, RejectionsLeaveTheStoreUnchanged) {
  FeedBuilder a(TestKey(1), "g", 5000);
  Entry e1 = a.Next("one");
  Entry e2 = a.Next("two");
  ASSERT_TRUE(AddOne(e1).ok());
  ASSERT_TRUE(AddOne(e2).ok());
  FeedBuilder fresh(TestKey(9), "new.group");
  Entry fresh1 = fresh.Next();
  const std::string before = Dump();

  struct Case {
    const char* name;
    Entry entry;
    std::string_view code;
  };
  FeedBuilder old_clock(TestKey(1), "g", 10);
  std::vector<Case> cases = {
      {"gap", a.At(5, e2.id(), "gap"), codes::kSeqGap},
      {"wrong prev", a.At(3, e1.id(), "wp"), codes::kWrongPrev},
      {"bad signature", WithBadSignature(a.At(3, e2.id(), "bs")), codes::kBadSignature},
      {"duplicate", e2, codes::kDuplicate},
      {"timestamp regression", old_clock.At(3, e2.id(), "old"), codes::kTimestampRegression},
      {"future", FeedBuilder(TestKey(1), "g", kNow + 301'000).At(3, e2.id(), "f"),
       codes::kFutureTimestamp},
      {"new author with gap", fresh.At(2, fresh1.id(), "x"), codes::kSeqGap},
      {"new author bad signature", WithBadSignature(fresh1), codes::kBadSignature},
  };
  for (const Case& c : cases) {
    Status s = AddOne(c.entry);
    EXPECT_EQ(s.code(), c.code) << c.name << ": " << (s.ok() ? "ok" : s.error().ToString());
    EXPECT_EQ(Dump(), before) << c.name;
  }
}

TEST_F(StoreTest, ForkIsProvenStoredAndRefusesTheAuthorEverywhere) {
  FeedBuilder a(TestKey(3), "g");
  FeedBuilder other_group(TestKey(3), "h");
  Entry e1 = a.Next("one");
  Entry e2 = a.Next("two");
  ASSERT_TRUE(AddOne(e1).ok());
  ASSERT_TRUE(AddOne(e2).ok());
  Entry twin = a.At(2, e1.id(), "another two");
  Status s = AddOne(twin);
  EXPECT_EQ(s.code(), codes::kForked);

  auto proofs = store_->ForkProofs().value();
  ASSERT_EQ(proofs.size(), 1u);
  EXPECT_TRUE(VerifyForkProof(proofs[0]).ok());
  EXPECT_EQ(proofs[0].a.front(), e2);
  EXPECT_EQ(proofs[0].b.front(), twin);
  auto authors = store_->Authors().value();
  ASSERT_EQ(authors.size(), 1u);
  EXPECT_TRUE(authors[0].forked);
  EXPECT_EQ(store_->ForkedAuthors().value(), std::vector<PublicKey>{TestKey(3).public_key()});
  EXPECT_EQ(store_->ForkProofOf(TestKey(3).public_key()).value(), EncodeForkProof(proofs[0]));
  EXPECT_FALSE(store_->ForkProofOf(TestKey(4).public_key()).value());

  EXPECT_EQ(AddOne(a.Next("three")).code(), codes::kAuthorForked);
  EXPECT_EQ(AddOne(other_group.Next("elsewhere")).code(), codes::kAuthorForked);
  // The entries stored before the fork stay; the twin was not stored as an entry.
  EXPECT_EQ(store_->Stats()->entries, 2);
  EXPECT_FALSE(store_->Get(twin.id())->has_value());
  EXPECT_TRUE(store_->Verify(true)->ok());
}

TEST_F(StoreTest, ForkProofTravelsInBundles) {
  FeedBuilder a(TestKey(3), "g");
  Entry e1 = a.Next("one");
  ASSERT_TRUE(AddOne(e1).ok());
  ASSERT_EQ(AddOne(a.At(1, Hash32{}, "other one")).code(), codes::kForked);

  std::stringstream bundle;
  BundleWriter w(&bundle);
  ASSERT_TRUE(store_->Export(&w).ok());
  ASSERT_TRUE(w.Finish().ok());

  TempDir other;
  auto b = Store::Open(StoreOptions{other.path() + "/pando.db"}).value();
  ImportReport r = ImportBundle(*b, &bundle, ImportOptions{kNow, nullptr});
  EXPECT_TRUE(r.bundle_status.ok());
  EXPECT_EQ(r.fork_proofs, 1);
  // Entries come before proofs: the importer holds what the exporter holds.
  EXPECT_EQ(r.accepted, 1);
  EXPECT_TRUE(b->Get(e1.id())->has_value());
  EXPECT_TRUE(b->Authors().value().at(0).forked);
}

// A feed where only the last of 100 entries carries a valid signature: the chain
// authenticates all of them, but a conflicting seq 1 cannot be proven within 64 entries.
TEST_F(StoreTest, UnprovableConflictIsRefusedWithoutHarm) {
  FeedBuilder b(TestKey(4), "g");
  std::vector<Entry> chain;
  Hash32 prev{};
  for (uint64_t seq = 1; seq <= 100; ++seq) {
    Entry e = b.At(seq, prev, "entry " + std::to_string(seq));
    if (seq < 100) e = WithBadSignature(e);
    prev = e.id();
    chain.push_back(e);
  }
  for (const Status& s : AddAll(chain)) ASSERT_TRUE(s.ok()) << s.error().ToString();
  const std::string before = Dump();
  EXPECT_EQ(AddOne(b.At(1, Hash32{}, "a different first entry")).code(), codes::kConflict);
  EXPECT_EQ(Dump(), before);
  // Within 64 entries of a valid signature the same conflict is a provable fork.
  EXPECT_EQ(AddOne(b.At(40, chain[38].id(), "a different 40")).code(), codes::kForked);
  EXPECT_TRUE(VerifyForkProof(store_->ForkProofs().value().at(0)).ok());
}

TEST_F(StoreTest, ChainCoversAnEntryWithABadOwnSignature) {
  FeedBuilder a(TestKey(4), "g");
  std::vector<Entry> es = a.Take(5);
  // A bad signature changes the id, so rebuild the chain above it: sign 3.. again on top of
  // the bad entry (an author may do this; the rule says a later signature covers it).
  FeedBuilder b(TestKey(4), "g");
  std::vector<Entry> chain = {b.Next("1"), b.Next("2")};
  Entry bad3 = WithBadSignature(b.At(3, chain[1].id(), "3"));
  chain.push_back(bad3);
  chain.push_back(b.At(4, bad3.id(), "4"));
  for (const Status& s : AddAll(chain)) EXPECT_TRUE(s.ok()) << s.error().ToString();
  auto report = store_->Verify(true).value();
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.chain_authenticated_only, 1);
}

TEST_F(StoreTest, UnauthenticatedTailIsRefused) {
  FeedBuilder a(TestKey(4), "g");
  std::vector<Entry> es = a.Take(3);
  FeedBuilder b(TestKey(4), "g");
  std::vector<Entry> chain = {b.Next("1"), b.Next("2")};
  chain.push_back(WithBadSignature(b.At(3, chain[1].id(), "3")));
  auto res = AddAll(chain);
  EXPECT_TRUE(res[0].ok());
  EXPECT_TRUE(res[1].ok());
  EXPECT_EQ(res[2].code(), codes::kBadSignature);
  EXPECT_EQ(store_->Stats()->entries, 2);
}

TEST_F(StoreTest, ExportImportRoundTripKeepsTheLog) {
  FeedBuilder a(TestKey(5), "g1");
  FeedBuilder b(TestKey(6), "g2");
  std::vector<Entry> es = a.Take(300);
  for (Entry& e : b.Take(300)) es.push_back(e);
  for (const Status& s : AddAll(es)) ASSERT_TRUE(s.ok());
  std::stringstream bundle;
  BundleWriter w(&bundle);
  ASSERT_TRUE(store_->Export(&w).ok());
  ASSERT_TRUE(w.Finish().ok());

  TempDir other;
  auto b2 = Store::Open(StoreOptions{other.path() + "/pando.db"}).value();
  std::vector<int64_t> progress;
  ImportOptions opts{kNow, [&](int64_t n) { progress.push_back(n); }};
  ImportReport r = ImportBundle(*b2, &bundle, opts);
  EXPECT_TRUE(r.bundle_status.ok());
  EXPECT_EQ(r.accepted, 600);
  EXPECT_LE(r.signatures_checked, 4);  // Chain verification: one per run.
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), 600);
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
  EXPECT_EQ(b2->Log(LogQuery{}).value(), store_->Log(LogQuery{}).value());

  // Importing again stores nothing new.
  bundle.clear();
  bundle.seekg(0);
  ImportReport again = ImportBundle(*b2, &bundle, ImportOptions{kNow, nullptr});
  EXPECT_EQ(again.accepted, 0);
  EXPECT_EQ(again.refused[codes::kDuplicate], 600);
}

// The importer decides an invalid proof or a future timestamp at once, a seq gap only when
// the writer answers; the report still gives the refusals in bundle order.
TEST_F(StoreTest, ImportReportsTheFirstRefusalInBundleOrder) {
  FeedBuilder a(TestKey(8), "g");
  const Entry e1 = a.Next("one");
  const Entry e2 = a.Next("two");
  FeedBuilder future(TestKey(9), "g", kNow + 3'600'000);
  std::stringstream bundle;
  BundleWriter w(&bundle);
  w.WriteEntry(e2);                         // SEQ_GAP: its seq 1 is not stored.
  w.WriteForkProof(ForkProof{{e1}, {e1}});  // MALFORMED: one entry on both sides.
  w.WriteEntry(future.Next());              // FUTURE_TIMESTAMP.
  ASSERT_TRUE(w.Finish().ok());
  ImportReport r = ImportBundle(*store_, &bundle, ImportOptions{kNow, nullptr});
  EXPECT_TRUE(r.bundle_status.ok());
  EXPECT_EQ(r.first_refusal, codes::kSeqGap);
  ASSERT_EQ(r.first_errors.size(), 3u);
  EXPECT_TRUE(r.first_errors[0].starts_with(codes::kSeqGap)) << r.first_errors[0];
  EXPECT_TRUE(r.first_errors[1].starts_with(codes::kMalformed)) << r.first_errors[1];
  EXPECT_TRUE(r.first_errors[2].starts_with(codes::kFutureTimestamp)) << r.first_errors[2];
}

TEST_F(StoreTest, DamagedBundleKeepsWhatWasSettled) {
  FeedBuilder a(TestKey(7), "g");
  std::stringstream bundle;
  BundleWriter w(&bundle);
  for (const Entry& e : a.Take(10)) w.WriteEntry(e);
  ASSERT_TRUE(w.Finish().ok());
  std::string bytes = bundle.str();
  bytes[bytes.size() - 1] ^= 1;  // Break the checksum.
  std::stringstream damaged(bytes);
  ImportReport r = ImportBundle(*store_, &damaged, ImportOptions{kNow, nullptr});
  EXPECT_EQ(r.bundle_status.code(), codes::kBadBundle);
  EXPECT_TRUE(store_->Verify(false)->ok());
}

TEST_F(StoreTest, ConcurrentSubmittersAllLand) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      FeedBuilder f(TestKey(static_cast<uint8_t>(20 + t)), "g");
      for (int i = 0; i < 50; ++i) {
        Entry e = f.Next();
        EXPECT_TRUE(AddOne(e).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(store_->Stats()->entries, 200);
  EXPECT_TRUE(store_->Verify(true)->ok());
}

TEST_F(StoreTest, VerifyFindsTamperedRows) {
  FeedBuilder a(TestKey(8), "g");
  for (const Status& s : AddAll(a.Take(5))) ASSERT_TRUE(s.ok());
  store_.reset();
  {
    auto db = Db::Open(path(), false).value();
    // Change one payload byte of entry 3 behind Pando's back.
    ASSERT_TRUE(db.Exec("UPDATE entries SET raw = substr(raw, 1, 100) || x'ff' || "
                        "substr(raw, 102) WHERE seq = 3")
                    .ok());
  }
  Reopen();
  auto report = store_->Verify(false).value();
  EXPECT_FALSE(report.ok());
}

TEST_F(StoreTest, DataSurvivesReopen) {
  FeedBuilder a(TestKey(9), "g");
  auto es = a.Take(20);
  for (const Status& s : AddAll(es)) ASSERT_TRUE(s.ok());
  Reopen();
  EXPECT_EQ(store_->Stats()->entries, 20);
  EXPECT_EQ(AddOne(a.Next()).code(), std::string_view());
}

// --- Migrations -------------------------------------------------------------------------

TEST(MigrationTest, AppliesInOrderAndRollsBackAFailure) {
  TempDir dir;
  auto db = Db::Open(dir.path() + "/m.db", true).value();
  const Migration good[] = {{1, "CREATE TABLE a(x);"}, {2, "CREATE TABLE b(y);"}};
  ASSERT_TRUE(Migrate(db, good).ok());
  EXPECT_EQ(SchemaVersion(db).value(), 2);
  // Re-running is a no-op.
  ASSERT_TRUE(Migrate(db, good).ok());

  const Migration bad[] = {
      good[0], good[1], {3, "CREATE TABLE c(z); INSERT INTO nowhere VALUES(1);"}};
  Status s = Migrate(db, bad);
  EXPECT_EQ(s.code(), codes::kStore);
  EXPECT_EQ(SchemaVersion(db).value(), 2);
  auto c = db.Prepare("SELECT count(*) FROM sqlite_master WHERE name='c'").value();
  ASSERT_TRUE(*c.Step());
  EXPECT_EQ(c.Int(0), 0);  // Migration 3's first statement was rolled back too.
}

TEST(MigrationTest, RefusesAStoreFromTheFuture) {
  TempDir dir;
  const std::string path = dir.path() + "/pando.db";
  {
    auto db = Db::Open(path, true).value();
    ASSERT_TRUE(db.Exec("PRAGMA user_version = 999").ok());
  }
  auto s = Store::Open(StoreOptions{path});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, codes::kStoreTooNew);
}

TEST(MigrationTest, OpeningAMissingFileWithoutCreateFails) {
  TempDir dir;
  StoreOptions o{dir.path() + "/absent.db"};
  o.create = false;
  auto s = Store::Open(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, codes::kStore);
}

}  // namespace
}  // namespace pando::store

namespace pando::store {
namespace {

// Opens a copy of the fixture tests/fixtures/NAME.db (in dir) with this version, checks that
// it verifies with `entries` entries and shows the log of NAME.log.jsonl (its
// `pando log --json` when it was written), and returns the store and that log.
std::pair<std::unique_ptr<Store>, std::vector<Entry>> OpenFixture(const std::string& name,
                                                                  const std::string& dir,
                                                                  int64_t entries) {
  const std::string path = dir + "/pando.db";
  std::filesystem::copy_file(std::string(PANDO_FIXTURES) + "/" + name + ".db", path);
  auto store = Store::Open(StoreOptions{path}).value();
  auto report = store->Verify(true).value();
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.entries_checked, entries);
  std::ifstream expected(std::string(PANDO_FIXTURES) + "/" + name + ".log.jsonl");
  std::vector<std::string> ids;
  for (std::string line; std::getline(expected, line);) {
    const size_t at = line.find("\"id\":\"");
    EXPECT_NE(at, std::string::npos);
    if (at != std::string::npos) ids.push_back(line.substr(at + 6, 64));
  }
  auto log = store->Log(LogQuery{}).value();
  EXPECT_EQ(log.size(), ids.size());
  for (size_t i = 0; i < std::min(log.size(), ids.size()); ++i) {
    EXPECT_EQ(ToHex(log[i].id()), ids[i]);
  }
  auto db = Db::Open(path, false).value();
  EXPECT_EQ(SchemaVersion(db).value(), Migrations().back().version);
  return {std::move(store), std::move(log)};
}

// tests/fixtures/store-v1.db was written by the first Pando release (schema version 1).
// Every later version must open the file, migrate it, verify it and show the same log.
TEST(FixtureTest, StoreFromSchemaVersion1StillLoads) {
  pando::testing::TempDir dir;
  OpenFixture("store-v1", dir.path(), 3);
}

// tests/fixtures/store-v3.db was written at schema version 3 (posts, a catalog record, key-
// value writes and a delete, a personal map, a profile and a follow, by `pando kv`,
// `profile` and `follow`). Later versions must open it, show the same log and keep its
// CRDT state, which must equal the merge of its entries.
TEST(FixtureTest, StoreFromSchemaVersion3StillLoads) {
  pando::testing::TempDir dir;
  auto [store, log] = OpenFixture("store-v3", dir.path(), 8);
  crdt::Replica merged;
  for (const Entry& e : log) {
    if (e.kind() == kinds::kCrdt) {
      EXPECT_TRUE(merged.Apply(e).ok());
    }
  }
  const std::string kept = store->CrdtDump().value();
  EXPECT_EQ(kept, merged.Dump());
  EXPECT_NE(kept.find("  size = 12 @"), std::string::npos) << kept;
  EXPECT_NE(kept.find("  theme = (deleted) @"), std::string::npos) << kept;
  EXPECT_NE(kept.find("  name = \"Fixture\" @"), std::string::npos) << kept;
  EXPECT_EQ(store->RebuildCrdt().value(), 6);
  EXPECT_EQ(store->CrdtDump().value(), kept);
}

}  // namespace
}  // namespace pando::store
