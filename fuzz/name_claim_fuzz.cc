// libFuzzer target: names::DecodeClaim on arbitrary bytes (a name claim, from anyone), and
// names::Normalize on the same bytes as typed text. Decoding never crashes; an error has
// its documented code; a decoded claim encodes to exactly the input (one encoding per
// claim) and can be verified; a normal form is a fixed point, valid ASCII of 3 to 32 bytes.
#include <cstddef>
#include <cstdint>

#include "core/error_codes.h"
#include "core/name_claim.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace N = pando::names;
  const pando::ByteSpan input(data, size);
  auto c = N::DecodeClaim(input);
  if (!c.ok()) {
    FUZZ_CHECK(c.error().code == pando::codes::kBadClaim);
  } else {
    FUZZ_CHECK(N::EncodeClaim(*c) == pando::Bytes(input.begin(), input.end()));
    const pando::Status s = N::VerifyClaim(*c);
    FUZZ_CHECK(s.ok() || s.code() == pando::codes::kInvalidName ||
               s.code() == pando::codes::kBadSignature);
  }
  auto n = N::Normalize(pando::AsString(input));
  if (!n.ok()) {
    FUZZ_CHECK(n.error().code == pando::codes::kInvalidName);
    return 0;
  }
  FUZZ_CHECK(n->size() >= N::kNameMin && n->size() <= N::kNameMax);
  FUZZ_CHECK(N::Normalize(*n).ok() && N::Normalize(*n).value() == *n);
  FUZZ_CHECK(!N::IsReserved(*n));
  FUZZ_CHECK(N::Skeleton(*n).size() <= n->size());
  return 0;
}
