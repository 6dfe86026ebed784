#include "store/sqlite.h"

#include "core/check.h"
#include "core/error_codes.h"

namespace pando::store {

Result<Db> Db::Open(const std::string& path, bool create) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Error{codes::kStore, "Cannot open the store at " + path + ": " + msg + "."};
  }
  sqlite3_extended_result_codes(db, 1);
  // Readers and a second process's writer wait for the lock instead of failing at once.
  sqlite3_busy_timeout(db, 10000);
  return Db(db);
}

Db& Db::operator=(Db&& other) noexcept {
  if (this != &other) {
    if (db_) sqlite3_close(db_);
    db_ = other.db_;
    other.db_ = nullptr;
  }
  return *this;
}

Db::~Db() {
  if (db_) sqlite3_close(db_);
}

Error Db::LastError(std::string_view context) const {
  return Error{codes::kStore, std::string(context) + ": " + sqlite3_errmsg(db_) + "."};
}

Status Db::Exec(std::string_view sql) {
  char* err = nullptr;
  std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Error{codes::kStore, "SQL failed (" + msg + ")."};
  }
  return Status::Ok();
}

Result<Stmt> Db::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt, nullptr) != SQLITE_OK) {
    return LastError("Preparing SQL failed");
  }
  return Stmt(db_, stmt);
}

Stmt::~Stmt() {
  if (stmt_) sqlite3_finalize(stmt_);
}

Stmt& Stmt::Bind(int i, int64_t v) {
  CHECK(sqlite3_bind_int64(stmt_, i, v) == SQLITE_OK);
  return *this;
}

Stmt& Stmt::Bind(int i, ByteSpan v) {
  // SQLite binds NULL for a null pointer; an empty span is an empty blob.
  static constexpr uint8_t kEmpty = 0;
  const uint8_t* data = v.data() != nullptr ? v.data() : &kEmpty;
  CHECK(sqlite3_bind_blob(stmt_, i, data, static_cast<int>(v.size()), SQLITE_STATIC) == SQLITE_OK);
  return *this;
}

Stmt& Stmt::Bind(int i, std::string_view v) {
  CHECK(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC) ==
        SQLITE_OK);
  return *this;
}

Stmt& Stmt::BindNull(int i) {
  CHECK(sqlite3_bind_null(stmt_, i) == SQLITE_OK);
  return *this;
}

Result<bool> Stmt::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Error e{codes::kStore, std::string("SQL step failed: ") + sqlite3_errmsg(db_) + "."};
  sqlite3_reset(stmt_);
  return e;
}

Status Stmt::Run() {
  auto r = Step();
  Reset();
  if (!r.ok()) return r.error();
  return Status::Ok();
}

void Stmt::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

ByteSpan Stmt::Blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return ByteSpan(static_cast<const uint8_t*>(p), static_cast<size_t>(n));
}

std::optional<std::array<uint8_t, 32>> Stmt::Blob32(int col) const {
  ByteSpan b = Blob(col);
  if (b.size() != 32) return std::nullopt;
  std::array<uint8_t, 32> out;
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

std::string Stmt::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
}

}  // namespace pando::store
