// Numbered schema migrations. The store's schema version is SQLite's user_version; opening
// a store applies every migration above it, each in its own transaction, in order.
// Migrations are append-only: a released migration is never edited.
#pragma once

#include <span>
#include <string_view>

#include "core/error.h"
#include "store/sqlite.h"

namespace pando::store {

struct Migration {
  int version;           // 1, 2, 3, ... without gaps.
  std::string_view sql;  // Statements run inside the migration's transaction.
};

// Pando's migrations, in order.
std::span<const Migration> Migrations();

// Brings db up to the last of `migrations`. Errors: STORE_TOO_NEW when the file was written
// by a newer Pando, STORE_ERROR when a migration fails (that migration is rolled back and
// the store stays at the previous version).
Status Migrate(Db& db, std::span<const Migration> migrations);

// The schema version of db (0 for a new file).
Result<int> SchemaVersion(Db& db);

}  // namespace pando::store
