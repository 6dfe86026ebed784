// The JSON API under /api/v1 (docs/api.md).
#include <algorithm>
#include <boost/beast/http.hpp>
#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/crypto.h"
#include "core/error_codes.h"
#include "core/kinds.h"
#include "core/post.h"
#include "http/backend.h"
#include "http/handlers.h"
#include "http/http.h"

namespace pando::http {
namespace {

using bhttp::verb;
using nlohmann::json;

// Most items a list route returns, and the log's page when the client names no limit.
constexpr size_t kListMax = 1000;
constexpr size_t kLogDefault = 100;
// Most bytes of the items of one answer (before JSON's quotes and commas).
constexpr size_t kListBytesMax = size_t{4} << 20;

// A whole query value as a number in [lo, hi]; nullopt if it is anything else.
template <typename T>
std::optional<T> NumberIn(const std::string& text, T lo, T hi) {
  T v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi) {
    return std::nullopt;
  }
  return v;
}

Result<Hash32> IdOf(std::string_view hex) {
  auto id = hex.size() == 64 ? FromHex(hex) : std::nullopt;
  if (!id) return Error{codes::kBadId, "Give a 64-hex-digit entry id."};
  Hash32 h;
  std::copy(id->begin(), id->end(), h.begin());
  return h;
}

// The body as a JSON object; BAD_JSON or BAD_ARGUMENT otherwise.
Result<json> JsonObject(const Request& req, std::string_view shape) {
  auto j = BoundedJson(req.body(), shape);
  if (!j.ok()) return j.error();
  if (!j->is_object()) return Error{codes::kBadArgument, "Send " + std::string(shape) + "."};
  return j;
}

json PostJson(const store::PostInfo& p) {
  json j = {{"id", ToHex(p.id)}, {"author", AuthorId(p.author)},
            {"group", p.group},  {"kind", p.kind},
            {"title", p.title},  {"timestamp_ms", p.timestamp_ms}};
  if (!p.target_group.empty()) {
    j["target"] = {{"group", p.target_group}, {"entry", ToHex(p.target_id)}};
  }
  return j;
}

}  // namespace

void EntriesPost(Context& ctx, const Call& call, const Params&, Respond& respond) {
  const Request& req = call.req;
  // The body is one signed entry: its canonical bytes as hex, or raw bytes.
  Bytes bytes;
  if (req[bhttp::field::content_type] == "application/octet-stream") {
    bytes.assign(req.body().begin(), req.body().end());
  } else {
    constexpr std::string_view kShape =
        "{\"entry\": HEX} (the signed entry's bytes), or the raw bytes with Content-Type "
        "application/octet-stream";
    auto j = JsonObject(req, kShape);
    if (!j.ok()) return respond(ErrorResponse(j.error(), req));
    auto it = j->find("entry");
    if (it == j->end() || !it->is_string()) {
      return respond(
          ErrorResponse(Error{codes::kBadArgument, "Send " + std::string(kShape) + "."}, req));
    }
    auto b = FromHex(it->get<std::string>());
    if (!b) return respond(ErrorResponse(Error{codes::kBadArgument, "\"entry\" is not hex."}, req));
    bytes = std::move(*b);
  }
  auto entry = Entry::Decode(bytes);
  if (!entry.ok()) return respond(ErrorResponse(entry.error(), req));
  const std::string id = ToHex(entry->id());
  ctx.backend->PostLocal(std::move(entry).value(),
                         [respond = std::move(respond), id, r = AnswerShape(req)](const Status& s) {
                           if (!s.ok()) return respond(ErrorResponse(s.error(), r));
                           respond(JsonResponse(201, {{"id", id}}, r));
                         });
}

namespace {

// POST /api/v1/peers/block and unblock, whose callers the route table checked (operator).
Response PeersBlock(Context& ctx, const Call& call, bool block) {
  const Request& req = call.req;
  constexpr std::string_view kShape = "{\"peers\": [AUTHOR_ID, ...], \"seconds\": N}";
  auto j = JsonObject(req, kShape);
  if (!j.ok()) return ErrorResponse(j.error(), req);
  auto peers = j->find("peers");
  if (peers == j->end() || !peers->is_array()) {
    return ErrorResponse(Error{codes::kBadArgument, "Send " + std::string(kShape) + "."}, req);
  }
  std::vector<PublicKey> keys;
  for (const auto& p : *peers) {
    auto key = ParseAuthorId(p.is_string() ? p.get<std::string>() : "");
    if (!key.ok()) return ErrorResponse(key.error(), req);
    keys.push_back(*key);
  }
  if (!block) {
    ctx.backend->Unblock(keys);
  } else {
    auto s = j->find("seconds");
    const int64_t seconds =
        s == j->end() ? 600 : (s->is_number_integer() ? s->get<int64_t>() : int64_t{-1});
    if (seconds < 1 || seconds > int64_t{86'400} * 365) {
      return ErrorResponse(
          Error{codes::kBadArgument, "seconds must be a whole number from 1 to 31536000."}, req);
    }
    ctx.backend->Block(keys, std::chrono::seconds(seconds));
  }
  return JsonResponse(200, {{"peers", keys.size()}}, req);
}

// A log cursor as the API writes it: "TIMESTAMP_MS.ID" (decimal, then 64 hex digits).
std::string CursorText(int64_t timestamp_ms, const Hash32& id) {
  return std::to_string(timestamp_ms) + "." + ToHex(id);
}

// The cursor in query parameter `key`, if given; BAD_ARGUMENT if it is not one.
Result<std::optional<store::LogCursor>> CursorOf(const Call& call, std::string_view key) {
  auto text = QueryValue(call.query, key);
  if (!text || text->empty()) return std::optional<store::LogCursor>();
  const size_t dot = text->find('.');
  auto ts = dot == std::string::npos
                ? std::nullopt
                : NumberIn<int64_t>(text->substr(0, dot), 0, std::numeric_limits<int64_t>::max());
  auto id = dot == std::string::npos ? Result<Hash32>(Error{codes::kBadId, ""})
                                     : IdOf(std::string_view(*text).substr(dot + 1));
  if (!ts || !id.ok()) {
    return Error{codes::kBadArgument, std::string(key) +
                                          " must be a cursor TIMESTAMP_MS.ID, as a page's "
                                          "\"next\" gives it."};
  }
  return std::optional<store::LogCursor>(store::LogCursor{*ts, *id});
}

// GET /api/v1/log and /api/v1/groups/G/entries: one page of the log (docs/api.md).
Result<json> Log(Context& ctx, const Call& call, std::optional<std::string> group) {
  store::LogQuery q;
  if (!group) group = QueryValue(call.query, "group");
  if (group && !group->empty()) q.group = *group;
  if (auto a = QueryValue(call.query, "author"); a && !a->empty()) {
    auto key = ParseAuthorId(*a);
    if (!key.ok()) return key.error();
    q.author = *key;
  }
  // limit=0 is the default too: what `pando log` asks for when given no --limit.
  const bool zero = QueryValue(call.query, "limit").value_or("") == "0";
  auto limit = zero ? Result<size_t>(kLogDefault) : LimitOf(call, kLogDefault, kListMax);
  if (!limit.ok()) return limit.error();
  auto before = CursorOf(call, "before");
  if (!before.ok()) return before.error();
  auto after = CursorOf(call, "after");
  if (!after.ok()) return after.error();
  if (*before && *after) return Error{codes::kBadArgument, "Give before or after, not both."};
  q.limit = *limit;
  // Newest first when the client asked for a number or pages backwards; else log order.
  q.newest_first = (!zero && QueryValue(call.query, "limit").value_or("") != "") || *before;
  q.from = *before ? *before : *after;
  if (q.newest_first && *after) {
    return Error{codes::kBadArgument, "after pages in log order: give it without limit."};
  }
  q.bytes_max = kListBytesMax / 2;  // Hex doubles each entry's bytes.
  auto page = ctx.backend->store().LogPage(q);
  if (!page.ok()) return page.error();
  std::vector<PublicKey> authors;
  json list = json::array(), forked = json::array();
  for (const Entry& e : page->entries) {
    list.push_back(ToHex(e.bytes()));
    authors.push_back(e.author());
  }
  std::sort(authors.begin(), authors.end());
  authors.erase(std::unique(authors.begin(), authors.end()), authors.end());
  auto forked_keys = ctx.backend->store().ForkedAmong(authors);
  if (!forked_keys.ok()) return forked_keys.error();
  for (const PublicKey& a : *forked_keys) forked.push_back(AuthorId(a));
  json answer = {{"entries", list}, {"forked_authors", forked}};
  if (page->more) {
    answer["next"] = CursorText(page->entries.back().timestamp_ms(), page->entries.back().id());
  }
  return answer;
}

// A page of posts newest first (latest, an author's): `fetch(n, before)` reads n of them.
// One more than the page is read, so "next" is there only when more follow.
template <typename Fetch>
Result<json> PostsPage(const Call& call, size_t max, Fetch fetch) {
  auto limit = LimitOf(call, 20, max);
  if (!limit.ok()) return limit.error();
  auto before = CursorOf(call, "before");
  if (!before.ok()) return before.error();
  Result<std::vector<store::PostInfo>> posts = fetch(*limit + 1, *before);
  if (!posts.ok()) return posts.error();
  json list = json::array();
  for (size_t i = 0; i < posts->size() && i < *limit; ++i) list.push_back(PostJson((*posts)[i]));
  json answer = {{"posts", list}};
  if (posts->size() > *limit) {
    const store::PostInfo& last = (*posts)[*limit - 1];
    answer["next"] = CursorText(last.timestamp_ms, last.id);
  }
  return answer;
}

Result<json> Search(Context& ctx, const Call& call) {
  const std::string q = QueryValue(call.query, "q").value_or("");
  if (q.size() > 1000) return Error{codes::kBadArgument, "q is longer than 1000 bytes."};
  auto limit = LimitOf(call, 20, 100);
  if (!limit.ok()) return limit.error();
  auto found = ctx.backend->store().Search(q, *limit);
  if (!found.ok()) return found.error();
  json results = json::array();
  for (const auto& p : *found) results.push_back(PostJson(p));
  return json{{"query", q}, {"results", results}};
}

// GET /api/v1/entries/ID. An entry never changes, so its answer is made once and then kept
// by id (ctx.caches.entries, docs/web.md "Caching").
Response EntryAnswer(Context& ctx, const Call& call, std::string_view hex) {
  auto id = IdOf(hex);
  if (!id.ok()) return ErrorResponse(id.error(), call.req);
  const std::string key(reinterpret_cast<const char*>(id->data()), id->size());
  if (const std::string* body = ctx.caches.entries.Get(key)) {
    return MakeResponse(200, *body, "application/json", call.req);
  }
  auto e = ctx.backend->store().Get(*id);
  if (!e.ok()) return ErrorResponse(e.error(), call.req);
  if (!e->has_value()) {
    return ErrorResponse(Error{codes::kNotFound, "No stored entry has that id."}, call.req);
  }
  Response r = JsonResponse(200, EntryJson(**e), call.req);
  if (call.req.method() == verb::get) ctx.caches.entries.Put(key, r.body());
  return r;
}

}  // namespace

Result<size_t> LimitOf(const Call& call, size_t fallback, size_t max) {
  auto l = QueryValue(call.query, "limit");
  if (!l || l->empty()) return fallback;
  auto n = NumberIn<size_t>(*l, 1, max);
  if (!n)
    return Error{codes::kBadArgument,
                 "limit must be a number from 1 to " + std::to_string(max) + "."};
  return *n;
}

nlohmann::json EntryJson(const Entry& e) {
  nlohmann::json j = {{"id", ToHex(e.id())},      {"author", AuthorId(e.author())},
                      {"group", e.group()},       {"seq", e.seq()},
                      {"kind", e.kind()},         {"timestamp_ms", e.timestamp_ms()},
                      {"entry", ToHex(e.bytes())}};
  const PostReading r = ReadPost(e);
  if (r.post) {
    j["title"] = r.title;
    j["text"] = r.text;
  }
  if (r.record) {
    j["title"] = r.title;
    j["target"] = {{"group", r.record->group}, {"entry", ToHex(r.record->entry)}};
  }
  return j;
}

void StatusGet(Context& ctx, const Call& call, const Params&, Respond& respond) {
  Answer(respond, call, ctx.backend->StatusJson());
}

void EntryGet(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  respond(EntryAnswer(ctx, call, p[0]));
}

void HeadGet(Context& ctx, const Call& call, const Params&, Respond& respond) {
  auto author = ParseAuthorId(QueryValue(call.query, "author").value_or(""));
  if (!author.ok()) return Answer(respond, call, author.error());
  auto head = ctx.backend->store().Head(*author, QueryValue(call.query, "group").value_or(""));
  if (!head.ok()) return Answer(respond, call, head.error());
  if (!head->has_value()) return Answer(respond, call, json{{"seq", 0}});
  Answer(respond, call,
         json{{"seq", (*head)->seq},
              {"id", ToHex((*head)->id)},
              {"timestamp_ms", (*head)->timestamp_ms}});
}

void LogGet(Context& ctx, const Call& call, const Params&, Respond& respond) {
  Answer(respond, call, Log(ctx, call, std::nullopt));
}

void GroupEntriesGet(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  Answer(respond, call, Log(ctx, call, p[0]));
}

void SearchGet(Context& ctx, const Call& call, const Params&, Respond& respond) {
  Answer(respond, call, Search(ctx, call));
}

void LatestGet(Context& ctx, const Call& call, const Params&, Respond& respond) {
  store::Store& store = ctx.backend->store();
  Answer(respond, call, PostsPage(call, 100, [&](size_t n, std::optional<store::LogCursor> before) {
           return store.Latest(kinds::kCatalog, n, before);
         }));
}

void AuthorPostsGet(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  auto key = ParseAuthorId(p[0]);
  if (!key.ok()) return Answer(respond, call, key.error());
  store::Store& store = ctx.backend->store();
  Answer(respond, call,
         PostsPage(call, kListMax, [&](size_t n, std::optional<store::LogCursor> before) {
           return store.PostsBy(*key, n, before);
         }));
}

void GroupsGet(Context& ctx, const Call& call, const Params&, Respond& respond) {
  // The status is held in a local: a range-for over a member of a temporary would read it
  // after it was freed (the temporary lives only to the end of the range's expression).
  const json status = ctx.backend->StatusJson();
  json groups = json::array();
  for (const auto& g : status["groups"]) {
    groups.push_back({{"name", g["name"]}, {"entries", g["entries"]}});
  }
  Answer(respond, call, json{{"groups", groups}});
}

void AuthorIdGet(Context&, const Call& call, const Params&, Respond& respond) {
  auto key = FromHex(QueryValue(call.query, "key").value_or(""));
  if (!key || key->size() != 32) {
    return Answer(respond, call,
                  Error{codes::kBadId, "Give key=HEX: an Ed25519 public key, 64 hex digits."});
  }
  PublicKey k;
  std::copy(key->begin(), key->end(), k.begin());
  Answer(respond, call, json{{"author", AuthorId(k)}});
}

void WaitGet(Context& ctx, const Call& call, const Params&, Respond& respond) {
  auto id = IdOf(QueryValue(call.query, "id").value_or(""));
  if (!id.ok()) return Answer(respond, call, id.error());
  int64_t timeout_ms = 10'000;
  if (auto t = QueryValue(call.query, "timeout_ms"); t && !t->empty()) {
    auto n = NumberIn<int64_t>(*t, 0, 600'000);
    if (!n) {
      return Answer(respond, call,
                    Error{codes::kBadArgument, "timeout_ms must be from 0 to 600000."});
    }
    timeout_ms = *n;
  }
  ctx.backend->WaitForEntry(*id, std::chrono::milliseconds(timeout_ms),
                            [respond = std::move(respond), r = AnswerShape(call.req)](bool held) {
                              respond(JsonResponse(200, {{"held", held}}, r));
                            });
}

void PeersBlockPost(Context& ctx, const Call& call, const Params&, Respond& respond) {
  respond(PeersBlock(ctx, call, true));
}

void PeersUnblockPost(Context& ctx, const Call& call, const Params&, Respond& respond) {
  respond(PeersBlock(ctx, call, false));
}

void StreamWithoutUpgrade(Context&, const Call& call, const Params&, Respond& respond) {
  Response r = ErrorResponse(
      Error{codes::kMethodNotAllowed,
            "Route " + std::string(call.path) +
                " is a WebSocket stream: send GET with the upgrade headers (docs/api.md)."},
      call.req);
  r.set(bhttp::field::allow, "GET");
  respond(std::move(r));
}

}  // namespace pando::http
