// A small RAII layer over the SQLite C API: a connection and prepared statements.
//
// One Db object is used by one thread at a time (SQLite connections are opened with
// SQLITE_OPEN_NOMUTEX). Failures come back as Status with code STORE_ERROR and SQLite's
// own message.
#pragma once

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/error.h"

namespace pando::store {

class Stmt;

class Db {
 public:
  // Opens (creating if asked) the database file at path.
  static Result<Db> Open(const std::string& path, bool create);
  Db(Db&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Db& operator=(Db&& other) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  // Runs one or more statements that return no rows.
  Status Exec(std::string_view sql);
  Result<Stmt> Prepare(std::string_view sql);
  int64_t LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }
  sqlite3* raw() const { return db_; }
  Error LastError(std::string_view context) const;

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

// A prepared statement. Bind indexes start at 1, column indexes at 0.
class Stmt {
 public:
  Stmt(Stmt&& other) noexcept : db_(other.db_), stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, ByteSpan v);          // The bytes must stay alive until the statement is reset.
  Stmt& Bind(int i, std::string_view v);  // Likewise.
  Stmt& BindNull(int i);

  // Advances: true while a row is available, false when done. Errors: STORE_ERROR.
  Result<bool> Step();
  // Steps a statement that returns no rows, then resets it.
  Status Run();
  void Reset();

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }
  ByteSpan Blob(int col) const;
  // A 32-byte blob (a key or an id); nullopt if the column holds anything else.
  std::optional<std::array<uint8_t, 32>> Blob32(int col) const;
  std::string Text(int col) const;

 private:
  friend class Db;
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

}  // namespace pando::store
