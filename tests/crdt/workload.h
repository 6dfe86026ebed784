// Random CRDT workloads for tests and benchmarks: authors that write operations on a few
// shared and personal objects, each from what its own replica has seen.
#pragma once

#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/entry.h"
#include "core/kinds.h"
#include "crdt/op.h"
#include "crdt/state.h"

namespace pando::testing {

// One author's feed of crdt entries in one group.
class OpFeed {
 public:
  OpFeed(const KeyPair& key, std::string group, int64_t start_ms)
      : key_(key), group_(std::move(group)), ts_(start_ms) {}

  // Signs the next entry carrying op; the op's clock is set from `seen` (HlcNext).
  Entry Next(crdt::Op op, crdt::Hlc seen, int64_t advance_ms = 1) {
    ts_ += advance_ms;
    op.hlc = crdt::HlcNext(seen, ts_);
    EntryDraft d;
    d.seq = seq_ + 1;
    d.prev = prev_;
    d.timestamp_ms = ts_;
    d.group = group_;
    d.kind = kinds::kCrdt;
    d.payload = crdt::EncodeOp(op);
    Entry e = Entry::Sign(d, key_).value();
    seq_ = e.seq();
    prev_ = e.id();
    return e;
  }
  const KeyPair& key() const { return key_; }
  const std::string& group() const { return group_; }

 private:
  KeyPair key_;
  std::string group_;
  int64_t ts_;
  uint64_t seq_ = 0;
  Hash32 prev_{};
};

// A random operation, chosen from what `r` (the writer's own replica) holds, so removes
// name observed tags and inserts and deletes name elements that exist. Values are short
// JSON texts from a small alphabet, so writes collide often.
inline crdt::Op RandomOp(std::mt19937_64& rng, const crdt::Replica& r, const std::string& group,
                         const PublicKey& author) {
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  auto value = [&] { return "\"" + std::string(1, static_cast<char>('a' + pick(6))) + "\""; };
  crdt::Op op;
  op.personal = pick(4) == 0;
  const int kind = static_cast<int>(pick(4));
  op.name = "obj" + std::to_string(pick(2));
  crdt::ObjectKey key{group, op.personal ? author : PublicKey{}, crdt::Type::kMap, op.name};
  switch (kind) {
    case 0: {
      crdt::MapUpdate u;
      std::map<std::string, std::optional<std::string>> fields;
      const size_t n = 1 + pick(3);
      for (size_t i = 0; i < n; ++i) {
        std::string f = "f" + std::to_string(pick(5));
        fields[f] = pick(5) == 0 ? std::nullopt : std::optional<std::string>(value());
      }
      for (auto& [f, v] : fields) u.fields.push_back({f, v});
      op.action = u;
      break;
    }
    case 1: {
      key.type = crdt::Type::kSet;
      const crdt::SetState* s = r.Set(key);
      const std::string elem = value();
      if (s && s->Contains(elem) && pick(2) == 0) {
        op.action = crdt::SetRemove{elem, s->Tags(elem)};
      } else {
        op.action = crdt::SetAdd{{elem}};
      }
      break;
    }
    case 2: {
      key.type = crdt::Type::kSeq;
      const crdt::SeqState* s = r.Seq(key);
      auto visible = s ? s->Values() : std::vector<std::pair<crdt::ElemId, std::string>>();
      if (!visible.empty() && pick(3) == 0) {
        op.action = crdt::SeqDelete{{visible[pick(visible.size())].first}};
      } else {
        crdt::SeqInsert ins;
        if (!visible.empty() && pick(4) != 0) ins.after = visible[pick(visible.size())].first;
        const size_t n = 1 + pick(3);
        for (size_t i = 0; i < n; ++i) ins.values.push_back(value());
        op.action = ins;
      }
      break;
    }
    default: {
      const int64_t d = static_cast<int64_t>(pick(21)) - 10;
      op.action = crdt::CounterAdd{d == 0 ? 1 : d};
      break;
    }
  }
  return op;
}

}  // namespace pando::testing
