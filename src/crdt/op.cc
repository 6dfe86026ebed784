#include "crdt/op.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/byte_reader.h"
#include "core/error_codes.h"
#include "core/limits.h"
#include "core/post.h"

namespace pando::crdt {
namespace {

// Action numbers on the wire, per type (docs/crdt.md, "Encoding").
constexpr uint8_t kMapUpdateAction = 1;
constexpr uint8_t kSetAddAction = 1;
constexpr uint8_t kSetRemoveAction = 2;
constexpr uint8_t kSeqInsertAction = 1;
constexpr uint8_t kSeqDeleteAction = 2;
constexpr uint8_t kCounterAddAction = 1;
constexpr uint8_t kPersonalFlag = 1;
constexpr Hlc kHlcLimit = Hlc{1} << 63;

Error Bad(const std::string& what) {
  return Error{codes::kBadOperation, "The CRDT operation is invalid: " + what + "."};
}

// UTF-8 without control characters (C0 and DEL): names and map fields.
bool IsPlainText(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return IsUtf8(s);
}

// An element id: the entry id and the index inside its operation.
constexpr size_t kElemIdBytes = 32 + 2;

ElemId ReadId(ByteReader& r) {
  ElemId id;
  r.Read(id.entry);
  id.index = r.U16();
  return id;
}

// A count of items: 1..kItemsMax.
bool Count(ByteReader& r, uint16_t* n) {
  *n = r.U16();
  return r.ok() && *n >= 1 && *n <= kItemsMax;
}

Result<std::string> Value(ByteReader& r) {
  const ByteSpan v = r.Prefixed32(kValueBytesMax);
  if (!r.ok()) return Bad("a value is cut short");
  if (Status s = CheckValue(AsString(v)); !s.ok()) return s.error();
  return std::string(AsString(v));
}

Result<std::vector<ElemId>> Ids(ByteReader& r) {
  uint16_t n = 0;
  if (!Count(r, &n)) return Bad("an element count is not 1.." + std::to_string(kItemsMax));
  if (r.remaining() < n * kElemIdBytes) return Bad("an element id is cut short");
  std::vector<ElemId> ids(n);
  for (auto& id : ids) id = ReadId(r);
  return ids;
}

Result<std::vector<std::string>> Values(ByteReader& r) {
  uint16_t n = 0;
  if (!Count(r, &n)) return Bad("a value count is not 1.." + std::to_string(kItemsMax));
  std::vector<std::string> out;
  out.reserve(n);
  for (uint16_t i = 0; i < n; ++i) {
    auto v = Value(r);
    if (!v.ok()) return v.error();
    out.push_back(std::move(*v));
  }
  return out;
}

Result<Action> DecodeAction(Type type, uint8_t action, ByteReader& r) {
  switch (type) {
    case Type::kMap: {
      if (action != kMapUpdateAction) break;
      uint16_t n = 0;
      if (!Count(r, &n)) return Bad("a field count is not 1.." + std::to_string(kItemsMax));
      MapUpdate u;
      u.fields.resize(n);
      for (uint16_t i = 0; i < n; ++i) {
        MapField& f = u.fields[i];
        const ByteSpan field = r.Prefixed8(kFieldBytesMax);
        const uint8_t has = r.U8();
        if (!r.ok() || field.empty() || has > 1) return Bad("a map field is cut short or empty");
        f.field.assign(AsString(field));
        if (!IsPlainText(f.field)) return Bad("a map field is not UTF-8 text");
        if (i > 0 && !(u.fields[i - 1].field < f.field)) {
          return Bad("map fields are not in strictly increasing order");
        }
        if (has) {
          auto v = Value(r);
          if (!v.ok()) return v.error();
          f.value = std::move(*v);
        }
      }
      return Action(std::move(u));
    }
    case Type::kSet:
      if (action == kSetAddAction) {
        auto v = Values(r);
        if (!v.ok()) return v.error();
        return Action(SetAdd{std::move(*v)});
      }
      if (action == kSetRemoveAction) {
        SetRemove rm;
        auto v = Value(r);
        if (!v.ok()) return v.error();
        rm.element = std::move(*v);
        auto ids = Ids(r);
        if (!ids.ok()) return ids.error();
        rm.tags = std::move(*ids);
        return Action(std::move(rm));
      }
      break;
    case Type::kSeq:
      if (action == kSeqInsertAction) {
        SeqInsert ins;
        const uint8_t has = r.U8();
        if (!r.ok() || has > 1) return Bad("the insert position is cut short");
        if (has) {
          ins.after = ReadId(r);
          if (!r.ok()) return Bad("the insert position is cut short");
        }
        auto v = Values(r);
        if (!v.ok()) return v.error();
        ins.values = std::move(*v);
        return Action(std::move(ins));
      }
      if (action == kSeqDeleteAction) {
        auto ids = Ids(r);
        if (!ids.ok()) return ids.error();
        return Action(SeqDelete{std::move(*ids)});
      }
      break;
    case Type::kCounter:
      if (action == kCounterAddAction) {
        const uint64_t d = r.U64();
        if (!r.ok()) return Bad("the counter delta is cut short");
        if (d == 0) return Bad("a counter delta of zero");
        return Action(CounterAdd{static_cast<int64_t>(d)});
      }
      break;
  }
  return Bad("action " + std::to_string(action) + " is not defined for a " +
             std::string(TypeName(type)));
}

void PutStr32(Bytes& out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  Append(out, AsBytes(s));
}
void PutId(Bytes& out, const ElemId& id) {
  Append(out, id.entry);
  PutU16(out, id.index);
}
void PutIds(Bytes& out, const std::vector<ElemId>& ids) {
  PutU16(out, static_cast<uint16_t>(ids.size()));
  for (const auto& id : ids) PutId(out, id);
}
void PutValues(Bytes& out, const std::vector<std::string>& values) {
  PutU16(out, static_cast<uint16_t>(values.size()));
  for (const auto& v : values) PutStr32(out, v);
}

struct ActionCode {
  uint8_t operator()(const MapUpdate&) const { return kMapUpdateAction; }
  uint8_t operator()(const SetAdd&) const { return kSetAddAction; }
  uint8_t operator()(const SetRemove&) const { return kSetRemoveAction; }
  uint8_t operator()(const SeqInsert&) const { return kSeqInsertAction; }
  uint8_t operator()(const SeqDelete&) const { return kSeqDeleteAction; }
  uint8_t operator()(const CounterAdd&) const { return kCounterAddAction; }
};

}  // namespace

std::string_view TypeName(Type t) {
  switch (t) {
    case Type::kMap:
      return "map";
    case Type::kSet:
      return "set";
    case Type::kSeq:
      return "seq";
    case Type::kCounter:
      return "counter";
  }
  return "";
}

std::optional<Type> ParseType(std::string_view name) {
  for (Type t : {Type::kMap, Type::kSet, Type::kSeq, Type::kCounter}) {
    if (TypeName(t) == name) return t;
  }
  return std::nullopt;
}

Hlc HlcNext(Hlc last, int64_t now_ms) {
  const Hlc wall = now_ms > 0 ? HlcFromMs(now_ms) : 0;
  return std::max(wall, last + 1);
}

Type Op::type() const {
  switch (action.index()) {
    case 0:
      return Type::kMap;
    case 1:
    case 2:
      return Type::kSet;
    case 3:
    case 4:
      return Type::kSeq;
    default:
      return Type::kCounter;
  }
}

namespace {
// The deepest nesting of arrays and objects in `text`, counted outside strings. Values are
// re-encoded recursively wherever they are shown, so their depth is bounded (kValueDepthMax)
// before any parser or printer sees them.
size_t NestingDepth(std::string_view text) {
  size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}
}  // namespace

Status CheckValue(std::string_view text) {
  if (text.size() > kValueBytesMax) {
    return Bad("a value is over " + std::to_string(kValueBytesMax) + " bytes");
  }
  if (!IsUtf8(text)) return Bad("a value is not UTF-8");
  // Before any parser sees it: nlohmann's parser keeps its nesting on the heap, but the
  // values it builds are walked recursively.
  if (NestingDepth(text) > kValueDepthMax) {
    return Bad("a value nests arrays and objects more than " + std::to_string(kValueDepthMax) +
               " deep");
  }
  // nlohmann's parser follows RFC 8259's grammar, refuses an unpaired surrogate escape and a
  // number that rounds to an infinite double (and takes one that rounds to zero), but stops
  // at a NUL byte and skips a byte order mark, neither of which belongs in a JSON text. The
  // golden values of docs/crdt.md pin all of this.
  if (text.find('\0') != std::string_view::npos || text.starts_with("\xEF\xBB\xBF") ||
      !nlohmann::json::accept(text)) {
    return Bad(
        "a value is not one JSON text (RFC 8259, with surrogate escapes in pairs and "
        "numbers within the range of a double)");
  }
  return Status::Ok();
}

Hlc HlcForWrite(Hlc seen, int64_t now_ms) {
  // A clock read from someone else's operation may run up to twice the skew ahead; an
  // entry stamped that far ahead would be refused, so such readings count only up to half
  // the skew ahead of now.
  const Hlc cap = HlcFromMs(now_ms + limits::kFutureSkewMsMax / 2);
  return HlcNext(std::min(seen, cap), now_ms);
}

Result<Op> DecodeOp(ByteSpan payload) {
  ByteReader r(payload);
  Op op;
  const uint8_t format = r.U8();
  const uint8_t type = r.U8();
  const uint8_t action = r.U8();
  const uint8_t flags = r.U8();
  op.hlc = r.U64();
  const uint8_t name_len = r.U8();
  if (!r.ok()) return Bad("the header is cut short");
  if (format != kOpFormat) return Bad("format " + std::to_string(format) + " is not 1");
  if (type < 1 || type > 4) return Bad("type " + std::to_string(type) + " is unknown");
  if ((flags & ~kPersonalFlag) != 0) return Bad("unknown flags are set");
  if (op.hlc >= kHlcLimit) return Bad("the clock reading is 2^63 or more");
  const bool name_len_ok = name_len >= 1 && name_len <= kNameBytesMax;
  if (name_len_ok) op.name.assign(AsString(r.Take(name_len)));
  if (!name_len_ok || !r.ok() || !IsPlainText(op.name)) {
    return Bad("the object name is not 1.." + std::to_string(kNameBytesMax) +
               " bytes of UTF-8 text");
  }
  op.personal = (flags & kPersonalFlag) != 0;
  auto a = DecodeAction(static_cast<Type>(type), action, r);
  if (!a.ok()) return a.error();
  op.action = std::move(*a);
  if (!r.AtEnd()) return Bad("bytes follow the operation");
  return op;
}

Status CheckOp(const Op& op) {
  Bytes b = EncodeOp(op);
  auto back = DecodeOp(b);
  if (!back.ok()) return back.error();
  return Status::Ok();
}

Bytes EncodeOp(const Op& op) {
  Bytes out;
  out.push_back(kOpFormat);
  out.push_back(static_cast<uint8_t>(op.type()));
  out.push_back(std::visit(ActionCode{}, op.action));
  out.push_back(op.personal ? kPersonalFlag : 0);
  PutU64(out, op.hlc);
  out.push_back(static_cast<uint8_t>(std::min(op.name.size(), size_t{255})));
  Append(out, AsBytes(op.name));
  if (const auto* u = std::get_if<MapUpdate>(&op.action)) {
    PutU16(out, static_cast<uint16_t>(u->fields.size()));
    for (const auto& f : u->fields) {
      out.push_back(static_cast<uint8_t>(std::min(f.field.size(), size_t{255})));
      Append(out, AsBytes(f.field));
      out.push_back(f.value ? 1 : 0);
      if (f.value) PutStr32(out, *f.value);
    }
  } else if (const auto* a = std::get_if<SetAdd>(&op.action)) {
    PutValues(out, a->elements);
  } else if (const auto* rm = std::get_if<SetRemove>(&op.action)) {
    PutStr32(out, rm->element);
    PutIds(out, rm->tags);
  } else if (const auto* ins = std::get_if<SeqInsert>(&op.action)) {
    out.push_back(ins->after ? 1 : 0);
    if (ins->after) PutId(out, *ins->after);
    PutValues(out, ins->values);
  } else if (const auto* del = std::get_if<SeqDelete>(&op.action)) {
    PutIds(out, del->elements);
  } else {
    PutU64(out, static_cast<uint64_t>(std::get<CounterAdd>(op.action).delta));
  }
  return out;
}

}  // namespace pando::crdt
