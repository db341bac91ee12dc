#include "storage/sqlite/sqlite_connection.h"

#include <utility>

#include "fmt/format.h"

namespace teletrace::storage::sqlite {

SqliteStatement::~SqliteStatement() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

void SqliteStatement::BindInt(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
}

void SqliteStatement::BindBlob(int index, std::string_view bytes, bool static_data) {
  // A zero-length blob must still bind as a blob, not NULL: pass a non-null pointer.
  static const char kEmpty = 0;
  sqlite3_bind_blob64(stmt_, index, bytes.empty() ? &kEmpty : bytes.data(), bytes.size(),
                      static_data ? SQLITE_STATIC : SQLITE_TRANSIENT);
}

void SqliteStatement::BindText(int index, std::string_view text) {
  sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

void SqliteStatement::BindNull(int index) { sqlite3_bind_null(stmt_, index); }

absl::StatusOr<bool> SqliteStatement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return conn_->Error(fmt::format("step \"{}\"", sqlite3_sql(stmt_)), rc);
}

absl::Status SqliteStatement::Run() {
  while (true) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) {
      Reset();
      return row.status();
    }
    if (!*row) {
      Reset();
      return absl::OkStatus();
    }
  }
}

std::string_view SqliteStatement::ColumnBlob(int index) const {
  const void* data = sqlite3_column_blob(stmt_, index);
  int size = sqlite3_column_bytes(stmt_, index);
  if (data == nullptr || size <= 0) return {};
  return std::string_view(static_cast<const char*>(data), static_cast<size_t>(size));
}

std::string SqliteStatement::ColumnText(int index) const {
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  int size = sqlite3_column_bytes(stmt_, index);
  if (text == nullptr || size <= 0) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
}

absl::StatusOr<std::unique_ptr<SqliteConnection>> SqliteConnection::Open(const std::string& path,
                                                                         std::string name) {
  sqlite3* db = nullptr;
  // NOMUTEX: each connection is used by one thread at a time (our own locks ensure it).
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return absl::UnavailableError(
        fmt::format("open {} ({}): {}", path, name, message));
  }
  sqlite3_extended_result_codes(db, 1);
  auto conn = std::unique_ptr<SqliteConnection>(new SqliteConnection(db, std::move(name)));
  // Readers and the retention pass may briefly contend with the writer (checkpoints); wait rather
  // than fail.
  sqlite3_busy_timeout(db, 10000);
  return conn;
}

SqliteConnection::~SqliteConnection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

absl::Status SqliteConnection::Exec(std::string_view sql) {
  std::string owned(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, owned.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string text = message != nullptr ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    std::string first_line = owned.substr(0, owned.find('\n'));
    return absl::Status(rc == SQLITE_BUSY || rc == SQLITE_LOCKED || (rc & 0xff) == SQLITE_FULL
                            ? absl::StatusCode::kUnavailable
                            : absl::StatusCode::kInternal,
                        fmt::format("exec \"{}\": {}", first_line, text));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> SqliteConnection::QueryInt(std::string_view sql) {
  std::string owned(sql);
  absl::StatusOr<SqliteStatement> stmt = Prepare(owned);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::InternalError(fmt::format("\"{}\" returned no row", sql));
  }
  return stmt->ColumnInt(0);
}

absl::StatusOr<SqliteStatement> SqliteConnection::Prepare(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return Error(fmt::format("prepare \"{}\"", sql), rc);
    it = statements_.emplace(sql, stmt).first;
  }
  return SqliteStatement(it->second, this);
}

absl::Status SqliteConnection::Error(std::string_view what, int rc) const {
  int primary = rc & 0xff;
  absl::StatusCode code = primary == SQLITE_BUSY || primary == SQLITE_LOCKED ||
                                  primary == SQLITE_FULL || primary == SQLITE_IOERR
                              ? absl::StatusCode::kUnavailable
                              : absl::StatusCode::kInternal;
  return absl::Status(code, fmt::format("{}: {}", what, sqlite3_errmsg(db_)));
}

}  // namespace teletrace::storage::sqlite
