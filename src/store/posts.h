// The store's index of posts and catalog records (docs/store.md, "Posts and search"): what
// the web UI lists and searches. Filled by the writer thread after its commits; read
// through Store::Latest, Store::PostsBy and Store::Search.
#pragma once

#include <cstdint>
#include <string>

#include "core/bytes.h"
#include "core/crypto.h"

namespace pando::store {

struct PostInfo {
  Hash32 id{};  // The entry: a post (kind 1) or a catalog record (kind 2).
  PublicKey author{};
  std::string group;
  int64_t timestamp_ms = 0;
  uint16_t kind = 0;
  std::string title;
  // Catalog records: the post they announce. Empty group for posts.
  std::string target_group;
  Hash32 target_id{};
  double rank = 0;  // Search results: bm25, lower is better.
};

// A user's search text as an FTS5 query: each word a quoted prefix term, all of them
// required. Empty when the text has no word. Never an FTS5 syntax error.
std::string SearchQuery(std::string_view text);

}  // namespace pando::store
