// Fuzzes what a node reads from the node that hosts its site's registry (node/names.h,
// RemoteRegistry): JSON records and registry answers. Whatever the bytes, the decoders return
// an error or a record whose claim verifies and whose name and owner are the claim's.
#include <nlohmann/json.hpp>

#include "core/crypto.h"
#include "core/name_claim.h"
#include "fuzz_util.h"
#include "node/names.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace N = pando::names;
  pando::InitCrypto();
  const auto j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  auto check = [](const N::Record& r) {
    FUZZ_CHECK(N::VerifyClaim(r.claim).ok());
    FUZZ_CHECK(r.name == r.claim.name && r.owner == r.claim.owner);
    // Written again and read back, a record is the same record.
    auto again = pando::node::RecordFromJson(pando::node::RecordJson(r));
    FUZZ_CHECK(again.ok() && N::EncodeClaim(again->claim) == N::EncodeClaim(r.claim));
  };
  if (auto r = pando::node::RecordFromJson(j); r.ok()) check(*r);
  if (auto a = pando::node::AnswerFromJson(j); a.ok()) {
    if (a->holder) check(*a->holder);
    FUZZ_CHECK(a->outcome != N::Outcome::kInvalid || a->why.has_value());
  }
  return 0;
}
