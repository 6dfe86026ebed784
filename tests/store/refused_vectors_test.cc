// The refused vectors of docs/entry-vectors.md: every case on the page gets the code the page
// gives it from the node's own checks (Entry::Decode, then Store::Add), and the cases cover
// every code an arriving entry can be refused with.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/error_codes.h"
#include "testutil/doc.h"
#include "testutil/verdict.h"

namespace pando {
namespace {

struct Case {
  std::map<std::string, std::string> fields;  // case, now_ms, stored, code, hex, zeros.
  std::string line;
};

// The lines of the first code block after "## Refused vectors", as key=value fields.
std::vector<Case> RefusedCases() {
  std::vector<Case> out;
  for (const std::string& line :
       testing::DocBlockAfter(PANDO_DOCS "/entry-vectors.md", "## Refused vectors")) {
    Case c;
    c.line = line.substr(0, 80);
    std::istringstream words(line);
    for (std::string w; words >> w;) {
      const size_t eq = w.find('=');
      if (eq != std::string::npos) c.fields[w.substr(0, eq)] = w.substr(eq + 1);
    }
    out.push_back(std::move(c));
  }
  return out;
}

TEST(RefusedVectorsTest, EveryCaseGetsTheCodeThePageGives) {
  const std::vector<Case> cases = RefusedCases();
  ASSERT_GE(cases.size(), 20u) << "docs/entry-vectors.md has no block of refused vectors";
  std::set<std::string> names;
  for (const Case& c : cases) {
    const auto& f = c.fields;
    ASSERT_TRUE(f.contains("case") && f.contains("now_ms") && f.contains("stored") &&
                f.contains("code") && f.contains("hex"))
        << c.line;
    EXPECT_TRUE(names.insert(f.at("case")).second) << "two cases named " << f.at("case");
    auto bytes = FromHex(f.at("hex"));
    ASSERT_TRUE(bytes.has_value()) << c.line;
    if (f.contains("zeros")) bytes->resize(bytes->size() + std::stoul(f.at("zeros")), 0);
    std::optional<Bytes> stored;
    if (f.at("stored") != "-") {
      stored = FromHex(f.at("stored"));
      ASSERT_TRUE(stored.has_value()) << c.line;
    }
    EXPECT_EQ(testing::EntryVerdict(*bytes, stored, std::stoll(f.at("now_ms"))), f.at("code"))
        << f.at("case");
  }
}

TEST(RefusedVectorsTest, TheCasesCoverEveryRefusalOfAnArrivingEntry) {
  std::set<std::string> codes_given;
  for (const Case& c : RefusedCases()) codes_given.insert(c.fields.at("code"));
  for (std::string_view code :
       {codes::kMalformed, codes::kUnknownVersion, codes::kOversize, codes::kInvalidGroup,
        codes::kWrongPrev, codes::kFutureTimestamp, codes::kBadSignature, codes::kDuplicate,
        codes::kForked, codes::kSeqGap, codes::kTimestampRegression}) {
    EXPECT_TRUE(codes_given.contains(std::string(code))) << code;
  }
  EXPECT_FALSE(codes_given.contains("OK"));
}

}  // namespace
}  // namespace pando
