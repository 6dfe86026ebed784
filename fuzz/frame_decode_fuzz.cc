// libFuzzer target: peer frames (proto/frame.h), the first decoder every byte from a peer
// meets. The input is a byte stream fed to a FrameReader in two pieces; every frame that
// decodes must re-encode to exactly its bytes, and once the reader fails it must stay
// failed. A BROADCAST's GOSSIP entry bytes also go through the entry decoder, and a
// FORK_PROOF's proof through the fork proof decoder, as the node will do. A DHT frame's
// message is decoded by the frame decoder itself (dht_decode_fuzz covers it alone too).
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "core/entry.h"
#include "core/fork_proof.h"
#include "fuzz_util.h"
#include "proto/frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pando;
  using namespace pando::proto;
  const ByteSpan input(data, size);
  // Any split point gives the same frames; take one from the input itself.
  const size_t cut = size == 0 ? 0 : data[0] % (size + 1);
  FrameReader reader(/*sender=*/1, /*receiver=*/2);
  reader.Append(input.first(cut));
  size_t consumed = 0;
  bool failed = false;
  auto drain = [&] {
    for (;;) {
      Result<std::optional<Frame>> next = reader.Next();
      if (!next.ok()) {
        failed = true;
        FUZZ_CHECK(!reader.Next().ok());  // Failure is final.
        return;
      }
      if (!next->has_value()) return;
      const Frame& frame = **next;
      const Bytes again = EncodeFrame(frame);
      FUZZ_CHECK(consumed + again.size() <= size);
      FUZZ_CHECK(std::equal(again.begin(), again.end(), data + consumed));
      consumed += again.size();
      if (const auto* b = std::get_if<BroadcastFrame>(&frame)) {
        if (!b->entry.empty()) (void)Entry::Decode(b->entry);
      }
      if (const auto* p = std::get_if<ForkProofFrame>(&frame)) {
        if (auto proof = DecodeForkProof(p->proof); proof.ok()) (void)VerifyForkProof(*proof);
      }
    }
  };
  drain();
  if (!failed) {
    reader.Append(input.subspan(cut));
    drain();
  }
  if (!failed) FUZZ_CHECK(consumed + reader.buffered() == size);
  return 0;
}
