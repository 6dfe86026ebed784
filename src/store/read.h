// Helpers of the store's read side shared by its files (store_read.cc, posts.cc, names.cc).
// Internal to src/store.
#pragma once

#include <vector>

#include "core/entry.h"
#include "core/error.h"
#include "store/sqlite.h"

namespace pando::store {

// A stored entry's encoding decoded; STORE_ERROR if it no longer decodes.
Result<Entry> DecodeStored(ByteSpan raw);
// Runs stmt to the end, decoding column 0 of every row as an entry (DecodeStored).
Result<std::vector<Entry>> CollectEntries(Stmt& stmt);

}  // namespace pando::store
