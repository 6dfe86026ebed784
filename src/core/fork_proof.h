// ForkProof: evidence that an author signed two different entries with the same seq in the
// same feed (author and group).
//
// Each side is a run of linked entries that starts with one of the two conflicting entries
// and ends with an entry whose own signature verifies (usually the run is that one entry).
// Anyone can check a proof with no other state; a node that holds a valid proof refuses
// every later entry of that author, in every group (docs/entry-format.md, "Forks").
#pragma once

#include <vector>

#include "core/bytes.h"
#include "core/entry.h"
#include "core/error.h"

namespace pando {

inline constexpr size_t kForkProofRunEntriesMax = 64;

struct ForkProof {
  std::vector<Entry> a;
  std::vector<Entry> b;

  PublicKey author() const { return a.front().author(); }
  uint64_t seq() const { return a.front().seq(); }
};

// Checks a proof. Errors: MALFORMED (shape), BAD_SIGNATURE (a side is not authenticated).
Status VerifyForkProof(const ForkProof& proof);

// Byte form (docs/bundle-format.md): for each side, u32 count then count times
// (u32 length, entry bytes).
Bytes EncodeForkProof(const ForkProof& proof);
Result<ForkProof> DecodeForkProof(ByteSpan bytes);

// The refusal of an entry of an author known to be forked (AUTHOR_FORKED), the same from the
// store and the node.
Error AuthorForkedError(const PublicKey& author);

// Encodes a run the same way as one side of a proof.
void EncodeRun(Bytes& out, std::span<const Entry> run);

}  // namespace pando
