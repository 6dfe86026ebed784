// What HTML rendered from untrusted Markdown (http/markdown.h) may hold: only the elements and
// attributes cmark-gfm writes for Markdown, no event handler attributes, and no URL that runs
// script. Shared by tests/http/markdown_test.cc and fuzz/markdown_fuzz.cc.
#pragma once

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <string_view>

namespace pando::testing {

namespace safe_html_detail {

inline std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// An attribute value with character references decoded, as a browser reads it.
inline std::string DecodeReferences(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    const size_t semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out += s[i];
      continue;
    }
    const std::string name = Lower(s.substr(i + 1, semi - i - 1));
    unsigned long code = 0;
    bool known = true;
    if (name == "amp") {
      code = '&';
    } else if (name == "lt") {
      code = '<';
    } else if (name == "gt") {
      code = '>';
    } else if (name == "quot") {
      code = '"';
    } else if (name == "apos") {
      code = '\'';
    } else if (name == "colon") {
      code = ':';
    } else if (name == "tab") {
      code = '\t';
    } else if (name == "newline") {
      code = '\n';
    } else if (name.size() > 1 && name[0] == '#') {
      const bool hex = name[1] == 'x';
      const std::string digits = name.substr(hex ? 2 : 1);
      known = !digits.empty() && digits.size() <= 7 &&
              std::all_of(digits.begin(), digits.end(), [&](unsigned char c) {
                return hex ? std::isxdigit(c) != 0 : std::isdigit(c) != 0;
              });
      if (known) code = std::stoul(digits, nullptr, hex ? 16 : 10);
    } else {
      known = false;
    }
    if (!known) {
      out += s[i];
      continue;
    }
    out += code < 0x80 ? static_cast<char>(code) : '?';  // Only ASCII matters for a scheme.
    i = semi;
  }
  return out;
}

// Why a URL attribute is unsafe, or empty. Browsers drop ASCII whitespace and control
// characters inside a scheme and ignore case, so "Java\tScript:" is "javascript:".
inline std::string UnsafeUrl(std::string_view attribute, std::string_view value) {
  std::string url;
  for (char c : DecodeReferences(value)) {
    if (static_cast<unsigned char>(c) > 0x20 && c != 0x7f) url += c;
  }
  url = Lower(url);
  for (std::string_view bad : {"javascript:", "vbscript:", "file:"}) {
    if (url.starts_with(bad)) return std::string(attribute) + " with " + std::string(bad);
  }
  if (url.starts_with("data:")) {
    for (std::string_view image :
         {"data:image/png", "data:image/gif", "data:image/jpeg", "data:image/webp"}) {
      if (url.starts_with(image)) return "";
    }
    return std::string(attribute) + " with data: (not an image)";
  }
  return "";
}

}  // namespace safe_html_detail

// Empty when `html` is safe to put in a page; otherwise what is wrong with it. Safe means:
// every '<' opens a comment or an element cmark-gfm writes for Markdown (never script,
// iframe, svg, object, style...), every attribute is one cmark-gfm writes (never an event
// handler), each in double quotes, and no href or src uses javascript:, vbscript:, file: or
// data: other than an image.
inline std::string UnsafeHtml(std::string_view html) {
  using namespace safe_html_detail;
  static const std::set<std::string, std::less<>> kElements = {
      "a",   "blockquote", "br",    "code",  "del", "em",    "h1",    "h2", "h3",
      "h4",  "h5",         "h6",    "hr",    "img", "input", "li",    "ol", "p",
      "pre", "strong",     "table", "tbody", "td",  "th",    "thead", "tr", "ul"};
  static const std::set<std::string, std::less<>> kAttributes = {
      "align", "alt", "checked", "class", "disabled", "href",
      "lang",  "src", "start",   "title", "type"};
  const std::string lower = Lower(html);
  for (std::string_view banned :
       {"<script", "<iframe", "<svg", "<object", "<embed", "<style", "<math", "<form", "<meta",
        "<base", "<link", "<frame", "<template", "<textarea", "<xmp", "<noscript"}) {
    if (lower.find(banned) != std::string::npos) return "an element " + std::string(banned);
  }
  auto is_name = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  };
  size_t i = 0;
  while ((i = lower.find('<', i)) != std::string::npos) {
    if (lower.compare(i, 4, "<!--") == 0) {
      const size_t end = lower.find("-->", i + 4);
      if (end == std::string::npos) return "an unclosed comment";
      if (lower.find_first_of("<>", i + 4) < end) return "a comment holding < or >";
      i = end + 3;
      continue;
    }
    size_t j = i + 1;
    if (j < lower.size() && lower[j] == '/') ++j;
    const size_t name_start = j;
    while (j < lower.size() && is_name(lower[j])) ++j;
    const std::string name = lower.substr(name_start, j - name_start);
    if (name.empty()) return "a '<' that opens no element, at " + std::to_string(i);
    if (!kElements.contains(name)) return "an element <" + name + ">";
    while (true) {
      while (j < lower.size() && lower[j] == ' ') ++j;
      if (j >= lower.size()) return "an unclosed <" + name + ">";
      if (lower[j] == '>') break;
      if (lower.compare(j, 2, "/>") == 0) {
        ++j;
        break;
      }
      const size_t attr_start = j;
      while (j < lower.size() && is_name(lower[j])) ++j;
      const std::string attr = lower.substr(attr_start, j - attr_start);
      if (attr.empty()) return "junk inside <" + name + ">";
      if (attr.starts_with("on")) return "an event handler attribute " + attr;
      if (!kAttributes.contains(attr)) return "an attribute " + attr + " on <" + name + ">";
      if (lower.compare(j, 2, "=\"") != 0) return "an unquoted attribute " + attr;
      const size_t close = lower.find('"', j + 2);
      if (close == std::string::npos) return "an unclosed attribute " + attr;
      const std::string_view value = std::string_view(html).substr(j + 2, close - j - 2);
      if (value.find_first_of("<>") != std::string_view::npos) {
        return "a raw < or > in attribute " + attr;
      }
      if (attr == "href" || attr == "src") {
        if (std::string why = UnsafeUrl(attr, value); !why.empty()) return why;
      }
      j = close + 1;
    }
    i = j + 1;
  }
  return "";
}

}  // namespace pando::testing
