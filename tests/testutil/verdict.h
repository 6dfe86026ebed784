// The verdict of a node on one arriving entry, as docs/entry-vectors.md ("Refused vectors")
// states it: tools/gen_vectors.cc prints the refused vectors with it and
// tests/store/refused_vectors_test.cc checks the page's cases with it.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "core/entry.h"
#include "store/store.h"
#include "testutil/feed.h"

namespace pando::testing {

// The code a node gives `bytes`: Entry::Decode's, else that of Store::Add at now_ms into a
// fresh store that holds `stored` (when given); "OK" if the entry is accepted.
inline std::string_view EntryVerdict(ByteSpan bytes, const std::optional<Bytes>& stored,
                                     int64_t now_ms) {
  auto e = Entry::Decode(bytes);
  if (!e.ok()) return e.code();
  TempDir dir;
  auto store = store::Store::Open(store::StoreOptions{dir.path() + "/pando.db"});
  if (!store.ok()) return store.code();
  if (stored) {
    auto s = Entry::Decode(*stored);
    if (!s.ok()) return s.code();
    if (Status st = (*store)->Add(std::span(&*s, 1), now_ms).front(); !st.ok()) return st.code();
  }
  const Status st = (*store)->Add(std::span(&*e, 1), now_ms).front();
  return st.ok() ? std::string_view("OK") : st.code();
}

}  // namespace pando::testing
