// pando post: sign a new entry with the local identity and store it.
#include <iostream>
#include <iterator>

#include "cli/common.h"
#include "core/error_codes.h"
#include "core/kinds.h"
#include "core/post.h"

namespace pando::cli {

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
    const std::optional<uint16_t> kind = ParseKind(args->kind);
    CHECK(kind.has_value());  // The option's validator accepted it.
    if (args->announce && (*kind != kinds::kPost || args->group == "catalog")) {
      Fail(Error{codes::kBadArgument,
                 "--announce is for posts (kind post) in a group other than catalog."});
    }
    std::string text = args->text;
    if (text == "-") text.assign(std::istreambuf_iterator<char>(std::cin), {});
    Signer signer(ctx);
    EntryDraft draft;
    draft.group = args->group;
    draft.kind = *kind;
    draft.payload.assign(text.begin(), text.end());
    const Entry entry = signer.Post(std::move(draft));
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
    std::cout << ToHex(signer.Post(std::move(announce)).id()) << "\n";
  });
}

}  // namespace pando::cli
