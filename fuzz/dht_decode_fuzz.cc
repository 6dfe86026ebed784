// libFuzzer target: the DHT's decoders (docs/dht-format.md), fed the same bytes as a message
// and as a record. What decodes must re-encode to exactly its input; a record that decodes
// is verified (any verdict, no crash) and checked for freshness at a fixed time.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "core/error_codes.h"
#include "fuzz_util.h"
#include "proto/dht_record.h"

namespace P = pando::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const pando::ByteSpan input(data, size);
  if (auto m = P::DecodeDhtMessage(input); m.ok()) {
    const pando::Bytes again = P::EncodeDhtMessage(*m);
    FUZZ_CHECK(again.size() == size && std::equal(again.begin(), again.end(), data));
    FUZZ_CHECK(P::DhtMessageBytes(*m) == size && size <= P::kDhtMessageBytesMax);
    if (const auto* found = std::get_if<P::DhtFound>(&*m)) {
      FUZZ_CHECK(found->nodes.size() <= P::kDhtNodesMax);
      FUZZ_CHECK(found->records.size() <= P::kDhtRecordsMax);
      FUZZ_CHECK(P::DhtNamedIds(*m) == found->nodes);
    }
  } else {
    FUZZ_CHECK(m.code() == pando::codes::kMalformed);
  }
  if (auto r = P::DecodeDhtRecord(input); r.ok()) {
    FUZZ_CHECK(r->bytes.size() == size && std::equal(r->bytes.begin(), r->bytes.end(), data));
    FUZZ_CHECK(!r->address.empty() && r->ttl_s >= P::kDhtTtlMinS && r->ttl_s <= P::kDhtTtlMaxS);
    const pando::Status v = P::VerifyDhtRecord(*r);
    FUZZ_CHECK(v.ok() || v.code() == pando::codes::kBadSignature);
    const pando::Status f = P::DhtRecordFresh(*r, 1'700'000'000'000);
    FUZZ_CHECK(f.ok() || f.code() == pando::codes::kExpired ||
               f.code() == pando::codes::kFutureTimestamp);
  } else {
    FUZZ_CHECK(r.code() == pando::codes::kMalformed);
  }
  return 0;
}
