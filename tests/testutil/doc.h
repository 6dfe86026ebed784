// Reading docs/ pages in tests that check a page against the code.
#pragma once

#include <fstream>
#include <string>
#include <vector>

namespace pando::testing {

// The lines of the first fenced code block after the line `heading` (for example
// "### Reserved names") in the Markdown file at `path`; empty if there is none.
inline std::vector<std::string> DocBlockAfter(const std::string& path, const std::string& heading) {
  std::ifstream page(path);
  std::vector<std::string> lines;
  enum { kBefore, kSection, kBlock } at = kBefore;
  for (std::string line; std::getline(page, line);) {
    if (at == kBefore && line == heading) {
      at = kSection;
    } else if (at != kBefore && line.starts_with("```")) {
      if (at == kBlock) return lines;
      at = kBlock;
    } else if (at == kBlock) {
      lines.push_back(line);
    }
  }
  return {};
}

}  // namespace pando::testing
