// The JSON API under /api/v1 (docs/api.md).
#include <boost/beast/http.hpp>
#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/crypto.h"
#include "core/error_codes.h"
#include "core/kinds.h"
#include "core/post.h"
#include "http/http.h"
#include "node/node.h"

namespace pando::http {
namespace {

using bhttp::verb;
using nlohmann::json;

// Most items a list route returns.
constexpr size_t kListMax = 1000;

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

void PostEntries(Context& ctx, const Call& call, Respond respond) {
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
  ctx.node->PostLocal(std::move(entry).value(),
                      [respond = std::move(respond), id, r = AnswerShape(req)](Status s) {
                        if (!s.ok()) return respond(ErrorResponse(s.error(), r));
                        respond(JsonResponse(201, {{"id", id}}, r));
                      });
}

Response PeersBlock(Context& ctx, const Call& call, bool block) {
  const Request& req = call.req;
  const Status allowed =
      OperatorCall(ctx, call, "Peer blocks are for the node's operator, on its machine.");
  if (!allowed.ok()) return ErrorResponse(allowed.error(), req);
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
    ctx.node->Unblock(keys);
  } else {
    auto s = j->find("seconds");
    const int64_t seconds =
        s == j->end() ? 600 : (s->is_number_integer() ? s->get<int64_t>() : int64_t{-1});
    if (seconds < 1 || seconds > int64_t{86'400} * 365) {
      return ErrorResponse(
          Error{codes::kBadArgument, "seconds must be a whole number from 1 to 31536000."}, req);
    }
    ctx.node->Block(keys, std::chrono::seconds(seconds));
  }
  return JsonResponse(200, {{"peers", keys.size()}}, req);
}

Result<json> Log(Context& ctx, const Call& call, std::optional<std::string> group) {
  store::LogQuery q;
  if (!group) group = QueryValue(call.query, "group");
  if (group && !group->empty()) q.group = *group;
  if (auto a = QueryValue(call.query, "author"); a && !a->empty()) {
    auto key = ParseAuthorId(*a);
    if (!key.ok()) return key.error();
    q.author = *key;
  }
  if (auto l = QueryValue(call.query, "limit"); l && !l->empty()) {
    // SQLite's LIMIT is a signed 64-bit number.
    auto n = NumberIn<size_t>(*l, 0, std::numeric_limits<int64_t>::max());
    if (!n) return Error{codes::kBadArgument, "limit must be a number from 0 to 2^63-1."};
    q.limit = *n;
    q.newest_first = q.limit > 0;
  }
  auto entries = ctx.node->store().Log(q);
  if (!entries.ok()) return entries.error();
  auto authors = ctx.node->store().Authors();
  if (!authors.ok()) return authors.error();
  json list = json::array(), forked = json::array();
  for (const Entry& e : *entries) list.push_back(ToHex(e.bytes()));
  for (const auto& a : *authors) {
    if (a.forked) forked.push_back(AuthorId(a.key));
  }
  return json{{"entries", list}, {"forked_authors", forked}};
}

Result<json> Search(Context& ctx, const Call& call) {
  const std::string q = QueryValue(call.query, "q").value_or("");
  if (q.size() > 1000) return Error{codes::kBadArgument, "q is longer than 1000 bytes."};
  auto limit = LimitOf(call, 20, 100);
  if (!limit.ok()) return limit.error();
  auto found = ctx.node->store().Search(q, *limit);
  if (!found.ok()) return found.error();
  json results = json::array();
  for (const auto& p : *found) results.push_back(PostJson(p));
  return json{{"query", q}, {"results", results}};
}

// GET routes that answer from the store or the node at once.
std::optional<Result<json>> GetRoute(Context& ctx, const Call& call) {
  const std::string_view path = call.path;
  store::Store& store = ctx.node->store();
  if (path == "/api/v1/status") return Result<json>(ctx.node->StatusJson());
  if (path == "/api/v1/head") {
    auto author = ParseAuthorId(QueryValue(call.query, "author").value_or(""));
    if (!author.ok()) return Result<json>(author.error());
    auto head = store.Head(*author, QueryValue(call.query, "group").value_or(""));
    if (!head.ok()) return Result<json>(head.error());
    if (!head->has_value()) return Result<json>(json{{"seq", 0}});
    return Result<json>(json{{"seq", (*head)->seq},
                             {"id", ToHex((*head)->id)},
                             {"timestamp_ms", (*head)->timestamp_ms}});
  }
  if (path == "/api/v1/log") return Log(ctx, call, std::nullopt);
  if (path == "/api/v1/search") return Search(ctx, call);
  if (path == "/api/v1/latest") {
    auto limit = LimitOf(call, 20, 100);
    if (!limit.ok()) return Result<json>(limit.error());
    auto posts = store.Latest(kinds::kCatalog, *limit);
    if (!posts.ok()) return Result<json>(posts.error());
    json list = json::array();
    for (const auto& p : *posts) list.push_back(PostJson(p));
    return Result<json>(json{{"posts", list}});
  }
  if (path == "/api/v1/groups") {
    json groups = json::array();
    for (const auto& g : ctx.node->StatusJson()["groups"]) {
      groups.push_back({{"name", g["name"]}, {"entries", g["entries"]}});
    }
    return Result<json>(json{{"groups", groups}});
  }
  if (path == "/api/v1/author-id") {
    auto key = FromHex(QueryValue(call.query, "key").value_or(""));
    if (!key || key->size() != 32) {
      return Result<json>(
          Error{codes::kBadId, "Give key=HEX: an Ed25519 public key, 64 hex digits."});
    }
    PublicKey k;
    std::copy(key->begin(), key->end(), k.begin());
    return Result<json>(json{{"author", AuthorId(k)}});
  }
  constexpr std::string_view kGroups = "/api/v1/groups/";
  if (path.starts_with(kGroups) && path.ends_with("/entries")) {
    const std::string group(path.substr(kGroups.size(), path.size() - kGroups.size() - 8));
    return Log(ctx, call, group);
  }
  constexpr std::string_view kAuthors = "/api/v1/authors/";
  if (path.starts_with(kAuthors) && path.ends_with("/posts")) {
    auto key = ParseAuthorId(path.substr(kAuthors.size(), path.size() - kAuthors.size() - 6));
    if (!key.ok()) return Result<json>(key.error());
    auto limit = LimitOf(call, 20, kListMax);
    if (!limit.ok()) return Result<json>(limit.error());
    auto posts = store.PostsBy(*key, *limit);
    if (!posts.ok()) return Result<json>(posts.error());
    json list = json::array();
    for (const auto& p : *posts) list.push_back(PostJson(p));
    return Result<json>(json{{"posts", list}});
  }
  constexpr std::string_view kEntries = "/api/v1/entries/";
  if (path.starts_with(kEntries)) {
    auto id = IdOf(path.substr(kEntries.size()));
    if (!id.ok()) return Result<json>(id.error());
    auto e = store.Get(*id);
    if (!e.ok()) return Result<json>(e.error());
    if (!e->has_value()) {
      return Result<json>(Error{codes::kNotFound, "No stored entry has that id."});
    }
    return Result<json>(EntryJson(**e));
  }
  return std::nullopt;
}

// Every route and the methods it takes, for telling 405 from 404.
bool KnownPath(std::string_view path) {
  for (std::string_view p :
       {"/api/v1/status", "/api/v1/entries", "/api/v1/head", "/api/v1/log", "/api/v1/search",
        "/api/v1/latest", "/api/v1/groups", "/api/v1/author-id", "/api/v1/wait",
        "/api/v1/peers/block", "/api/v1/peers/unblock", "/api/v1/stream", "/api/v1/kv/stream"}) {
    if (path == p) return true;
  }
  return path.starts_with("/api/v1/entries/") || path.starts_with("/api/v1/groups/") ||
         path.starts_with("/api/v1/authors/");
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

void HandleApi(Context& ctx, const Call& call, Respond respond) {
  const Request& req = call.req;
  const verb method = req.method();
  if (ctx.node->stopping()) {
    return respond(ErrorResponse(Error{codes::kShuttingDown, "The node is stopping."}, req));
  }
  if (method == verb::post && call.path == "/api/v1/entries") {
    return PostEntries(ctx, call, std::move(respond));
  }
  if (HandleData(ctx, call, respond)) return;
  if (method == verb::post &&
      (call.path == "/api/v1/peers/block" || call.path == "/api/v1/peers/unblock")) {
    return respond(PeersBlock(ctx, call, call.path == "/api/v1/peers/block"));
  }
  if (method == verb::get && call.path == "/api/v1/wait") {
    auto id = IdOf(QueryValue(call.query, "id").value_or(""));
    if (!id.ok()) return respond(ErrorResponse(id.error(), req));
    int64_t timeout_ms = 10'000;
    if (auto t = QueryValue(call.query, "timeout_ms"); t && !t->empty()) {
      auto n = NumberIn<int64_t>(*t, 0, 600'000);
      if (!n) {
        return respond(
            ErrorResponse(Error{codes::kBadArgument, "timeout_ms must be from 0 to 600000."}, req));
      }
      timeout_ms = *n;
    }
    return ctx.node->WaitForEntry(*id, std::chrono::milliseconds(timeout_ms),
                                  [respond = std::move(respond), r = AnswerShape(req)](bool held) {
                                    respond(JsonResponse(200, {{"held", held}}, r));
                                  });
  }
  if (method == verb::get || method == verb::head) {
    if (auto answer = GetRoute(ctx, call)) {
      if (!answer->ok()) return respond(ErrorResponse(answer->error(), req));
      return respond(JsonResponse(200, answer->value(), req));
    }
  }
  if (KnownPath(call.path)) {
    return respond(ErrorResponse(
        Error{codes::kMethodNotAllowed, "Route " + std::string(call.path) + " does not take " +
                                            std::string(req.method_string()) + "."},
        req));
  }
  respond(ErrorResponse(
      Error{codes::kNotFound, "No route " + std::string(req.method_string()) + " " +
                                  std::string(call.path) + " (docs/api.md lists them)."},
      req));
}

}  // namespace pando::http
