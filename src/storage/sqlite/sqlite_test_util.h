#pragma once

// What the SQLite backend's tests share: stores in a per-process directory (removed when the
// process ends), opening one, and reading or changing its file directly beside the backend.

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "storage/sqlite/sqlite_backend.h"

namespace teletrace::storage::sqlite_test {

inline std::filesystem::path TestRoot() {
  static const std::filesystem::path root =
      std::filesystem::temp_directory_path() / fmt::format("teletrace_sqlite_test_{}", getpid());
  return root;
}

// A fresh, empty directory under TestRoot().
inline std::string NewTestDir() {
  static std::atomic<int> counter{0};
  std::filesystem::path dir = TestRoot() / fmt::format("store{}", counter++);
  std::filesystem::remove_all(dir);
  return dir.string();
}

class RemoveTestRoot : public ::testing::Environment {
 public:
  void TearDown() override { std::filesystem::remove_all(TestRoot()); }
};
inline ::testing::Environment* const kRemoveTestRoot =
    ::testing::AddGlobalTestEnvironment(new RemoveTestRoot);

inline std::unique_ptr<Backend> MustOpen(BackendSettings settings) {
  absl::StatusOr<std::unique_ptr<Backend>> backend = NewSqliteBackend(settings);
  EXPECT_TRUE(backend.ok()) << backend.status();
  return backend.ok() ? std::move(*backend) : nullptr;
}

inline std::string DbPath(const std::string& dir) { return dir + "/teletrace.db"; }

// The first column of the first row of `sql` on the database file, or -1.
inline int64_t QueryInt(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
  int64_t value = -1;
  if (sqlite3_step(stmt) == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

// Runs `sql` on the database file directly, beside the backend: to age a store or damage it.
inline bool ExecSql(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  const bool opened = sqlite3_open(db_path.c_str(), &db) == SQLITE_OK;
  EXPECT_TRUE(opened) << db_path;
  const bool done = opened && sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  EXPECT_TRUE(done) << sql << ": " << sqlite3_errmsg(db);
  sqlite3_close(db);
  return done;
}

}  // namespace teletrace::storage::sqlite_test
