// Pando's data model on top of the CRDT state (docs/api.md, "Data model"): profiles,
// follows, timelines, key-value maps and post slugs. Shared by the HTTP API and the CLI
// (which reads a store directly when no node runs).
//
//  - A profile is the personal map "profile" of an author in the catalog group (which every
//    node carries): fields such as name, bio, url, each a JSON value.
//  - Follows are the personal add-wins set "follows" in the catalog group; its elements are
//    author ids as JSON strings.
//  - Key-value data is a map in any group: shared (anyone may write a key; last writer
//    wins) or personal (only its author writes).
//  - Timelines: public (the newest posts this node holds), per author, and home (the posts
//    of the authors one follows, and one's own).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/post.h"
#include "crdt/op.h"
#include "crdt/state.h"
#include "store/store.h"

namespace pando::model {

inline constexpr std::string_view kSocialGroup = "catalog";
inline constexpr std::string_view kProfile = "profile";
inline constexpr std::string_view kFollows = "follows";
inline constexpr std::string_view kDefaultMap = "kv";

crdt::ObjectKey ProfileKey(const PublicKey& author);
crdt::ObjectKey FollowsKey(const PublicKey& author);

// An op that writes (value) or deletes (nullopt) fields of a map. Fields are sorted here.
// Errors (BAD_ARGUMENT): a value that is not JSON, a bad field or map name.
Result<crdt::Op> MapWrite(std::string map, bool personal,
                          std::vector<std::pair<std::string, std::optional<std::string>>> fields);
// The op that makes `me` follow (or stop following) `author`: an add, or a remove of every
// tag of `author` in me's follows set. Unfollowing someone not followed: NOT_FOUND.
Result<crdt::Op> FollowOp(store::Store& store, const PublicKey& me, const PublicKey& author,
                          bool follow);
// The authors `who` follows, in byte order of their ids.
Result<std::vector<PublicKey>> Following(store::Store& store, const PublicKey& who);
// The same, each with the live add tags of its element (the author id as a JSON string) in
// who's follows set: the tags an unfollow names (FollowOp does; a browser signing its own
// remove reads them from GET /api/v1/authors/{author}/follows).
struct Followed {
  PublicKey author;
  std::vector<crdt::ElemId> tags;
};
Result<std::vector<Followed>> FollowingWithTags(store::Store& store, const PublicKey& who);

// An element id as text: "ENTRY_ID_HEX:INDEX".
std::string ElemIdText(const crdt::ElemId& id);

// An object's state as JSON: {"type","group","owner","name","changed_by", and "fields" and
// "raw_fields" (map: {field: value} and {field: raw}), "elements", "raw_elements" and "tags"
// (set: [value], [raw] and for each element in the same order its live add tags as
// ["ENTRY_ID_HEX:INDEX", ...]), "items" (seq: [{"id","value","raw"}]) or "value" (counter)}.
// A value is JSON; its raw is a string holding the value's exact bytes as signed
// (docs/api.md, "Values and their bytes").
nlohmann::json StateJson(const store::CrdtObject& o);
nlohmann::json ObjectKeyJson(const crdt::ObjectKey& k);

enum class Timeline { kPublic, kAuthor, kHome };
// Newest first. kAuthor: `who`'s posts; kHome: the posts of those `who` follows and its own.
Result<std::vector<store::PostInfo>> TimelinePosts(store::Store& store, Timeline t,
                                                   const PublicKey& who, size_t limit);

// Timeline posts as the API and `pando timeline --json` show them: id, author, group, title,
// timestamp_ms and slug (SlugOf; Slug of the title if the store cannot say).
nlohmann::json TimelineJson(store::Store& store, const std::vector<store::PostInfo>& posts);

// A post's slug (core/post.h): its title in lower case, ASCII letters and digits kept, every
// other run of characters one '-', at most 60 bytes; "post" when nothing is left.
using pando::Slug;
// An author's post by slug: of the author's posts whose slug is `slug`, or whose slug
// followed by '-' and the first 8 hex digits of its id is `slug` (what later posts with the
// same slug are linked as), the first in (timestamp, id) order. Every post of the author
// this node holds counts, so nodes holding the same entries answer alike.
Result<std::optional<store::PostInfo>> PostBySlug(store::Store& store, const PublicKey& author,
                                                  std::string_view slug);
// The slug to link a post by: Slug(title) for the author's first post with that slug in
// (timestamp, id) order, Slug(title), '-' and 8 hex digits of its id for every later one.
Result<std::string> SlugOf(store::Store& store, const store::PostInfo& post);

}  // namespace pando::model
