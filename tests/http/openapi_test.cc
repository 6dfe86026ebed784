// docs/openapi.yaml and the route table (src/http/routes.h) describe the same API: every
// operation described is a row of the table and every /api/ and /metrics row is described,
// with the same method and path; the operations described with a 403 are exactly the
// operator rows, and those described as WebSocket streams the stream rows. The YAML is read
// by its layout (paths at two spaces, methods at four), as the file is written.
// tests/web/openapi_test.mjs checks the rest of the file (error codes and their statuses).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "http/routes.h"

#ifndef PANDO_OPENAPI_YAML
#error "PANDO_OPENAPI_YAML must name docs/openapi.yaml"
#endif

namespace pando::http {
namespace {

// One described operation and what the description says of it.
struct Operation {
  bool forbidden = false;  // It lists a 403 answer: an operator route.
  bool websocket = false;  // It has x-pando-websocket: a stream route.
};
// (method in lower case, path) -> its description.
using Operations = std::map<std::pair<std::string, std::string>, Operation>;

Operations Described() {
  std::ifstream in(PANDO_OPENAPI_YAML);
  EXPECT_TRUE(in.good()) << "cannot read " << PANDO_OPENAPI_YAML;
  static const std::regex kPath(R"(^  (/\S*):\s*$)");
  static const std::regex kMethod(R"(^    (get|put|post|delete|patch|head|options|trace):\s*$)");
  Operations ops;
  bool in_paths = false;
  std::string path;
  Operation* op = nullptr;
  std::smatch m;
  for (std::string line; std::getline(in, line);) {
    if (line == "paths:") {
      in_paths = true;
      continue;
    }
    if (!in_paths) continue;
    if (!line.empty() && line[0] != ' ') break;  // The next top-level key.
    if (std::regex_match(line, m, kPath)) {
      path = m[1];
      op = nullptr;
    } else if (std::regex_match(line, m, kMethod)) {
      auto [it, fresh] = ops.try_emplace({m[1], path});
      EXPECT_TRUE(fresh) << m[1] << " " << path << " is described twice";
      op = &it->second;
    } else if (op != nullptr && line.starts_with("        '403':")) {
      op->forbidden = true;
    } else if (op != nullptr && line.starts_with("      x-pando-websocket:")) {
      op->websocket = true;
    }
  }
  return ops;
}

// The rows the description covers: the API and /metrics (pages and static files are the web
// UI's, docs/web.md).
bool Documented(const Route& r) {
  return r.pattern.starts_with("/api/") || r.pattern == "/metrics";
}

std::string Lower(bhttp::verb v) {
  const auto name = bhttp::to_string(v);
  std::string s(name.data(), name.size());
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

TEST(OpenApiTest, TheDescriptionHasTheTablesRoutesAndNoOthers) {
  const Operations described = Described();
  ASSERT_GE(described.size(), 30u) << "the YAML's layout changed: the parse found too little";
  std::set<std::pair<std::string, std::string>> rows;
  for (const Route& r : Routes()) {
    if (!Documented(r)) continue;
    const std::pair<std::string, std::string> key{Lower(r.method), std::string(r.pattern)};
    rows.insert(key);
    auto it = described.find(key);
    if (it == described.end()) {
      ADD_FAILURE() << "docs/openapi.yaml does not describe " << key.first << " " << key.second;
      continue;
    }
    EXPECT_EQ(it->second.forbidden, r.caller.operator_only)
        << key.first << " " << key.second
        << ": an operator route is described with a 403 (Forbidden) answer, and only it";
    EXPECT_EQ(it->second.websocket, r.stream != Stream::kNone)
        << key.first << " " << key.second
        << ": a stream route is described with x-pando-websocket, and only it";
  }
  for (const auto& [key, op] : described) {
    EXPECT_TRUE(rows.contains(key)) << "docs/openapi.yaml describes " << key.first << " "
                                    << key.second << ", which the route table lacks";
  }
}

}  // namespace
}  // namespace pando::http
