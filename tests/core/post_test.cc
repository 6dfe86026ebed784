// Tests of core/post.h: UTF-8 validation, post titles and catalog records (the payloads of
// kind 1 and kind 2 entries; docs/entry-format.md, "Kinds").

#include "core/post.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/crypto.h"
#include "core/error_codes.h"

namespace pando {
namespace {

using namespace std::string_literals;

Hash32 Filled(uint8_t value) {
  Hash32 h;
  h.fill(value);
  return h;
}

std::string Repeat(std::string_view s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// --- IsUtf8 ---------------------------------------------------------------------------

TEST(IsUtf8Test, AcceptsWellFormedSequencesOfEveryLength) {
  for (const std::string& s : {
           ""s, "plain ASCII"s,
           "a\0b"s,                                    // NUL is a character.
           "\x7f"s,                                    // Last 1-byte character.
           "\xc2\x80"s,                                // U+0080, first 2-byte character.
           "\xdf\xbf"s,                                // U+07FF, last 2-byte character.
           "\xc3\xa9t\xc3\xa9"s,                       // "été".
           "\xe0\xa0\x80"s,                            // U+0800, first 3-byte character.
           "\xe2\x82\xac"s,                            // U+20AC, the euro sign.
           "\xed\x9f\xbf"s,                            // U+D7FF, just below the surrogates.
           "\xee\x80\x80"s,                            // U+E000, just above them.
           "\xef\xbf\xbf"s,                            // U+FFFF, last 3-byte character.
           "\xf0\x90\x80\x80"s,                        // U+10000, first 4-byte character.
           "\xf0\x9f\x98\x80"s,                        // U+1F600, an emoji.
           "\xf4\x8f\xbf\xbf"s,                        // U+10FFFF, the last code point.
           "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"s,  // Mixed lengths.
       }) {
    EXPECT_TRUE(IsUtf8(s)) << testing::PrintToString(s);
  }
}

TEST(IsUtf8Test, RejectsOverlongEncodings) {
  for (const std::string& s : {
           "\xc0\x80"s,          // NUL in 2 bytes.
           "\xc0\xaf"s,          // '/' in 2 bytes.
           "\xc1\xbf"s,          // U+007F in 2 bytes.
           "\xe0\x80\x80"s,      // NUL in 3 bytes.
           "\xe0\x9f\xbf"s,      // U+07FF in 3 bytes.
           "\xf0\x80\x80\x80"s,  // NUL in 4 bytes.
           "\xf0\x8f\xbf\xbf"s,  // U+FFFF in 4 bytes.
           "ok \xc0\xaf then"s,  // In the middle of valid text.
       }) {
    EXPECT_FALSE(IsUtf8(s)) << testing::PrintToString(s);
  }
}

TEST(IsUtf8Test, RejectsSurrogates) {
  for (const std::string& s : {
           "\xed\xa0\x80"s,              // U+D800.
           "\xed\xaf\xbf"s,              // U+DBFF.
           "\xed\xb0\x80"s,              // U+DC00.
           "\xed\xbf\xbf"s,              // U+DFFF.
           "\xed\xa0\xbd\xed\xb8\x80"s,  // A CESU-8 pair for U+1F600.
       }) {
    EXPECT_FALSE(IsUtf8(s)) << testing::PrintToString(s);
  }
}

TEST(IsUtf8Test, RejectsCodePointsAboveTheLast) {
  for (const std::string& s : {
           "\xf4\x90\x80\x80"s,  // U+110000.
           "\xf4\xbf\xbf\xbf"s,  // U+13FFFF.
           "\xf5\x80\x80\x80"s,  // Lead bytes F5..FF never appear.
           "\xf7\xbf\xbf\xbf"s,
           "\xf8\x88\x80\x80\x80"s,      // Old 5-byte form.
           "\xfc\x84\x80\x80\x80\x80"s,  // Old 6-byte form.
           "\xfe"s,
           "\xff"s,
       }) {
    EXPECT_FALSE(IsUtf8(s)) << testing::PrintToString(s);
  }
}

TEST(IsUtf8Test, RejectsTruncatedAndBrokenSequences) {
  for (const std::string& s : {
           "\xc2"s,      // 2-byte lead at the end.
           "\xe2\x82"s,  // 3-byte sequence missing its last byte.
           "\xe0"s,
           "\xf0\x9f\x98"s,  // 4-byte sequence missing its last byte.
           "\xf0\x9f"s, "\xf0"s,
           "abc\xe2\x82"s,  // Truncated after valid text.
           "\x80"s,         // Lone continuation bytes.
           "a\xbf"s,
           "\xc3\xa9\xa9"s,      // One continuation too many.
           "\xc2\x41"s,          // Lead followed by ASCII.
           "\xe2\x28\xa1"s,      // Bad second byte.
           "\xe2\x82\xc0"s,      // Bad third byte.
           "\xf0\x90\x28\xbc"s,  // Bad third byte of four.
           "\xf0\x90\x80\x28"s,  // Bad fourth byte.
           "\xe2\x82\xac\xe2"s,  // Valid character, then a truncated one.
       }) {
    EXPECT_FALSE(IsUtf8(s)) << testing::PrintToString(s);
  }
}

// --- PostTitle ------------------------------------------------------------------------

TEST(PostTitleTest, EmptyForEmptyOrBlankText) {
  EXPECT_EQ(PostTitle(""), "");
  EXPECT_EQ(PostTitle("\n\n"), "");
  EXPECT_EQ(PostTitle("   \t\r\n \r\n\t"), "");
  EXPECT_EQ(PostTitle("#"), "");
  EXPECT_EQ(PostTitle("### \n  #\n"), "");
}

TEST(PostTitleTest, TakesTheFirstNonBlankLineWithoutHeadingMarks) {
  EXPECT_EQ(PostTitle("Hello"), "Hello");
  EXPECT_EQ(PostTitle("Hello world\nsecond line"), "Hello world");
  EXPECT_EQ(PostTitle("# Hello\n\nBody text."), "Hello");
  EXPECT_EQ(PostTitle("###Deep heading\nbody"), "Deep heading");
  EXPECT_EQ(PostTitle("  ##   Spaced heading   \nbody"), "Spaced heading");
  EXPECT_EQ(PostTitle("First line\n# A later heading"), "First line");
  EXPECT_EQ(PostTitle("Windows line\r\nnext"), "Windows line");
  EXPECT_EQ(PostTitle("Inner # marks #stay"), "Inner # marks #stay");
}

TEST(PostTitleTest, SkipsLeadingBlankLines) {
  EXPECT_EQ(PostTitle("\n\n\nThird line\nfourth"), "Third line");
  EXPECT_EQ(PostTitle("  \t\n\r\n   \t # Title\t \r\nbody"), "Title");
  // A line of heading marks alone is blank once they are removed.
  EXPECT_EQ(PostTitle("#\n##  \nReal title"), "Real title");
}

TEST(PostTitleTest, ControlCharactersBecomeSpaces) {
  EXPECT_EQ(PostTitle("a\tb"), "a b");
  EXPECT_EQ(PostTitle("a\x01"
                      "b\x1f"
                      "c"),
            "a b c");
  EXPECT_EQ(PostTitle("a\x1b[31mred"), "a [31mred");
  EXPECT_EQ(PostTitle("nul\0inside"s), "nul inside");
  EXPECT_EQ(PostTitle("a\rb\nsecond"), "a b");
  for (char c : PostTitle("x\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10y")) {
    EXPECT_GE(static_cast<uint8_t>(c), 0x20);
  }
}

TEST(PostTitleTest, KeepsTitlesUpToTheLimitWhole) {
  const std::string exact(kTitleBytesMax, 'a');
  EXPECT_EQ(PostTitle(exact), exact);
  EXPECT_EQ(PostTitle("# " + exact + "\nbody"), exact);
  EXPECT_EQ(PostTitle(exact + "b"), exact);
  EXPECT_EQ(PostTitle(std::string(1000, 'z')), std::string(kTitleBytesMax, 'z'));
}

// For characters of 2, 3 and 4 bytes, at every alignment against the limit: the cut keeps
// as many whole characters as fit and never splits one.
TEST(PostTitleTest, CutsLongTitlesOnACharacterBoundary) {
  for (const std::string& ch : {"\xc3\xa9"s, "\xe2\x82\xac"s, "\xf0\x9f\x98\x80"s}) {
    for (size_t lead = 0; lead < ch.size(); ++lead) {
      const std::string text = std::string(lead, 'a') + Repeat(ch, 150);
      const std::string title = PostTitle(text);
      const size_t keep = lead + (kTitleBytesMax - lead) / ch.size() * ch.size();
      EXPECT_EQ(title, text.substr(0, keep)) << ch.size() << "-byte characters, lead " << lead;
      EXPECT_LE(title.size(), kTitleBytesMax);
      EXPECT_GT(title.size(), kTitleBytesMax - ch.size());
      EXPECT_TRUE(IsUtf8(title));
    }
  }
}

TEST(PostTitleTest, EmptyWhenTheTitleLineIsNotUtf8) {
  EXPECT_EQ(PostTitle("\xff title"), "");
  EXPECT_EQ(PostTitle("# Ti\xc0\xaftle\nbody"), "");
  EXPECT_EQ(PostTitle("\n\nsurrogate \xed\xa0\x80"), "");
  EXPECT_EQ(PostTitle("truncated \xe2\x82"), "");
  // Only the title line counts.
  EXPECT_EQ(PostTitle("Good title\n\xff\xfe"), "Good title");
}

// A title, once taken, is its own title: what is shown, stored and sent in a catalog
// record reads back the same (CatalogRecordTest.DecodedRecordsRoundTrip relies on it).
TEST(PostTitleTest, ATitleIsItsOwnTitle) {
  for (const std::string& text : {
           "# Hello"s,
           "# # Twice marked"s,               // One round of '#' removal leaves "# Twice marked".
           "\x01# after a control"s,          // The control byte becomes a leading space.
           "trailing control\x01"s,           // ... or a trailing one.
           "\x01"s,                           // ... or the whole title.
           std::string(199, 'a') + " tail"s,  // The cut leaves a trailing space.
           Repeat("\xe2\x82\xac", 100),
       }) {
    const std::string title = PostTitle(text);
    EXPECT_EQ(PostTitle(title), title) << testing::PrintToString(text);
    if (!title.empty()) {
      EXPECT_NE(title.front(), ' ') << testing::PrintToString(text);
      EXPECT_NE(title.back(), ' ') << testing::PrintToString(text);
    }
  }
}

// --- Catalog records --------------------------------------------------------------------

std::string RecordJson(const nlohmann::json& title, const nlohmann::json& group,
                       const nlohmann::json& entry) {
  return nlohmann::json{{"title", title}, {"group", group}, {"entry", entry}}.dump();
}

Result<CatalogRecord> Decode(std::string_view payload) {
  return DecodeCatalogRecord(AsBytes(payload));
}

const std::string kId = ToHex(Filled(0xab));

TEST(CatalogRecordTest, DecodesAGoodRecord) {
  auto r = Decode(R"({"title": "Hello, world", "group": "blog.alice", "entry": ")" + kId + R"("})");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->title, "Hello, world");
  EXPECT_EQ(r->group, "blog.alice");
  EXPECT_EQ(r->entry, Filled(0xab));
}

TEST(CatalogRecordTest, EncodeThenDecodeRoundTrips) {
  const CatalogRecord records[] = {
      {"Hello", "blog", Filled(0)},
      {"", "catalog", Filled(0xff)},
      {"Quotes \" and \\ backslashes </script> & \xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80", "a-b_c.d",
       Blake2b256(AsBytes("post"))},
      {std::string(kTitleBytesMax, 'x'), std::string(64, 'g'), Filled(0x5a)},
  };
  for (const CatalogRecord& record : records) {
    const Bytes payload = EncodeCatalogRecord(record);
    EXPECT_TRUE(IsUtf8(AsString(payload)));
    auto r = DecodeCatalogRecord(payload);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->title, record.title);
    EXPECT_EQ(r->group, record.group);
    EXPECT_EQ(r->entry, record.entry);
  }
}

TEST(CatalogRecordTest, EncodesTheDocumentedJsonObject) {
  const Bytes payload = EncodeCatalogRecord({"T", "blog", Filled(1)});
  auto j = nlohmann::json::parse(AsString(payload));
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.size(), 3u);
  EXPECT_EQ(j["title"], "T");
  EXPECT_EQ(j["group"], "blog");
  EXPECT_EQ(j["entry"], ToHex(Filled(1)));
}

TEST(CatalogRecordTest, MalformedWhenNotUtf8) {
  EXPECT_EQ(Decode("\xff").code(), codes::kMalformed);
  // Valid JSON syntax around bytes that are not UTF-8.
  EXPECT_EQ(
      Decode("{\"title\": \"caf\xe9\", \"group\": \"blog\", \"entry\": \"" + kId + "\"}").code(),
      codes::kMalformed);
  EXPECT_EQ(Decode("{\"title\": \"\xed\xa0\x80\", \"group\": \"blog\", \"entry\": \"" + kId + "\"}")
                .code(),
            codes::kMalformed);
}

TEST(CatalogRecordTest, MalformedWhenNotJson) {
  for (const std::string& s : {
           ""s,
           "not json"s,
           "{"s,
           "{\"title\": \"t\", \"group\": \"blog\", \"entry\": \""s + kId,  // Truncated.
           "{'title': 't'}"s,
           RecordJson("t", "blog", kId) + " trailing"s,
           RecordJson("t", "blog", kId) + RecordJson("t", "blog", kId),
           "{\"title\": \"t\", \"group\": \"blog\", \"entry\": \""s + kId + "\",}"s,
           "\0"s,
       }) {
    EXPECT_EQ(Decode(s).code(), codes::kMalformed) << testing::PrintToString(s);
  }
}

TEST(CatalogRecordTest, MalformedWhenNotAnObject) {
  for (const std::string& s : {
           "[]"s,
           "[\"t\", \"blog\", \""s + kId + "\"]"s,
           "\"a string\""s,
           "42"s,
           "true"s,
           "null"s,
       }) {
    EXPECT_EQ(Decode(s).code(), codes::kMalformed) << s;
  }
}

TEST(CatalogRecordTest, MalformedWhenAFieldIsMissingOrNotAString) {
  for (const std::string& s : {
           "{}"s,
           nlohmann::json{{"group", "blog"}, {"entry", kId}}.dump(),
           nlohmann::json{{"title", "t"}, {"entry", kId}}.dump(),
           nlohmann::json{{"title", "t"}, {"group", "blog"}}.dump(),
           nlohmann::json{{"Title", "t"}, {"group", "blog"}, {"entry", kId}}.dump(),
           RecordJson(1, "blog", kId),
           RecordJson(nullptr, "blog", kId),
           RecordJson(nlohmann::json::array({"t"}), "blog", kId),
           RecordJson(nlohmann::json{{"t", 1}}, "blog", kId),
           RecordJson("t", nullptr, kId),
           RecordJson("t", true, kId),
           RecordJson("t", "blog", 7),
           RecordJson("t", "blog", nlohmann::json::array()),
       }) {
    EXPECT_EQ(Decode(s).code(), codes::kMalformed) << s;
  }
}

TEST(CatalogRecordTest, InvalidGroup) {
  for (const std::string& group : {
           ""s,
           "Blog"s,
           "-blog"s,
           ".blog"s,
           "bl og"s,
           "bl\xc3\xb6g"s,
           std::string(65, 'g'),
           "blog/x"s,
       }) {
    EXPECT_EQ(Decode(RecordJson("t", group, kId)).code(), codes::kInvalidGroup)
        << testing::PrintToString(group);
  }
}

TEST(CatalogRecordTest, BadId) {
  for (const std::string& entry : {
           ""s,
           kId.substr(0, 62),
           kId.substr(0, 63),
           kId + "a",
           kId + "ab",
           kId.substr(0, 63) + "g",
           kId.substr(0, 63) + " ",
           " " + kId.substr(1),
           std::string(64, 'z'),
           "0x" + kId.substr(2),
       }) {
    EXPECT_EQ(Decode(RecordJson("t", "blog", entry)).code(), codes::kBadId) << entry;
  }
}

TEST(CatalogRecordTest, CutsAnOverLongTitle) {
  auto r = Decode(RecordJson(std::string(500, 'x'), "blog", kId));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->title, std::string(kTitleBytesMax, 'x'));

  // 3-byte characters: 66 fit in 200 bytes; the 67th would be split.
  r = Decode(RecordJson(Repeat("\xe2\x82\xac", 100), "blog", kId));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->title, Repeat("\xe2\x82\xac", 66));
  EXPECT_TRUE(IsUtf8(r->title));
}

// Whatever DecodeCatalogRecord returns encodes and decodes to the same record: a node that
// passes a record on never changes what it says.
TEST(CatalogRecordTest, DecodedRecordsRoundTrip) {
  for (const std::string& title : {
           "Plain"s,
           "# Heading marks"s,
           "# # Twice marked"s,
           "\x01# after a control"s,
           "trailing control\x01"s,
           "\x01"s,
           std::string(199, 'a') + " tail"s,
           "two\nlines"s,
           Repeat("\xf0\x9f\x98\x80", 60),
       }) {
    auto first = Decode(RecordJson(title, "blog", kId));
    ASSERT_TRUE(first.ok()) << first.error().ToString();
    auto second = DecodeCatalogRecord(EncodeCatalogRecord(*first));
    ASSERT_TRUE(second.ok()) << second.error().ToString();
    EXPECT_EQ(second->title, first->title) << testing::PrintToString(title);
    EXPECT_EQ(second->group, first->group);
    EXPECT_EQ(second->entry, first->entry);
  }
}

}  // namespace
}  // namespace pando
