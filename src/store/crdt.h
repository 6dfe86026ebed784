// The store's CRDT state (docs/store.md, "CRDT state"): the objects of kind 3 entries as
// SQLite rows, kept by the writer thread after its commits (CrdtApplier) and read through
// Store::LoadCrdt and friends. The rows hold exactly what the states of crdt/state.h hold,
// and reads rebuild those states from them, so the merge rules live in one place
// (docs/crdt.md): the SQL below only keeps, per row, what MapState, SetState, SeqState and
// CounterState would keep.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <variant>

#include "core/entry.h"
#include "crdt/state.h"
#include "store/sqlite.h"

namespace pando::store {

// One object and its state.
struct CrdtObject {
  crdt::ObjectKey key;
  Hash32 changed_by{};  // The entry of the last operation applied to it.
  std::variant<crdt::MapState, crdt::SetState, crdt::SeqState, crdt::CounterState> state;
};

// An object's key and the entry that last changed it, as lists show them.
struct CrdtObjectInfo {
  crdt::ObjectKey key;
  Hash32 changed_by{};
};

// Applies kind 3 entries to the CRDT tables on the writer's connection, inside the
// writer's transaction. Used by the store's writer thread only.
class CrdtApplier {
 public:
  static Result<std::unique_ptr<CrdtApplier>> Prepare(Db& db);

  // The watermark and newest clock from crdt_index.
  Status Load();
  int64_t upto() const { return upto_; }
  // Applies the op of entry e (stored as entry_ref ref in group_ref). An entry without a
  // valid op (BAD_OPERATION) changes nothing and is not an error; only store failures are.
  Status Apply(int64_t ref, const Entry& e, int64_t group_ref);
  // Writes the watermark (every ref up to `upto` applied) and the newest clock.
  Status Save(int64_t upto);
  // Deletes every object and sets the watermark to 0: the next passes apply every entry.
  Status Clear();
  int64_t applied() const { return applied_; }

 private:
  explicit CrdtApplier(Db& db) : db_(db) {}
  Result<int64_t> Object(const crdt::ObjectKey& key, int64_t group_ref, int64_t ref);

  Db& db_;
  int64_t upto_ = 0;
  crdt::Hlc hlc_max_ = 0;
  int64_t applied_ = 0;
  std::optional<Stmt> sel_index_, upd_index_, sel_obj_, ins_obj_, upd_obj_, sel_counter_,
      upd_counter_, upsert_map_, add_set_, rm_set_, ins_seq_, del_seq_;
};

}  // namespace pando::store
