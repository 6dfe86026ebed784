// pando kv, pando follow, pando unfollow, pando timeline, pando profile: the data model
// (model/data.h). Through the running node when there is one (it signs with the same
// identity), else on the store directly.
#include <iostream>

#include "cli/common.h"
#include "core/error_codes.h"
#include "core/identity.h"
#include "crdt/op.h"
#include "model/data.h"

namespace pando::cli {
namespace {

namespace data = model;
using nlohmann::json;

// Percent-encodes a path segment.
std::string Segment(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Signs op in group without a running node: the next entry of the identity's feed, with a
// clock later than every operation in the store.
Entry SignOpLocally(Context& ctx, std::string group, crdt::Op op) {
  return Signer(ctx).PostOp(std::move(group), std::move(op));
}

std::string MapPath(const std::string& group, const std::string& map) {
  return "/api/v1/kv/" + Segment(group) + "/" + Segment(map);
}

std::string OwnerQuery(const std::string& owner) {
  return owner.empty() ? "" : "?owner=" + Segment(owner);
}

crdt::ObjectKey MapKeyOf(const std::string& group, const std::string& map,
                         const std::string& owner) {
  crdt::ObjectKey k{group, PublicKey{}, crdt::Type::kMap, map};
  if (!owner.empty()) k.owner = Check(ParseAuthorId(owner));
  return k;
}

// The JSON text a command-line value stands for: itself with --json, else a JSON string.
std::string ValueText(const std::string& value, bool as_json) {
  if (!as_json) return json(value).dump();
  auto j = json::parse(value, nullptr, false);
  if (j.is_discarded()) Fail(Error{codes::kBadArgument, "The value is not JSON (--json)."});
  return j.dump();
}

void AddKv(CLI::App& app, Context& ctx) {
  struct Args {
    std::string group, map = std::string(data::kDefaultMap), key, value, owner;
    bool json = false, personal = false;
  };
  auto args = std::make_shared<Args>();
  auto* kv = app.add_subcommand(
      "kv", "Key-value data: maps whose concurrent writes merge (last writer wins per key)");
  kv->require_subcommand(1);
  auto common = [&](CLI::App* c, bool write) {
    c->add_option("--group,-g", args->group, "The group the map lives in")->required();
    c->add_option("--map,-m", args->map, "The map's name")->capture_default_str();
    if (write) {
      c->add_flag("--personal", args->personal,
                  "Write your own map (only you can change it), not the shared one");
    } else {
      c->add_option("--owner", args->owner,
                    "Read this author's personal map (a pd... id), not the shared one");
    }
  };
  auto* set = kv->add_subcommand("set", "Set a key (prints the entry id)");
  common(set, true);
  set->add_option("key", args->key, "The key")->required();
  set->add_option("value", args->value, "The value: a string, or JSON with --json")->required();
  set->add_flag("--json", args->json, "The value is JSON (a number, object, ...)");
  auto* get = kv->add_subcommand("get", "Print a key's value (JSON)");
  common(get, false);
  get->add_option("key", args->key, "The key")->required();
  auto* del = kv->add_subcommand("del", "Delete a key (prints the entry id)");
  common(del, true);
  del->add_option("key", args->key, "The key")->required();
  auto* list = kv->add_subcommand("list", "Print every key and its value (JSON), one per line");
  common(list, false);

  auto write = [&ctx, args](std::optional<std::string> value) {
    if (auto node = ctx.RunningNode()) {
      const std::string path = MapPath(args->group, args->map) + "/" + Segment(args->key) +
                               (args->personal ? "?personal=1" : "");
      const json answer =
          value ? Check(node->Put(path, json::parse(*value))) : Check(node->Delete(path));
      std::cout << answer.value("id", "") << "\n";
      return;
    }
    crdt::Op op = Check(data::MapWrite(args->map, args->personal, {{args->key, value}}));
    std::cout << ToHex(SignOpLocally(ctx, args->group, std::move(op)).id()) << "\n";
  };
  set->callback([args, write] { write(ValueText(args->value, args->json)); });
  del->callback([write] { write(std::nullopt); });

  get->callback([&ctx, args] {
    if (auto node = ctx.RunningNode()) {
      // The value's bytes as signed, not the node's re-encoding of them.
      const json answer = Check(node->Get(MapPath(args->group, args->map) + "/" +
                                          Segment(args->key) + OwnerQuery(args->owner)));
      std::cout << answer.value("raw", "") << "\n";
      return;
    }
    auto store = Check(ctx.OpenStore(false));
    auto cell =
        Check(store->CrdtMapField(MapKeyOf(args->group, args->map, args->owner), args->key));
    if (!cell || !cell->value) {
      Fail(Error{codes::kNotFound, "The map has no key '" + args->key + "' (or it was deleted)."});
    }
    std::cout << *cell->value << "\n";
  });
  list->callback([&ctx, args] {
    // Each key's value as the bytes signed (raw_fields), in byte order of the keys.
    json raw;
    if (auto node = ctx.RunningNode()) {
      auto answer = node->Get(MapPath(args->group, args->map) + OwnerQuery(args->owner));
      if (!answer.ok() && answer.error().code == codes::kNotFound) return;
      raw = Check(std::move(answer))["raw_fields"];
    } else {
      auto store = Check(ctx.OpenStore(false));
      auto o = Check(store->LoadCrdt(MapKeyOf(args->group, args->map, args->owner)));
      if (!o) return;
      raw = data::StateJson(*o)["raw_fields"];
    }
    for (auto& [k, v] : raw.items()) std::cout << k << "\t" << v.get<std::string>() << "\n";
  });
}

void AddFollow(CLI::App& app, Context& ctx) {
  auto author = std::make_shared<std::string>();
  auto* follow = app.add_subcommand("follow",
                                    "Follow an author: their posts join your home "
                                    "timeline (prints the entry id)");
  follow->add_option("author", *author, "The author's id (pd...)")->required();
  auto* unfollow = app.add_subcommand("unfollow", "Stop following an author");
  unfollow->add_option("author", *author, "The author's id (pd...)")->required();
  auto* following = app.add_subcommand("following", "List the authors you follow");
  auto act = [&ctx, author](bool add) {
    const PublicKey who = Check(ParseAuthorId(*author));
    if (auto node = ctx.RunningNode()) {
      const json answer = add ? Check(node->Post("/api/v1/follows", {{"author", *author}}))
                              : Check(node->Delete("/api/v1/follows/" + *author));
      std::cout << answer.value("id", "") << "\n";
      return;
    }
    const KeyPair key = Check(LoadIdentity(ctx.DataDir()));
    crdt::Op op;
    {
      auto store = Check(ctx.OpenStore(/*create=*/true));
      op = Check(data::FollowOp(*store, key.public_key(), who, add));
    }
    std::cout << ToHex(SignOpLocally(ctx, std::string(data::kSocialGroup), std::move(op)).id())
              << "\n";
  };
  follow->callback([act] { act(true); });
  unfollow->callback([act] { act(false); });
  following->callback([&ctx] {
    const KeyPair key = Check(LoadIdentity(ctx.DataDir()));
    if (auto node = ctx.RunningNode()) {
      const json answer =
          Check(node->Get("/api/v1/authors/" + AuthorId(key.public_key()) + "/follows"));
      for (const auto& a : answer["follows"]) std::cout << a.get<std::string>() << "\n";
      return;
    }
    auto store = Check(ctx.OpenStore(false));
    for (const auto& k : Check(data::Following(*store, key.public_key()))) {
      std::cout << AuthorId(k) << "\n";
    }
  });
}

void AddTimeline(CLI::App& app, Context& ctx) {
  struct Args {
    std::string view = "home", author;
    size_t limit = 20;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd =
      app.add_subcommand("timeline",
                         "Show posts, newest first: home (yours and those you follow), public, or "
                         "one author's");
  cmd->add_option("--view,-v", args->view, "home, public or author")
      ->check(CLI::IsMember({"home", "public", "author"}))
      ->capture_default_str();
  cmd->add_option("--author,-a", args->author, "With --view author: whose posts (pd...)");
  cmd->add_option("--limit,-n", args->limit, "At most this many")
      ->check(CLI::Range(size_t{1}, size_t{100}))
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "One JSON object per line instead of text");
  cmd->callback([&ctx, args] {
    if (args->view == "author" && args->author.empty()) {
      Fail(Error{codes::kBadArgument, "--view author needs --author ID."});
    }
    PublicKey who = args->author.empty() ? Check(LoadIdentity(ctx.DataDir())).public_key()
                                         : Check(ParseAuthorId(args->author));
    json posts = json::array();
    if (auto node = ctx.RunningNode()) {
      posts = Check(node->Get("/api/v1/timeline?view=" + args->view + "&author=" + AuthorId(who) +
                              "&limit=" + std::to_string(args->limit)))["posts"];
    } else {
      auto store = Check(ctx.OpenStore(false));
      const auto view = args->view == "home"     ? data::Timeline::kHome
                        : args->view == "public" ? data::Timeline::kPublic
                                                 : data::Timeline::kAuthor;
      posts =
          data::TimelineJson(*store, Check(data::TimelinePosts(*store, view, who, args->limit)));
    }
    for (const auto& p : posts) {
      if (args->json) {
        std::cout << p.dump() << "\n";
        continue;
      }
      std::cout << FormatTime(p["timestamp_ms"].get<int64_t>()) << "  "
                << p["author"].get<std::string>().substr(0, 12) << "  "
                << p["title"].get<std::string>() << "  /a/" << p["author"].get<std::string>() << "/"
                << p["slug"].get<std::string>() << "\n";
    }
  });
}

void AddProfile(CLI::App& app, Context& ctx) {
  struct Args {
    std::string field, value, author;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("profile", "Your profile: fields such as name and bio");
  cmd->require_subcommand(1);
  auto* set = cmd->add_subcommand("set", "Set a field of your profile (prints the entry id)");
  set->add_option("field", args->field, "name, bio, url, ...")->required();
  set->add_option("value", args->value, "Its text")->required();
  auto* show = cmd->add_subcommand("show", "Print a profile's fields (JSON)");
  show->add_option("--author,-a", args->author, "Whose (pd...); yours by default");
  set->callback([&ctx, args] {
    if (auto node = ctx.RunningNode()) {
      std::cout << Check(node->Put("/api/v1/profile", {{args->field, args->value}})).value("id", "")
                << "\n";
      return;
    }
    crdt::Op op = Check(data::MapWrite(std::string(data::kProfile), true,
                                       {{args->field, json(args->value).dump()}}));
    std::cout << ToHex(SignOpLocally(ctx, std::string(data::kSocialGroup), std::move(op)).id())
              << "\n";
  });
  show->callback([&ctx, args] {
    const PublicKey who = args->author.empty() ? Check(LoadIdentity(ctx.DataDir())).public_key()
                                               : Check(ParseAuthorId(args->author));
    if (auto node = ctx.RunningNode()) {
      std::cout
          << Check(node->Get("/api/v1/authors/" + AuthorId(who) + "/profile"))["fields"].dump()
          << "\n";
      return;
    }
    auto store = Check(ctx.OpenStore(false));
    auto o = Check(store->LoadCrdt(data::ProfileKey(who)));
    std::cout << (o ? data::StateJson(*o)["fields"] : json::object()).dump() << "\n";
  });
}

}  // namespace

void AddData(CLI::App& app, Context& ctx) {
  AddKv(app, ctx);
  AddFollow(app, ctx);
  AddTimeline(app, ctx);
  AddProfile(app, ctx);
}

}  // namespace pando::cli
