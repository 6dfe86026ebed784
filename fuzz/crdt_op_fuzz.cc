// libFuzzer target: crdt::DecodeOp on arbitrary bytes (the payload of a kind 3 entry, from
// anyone). It must never crash; an error is BAD_OPERATION; an operation it returns encodes
// to exactly the input (the encoding is canonical, docs/crdt.md) and passes CheckOp.
//
// The input is then signed into kind 3 entries with a fixed key and applied to a Replica:
// an invalid payload is BAD_OPERATION; a valid one applies, a second time is DUPLICATE, with
// a clock too far ahead of its entry is BAD_OPERATION, and applied from a second entry it
// merges as docs/crdt.md, "Merge rules", says.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "core/crypto.h"
#include "core/entry.h"
#include "core/error_codes.h"
#include "core/kinds.h"
#include "core/limits.h"
#include "crdt/op.h"
#include "crdt/state.h"
#include "fuzz_util.h"

namespace {

using namespace pando;

const KeyPair& Key() {
  static const KeyPair key = [] {
    Seed seed;
    seed.fill(7);
    return KeyPair::FromSeed(seed);
  }();
  return key;
}

// A kind 3 entry of the fixed key carrying `payload`.
Entry Sign(ByteSpan payload, uint64_t seq, const Hash32& prev, int64_t timestamp_ms) {
  EntryDraft d;
  d.seq = seq;
  d.prev = prev;
  d.timestamp_ms = timestamp_ms;
  d.group = "fuzz";
  d.kind = kinds::kCrdt;
  d.payload.assign(payload.begin(), payload.end());
  auto e = Entry::Sign(d, Key());
  FUZZ_CHECK(e.ok());
  return std::move(e).value();
}

// The state after the same valid op came from two entries e1 and e2 (same clock, so the
// greater entry id wins where an order is needed).
void CheckMerged(const crdt::Replica& r, const crdt::Op& op, const crdt::ObjectKey& key,
                 const Entry& e1, const Entry& e2) {
  using namespace pando::crdt;
  if (const auto* u = std::get_if<MapUpdate>(&op.action)) {
    const MapState* m = r.Map(key);
    FUZZ_CHECK(m != nullptr);
    FUZZ_CHECK(m->cells().size() == u->fields.size());
    const Stamp winner{op.hlc, std::max(e1.id(), e2.id())};
    for (const MapField& f : u->fields) {
      FUZZ_CHECK(m->Get(f.field) == f.value);
      FUZZ_CHECK(m->cells().at(f.field).stamp == winner);
    }
  } else if (const auto* a = std::get_if<SetAdd>(&op.action)) {
    const SetState* s = r.Set(key);
    FUZZ_CHECK(s != nullptr);
    std::map<std::string, size_t> copies;
    for (const std::string& e : a->elements) ++copies[e];
    const std::vector<std::string> elements = s->Elements();
    FUZZ_CHECK(elements.size() == copies.size());
    for (const auto& [e, n] : copies) {
      FUZZ_CHECK(s->Contains(e));
      FUZZ_CHECK(s->Tags(e).size() == 2 * n);  // One tag per copy, from each entry.
    }
    FUZZ_CHECK(std::is_sorted(elements.begin(), elements.end()));
  } else if (const auto* rm = std::get_if<SetRemove>(&op.action)) {
    // Removing tags that were never added leaves the set empty (and tombstones behind).
    const SetState* s = r.Set(key);
    FUZZ_CHECK(s != nullptr);
    FUZZ_CHECK(s->Elements().empty());
    FUZZ_CHECK(!s->Contains(rm->element));
  } else if (const auto* ins = std::get_if<SeqInsert>(&op.action)) {
    const SeqState* s = r.Seq(key);
    FUZZ_CHECK(s != nullptr);
    const auto values = s->Values();
    const size_t n = ins->values.size();
    if (ins->after) {
      // After an element that never arrives (no entry id can name its own entry): hidden.
      FUZZ_CHECK(values.empty());
      FUZZ_CHECK(s->size() == 2 * n + 1);
    } else {
      // Two runs at the head, same clock: the greater entry id's run first, each whole.
      FUZZ_CHECK(values.size() == 2 * n);
      const Hash32 first = std::max(e1.id(), e2.id());
      for (size_t i = 0; i < values.size(); ++i) {
        FUZZ_CHECK(values[i].second == ins->values[i % n]);
        FUZZ_CHECK(values[i].first.index == i % n);
        FUZZ_CHECK((values[i].first.entry == first) == (i < n));
      }
    }
  } else if (std::get_if<SeqDelete>(&op.action)) {
    const SeqState* s = r.Seq(key);
    FUZZ_CHECK(s != nullptr);
    FUZZ_CHECK(s->Values().empty());
  } else {
    const CounterState* c = r.Counter(key);
    FUZZ_CHECK(c != nullptr);
    const uint64_t delta = static_cast<uint64_t>(std::get<CounterAdd>(op.action).delta);
    FUZZ_CHECK(c->value() == static_cast<int64_t>(2 * delta));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  pando::InitCrypto();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pando;
  const ByteSpan input(data, size);
  auto op = crdt::DecodeOp(input);
  if (!op.ok()) {
    FUZZ_CHECK(op.error().code == codes::kBadOperation);
  } else {
    const Bytes encoded = crdt::EncodeOp(*op);
    FUZZ_CHECK(encoded.size() == input.size());
    FUZZ_CHECK(std::equal(encoded.begin(), encoded.end(), input.begin()));
    FUZZ_CHECK(crdt::CheckOp(*op).ok());
    FUZZ_CHECK(static_cast<uint8_t>(op->type()) == data[1]);
    FUZZ_CHECK(op->personal == (data[3] == 1));
    FUZZ_CHECK(!op->name.empty() && op->name.size() <= crdt::kNameBytesMax);
    FUZZ_CHECK(op->hlc < (uint64_t{1} << 63));
  }
  if (size > limits::kPayloadBytesMax) return 0;

  crdt::Replica r;
  if (!op.ok()) {
    const Entry e = Sign(input, 1, Hash32{}, 1'700'000'000'000);
    FUZZ_CHECK(r.Apply(e).code() == codes::kBadOperation);
    FUZZ_CHECK(r.Dump().empty());
    return 0;
  }

  // The entry's timestamp is the op's clock, so the clock bound holds.
  const int64_t ms = crdt::HlcMs(op->hlc);
  const Entry e1 = Sign(input, 1, Hash32{}, ms);
  FUZZ_CHECK(crdt::CheckClock(e1, *op).ok());
  FUZZ_CHECK(r.Apply(e1).ok());
  FUZZ_CHECK(r.Apply(e1).code() == codes::kDuplicate);
  FUZZ_CHECK(r.last_hlc() == op->hlc);
  const crdt::ObjectKey key = crdt::ObjectOf(e1, *op);
  FUZZ_CHECK(key.group == "fuzz" && key.type == op->type() && key.name == op->name);
  FUZZ_CHECK((key.owner == Key().public_key()) == op->personal);
  FUZZ_CHECK(op->personal || key.owner == PublicKey{});

  // The same op from an entry whose timestamp lags its clock by more than the bound: refused
  // (each time), and nothing changes.
  const std::string before = r.Dump();
  if (ms > limits::kFutureSkewMsMax) {
    const Entry late = Sign(input, 2, e1.id(), ms - limits::kFutureSkewMsMax - 1);
    FUZZ_CHECK(r.Apply(late).code() == codes::kBadOperation);
    FUZZ_CHECK(r.Apply(late).code() == codes::kBadOperation);
    FUZZ_CHECK(r.Dump() == before);
  }
  // The bound itself is allowed: the same op from a second entry, exactly 5 minutes behind.
  const Entry e2 = Sign(input, 2, e1.id(), std::max<int64_t>(0, ms - limits::kFutureSkewMsMax));
  FUZZ_CHECK(r.Apply(e2).ok());
  CheckMerged(r, *op, key, e1, e2);

  // The order of arrival does not matter.
  crdt::Replica reversed;
  FUZZ_CHECK(reversed.Apply(e2).ok());
  FUZZ_CHECK(reversed.Apply(e1).ok());
  FUZZ_CHECK(reversed.Dump() == r.Dump());
  return 0;
}
