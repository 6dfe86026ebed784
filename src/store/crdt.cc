// The store's CRDT state: the writer's side (CrdtApplier) and the reader's queries.
#include "store/crdt.h"

#include "core/error_codes.h"
#include "core/kinds.h"
#include "store/store.h"

namespace pando::store {
namespace {

// A shared object's owner column is the empty blob.
ByteSpan OwnerBytes(const crdt::ObjectKey& k) {
  return k.owner == PublicKey{} ? ByteSpan() : ByteSpan(k.owner);
}

int64_t I64(uint64_t v) { return static_cast<int64_t>(v); }

Error Damaged(std::string_view what) {
  return Error{codes::kStore, "The store holds a damaged CRDT row: " + std::string(what) +
                                  "; run `pando verify`."};
}

}  // namespace

// --- The writer's side -----------------------------------------------------------------

Result<std::unique_ptr<CrdtApplier>> CrdtApplier::Prepare(Db& db) {
  std::unique_ptr<CrdtApplier> a(new CrdtApplier(db));
  auto prep = [&](std::optional<Stmt>& slot, std::string_view sql) -> Status {
    auto s = db.Prepare(sql);
    if (!s.ok()) return s.error();
    slot.emplace(std::move(s).value());
    return Status::Ok();
  };
  PANDO_RETURN_IF_ERROR(prep(a->sel_index_, "SELECT upto, hlc_max FROM crdt_index"));
  PANDO_RETURN_IF_ERROR(prep(a->upd_index_, "UPDATE crdt_index SET upto=?, hlc_max=?"));
  PANDO_RETURN_IF_ERROR(prep(a->sel_obj_,
                             "SELECT obj_ref FROM crdt_objects WHERE group_ref=? AND owner=? "
                             "AND type=? AND name=?"));
  PANDO_RETURN_IF_ERROR(prep(a->ins_obj_,
                             "INSERT INTO crdt_objects(group_ref, owner, type, name, changed) "
                             "VALUES(?,?,?,?,?)"));
  PANDO_RETURN_IF_ERROR(prep(a->upd_obj_, "UPDATE crdt_objects SET changed=? WHERE obj_ref=?"));
  PANDO_RETURN_IF_ERROR(prep(a->sel_counter_, "SELECT counter FROM crdt_objects WHERE obj_ref=?"));
  PANDO_RETURN_IF_ERROR(prep(a->upd_counter_, "UPDATE crdt_objects SET counter=? WHERE obj_ref=?"));
  // MapState::Apply as an upsert: the write is kept when its (clock, entry id) is greater.
  PANDO_RETURN_IF_ERROR(
      prep(a->upsert_map_,
           "INSERT INTO crdt_map(obj_ref, field, hlc, entry, value) "
           "VALUES(?,?,?,?,?) ON CONFLICT(obj_ref, field) DO UPDATE SET "
           "hlc=excluded.hlc, entry=excluded.entry, value=excluded.value "
           "WHERE (excluded.hlc, excluded.entry) > (crdt_map.hlc, crdt_map.entry)"));
  PANDO_RETURN_IF_ERROR(prep(a->add_set_,
                             "INSERT INTO crdt_set VALUES(?,?,?,?,1,0) ON CONFLICT DO UPDATE SET "
                             "added=1"));
  PANDO_RETURN_IF_ERROR(prep(a->rm_set_,
                             "INSERT INTO crdt_set VALUES(?,?,?,?,0,1) ON CONFLICT DO UPDATE SET "
                             "removed=1"));
  PANDO_RETURN_IF_ERROR(prep(a->ins_seq_,
                             "INSERT INTO crdt_seq VALUES(?,?,?,?,?,?,?,0) ON CONFLICT DO UPDATE "
                             "SET parent_entry=excluded.parent_entry, "
                             "parent_index=excluded.parent_index, hlc=excluded.hlc, "
                             "value=excluded.value WHERE crdt_seq.value IS NULL"));
  PANDO_RETURN_IF_ERROR(prep(a->del_seq_,
                             "INSERT INTO crdt_seq VALUES(?,?,?,NULL,NULL,0,NULL,1) "
                             "ON CONFLICT DO UPDATE SET deleted=1"));
  return a;
}

Status CrdtApplier::Load() {
  auto row = sel_index_->Step();
  if (row.ok() && *row) {
    upto_ = sel_index_->Int(0);
    hlc_max_ = static_cast<crdt::Hlc>(sel_index_->Int(1));
  }
  sel_index_->Reset();
  if (!row.ok()) return row.error();
  return Status::Ok();
}

Status CrdtApplier::Save(int64_t upto) {
  upto_ = std::max(upto_, upto);
  return upd_index_->Bind(1, upto_).Bind(2, I64(hlc_max_)).Run();
}

Status CrdtApplier::Clear() {
  PANDO_RETURN_IF_ERROR(
      db_.Exec("DELETE FROM crdt_map; DELETE FROM crdt_set; DELETE FROM crdt_seq; "
               "DELETE FROM crdt_objects; UPDATE crdt_index SET upto=0, hlc_max=0"));
  upto_ = 0;
  hlc_max_ = 0;
  applied_ = 0;
  return Status::Ok();
}

Result<int64_t> CrdtApplier::Object(const crdt::ObjectKey& key, int64_t group_ref, int64_t ref) {
  const auto type = static_cast<int64_t>(key.type);
  sel_obj_->Bind(1, group_ref).Bind(2, OwnerBytes(key)).Bind(3, type).Bind(4, key.name);
  auto row = sel_obj_->Step();
  const int64_t obj = row.ok() && *row ? sel_obj_->Int(0) : 0;
  sel_obj_->Reset();
  if (!row.ok()) return row.error();
  if (obj != 0) {
    PANDO_RETURN_IF_ERROR(upd_obj_->Bind(1, ref).Bind(2, obj).Run());
    return obj;
  }
  ins_obj_->Bind(1, group_ref).Bind(2, OwnerBytes(key)).Bind(3, type).Bind(4, key.name);
  PANDO_RETURN_IF_ERROR(ins_obj_->Bind(5, ref).Run());
  return db_.LastInsertRowid();
}

Status CrdtApplier::Apply(int64_t ref, const Entry& e, int64_t group_ref) {
  auto op = crdt::DecodeOp(e.payload());
  if (!op.ok() || !crdt::CheckClock(e, *op).ok()) return Status::Ok();
  auto obj = Object(crdt::ObjectOf(e, *op), group_ref, ref);
  if (!obj.ok()) return obj.error();
  ++applied_;
  hlc_max_ = std::max(hlc_max_, op->hlc);
  const ByteSpan id(e.id());
  auto run_ids = [&](Stmt& s, const std::vector<crdt::ElemId>& ids, auto bind_rest) -> Status {
    for (const auto& t : ids) {
      s.Bind(1, *obj);
      bind_rest(s, t);
      PANDO_RETURN_IF_ERROR(s.Run());
    }
    return Status::Ok();
  };
  if (const auto* u = std::get_if<crdt::MapUpdate>(&op->action)) {
    for (const auto& f : u->fields) {
      upsert_map_->Bind(1, *obj).Bind(2, f.field).Bind(3, I64(op->hlc)).Bind(4, id);
      if (f.value) {
        upsert_map_->Bind(5, *f.value);
      } else {
        upsert_map_->BindNull(5);
      }
      PANDO_RETURN_IF_ERROR(upsert_map_->Run());
    }
  } else if (const auto* a = std::get_if<crdt::SetAdd>(&op->action)) {
    for (size_t i = 0; i < a->elements.size(); ++i) {
      add_set_->Bind(1, *obj).Bind(2, a->elements[i]).Bind(3, id).Bind(4, I64(i));
      PANDO_RETURN_IF_ERROR(add_set_->Run());
    }
  } else if (const auto* rm = std::get_if<crdt::SetRemove>(&op->action)) {
    PANDO_RETURN_IF_ERROR(run_ids(*rm_set_, rm->tags, [&](Stmt& s, const crdt::ElemId& t) {
      s.Bind(2, rm->element).Bind(3, ByteSpan(t.entry)).Bind(4, int64_t{t.index});
    }));
  } else if (const auto* ins = std::get_if<crdt::SeqInsert>(&op->action)) {
    std::optional<crdt::ElemId> parent = ins->after;
    for (size_t i = 0; i < ins->values.size(); ++i) {
      ins_seq_->Bind(1, *obj).Bind(2, id).Bind(3, I64(i));
      if (parent) {
        ins_seq_->Bind(4, ByteSpan(parent->entry)).Bind(5, int64_t{parent->index});
      } else {
        ins_seq_->BindNull(4).BindNull(5);
      }
      ins_seq_->Bind(6, I64(op->hlc)).Bind(7, ins->values[i]);
      PANDO_RETURN_IF_ERROR(ins_seq_->Run());
      parent = crdt::ElemId{e.id(), static_cast<uint16_t>(i)};
    }
  } else if (const auto* del = std::get_if<crdt::SeqDelete>(&op->action)) {
    PANDO_RETURN_IF_ERROR(run_ids(*del_seq_, del->elements, [&](Stmt& s, const crdt::ElemId& t) {
      s.Bind(2, ByteSpan(t.entry)).Bind(3, int64_t{t.index});
    }));
  } else {
    // CounterState::Add: SQLite would turn an overflowing sum into a REAL, so the wrapping
    // addition happens here.
    sel_counter_->Bind(1, *obj);
    auto row = sel_counter_->Step();
    crdt::CounterState c;
    if (row.ok() && *row) c.Add(sel_counter_->Int(0));
    sel_counter_->Reset();
    if (!row.ok()) return row.error();
    c.Add(std::get<crdt::CounterAdd>(op->action).delta);
    PANDO_RETURN_IF_ERROR(upd_counter_->Bind(1, c.value()).Bind(2, *obj).Run());
  }
  return Status::Ok();
}

// --- The reader's side -----------------------------------------------------------------

namespace {

// Columns: obj_ref, group name, owner, type, name, counter, changed entry id.
constexpr std::string_view kObjectColumns =
    "SELECT o.obj_ref, g.name, o.owner, o.type, o.name, o.counter, "
    "(SELECT id FROM entries WHERE entry_ref=o.changed) "
    "FROM crdt_objects o JOIN groups g USING (group_ref) ";

Result<CrdtObjectInfo> ObjectRow(Stmt& s) {
  CrdtObjectInfo info;
  info.key.group = s.Text(1);
  ByteSpan owner = s.Blob(2);
  if (owner.size() == 32) {
    std::copy(owner.begin(), owner.end(), info.key.owner.begin());
  } else if (!owner.empty()) {
    return Damaged("an owner is not a key");
  }
  const int64_t type = s.Int(3);
  if (type < 1 || type > 4) return Damaged("an object type is unknown");
  info.key.type = static_cast<crdt::Type>(type);
  info.key.name = s.Text(4);
  if (auto id = s.Blob32(6)) info.changed_by = *id;
  return info;
}

// A map cell from the columns hlc, entry, value starting at column `first`.
Result<crdt::MapState::Cell> CellAt(Stmt& s, int first) {
  auto entry = s.Blob32(first + 1);
  if (!entry) return Damaged("a map entry id is not 32 bytes");
  crdt::MapState::Cell c{crdt::Stamp{static_cast<crdt::Hlc>(s.Int(first)), *entry}, std::nullopt};
  if (!s.IsNull(first + 2)) c.value = s.Text(first + 2);
  return c;
}

std::optional<crdt::ElemId> ElemAt(Stmt& s, int entry_col, int index_col) {
  auto id = s.Blob32(entry_col);
  if (!id) return std::nullopt;
  return crdt::ElemId{*id, static_cast<uint16_t>(s.Int(index_col))};
}

// Steps s to its end, calling f on each row; resets s.
template <typename F>
Status EachRow(Stmt& s, F f) {
  Status out;
  while (out.ok()) {
    auto row = s.Step();
    if (!row.ok()) out = row.error();
    if (!row.ok() || !*row) break;
    out = f(s);
  }
  s.Reset();
  return out;
}

}  // namespace

Result<std::vector<CrdtObjectInfo>> Store::FindCrdt(const CrdtQuery& q) {
  std::string sql(kObjectColumns);
  sql += "WHERE 1";
  if (q.group) sql += " AND g.name=?1";
  if (q.owner) sql += " AND o.owner=?2";
  if (q.type) sql += " AND o.type=?3";
  if (q.name) sql += " AND o.name=?4";
  sql += " ORDER BY g.name, o.owner, o.type, o.name";
  if (q.limit) sql += " LIMIT " + std::to_string(q.limit);
  MutexLock lock(&read_mu_);
  auto s = reader_->Prepare(sql);
  if (!s.ok()) return s.error();
  if (q.group) s->Bind(1, *q.group);
  if (q.owner) s->Bind(2, *q.owner == PublicKey{} ? ByteSpan() : ByteSpan(*q.owner));
  if (q.type) s->Bind(3, static_cast<int64_t>(*q.type));
  if (q.name) s->Bind(4, *q.name);
  std::vector<CrdtObjectInfo> out;
  PANDO_RETURN_IF_ERROR(EachRow(*s, [&](Stmt& st) -> Status {
    auto info = ObjectRow(st);
    if (!info.ok()) return info.error();
    out.push_back(std::move(*info));
    return Status::Ok();
  }));
  return out;
}

Result<std::optional<CrdtObject>> Store::LoadCrdt(const crdt::ObjectKey& key) {
  MutexLock lock(&read_mu_);
  auto sel = Prepared(crdt_object_, std::string(kObjectColumns) +
                                        "WHERE g.name=? AND o.owner=? AND o.type=? AND o.name=?");
  if (!sel.ok()) return sel.error();
  Stmt& s = **sel;
  s.Bind(1, key.group).Bind(2, OwnerBytes(key)).Bind(3, static_cast<int64_t>(key.type));
  s.Bind(4, key.name);
  std::optional<CrdtObject> out;
  int64_t obj = 0, counter = 0;
  PANDO_RETURN_IF_ERROR(EachRow(s, [&](Stmt& st) -> Status {
    auto info = ObjectRow(st);
    if (!info.ok()) return info.error();
    obj = st.Int(0);
    counter = st.Int(5);
    out = CrdtObject{std::move(info->key), info->changed_by, crdt::MapState()};
    return Status::Ok();
  }));
  if (!out) return out;
  Status loaded;
  switch (key.type) {
    case crdt::Type::kMap: {
      crdt::MapState m;
      auto rows =
          Prepared(crdt_map_rows_, "SELECT field, hlc, entry, value FROM crdt_map WHERE obj_ref=?");
      if (!rows.ok()) return rows.error();
      (*rows)->Bind(1, obj);
      loaded = EachRow(**rows, [&](Stmt& st) -> Status {
        auto cell = CellAt(st, 1);
        if (!cell.ok()) return cell.error();
        m.Apply(cell->stamp, crdt::MapField{st.Text(0), std::move(cell->value)});
        return Status::Ok();
      });
      out->state = std::move(m);
      break;
    }
    case crdt::Type::kSet: {
      crdt::SetState set;
      auto rows = Prepared(crdt_set_rows_,
                           "SELECT element, tag_entry, tag_index FROM crdt_set "
                           "WHERE obj_ref=? AND added=1 AND removed=0");
      if (!rows.ok()) return rows.error();
      (*rows)->Bind(1, obj);
      loaded = EachRow(**rows, [&](Stmt& st) -> Status {
        auto tag = ElemAt(st, 1, 2);
        if (!tag) return Damaged("a set tag is not 32 bytes");
        set.Add(*tag, st.Text(0));
        return Status::Ok();
      });
      out->state = std::move(set);
      break;
    }
    case crdt::Type::kSeq: {
      crdt::SeqState seq;
      auto rows = Prepared(crdt_seq_rows_,
                           "SELECT elem_entry, elem_index, parent_entry, parent_index, hlc, "
                           "value, deleted FROM crdt_seq WHERE obj_ref=?");
      if (!rows.ok()) return rows.error();
      (*rows)->Bind(1, obj);
      loaded = EachRow(**rows, [&](Stmt& st) -> Status {
        auto id = ElemAt(st, 0, 1);
        if (!id) return Damaged("a sequence element id is not 32 bytes");
        if (!st.IsNull(5)) {
          seq.Insert(*id, ElemAt(st, 2, 3), static_cast<crdt::Hlc>(st.Int(4)), st.Text(5));
        }
        if (st.Int(6) != 0) seq.Delete(*id);
        return Status::Ok();
      });
      out->state = std::move(seq);
      break;
    }
    case crdt::Type::kCounter: {
      crdt::CounterState c;
      c.Add(counter);
      out->state = c;
      break;
    }
  }
  if (!loaded.ok()) return loaded.error();
  return out;
}

Result<std::optional<crdt::MapState::Cell>> Store::CrdtMapField(const crdt::ObjectKey& key,
                                                                std::string_view field) {
  MutexLock lock(&read_mu_);
  auto sel = Prepared(crdt_field_,
                      "SELECT m.hlc, m.entry, m.value FROM crdt_map m JOIN crdt_objects o "
                      "USING (obj_ref) WHERE o.group_ref=(SELECT group_ref FROM groups "
                      "WHERE name=?) AND o.owner=? AND o.type=1 AND o.name=? AND m.field=?");
  if (!sel.ok()) return sel.error();
  Stmt& s = **sel;
  s.Bind(1, key.group).Bind(2, OwnerBytes(key)).Bind(3, key.name).Bind(4, field);
  std::optional<crdt::MapState::Cell> out;
  PANDO_RETURN_IF_ERROR(EachRow(s, [&](Stmt& st) -> Status {
    auto cell = CellAt(st, 0);
    if (!cell.ok()) return cell.error();
    out = std::move(*cell);
    return Status::Ok();
  }));
  return out;
}

Result<crdt::Hlc> Store::CrdtLastHlc() {
  MutexLock lock(&read_mu_);
  auto s = reader_->Prepare("SELECT hlc_max FROM crdt_index");
  if (!s.ok()) return s.error();
  crdt::Hlc out = 0;
  PANDO_RETURN_IF_ERROR(EachRow(*s, [&](Stmt& st) -> Status {
    out = static_cast<crdt::Hlc>(st.Int(0));
    return Status::Ok();
  }));
  return out;
}

Result<std::string> Store::CrdtDump() {
  auto objects = FindCrdt(CrdtQuery{});
  if (!objects.ok()) return objects.error();
  std::map<crdt::ObjectKey, std::string> text;
  for (const auto& info : *objects) {
    auto o = LoadCrdt(info.key);
    if (!o.ok()) return o.error();
    if (!*o) continue;
    text[info.key] = std::visit(
        [](const auto& st) {
          using T = std::decay_t<decltype(st)>;
          if constexpr (std::is_same_v<T, crdt::MapState>) return crdt::DumpMap(st);
          if constexpr (std::is_same_v<T, crdt::SetState>) return crdt::DumpSet(st);
          if constexpr (std::is_same_v<T, crdt::SeqState>) return crdt::DumpSeq(st);
          if constexpr (std::is_same_v<T, crdt::CounterState>) return crdt::DumpCounter(st);
        },
        (*o)->state);
  }
  std::string out;
  for (const auto& [k, body] : text) out += crdt::DumpHeader(k) + body;
  return out;
}

}  // namespace pando::store
