// Tests of store::FeedWriter: the rule for the next entry of a feed against the golden cases
// of docs/entry-format.md (which tests/web/app_test.mjs checks for the browser too),
// post.lock, signing into a store, and post.pending.
#include "store/feed_writer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/error_codes.h"
#include "core/kinds.h"
#include "store/store.h"
#include "testutil/feed.h"

namespace pando::store {
namespace {

using testing::TempDir;
using testing::TestKey;

// One golden case: its name and key=value fields, inputs and outputs alike.
using Case = std::map<std::string, std::string>;

// The lines of the fenced block after "Golden cases" in "The next entry of a feed".
std::vector<Case> GoldenCases() {
  std::ifstream f(std::string(PANDO_DOCS) + "/entry-format.md");
  std::stringstream page;
  page << f.rdbuf();
  const std::string text = page.str();
  const size_t section = text.find("## The next entry of a feed");
  const size_t golden = text.find("Golden cases", section);
  const size_t open = text.find("```\n", golden);
  const size_t close = text.find("```", open + 4);
  std::vector<Case> cases;
  if (section == std::string::npos || golden == std::string::npos || close == std::string::npos) {
    return cases;
  }
  std::istringstream lines(text.substr(open + 4, close - open - 4));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    Case c;
    for (std::string w; words >> w;) {
      const size_t eq = w.find('=');
      if (eq != std::string::npos) c[w.substr(0, eq)] = w.substr(eq + 1);
    }
    if (!c.empty()) cases.push_back(c);
  }
  return cases;
}

Hash32 IdOf(const std::string& hex) {
  Hash32 id{};
  auto raw = FromHex(hex);
  CHECK(raw && raw->size() == 32);
  std::copy(raw->begin(), raw->end(), id.begin());
  return id;
}

std::optional<FeedHead> HeadOf(const Case& c) {
  if (std::stoull(c.at("head_seq")) == 0) return std::nullopt;
  return FeedHead{std::stoull(c.at("head_seq")), IdOf(c.at("head_id")),
                  std::stoll(c.at("head_timestamp_ms"))};
}

crdt::Op SomeOp() {
  crdt::Op op;
  op.name = "m";
  op.action = crdt::MapUpdate{{{"k", "1"}}};
  return op;
}

TEST(NextEntry, GoldenCasesOfTheDocs) {
  const std::vector<Case> cases = GoldenCases();
  ASSERT_GE(cases.size(), 8u) << "docs/entry-format.md has no golden cases";
  const KeyPair key = TestKey(1);
  TempDir dir;
  FeedWriter writer(dir.path(), &key);
  ASSERT_TRUE(writer.TryLock().value());
  for (const Case& c : cases) {
    SCOPED_TRACE(c.at("case"));
    const std::optional<FeedHead> head = HeadOf(c);
    const int64_t now = std::stoll(c.at("now_ms"));
    EntryDraft draft;
    draft.group = "blog";
    draft.kind = kinds::kPost;
    EntryDraft d = NextDraft(head, draft, now);
    Result<Entry> signed_entry = writer.Sign(head, draft, now);
    if (c.contains("seen_hlc")) {
      const crdt::Hlc seen = std::stoull(c.at("seen_hlc"));
      EXPECT_EQ(NextOpClock(seen, now, &d), std::stoull(c.at("hlc")));
      crdt::Op op = SomeOp();
      signed_entry = writer.SignOp(head, "blog", &op, seen, now);
      EXPECT_EQ(op.hlc, std::stoull(c.at("hlc")));
    }
    EXPECT_EQ(d.seq, std::stoull(c.at("seq")));
    EXPECT_EQ(ToHex(d.prev), c.at("prev"));
    EXPECT_EQ(d.timestamp_ms, std::stoll(c.at("timestamp_ms")));
    // The writer signs exactly what the rule says.
    ASSERT_TRUE(signed_entry.ok()) << signed_entry.error().ToString();
    EXPECT_EQ(signed_entry->seq(), d.seq);
    EXPECT_EQ(ToHex(signed_entry->prev()), c.at("prev"));
    EXPECT_EQ(signed_entry->timestamp_ms(), d.timestamp_ms);
  }
}

TEST(FeedWriter, PostLockExcludesASecondWriterAndTimesOut) {
  const KeyPair key = TestKey(1);
  TempDir dir;
  FeedWriter first(dir.path(), &key), second(dir.path(), &key);
  ASSERT_TRUE(first.TryLock().value());
  // flock excludes another open file description, in this process as in another.
  EXPECT_FALSE(second.TryLock().value());
  const Status s = second.Lock(std::chrono::milliseconds(50));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, codes::kTimeout);
  EXPECT_NE(s.error().message.find("post.lock"), std::string::npos);
  first.Unlock();
  EXPECT_TRUE(second.Lock(std::chrono::milliseconds(50)).ok());
  EXPECT_TRUE(second.locked());
}

class FeedWriterStore : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Store::Open(StoreOptions{dir_.path() + "/pando.db"}).value();
    ASSERT_TRUE(writer_.Lock().ok());
  }
  EntryDraft Post(std::string text) {
    EntryDraft d;
    d.group = "blog";
    d.kind = kinds::kPost;
    d.payload.assign(text.begin(), text.end());
    return d;
  }
  TempDir dir_;
  KeyPair key_ = TestKey(2);
  std::unique_ptr<Store> store_;
  FeedWriter writer_{dir_.path(), &key_};
};

TEST_F(FeedWriterStore, AppendFollowsTheStoredHeadEvenWithAClockBehindIt) {
  auto a = writer_.Append(*store_, Post("a"), 1'800'000'100'000);
  ASSERT_TRUE(a.ok()) << a.error().ToString();
  EXPECT_EQ(a->seq(), 1u);
  // The clock went back 100 s (within the future skew the store allows): the entry takes the
  // head's timestamp, and the store takes it.
  auto b = writer_.Append(*store_, Post("b"), 1'800'000'000'000);
  ASSERT_TRUE(b.ok()) << b.error().ToString();
  EXPECT_EQ(b->seq(), 2u);
  EXPECT_EQ(b->prev(), a->id());
  EXPECT_EQ(b->timestamp_ms(), a->timestamp_ms());
  auto head = store_->Head(key_.public_key(), "blog").value();
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->id, b->id());
}

TEST_F(FeedWriterStore, AppendOpIsLaterThanEveryAppliedClock) {
  const int64_t now = 1'795'000'000'000;
  auto first = writer_.AppendOp(*store_, "kv", SomeOp(), now);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  const crdt::Hlc seen = store_->CrdtLastHlc().value();
  EXPECT_EQ(seen, crdt::Hlc(now) << 16);
  // The same millisecond again: the clock still moves forward, past the store's.
  auto second = writer_.AppendOp(*store_, "kv", SomeOp(), now);
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_EQ(second->seq(), 2u);
  EXPECT_EQ(crdt::DecodeOp(second->payload()).value().hlc, seen + 1);
  EXPECT_EQ(store_->CrdtLastHlc().value(), seen + 1);
}

TEST_F(FeedWriterStore, PendingKeepsTheSignedBytesUntilCleared) {
  EXPECT_FALSE(writer_.Pending().value().has_value());
  auto e = writer_.Sign(std::nullopt, Post("kept"), 1'700'000'000'000);
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE(writer_.KeepPending(*e).ok());
  // Another writer (the next run) finds the same bytes.
  writer_.Unlock();
  FeedWriter next(dir_.path(), &key_);
  ASSERT_TRUE(next.Lock().ok());
  auto kept = next.Pending();
  ASSERT_TRUE(kept.ok() && kept->has_value());
  EXPECT_EQ((*kept)->bytes(), e->bytes());
  ASSERT_TRUE(next.ClearPending().ok());
  EXPECT_FALSE(next.Pending().value().has_value());
  std::ofstream(dir_.path() + "/post.pending") << "not hex\n";
  auto damaged = next.Pending();
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.error().code, codes::kMalformed);
}

}  // namespace
}  // namespace pando::store
