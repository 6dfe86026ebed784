// The data API (docs/api.md, "Data"): key-value maps, any CRDT object, profiles, follows,
// timelines and the newest CRDT clock, over the node's CRDT state (model/data.h). Writes are
// signed by the node's own key (Node::PostOp) and so are answered only to clients on the
// node's machine; anyone else writes by posting entries they signed (POST /api/v1/entries).
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "core/error_codes.h"
#include "http/http.h"
#include "model/data.h"
#include "node/node.h"

namespace pando::http {
namespace {

using bhttp::verb;
using nlohmann::json;
namespace data = model;

using Handler = void (*)(Context&, const Call&, const Params&, Respond&);

std::optional<std::string> DecodeSegment(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    auto hex = FromHex(s.substr(i + 1, 2));
    if (!hex) return std::nullopt;
    out += static_cast<char>((*hex)[0]);
    i += 2;
  }
  return out;
}

// Whether `path` fits `pattern` ("/api/v1/kv/{group}/{map}"); fills the parameters.
bool Match(std::string_view pattern, std::string_view path, Params* params) {
  params->clear();
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty() || pattern[0] != '/' || path[0] != '/') return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    const std::string_view pseg = pattern.substr(0, pattern.find('/'));
    const std::string_view seg = path.substr(0, path.find('/'));
    pattern.remove_prefix(pseg.size());
    path.remove_prefix(seg.size());
    if (pseg.starts_with('{')) {
      auto v = DecodeSegment(seg);
      if (!v || v->empty()) return false;
      params->push_back(std::move(*v));
    } else if (pseg != seg) {
      return false;
    }
  }
  return true;
}

void Answer(Respond& respond, const Call& call, const Result<json>& r, unsigned status = 200) {
  if (!r.ok()) return respond(ErrorResponse(r.error(), call.req));
  respond(JsonResponse(status, r.value(), call.req));
}

Result<PublicKey> OwnerOf(const Call& call) {
  auto o = QueryValue(call.query, "owner");
  if (!o || o->empty()) return PublicKey{};
  return ParseAuthorId(*o);
}

// Whether the operator sent call (OperatorCall); answers the refusal if not.
bool OperatorOnly(Context& ctx, const Call& call, Respond& respond) {
  const Status s = OperatorCall(ctx, call,
                                "Writes through this route are signed by the node's own key, so "
                                "they are for its operator, on its machine; others post entries "
                                "they signed to /api/v1/entries.");
  if (s.ok()) return true;
  respond(ErrorResponse(s.error(), call.req));
  return false;
}

// Signs op with the node's key in group and answers 201 {"id", "hlc"}.
void Sign(Context& ctx, const Call& call, std::string group, crdt::Op op, Respond& respond) {
  ctx.node->PostOp(
      std::move(group), std::move(op),
      [respond = std::move(respond), r = AnswerShape(call.req)](Result<Entry> e) {
        if (!e.ok()) return respond(ErrorResponse(e.error(), r));
        auto op = crdt::DecodeOp(e->payload());
        respond(JsonResponse(201, {{"id", ToHex(e->id())}, {"hlc", op.ok() ? op->hlc : 0}}, r));
      });
}

Result<json> Load(Context& ctx, const crdt::ObjectKey& key) {
  auto o = ctx.node->store().LoadCrdt(key);
  if (!o.ok()) return o.error();
  if (!*o) {
    return Error{codes::kNotFound, "No operation on " + std::string(crdt::TypeName(key.type)) +
                                       " '" + key.name + "' in group " + key.group +
                                       " has reached this node."};
  }
  return data::StateJson(**o);
}

Result<crdt::ObjectKey> MapKey(const Call& call, const Params& p) {
  auto owner = OwnerOf(call);
  if (!owner.ok()) return owner.error();
  return crdt::ObjectKey{p[0], *owner, crdt::Type::kMap, p[1]};
}

void KvList(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  auto key = MapKey(call, p);
  if (!key.ok()) return Answer(respond, call, key.error());
  Answer(respond, call, Load(ctx, *key));
}

void KvGet(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  auto key = MapKey(call, p);
  if (!key.ok()) return Answer(respond, call, key.error());
  auto cell = ctx.node->store().CrdtMapField(*key, p[2]);
  if (!cell.ok()) return Answer(respond, call, cell.error());
  if (!*cell || !(*cell)->value) {
    return Answer(
        respond, call,
        Error{codes::kNotFound, "The map has no key '" + p[2] + "' (or it was deleted)."});
  }
  // The value was signed by whoever wrote it, perhaps on another node: parsed within the
  // same bounds as a body, so a hostile one cannot exhaust the stack when it is shown.
  auto v = BoundedJson(*(*cell)->value, "a value within the bounds");
  Answer(respond, call,
         json{{"key", p[2]},
              {"value", v.ok() ? *v : json(nullptr)},
              {"entry", ToHex((*cell)->stamp.entry)},
              {"hlc", (*cell)->stamp.hlc}});
}

void KvPut(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  if (!OperatorOnly(ctx, call, respond)) return;
  auto value = BoundedJson(call.req.body(), "the key's new value, as JSON");
  if (!value.ok()) return Answer(respond, call, value.error());
  const bool personal = QueryValue(call.query, "personal").value_or("") == "1";
  auto op = data::MapWrite(p[1], personal, {{p[2], value->dump()}});
  if (!op.ok()) return Answer(respond, call, op.error());
  Sign(ctx, call, p[0], std::move(*op), respond);
}

void KvDelete(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  if (!OperatorOnly(ctx, call, respond)) return;
  const bool personal = QueryValue(call.query, "personal").value_or("") == "1";
  auto op = data::MapWrite(p[1], personal, {{p[2], std::nullopt}});
  if (!op.ok()) return Answer(respond, call, op.error());
  Sign(ctx, call, p[0], std::move(*op), respond);
}

void Objects(Context& ctx, const Call& call, const Params&, Respond& respond) {
  store::CrdtQuery q;
  if (auto g = QueryValue(call.query, "group"); g && !g->empty()) q.group = *g;
  if (auto o = QueryValue(call.query, "owner"); o && !o->empty()) {
    if (*o == "shared") {
      q.owner = PublicKey{};
    } else {
      auto key = ParseAuthorId(*o);
      if (!key.ok()) return Answer(respond, call, key.error());
      q.owner = *key;
    }
  }
  if (auto t = QueryValue(call.query, "type"); t && !t->empty()) {
    q.type = crdt::ParseType(*t);
    if (!q.type) {
      return Answer(respond, call,
                    Error{codes::kBadArgument, "type must be map, set, seq or counter."});
    }
  }
  q.limit = 1000;
  auto found = ctx.node->store().FindCrdt(q);
  if (!found.ok()) return Answer(respond, call, found.error());
  json list = json::array();
  for (const auto& info : *found) {
    json j = data::ObjectKeyJson(info.key);
    j["changed_by"] = ToHex(info.changed_by);
    list.push_back(std::move(j));
  }
  Answer(respond, call, json{{"objects", list}});
}

void Object(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  auto type = crdt::ParseType(p[1]);
  if (!type) {
    return Answer(respond, call,
                  Error{codes::kBadArgument, "The type must be map, set, seq or counter."});
  }
  auto owner = OwnerOf(call);
  if (!owner.ok()) return Answer(respond, call, owner.error());
  Answer(respond, call, Load(ctx, crdt::ObjectKey{p[0], *owner, *type, p[2]}));
}

void Profile(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  auto author = ParseAuthorId(p[0]);
  if (!author.ok()) return Answer(respond, call, author.error());
  auto o = ctx.node->store().LoadCrdt(data::ProfileKey(*author));
  if (!o.ok()) return Answer(respond, call, o.error());
  json fields = json::object();
  if (*o) fields = data::StateJson(**o)["fields"];
  Answer(respond, call, json{{"author", p[0]}, {"fields", fields}});
}

void PutProfile(Context& ctx, const Call& call, const Params&, Respond& respond) {
  if (!OperatorOnly(ctx, call, respond)) return;
  constexpr std::string_view kShape =
      "{\"FIELD\": VALUE, ...}: the fields to set (null deletes one)";
  auto j = BoundedJson(call.req.body(), kShape);
  if (j.ok() && (!j->is_object() || j->empty())) {
    j = Error{codes::kBadJson, "Send " + std::string(kShape) + "."};
  }
  if (!j.ok()) return Answer(respond, call, j.error());
  std::vector<std::pair<std::string, std::optional<std::string>>> fields;
  for (auto& [k, v] : j->items()) {
    fields.emplace_back(k, v.is_null() ? std::nullopt : std::optional<std::string>(v.dump()));
  }
  auto op = data::MapWrite(std::string(data::kProfile), true, std::move(fields));
  if (!op.ok()) return Answer(respond, call, op.error());
  Sign(ctx, call, std::string(data::kSocialGroup), std::move(*op), respond);
}

void Follows(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  auto author = ParseAuthorId(p[0]);
  if (!author.ok()) return Answer(respond, call, author.error());
  auto f = data::FollowingWithTags(ctx.node->store(), *author);
  if (!f.ok()) return Answer(respond, call, f.error());
  json list = json::array(), tags = json::object();
  for (const auto& x : *f) {
    const std::string id = AuthorId(x.author);
    list.push_back(id);
    json t = json::array();
    for (const crdt::ElemId& tag : x.tags) t.push_back(data::ElemIdText(tag));
    tags[id] = std::move(t);
  }
  Answer(respond, call, json{{"author", p[0]}, {"follows", list}, {"tags", tags}});
}

void Follow(Context& ctx, const Call& call, const Params& p, Respond& respond, bool follow) {
  if (!OperatorOnly(ctx, call, respond)) return;
  std::string id;
  if (follow) {
    auto j = BoundedJson(call.req.body(), "{\"author\": AUTHOR_ID}");
    if (!j.ok()) return Answer(respond, call, j.error());
    if (!j->is_object() || !j->contains("author") || !(*j)["author"].is_string()) {
      return Answer(respond, call, Error{codes::kBadJson, "Send {\"author\": AUTHOR_ID}."});
    }
    id = (*j)["author"].get<std::string>();
  } else {
    id = p[0];
  }
  auto author = ParseAuthorId(id);
  if (!author.ok()) return Answer(respond, call, author.error());
  auto op = data::FollowOp(ctx.node->store(), ctx.node->key(), *author, follow);
  if (!op.ok()) return Answer(respond, call, op.error());
  Sign(ctx, call, std::string(data::kSocialGroup), std::move(*op), respond);
}

void FollowAdd(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  Follow(ctx, call, p, respond, true);
}
void FollowRemove(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  Follow(ctx, call, p, respond, false);
}

// The newest clock reading this node has applied, as a decimal string (it exceeds 2^53, which
// JavaScript numbers cannot hold): what a client signing its own operation folds into its
// clock (crdt::HlcForWrite).
void LastClock(Context& ctx, const Call& call, const Params&, Respond& respond) {
  auto hlc = ctx.node->store().CrdtLastHlc();
  if (!hlc.ok()) return Answer(respond, call, hlc.error());
  Answer(respond, call, json{{"hlc", std::to_string(*hlc)}});
}

void Timeline(Context& ctx, const Call& call, const Params&, Respond& respond) {
  const std::string view = QueryValue(call.query, "view").value_or("public");
  PublicKey who = ctx.node->key();
  data::Timeline t = data::Timeline::kPublic;
  if (view == "home") {
    t = data::Timeline::kHome;
  } else if (view == "author") {
    t = data::Timeline::kAuthor;
  } else if (view != "public") {
    return Answer(respond, call,
                  Error{codes::kBadArgument, "view must be public, home or author."});
  }
  if (auto a = QueryValue(call.query, "author"); a && !a->empty()) {
    auto key = ParseAuthorId(*a);
    if (!key.ok()) return Answer(respond, call, key.error());
    who = *key;
  }
  auto limit = LimitOf(call, 20, 100);
  if (!limit.ok()) return Answer(respond, call, limit.error());
  auto posts = data::TimelinePosts(ctx.node->store(), t, who, *limit);
  if (!posts.ok()) return Answer(respond, call, posts.error());
  Answer(respond, call,
         json{{"view", view},
              {"author", AuthorId(who)},
              {"posts", data::TimelineJson(ctx.node->store(), *posts)}});
}

void PostBySlug(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  auto author = ParseAuthorId(p[0]);
  if (!author.ok()) return Answer(respond, call, author.error());
  auto post = data::PostBySlug(ctx.node->store(), *author, p[1]);
  if (!post.ok()) return Answer(respond, call, post.error());
  if (!*post) {
    return Answer(respond, call,
                  Error{codes::kNotFound, "This author has no post with the slug " + p[1] + "."});
  }
  auto e = ctx.node->store().Get((*post)->id);
  if (!e.ok()) return Answer(respond, call, e.error());
  if (!*e) return Answer(respond, call, Error{codes::kNotFound, "The post is not stored."});
  json j = EntryJson(**e);
  j["slug"] = p[1];
  Answer(respond, call, j);
}

struct Route {
  verb method;
  std::string_view pattern;
  Handler handler;
};

// Every data route; tests/web/openapi_test.mjs reads this table.
const Route kRoutes[] = {
    {verb::get, "/api/v1/kv/{group}/{map}", KvList},
    {verb::get, "/api/v1/kv/{group}/{map}/{key}", KvGet},
    {verb::put, "/api/v1/kv/{group}/{map}/{key}", KvPut},
    {verb::delete_, "/api/v1/kv/{group}/{map}/{key}", KvDelete},
    {verb::get, "/api/v1/objects", Objects},
    {verb::get, "/api/v1/objects/{group}/{type}/{name}", Object},
    {verb::get, "/api/v1/authors/{author}/profile", Profile},
    {verb::put, "/api/v1/profile", PutProfile},
    {verb::get, "/api/v1/authors/{author}/follows", Follows},
    {verb::post, "/api/v1/follows", FollowAdd},
    {verb::delete_, "/api/v1/follows/{author}", FollowRemove},
    {verb::get, "/api/v1/authors/{author}/posts/{slug}", PostBySlug},
    {verb::get, "/api/v1/timeline", Timeline},
    {verb::get, "/api/v1/clock", LastClock},
    {verb::post, "/api/v1/names", NameRegister},
    {verb::get, "/api/v1/names", NamesList},
    {verb::get, "/api/v1/names/{name}", NameGet},
    {verb::post, "/api/v1/names/{name}/transfer", NameTransfer},
};

}  // namespace

bool HandleData(Context& ctx, const Call& call, Respond& respond) {
  Params params;
  bool known = false;
  for (const Route& r : kRoutes) {
    if (!Match(r.pattern, call.path, &params)) continue;
    known = true;
    const verb m = call.req.method() == verb::head ? verb::get : call.req.method();
    if (m == r.method) {
      r.handler(ctx, call, params, respond);
      return true;
    }
  }
  if (!known) return false;
  respond(ErrorResponse(
      Error{codes::kMethodNotAllowed, "Route " + std::string(call.path) + " does not take " +
                                          std::string(call.req.method_string()) + "."},
      call.req));
  return true;
}

}  // namespace pando::http
