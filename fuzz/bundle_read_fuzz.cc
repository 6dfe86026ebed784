// libFuzzer target: BundleReader on arbitrary bytes, read record by record until an error
// or the end record. Every record it yields must be a consistent entry or fork proof.
// After an error the reader must stay failed, and a bundle that ends well must have no
// bytes after its end record.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "core/bundle.h"
#include "core/crypto.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  pando::InitCrypto();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  pando::BundleReader reader(&in);
  // Every record but the first consumes at least its 5-byte header, so this terminates;
  // the bound only guards against a reader that stops consuming input.
  const size_t max_records = size / 5 + 2;
  std::vector<pando::BundleRecord> records;
  for (size_t i = 0;; ++i) {
    FUZZ_CHECK(i <= max_records);
    auto rec = reader.Next();
    if (!rec.ok()) {
      FUZZ_CHECK(!rec.error().code.empty());
      FUZZ_CHECK(!reader.Next().ok());  // The reader stays failed.
      return 0;
    }
    if (!*rec) {
      // A verified end record: the reader is finished for good, and writing the records
      // again reproduces the bundle byte for byte, with nothing after the end record.
      FUZZ_CHECK(!reader.Next().ok());
      std::ostringstream out;
      pando::BundleWriter writer(&out);
      for (const auto& r : records) {
        if (const auto* e = std::get_if<pando::Entry>(&r)) {
          writer.WriteEntry(*e);
        } else {
          writer.WriteForkProof(std::get<pando::ForkProof>(r));
        }
      }
      FUZZ_CHECK(writer.Finish().ok());
      const std::string again = out.str();
      FUZZ_CHECK(again.size() == size);
      FUZZ_CHECK(std::equal(again.begin(), again.end(), reinterpret_cast<const char*>(data)));
      return 0;
    }
    if (const auto* e = std::get_if<pando::Entry>(&**rec)) {
      pando::fuzz::CheckEntryInvariants(*e, {}, /*compare_input=*/false);
      (void)pando::VerifyEntrySignature(*e);
    } else {
      pando::fuzz::CheckForkProof(std::get<pando::ForkProof>(**rec), {},
                                  /*compare_input=*/false);
    }
    records.push_back(std::move(**rec));
  }
}
