// libFuzzer target: DecodeCatalogRecord on arbitrary bytes (the payload of a kind 2 entry,
// from anyone). It must never crash; an error has one of the documented codes; a record it
// returns keeps its promises and encodes and decodes to the same record, so a node that
// passes a record on never changes what it says.
#include <cstddef>
#include <cstdint>

#include "core/entry.h"
#include "core/error_codes.h"
#include "core/post.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const pando::ByteSpan input(data, size);
  auto r = pando::DecodeCatalogRecord(input);
  if (!r.ok()) {
    const std::string_view code = r.error().code;
    FUZZ_CHECK(code == pando::codes::kMalformed || code == pando::codes::kInvalidGroup ||
               code == pando::codes::kBadId);
    return 0;
  }
  FUZZ_CHECK(pando::IsUtf8(pando::AsString(input)));
  FUZZ_CHECK(r->title.size() <= pando::kTitleBytesMax);
  FUZZ_CHECK(pando::IsUtf8(r->title));
  for (char c : r->title) FUZZ_CHECK(static_cast<uint8_t>(c) >= 0x20);
  FUZZ_CHECK(pando::IsValidGroupName(r->group));

  const pando::Bytes encoded = pando::EncodeCatalogRecord(*r);
  FUZZ_CHECK(pando::IsUtf8(pando::AsString(encoded)));
  auto again = pando::DecodeCatalogRecord(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->group == r->group);
  FUZZ_CHECK(again->entry == r->entry);
  FUZZ_CHECK(again->title == r->title);
  FUZZ_CHECK(pando::EncodeCatalogRecord(*again) == encoded);
  return 0;
}
