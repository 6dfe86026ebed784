// Import of a bundle into a store with chain verification.
//
// The importer streams the bundle: it cuts each feed's entries into runs of up to
// kImportRunEntriesMax, authenticates each run with one signature check where the run is
// honest (core/chain.h), and keeps up to kImportRunsInFlight runs queued at the store's
// writer, so decoding and hashing overlap with SQLite's commits. Entries whose signature is
// covered only by a later entry of their feed wait, up to kImportPendingEntriesMax of them
// and kImportPendingBytesMax bytes,
// for that entry to arrive (docs/entry-format.md, "Authentication and chain verification").
#pragma once

#include <functional>
#include <istream>
#include <map>
#include <string>
#include <vector>

#include "core/bundle.h"
#include "store/store.h"

namespace pando::store {

inline constexpr size_t kImportRunEntriesMax = 2048;
inline constexpr size_t kImportRunsInFlight = 16;
inline constexpr size_t kImportPendingEntriesMax = 65536;
inline constexpr size_t kImportPendingBytesMax = size_t{64} << 20;

struct ImportReport {
  int64_t records = 0;
  int64_t accepted = 0;                         // Newly stored entries.
  int64_t fork_proofs = 0;                      // Fork proofs accepted from the bundle.
  std::map<std::string_view, int64_t> refused;  // By error code; DUPLICATE counts here too.
  // Refusals are counted as records settle, so in bundle order whoever decided them.
  std::string_view first_refusal;         // Code of the first refusal other than DUPLICATE.
  std::vector<std::string> first_errors;  // The first 20 messages (not DUPLICATE), for people.
  int64_t signatures_checked = 0;
  Status bundle_status;  // BAD_BUNDLE or a decode error if the bundle itself is damaged.
};

struct ImportOptions {
  int64_t now_ms = 0;  // For the future-timestamp rule.
  // Called as records become final, with the number of bundle records (entries and fork
  // proofs) whose fate is settled: stored (committed) or refused. Records are settled in
  // bundle order, so everything stored among the first N records is durable.
  std::function<void(int64_t settled)> on_progress;
};

// Imports everything in *in. Stops at the first damaged record (reported in
// bundle_status); everything settled before it stays stored.
ImportReport ImportBundle(Store& store, std::istream* in, const ImportOptions& options);

}  // namespace pando::store
