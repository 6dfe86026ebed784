// libFuzzer target: the parsers of etcd's gateway answers (names/etcd_codec.h) on arbitrary
// bytes, as a member, or anything between it and the node, could send them. Parsing never
// crashes and refuses with STORE_ERROR; a pair of a parsed answer becomes a record only if its
// value is a claim that verifies and its key is that claim's record or owner index key; an
// answer written again from what was parsed parses to the same pairs.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "core/error_codes.h"
#include "fuzz_util.h"
#include "names/etcd_codec.h"

namespace {

namespace E = pando::names::etcd;
constexpr std::string_view kPrefix = "pando/names/";

void CheckRecords(const std::vector<E::Kv>& kvs) {
  for (const E::Kv& kv : kvs) {
    auto r = E::RecordOf(kv, kPrefix);
    if (!r.ok()) {
      FUZZ_CHECK(r.error().code == pando::codes::kStore);
      continue;
    }
    FUZZ_CHECK(pando::names::VerifyClaim(r->claim).ok());
    FUZZ_CHECK(pando::names::EncodeClaim(r->claim) == kv.value);
    FUZZ_CHECK(r->name == r->claim.name && r->owner == r->claim.owner);
    FUZZ_CHECK(kv.key == E::RecordKey(kPrefix, r->name) ||
               kv.key == E::OwnerKey(kPrefix, r->owner, r->name));
  }
}

// A range answer as the gateway would write it for these pairs.
std::string RangeAnswer(const E::RangeReply& r) {
  nlohmann::json kvs = nlohmann::json::array();
  for (const E::Kv& kv : r.kvs) {
    kvs.push_back({{"key", E::ToBase64(pando::AsBytes(kv.key))},
                   {"value", E::ToBase64(kv.value)},
                   {"create_revision", std::to_string(kv.create_revision)},
                   {"mod_revision", std::to_string(kv.mod_revision)}});
  }
  return nlohmann::json{
      {"header", {{"revision", std::to_string(r.revision)}}}, {"kvs", kvs}, {"more", r.more}}
      .dump();
}

bool SameKvs(const std::vector<E::Kv>& a, const std::vector<E::Kv>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].key != b[i].key || a[i].value != b[i].value ||
        a[i].create_revision != b[i].create_revision || a[i].mod_revision != b[i].mod_revision) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto range = E::ParseRange(body);
  if (!range.ok()) {
    FUZZ_CHECK(range.error().code == pando::codes::kStore);
  } else {
    CheckRecords(range->kvs);
    auto again = E::ParseRange(RangeAnswer(*range));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(SameKvs(again->kvs, range->kvs));
    FUZZ_CHECK(again->more == range->more && again->revision == range->revision);
  }
  auto txn = E::ParseTxn(body);
  if (!txn.ok()) {
    FUZZ_CHECK(txn.error().code == pando::codes::kStore);
  } else {
    CheckRecords(txn->kvs);
  }
  if (auto error = E::ParseError(body)) {
    // An error body with a transient gRPC code is transient whatever its HTTP status.
    if (error->code == 14 || error->code == 4) FUZZ_CHECK(E::IsTransient(400, error));
  }
  FUZZ_CHECK(E::IsTransient(503, std::nullopt) && !E::IsTransient(400, std::nullopt));
  return 0;
}
