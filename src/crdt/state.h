// The merge rules of Pando's CRDTs (docs/crdt.md, "Merge rules"), as in-memory states.
//
// Each state is a deterministic function of the set of operations applied to it: any
// order of arrival, with any duplicates, gives the same state. The store keeps the same
// states as SQLite rows (store/crdt.cc) and uses these rules to merge them; Replica holds
// every object in memory (the property tests and the benchmark use it).
//
// Pure code: no I/O, no clock, no threads.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/entry.h"
#include "crdt/op.h"

namespace pando::crdt {

// The order of writes to one map field: the later clock wins, ties broken by the greater
// entry id (bytewise).
struct Stamp {
  Hlc hlc = 0;
  Hash32 entry{};
  auto operator<=>(const Stamp&) const = default;
};

struct ElemIdHash {
  size_t operator()(const ElemId& id) const;
};
struct HashOfHash {
  size_t operator()(const Hash32& h) const;
};

// Last writer wins per field. A deleted field keeps its stamp (a tombstone), so an older
// write arriving later does not bring it back.
class MapState {
 public:
  struct Cell {
    Stamp stamp;
    std::optional<std::string> value;  // nullopt: deleted.
  };
  // Merges one write; true if it won (the field now holds it).
  bool Apply(const Stamp& stamp, const MapField& field);
  void Apply(const Stamp& stamp, const MapUpdate& update);
  std::optional<std::string> Get(const std::string& field) const;
  const std::map<std::string, Cell>& cells() const { return cells_; }

 private:
  std::map<std::string, Cell> cells_;
};

// Add-wins set (an observed-remove set): an element is present while one of its add tags
// has not been removed. A remove names the tags it observed, so a concurrent add survives.
class SetState {
 public:
  void Add(const ElemId& tag, const std::string& element);
  void Remove(const SetRemove& remove);
  bool Contains(const std::string& element) const;
  // The live tags of an element: what a remove must name to take it out.
  std::vector<ElemId> Tags(const std::string& element) const;
  // Present elements in byte order.
  std::vector<std::string> Elements() const;

 private:
  std::map<std::string, std::set<ElemId>> live_;      // element -> tags not removed
  std::set<std::pair<std::string, ElemId>> removed_;  // (element, tag) tombstones
};

// Replicated Growable Array (Roh et al., "Replicated abstract data types", 2011), in its
// tree form: each element follows the element it was inserted after; the children of one
// element are ordered by descending (clock, id), and the sequence is the depth-first
// pre-order of that tree. Deleted elements stay as tombstones. An element whose parent
// has not arrived waits, unseen, until it does.
class SeqState {
 public:
  // Inserts one element (the store loads its rows this way). Idempotent.
  void Insert(const ElemId& id, const std::optional<ElemId>& parent, Hlc hlc, std::string value);
  void Insert(Hlc hlc, const Hash32& entry, const SeqInsert& insert);
  void Delete(const ElemId& id);
  // The visible elements in order.
  std::vector<std::pair<ElemId, std::string>> Values() const;
  size_t size() const { return nodes_.size(); }

 private:
  struct Node {
    bool present = false;  // false: only named as a parent or deleted so far
    bool deleted = false;
    Hlc hlc = 0;
    std::string value;
    std::vector<ElemId> children;  // ordered by descending (hlc, id)
  };
  Node& At(const ElemId& id) { return nodes_[id]; }
  void Link(std::vector<ElemId>& siblings, const ElemId& id, Hlc hlc);

  std::unordered_map<ElemId, Node, ElemIdHash> nodes_;
  std::vector<ElemId> roots_;  // children of the head, ordered as children
};

// The sum of every delta, modulo 2^64.
class CounterState {
 public:
  void Add(int64_t delta) { sum_ += static_cast<uint64_t>(delta); }
  int64_t value() const { return static_cast<int64_t>(sum_); }

 private:
  uint64_t sum_ = 0;
};

// Names one object: its group, its owner (all zero for a shared object), type and name.
struct ObjectKey {
  std::string group;
  PublicKey owner{};
  Type type = Type::kMap;
  std::string name;
  auto operator<=>(const ObjectKey&) const = default;
};

// Whether the op of entry `e` may apply: its clock must not run more than
// limits::kFutureSkewMsMax ahead of the entry's timestamp (so nobody wins every future
// write by claiming a far clock). Error: BAD_OPERATION.
Status CheckClock(const Entry& e, const Op& op);
// The object the op of entry e changes.
ObjectKey ObjectOf(const Entry& e, const Op& op);

// Every object of a set of entries, in memory.
class Replica {
 public:
  // Applies the operation a kind 3 entry carries. OK; DUPLICATE if this entry was applied
  // before (nothing changes); BAD_OPERATION if it carries no valid operation (ignored).
  Status Apply(const Entry& e);
  // The same for an entry already decoded; e must be the entry op came from.
  Status Apply(const Entry& e, const Op& op);

  const MapState* Map(const ObjectKey& k) const { return Find(maps_, k); }
  const SetState* Set(const ObjectKey& k) const { return Find(sets_, k); }
  const SeqState* Seq(const ObjectKey& k) const { return Find(seqs_, k); }
  const CounterState* Counter(const ObjectKey& k) const { return Find(counters_, k); }
  // The newest clock reading seen: where this replica's next write must start (HlcNext).
  Hlc last_hlc() const { return last_hlc_; }

  // Every object's visible state as canonical text (sorted, one line per item), for
  // comparing replicas.
  std::string Dump() const;

 private:
  template <typename M>
  static const typename M::mapped_type* Find(const M& m, const ObjectKey& k) {
    auto it = m.find(k);
    return it == m.end() ? nullptr : &it->second;
  }
  std::unordered_set<Hash32, HashOfHash> applied_;
  std::map<ObjectKey, MapState> maps_;
  std::map<ObjectKey, SetState> sets_;
  std::map<ObjectKey, SeqState> seqs_;
  std::map<ObjectKey, CounterState> counters_;
  Hlc last_hlc_ = 0;
};

// Canonical text of one object's state (what Replica::Dump prints per object).
std::string DumpMap(const MapState& m);
std::string DumpSet(const SetState& s);
std::string DumpSeq(const SeqState& s);
std::string DumpCounter(const CounterState& c);
// The header line of an object in a dump: "TYPE GROUP OWNER NAME" (OWNER "-" when shared).
std::string DumpHeader(const ObjectKey& k);

}  // namespace pando::crdt
