// The data API (docs/api.md, "Data"): key-value maps, any CRDT object, profiles, follows,
// timelines and the newest CRDT clock, over the node's CRDT state (model/data.h). Writes are
// signed by the node's own key (Backend::PostOp), so the route table (routes.cc) lets only the
// node's operator reach them; anyone else writes by posting entries they signed
// (POST /api/v1/entries).
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "core/error_codes.h"
#include "http/backend.h"
#include "http/handlers.h"
#include "http/http.h"
#include "model/data.h"

namespace pando::http {
namespace {

using nlohmann::json;
namespace data = model;

Result<PublicKey> OwnerOf(const Call& call) {
  auto o = QueryValue(call.query, "owner");
  if (!o || o->empty()) return PublicKey{};
  return ParseAuthorId(*o);
}

// Signs op with the node's key in group and answers 201 {"id", "hlc"}.
void Sign(Context& ctx, const Call& call, std::string group, crdt::Op op, Respond& respond) {
  ctx.backend->PostOp(
      std::move(group), std::move(op),
      [respond = std::move(respond), r = AnswerShape(call.req)](Result<Entry> e) {
        if (!e.ok()) return respond(ErrorResponse(e.error(), r));
        auto op = crdt::DecodeOp(e->payload());
        respond(JsonResponse(201, {{"id", ToHex(e->id())}, {"hlc", op.ok() ? op->hlc : 0}}, r));
      });
}

Result<json> Load(Context& ctx, const crdt::ObjectKey& key) {
  auto o = ctx.backend->store().LoadCrdt(key);
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

}  // namespace

void KvList(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  auto key = MapKey(call, p);
  if (!key.ok()) return Answer(respond, call, key.error());
  Answer(respond, call, Load(ctx, *key));
}

void KvGet(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  auto key = MapKey(call, p);
  if (!key.ok()) return Answer(respond, call, key.error());
  auto cell = ctx.backend->store().CrdtMapField(*key, p[2]);
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
              {"raw", *(*cell)->value},
              {"entry", ToHex((*cell)->stamp.entry)},
              {"hlc", (*cell)->stamp.hlc}});
}

void KvPut(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  auto value = BoundedJson(call.req.body(), "the key's new value, as JSON");
  if (!value.ok()) return Answer(respond, call, value.error());
  const bool personal = QueryValue(call.query, "personal").value_or("") == "1";
  auto op = data::MapWrite(p[1], personal, {{p[2], value->dump()}});
  if (!op.ok()) return Answer(respond, call, op.error());
  Sign(ctx, call, p[0], std::move(*op), respond);
}

void KvDelete(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  const bool personal = QueryValue(call.query, "personal").value_or("") == "1";
  auto op = data::MapWrite(p[1], personal, {{p[2], std::nullopt}});
  if (!op.ok()) return Answer(respond, call, op.error());
  Sign(ctx, call, p[0], std::move(*op), respond);
}

void ObjectsGet(Context& ctx, const Call& call, const Params&, Respond& respond) {
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
  auto found = ctx.backend->store().FindCrdt(q);
  if (!found.ok()) return Answer(respond, call, found.error());
  json list = json::array();
  for (const auto& info : *found) {
    json j = data::ObjectKeyJson(info.key);
    j["changed_by"] = ToHex(info.changed_by);
    list.push_back(std::move(j));
  }
  Answer(respond, call, json{{"objects", list}});
}

void ObjectGet(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  auto type = crdt::ParseType(p[1]);
  if (!type) {
    return Answer(respond, call,
                  Error{codes::kBadArgument, "The type must be map, set, seq or counter."});
  }
  auto owner = OwnerOf(call);
  if (!owner.ok()) return Answer(respond, call, owner.error());
  Answer(respond, call, Load(ctx, crdt::ObjectKey{p[0], *owner, *type, p[2]}));
}

void ProfileGet(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  auto author = ParseAuthorId(p[0]);
  if (!author.ok()) return Answer(respond, call, author.error());
  auto o = ctx.backend->store().LoadCrdt(data::ProfileKey(*author));
  if (!o.ok()) return Answer(respond, call, o.error());
  json fields = json::object();
  if (*o) fields = data::StateJson(**o)["fields"];
  Answer(respond, call, json{{"author", p[0]}, {"fields", fields}});
}

void ProfilePut(Context& ctx, const Call& call, const Params&, Respond& respond) {
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

void FollowsGet(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  auto author = ParseAuthorId(p[0]);
  if (!author.ok()) return Answer(respond, call, author.error());
  auto f = data::FollowingWithTags(ctx.backend->store(), *author);
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

namespace {

void Follow(Context& ctx, const Call& call, const Params& p, Respond& respond, bool follow) {
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
  auto op = data::FollowOp(ctx.backend->store(), ctx.backend->key(), *author, follow);
  if (!op.ok()) return Answer(respond, call, op.error());
  Sign(ctx, call, std::string(data::kSocialGroup), std::move(*op), respond);
}

}  // namespace

void FollowAdd(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  Follow(ctx, call, p, respond, true);
}
void FollowRemove(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  Follow(ctx, call, p, respond, false);
}

// The newest clock reading this node has applied, as a decimal string (it exceeds 2^53, which
// JavaScript numbers cannot hold): what a client signing its own operation folds into its
// clock (crdt::HlcForWrite).
void ClockGet(Context& ctx, const Call& call, const Params&, Respond& respond) {
  auto hlc = ctx.backend->store().CrdtLastHlc();
  if (!hlc.ok()) return Answer(respond, call, hlc.error());
  Answer(respond, call, json{{"hlc", std::to_string(*hlc)}});
}

void TimelineGet(Context& ctx, const Call& call, const Params&, Respond& respond) {
  const std::string view = QueryValue(call.query, "view").value_or("public");
  PublicKey who = ctx.backend->key();
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
  auto posts = data::TimelinePosts(ctx.backend->store(), t, who, *limit);
  if (!posts.ok()) return Answer(respond, call, posts.error());
  Answer(respond, call,
         json{{"view", view},
              {"author", AuthorId(who)},
              {"posts", data::TimelineJson(ctx.backend->store(), *posts)}});
}

void PostBySlugGet(Context& ctx, const Call& call, const Params& p, Respond& respond) {
  auto author = ParseAuthorId(p[0]);
  if (!author.ok()) return Answer(respond, call, author.error());
  auto post = data::PostBySlug(ctx.backend->store(), *author, p[1]);
  if (!post.ok()) return Answer(respond, call, post.error());
  if (!*post) {
    return Answer(respond, call,
                  Error{codes::kNotFound, "This author has no post with the slug " + p[1] + "."});
  }
  auto e = ctx.backend->store().Get((*post)->id);
  if (!e.ok()) return Answer(respond, call, e.error());
  if (!*e) return Answer(respond, call, Error{codes::kNotFound, "The post is not stored."});
  json j = EntryJson(**e);
  j["slug"] = p[1];
  Answer(respond, call, j);
}

}  // namespace pando::http
