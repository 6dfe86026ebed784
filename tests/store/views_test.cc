// Identical views: two stores that hold the same entries show the same lists, whatever order
// the entries arrived in. Every order a view shows must be a function of the entries alone
// ((timestamp, id), never a local row number), so each test builds two stores from one set
// of entries, with equal timestamps and equal slugs on purpose, fed in different orders, and
// compares every view of the post index and the log.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "core/kinds.h"
#include "core/post.h"
#include "store/store.h"
#include "testutil/feed.h"
#include "testutil/post_feed.h"

namespace pando::store {
namespace {

using pando::testing::TempDir;
using pando::testing::TestKey;

constexpr int64_t kNow = 1'800'000'000'000;
constexpr int64_t kT0 = 1'700'000'000'000;

using Feed = pando::testing::PostFeed;

// What a view shows of a post, as one comparable string per post.
std::vector<std::string> Shown(const std::vector<PostInfo>& posts) {
  std::vector<std::string> out;
  for (const PostInfo& p : posts) {
    out.push_back(ToHex(p.id) + " " + std::to_string(p.timestamp_ms) + " " + p.group + " " +
                  p.title + " " + ToHex(p.target_id) + " " + std::to_string(p.rank));
  }
  return out;
}

std::vector<std::string> Shown(const std::vector<Entry>& entries) {
  std::vector<std::string> out;
  for (const Entry& e : entries) out.push_back(ToHex(e.id()));
  return out;
}

class ViewsTest : public ::testing::Test {
 protected:
  // Entries with ties everywhere: posts of several authors at one timestamp, two posts of
  // one author with one slug at one timestamp (in two groups, so each is first of its feed),
  // catalog records of one post at one timestamp, and search matches of equal rank.
  void SetUp() override {
    const std::string same = "# Bread\n\nKneading the dough in the sunshine.";
    alice_blog_.Post("# A day at the sea\n\nWaves.", kT0);
    alice_blog_.Post("# A day at the sea!\n\nMore waves.", kT0 + 10);
    alice_blog_.Post("# Twins\n\nOne.", kT0 + 20);
    alice_notes_.Post("# TWINS\n\nTwo.", kT0 + 20);
    alice_notes_.Post("# A day at the sea\n\nStill waves.", kT0 + 30);
    bob_recipes_.Post(same, kT0);
    bob_recipes_.Post(same, kT0 + 20);
    carol_recipes_.Post(same, kT0);
    carol_recipes_.Post(same, kT0 + 20);
    const Entry announced = bob_recipes_.entries().front();
    announced_ = announced.id();
    alice_catalog_.Catalog(announced, "Bread", kT0 + 40);
    bob_catalog_.Catalog(announced, "Bread", kT0 + 40);
    carol_catalog_.Catalog(announced, "Bread", kT0 + 40);
  }

  std::vector<const Feed*> AllFeeds() const {
    return {&alice_blog_,    &alice_notes_, &bob_recipes_,  &carol_recipes_,
            &alice_catalog_, &bob_catalog_, &carol_catalog_};
  }

  static std::unique_ptr<Store> Open(const TempDir& dir) {
    auto s = Store::Open(StoreOptions{dir.path() + "/pando.db"});
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  // Adds every entry to `store`, a feed at a time in the order of `feeds`, and one entry per
  // call when `one_by_one` (so each gets a transaction and a row number of its own).
  static void AddAll(Store& store, const std::vector<const Feed*>& feeds, bool one_by_one) {
    for (const Feed* f : feeds) {
      const std::vector<Entry>& es = f->entries();
      for (size_t i = 0; i < es.size(); i += one_by_one ? 1 : es.size()) {
        const size_t n = one_by_one ? 1 : es.size();
        for (const Status& s : store.Add(std::span(es).subspan(i, n), kNow)) {
          ASSERT_TRUE(s.ok()) << s.error().ToString();
        }
      }
    }
  }

  // Waits until the post index holds `posts` posts and `records` catalog records.
  static void WaitIndexed(Store& store, size_t posts, size_t records) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (true) {
      auto p = store.Latest(kinds::kPost, 1000);
      auto r = store.Latest(kinds::kCatalog, 1000);
      if (p.ok() && r.ok() && p->size() == posts && r->size() == records) return;
      ASSERT_TRUE(std::chrono::steady_clock::now() < deadline) << "the index did not catch up";
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  // Two stores of the same entries: one fed a feed at a time, the other fed the feeds in the
  // reverse order, an entry at a time.
  void Build() {
    a_ = Open(dir_a_);
    b_ = Open(dir_b_);
    ASSERT_TRUE(a_ && b_);
    std::vector<const Feed*> feeds = AllFeeds();
    ASSERT_NO_FATAL_FAILURE(AddAll(*a_, feeds, false));
    std::reverse(feeds.begin(), feeds.end());
    ASSERT_NO_FATAL_FAILURE(AddAll(*b_, feeds, true));
    ASSERT_NO_FATAL_FAILURE(WaitIndexed(*a_, 9, 3));
    ASSERT_NO_FATAL_FAILURE(WaitIndexed(*b_, 9, 3));
  }

  const KeyPair alice_ = TestKey(1);
  const KeyPair bob_ = TestKey(2);
  const KeyPair carol_ = TestKey(3);
  Feed alice_blog_{alice_, "blog.alice"};
  Feed alice_notes_{alice_, "notes.alice"};
  Feed bob_recipes_{bob_, "recipes"};
  Feed carol_recipes_{carol_, "recipes"};
  Feed alice_catalog_{alice_, "catalog"};
  Feed bob_catalog_{bob_, "catalog"};
  Feed carol_catalog_{carol_, "catalog"};
  Hash32 announced_{};  // The post the catalog records announce.
  TempDir dir_a_, dir_b_;
  std::unique_ptr<Store> a_, b_;
};

TEST_F(ViewsTest, LatestIsTheSameInEveryArrivalOrder) {
  ASSERT_NO_FATAL_FAILURE(Build());
  for (uint16_t kind : {kinds::kPost, kinds::kCatalog}) {
    for (size_t limit : {1, 2, 3, 5, 100}) {
      auto x = a_->Latest(kind, limit);
      auto y = b_->Latest(kind, limit);
      ASSERT_TRUE(x.ok() && y.ok());
      EXPECT_EQ(Shown(*x), Shown(*y)) << "kind " << kind << ", limit " << limit;
    }
  }
  // Paged from a cursor inside a run of equal timestamps.
  auto all = a_->Latest(kinds::kPost, 100).value();
  for (const PostInfo& p : all) {
    const LogCursor at{p.timestamp_ms, p.id};
    EXPECT_EQ(Shown(a_->Latest(kinds::kPost, 2, at).value()),
              Shown(b_->Latest(kinds::kPost, 2, at).value()));
  }
  // Newest first by (timestamp, id).
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_TRUE(std::tie(all[i - 1].timestamp_ms, all[i - 1].id) >
                std::tie(all[i].timestamp_ms, all[i].id));
  }
}

TEST_F(ViewsTest, PostsByIsTheSameInEveryArrivalOrder) {
  ASSERT_NO_FATAL_FAILURE(Build());
  for (const KeyPair* k : {&alice_, &bob_, &carol_}) {
    for (size_t limit : {1, 2, 100}) {
      auto x = a_->PostsBy(k->public_key(), limit);
      auto y = b_->PostsBy(k->public_key(), limit);
      ASSERT_TRUE(x.ok() && y.ok());
      EXPECT_EQ(Shown(*x), Shown(*y));
    }
    const std::vector<PostInfo> all = a_->PostsBy(k->public_key(), 100).value();
    for (const PostInfo& p : all) {
      const LogCursor at{p.timestamp_ms, p.id};
      EXPECT_EQ(Shown(a_->PostsBy(k->public_key(), 1, at).value()),
                Shown(b_->PostsBy(k->public_key(), 1, at).value()));
    }
  }
}

TEST_F(ViewsTest, CatalogRecordForIsTheFirstByTimestampThenId) {
  ASSERT_NO_FATAL_FAILURE(Build());
  auto x = a_->CatalogRecordFor(announced_);
  auto y = b_->CatalogRecordFor(announced_);
  ASSERT_TRUE(x.ok() && y.ok());
  ASSERT_TRUE(x->has_value() && y->has_value());
  EXPECT_EQ((*x)->id, (*y)->id);
  // Three records at one timestamp: the smallest id is the first.
  Hash32 first = alice_catalog_.entries()[0].id();
  first = std::min({first, bob_catalog_.entries()[0].id(), carol_catalog_.entries()[0].id()});
  EXPECT_EQ((*x)->id, first);
}

TEST_F(ViewsTest, SearchOrdersEqualRanksById) {
  ASSERT_NO_FATAL_FAILURE(Build());
  for (const char* text : {"bread", "sunshine", "sea", "twins", "waves"}) {
    for (size_t limit : {1, 2, 3, 100}) {
      auto x = a_->Search(text, limit);
      auto y = b_->Search(text, limit);
      ASSERT_TRUE(x.ok() && y.ok());
      EXPECT_EQ(Shown(*x), Shown(*y)) << text << ", limit " << limit;
    }
  }
  // Bob's and Carol's four posts and three catalog records: ranks ascending, ties by id.
  auto found = a_->Search("bread", 100).value();
  EXPECT_EQ(found.size(), 7u);
  for (size_t i = 1; i < found.size(); ++i) {
    EXPECT_TRUE(std::tie(found[i - 1].rank, found[i - 1].id) < std::tie(found[i].rank, found[i].id))
        << i;
  }
}

TEST_F(ViewsTest, SlugOwnersAreTheFirstPostByTimestampThenId) {
  ASSERT_NO_FATAL_FAILURE(Build());
  const PublicKey alice = alice_.public_key();
  for (const char* slug : {"a-day-at-the-sea", "twins", "bread", "nothing"}) {
    for (const KeyPair* k : {&alice_, &bob_, &carol_}) {
      auto x = a_->FirstPostWithSlug(k->public_key(), slug);
      auto y = b_->FirstPostWithSlug(k->public_key(), slug);
      ASSERT_TRUE(x.ok() && y.ok());
      ASSERT_EQ(x->has_value(), y->has_value()) << slug;
      if (*x) {
        EXPECT_EQ((*x)->id, (*y)->id) << slug;
      }
    }
  }
  // Three posts slug to "a-day-at-the-sea": the oldest owns it.
  auto sea = a_->FirstPostWithSlug(alice, "a-day-at-the-sea").value();
  ASSERT_TRUE(sea.has_value());
  EXPECT_EQ(sea->id, alice_blog_.entries()[0].id());
  // Two at one timestamp slug to "twins": the smaller id owns it.
  auto twins = a_->FirstPostWithSlug(alice, "twins").value();
  ASSERT_TRUE(twins.has_value());
  EXPECT_EQ(twins->id, std::min(alice_blog_.entries()[2].id(), alice_notes_.entries()[0].id()));
  // A later post by its id's first 4 bytes, on both stores.
  const Entry& later = alice_notes_.entries()[1];
  Store::IdHead head;
  std::copy_n(later.id().begin(), head.size(), head.begin());
  for (Store* s : {a_.get(), b_.get()}) {
    auto found = s->FirstPostWithSlug(alice, "a-day-at-the-sea", head).value();
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->id, later.id());
  }
  // Catalog records have no slug.
  EXPECT_FALSE(a_->FirstPostWithSlug(alice, "bread").value().has_value());
}

TEST_F(ViewsTest, LogAndFeedsAreTheSameInEveryArrivalOrder) {
  ASSERT_NO_FATAL_FAILURE(Build());
  for (bool newest_first : {false, true}) {
    LogQuery q;
    q.newest_first = newest_first;
    EXPECT_EQ(Shown(a_->Log(q).value()), Shown(b_->Log(q).value()));
    q.limit = 3;
    EXPECT_EQ(Shown(a_->LogPage(q).value().entries), Shown(b_->LogPage(q).value().entries));
  }
  for (const char* group : {"recipes", "catalog", "blog.alice"}) {
    auto x = a_->GroupItems(group).value();
    auto y = b_->GroupItems(group).value();
    ASSERT_EQ(x.size(), y.size());
    for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(x[i].id, y[i].id);
  }
  auto x = a_->Feeds().value();
  auto y = b_->Feeds().value();
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(x[i].author, y[i].author) << i;
    EXPECT_EQ(x[i].group, y[i].group) << i;
  }
}

}  // namespace
}  // namespace pando::store
