#include "model/data.h"

#include <algorithm>
#include <optional>
#include <tuple>
#include <utility>

#include "core/error_codes.h"
#include "core/kinds.h"

namespace pando::model {
namespace {

nlohmann::json JsonOf(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  return j.is_discarded() ? nlohmann::json(text) : j;
}

}  // namespace

crdt::ObjectKey ProfileKey(const PublicKey& author) {
  return {std::string(kSocialGroup), author, crdt::Type::kMap, std::string(kProfile)};
}

crdt::ObjectKey FollowsKey(const PublicKey& author) {
  return {std::string(kSocialGroup), author, crdt::Type::kSet, std::string(kFollows)};
}

Result<crdt::Op> MapWrite(std::string map, bool personal,
                          std::vector<std::pair<std::string, std::optional<std::string>>> fields) {
  std::sort(fields.begin(), fields.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  crdt::MapUpdate u;
  for (auto& [f, v] : fields) {
    if (!u.fields.empty() && u.fields.back().field == f) {
      return Error{codes::kBadArgument, "The field '" + f + "' is given twice."};
    }
    u.fields.push_back({std::move(f), std::move(v)});
  }
  crdt::Op op;
  op.personal = personal;
  op.name = std::move(map);
  op.action = std::move(u);
  if (auto s = crdt::CheckOp(op); !s.ok()) {
    return Error{codes::kBadArgument, s.error().message +
                                          " (map and field names: 1-128 and 1-255 bytes of "
                                          "text; values: JSON, at most 64 KiB)"};
  }
  return op;
}

Result<std::vector<Followed>> FollowingWithTags(store::Store& store, const PublicKey& who) {
  auto o = store.LoadCrdt(FollowsKey(who));
  if (!o.ok()) return o.error();
  std::vector<Followed> out;
  if (!*o) return out;
  const auto& set = std::get<crdt::SetState>((*o)->state);
  for (const std::string& e : set.Elements()) {
    auto j = nlohmann::json::parse(e, nullptr, false);
    if (!j.is_string()) continue;
    auto key = ParseAuthorId(j.get<std::string>());
    if (!key.ok()) continue;
    // The tags of the element FollowOp removes: the author id as a JSON string.
    out.push_back({*key, set.Tags(nlohmann::json(AuthorId(*key)).dump())});
  }
  return out;
}

Result<std::vector<PublicKey>> Following(store::Store& store, const PublicKey& who) {
  auto f = FollowingWithTags(store, who);
  if (!f.ok()) return f.error();
  std::vector<PublicKey> out;
  for (const Followed& x : *f) out.push_back(x.author);
  return out;
}

std::string ElemIdText(const crdt::ElemId& id) {
  return ToHex(id.entry) + ":" + std::to_string(id.index);
}

Result<crdt::Op> FollowOp(store::Store& store, const PublicKey& me, const PublicKey& author,
                          bool follow) {
  const std::string element = nlohmann::json(AuthorId(author)).dump();
  crdt::Op op;
  op.personal = true;
  op.name = std::string(kFollows);
  if (follow) {
    op.action = crdt::SetAdd{{element}};
    return op;
  }
  auto o = store.LoadCrdt(FollowsKey(me));
  if (!o.ok()) return o.error();
  std::vector<crdt::ElemId> tags;
  if (*o) tags = std::get<crdt::SetState>((*o)->state).Tags(element);
  if (tags.empty()) return Error{codes::kNotFound, "You do not follow " + AuthorId(author) + "."};
  if (tags.size() > crdt::kItemsMax) tags.resize(crdt::kItemsMax);
  op.action = crdt::SetRemove{element, std::move(tags)};
  return op;
}

nlohmann::json ObjectKeyJson(const crdt::ObjectKey& k) {
  nlohmann::json j = {{"type", crdt::TypeName(k.type)}, {"group", k.group}, {"name", k.name}};
  j["owner"] = k.owner == PublicKey{} ? nlohmann::json(nullptr) : nlohmann::json(AuthorId(k.owner));
  return j;
}

nlohmann::json StateJson(const store::CrdtObject& o) {
  nlohmann::json j = ObjectKeyJson(o.key);
  j["changed_by"] = ToHex(o.changed_by);
  // Each value twice: parsed, and as the exact bytes signed (a JSON string holding the JSON
  // text), which parsing may not keep (1e308 prints as 1e+308, -0 as 0, a repeated name is
  // dropped).
  if (const auto* m = std::get_if<crdt::MapState>(&o.state)) {
    nlohmann::json fields = nlohmann::json::object(), raw = nlohmann::json::object();
    for (const auto& [f, cell] : m->cells()) {
      if (!cell.value) continue;
      fields[f] = JsonOf(*cell.value);
      raw[f] = *cell.value;
    }
    j["fields"] = std::move(fields);
    j["raw_fields"] = std::move(raw);
  } else if (const auto* s = std::get_if<crdt::SetState>(&o.state)) {
    nlohmann::json elements = nlohmann::json::array(), raw = nlohmann::json::array(),
                   tags = nlohmann::json::array();
    for (const auto& e : s->Elements()) {
      elements.push_back(JsonOf(e));
      raw.push_back(e);
      nlohmann::json t = nlohmann::json::array();
      for (const crdt::ElemId& id : s->Tags(e)) t.push_back(ElemIdText(id));
      tags.push_back(std::move(t));
    }
    j["elements"] = std::move(elements);
    j["raw_elements"] = std::move(raw);
    j["tags"] = std::move(tags);
  } else if (const auto* q = std::get_if<crdt::SeqState>(&o.state)) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& [id, v] : q->Values()) {
      items.push_back({{"id", ElemIdText(id)}, {"value", JsonOf(v)}, {"raw", v}});
    }
    j["items"] = std::move(items);
  } else {
    j["value"] = std::get<crdt::CounterState>(o.state).value();
  }
  return j;
}

Result<std::vector<store::PostInfo>> TimelinePosts(store::Store& store, Timeline t,
                                                   const PublicKey& who, size_t limit) {
  if (t == Timeline::kPublic) return store.Latest(kinds::kPost, limit);
  if (t == Timeline::kAuthor) return store.PostsBy(who, limit);
  auto follows = Following(store, who);
  if (!follows.ok()) return follows.error();
  follows->push_back(who);
  std::vector<store::PostInfo> all;
  for (const PublicKey& a : *follows) {
    auto posts = store.PostsBy(a, limit);
    if (!posts.ok()) return posts.error();
    all.insert(all.end(), posts->begin(), posts->end());
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return std::tie(a.timestamp_ms, a.id) > std::tie(b.timestamp_ms, b.id);
  });
  all.erase(std::unique(all.begin(), all.end(),
                        [](const auto& a, const auto& b) { return a.id == b.id; }),
            all.end());
  if (all.size() > limit) all.resize(limit);
  return all;
}

nlohmann::json TimelineJson(store::Store& store, const std::vector<store::PostInfo>& posts) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& p : posts) {
    auto slug = SlugOf(store, p);
    list.push_back({{"id", ToHex(p.id)},
                    {"author", AuthorId(p.author)},
                    {"group", p.group},
                    {"title", p.title},
                    {"timestamp_ms", p.timestamp_ms},
                    {"slug", slug.ok() ? *slug : Slug(p.title)}});
  }
  return list;
}

namespace {

std::string Suffixed(const store::PostInfo& p) {
  return Slug(p.title) + "-" + ToHex(ByteSpan(p.id).first(4));
}

// Whether a precedes b in (timestamp, id) order.
bool Earlier(const store::PostInfo& a, const store::PostInfo& b) {
  return std::tie(a.timestamp_ms, a.id) < std::tie(b.timestamp_ms, b.id);
}

// The id head of a suffixed slug "BASE-XXXXXXXX" (8 lower-case hex digits), and BASE.
std::optional<std::pair<std::string_view, store::Store::IdHead>> SplitSuffix(
    std::string_view slug) {
  constexpr size_t kSuffix = 9;  // '-' and 8 hex digits.
  if (slug.size() <= kSuffix || slug[slug.size() - kSuffix] != '-') return std::nullopt;
  const std::string_view hex = slug.substr(slug.size() - kSuffix + 1);
  if (!std::all_of(hex.begin(), hex.end(),
                   [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
    return std::nullopt;
  }
  auto bytes = FromHex(hex);
  if (!bytes || bytes->size() != 4) return std::nullopt;
  store::Store::IdHead head;
  std::copy(bytes->begin(), bytes->end(), head.begin());
  return std::pair(slug.substr(0, slug.size() - kSuffix), head);
}

}  // namespace

Result<std::optional<store::PostInfo>> PostBySlug(store::Store& store, const PublicKey& author,
                                                  std::string_view slug) {
  // The first post (timestamp, id) whose slug is `slug`, or whose slug with its id's suffix
  // is: one indexed lookup each, among all the author's posts.
  auto bare = store.FirstPostWithSlug(author, slug);
  if (!bare.ok()) return bare.error();
  auto split = SplitSuffix(slug);
  if (!split) return *bare;
  auto suffixed = store.FirstPostWithSlug(author, split->first, split->second);
  if (!suffixed.ok()) return suffixed.error();
  if (!*bare) return *suffixed;
  if (*suffixed && Earlier(**suffixed, **bare)) return *suffixed;
  return *bare;
}

Result<std::string> SlugOf(store::Store& store, const store::PostInfo& post) {
  const std::string slug = Slug(post.title);
  auto owner = store.FirstPostWithSlug(post.author, slug);
  if (!owner.ok()) return owner.error();
  // The slug's owner, or a post this node has not indexed (yet): the bare slug.
  if (!*owner || (*owner)->id == post.id || Earlier(post, **owner)) return slug;
  return Suffixed(post);
}

}  // namespace pando::model
