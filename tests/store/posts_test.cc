// Tests of the post index (store/posts.h): the writer indexes kind 1 posts and kind 2
// catalog records after its commits; Store::Latest, Store::PostsBy and Store::Search read
// it. The index trails the commits, so every test waits for what it expects to appear.

#include "store/posts.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/error_codes.h"
#include "core/kinds.h"
#include "core/post.h"
#include "store/store.h"
#include "testutil/feed.h"
#include "testutil/post_feed.h"

namespace pando::store {
namespace {

using pando::testing::TempDir;
using pando::testing::TestKey;
using namespace std::string_literals;

constexpr int64_t kNow = 1'800'000'000'000;
constexpr int64_t kT0 = 1'700'000'000'000;

using Feed = pando::testing::PostFeed;

std::vector<Hash32> Ids(const std::vector<PostInfo>& posts) {
  std::vector<Hash32> out;
  for (const PostInfo& p : posts) out.push_back(p.id);
  return out;
}

bool Contains(const std::vector<PostInfo>& posts, const Entry& e) {
  return std::any_of(posts.begin(), posts.end(), [&](const PostInfo& p) { return p.id == e.id(); });
}

class PostsTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(path()); }
  void Open(const std::string& path) {
    store_.reset();
    auto s = Store::Open(StoreOptions{path});
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    store_ = std::move(s).value();
  }
  std::string path() const { return dir_.path() + "/pando.db"; }

  void Add(const std::vector<Entry>& entries) {
    const std::vector<Status> results = store_->Add(entries, kNow);
    for (const Status& s : results) ASSERT_TRUE(s.ok()) << s.error().ToString();
  }

  // Polls until `done` holds, for up to 5 s: the writer indexes right after its commits.
  template <typename F>
  bool Eventually(F done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }
  // Waits until `e` is in the index. The writer indexes in arrival order, so everything
  // stored before `e` has then been indexed or skipped too.
  void WaitIndexed(const Entry& e) {
    ASSERT_TRUE(Eventually([&] {
      auto latest = store_->Latest(e.kind(), 1'000'000);
      return latest.ok() && Contains(*latest, e);
    })) << "entry "
        << ToHex(e.id()) << " was not indexed within 5 s";
  }

  std::vector<PostInfo> Search(std::string_view text, size_t limit = 100) {
    auto r = store_->Search(text, limit);
    EXPECT_TRUE(r.ok()) << ::testing::PrintToString(std::string(text)) << ": "
                        << r.error().ToString();
    return r.ok() ? *r : std::vector<PostInfo>();
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

// --- Search ----------------------------------------------------------------------------

class SearchTest : public PostsTest {
 protected:
  void SetUp() override {
    PostsTest::SetUp();
    Add({garden_, bread_, cafe_, record_});
    WaitIndexed(garden_);
    WaitIndexed(bread_);
    WaitIndexed(cafe_);
    WaitIndexed(record_);
  }

  const KeyPair alice_ = TestKey(1);
  const KeyPair bob_ = TestKey(2);
  Feed alice_blog_{alice_, "blog.alice"};
  Feed bob_recipes_{bob_, "recipes"};
  Feed alice_catalog_{alice_, "catalog"};
  const Entry garden_ =
      alice_blog_.Post("# Gardening notes\n\nTomatoes need sunshine and patience.", kT0);
  const Entry bread_ = bob_recipes_.Post("# Bread\n\nKneading the dough in the sunshine.", kT0 + 1);
  const Entry cafe_ = bob_recipes_.Post("Caf\xc3\xa9 culture\n\nA note on espresso.", kT0 + 2);
  const Entry record_ = alice_catalog_.Catalog(garden_, "Gardening notes", kT0 + 3);
};

TEST_F(SearchTest, FindsPostsByTitleWord) {
  auto found = Search("gardening");
  EXPECT_TRUE(Contains(found, garden_));
  EXPECT_TRUE(Contains(found, record_));  // The catalog record has the same title.
  EXPECT_FALSE(Contains(found, bread_));
  EXPECT_EQ(Ids(Search("Bread")), std::vector<Hash32>{bread_.id()});
  EXPECT_EQ(Ids(Search("BREAD")), std::vector<Hash32>{bread_.id()});
}

TEST_F(SearchTest, FindsPostsByBodyWord) {
  EXPECT_EQ(Ids(Search("tomatoes")), std::vector<Hash32>{garden_.id()});
  EXPECT_EQ(Ids(Search("espresso")), std::vector<Hash32>{cafe_.id()});
  auto sunshine = Search("sunshine");
  EXPECT_EQ(sunshine.size(), 2u);
  EXPECT_TRUE(Contains(sunshine, garden_));
  EXPECT_TRUE(Contains(sunshine, bread_));
  // Every word is required.
  EXPECT_EQ(Ids(Search("sunshine dough")), std::vector<Hash32>{bread_.id()});
  EXPECT_TRUE(Search("tomatoes dough").empty());
  EXPECT_TRUE(Search("nonexistentword").empty());
}

TEST_F(SearchTest, FindsPostsByWordPrefix) {
  EXPECT_EQ(Ids(Search("tomat")), std::vector<Hash32>{garden_.id()});
  EXPECT_EQ(Ids(Search("knead")), std::vector<Hash32>{bread_.id()});
  EXPECT_EQ(Ids(Search("patien sunsh")), std::vector<Hash32>{garden_.id()});
}

TEST_F(SearchTest, IgnoresCaseAndDiacritics) {
  EXPECT_EQ(Ids(Search("cafe")), std::vector<Hash32>{cafe_.id()});
  EXPECT_EQ(Ids(Search("CAF\xc3\x89")), std::vector<Hash32>{cafe_.id()});
  EXPECT_EQ(Ids(Search("Tomatoes")), std::vector<Hash32>{garden_.id()});
}

TEST_F(SearchTest, FindsPostsByAuthorId) {
  const std::string bob_id = AuthorId(bob_.public_key());
  auto found = Search(bob_id);
  EXPECT_EQ(found.size(), 2u);
  EXPECT_TRUE(Contains(found, bread_));
  EXPECT_TRUE(Contains(found, cafe_));
  for (const PostInfo& p : found) EXPECT_EQ(p.author, bob_.public_key());
  // A prefix of the id is enough.
  EXPECT_EQ(Search(bob_id.substr(0, 12)).size(), 2u);
  const std::string alice_id = AuthorId(alice_.public_key());
  found = Search(alice_id);
  EXPECT_EQ(found.size(), 2u);
  EXPECT_TRUE(Contains(found, garden_));
  EXPECT_TRUE(Contains(found, record_));
}

TEST_F(SearchTest, FindsPostsByGroup) {
  auto found = Search("recipes");
  EXPECT_EQ(found.size(), 2u);
  EXPECT_TRUE(Contains(found, bread_));
  EXPECT_TRUE(Contains(found, cafe_));
  // A catalog record is found by the group of the post it announces.
  found = Search("blog.alice");
  EXPECT_EQ(found.size(), 2u);
  EXPECT_TRUE(Contains(found, garden_));
  EXPECT_TRUE(Contains(found, record_));
}

TEST_F(SearchTest, ReturnsWhatTheIndexKnowsOfEachMatch) {
  auto found = Search("espresso");
  ASSERT_EQ(found.size(), 1u);
  const PostInfo& p = found[0];
  EXPECT_EQ(p.id, cafe_.id());
  EXPECT_EQ(p.author, bob_.public_key());
  EXPECT_EQ(p.group, "recipes");
  EXPECT_EQ(p.timestamp_ms, kT0 + 2);
  EXPECT_EQ(p.kind, kinds::kPost);
  EXPECT_EQ(p.title, "Caf\xc3\xa9 culture");
  EXPECT_EQ(p.target_group, "");

  found = Search("gardening catalog");  // Not a word of the record: its group is the target's.
  EXPECT_TRUE(found.empty());
  found = Search("gardening " + AuthorId(alice_.public_key()));
  ASSERT_EQ(found.size(), 2u);
  auto record = std::find_if(found.begin(), found.end(),
                             [&](const PostInfo& x) { return x.id == record_.id(); });
  ASSERT_NE(record, found.end());
  EXPECT_EQ(record->kind, kinds::kCatalog);
  EXPECT_EQ(record->group, "catalog");
  EXPECT_EQ(record->title, "Gardening notes");
  EXPECT_EQ(record->target_group, "blog.alice");
  EXPECT_EQ(record->target_id, garden_.id());
}

TEST_F(SearchTest, RespectsTheLimit) {
  EXPECT_EQ(Search("sunshine", 1).size(), 1u);
  EXPECT_EQ(Search("sunshine", 2).size(), 2u);
  EXPECT_EQ(Search("sunshine", 50).size(), 2u);
}

TEST_F(SearchTest, TextWithoutWordsFindsNothing) {
  for (const std::string& text : {""s, " "s, "!!!"s, "\"\"*"s, "-- ( ) : ^"s}) {
    EXPECT_TRUE(Search(text).empty()) << text;
  }
}

// Each hostile text: FTS5 operators, quotes, column filters, unbalanced syntax, non-ASCII
// and bytes that are not UTF-8. None may reach FTS5 as syntax.
const std::string kHostile[] = {
    "\"",
    "\"\"",
    "\"gardening",
    "gardening\"",
    "\"gardening\" OR \"bread\"",
    "'",
    "it's",
    "(",
    ")",
    "(gardening",
    "gardening)",
    "((((((((",
    "AND",
    "OR",
    "NOT",
    "NEAR",
    "gardening AND",
    "OR gardening",
    "gardening NOT bread",
    "NEAR(gardening bread, 2)",
    "NEAR/2",
    "*",
    "gard*",
    "**",
    "* gardening",
    ":",
    "title:gardening",
    "body:",
    "{title body}: bread",
    "-title:bread",
    "^",
    "^gardening",
    "+",
    "+gardening -bread",
    "gardening + bread",
    "a'b\"c(d)e*f:g^h",
    "\\",
    "\\\"",
    "%",
    "_",
    "gardening;DROP TABLE posts;--",
    "'); DROP TABLE post_text; --",
    "\x01\x02\x03",
    "tab\there",
    "line\nbreak",
    "nul\0inside"s,
    "caf\xc3\xa9",
    "\xc3\xa9",
    "\xe2\x80\x94",                              // An em dash alone: no token.
    "gardening \xe2\x80\x94 notes",              // ... between words.
    "\xe2\x80\xa6",                              // Ellipsis.
    "\xf0\x9f\x98\x80",                          // An emoji.
    "\xe4\xb8\xad\xe6\x96\x87",                  // CJK.
    "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7",  // Arabic.
    "\xef\xbc\x82\xef\xbc\x8a",                  // Fullwidth quote and asterisk.
    "\xff",
    "\xfe\xff",
    "\xc3",
    "gardening\xff",
    "\xed\xa0\x80",  // A surrogate.
    "\xc0\xa2",      // An overlong quote.
    std::string(5000, 'a'),
    std::string(5000, '"'),
    "a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f g h i j k l",
};

TEST_F(SearchTest, HostileTextIsNeverAnFts5SyntaxError) {
  for (const std::string& text : kHostile) {
    auto r = store_->Search(text, 10);
    EXPECT_TRUE(r.ok()) << ::testing::PrintToString(text) << " -> "
                        << ::testing::PrintToString(SearchQuery(text)) << ": "
                        << r.error().ToString();
  }
}

TEST_F(SearchTest, OperatorWordsAreOrdinaryWords) {
  // Quoted, the words of a hostile text are looked up as words: the query still finds
  // what its words match, and an operator word is just one more required word.
  auto quoted = Search("\"gardening");
  EXPECT_EQ(quoted.size(), 2u);
  EXPECT_TRUE(Contains(quoted, garden_));
  EXPECT_TRUE(Contains(quoted, record_));
  EXPECT_EQ(Ids(Search("(tomatoes)")), std::vector<Hash32>{garden_.id()});
  EXPECT_EQ(Ids(Search("body:tomatoes")), std::vector<Hash32>{});  // "body" is not a word there.
  EXPECT_EQ(Ids(Search("^tomatoes*")), std::vector<Hash32>{garden_.id()});
  EXPECT_TRUE(Search("tomatoes OR bread").empty());   // "or" is required, and absent.
  EXPECT_TRUE(Search("tomatoes NOT bread").empty());  // "not" and "bread" are required.
  EXPECT_EQ(Ids(Search("tomatoes AND")), std::vector<Hash32>{garden_.id()});  // "and".
  // Words FTS5 does not see as tokens (punctuation outside ASCII) do not hide the others.
  EXPECT_EQ(Ids(Search("tomatoes \xe2\x80\x94 patience")), std::vector<Hash32>{garden_.id()});
}

TEST(SearchQueryTest, QuotesEachWordAsARequiredPrefix) {
  EXPECT_EQ(SearchQuery(""), "");
  EXPECT_EQ(SearchQuery(" \t!?-"), "");
  EXPECT_EQ(SearchQuery("hello"), "\"hello\"*");
  EXPECT_EQ(SearchQuery("  Hello, World!  "), "\"Hello\"* \"World\"*");
  EXPECT_EQ(SearchQuery("a\"b(c)d*e:f^g"), "\"a\"* \"b\"* \"c\"* \"d\"* \"e\"* \"f\"* \"g\"*");
  EXPECT_EQ(SearchQuery("OR NEAR"), "\"OR\"* \"NEAR\"*");
  EXPECT_EQ(SearchQuery("caf\xc3\xa9"), "\"caf\xc3\xa9\"*");
  for (const std::string& text : kHostile) {
    const std::string q = SearchQuery(text);
    // Quote characters appear only as the delimiters the query adds.
    size_t quotes = std::count(q.begin(), q.end(), '"');
    EXPECT_EQ(quotes % 2, 0u) << ::testing::PrintToString(text);
    for (size_t i = 0; i < q.size(); ++i) {
      if (q[i] == '"') {
        const size_t close = q.find('"', i + 1);
        ASSERT_NE(close, std::string::npos);
        for (size_t k = i + 1; k < close; ++k) {
          const auto c = static_cast<unsigned char>(q[k]);
          EXPECT_TRUE(c >= 0x80 || std::isalnum(c)) << ::testing::PrintToString(text);
        }
        ASSERT_EQ(q.substr(close, 2), "\"*");
        i = close + 1;
      }
    }
  }
}

TEST(SearchQueryTest, KeepsAtMostSixteenWords) {
  std::string text;
  for (int i = 0; i < 40; ++i) text += "w" + std::to_string(i) + " ";
  const std::string q = SearchQuery(text);
  EXPECT_EQ(std::count(q.begin(), q.end(), '*'), 16);
  EXPECT_NE(q.find("\"w15\"*"), std::string::npos);
  EXPECT_EQ(q.find("\"w16\"*"), std::string::npos);
}

// --- Ranking ----------------------------------------------------------------------------

TEST_F(PostsTest, TitleMatchesRankAboveBodyOnlyMatches) {
  Feed a(TestKey(1), "blog");
  Feed b(TestKey(2), "blog");
  // The body-only match arrives first, is newer and names the word three times; the title
  // match's body holds it once (its title line), so only the title's weight puts it first.
  const Entry body_only = b.Post(
      "# Travel diary\n\nA volcano, then another volcano, then a third volcano from the road.",
      kT0 + 10);
  const Entry in_title = a.Post("# Volcano\n\nA long day of walking and some rain.", kT0);
  Add({body_only, in_title});
  WaitIndexed(body_only);
  WaitIndexed(in_title);
  auto found = Search("volcano");
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].id, in_title.id());
  EXPECT_EQ(found[1].id, body_only.id());
  EXPECT_LT(found[0].rank, found[1].rank);  // bm25: lower is better.
  // The limit keeps the best matches.
  found = Search("volcano", 1);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].id, in_title.id());
}

// --- Latest and PostsBy -------------------------------------------------------------------

TEST_F(PostsTest, LatestCatalogRecordsAreNewestFirstAndLimited) {
  Feed alice_blog(TestKey(1), "blog");
  Feed alice_catalog(TestKey(1), "catalog");
  Feed bob_blog(TestKey(2), "blog");
  Feed bob_catalog(TestKey(2), "catalog");
  std::vector<Entry> posts, records;
  for (int i = 0; i < 4; ++i) {
    // Alice and Bob alternate; Bob's are older, so time, not arrival, orders the list.
    const Entry a = alice_blog.Post("# Alice " + std::to_string(i), kT0 + 100 * i + 50);
    const Entry b = bob_blog.Post("# Bob " + std::to_string(i), kT0 + 100 * i);
    posts.insert(posts.end(), {a, b});
    records.push_back(alice_catalog.Catalog(a, "Alice " + std::to_string(i), kT0 + 100 * i + 50));
    records.push_back(bob_catalog.Catalog(b, "Bob " + std::to_string(i), kT0 + 100 * i));
  }
  Add(posts);
  Add(records);
  WaitIndexed(records.back());

  auto latest = store_->Latest(kinds::kCatalog, 3).value();
  ASSERT_EQ(latest.size(), 3u);
  EXPECT_EQ(latest[0].title, "Alice 3");
  EXPECT_EQ(latest[1].title, "Bob 3");
  EXPECT_EQ(latest[2].title, "Alice 2");
  EXPECT_EQ(latest[0].id, records[6].id());
  EXPECT_EQ(latest[0].kind, kinds::kCatalog);
  EXPECT_EQ(latest[0].group, "catalog");
  EXPECT_EQ(latest[0].target_group, "blog");
  EXPECT_EQ(latest[0].target_id, posts[6].id());
  EXPECT_EQ(latest[1].target_id, posts[7].id());

  auto all = store_->Latest(kinds::kCatalog, 100).value();
  ASSERT_EQ(all.size(), 8u);
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_GT(all[i - 1].timestamp_ms, all[i].timestamp_ms) << i;
  }
  for (const PostInfo& p : all) EXPECT_EQ(p.kind, kinds::kCatalog);
  EXPECT_EQ(store_->Latest(kinds::kCatalog, 1)->size(), 1u);
  EXPECT_TRUE(store_->Latest(kinds::kCatalog, 0)->empty());

  // Posts are listed apart from the records.
  auto latest_posts = store_->Latest(kinds::kPost, 100).value();
  ASSERT_EQ(latest_posts.size(), 8u);
  EXPECT_EQ(latest_posts[0].id, posts[6].id());
  EXPECT_EQ(latest_posts[0].title, "Alice 3");
  for (const PostInfo& p : latest_posts) {
    EXPECT_EQ(p.kind, kinds::kPost);
    EXPECT_EQ(p.target_group, "");
  }
  EXPECT_TRUE(store_->Latest(kinds::kRaw, 100)->empty());
}

TEST_F(PostsTest, PostsByReturnsOnlyThatAuthorsPosts) {
  Feed alice_blog(TestKey(1), "blog");
  Feed alice_notes(TestKey(1), "notes");
  Feed alice_catalog(TestKey(1), "catalog");
  Feed bob_blog(TestKey(2), "blog");
  const Entry a1 = alice_blog.Post("Alice one", kT0 + 1);
  const Entry b1 = bob_blog.Post("Bob one", kT0 + 2);
  const Entry a2 = alice_notes.Post("Alice two", kT0 + 3);
  const Entry b2 = bob_blog.Post("Bob two", kT0 + 4);
  const Entry a3 = alice_blog.Post("Alice three", kT0 + 5);
  const Entry a_record = alice_catalog.Catalog(a3, "Alice three", kT0 + 6);
  const Entry a_raw = alice_blog.Next(kinds::kRaw, "Alice raw", kT0 + 7);
  Add({a1, b1, a2, b2, a3, a_record, a_raw});
  WaitIndexed(a_record);

  auto by_alice = store_->PostsBy(TestKey(1).public_key(), 10).value();
  EXPECT_EQ(Ids(by_alice), (std::vector<Hash32>{a3.id(), a2.id(), a1.id()}));
  for (const PostInfo& p : by_alice) {
    EXPECT_EQ(p.author, TestKey(1).public_key());
    EXPECT_EQ(p.kind, kinds::kPost);
  }
  EXPECT_EQ(Ids(store_->PostsBy(TestKey(1).public_key(), 2).value()),
            (std::vector<Hash32>{a3.id(), a2.id()}));
  EXPECT_EQ(Ids(store_->PostsBy(TestKey(2).public_key(), 10).value()),
            (std::vector<Hash32>{b2.id(), b1.id()}));
  EXPECT_TRUE(store_->PostsBy(TestKey(3).public_key(), 10)->empty());
}

TEST_F(PostsTest, CatalogRecordForFindsTheFirstRecordOfAPost) {
  Feed blog(TestKey(1), "blog");
  Feed alice_catalog(TestKey(1), "catalog");
  Feed bob_catalog(TestKey(2), "catalog");
  const Entry post = blog.Post("# Announced", kT0);
  const Entry other = blog.Post("# Not announced", kT0 + 1);
  // A post this store does not carry: its catalog record is all it knows of it.
  Feed elsewhere(TestKey(3), "far.away");
  const Entry foreign = elsewhere.Post("# Far away", kT0);
  const Entry later = alice_catalog.Catalog(post, "Announced by its author", kT0 + 20);
  const Entry earlier = bob_catalog.Catalog(post, "Announced by a reader", kT0 + 10);
  const Entry bad = alice_catalog.Next(
      kinds::kCatalog, R"({"title": "Bad", "group": "blog", "entry": "00"})", kT0 + 21);
  const Entry about_foreign = bob_catalog.Catalog(foreign, "Far away", kT0 + 11);
  Add({post, other, later, earlier, bad, about_foreign});
  WaitIndexed(about_foreign);
  WaitIndexed(later);

  for (int i = 0; i < 2; ++i) {  // The statement is reused: a second call reads the same.
    auto found = store_->CatalogRecordFor(post.id());
    ASSERT_TRUE(found.ok()) << found.error().ToString();
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ((*found)->id, earlier.id());
    EXPECT_EQ((*found)->title, "Announced by a reader");
    EXPECT_EQ((*found)->author, TestKey(2).public_key());
    EXPECT_EQ((*found)->kind, kinds::kCatalog);
    EXPECT_EQ((*found)->target_group, "blog");
    EXPECT_EQ((*found)->target_id, post.id());
  }
  auto far = store_->CatalogRecordFor(foreign.id()).value();
  ASSERT_TRUE(far.has_value());
  EXPECT_EQ(far->id, about_foreign.id());
  EXPECT_EQ(far->target_group, "far.away");
  EXPECT_FALSE(store_->CatalogRecordFor(other.id())->has_value());
  EXPECT_FALSE(store_->CatalogRecordFor(later.id())->has_value());  // A record is no post.
  EXPECT_FALSE(store_->CatalogRecordFor(Hash32{})->has_value());
}

// --- What is not indexed ------------------------------------------------------------------

TEST_F(PostsTest, NonUtf8PostsAndMalformedRecordsAreStoredButNotIndexed) {
  Feed blog(TestKey(1), "blog");
  Feed catalog(TestKey(1), "catalog");
  const Entry good_post = blog.Post("# Zebra facts\n\nStripes.", kT0);
  const Entry bad_posts[] = {
      blog.Post("# Zebra \xff\xfe stripes", kT0 + 1),
      blog.Post("# Fine title\n\nzebra body \xc0\xaf", kT0 + 2),  // Bad bytes in the body.
      blog.Post("zebra \xed\xa0\x80 surrogate", kT0 + 3),
  };
  const std::string id = ToHex(good_post.id());
  const Entry bad_records[] = {
      catalog.Next(kinds::kCatalog, "zebra: not json", kT0 + 4),
      catalog.Next(kinds::kCatalog, R"(["zebra", "blog"])", kT0 + 5),
      catalog.Next(kinds::kCatalog,
                   R"({"title": "Zebra", "group": "Bad Group", "entry": ")" + id + R"("})",
                   kT0 + 6),
      catalog.Next(kinds::kCatalog,
                   R"({"title": "Zebra", "group": "blog", "entry": ")" + id.substr(2) + R"("})",
                   kT0 + 7),
      catalog.Next(kinds::kCatalog, R"({"title": "Zebra", "group": "blog"})", kT0 + 8),
      catalog.Next(kinds::kCatalog,
                   "{\"title\": \"Zebra \xff\", \"group\": \"blog\", \"entry\": \"" + id + "\"}",
                   kT0 + 9),
  };
  // Other kinds are never indexed, whatever their payload.
  const Entry other_kinds[] = {
      blog.Next(kinds::kRaw, "# Zebra raw", kT0 + 10),
      blog.Next(3, "# Zebra kind three", kT0 + 11),
      catalog.Next(kinds::kRaw, AsString(EncodeCatalogRecord({"Zebra", "blog", good_post.id()})),
                   kT0 + 12),
  };
  std::vector<Entry> all = {good_post};
  all.insert(all.end(), std::begin(bad_posts), std::end(bad_posts));
  all.insert(all.end(), std::begin(bad_records), std::end(bad_records));
  all.insert(all.end(), std::begin(other_kinds), std::end(other_kinds));
  // Indexed last, so once it is in the index every entry before it was considered.
  const Entry sentinel = catalog.Catalog(good_post, "Sentinel", kT0 + 13);
  all.push_back(sentinel);
  Add(all);
  WaitIndexed(sentinel);

  for (const Entry& e : all) {
    auto got = store_->Get(e.id());
    ASSERT_TRUE(got.ok() && got->has_value()) << "every entry is stored";
  }
  EXPECT_EQ(Ids(Search("zebra")), std::vector<Hash32>{good_post.id()});
  EXPECT_EQ(Ids(store_->Latest(kinds::kPost, 100).value()), std::vector<Hash32>{good_post.id()});
  EXPECT_EQ(Ids(store_->Latest(kinds::kCatalog, 100).value()), std::vector<Hash32>{sentinel.id()});
  EXPECT_EQ(Ids(store_->PostsBy(TestKey(1).public_key(), 100).value()),
            std::vector<Hash32>{good_post.id()});
}

// --- Index lifetime -----------------------------------------------------------------------

TEST_F(PostsTest, IndexesEachEntryOnceAcrossReopens) {
  Feed blog(TestKey(1), "blog");
  const Entry first = blog.Post("# Quokka one", kT0);
  Add({first});
  WaitIndexed(first);
  Open(path());
  const Entry second = blog.Post("# Quokka two", kT0 + 1);
  Add({second});
  WaitIndexed(second);
  Open(path());
  const Entry third = blog.Post("# Wombat", kT0 + 2);
  Add({third});
  WaitIndexed(third);
  auto quokkas = Search("quokka");
  ASSERT_EQ(quokkas.size(), 2u);
  EXPECT_TRUE(Contains(quokkas, first));
  EXPECT_TRUE(Contains(quokkas, second));
  EXPECT_EQ(store_->Latest(kinds::kPost, 100)->size(), 3u);
}

TEST_F(PostsTest, IndexesMoreEntriesThanOneSlice) {
  // The writer indexes in slices of 2048 entries; a larger batch takes several.
  Feed blog(TestKey(1), "blog");
  std::vector<Entry> entries;
  for (int i = 0; i < 2500; ++i) {
    entries.push_back(blog.Post("Numbat " + std::to_string(i), kT0 + i));
  }
  Add(entries);
  WaitIndexed(entries.back());
  EXPECT_EQ(store_->Latest(kinds::kPost, 10'000)->size(), entries.size());
  EXPECT_EQ(Search("numbat", 10'000).size(), entries.size());
  EXPECT_EQ(Ids(Search("numbat 1234")), std::vector<Hash32>{entries[1234].id()});
}

// --- A store from schema version 1 --------------------------------------------------------

// tests/fixtures/store-v1.db (see FixtureTest in store_test.cc) predates the post index:
// it holds two posts of blog.fixture and one kind 0 entry in the catalog group. Opening it
// adds the index (migration 2) and indexes what it already holds.
TEST_F(PostsTest, StoreFromSchemaVersion1IndexesItsPosts) {
  const std::string old = dir_.path() + "/old.db";
  std::filesystem::copy_file(PANDO_FIXTURES "/store-v1.db", old);
  Open(old);
  std::vector<PostInfo> latest;
  ASSERT_TRUE(Eventually([&] {
    auto r = store_->Latest(kinds::kPost, 10);
    if (r.ok()) latest = *r;
    return r.ok() && latest.size() == 2;
  }));
  EXPECT_EQ(latest[0].title, "second");
  EXPECT_EQ(latest[1].title, "A post from schema version 1");
  EXPECT_EQ(ToHex(latest[1].id),
            "46ecf42d8e84587a5a3a3bf55a5158c835d7de89262abee2ff32172eeee46c2c");
  EXPECT_EQ(latest[1].group, "blog.fixture");

  auto found = Search("schema");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].id, latest[1].id);
  EXPECT_EQ(Ids(Search("proves")), std::vector<Hash32>{latest[1].id});  // A body word.
  EXPECT_EQ(Search("fixture").size(), 2u);                              // The group.
  // The kind 0 entry "catalog record" is not a catalog record.
  EXPECT_TRUE(store_->Latest(kinds::kCatalog, 10)->empty());
  EXPECT_TRUE(Search("record").empty());

  // New posts are indexed after the old ones.
  Feed blog(TestKey(9), "blog.fixture");
  const Entry fresh = blog.Post("# After the migration", kT0);
  Add({fresh});
  WaitIndexed(fresh);
  EXPECT_EQ(Search("fixture").size(), 3u);
}

// tests/fixtures/store-v3.db was indexed at schema version 3, before posts kept their id and
// slug. Migration 5 empties the post index and the writer fills it again from the entries:
// every post has its slug and is found once by search (not twice: the old full-text rows
// are gone), and the catalog record is still found.
TEST_F(PostsTest, StoreFromSchemaVersion3IsIndexedAgainWithSlugs) {
  const std::string old = dir_.path() + "/old.db";
  std::filesystem::copy_file(PANDO_FIXTURES "/store-v3.db", old);
  Open(old);
  std::vector<PostInfo> latest;
  ASSERT_TRUE(Eventually([&] {
    auto r = store_->Latest(kinds::kPost, 100);
    if (r.ok()) latest = *r;
    return r.ok() && !latest.empty();
  }));
  for (const PostInfo& p : latest) {
    auto owner = store_->FirstPostWithSlug(p.author, Slug(p.title));
    ASSERT_TRUE(owner.ok()) << owner.error().ToString();
    ASSERT_TRUE(owner->has_value()) << p.title;
    EXPECT_EQ(Slug((*owner)->title), Slug(p.title));
    const auto found = Search(p.title);
    EXPECT_EQ(
        std::count_if(found.begin(), found.end(), [&](const PostInfo& f) { return f.id == p.id; }),
        1)
        << p.title;
  }
  EXPECT_EQ(store_->Latest(kinds::kCatalog, 100)->size(), 1u);
}

}  // namespace
}  // namespace pando::store
