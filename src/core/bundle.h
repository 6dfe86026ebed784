// Bundles: the portable file format of `pando export` and `pando import`.
//
// docs/bundle-format.md specifies the bytes: a magic and version, then records (one entry,
// or one fork proof), then an end record holding the BLAKE2b-256 of everything before it,
// so truncation and corruption are detected. Writers put each author's entries in seq
// order so importers can use chain verification. Reading is streaming: memory stays
// bounded by the largest record, whatever the bundle size.
#pragma once

#include <istream>
#include <optional>
#include <ostream>
#include <variant>

#include "core/crypto.h"
#include "core/entry.h"
#include "core/error.h"
#include "core/fork_proof.h"

namespace pando {

inline constexpr std::string_view kBundleMagic = "PANDOBDL";
inline constexpr uint8_t kBundleVersion = 1;

enum class BundleRecordType : uint8_t { kEnd = 0, kEntry = 1, kForkProof = 2 };

// Writes a bundle to *out, which must outlive the writer. Call Finish() once at the end;
// a bundle without its end record is refused by readers.
class BundleWriter {
 public:
  explicit BundleWriter(std::ostream* out);
  void WriteEntry(const Entry& entry);
  void WriteForkProof(const ForkProof& proof);
  // Writes the end record. Returns IO_ERROR if the stream failed at any point.
  Status Finish();

 private:
  void WriteRecord(BundleRecordType type, ByteSpan body);
  void Write(ByteSpan bytes);
  std::ostream* out_;
  Blake2bHasher hasher_;
};

using BundleRecord = std::variant<Entry, ForkProof>;

// Reads a bundle from *in, which must outlive the reader.
class BundleReader {
 public:
  explicit BundleReader(std::istream* in);
  // The next record, or nullopt after a verified end record. Errors: BAD_BUNDLE (bad magic,
  // truncation, checksum mismatch, unknown record type) or the entry's own decode error.
  // After an error the reader stays failed.
  Result<std::optional<BundleRecord>> Next();

 private:
  Status ReadExact(uint8_t* dst, size_t n);
  std::istream* in_;
  Blake2bHasher hasher_;
  bool started_ = false;
  bool done_ = false;
  Bytes body_;
};

}  // namespace pando
