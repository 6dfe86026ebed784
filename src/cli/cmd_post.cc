// pando post: sign a new entry with the local identity and store it.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <iostream>
#include <iterator>

#include "cli/common.h"
#include "core/error_codes.h"
#include "core/identity.h"
#include "core/kinds.h"
#include "core/post.h"

namespace pando::cli {

PostLock::PostLock(const std::string& dir) {
  const std::string path = dir + "/post.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0 || ::flock(fd_, LOCK_EX) != 0) {
    Fail(Error{codes::kIo, "Cannot lock " + path + "."});
  }
}

PostLock::~PostLock() {
  if (fd_ >= 0) ::close(fd_);
}

Entry SignAndStore(Context& ctx, const KeyPair& key, EntryDraft draft) {
  draft.timestamp_ms = NowMs();
  auto follow = [&](const FeedHead& head) {
    draft.seq = head.seq + 1;
    draft.prev = head.id;
    draft.timestamp_ms = std::max(draft.timestamp_ms, head.timestamp_ms);
  };
  if (auto node = ctx.RunningNode()) {
    const nlohmann::json head = Check(
        node->Get("/api/v1/head?author=" + AuthorId(key.public_key()) + "&group=" + draft.group));
    if (head.value("seq", uint64_t{0}) > 0) {
      FeedHead h;
      h.seq = head["seq"].get<uint64_t>();
      h.id = Check(ParseEntryId(head["id"].get<std::string>()));
      h.timestamp_ms = head["timestamp_ms"].get<int64_t>();
      follow(h);
    }
    Entry entry = Check(Entry::Sign(draft, key));
    Check(node->Post("/api/v1/entries", {{"entry", ToHex(entry.bytes())}}));
    return entry;
  }
  // An identity makes the directory a Pando home, so a missing store is created.
  auto store = Check(ctx.OpenStore(/*create=*/true));
  if (auto head = Check(store->Head(key.public_key(), draft.group))) follow(*head);
  Entry entry = Check(Entry::Sign(draft, key));
  Check(store->Add(std::span(&entry, 1), NowMs()).front());
  return entry;
}

void AddPost(CLI::App& app, Context& ctx) {
  struct Args {
    std::string group;
    std::string kind = "post";
    std::string text;
    bool announce = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("post", "Sign and store a new entry in a group");
  cmd->add_option("--group,-g", args->group, "Group to post to, e.g. blog.alice")->required();
  cmd->add_option("--kind,-k", args->kind,
                  "Entry kind: a name (post, raw, catalog) or a number 0-65535")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](const std::string& k) {
            return ParseKind(k) ? std::string() : "use post, raw, catalog or a number 0-65535";
          },
          "KIND"));
  cmd->add_flag("--announce,-a", args->announce,
                "Also post the post's catalog record, so every node lists it (kind post only)");
  cmd->add_option("text", args->text, "The payload, or - to read it from standard input")
      ->required();
  cmd->callback([&ctx, args] {
    const std::string dir = ctx.DataDir();
    KeyPair key = Check(LoadIdentity(dir));
    const std::optional<uint16_t> kind = ParseKind(args->kind);
    CHECK(kind.has_value());  // The option's validator accepted it.
    if (args->announce && (*kind != kinds::kPost || args->group == "catalog")) {
      Fail(Error{codes::kBadArgument,
                 "--announce is for posts (kind post) in a group other than catalog."});
    }
    std::string text = args->text;
    if (text == "-") text.assign(std::istreambuf_iterator<char>(std::cin), {});
    PostLock lock(dir);
    EntryDraft draft;
    draft.group = args->group;
    draft.kind = *kind;
    draft.payload.assign(text.begin(), text.end());
    const Entry entry = SignAndStore(ctx, key, draft);
    std::cout << ToHex(entry.id()) << "\n";
    if (!args->announce) return;
    // The catalog record: what lets every node list and find the post (docs/web.md).
    CatalogRecord record;
    record.title = PostTitle(text);
    record.group = args->group;
    record.entry = entry.id();
    EntryDraft announce;
    announce.group = "catalog";
    announce.kind = kinds::kCatalog;
    announce.payload = EncodeCatalogRecord(record);
    std::cout << ToHex(SignAndStore(ctx, key, announce).id()) << "\n";
  });
}

}  // namespace pando::cli
