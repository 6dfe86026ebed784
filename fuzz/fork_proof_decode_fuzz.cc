// libFuzzer target: DecodeForkProof and VerifyForkProof on arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "core/crypto.h"
#include "core/fork_proof.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  pando::InitCrypto();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const pando::ByteSpan input(data, size);
  auto p = pando::DecodeForkProof(input);
  if (!p.ok()) {
    FUZZ_CHECK(!p.error().code.empty());
    return 0;
  }
  pando::fuzz::CheckForkProof(*p, input, /*compare_input=*/true);
  return 0;
}
