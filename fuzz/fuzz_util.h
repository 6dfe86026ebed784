// Helpers shared by the libFuzzer targets: invariant checks that abort with a message.
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/entry.h"
#include "core/fork_proof.h"

namespace pando::fuzz {

[[noreturn]] inline void InvariantFailed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "FUZZ INVARIANT VIOLATED: %s at %s:%d\n", what, file, line);
  std::abort();
}

#define FUZZ_CHECK(cond) \
  ((cond) ? static_cast<void>(0) : ::pando::fuzz::InvariantFailed(#cond, __FILE__, __LINE__))

// Checks every invariant a decoded Entry promises about itself, given the bytes it was
// decoded from (or, with input empty, only the self-consistency of the entry).
inline void CheckEntryInvariants(const Entry& e, ByteSpan input, bool compare_input) {
  namespace L = entry_layout;
  const Bytes& raw = e.bytes();
  if (compare_input) {
    FUZZ_CHECK(raw.size() == input.size());
    FUZZ_CHECK(std::equal(raw.begin(), raw.end(), input.begin()));
  }
  FUZZ_CHECK(e.id() == Blake2b256(raw));
  FUZZ_CHECK(e.version() == kEntryVersion);
  FUZZ_CHECK(IsValidGroupName(e.group()));
  FUZZ_CHECK(e.payload().size() <= 65536);
  FUZZ_CHECK(raw.size() == L::kOverhead + e.group().size() + e.payload().size());
  FUZZ_CHECK(e.seq() >= 1);
  FUZZ_CHECK(e.timestamp_ms() >= 0);
  const Hash32 zero{};
  FUZZ_CHECK((e.seq() == 1) == (e.prev() == zero));
  FUZZ_CHECK(e.body().size() == raw.size() - 64);

  // Re-encode from the accessors alone; the result must be the canonical bytes.
  Bytes re;
  re.push_back(e.version());
  Append(re, e.author());
  PutU64(re, e.seq());
  Append(re, e.prev());
  PutU64(re, static_cast<uint64_t>(e.timestamp_ms()));
  PutU16(re, e.kind());
  re.push_back(static_cast<uint8_t>(e.group().size()));
  Append(re, AsBytes(e.group()));
  PutU32(re, static_cast<uint32_t>(e.payload().size()));
  Append(re, e.payload());
  FUZZ_CHECK(re.size() == e.body().size());
  FUZZ_CHECK(std::equal(re.begin(), re.end(), e.body().begin()));
  Append(re, e.signature());
  FUZZ_CHECK(re == raw);

  // Decoding the canonical bytes again yields the same entry.
  auto again = Entry::Decode(raw);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == e);
  FUZZ_CHECK(again->id() == e.id());
}

// Checks a decoded fork proof: re-encodes to the input, and verification does not crash.
inline void CheckForkProof(const ForkProof& p, ByteSpan input, bool compare_input) {
  FUZZ_CHECK(!p.a.empty() && p.a.size() <= kForkProofRunEntriesMax);
  FUZZ_CHECK(!p.b.empty() && p.b.size() <= kForkProofRunEntriesMax);
  for (const Entry& e : p.a) CheckEntryInvariants(e, {}, false);
  for (const Entry& e : p.b) CheckEntryInvariants(e, {}, false);
  Bytes enc = EncodeForkProof(p);
  if (compare_input) {
    FUZZ_CHECK(enc.size() == input.size());
    FUZZ_CHECK(std::equal(enc.begin(), enc.end(), input.begin()));
  }
  auto again = DecodeForkProof(enc);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->a == p.a && again->b == p.b);
  Status s = VerifyForkProof(p);
  if (s.ok()) {
    // A valid proof names two different entries of one feed at one seq.
    FUZZ_CHECK(p.a.front().author() == p.b.front().author());
    FUZZ_CHECK(p.a.front().group() == p.b.front().group());
    FUZZ_CHECK(p.a.front().seq() == p.b.front().seq());
    FUZZ_CHECK(p.a.front().id() != p.b.front().id());
  } else {
    FUZZ_CHECK(!s.code().empty());
  }
}

}  // namespace pando::fuzz
