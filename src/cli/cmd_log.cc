// pando log, pando show, pando forks: read the store.
#include <algorithm>
#include <iostream>
#include <set>

#include "cli/common.h"
#include "core/error_codes.h"
#include "core/kinds.h"

namespace pando::cli {
namespace {

std::set<PublicKey> ForkedAuthors(store::Store& store) {
  std::set<PublicKey> out;
  for (const auto& a : Check(store.Authors())) {
    if (a.forked) out.insert(a.key);
  }
  return out;
}

// The first max_bytes of a payload on one line: control characters replaced, and the cut
// moved back to a UTF-8 character boundary so a terminal never shows half a character.
std::string OneLine(ByteSpan payload, size_t max_bytes) {
  size_t cut = std::min(max_bytes, payload.size());
  if (cut < payload.size()) {
    while (cut > 0 && (payload[cut] & 0xC0) == 0x80) --cut;  // Inside a multi-byte char.
  }
  std::string s(AsString(payload).substr(0, cut));
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  if (payload.size() > cut) s += "...";
  return s;
}

}  // namespace

void AddLog(CLI::App& app, Context& ctx) {
  struct Args {
    std::string group, author;
    size_t limit = 0;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "log", "Show stored entries in log order (timestamp, then id), the order every node shows");
  cmd->add_option("--group,-g", args->group, "Only this group");
  cmd->add_option("--author,-a", args->author, "Only this author (a pd... id)");
  cmd->add_option("--limit,-n", args->limit, "Show at most this many (the newest)")
      ->check(CLI::Range(size_t{0}, size_t{1'000'000'000}));
  cmd->add_flag("--json", args->json, "One JSON object per line instead of text");
  cmd->callback([&ctx, args] {
    std::vector<Entry> entries;
    std::set<PublicKey> forked;
    if (auto node = ctx.RunningNode()) {
      if (!args->author.empty()) Check(ParseAuthorId(args->author));
      // The node answers in pages (docs/api.md): newest first up to --limit, or the whole
      // log in log order, following each page's `next` cursor.
      const std::string base = "/api/v1/log?group=" + args->group + "&author=" + args->author;
      std::string cursor;
      do {
        const size_t want =
            args->limit > 0 ? std::min<size_t>(args->limit - entries.size(), 1000) : 0;
        std::string path = base + "&limit=" + std::to_string(want);
        if (!cursor.empty()) path += (args->limit > 0 ? "&before=" : "&after=") + cursor;
        const nlohmann::json answer = Check(node->Get(path));
        for (const auto& hex : answer["entries"]) {
          auto bytes = FromHex(hex.get<std::string>());
          if (!bytes) Fail(Error{codes::kMalformed, "The node sent an entry that is not hex."});
          entries.push_back(Check(Entry::Decode(*bytes)));
        }
        for (const auto& a : answer["forked_authors"]) {
          forked.insert(Check(ParseAuthorId(a.get<std::string>())));
        }
        cursor = answer.contains("next") ? answer["next"].get<std::string>() : "";
      } while (!cursor.empty() && (args->limit == 0 || entries.size() < args->limit));
    } else {
      auto store = Check(ctx.OpenStore(/*create=*/false));
      store::LogQuery q;
      if (!args->group.empty()) q.group = args->group;
      if (!args->author.empty()) q.author = Check(ParseAuthorId(args->author));
      q.limit = args->limit;
      q.newest_first = args->limit > 0;
      entries = Check(store->Log(q));
      forked = ForkedAuthors(*store);
    }
    if (args->limit > 0) std::reverse(entries.begin(), entries.end());
    for (const Entry& e : entries) {
      const bool is_forked = forked.count(e.author()) > 0;
      if (args->json) {
        std::cout << EntryJson(e, is_forked)
                         .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                  << "\n";
        continue;
      }
      std::string kind(KindName(e.kind()));
      if (kind.empty()) kind = std::to_string(e.kind());
      std::cout << FormatTime(e.timestamp_ms()) << "  " << ToHex(e.id()).substr(0, 12) << "  "
                << AuthorId(e.author()).substr(0, 12) << (is_forked ? " [FORKED]" : "") << "  "
                << e.group() << "#" << e.seq() << "  " << kind << "  " << OneLine(e.payload(), 60)
                << "\n";
    }
    if (!args->json && entries.empty()) std::cout << "(no entries)\n";
  });
}

void AddShow(CLI::App& app, Context& ctx) {
  struct Args {
    std::string id;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("show", "Show one entry in full");
  cmd->add_option("id", args->id, "Entry id, or a prefix of at least 4 hex digits")->required();
  cmd->add_flag("--json", args->json, "Print JSON");
  cmd->callback([&ctx, args] {
    auto store = Check(ctx.OpenStore(/*create=*/false));
    Entry e = ResolveEntry(*store, args->id);
    const bool is_forked = ForkedAuthors(*store).count(e.author()) > 0;
    auto j = EntryJson(e, is_forked);
    if (args->json) {
      std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      return;
    }
    std::cout << "id         " << j["id"].get<std::string>() << "\n"
              << "author     " << j["author"].get<std::string>()
              << (is_forked ? "  [FORKED: this author signed two entries with one seq]" : "")
              << "\n"
              << "group      " << e.group() << "\n"
              << "seq        " << e.seq() << "\n"
              << "prev       " << j["prev"].get<std::string>() << "\n"
              << "time       " << FormatTime(e.timestamp_ms()) << " UTC (" << e.timestamp_ms()
              << ")\n"
              << "kind       " << e.kind() << " " << KindName(e.kind()) << "\n"
              << "signature  " << j["signature"].get<std::string>() << "\n"
              << "size       " << e.bytes().size() << " bytes\n\n";
    if (j.contains("payload")) {
      std::cout << j["payload"].get<std::string>() << "\n";
    } else {
      std::cout << "(binary payload, hex) " << j["payload_hex"].get<std::string>() << "\n";
    }
  });
}

void AddForks(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("forks", "List stored fork proofs (authors this node refuses)");
  cmd->callback([&ctx] {
    auto store = Check(ctx.OpenStore(/*create=*/false));
    auto proofs = Check(store->ForkProofs());
    for (const ForkProof& p : proofs) {
      std::cout << AuthorId(p.author()) << "  group " << p.a.front().group() << "  seq " << p.seq()
                << "  " << ToHex(p.a.front().id()).substr(0, 12) << " vs "
                << ToHex(p.b.front().id()).substr(0, 12) << "\n";
    }
    if (proofs.empty()) std::cout << "(no fork proofs)\n";
  });
}

}  // namespace pando::cli
