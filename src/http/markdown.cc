#include "http/markdown.h"

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>

namespace pando::http {
namespace {

// cmark-gfm 0.29.0.gfm.6 (Debian 12) pads every table row to its header's width with no
// bound (CVE-2023-37463): a 14 KB post could take over a gigabyte and many seconds. The cells
// a text can ask for are at most (widest row's pipes + 1) x lines; above this many the text
// renders without the table extension (its pipes stay text), which is linear.
constexpr size_t kTableCellsMax = 50'000;

bool TablesAreSafe(std::string_view text) {
  size_t lines = 1, widest = 0, pipes = 0;
  for (char c : text) {
    if (c == '|') ++pipes;
    if (c == '\n') {
      widest = std::max(widest, pipes);
      pipes = 0;
      ++lines;
    }
  }
  widest = std::max(widest, pipes);
  return widest == 0 || (widest + 1) * lines <= kTableCellsMax;
}

std::atomic<uint64_t> renders{0};

}  // namespace

uint64_t AutolinkWork(std::string_view text) {
  uint64_t work = 0, ats = 0, length = 0;
  for (char c : text) {
    if (c == '\n') {
      work += ats * length;
      ats = length = 0;
      continue;
    }
    ++length;
    if (c == '@') ++ats;
  }
  return work + ats * length;
}

uint64_t MarkdownRenders() { return renders.load(std::memory_order_relaxed); }

std::string RenderPost(TextCache& cache, const Hash32& id, std::string_view markdown) {
  const std::string_view key(reinterpret_cast<const char*>(id.data()), id.size());
  if (const std::string* html = cache.Get(key)) return *html;
  std::string html = RenderMarkdown(markdown);
  cache.Put(std::string(key), html);
  return html;
}

std::string RenderMarkdown(std::string_view markdown) {
  renders.fetch_add(1, std::memory_order_relaxed);
  // Registers the extensions once (cmark-gfm keeps them in a process-wide list).
  static const bool registered = [] {
    cmark_gfm_core_extensions_ensure_registered();
    return true;
  }();
  (void)registered;
  // CMARK_OPT_UNSAFE is deliberately absent: without it raw HTML is omitted and unsafe
  // link protocols are dropped.
  const int options = CMARK_OPT_DEFAULT | CMARK_OPT_VALIDATE_UTF8 | CMARK_OPT_GITHUB_PRE_LANG;
  std::unique_ptr<cmark_parser, decltype(&cmark_parser_free)> parser(cmark_parser_new(options),
                                                                     &cmark_parser_free);
  const bool tables = TablesAreSafe(markdown);
  const bool autolinks = AutolinkWork(markdown) <= kAutolinkWorkMax;
  for (const char* name : {"table", "strikethrough", "autolink", "tasklist", "tagfilter"}) {
    if (!tables && std::string_view(name) == "table") continue;
    if (!autolinks && std::string_view(name) == "autolink") continue;
    if (cmark_syntax_extension* ext = cmark_find_syntax_extension(name)) {
      cmark_parser_attach_syntax_extension(parser.get(), ext);
    }
  }
  cmark_parser_feed(parser.get(), markdown.data(), markdown.size());
  std::unique_ptr<cmark_node, decltype(&cmark_node_free)> doc(cmark_parser_finish(parser.get()),
                                                              &cmark_node_free);
  char* html =
      cmark_render_html(doc.get(), options, cmark_parser_get_syntax_extensions(parser.get()));
  std::string out(html == nullptr ? "" : html);
  std::free(html);
  return out;
}

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '\r':  // A raw CR would reach the page's text as a line feed.
        out += "&#13;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace pando::http
