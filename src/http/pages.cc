// The web UI's pages (docs/web.md), rendered on the server. Every piece of text from an
// entry goes through Escape or RenderMarkdown; the markup the script relies on (ids and
// data attributes) is listed in docs/web.md and kept stable.
#include <algorithm>
#include <cstdint>
#include <ctime>
#include <string>

#include "core/crypto.h"
#include "core/error_codes.h"
#include "core/kinds.h"
#include "core/post.h"
#include "http/backend.h"
#include "http/handlers.h"
#include "http/http.h"
#include "http/markdown.h"
#include "model/data.h"
#include "node/names.h"

namespace pando::http {
namespace {

constexpr size_t kFrontPosts = 20;
constexpr size_t kListPosts = 50;

// A <time> element: machine-readable ISO 8601 in the attribute, "2026-11-22 10:59 UTC" shown
// (app.js writes live items the same way). One gmtime_r and two strftime per call.
std::string TimeTag(int64_t ms) {
  const std::time_t s = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char iso[32], shown[32];
  std::strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::strftime(shown, sizeof shown, "%Y-%m-%d %H:%M UTC", &tm);
  return std::string("<time datetime=\"") + iso + "\">" + shown + "</time>";
}

// A link to an author's blog, showing their profile name when given, else their id's start.
std::string AuthorLink(const PublicKey& key, std::string_view name = "") {
  const std::string id = AuthorId(key);
  return "<a class=\"author\" href=\"/a/" + id + "\" title=\"" + id + "\">" +
         (name.empty() ? id.substr(0, 12) + "…" : Escape(name)) + "</a>";
}

// A profile field as text: a JSON string's contents, any other JSON as written.
std::string FieldText(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// An author's profile fields; empty when they set none (or it cannot be read).
nlohmann::json ProfileFields(store::Store& store, const PublicKey& key) {
  auto profile = store.LoadCrdt(model::ProfileKey(key));
  if (!profile.ok() || !*profile) return nlohmann::json::object();
  return model::StateJson(**profile)["fields"];
}

std::string GroupLink(std::string_view group) {
  const std::string g = Escape(group);
  return "<a class=\"group\" href=\"/g/" + g + "\">" + g + "</a>";
}

std::string Page(std::string_view page, std::string_view title, const std::string& main,
                 std::string_view query = "") {
  std::string html =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>" +
      Escape(title) +
      " · Pando</title><link rel=\"stylesheet\" href=\"/static/style.css\">"
      "<script type=\"module\" src=\"/static/app.js\"></script></head>\n<body data-page=\"" +
      std::string(page) +
      "\"><header><a class=\"brand\" href=\"/\">Pando</a><nav><a href=\"/\">Latest</a>"
      "<a href=\"/write\">Write</a></nav><form id=\"search\" action=\"/search\" method=\"get\" "
      "role=\"search\"><input name=\"q\" type=\"search\" placeholder=\"Search posts\" "
      "aria-label=\"Search posts\" value=\"" +
      Escape(query) + "\"><button type=\"submit\">Search</button></form></header>\n<main>" + main +
      "</main>\n<footer>A Pando node · <a href=\"/api/v1/status\">status</a> · "
      "<a href=\"/metrics\">metrics</a></footer></body></html>\n";
  return html;
}

Response Html(unsigned status, std::string body, const Call& call) {
  return MakeResponse(status, std::move(body), "text/html; charset=utf-8", call.req);
}

}  // namespace

Response ErrorPage(const Call& call, const Error& e) {
  const std::string main = "<h1>" + Escape(e.code) + "</h1><p class=\"error\">" +
                           Escape(e.message) +
                           "</p><p><a href=\"/\">Back to the latest posts</a></p>";
  return Html(HttpStatusOf(e.code), Page("error", std::string(e.code), main), call);
}

namespace {

// An item's place in a list, newest first by (timestamp, id) as every view orders
// (docs/store.md): the timestamp in 16 digits, a dot, the id in hex. The live front page
// (app.js, orderKey) inserts streamed records by comparing these strings.
std::string OrderKey(int64_t timestamp_ms, const Hash32& id) {
  std::string digits = std::to_string(std::max<int64_t>(timestamp_ms, 0));
  if (digits.size() < 16) digits.insert(0, 16 - digits.size(), '0');
  return digits + "." + ToHex(id);
}

// One list item: a post, or a catalog record pointing at one.
std::string PostItem(const store::PostInfo& p) {
  const bool record = p.kind == kinds::kCatalog;
  const std::string id = ToHex(record ? p.target_id : p.id);
  const std::string group = record ? p.target_group : p.group;
  return "<li class=\"post\" data-id=\"" + id + "\" data-order=\"" +
         OrderKey(p.timestamp_ms, p.id) + "\"><a class=\"title\" href=\"/p/" + id + "\">" +
         (p.title.empty() ? std::string("(untitled)") : Escape(p.title)) +
         "</a> <span class=\"meta\">by " + AuthorLink(p.author) + " in " + GroupLink(group) +
         " · " + TimeTag(p.timestamp_ms) + "</span></li>";
}

Response Front(Context& ctx, const Call& call) {
  auto posts = ctx.backend->store().Latest(kinds::kCatalog, kFrontPosts);
  if (!posts.ok()) return ErrorPage(call, posts.error());
  std::string main = "<h1>Latest posts of the network</h1>";
  if (posts->empty()) {
    main += "<p id=\"latest-empty\">No posts yet. <a href=\"/write\">Write the first one</a>.</p>";
  }
  main += "<ol id=\"latest\" class=\"posts\">";
  for (const auto& p : *posts) main += PostItem(p);
  main += "</ol>";
  return Html(200, Page("front", "Latest posts", main), call);
}

Response Search(Context& ctx, const Call& call) {
  const std::string q = QueryValue(call.query, "q").value_or("");
  if (q.size() > 1000) {
    return ErrorPage(call, Error{codes::kBadArgument, "The search text is over 1000 bytes."});
  }
  auto found = ctx.backend->store().Search(q, kListPosts);
  if (!found.ok()) return ErrorPage(call, found.error());
  std::string main = "<h1>Search</h1>";
  if (q.empty()) {
    main += "<p>Type words to find posts by title, text, author id or group.</p>";
  } else {
    // A held post and its catalog record are one result: the first (best ranked) wins.
    std::unordered_set<Hash32, HashOf32> shown;
    std::string items;
    size_t n = 0;
    for (const auto& p : *found) {
      const Hash32 post = p.kind == kinds::kCatalog ? p.target_id : p.id;
      if (!shown.insert(post).second) continue;
      items += PostItem(p);
      ++n;
    }
    main += "<p id=\"search-count\">" + std::to_string(n) + (n == 1 ? " post" : " posts") +
            " match “" + Escape(q) + "”.</p><ol id=\"results\" class=\"posts\">" + items + "</ol>";
  }
  return Html(200, Page("search", q.empty() ? "Search" : q, main, q), call);
}

Response Author(Context& ctx, const Call& call, std::string_view text) {
  auto key = ParseAuthorId(text);
  if (!key.ok()) return ErrorPage(call, key.error());
  store::Store& store = ctx.backend->store();
  auto posts = store.PostsBy(*key, kListPosts);
  if (!posts.ok()) return ErrorPage(call, posts.error());
  const nlohmann::json fields = ProfileFields(store, *key);
  const std::string id = AuthorId(*key);
  const std::string name = fields.contains("name") ? FieldText(fields["name"]) : "";
  // The usernames the log gives this author, through attestations this node believes.
  auto usernames = node::NamesFromLog(
      store, *key, [&](const PublicKey& k) { return ctx.backend->TrustsAttester(k); });
  // The heading: the profile name, else the first username, else the id.
  const std::string handle =
      usernames.ok() && !usernames->empty() ? "@" + usernames->front().record.name : "";
  std::string main = "<h1>Blog of " +
                     (!name.empty()    ? "<span id=\"profile-name\">" + Escape(name) + "</span>"
                      : handle.empty() ? "<code class=\"author-id\">" + id + "</code>"
                                       : "<span class=\"username\">" + handle + "</span>") +
                     "</h1>";
  std::string handles;
  if (usernames.ok()) {
    for (const node::Resolved& r : *usernames) {
      handles += std::string(handles.empty() ? "" : " ") + "<a class=\"username\" href=\"/@" +
                 r.record.name + "\">@" + r.record.name + "</a>";
    }
  }
  if (!name.empty() || !handles.empty()) {
    main += "<p class=\"meta\" id=\"usernames\">" + handles + (handles.empty() ? "" : " · ") +
            "<code class=\"author-id\">" + id + "</code></p>";
  }
  if (fields.contains("bio")) {
    main += "<p id=\"profile-bio\">" + Escape(FieldText(fields["bio"])) + "</p>";
  }
  // The script shows Follow or Unfollow here when this browser holds a key (docs/web.md).
  main += "<p id=\"follow\" data-author=\"" + Escape(id) +
          "\" hidden><button id=\"follow-button\" type=\"button\" disabled>Follow</button> "
          "<span id=\"follow-status\" role=\"status\"></span></p>";
  auto follows = model::Following(store, *key);
  if (follows.ok() && !follows->empty()) {
    main += "<details id=\"follows\"><summary>Follows " + std::to_string(follows->size()) +
            (follows->size() == 1 ? " author" : " authors") + "</summary><ul>";
    for (const PublicKey& f : *follows) main += "<li>" + AuthorLink(f) + "</li>";
    main += "</ul></details>";
  }
  if (posts->empty()) main += "<p>This node holds no posts by this author.</p>";
  main += "<ol id=\"posts\" class=\"posts\">";
  for (const auto& p : *posts) main += PostItem(p);
  main += "</ol>";
  return Html(200,
              Page("author",
                   "Blog of " + (!name.empty()    ? name
                                 : handle.empty() ? id.substr(0, 12)
                                                  : handle),
                   main),
              call);
}

Response Post(Context& ctx, const Call& call, std::string_view hex) {
  auto bytes = hex.size() == 64 ? FromHex(hex) : std::nullopt;
  if (!bytes)
    return ErrorPage(call,
                     Error{codes::kBadId, "A post's address is /p/ and its 64-hex-digit id."});
  Hash32 id;
  std::copy(bytes->begin(), bytes->end(), id.begin());
  auto e = ctx.backend->store().Get(id);
  if (!e.ok()) return ErrorPage(call, e.error());
  if (!e->has_value()) {
    // Not carried here: the catalog may still say what and whose it is.
    auto record = ctx.backend->store().CatalogRecordFor(id);
    if (record.ok() && record->has_value()) {
      const store::PostInfo& r = **record;
      const std::string main =
          "<article id=\"elsewhere\" data-id=\"" + ToHex(id) + "\"><h1>" + Escape(r.title) +
          "</h1><p class=\"meta\">by " + AuthorLink(r.author) + " in " + GroupLink(r.target_group) +
          " · " + TimeTag(r.timestamp_ms) + "</p><p>This node does not carry the group <b>" +
          Escape(r.target_group) +
          "</b>, so it knows this post only from the network's catalog. A node that carries " +
          Escape(r.target_group) + " shows it at this same address.</p></article>";
      return Html(200, Page("elsewhere", r.title, main), call);
    }
    return ErrorPage(
        call, Error{codes::kNotFound, "This node does not hold entry " + ToHex(id) +
                                          ". It may belong to a group this node does not carry; "
                                          "a node that carries it shows it at the same address."});
  }
  const Entry& entry = **e;
  const PostReading reading = ReadPost(entry);
  const bool post = reading.post;
  const std::string_view text = AsString(entry.payload());
  const std::string title = post ? reading.title : "Entry " + ToHex(id).substr(0, 12);
  const std::string author = AuthorId(entry.author());
  std::string main = "<article id=\"post\" data-id=\"" + ToHex(id) + "\" data-entry=\"" +
                     ToHex(entry.bytes()) + "\" data-author=\"" + author + "\" data-author-key=\"" +
                     ToHex(entry.author()) + "\">";
  const nlohmann::json profile = ProfileFields(ctx.backend->store(), entry.author());
  const std::string name = profile.contains("name") ? FieldText(profile["name"]) : "";
  main += "<p class=\"meta\">" + AuthorLink(entry.author(), name) + " in " +
          GroupLink(entry.group()) + " · " + TimeTag(entry.timestamp_ms()) + " · #" +
          std::to_string(entry.seq()) +
          " <span id=\"sig-badge\" data-state=\"pending\">Checking signature…</span></p>";
  if (post) {
    main += "<div class=\"body\">" + RenderPost(ctx.caches.markdown, id, text) + "</div>";
    // HTML drops a newline right after <pre>: one is added so the text survives whole.
    main += "<pre id=\"source\" hidden>\n" + Escape(text) + "</pre>";
  } else {
    main += "<p>An entry of kind " + std::to_string(entry.kind()) + ", " +
            std::to_string(entry.payload().size()) + " bytes:</p><pre id=\"source\">\n" +
            Escape(IsUtf8(text) ? std::string(text) : ToHex(entry.payload())) + "</pre>";
  }
  main +=
      "<p class=\"permalink\">Permalink: <a href=\"/p/" + ToHex(id) + "\">/p/" + ToHex(id) + "</a>";
  if (post) {
    store::PostInfo info;
    info.id = id;
    info.author = entry.author();
    info.title = reading.title;
    if (auto slug = model::SlugOf(ctx.backend->store(), info); slug.ok()) {
      const std::string path = "/a/" + author + "/" + *slug;
      main += " · <a id=\"slug-link\" href=\"" + path + "\">" + Escape(path) + "</a>";
    }
  }
  main += "</p></article>";
  return Html(200, Page("post", title, main), call);
}

Response PostBySlug(Context& ctx, const Call& call, std::string_view author,
                    std::string_view slug) {
  auto key = ParseAuthorId(author);
  if (!key.ok()) return ErrorPage(call, key.error());
  auto post = model::PostBySlug(ctx.backend->store(), *key, slug);
  if (!post.ok()) return ErrorPage(call, post.error());
  if (!*post) {
    return ErrorPage(call, Error{codes::kNotFound, "This node holds no post of that author at " +
                                                       std::string(slug) + "."});
  }
  return Post(ctx, call, ToHex((*post)->id));
}

// /@NAME is the blog of the author the name points at, /@NAME/SLUG one of its posts: the
// name resolved from the attestations in this node's log (node/names.h), not by asking the
// registry, so the page is as quick as any other and works on nodes without one.
Response Username(Context& ctx, const Call& call, std::string_view typed,
                  std::optional<std::string_view> slug) {
  auto normal = names::Normalize(typed);
  if (!normal.ok()) return ErrorPage(call, normal.error());
  auto found = node::ResolveFromLog(ctx.backend->store(), *normal, [&](const PublicKey& k) {
    return ctx.backend->TrustsAttester(k);
  });
  if (!found.ok()) return ErrorPage(call, found.error());
  if (!*found) {
    return ErrorPage(
        call, Error{codes::kNotFound, "No author holds the name @" + *normal +
                                          " here: nobody registered it, or its attestation has not "
                                          "reached this node yet."});
  }
  const std::string id = AuthorId((*found)->record.owner);
  if (!slug) return Author(ctx, call, id);
  return PostBySlug(ctx, call, id, *slug);
}

Response Group(Context& ctx, const Call& call, std::string_view name) {
  if (!IsValidGroupName(name)) {
    return ErrorPage(call, Error{codes::kInvalidGroup, "That is not a group name."});
  }
  store::LogQuery q;
  q.group = std::string(name);
  q.limit = kListPosts;
  q.newest_first = true;
  auto entries = ctx.backend->store().Log(q);
  if (!entries.ok()) return ErrorPage(call, entries.error());
  std::string main = "<h1>Group " + Escape(name) + "</h1>";
  if (entries->empty()) main += "<p>This node holds no entries of this group.</p>";
  main += "<ol id=\"entries\" class=\"posts\">";
  for (const Entry& e : *entries) {
    const PostReading r = ReadPost(e);
    std::string title = r.record ? "Catalog: " + r.title : r.title;
    if (title.empty()) title = "Entry of kind " + std::to_string(e.kind());
    const std::string id = ToHex(e.id());
    main += "<li class=\"post\" data-id=\"";
    main += id;
    main += "\"><a class=\"title\" href=\"/p/";
    main += id;
    main += "\">";
    main += Escape(title);
    main += "</a> <span class=\"meta\">by ";
    main += AuthorLink(e.author());
    main += " · ";
    main += TimeTag(e.timestamp_ms());
    main += "</span></li>";
  }
  main += "</ol>";
  return Html(200, Page("group", std::string(name), main), call);
}

Response Write(const Call& call) {
  const std::string main = R"html(<h1>Write</h1>
<section id="key"><h2>Your key</h2>
<p>Posts are signed in this browser with your own Ed25519 key; the node only ever sees
signed posts. Author id: <code id="key-author"></code></p>
<p><button id="key-create" type="button">Create a key</button>
<button id="key-export" type="button">Export</button>
<button id="key-import" type="button">Import</button></p>
<textarea id="key-backup" rows="3" cols="70" placeholder="pando-key-v1:… (export fills this; paste a backup here to import)"></textarea>
<p id="key-status" role="status"></p></section>
<form id="profile"><h2>Your profile</h2>
<p>Shown on your blog page on every node; saving signs one entry with your key.</p>
<p><label>Name <input id="profile-name" size="40" autocomplete="off"></label></p>
<p><label>Bio<br><textarea id="profile-bio" rows="3" cols="70"></textarea></label></p>
<p><button id="profile-submit" type="submit">Sign and save</button></p>
<p id="profile-status" role="status"></p></form>
<form id="username"><h2>Your username</h2>
<p>A unique name for your blog, which then lives at /@name on every node of this site. The
site's registry gives each name once; your key signs the claim, so nobody can make the name
point at anyone else. Letters a-z, digits, - and _, 3 to 32 characters.</p>
<p id="username-current"></p>
<p><label>Username <input id="username-name" size="32" maxlength="32" autocomplete="off"
pattern="[A-Za-z][A-Za-z0-9_\-]{2,31}"></label>
<button id="username-submit" type="submit">Sign and register</button></p>
<p id="username-status" role="status"></p></form>
<form id="compose"><h2>New post</h2>
<p><label>Group <input id="compose-group" value="blog" pattern="[a-z0-9][a-z0-9._\-]*" maxlength="64"></label></p>
<p><textarea id="compose-text" rows="12" cols="70" placeholder="# Title&#10;&#10;Markdown text"></textarea></p>
<p><button id="compose-submit" type="submit">Sign and post</button></p>
<p id="compose-status" role="status"></p></form>)html";
  return Html(200, Page("write", "Write", main), call);
}

// A page's body for `path` as the store is now, from the page cache if the store has not
// changed since it was made (docs/web.md, "Caching"); nullptr if not cached.
const std::string* CachedPage(Context& ctx, std::string_view path) {
  auto version = ctx.backend->store().DataVersion();
  if (!version.ok()) return nullptr;
  ReadCaches& c = ctx.caches;
  if (static_cast<uint64_t>(*version) != c.pages_version) {
    // A commit may change any page: the list of latest posts, a profile name, a slug.
    c.pages.Clear();
    c.pages_version = static_cast<uint64_t>(*version);
    return nullptr;
  }
  return c.pages.Get(path);
}

// Answers the page `render` makes, or its body from the page cache: every page but search is
// a function of its path and the store. Only whole answers are kept: a HEAD answer has no
// body, an error page is not a page.
template <typename Render>
void Cached(Context& ctx, const Call& call, Respond& respond, Render render) {
  if (const std::string* body = CachedPage(ctx, call.path)) return respond(Html(200, *body, call));
  Response r = render();
  if (call.req.method() == bhttp::verb::get && r.result_int() == 200) {
    ctx.caches.pages.Put(std::string(call.path), r.body());
  }
  respond(std::move(r));
}

}  // namespace

void FrontPage(Context& ctx, const Call& call, const Params&, Respond& respond) {
  Cached(ctx, call, respond, [&] { return Front(ctx, call); });
}

void SearchPage(Context& ctx, const Call& call, const Params&, Respond& respond) {
  respond(Search(ctx, call));  // Its query changes it: never cached.
}

void WritePage(Context& ctx, const Call& call, const Params&, Respond& respond) {
  Cached(ctx, call, respond, [&] { return Write(call); });
}

void AuthorPage(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  Cached(ctx, call, respond, [&] { return Author(ctx, call, p[0]); });
}

void SlugPage(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  Cached(ctx, call, respond, [&] { return PostBySlug(ctx, call, p[0], p[1]); });
}

void UsernamePage(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  Cached(ctx, call, respond, [&] { return Username(ctx, call, p[0], std::nullopt); });
}

void UsernameSlugPage(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  Cached(ctx, call, respond, [&] { return Username(ctx, call, p[0], p[1]); });
}

void PostPage(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  Cached(ctx, call, respond, [&] { return Post(ctx, call, p[0]); });
}

void GroupPage(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  Cached(ctx, call, respond, [&] { return Group(ctx, call, p[0]); });
}

}  // namespace pando::http
