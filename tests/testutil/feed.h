// Test helpers: deterministic keys and feeds of signed entries.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/entry.h"

namespace pando::testing {

inline KeyPair TestKey(uint8_t n) {
  Seed seed;
  seed.fill(n);
  return KeyPair::FromSeed(seed);
}

inline Entry SignOrDie(const EntryDraft& draft, const KeyPair& key) {
  auto e = Entry::Sign(draft, key);
  CHECK(e.ok());
  return std::move(e).value();
}

// Builds consecutive entries of one feed (author, group).
class FeedBuilder {
 public:
  FeedBuilder(const KeyPair& key, std::string group, int64_t start_ms = 1'700'000'000'000)
      : key_(key), group_(std::move(group)), ts_(start_ms) {}

  Entry Next(std::string_view text = "hello") {
    EntryDraft d;
    d.seq = seq_ + 1;
    d.prev = prev_;
    d.timestamp_ms = ts_++;
    d.group = group_;
    d.kind = 1;
    d.payload.assign(text.begin(), text.end());
    Entry e = Entry::Sign(d, key_).value();
    seq_ = e.seq();
    prev_ = e.id();
    return e;
  }
  // An entry for seq `seq` with the given prev, not advancing the builder (forks, gaps).
  Entry At(uint64_t seq, const Hash32& prev, std::string_view text) {
    EntryDraft d;
    d.seq = seq;
    d.prev = prev;
    d.timestamp_ms = ts_;
    d.group = group_;
    d.kind = 1;
    d.payload.assign(text.begin(), text.end());
    return Entry::Sign(d, key_).value();
  }
  std::vector<Entry> Take(size_t n) {
    std::vector<Entry> out;
    for (size_t i = 0; i < n; ++i) out.push_back(Next("entry " + std::to_string(seq_ + 1)));
    return out;
  }

 private:
  KeyPair key_;
  std::string group_;
  int64_t ts_;
  uint64_t seq_ = 0;
  Hash32 prev_{};
};

// The same entry with one signature bit flipped, so its own signature no longer verifies.
inline Entry WithBadSignature(const Entry& e) {
  Bytes raw = e.bytes();
  raw[raw.size() - 64] ^= 1;
  Entry bad = Entry::Decode(raw).value();
  CHECK(!VerifyEntrySignature(bad).ok());
  return bad;
}

// A temporary directory removed when the object dies.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pando-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace pando::testing
