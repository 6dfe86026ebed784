#include "crdt/state.h"

#include <algorithm>
#include <cstring>

#include "core/error_codes.h"
#include "core/kinds.h"
#include "core/limits.h"

namespace pando::crdt {
namespace {

// Sibling order in a sequence: descending (clock, entry id, index).
bool Before(Hlc ha, const ElemId& a, Hlc hb, const ElemId& b) {
  return std::tie(ha, a) > std::tie(hb, b);
}

std::string Short(const Hash32& id) { return ToHex(ByteSpan(id).first(8)); }

std::string IdText(const ElemId& id) { return Short(id.entry) + ":" + std::to_string(id.index); }

}  // namespace

size_t ElemIdHash::operator()(const ElemId& id) const {
  uint64_t h = 0;
  std::memcpy(&h, id.entry.data(), sizeof h);
  return static_cast<size_t>(h ^ (uint64_t{id.index} * 0x9e3779b97f4a7c15ULL));
}

size_t HashOfHash::operator()(const Hash32& id) const {
  uint64_t h = 0;
  std::memcpy(&h, id.data(), sizeof h);
  return static_cast<size_t>(h);
}

// --- Map ---------------------------------------------------------------------------------

bool MapState::Apply(const Stamp& stamp, const MapField& field) {
  auto [it, inserted] = cells_.try_emplace(field.field);
  if (!inserted && !(it->second.stamp < stamp)) return false;
  it->second.stamp = stamp;
  it->second.value = field.value;
  return true;
}

void MapState::Apply(const Stamp& stamp, const MapUpdate& update) {
  for (const auto& f : update.fields) Apply(stamp, f);
}

std::optional<std::string> MapState::Get(const std::string& field) const {
  auto it = cells_.find(field);
  if (it == cells_.end()) return std::nullopt;
  return it->second.value;
}

// --- Set ---------------------------------------------------------------------------------

void SetState::Add(const ElemId& tag, const std::string& element) {
  if (removed_.count({element, tag})) return;
  live_[element].insert(tag);
}

void SetState::Remove(const SetRemove& remove) {
  auto it = live_.find(remove.element);
  for (const auto& tag : remove.tags) {
    removed_.insert({remove.element, tag});
    if (it != live_.end()) it->second.erase(tag);
  }
  if (it != live_.end() && it->second.empty()) live_.erase(it);
}

bool SetState::Contains(const std::string& element) const { return live_.count(element) > 0; }

std::vector<ElemId> SetState::Tags(const std::string& element) const {
  auto it = live_.find(element);
  if (it == live_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

std::vector<std::string> SetState::Elements() const {
  std::vector<std::string> out;
  out.reserve(live_.size());
  for (const auto& [e, tags] : live_) out.push_back(e);
  return out;
}

// --- Sequence ----------------------------------------------------------------------------

void SeqState::Link(std::vector<ElemId>& siblings, const ElemId& id, Hlc hlc) {
  auto pos = std::find_if(siblings.begin(), siblings.end(),
                          [&](const ElemId& s) { return Before(hlc, id, nodes_.at(s).hlc, s); });
  siblings.insert(pos, id);
}

void SeqState::Insert(const ElemId& id, const std::optional<ElemId>& parent, Hlc hlc,
                      std::string value) {
  {
    Node& n = At(id);
    if (n.present) return;
    n.present = true;
    n.hlc = hlc;
    n.value = std::move(value);
  }
  // At() may rehash, so the node is looked up again after the parent is made.
  std::vector<ElemId>& siblings = parent ? At(*parent).children : roots_;
  Link(siblings, id, hlc);
}

void SeqState::Insert(Hlc hlc, const Hash32& entry, const SeqInsert& insert) {
  std::optional<ElemId> parent = insert.after;
  for (size_t i = 0; i < insert.values.size(); ++i) {
    const ElemId id{entry, static_cast<uint16_t>(i)};
    Insert(id, parent, hlc, insert.values[i]);
    parent = id;
  }
}

void SeqState::Delete(const ElemId& id) { At(id).deleted = true; }

std::vector<std::pair<ElemId, std::string>> SeqState::Values() const {
  std::vector<std::pair<ElemId, std::string>> out;
  // Depth-first pre-order without recursion: a sequence typed one character after another
  // is a chain as deep as the text is long.
  std::vector<const ElemId*> stack;
  for (auto it = roots_.rbegin(); it != roots_.rend(); ++it) stack.push_back(&*it);
  while (!stack.empty()) {
    const ElemId* id = stack.back();
    stack.pop_back();
    const Node& n = nodes_.at(*id);
    if (!n.deleted) out.emplace_back(*id, n.value);
    for (auto it = n.children.rbegin(); it != n.children.rend(); ++it) stack.push_back(&*it);
  }
  return out;
}

// --- Replica -----------------------------------------------------------------------------

Status CheckClock(const Entry& e, const Op& op) {
  // HlcMs is below 2^47, so this cannot overflow (a timestamp near 2^63 could).
  if (HlcMs(op.hlc) - limits::kFutureSkewMsMax > e.timestamp_ms()) {
    return Error{codes::kBadOperation, "The CRDT operation's clock runs more than " +
                                           std::to_string(limits::kFutureSkewMsMax / 1000) +
                                           " s ahead of its entry's timestamp."};
  }
  return Status::Ok();
}

ObjectKey ObjectOf(const Entry& e, const Op& op) {
  ObjectKey k;
  k.group = std::string(e.group());
  if (op.personal) k.owner = e.author();
  k.type = op.type();
  k.name = op.name;
  return k;
}

Status Replica::Apply(const Entry& e) {
  if (e.kind() != kinds::kCrdt) {
    return Error{codes::kBadOperation, "The entry is not of kind crdt (3)."};
  }
  auto op = DecodeOp(e.payload());
  if (!op.ok()) return op.error();
  return Apply(e, *op);
}

Status Replica::Apply(const Entry& e, const Op& op) {
  PANDO_RETURN_IF_ERROR(CheckClock(e, op));
  if (!applied_.insert(e.id()).second) {
    return Error{codes::kDuplicate, "This operation was applied before."};
  }
  last_hlc_ = std::max(last_hlc_, op.hlc);
  const ObjectKey key = ObjectOf(e, op);
  const Stamp stamp{op.hlc, e.id()};
  if (const auto* u = std::get_if<MapUpdate>(&op.action)) {
    maps_[key].Apply(stamp, *u);
  } else if (const auto* a = std::get_if<SetAdd>(&op.action)) {
    SetState& s = sets_[key];
    for (size_t i = 0; i < a->elements.size(); ++i) {
      s.Add(ElemId{e.id(), static_cast<uint16_t>(i)}, a->elements[i]);
    }
  } else if (const auto* rm = std::get_if<SetRemove>(&op.action)) {
    sets_[key].Remove(*rm);
  } else if (const auto* ins = std::get_if<SeqInsert>(&op.action)) {
    seqs_[key].Insert(op.hlc, e.id(), *ins);
  } else if (const auto* del = std::get_if<SeqDelete>(&op.action)) {
    SeqState& s = seqs_[key];
    for (const auto& id : del->elements) s.Delete(id);
  } else {
    counters_[key].Add(std::get<CounterAdd>(op.action).delta);
  }
  return Status::Ok();
}

std::string DumpHeader(const ObjectKey& k) {
  const bool shared = k.owner == PublicKey{};
  return std::string(TypeName(k.type)) + " " + k.group + " " +
         (shared ? std::string("-") : AuthorId(k.owner)) + " " + k.name + "\n";
}

std::string DumpMap(const MapState& m) {
  std::string out;
  for (const auto& [field, cell] : m.cells()) {
    out += "  " + field + " = " + (cell.value ? *cell.value : std::string("(deleted)")) + " @" +
           std::to_string(cell.stamp.hlc) + "/" + Short(cell.stamp.entry) + "\n";
  }
  return out;
}

std::string DumpSet(const SetState& s) {
  std::string out;
  for (const auto& e : s.Elements()) {
    out += "  " + e + " x" + std::to_string(s.Tags(e).size()) + "\n";
  }
  return out;
}

std::string DumpSeq(const SeqState& s) {
  std::string out;
  for (const auto& [id, v] : s.Values()) out += "  " + IdText(id) + " " + v + "\n";
  return out;
}

std::string DumpCounter(const CounterState& c) { return "  " + std::to_string(c.value()) + "\n"; }

std::string Replica::Dump() const {
  // One list ordered by object key, whatever the type.
  std::map<ObjectKey, std::string> objects;
  for (const auto& [k, m] : maps_) objects[k] = DumpMap(m);
  for (const auto& [k, s] : sets_) objects[k] = DumpSet(s);
  for (const auto& [k, s] : seqs_) objects[k] = DumpSeq(s);
  for (const auto& [k, c] : counters_) objects[k] = DumpCounter(c);
  std::string out;
  for (const auto& [k, body] : objects) out += DumpHeader(k) + body;
  return out;
}

}  // namespace pando::crdt
