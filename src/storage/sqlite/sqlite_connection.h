// A thin owner of one sqlite3 connection and its prepared statements. Values are always bound as
// parameters; statements are prepared once per connection and reused.
//
//   ASSIGN_OR_RETURN(auto conn, SqliteConnection::Open(path, "writer"));
//   ASSIGN_OR_RETURN(SqliteStatement stmt,
//                    conn->Prepare("SELECT data FROM blocks WHERE block_id = ?"));
//   stmt.BindInt(1, id);
//   ASSIGN_OR_RETURN(bool row, stmt.Step());
//
// Not thread safe: one thread uses a connection (and its statements) at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace teletrace::storage::sqlite {

class SqliteConnection;

// A borrowed cached statement; resets itself and clears its bindings when it goes out of scope so
// the next user starts clean and no read transaction is held open by an unfinished step.
class SqliteStatement {
 public:
  SqliteStatement(sqlite3_stmt* stmt, SqliteConnection* conn) : stmt_(stmt), conn_(conn) {}
  SqliteStatement(SqliteStatement&& other) noexcept
      : stmt_(std::exchange(other.stmt_, nullptr)), conn_(other.conn_) {}
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  SqliteStatement& operator=(SqliteStatement&&) = delete;
  ~SqliteStatement();

  // Parameters are 1-based, as in SQLite. Blobs and text are copied by SQLite (SQLITE_TRANSIENT)
  // unless `static_data` promises they outlive the statement's next Step().
  void BindInt(int index, int64_t value);
  void BindBlob(int index, std::string_view bytes, bool static_data = false);
  void BindText(int index, std::string_view text);
  void BindNull(int index);

  // True when a row is available, false when done; an error names the connection and SQL.
  absl::StatusOr<bool> Step();
  // Runs the statement to completion and resets it (bindings stay), for statements that return no
  // rows.
  absl::Status Run();
  // Makes the statement runnable again; bindings stay until rebound.
  void Reset() { sqlite3_reset(stmt_); }

  int64_t ColumnInt(int index) const { return sqlite3_column_int64(stmt_, index); }
  // Valid until the next Step() or the statement's destruction.
  std::string_view ColumnBlob(int index) const;
  std::string ColumnText(int index) const;
  bool ColumnIsNull(int index) const { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }
  int ColumnCount() const { return sqlite3_column_count(stmt_); }

 private:
  sqlite3_stmt* stmt_;
  SqliteConnection* conn_;
};

class SqliteConnection {
 public:
  // Opens (creating if missing) the database file. `name` ("writer", "reader") appears in the
  // open error. Errors of this class say what was being done and SQLite's message; callers prefix
  // the operation ("sqlite: write batch of 512 spans: ...").
  static absl::StatusOr<std::unique_ptr<SqliteConnection>> Open(const std::string& path,
                                                                std::string name);
  ~SqliteConnection();

  // Runs one or more statements that return no rows (DDL, PRAGMA, BEGIN/COMMIT).
  absl::Status Exec(std::string_view sql);
  // The single integer a query such as "PRAGMA user_version" returns.
  absl::StatusOr<int64_t> QueryInt(std::string_view sql);
  // A cached prepared statement for `sql`. At most one SqliteStatement per SQL text may be alive.
  absl::StatusOr<SqliteStatement> Prepare(const std::string& sql);

  // An Internal (or Unavailable for busy/locked/full disk/IO) status saying what was being done
  // and SQLite's message.
  absl::Status Error(std::string_view what, int rc) const;

  sqlite3* db() const { return db_; }
  const std::string& name() const { return name_; }

 private:
  SqliteConnection(sqlite3* db, std::string name) : db_(db), name_(std::move(name)) {}

  sqlite3* db_;
  std::string name_;
  std::map<std::string, sqlite3_stmt*, std::less<>> statements_;
};

}  // namespace teletrace::storage::sqlite
