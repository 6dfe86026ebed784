// Safe HTML out of untrusted text: Markdown posts rendered with cmark-gfm, and escaping for
// every other piece of text a page shows (titles, names, groups).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/crypto.h"
#include "http/cache.h"

namespace pando::http {

// The most work the autolink extension may be given, in AutolinkWork's units (about 1 ns of
// CPU each, measured on the 2-vCPU development machine: some 2 ms). Above it a text renders
// without autolinks.
inline constexpr uint64_t kAutolinkWorkMax = 2'000'000;

// An estimate of what cmark-gfm 0.29's autolink extension spends on `text`: for every line,
// its '@' bytes times its length. Each '@' of a text node that does not start an email
// address costs a pass over the rest of that node (a copy of it), so "a@" repeated on one
// 64 KiB line takes about 100 ms; a soft line break ends a text node, so lines bound it.
uint64_t AutolinkWork(std::string_view text);

// Renders GitHub-flavoured Markdown (tables, strikethrough, autolinks, task lists) to HTML.
// Raw HTML in the text is dropped (cmark-gfm's safe mode) and links or images whose URL
// uses javascript:, vbscript:, file: or data: (other than images) lose the URL. Invalid
// UTF-8 is replaced. What comes out holds no element or attribute that runs script. A text
// whose tables could ask for more than 50,000 cells renders without tables (markdown.cc),
// and one whose AutolinkWork is above kAutolinkWorkMax without autolinks (the URLs and
// addresses stay text), so every text renders in time linear in its size.
std::string RenderMarkdown(std::string_view markdown);

// How many times RenderMarkdown has run in this process (what the cache below saves).
uint64_t MarkdownRenders();

// RenderMarkdown of the text of entry `id`, rendered once and then kept in `cache` by id:
// an entry never changes, so its rendering never goes stale.
std::string RenderPost(TextCache& cache, const Hash32& id, std::string_view markdown);

// Text as HTML text or a quoted attribute value: & < > " ' and CR escaped.
std::string Escape(std::string_view text);

}  // namespace pando::http
