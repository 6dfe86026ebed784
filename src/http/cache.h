// Caches of the HTTP port's reads (docs/web.md, "Caching"): what a page or an API answer
// would otherwise compute again on every request, on the node's one event-loop thread.
//
// TextCache is a least-recently-used map from strings to strings bounded by bytes. ReadCaches
// groups the server's three: rendered Markdown and entry answers by entry id (entries are
// immutable, so these never go stale), and whole page bodies, which are valid for one
// version of the store only (Store::DataVersion).
//
// Thread safety: none. A Context owns its ReadCaches and uses them on the event loop only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace pando::http {

class TextCache {
 public:
  // Bytes an entry costs besides its key and value (list node, map node, string headers).
  static constexpr size_t kEntryOverheadBytes = 128;

  explicit TextCache(size_t bytes_max) : bytes_max_(bytes_max) {}
  TextCache(const TextCache&) = delete;
  TextCache& operator=(const TextCache&) = delete;

  // The value kept for key, now the most recently used; nullptr if none. The pointer is
  // valid until the next Put or Clear.
  const std::string* Get(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) {
      ++misses_;
      return nullptr;
    }
    ++hits_;
    lru_.splice(lru_.begin(), lru_, it->second);
    return &it->second->second;
  }

  // Keeps value for key (replacing an older one), then drops the least recently used
  // entries until the cache is within bytes_max. A value larger than that is not kept.
  void Put(std::string key, std::string value) {
    Erase(key);
    const size_t cost = Cost(key, value);
    if (cost > bytes_max_) return;
    lru_.emplace_front(std::move(key), std::move(value));
    index_.emplace(lru_.front().first, lru_.begin());
    bytes_ += cost;
    while (bytes_ > bytes_max_) Erase(lru_.back().first);
  }

  void Clear() {
    index_.clear();
    lru_.clear();
    bytes_ = 0;
  }

  size_t size() const { return lru_.size(); }
  size_t bytes() const { return bytes_; }
  size_t bytes_max() const { return bytes_max_; }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  using Item = std::pair<std::string, std::string>;

  static size_t Cost(const std::string& key, const std::string& value) {
    return key.size() + value.size() + kEntryOverheadBytes;
  }

  // Lookups by string_view without building a std::string.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  void Erase(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) return;
    bytes_ -= Cost(it->second->first, it->second->second);
    auto item = it->second;
    index_.erase(it);
    lru_.erase(item);
  }

  const size_t bytes_max_;
  size_t bytes_ = 0;
  uint64_t hits_ = 0, misses_ = 0;
  std::list<Item> lru_;  // Most recently used first.
  std::unordered_map<std::string, std::list<Item>::iterator, KeyHash, std::equal_to<>> index_;
};

// The caches of one server. Sizes: a rendered post is at most a few times its 64 KiB text,
// a front page about 11 KB; together at most 48 MiB per node.
struct ReadCaches {
  static constexpr size_t kMarkdownBytesMax = size_t{16} << 20;
  static constexpr size_t kEntryBytesMax = size_t{16} << 20;
  static constexpr size_t kPageBytesMax = size_t{16} << 20;

  TextCache markdown{kMarkdownBytesMax};  // Post HTML by entry id (32 raw bytes).
  TextCache entries{kEntryBytesMax};      // GET /api/v1/entries/ID bodies by entry id.
  TextCache pages{kPageBytesMax};         // Page bodies by target, for pages_version only.
  uint64_t pages_version = 0;             // The store's DataVersion the pages were made at.
};

}  // namespace pando::http
