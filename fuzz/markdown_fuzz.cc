// libFuzzer target: what the web UI does with the text of a post (kind 1 payload, from
// anyone): RenderMarkdown, PostTitle, IsUtf8 and Escape on arbitrary bytes. None may crash;
// the HTML must hold nothing that runs script (tests/http/safe_html.h: only the elements and
// attributes cmark-gfm writes for Markdown, no event handler, no javascript:, vbscript:,
// file: or non-image data: URL) and be UTF-8; a title is short, UTF-8 and free of control
// characters; escaped text holds no markup character.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "core/post.h"
#include "fuzz_util.h"
#include "http/markdown.h"
#include "http/safe_html.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 65536) return 0;  // A payload is at most 64 KiB.
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const std::string html = pando::http::RenderMarkdown(text);
  if (const std::string why = pando::testing::UnsafeHtml(html); !why.empty()) {
    std::fprintf(stderr, "UNSAFE HTML: %s\n%s\n", why.c_str(), html.substr(0, 4096).c_str());
    std::abort();
  }
  FUZZ_CHECK(pando::IsUtf8(html));

  const bool utf8 = pando::IsUtf8(text);
  const std::string title = pando::PostTitle(text);
  FUZZ_CHECK(title.size() <= pando::kTitleBytesMax);
  FUZZ_CHECK(pando::IsUtf8(title));
  for (char c : title) FUZZ_CHECK(static_cast<uint8_t>(c) >= 0x20);

  const std::string escaped = pando::http::Escape(text);
  FUZZ_CHECK(escaped.find_first_of("<>\"'\r") == std::string::npos);
  FUZZ_CHECK(escaped.size() >= text.size());
  FUZZ_CHECK(pando::IsUtf8(escaped) == utf8);
  return 0;
}
