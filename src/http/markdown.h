// Safe HTML out of untrusted text: Markdown posts rendered with cmark-gfm, and escaping for
// every other piece of text a page shows (titles, names, groups).
#pragma once

#include <string>
#include <string_view>

namespace pando::http {

// Renders GitHub-flavoured Markdown (tables, strikethrough, autolinks, task lists) to HTML.
// Raw HTML in the text is dropped (cmark-gfm's safe mode) and links or images whose URL
// uses javascript:, vbscript:, file: or data: (other than images) lose the URL. Invalid
// UTF-8 is replaced. What comes out holds no element or attribute that runs script. A text
// whose tables could ask for more than 50,000 cells renders without tables (markdown.cc).
std::string RenderMarkdown(std::string_view markdown);

// Text as HTML text or a quoted attribute value: & < > " ' and CR escaped.
std::string Escape(std::string_view text);

}  // namespace pando::http
