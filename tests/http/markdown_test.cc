// Tests of http/markdown.h: Markdown posts come from anyone, so what RenderMarkdown writes
// must never run script, whatever the text; ordinary Markdown must still render. Escape is
// the escaping of every other text a page shows.

#include "http/markdown.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/safe_html.h"

namespace pando::http {
namespace {

using namespace std::string_literals;
using pando::testing::UnsafeHtml;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Repeat(std::string_view s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// --- The checker itself -------------------------------------------------------------------

TEST(SafeHtmlTest, FlagsWhatRunsScript) {
  for (const std::string& html : {
           "<script>alert(1)</script>"s,
           "<p>x</p><SCRIPT SRC=//e.com/x.js></SCRIPT>"s,
           "<iframe src=\"https://e.com\"></iframe>"s,
           "<svg onload=alert(1)>"s,
           "<img src=x onerror=alert(1)>"s,
           "<img src=\"x\" onerror=\"alert(1)\" />"s,
           "<p onclick=\"alert(1)\">x</p>"s,
           "<a href=\"javascript:alert(1)\">x</a>"s,
           "<a href=\"JaVaScRiPt:alert(1)\">x</a>"s,
           "<a href=\" java&#x09;script&#58;alert(1)\">x</a>"s,
           "<a href=\"&#106;avascript:alert(1)\">x</a>"s,
           "<a href=\"vbscript:msgbox(1)\">x</a>"s,
           "<a href=\"data:text/html,&lt;script&gt;\">x</a>"s,
           "<img src=\"javascript:alert(1)\" alt=\"\" />"s,
           "<img src=\"data:text/html;base64,PHNjcmlwdD4=\" alt=\"\" />"s,
           "<img src=\"data:image/svg+xml,x\" alt=\"\" />"s,
           "<div>x</div>"s,
           "<p style=\"x\">x</p>"s,
           "<a href='x'>x</a>"s,
           "<p>1 < 2</p>"s,
           "<!-- x <script> -->"s,
           "<!-- unclosed"s,
       }) {
    EXPECT_NE(UnsafeHtml(html), "") << html;
  }
}

TEST(SafeHtmlTest, PassesWhatCmarkWritesForMarkdown) {
  for (const std::string& html : {
           ""s,
           "<p>foo onerror=alert(1) bar &lt;script&gt;</p>\n"s,
           "<p><a href=\"https://e.com\" title=\"a&quot; onmouseover=&quot;x\">x</a></p>\n"s,
           "<p><a href=\"\">x</a></p>\n"s,
           "<p><img src=\"data:image/png;base64,AAAA\" alt=\"x\" /></p>\n"s,
           "<!-- raw HTML omitted -->\n"s,
           "<ul>\n<li><input type=\"checkbox\" checked=\"\" disabled=\"\" /> done</li>\n</ul>\n"s,
           "<pre lang=\"c\"><code>x\n</code></pre>\n"s,
           "<table>\n<thead>\n<tr>\n<th align=\"center\">a</th>\n</tr>\n</thead>\n</table>\n"s,
       }) {
    EXPECT_EQ(UnsafeHtml(html), "") << html;
  }
}

// --- Hostile Markdown ---------------------------------------------------------------------

const std::vector<std::string>& HostileMarkdown() {
  static const std::vector<std::string> inputs = {
      // Script elements, plain and disguised.
      "<script>alert(1)</script>", "Text before <script>alert(1)</script> and after.",
      "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
      "<scr<script>ipt>alert(1)</scr</script>ipt>", "<script\n>alert(1)</script\n>",
      "# Heading <script>alert(1)</script>", "> quote <script>alert(1)</script>",
      "- item <script>alert(1)</script>",
      // Event handler attributes.
      "<img src=x onerror=alert(1)>", "<img src=\"x\" ONERROR=\"alert(1)\">",
      "<body onload=alert(1)>", "<div onmouseover=\"alert(1)\">hover</div>",
      "<a onclick=\"alert(1)\" href=\"#\">click</a>", "<details open ontoggle=alert(1)>",
      "<input autofocus onfocus=alert(1)>",
      // javascript:, vbscript: and data: in links and images.
      "[click](javascript:alert(1))", "[click](JaVaScRiPt:alert(1))",
      "[click](JAVASCRIPT:alert(1) \"title\")", "[click](  javascript:alert(1)  )",
      "[click](<javascript:alert(1)>)", "[click](javascript&#58;alert(1))",
      "[click](javascript&colon;alert(1))", "[click](&#106;avascript:alert(1))",
      "[click](&#x6A;&#x61;vascript:alert(1))", "[click](java&#x09;script:alert(1))",
      "[click](java&Tab;script:alert(1))", "[click](javascript&#0000058alert(1))",
      "[click](vbscript:msgbox(1))", "[click](VBScript:msgbox(1))",
      "[click](data:text/html,<script>alert(1)</script>)",
      "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
      "[click](DATA:TEXT/HTML,x)", "[click](file:///etc/passwd)", "![img](javascript:alert(1))",
      "![img](JaVaScRiPt:alert(1))", "![img](data:text/html,<script>alert(1)</script>)",
      "![img](data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=)", "![img](vbscript:msgbox(1))",
      // Autolinks.
      "<javascript:alert(1)>", "<JAVASCRIPT:alert(1)>", "<vbscript:msgbox(1)>",
      "<data:text/html,<script>alert(1)</script>>",
      "<https://example.com/\" onmouseover=\"alert(1)>",
      "https://example.com/\"onmouseover=alert(1)", "www.example.com/<script>alert(1)</script>",
      "Visit javascript:alert(1) now", "<alice@example.com\" onclick=\"alert(1)>",
      // HTML comments, frames, SVG, other active elements.
      "<!-- <script>alert(1)</script> -->", "<!--> <script>alert(1)</script> -->",
      "<!-- unclosed comment <script>alert(1)</script>",
      "<iframe src=\"https://evil.example\"></iframe>",
      "<iframe srcdoc=\"<script>alert(1)</script>\">", "<svg onload=alert(1)>",
      "<svg><script>alert(1)</script></svg>",
      "<math><mtext><script>alert(1)</script></mtext></math>",
      "<object data=\"javascript:alert(1)\"></object>", "<embed src=\"javascript:alert(1)\">",
      "<style>body{background:url(javascript:alert(1))}</style>",
      "<form action=\"javascript:alert(1)\"><button>x</button></form>",
      "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
      "<base href=\"javascript:alert(1)//\">",
      "<link rel=\"stylesheet\" href=\"javascript:alert(1)\">",
      "<textarea><script>alert(1)</script></textarea>",
      "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
      // Raw anchors.
      "<a href=\"javascript:alert(1)\">raw link</a>", "<a href='javascript:alert(1)'>raw link</a>",
      "<A HREF=javascript:alert(1)>raw link</A>",
      // Link titles and alt text with quotes.
      "[x](https://example.com \"a\\\" onmouseover=\\\"alert(1)\")",
      "[x](https://example.com 'a\" onmouseover=\"alert(1)')",
      "[x](https://example.com (a\" onmouseover=\"alert(1)))",
      "![a\" onerror=\"alert(1)](https://example.com/x.png)",
      "![x](https://example.com/x.png\" onerror=\"alert(1))",
      "[x](https://example.com/?q=\"><script>alert(1)</script>)",
      // Reference links.
      "[x][r]\n\n[r]: javascript:alert(1)",
      "[x][r]\n\n[r]: javascript:alert(1) \"t\\\" onclick=\\\"alert(1)\"",
      "[x]\n\n[x]: <javascript:alert(1)>",
      "![x][r]\n\n[r]: data:text/html,<script>alert(1)</script>",
      "[r]\n\n[r]: JaVaScRiPt&#58;alert(1)",
      // Tables with HTML in cells.
      "| a | b |\n|---|---|\n| <script>alert(1)</script> | <img src=x onerror=alert(1)> |",
      "| <svg onload=alert(1)> |\n|---|\n| [x](javascript:alert(1)) |",
      "| a |\n|---|\n| <a href=\"javascript:alert(1)\">x</a> |",
      // Code: shown, never run.
      "`<script>alert(1)</script>`", "```\n<script>alert(1)</script>\n```",
      "```\"><script>alert(1)</script>\nx\n```", "```js onload=alert(1)\nx\n```",
      "    <script>alert(1)</script>",
      // Emphasis, nesting.
      "***<script>alert(1)</script>***", "*a **b _c <svg onload=alert(1)> c_ b** a*",
      Repeat("*", 3000) + "x" + Repeat("*", 3000),
      Repeat("[", 3000) + "x" + Repeat("](javascript:alert(1))", 300),
      Repeat("> ", 1000) + "<script>alert(1)</script>",
      Repeat("- ", 500) + "<img src=x onerror=alert(1)>",
      // NUL bytes and invalid UTF-8.
      "<scr\0ipt>alert(1)</script>"s, "[x](java\0script:alert(1))"s,
      "\0<img src=x onerror=alert(1)>\0"s, "<img src=x one\0rror=alert(1)>"s,
      "\xff\xfe<script>alert(1)</script>", "[x](\xc0\xbcscript\xc0\xbe)",
      "<\xc0\xbcscript>alert(1)</script>", "\xe2\x80\xa8<script>alert(1)</script>",
      "[x](java\xe2\x80\x8bscript:alert(1))",
      "\xef\xbc\x9cscript\xef\xbc\x9e",  // Fullwidth < and >.
  };
  return inputs;
}

TEST(RenderMarkdownTest, HostileCorpusIsLargeEnough) { EXPECT_GE(HostileMarkdown().size(), 25u); }

TEST(RenderMarkdownTest, HostileMarkdownNeverProducesScript) {
  for (const std::string& markdown : HostileMarkdown()) {
    const std::string html = RenderMarkdown(markdown);
    const std::string lower = Lower(html);
    const std::string shown = ::testing::PrintToString(markdown.substr(0, 200));
    EXPECT_EQ(lower.find("<script"), std::string::npos) << shown << "\n" << html;
    EXPECT_EQ(lower.find("<iframe"), std::string::npos) << shown << "\n" << html;
    EXPECT_EQ(lower.find("<svg"), std::string::npos) << shown << "\n" << html;
    for (std::string_view attr : {"href=\"", "src=\""}) {
      for (std::string_view scheme : {"javascript:", "vbscript:", "data:text"}) {
        EXPECT_EQ(lower.find(std::string(attr) + std::string(scheme)), std::string::npos)
            << shown << "\n"
            << html;
      }
    }
    // Every element, attribute and URL (event handlers, entity-encoded schemes...).
    EXPECT_EQ(UnsafeHtml(html), "") << shown << "\n" << html;
  }
}

TEST(RenderMarkdownTest, DangerousUrlsLoseTheirTarget) {
  EXPECT_EQ(RenderMarkdown("[click](javascript:alert(1))"), "<p><a href=\"\">click</a></p>\n");
  EXPECT_EQ(RenderMarkdown("[click](javascript&#58;alert(1))"), "<p><a href=\"\">click</a></p>\n");
  EXPECT_EQ(RenderMarkdown("![img](vbscript:x)"), "<p><img src=\"\" alt=\"img\" /></p>\n");
  EXPECT_EQ(RenderMarkdown("[x](data:text/html,hi)"), "<p><a href=\"\">x</a></p>\n");
  EXPECT_EQ(RenderMarkdown("[x](file:///etc/passwd)"), "<p><a href=\"\">x</a></p>\n");
  // Images of the common formats may be inline data.
  EXPECT_EQ(RenderMarkdown("![x](data:image/png;base64,AAAA)"),
            "<p><img src=\"data:image/png;base64,AAAA\" alt=\"x\" /></p>\n");
}

TEST(RenderMarkdownTest, RawHtmlIsOmitted) {
  EXPECT_EQ(RenderMarkdown("<b>bold</b> text"),
            "<p><!-- raw HTML omitted -->bold<!-- raw HTML omitted --> text</p>\n");
  EXPECT_EQ(RenderMarkdown("<div>\nblock\n</div>"), "<!-- raw HTML omitted -->\n");
}

TEST(RenderMarkdownTest, TextThatLooksLikeAnAttributeStaysText) {
  EXPECT_EQ(RenderMarkdown("foo onerror=alert(1) \"bar\" <3"),
            "<p>foo onerror=alert(1) &quot;bar&quot; &lt;3</p>\n");
}

TEST(RenderMarkdownTest, NulAndInvalidUtf8AreReplaced) {
  EXPECT_EQ(RenderMarkdown("a\0b"s),
            "<p>a\xef\xbf\xbd"
            "b</p>\n");
  EXPECT_EQ(RenderMarkdown("bad \xff here"), "<p>bad \xef\xbf\xbd here</p>\n");
  EXPECT_EQ(RenderMarkdown("cut \xe2\x82"), "<p>cut \xef\xbf\xbd</p>\n");
}

TEST(RenderMarkdownTest, DeepNestingRendersQuickly) {
  // A post is at most 64 KiB; the worst of these must still render in well under a second.
  const std::string inputs[] = {
      Repeat("*", 30000) + "x" + Repeat("*", 30000),
      Repeat("[", 60000),
      Repeat("> ", 30000) + "x",
      Repeat("- ", 30000) + "x",
      Repeat("*a **b ", 6000),
      Repeat("<a", 30000),
      Repeat("[x](", 15000),
      Repeat("![", 30000),
      Repeat("|a", 8000) + "\n" + Repeat("|-", 8000),  // A wide table.
      Repeat("`", 60000),
      Repeat("www.a", 12000),
  };
  for (const std::string& markdown : inputs) {
    // Output size tracks the work done: linear in the input (nested blocks cost ~14x).
    const std::string html = RenderMarkdown(markdown);
    EXPECT_LT(html.size(), 16 * markdown.size() + 1024)
        << ::testing::PrintToString(markdown.substr(0, 20));
    EXPECT_EQ(UnsafeHtml(html), "");
  }
}

// GFM fills every row of a table up to the header's width, so a wide header over many short
// rows asks for rows x columns cells: here 1,500,000 cells (~15 MB of HTML, 2000 times the
// input) from 7 KB of text. A post may hold 64 KiB, where the same shape asks for 50 million
// cells. cmark-gfm 0.29.0.gfm.12 and later cap the cells it fills in (CVE-2023-37463); the
// output must stay bounded whatever library is linked.
TEST(RenderMarkdownTest, TableCellsDoNotAmplifyTheInput) {
  const std::string markdown =
      Repeat("|a", 1000) + "\n" + Repeat("|-", 1000) + "\n" + Repeat("b\n", 1500);
  // Without a guard this asks for 1.5 million cells (tens of megabytes of HTML); the bound
  // is on output size, which tracks the work, not on time.
  const std::string html = RenderMarkdown(markdown);
  EXPECT_LT(html.size(), 4 * markdown.size() + 1024) << markdown.size() << " bytes of Markdown";
  // A table of ordinary size still renders as a table.
  EXPECT_NE(RenderMarkdown("|a|b|\n|-|-|\n|1|2|\n").find("<table>"), std::string::npos);
}

// cmark-gfm 0.29's autolink extension makes a pass over the rest of a text node for every
// '@' that does not start an address: 64 KiB of "a@" on one line took 165 ms to render, on
// every view. A text whose estimate is above kAutolinkWorkMax renders without the extension,
// so its addresses stay text; the bound is on the estimate of the work, not on time.
TEST(RenderMarkdownTest, CostlyAutolinkInputRendersWithoutAutolinks) {
  const std::string hostile = "write to x@example.org " + Repeat("a@", 32 * 1024);
  EXPECT_GT(AutolinkWork(hostile), kAutolinkWorkMax);
  const std::string html = RenderMarkdown(hostile);
  EXPECT_EQ(html.find("mailto:"), std::string::npos) << "the autolink extension ran";
  EXPECT_NE(html.find("x@example.org a@a@"), std::string::npos);
  // The same "a@" split into lines is as many text nodes, each cheap: the estimate follows.
  EXPECT_LT(AutolinkWork(Repeat(Repeat("a@", 20) + "\n", 100)), AutolinkWork(Repeat("a@", 2000)));
  // An ordinary post keeps its autolinks.
  const std::string post = "# Hi\n\nMail x@example.org or see https://example.org/a.\n";
  EXPECT_LE(AutolinkWork(post), kAutolinkWorkMax);
  EXPECT_NE(RenderMarkdown(post).find("href=\"mailto:x@example.org\""), std::string::npos);
}

TEST(RenderPostTest, RendersEachEntryOnceThenServesTheCache) {
  TextCache cache(1 << 20);
  Hash32 a{}, b{};
  a[0] = 1;
  b[0] = 2;
  const uint64_t before = MarkdownRenders();
  const std::string first = RenderPost(cache, a, "# A\n\n*one*");
  EXPECT_EQ(first, RenderMarkdown("# A\n\n*one*"));
  EXPECT_EQ(MarkdownRenders(), before + 2);  // RenderPost's and the line above's.
  // The same entry again, even with other text (an id names one text): no new render.
  EXPECT_EQ(RenderPost(cache, a, "ignored"), first);
  EXPECT_EQ(MarkdownRenders(), before + 2);
  EXPECT_EQ(cache.hits(), 1u);
  RenderPost(cache, b, "# B");
  EXPECT_EQ(MarkdownRenders(), before + 3);
  EXPECT_EQ(cache.size(), 2u);
}

TEST(TextCacheTest, StaysWithinItsBytesAndDropsTheLeastRecentlyUsed) {
  const size_t item = 1000 + 1 + TextCache::kEntryOverheadBytes;  // Value, key, overhead.
  TextCache cache(3 * item);
  cache.Put("a", std::string(1000, 'a'));
  cache.Put("b", std::string(1000, 'b'));
  cache.Put("c", std::string(1000, 'c'));
  EXPECT_EQ(cache.bytes(), 3 * item);
  ASSERT_NE(cache.Get("a"), nullptr);  // a is now the most recently used; b the least.
  cache.Put("d", std::string(1000, 'd'));
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_LE(cache.bytes(), cache.bytes_max());
  EXPECT_EQ(cache.Get("b"), nullptr);
  ASSERT_NE(cache.Get("a"), nullptr);
  EXPECT_EQ(*cache.Get("a"), std::string(1000, 'a'));
  // Replacing a key keeps one copy; a value larger than the whole cache is not kept.
  cache.Put("a", "short");
  EXPECT_EQ(*cache.Get("a"), "short");
  EXPECT_EQ(cache.size(), 3u);
  cache.Put("huge", std::string(4 * item, 'h'));
  EXPECT_EQ(cache.Get("huge"), nullptr);
  EXPECT_EQ(cache.size(), 3u);
  cache.Clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
}

// --- Ordinary Markdown ---------------------------------------------------------------------

TEST(RenderMarkdownTest, EmptyTextRendersNothing) { EXPECT_EQ(RenderMarkdown(""), ""); }

TEST(RenderMarkdownTest, Headings) {
  EXPECT_EQ(RenderMarkdown("# One\n## Two\n###### Six"),
            "<h1>One</h1>\n<h2>Two</h2>\n<h6>Six</h6>\n");
  EXPECT_EQ(RenderMarkdown("Setext\n======"), "<h1>Setext</h1>\n");
}

TEST(RenderMarkdownTest, Emphasis) {
  EXPECT_EQ(
      RenderMarkdown("Some *em*, **strong** and ***both***."),
      "<p>Some <em>em</em>, <strong>strong</strong> and <em><strong>both</strong></em>.</p>\n");
}

TEST(RenderMarkdownTest, LinksAndImagesWithHttps) {
  EXPECT_EQ(
      RenderMarkdown("[Pando](https://example.com/docs?a=1&b=2 \"The docs\")"),
      "<p><a href=\"https://example.com/docs?a=1&amp;b=2\" title=\"The docs\">Pando</a></p>\n");
  EXPECT_EQ(RenderMarkdown("![A cat](https://example.com/cat.png)"),
            "<p><img src=\"https://example.com/cat.png\" alt=\"A cat\" /></p>\n");
  EXPECT_EQ(RenderMarkdown("<https://example.com/x>"),
            "<p><a href=\"https://example.com/x\">https://example.com/x</a></p>\n");
  // GFM autolinks: bare URLs become links.
  EXPECT_EQ(RenderMarkdown("See https://example.com/page."),
            "<p>See <a href=\"https://example.com/page\">https://example.com/page</a>.</p>\n");
  EXPECT_EQ(RenderMarkdown("[ref]\n\n[ref]: https://example.com/r"),
            "<p><a href=\"https://example.com/r\">ref</a></p>\n");
}

TEST(RenderMarkdownTest, GfmTable) {
  EXPECT_EQ(RenderMarkdown("| Name | Count |\n|:-----|------:|\n| apples | 3 |\n| pears | 10 |"),
            "<table>\n<thead>\n<tr>\n<th align=\"left\">Name</th>\n<th align=\"right\">Count</th>\n"
            "</tr>\n</thead>\n<tbody>\n<tr>\n<td align=\"left\">apples</td>\n"
            "<td align=\"right\">3</td>\n</tr>\n<tr>\n<td align=\"left\">pears</td>\n"
            "<td align=\"right\">10</td>\n</tr>\n</tbody>\n</table>\n");
}

TEST(RenderMarkdownTest, Strikethrough) {
  EXPECT_EQ(RenderMarkdown("~~gone~~ and ~kept~"), "<p><del>gone</del> and <del>kept</del></p>\n");
}

TEST(RenderMarkdownTest, TaskList) {
  EXPECT_EQ(RenderMarkdown("- [ ] to do\n- [x] done\n- plain"),
            "<ul>\n<li><input type=\"checkbox\" disabled=\"\" /> to do</li>\n"
            "<li><input type=\"checkbox\" checked=\"\" disabled=\"\" /> done</li>\n"
            "<li>plain</li>\n</ul>\n");
}

TEST(RenderMarkdownTest, CodeFenceWithLanguage) {
  EXPECT_EQ(RenderMarkdown("```cpp\nif (a < b && c) {}\n```"),
            "<pre lang=\"cpp\"><code>if (a &lt; b &amp;&amp; c) {}\n</code></pre>\n");
  EXPECT_EQ(RenderMarkdown("```\nplain\n```"), "<pre><code>plain\n</code></pre>\n");
  EXPECT_EQ(RenderMarkdown("Inline `<b>` code"), "<p>Inline <code>&lt;b&gt;</code> code</p>\n");
}

TEST(RenderMarkdownTest, ListsAndQuotes) {
  EXPECT_EQ(RenderMarkdown("1. one\n2. two"), "<ol>\n<li>one</li>\n<li>two</li>\n</ol>\n");
  EXPECT_EQ(RenderMarkdown("3. three"), "<ol start=\"3\">\n<li>three</li>\n</ol>\n");
  EXPECT_EQ(RenderMarkdown("> quoted"), "<blockquote>\n<p>quoted</p>\n</blockquote>\n");
  EXPECT_EQ(RenderMarkdown("a\n\n---\n\nb"), "<p>a</p>\n<hr />\n<p>b</p>\n");
}

// --- Escape ----------------------------------------------------------------------------------

TEST(EscapeTest, EscapesEachSpecialCharacter) {
  EXPECT_EQ(Escape("&"), "&amp;");
  EXPECT_EQ(Escape("<"), "&lt;");
  EXPECT_EQ(Escape(">"), "&gt;");
  EXPECT_EQ(Escape("\""), "&quot;");
  EXPECT_EQ(Escape("'"), "&#39;");
  EXPECT_EQ(Escape("\r"), "&#13;");
}

TEST(EscapeTest, LeavesEverythingElse) {
  EXPECT_EQ(Escape(""), "");
  EXPECT_EQ(Escape("plain text 123"), "plain text 123");
  EXPECT_EQ(Escape("tab\tline\nfeed"), "tab\tline\nfeed");
  EXPECT_EQ(Escape("caf\xc3\xa9 \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xf0\x9f\x98\x80");
  EXPECT_EQ(Escape("nul\0byte"s), "nul\0byte"s);
  EXPECT_EQ(Escape("=`/;:#"), "=`/;:#");
}

TEST(EscapeTest, EscapesInPlaceWithinText) {
  EXPECT_EQ(Escape("<a href=\"x\" title='y'>Tom & Jerry</a>\r\n"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;Tom &amp; Jerry&lt;/a&gt;&#13;\n");
  EXPECT_EQ(Escape("&amp;"), "&amp;amp;");  // Text is text: escaping twice shows the entity.
  EXPECT_EQ(Escape("\r\r"), "&#13;&#13;");
}

TEST(EscapeTest, OutputHoldsNoMarkupCharacters) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  const std::string out = Escape(all);
  EXPECT_EQ(out.find_first_of("<>\"'\r"), std::string::npos);
  EXPECT_EQ(UnsafeHtml(out), "");
}

}  // namespace
}  // namespace pando::http
