// libFuzzer target: Entry::Decode on arbitrary bytes. Whatever decodes must keep every
// invariant an Entry promises, and signature verification must not crash.
#include <cstddef>
#include <cstdint>

#include "core/crypto.h"
#include "core/entry.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  pando::InitCrypto();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const pando::ByteSpan input(data, size);
  auto e = pando::Entry::Decode(input);
  if (!e.ok()) {
    FUZZ_CHECK(!e.error().code.empty());
    return 0;
  }
  pando::fuzz::CheckEntryInvariants(*e, input, /*compare_input=*/true);
  pando::Status s = pando::VerifyEntrySignature(*e);
  FUZZ_CHECK(s.ok() || !s.code().empty());
  (void)pando::CheckNotFromFuture(*e, 0);
  (void)pando::CheckNotFromFuture(*e, INT64_MAX);
  // A feed of one: CheckSuccessor against an empty head must not crash either.
  (void)pando::CheckSuccessor(pando::FeedHead{}, *e);
  return 0;
}
