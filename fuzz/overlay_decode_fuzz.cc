// libFuzzer target: the overlay protocols' message decoders (membership and broadcast), fed
// the same bytes. A message that decodes must re-encode to exactly its input.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "proto/broadcast.h"
#include "proto/membership_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const pando::ByteSpan input(data, size);
  if (auto m = pando::proto::DecodeMembership(input); m.ok()) {
    pando::Bytes again;
    pando::proto::Encode(*m, again);
    FUZZ_CHECK(again.size() == size && std::equal(again.begin(), again.end(), data));
    FUZZ_CHECK(pando::proto::EncodedSize(*m) == size);
  }
  if (auto b = pando::proto::DecodeBroadcast(input); b.ok()) {
    pando::Bytes again;
    pando::proto::Encode(*b, again);
    FUZZ_CHECK(again.size() == size && std::equal(again.begin(), again.end(), data));
  }
  return 0;
}
