// PostFeed: consecutive entries of one feed, of any kind, at chosen times: posts and catalog
// records for the tests of the post index and its views.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/crypto.h"
#include "core/entry.h"
#include "core/kinds.h"
#include "core/post.h"

namespace pando::testing {

class PostFeed {
 public:
  PostFeed(const KeyPair& key, std::string group) : key_(key), group_(std::move(group)) {}

  Entry Next(uint16_t kind, std::string_view payload, int64_t ts) {
    EntryDraft d;
    d.seq = seq_ + 1;
    d.prev = prev_;
    d.timestamp_ms = ts;
    d.group = group_;
    d.kind = kind;
    d.payload.assign(payload.begin(), payload.end());
    Entry e = Entry::Sign(d, key_).value();
    seq_ = e.seq();
    prev_ = e.id();
    entries_.push_back(e);
    return e;
  }
  Entry Post(std::string_view markdown, int64_t ts) { return Next(kinds::kPost, markdown, ts); }
  // A catalog record announcing `post` under `title`.
  Entry Catalog(const Entry& post, std::string title, int64_t ts) {
    const Bytes payload =
        EncodeCatalogRecord({std::move(title), std::string(post.group()), post.id()});
    return Next(kinds::kCatalog, AsString(payload), ts);
  }
  // Every entry made so far, in feed order.
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  KeyPair key_;
  std::string group_;
  uint64_t seq_ = 0;
  Hash32 prev_{};
  std::vector<Entry> entries_;
};

}  // namespace pando::testing
