// libFuzzer target: reconciliation messages from an untrusted peer.
//
// A message that decodes must re-encode to exactly its input (the format has one encoding
// per message), and a Session must answer it, or refuse it with an error, without crashing;
// any reply it builds must itself decode and stay within the size limit.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "fuzz_util.h"
#include "proto/reconcile.h"

namespace {

const pando::proto::ItemSet& Items() {
  static const pando::proto::ItemSet* items = [] {
    std::vector<pando::proto::ReconItem> xs;
    for (uint64_t k = 0; k < 300; ++k) {
      xs.push_back(
          {1'700'000'000'000 + k / 4, pando::Blake2b256(pando::AsBytes(std::to_string(k)))});
    }
    return new pando::proto::ItemSet(std::move(xs));
  }();
  return *items;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  pando::InitCrypto();
  (void)Items();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const pando::ByteSpan input(data, size);
  auto ranges = pando::proto::DecodeReconcileMessage(input);
  if (ranges.ok()) {
    const pando::Bytes again = pando::proto::EncodeReconcileMessage(*ranges);
    FUZZ_CHECK(again.size() == size && std::equal(again.begin(), again.end(), data));
  }
  pando::proto::Session session(&Items(), /*message_bytes_max=*/4096);
  auto reply = session.Respond(input);
  FUZZ_CHECK(reply.ok() == ranges.ok());
  if (reply.ok() && *reply) {
    FUZZ_CHECK((*reply)->size() <= 4096);
    FUZZ_CHECK(pando::proto::DecodeReconcileMessage(**reply).ok());
  }
  return 0;
}
