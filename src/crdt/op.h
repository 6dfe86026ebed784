// CRDT operations: the payload of a kind 3 (`crdt`) entry (docs/crdt.md, "Encoding").
//
// Each entry carries exactly one operation on one object. An object is named by its group,
// its owner (the entry's author for a personal object; nobody for a shared one), its type
// and its name. The operation's id is the entry's id; elements an operation creates (set
// adds, sequence inserts) are named by (entry id, index within the operation).
//
// Pure code: no I/O, no clock. DecodeOp is a decoder of bytes from the network and has a
// libFuzzer target (fuzz/crdt_op_fuzz.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/error.h"

namespace pando::crdt {

inline constexpr uint8_t kOpFormat = 1;

enum class Type : uint8_t { kMap = 1, kSet = 2, kSeq = 3, kCounter = 4 };
// "map", "set", "seq", "counter".
std::string_view TypeName(Type t);
std::optional<Type> ParseType(std::string_view name);

// Limits of one operation (docs/crdt.md, "Limits").
inline constexpr size_t kNameBytesMax = 128;     // Object names: 1..128 bytes.
inline constexpr size_t kFieldBytesMax = 255;    // Map fields: 1..255 bytes.
inline constexpr size_t kValueBytesMax = 65536;  // A value: a JSON text of at most 64 KiB.
inline constexpr size_t kValueDepthMax = 64;     // Arrays and objects nested in a value.
inline constexpr size_t kItemsMax = 1024;        // Fields, elements or tags in one operation.

// A hybrid logical clock reading: milliseconds since the Unix epoch in the high 48 bits, a
// logical counter in the low 16 (Kulkarni et al., "Logical Physical Clocks", 2014).
// Always below 2^63, so it fits SQLite's INTEGER.
using Hlc = uint64_t;
inline constexpr Hlc HlcFromMs(int64_t ms) { return static_cast<Hlc>(ms) << 16; }
inline constexpr int64_t HlcMs(Hlc h) { return static_cast<int64_t>(h >> 16); }
// The next reading of a clock that last read `last`, at wall time now_ms: later than both
// `last` and every reading it has seen (the caller folds those into `last`).
Hlc HlcNext(Hlc last, int64_t now_ms);
// The clock for a new local write, given the newest reading seen: HlcNext, except that
// readings more than half of limits::kFutureSkewMsMax ahead of now are not followed, so the
// entry carrying the write (stamped at least at the clock's milliseconds) is not refused
// as from the future. Such a far reading may then win over this write (docs/crdt.md).
Hlc HlcForWrite(Hlc seen, int64_t now_ms);

// An element made by an operation: the entry's id and the index inside the operation.
struct ElemId {
  Hash32 entry{};
  uint16_t index = 0;
  auto operator<=>(const ElemId&) const = default;
};

// Map: a partial update. Fields are in strictly increasing byte order; a field without a
// value is deleted.
struct MapField {
  std::string field;
  std::optional<std::string> value;  // A JSON text.
};
struct MapUpdate {
  std::vector<MapField> fields;
};
// Add-wins set: add elements (each gets the tag (entry id, index)), or remove an element
// by the add tags its author had observed. A concurrent add, unobserved, survives.
struct SetAdd {
  std::vector<std::string> elements;  // JSON texts.
};
struct SetRemove {
  std::string element;
  std::vector<ElemId> tags;
};
// Sequence (RGA): insert a run of values after `after` (nullopt: at the head); value i gets
// the id (entry id, i) and follows value i-1. Delete marks elements as removed.
struct SeqInsert {
  std::optional<ElemId> after;
  std::vector<std::string> values;  // JSON texts.
};
struct SeqDelete {
  std::vector<ElemId> elements;
};
// Counter: add a (non-zero) delta; the value is the sum of every delta, modulo 2^64.
struct CounterAdd {
  int64_t delta = 0;
};

using Action = std::variant<MapUpdate, SetAdd, SetRemove, SeqInsert, SeqDelete, CounterAdd>;

struct Op {
  bool personal = false;  // The object belongs to the entry's author; only they may change it.
  std::string name;
  Hlc hlc = 0;
  Action action;
  Type type() const;
};

// Parses an operation payload. Error: BAD_OPERATION with what is wrong.
Result<Op> DecodeOp(ByteSpan payload);
// The canonical encoding. The op must be valid (DecodeOp(EncodeOp(op)) == op); CheckOp says.
Bytes EncodeOp(const Op& op);
Status CheckOp(const Op& op);

// Whether `text` is a value (docs/crdt.md, "Values"): at most kValueBytesMax bytes of UTF-8
// that are exactly one RFC 8259 JSON text, with every surrogate escape paired, every number
// finite as a double, and arrays and objects nested at most kValueDepthMax deep. Error:
// BAD_OPERATION, saying which rule the value breaks.
Status CheckValue(std::string_view text);

}  // namespace pando::crdt
