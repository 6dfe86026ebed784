// Golden vectors of the CRDT operation encoding (docs/crdt.md, "Golden vectors"): each
// operation, the exact payload bytes it encodes to, and the check that docs/crdt.md lists
// the same bytes. These bytes must never change: a failure here means the encoding changed.
#include <gtest/gtest.h>

#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "core/bytes.h"
#include "core/error_codes.h"
#include "crdt/op.h"
#include "testutil/doc.h"

namespace pando::crdt {
namespace {

constexpr int64_t kMs = 1'700'000'000'000;

struct OpVector {
  std::string name;
  Op op;
  std::string payload_hex;
};

Hash32 Filled(uint8_t b) {
  Hash32 h;
  h.fill(b);
  return h;
}

Op MakeOp(bool personal, std::string name, Hlc hlc, Action action) {
  Op op;
  op.personal = personal;
  op.name = std::move(name);
  op.hlc = hlc;
  op.action = std::move(action);
  return op;
}

// The vectors of docs/crdt.md, "Golden vectors", in the same order. Element ids use
// made-up entry ids (32 equal bytes).
std::vector<OpVector> Vectors() {
  std::vector<OpVector> v;
  // 1. A personal map: delete "bio", set "name".
  v.push_back({"map_update",
               MakeOp(true, "profile", HlcFromMs(kMs) + 1,
                      MapUpdate{{{"bio", std::nullopt}, {"name", "\"Ada\""}}}),
               "0101010101000068e5cf8b010770726f66696c6502000362696f00046e616d65"
               "01050000002241646122"});
  // 2. Add two elements to a shared set.
  v.push_back({"set_add", MakeOp(false, "tags", HlcFromMs(kMs + 1000), SetAdd{{"\"cpp\"", "42"}}),
               "010201000000e86be5cf8b010474616773020005000000226370702202000000"
               "3432"});
  // 3. Remove an element by two tags.
  v.push_back({"set_remove",
               MakeOp(false, "tags", HlcFromMs(kMs + 2000),
                      SetRemove{"\"cpp\"", {ElemId{Filled(0x11), 0}, ElemId{Filled(0x22), 3}}}),
               "010202000000d06fe5cf8b010474616773050000002263707022020011111111"
               "1111111111111111111111111111111111111111111111111111111100002222"
               "2222222222222222222222222222222222222222222222222222222222220300"});
  // 4. Insert two values at the head of a sequence.
  v.push_back(
      {"seq_insert_head",
       MakeOp(false, "doc", HlcFromMs(kMs + 3000), SeqInsert{std::nullopt, {"\"H\"", "\"i\""}}),
       "010301000000b873e5cf8b0103646f6300020003000000224822030000002269"
       "22"});
  // 5. Insert one value after an element.
  v.push_back({"seq_insert_after",
               MakeOp(false, "doc", HlcFromMs(kMs + 4000) + 2,
                      SeqInsert{ElemId{Filled(0x33), 1}, {"\"!\""}}),
               "010301000200a077e5cf8b0103646f6301333333333333333333333333333333"
               "33333333333333333333333333333333330100010003000000222122"});
  // 6. Delete two elements.
  v.push_back({"seq_delete",
               MakeOp(false, "doc", HlcFromMs(kMs + 5000),
                      SeqDelete{{ElemId{Filled(0x33), 0}, ElemId{Filled(0x44), 258}}}),
               "010302000000887be5cf8b0103646f6302003333333333333333333333333333"
               "3333333333333333333333333333333333330000444444444444444444444444"
               "44444444444444444444444444444444444444440201"});
  // 7. Add -5 to a counter with a non-ASCII name (U+1F44D).
  v.push_back({"counter_add",
               MakeOp(false, "\xf0\x9f\x91\x8d", HlcFromMs(kMs + 6000), CounterAdd{-5}),
               "010401000000707fe5cf8b0104f09f918dfbffffffffffffff"});
  return v;
}

// gtest prints a parameter with this when a test fails.
void PrintTo(const OpVector& v, std::ostream* os) { *os << v.name; }

// The hex of docs/crdt.md: 64 characters per line, in a fenced block of its own.
std::string FencedHex(const std::string& hex) {
  std::string out = "```\n";
  for (size_t i = 0; i < hex.size(); i += 64) out += hex.substr(i, 64) + "\n";
  return out + "```\n";
}

std::string ReadDoc() {
  std::ifstream in(std::string(PANDO_DOCS) + "/crdt.md", std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Field by field, since Op has no operator==.
void ExpectSameOp(const Op& got, const Op& want) {
  EXPECT_EQ(got.personal, want.personal);
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.hlc, want.hlc);
  ASSERT_EQ(got.action.index(), want.action.index());
  EXPECT_EQ(got.type(), want.type());
  if (const auto* w = std::get_if<MapUpdate>(&want.action)) {
    const auto& g = std::get<MapUpdate>(got.action);
    ASSERT_EQ(g.fields.size(), w->fields.size());
    for (size_t i = 0; i < w->fields.size(); ++i) {
      EXPECT_EQ(g.fields[i].field, w->fields[i].field);
      EXPECT_EQ(g.fields[i].value, w->fields[i].value);
    }
  } else if (const auto* w = std::get_if<SetAdd>(&want.action)) {
    EXPECT_EQ(std::get<SetAdd>(got.action).elements, w->elements);
  } else if (const auto* w = std::get_if<SetRemove>(&want.action)) {
    EXPECT_EQ(std::get<SetRemove>(got.action).element, w->element);
    EXPECT_EQ(std::get<SetRemove>(got.action).tags, w->tags);
  } else if (const auto* w = std::get_if<SeqInsert>(&want.action)) {
    EXPECT_EQ(std::get<SeqInsert>(got.action).after, w->after);
    EXPECT_EQ(std::get<SeqInsert>(got.action).values, w->values);
  } else if (const auto* w = std::get_if<SeqDelete>(&want.action)) {
    EXPECT_EQ(std::get<SeqDelete>(got.action).elements, w->elements);
  } else {
    EXPECT_EQ(std::get<CounterAdd>(got.action).delta, std::get<CounterAdd>(want.action).delta);
  }
}

class CrdtVectorTest : public ::testing::TestWithParam<OpVector> {};

TEST_P(CrdtVectorTest, EncodesToExactlyTheDocumentedBytes) {
  const OpVector& v = GetParam();
  ASSERT_TRUE(CheckOp(v.op).ok());
  EXPECT_EQ(ToHex(EncodeOp(v.op)), v.payload_hex);
}

TEST_P(CrdtVectorTest, DecodesToTheOperationAndBack) {
  const OpVector& v = GetParam();
  const auto bytes = FromHex(v.payload_hex);
  ASSERT_TRUE(bytes.has_value());
  auto op = DecodeOp(*bytes);
  ASSERT_TRUE(op.ok()) << op.error().ToString();
  ExpectSameOp(*op, v.op);
  EXPECT_EQ(EncodeOp(*op), *bytes);
}

TEST_P(CrdtVectorTest, EveryCutAndEveryExtensionIsRefused) {
  const OpVector& v = GetParam();
  Bytes bytes = *FromHex(v.payload_hex);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_EQ(DecodeOp(ByteSpan(bytes).first(n)).code(), codes::kBadOperation) << n;
  }
  bytes.push_back(0);
  EXPECT_EQ(DecodeOp(bytes).code(), codes::kBadOperation);
}

TEST_P(CrdtVectorTest, DocsListTheSameBytes) {
  const OpVector& v = GetParam();
  const std::string doc = ReadDoc();
  ASSERT_FALSE(doc.empty()) << "cannot read " << PANDO_DOCS << "/crdt.md";
  EXPECT_NE(doc.find(FencedHex(v.payload_hex)), std::string::npos)
      << "docs/crdt.md does not list vector " << v.name << " as\n"
      << FencedHex(v.payload_hex);
}

INSTANTIATE_TEST_SUITE_P(CrdtOpFormat, CrdtVectorTest, ::testing::ValuesIn(Vectors()),
                         [](const auto& info) { return info.param.name; });

TEST(CrdtVectorSetTest, CoversEveryActionAndTheDocHasNoOtherVectors) {
  const std::vector<OpVector> v = Vectors();
  std::vector<bool> action(std::variant_size_v<Action>, false);
  bool personal = false, shared = false, head = false, after = false, negative = false,
       map_delete = false, map_set = false;
  for (const OpVector& x : v) {
    action[x.op.action.index()] = true;
    (x.op.personal ? personal : shared) = true;
    if (const auto* ins = std::get_if<SeqInsert>(&x.op.action)) {
      (ins->after ? after : head) = true;
    }
    if (const auto* c = std::get_if<CounterAdd>(&x.op.action)) negative |= c->delta < 0;
    if (const auto* u = std::get_if<MapUpdate>(&x.op.action)) {
      for (const auto& f : u->fields) (f.value ? map_set : map_delete) = true;
    }
  }
  for (size_t i = 0; i < action.size(); ++i) EXPECT_TRUE(action[i]) << "action " << i;
  EXPECT_TRUE(personal && shared && head && after && negative && map_delete && map_set);

  // The "Golden vectors" section has one fenced block per vector (DocsListTheSameBytes finds
  // each) and no other.
  const std::string doc = ReadDoc();
  const size_t section = doc.find("\n## Golden vectors\n");
  ASSERT_NE(section, std::string::npos);
  size_t blocks = 0;
  size_t at = doc.find("```\n", section);
  while (at != std::string::npos) {
    const size_t close = doc.find("```\n", at + 4);
    ASSERT_NE(close, std::string::npos) << "an unclosed block in docs/crdt.md";
    ++blocks;
    at = doc.find("```\n", close + 4);
  }
  EXPECT_EQ(blocks, v.size());
}

// A value of docs/crdt.md, "Golden values": HEX, HEX*N (repeated N times) joined by '+', or
// '-' for none.
std::optional<std::string> GoldenValue(const std::string& parts) {
  std::string out;
  if (parts == "-") return out;
  std::istringstream in(parts);
  for (std::string part; std::getline(in, part, '+');) {
    const size_t star = part.find('*');
    auto bytes = FromHex(part.substr(0, star));
    if (!bytes) return std::nullopt;
    const size_t times = star == std::string::npos ? 1 : std::stoul(part.substr(star + 1));
    for (size_t i = 0; i < times; ++i) out += AsString(*bytes);
  }
  return out;
}

TEST(CrdtValueTest, GoldenValuesGetTheVerdictDocsGive) {
  const std::vector<std::string> lines =
      pando::testing::DocBlockAfter(std::string(PANDO_DOCS) + "/crdt.md", "### Golden values");
  ASSERT_GE(lines.size(), 40u) << "docs/crdt.md has no block of golden values";
  size_t accepted = 0, refused = 0;
  for (const std::string& line : lines) {
    std::istringstream words(line);
    std::string verdict, parts;
    words >> verdict >> parts;
    ASSERT_TRUE(verdict == "accept" || verdict == "refuse") << line;
    const auto value = GoldenValue(parts);
    ASSERT_TRUE(value.has_value()) << line;
    const bool accept = verdict == "accept";
    (accept ? accepted : refused) += 1;
    const Status checked = CheckValue(*value);
    EXPECT_EQ(checked.ok(), accept) << line.substr(0, 100);
    EXPECT_EQ(checked.code(), accept ? std::string_view() : codes::kBadOperation);
    // The decoder gives a payload that carries the value the same verdict.
    const Op op = MakeOp(false, "m", HlcFromMs(kMs), MapUpdate{{{"k", *value}}});
    const auto decoded = DecodeOp(EncodeOp(op));
    EXPECT_EQ(decoded.ok(), accept) << line.substr(0, 100);
    EXPECT_EQ(decoded.code(), accept ? std::string_view() : codes::kBadOperation);
  }
  EXPECT_GE(accepted, 20u);
  EXPECT_GE(refused, 20u);
}

}  // namespace
}  // namespace pando::crdt
