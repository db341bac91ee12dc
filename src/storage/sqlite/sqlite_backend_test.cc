#include "storage/sqlite/sqlite_backend.h"

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "common/cancel.h"
#include "common/time_util.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "query/engine.h"
#include "query/parse.h"
#include "storage/block_value_counts.h"
#include "storage/memory/memory_backend.h"
#include "storage/span_block_codec.h"
#include "storage/sqlite/migrations.h"
#include "storage/sqlite/sqlite_test_util.h"
#include "storage/sqlite/trace_index.h"
#include "storage/testing/conformance_suite.h"

namespace teletrace::storage {
namespace {

using model::AnyValue;
using ::testing::ElementsAre;
using testing::StorageConformance;
using sqlite_test::DbPath;
using sqlite_test::ExecSql;
using sqlite_test::MustOpen;
using sqlite_test::NewTestDir;
using sqlite_test::QueryInt;

INSTANTIATE_TEST_SUITE_P(
    Sqlite, StorageConformance,
    ::testing::Values(testing::StorageFactory([] { return MustOpen({{"path", NewTestDir()}}); }),
                      // Blocks of three spans: every trace and every search crosses blocks.
                      testing::StorageFactory([] {
                        return MustOpen({{"path", NewTestDir()}, {"block_spans", "3"}});
                      })),
    [](const ::testing::TestParamInfo<testing::StorageFactory>& info) {
      return info.index == 0 ? std::string("DefaultBlocks") : std::string("TinyBlocks");
    });

// ---------------------------------------------------------------------------------------------

TraceId TraceIdOf(uint32_t n) {
  TraceId id{};
  for (int i = 0; i < 4; ++i) id[12 + i] = static_cast<uint8_t>(n >> (8 * (3 - i)));
  id[0] = 0x7e;
  return id;
}

SpanId SpanIdOf(uint32_t n) {
  SpanId id{};
  for (int i = 0; i < 4; ++i) id[4 + i] = static_cast<uint8_t>(n >> (8 * (3 - i)));
  id[0] = 0x5a;
  return id;
}

// `count` spans starting at `start` one microsecond apart, ten to a trace, with `payload_bytes`
// of incompressible attribute data each.
model::SpanBatch MakeBatch(uint32_t first, uint32_t count, uint64_t start,
                           size_t payload_bytes = 0) {
  static std::mt19937_64 random(42);
  model::SpanBatch batch;
  model::ResourceSpans& rs = batch.resource_spans.emplace_back();
  rs.resource.attributes = {{"service.name", AnyValue("svc")},
                            {"host.name", AnyValue("host-1")},
                            {"telemetry.sdk.language", AnyValue("cpp")}};
  model::ScopeSpans& ss = rs.scope_spans.emplace_back();
  ss.scope.name = "io.opentelemetry.http";
  ss.scope.version = "1.0.0";
  for (uint32_t i = first; i < first + count; ++i) {
    model::Span s;
    s.trace_id = TraceIdOf(i / 10);
    s.span_id = SpanIdOf(i);
    if (i % 10 != 0) s.parent_span_id = SpanIdOf(i - i % 10);
    s.name = i % 2 ? "GET /api/orders/{id}" : "SELECT orders";
    s.kind = i % 2 ? model::SpanKind::kServer : model::SpanKind::kClient;
    s.start_time_unix_nano = start + static_cast<uint64_t>(i - first) * 1000;
    s.end_time_unix_nano = s.start_time_unix_nano + 1000 + (i * 7919) % 250000;
    s.attributes = {
        {"http.method", AnyValue(i % 3 ? "GET" : "POST")},
        {"http.route", AnyValue("/api/orders/{id}")},
        {"http.status_code", AnyValue(int64_t{i % 17 ? 200 : 500})},
        {"http.url", AnyValue(fmt::format("https://shop.example.com/api/orders/{}", i % 5000))},
        {"net.peer.ip", AnyValue(fmt::format("10.0.{}.{}", i % 7, i % 251))},
        {"user.id", AnyValue(int64_t{i % 1000})},
        {"db.rows", AnyValue(int64_t{i % 97})},
        {"cache.hit", AnyValue(i % 4 == 0)},
        {"thread.name", AnyValue("worker-3")},
        {"ratio", AnyValue(static_cast<double>(i % 100) / 7.0)},
    };
    if (payload_bytes > 0) {
      std::string payload(payload_bytes, '\0');
      for (char& c : payload) c = static_cast<char>(random());
      s.attributes.push_back({"payload", AnyValue(model::Bytes{payload})});
    }
    ss.spans.push_back(std::move(s));
  }
  return batch;
}

size_t CountAll(Backend& backend) {
  query::SearchQuery q;
  q.range = {0, UINT64_MAX};
  q.page_size = query::kMaxPageSize;
  size_t n = 0;
  while (true) {
    absl::StatusOr<query::SearchResult> page = backend.Search(q);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) return n;
    n += page->spans.size();
    if (!page->next) return n;
    q.after = page->next;
  }
}

// The trace index as schema version 3 had it, as a binary before migration 004 wrote it: each
// trace's 8-byte span ids in its block's order, and an index by block. `version` (<= 3) is the
// schema version the store then claims.
void RestoreVersion3TraceIndex(const std::string& db_path, int version = 3) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  std::vector<std::tuple<int64_t, TraceId, std::string>> rows;
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT block_id, data FROM blocks", -1, &stmt, nullptr),
            SQLITE_OK);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    const std::string_view data(static_cast<const char*>(sqlite3_column_blob(stmt, 1)),
                                static_cast<size_t>(sqlite3_column_bytes(stmt, 1)));
    absl::StatusOr<std::vector<model::StoredSpan>> spans =
        DecodeSpanBlock(data, SpanFields{SpanFields::kIds, {}});
    ASSERT_TRUE(spans.ok()) << spans.status();
    std::map<TraceId, std::string> ids;
    for (const model::StoredSpan& s : *spans) ids[s.span.trace_id].append(IdBytes(s.span.span_id));
    for (auto& [trace_id, blob] : ids) {
      rows.emplace_back(sqlite3_column_int64(stmt, 0), trace_id, std::move(blob));
    }
  }
  sqlite3_finalize(stmt);
  ASSERT_EQ(sqlite3_exec(db,
                         "ALTER TABLE trace_blocks RENAME COLUMN span_fingerprints TO span_ids;"
                         "CREATE INDEX trace_blocks_by_block ON trace_blocks (block_id);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  ASSERT_EQ(sqlite3_prepare_v2(
                db, "UPDATE trace_blocks SET span_ids = ? WHERE trace_id = ? AND block_id = ?",
                -1, &stmt, nullptr),
            SQLITE_OK);
  for (const auto& [block_id, trace_id, blob] : rows) {
    sqlite3_bind_blob(stmt, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 2, trace_id.data(), static_cast<int>(trace_id.size()), SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, block_id);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_DONE);
    ASSERT_EQ(sqlite3_changes(db), 1);
    sqlite3_reset(stmt);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  ASSERT_TRUE(ExecSql(db_path, fmt::format("PRAGMA user_version = {}", version)));
}

// The trace index's rows, one line each: trace id, block id, stored span ids or fingerprints.
std::vector<std::string> TraceIndexRows(const std::string& db_path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db,
                               "SELECT hex(trace_id), block_id, hex(span_fingerprints) "
                               "FROM trace_blocks ORDER BY trace_id, block_id",
                               -1, &stmt, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  std::vector<std::string> rows;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    rows.push_back(fmt::format("{} {} {}",
                               reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)),
                               sqlite3_column_int64(stmt, 1),
                               reinterpret_cast<const char*>(sqlite3_column_text(stmt, 2))));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return rows;
}

TEST(SqliteBackendTest, ReopenKeepsDataAndSystemId) {
  std::string dir = NewTestDir();
  std::string system_id;
  {
    std::unique_ptr<Backend> backend = MustOpen({{"path", dir}});
    ASSERT_TRUE(backend->WriteSpans(MakeBatch(0, 25, 1700000000000000000ULL), 7).ok());
    system_id = *backend->SystemId();
  }
  std::unique_ptr<Backend> backend = MustOpen({{"path", dir}});
  EXPECT_EQ(*backend->SystemId(), system_id);
  EXPECT_EQ(CountAll(*backend), 25u);
  absl::StatusOr<query::TraceResult> trace = backend->GetTrace({TraceIdOf(1), 0, std::nullopt});
  ASSERT_TRUE(trace.ok()) << trace.status();
  ASSERT_EQ(trace->spans.size(), 10u);
  EXPECT_EQ(trace->spans[0].ingestion_time_unix_nano, 7u);
  // Rewriting after the reopen still stores nothing twice.
  ASSERT_TRUE(backend->WriteSpans(MakeBatch(0, 30, 1700000000000000000ULL), 8).ok());
  EXPECT_EQ(CountAll(*backend), 30u);
}

TEST(SqliteBackendTest, DifferentStoresHaveDifferentSystemIds) {
  std::unique_ptr<Backend> a = MustOpen({{"path", NewTestDir()}});
  std::unique_ptr<Backend> b = MustOpen({{"path", NewTestDir()}});
  EXPECT_NE(*a->SystemId(), *b->SystemId());
}

TEST(SqliteBackendTest, MigrationsApplyOnceAndReopenIsIdempotent) {
  std::string dir = NewTestDir();
  for (int i = 0; i < 3; ++i) {
    std::unique_ptr<Backend> backend = MustOpen({{"path", dir}});
    ASSERT_NE(backend, nullptr);
    ASSERT_TRUE(backend->WriteSpans(MakeBatch(static_cast<uint32_t>(i) * 10, 10, 1000), 1).ok());
  }
  const std::string db = DbPath(dir);
  EXPECT_EQ(QueryInt(db, "PRAGMA user_version"),
            static_cast<int64_t>(std::size(sqlite::kMigrations)));
  EXPECT_EQ(QueryInt(db, "PRAGMA auto_vacuum"), 2);  // INCREMENTAL
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM blocks"), 3);
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM trace_blocks"), 3);
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM block_summaries"), 3);
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM block_value_counts"), 3);
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM block_groups"), 3);
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM block_group_attributes"), 3);
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM block_key_catalogs"), 3);
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM key_catalogs"), 1);  // the blocks' keys are alike
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM meta"), 2);  // system_id, operations_from_block
  EXPECT_EQ(QueryInt(db, "SELECT value FROM meta WHERE key = 'operations_from_block'"), 1);
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM operations"), 2);  // svc: a server and a client name
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                         "name IN ('blocks_by_max_start', 'blocks_by_min_start')"),
            2);
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM sqlite_master WHERE name = "
                         "'trace_blocks_by_block'"),
            0);  // dropped by migration 004
  EXPECT_EQ(QueryInt(db, "SELECT sum(length(span_fingerprints)) FROM trace_blocks"),
            30 * static_cast<int64_t>(sqlite::kFingerprintBytes));
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(raw);
}

// Migration 004 turns a version-3 store's 8-byte span ids into the fingerprints a new store
// writes, row for row, and drops the index by block; the store then reads, dedupes and retains as
// a new one.
TEST(SqliteBackendTest, MigrationToSpanFingerprintsRewritesTheTraceIndex) {
  const std::string dir = NewTestDir();
  const BackendSettings settings = {
      {"path", dir}, {"block_spans", "7"}, {"retention_max_age", "0"}};
  std::vector<std::string> written;
  {
    std::unique_ptr<Backend> backend = MustOpen(settings);
    ASSERT_TRUE(backend->WriteSpans(MakeBatch(0, 250, 1000000), 1).ok());
    written = TraceIndexRows(DbPath(dir));
  }
  ASSERT_EQ(written.size(), 57u);  // 36 blocks of 7 (the last of 5), ten-span traces across them
  RestoreVersion3TraceIndex(DbPath(dir));
  ASSERT_EQ(QueryInt(DbPath(dir), "SELECT sum(length(span_ids)) FROM trace_blocks"), 250 * 8);

  std::unique_ptr<Backend> backend = MustOpen(settings);
  EXPECT_EQ(QueryInt(DbPath(dir), "PRAGMA user_version"),
            static_cast<int64_t>(std::size(sqlite::kMigrations)));
  EXPECT_EQ(TraceIndexRows(DbPath(dir)), written);
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM sqlite_master WHERE name = "
                                  "'trace_blocks_by_block'"),
            0);
  // Rewriting every span stores none twice; new spans of the stored traces are stored.
  ASSERT_TRUE(backend->WriteSpans(MakeBatch(0, 300, 1000000), 2).ok());
  EXPECT_EQ(CountAll(*backend), 300u);
  absl::StatusOr<query::TraceResult> trace = backend->GetTrace({TraceIdOf(7), 0, std::nullopt});
  ASSERT_TRUE(trace.ok()) << trace.status();
  EXPECT_EQ(trace->spans.size(), 10u);
  // Retention of every block (all from 1970) empties the index: each block's rows are found
  // from its trace ids, a damaged block's by reading the whole index.
  ASSERT_TRUE(ExecSql(DbPath(dir), "UPDATE blocks SET data = x'00' WHERE block_id = 3"));
  backend.reset();
  backend = MustOpen({{"path", dir}, {"retention_max_age", "1h"}});
  ASSERT_TRUE(backend->EnforceRetention().ok());
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM blocks"), 0);
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM trace_blocks"), 0);
}

// Span ids whose fingerprints collide: the commit decodes the block the fingerprint names and
// finds the id is new, so both spans are stored; a rewrite of either is still found.
TEST(SqliteBackendTest, SpansWhoseFingerprintsCollideAreBothStored) {
  std::map<uint32_t, uint32_t> seen;  // fingerprint -> n of SpanIdOf(n)
  std::pair<uint32_t, uint32_t> pair{0, 0};
  for (uint32_t n = 0; pair.second == 0; ++n) {
    auto [it, inserted] = seen.emplace(sqlite::SpanFingerprint(SpanIdOf(n)), n);
    if (!inserted) pair = {it->second, n};
  }
  ASSERT_NE(SpanIdOf(pair.first), SpanIdOf(pair.second));
  auto one_span = [](uint32_t n, uint64_t start) {
    model::SpanBatch batch = MakeBatch(n, 1, start);
    batch.resource_spans[0].scope_spans[0].spans[0].trace_id = TraceIdOf(1);
    return batch;
  };
  const std::string dir = NewTestDir();
  std::unique_ptr<Backend> backend = MustOpen({{"path", dir}, {"retention_max_age", "0"}});
  ASSERT_TRUE(backend->WriteSpans(one_span(pair.first, 1000), 1).ok());
  ASSERT_TRUE(backend->WriteSpans(one_span(pair.second, 2000), 1).ok());
  ASSERT_TRUE(backend->WriteSpans(one_span(pair.first, 1000), 1).ok());
  ASSERT_TRUE(backend->WriteSpans(one_span(pair.second, 2000), 1).ok());
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM trace_blocks"), 2);
  absl::StatusOr<query::TraceResult> trace = backend->GetTrace({TraceIdOf(1), 0, std::nullopt});
  ASSERT_TRUE(trace.ok()) << trace.status();
  ASSERT_EQ(trace->spans.size(), 2u);
  EXPECT_EQ(trace->spans[0].span.span_id, SpanIdOf(pair.first));
  EXPECT_EQ(trace->spans[1].span.span_id, SpanIdOf(pair.second));
}

TEST(SqliteBackendTest, MigrationFilesAreNumberedInOrder) {
  ASSERT_GE(std::size(sqlite::kMigrations), 1u);
  EXPECT_EQ(sqlite::kMigrations[0].name, "001_initial.sql");
  for (size_t i = 0; i < std::size(sqlite::kMigrations); ++i) {
    EXPECT_EQ(sqlite::kMigrations[i].name.substr(0, 4), fmt::format("{:03d}_", i + 1));
  }
}

TEST(SqliteBackendTest, RefusesANewerSchema) {
  std::string dir = NewTestDir();
  MustOpen({{"path", dir}});
  ASSERT_TRUE(ExecSql(DbPath(dir), "PRAGMA user_version = 99"));
  absl::StatusOr<std::unique_ptr<Backend>> backend = NewSqliteBackend({{"path", dir}});
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(backend.status().message(),
            fmt::format("sqlite: migrate {}: database schema version 99 is newer than this binary "
                        "supports ({})",
                        DbPath(dir), std::size(sqlite::kMigrations)));
}

TEST(SqliteBackendTest, CreatesTheDataDirectory) {
  std::string dir = NewTestDir() + "/nested/deeper";
  ASSERT_NE(MustOpen({{"path", dir}}), nullptr);
  EXPECT_TRUE(std::filesystem::exists(DbPath(dir)));
}

TEST(SqliteBackendTest, UnusableDataDirectoryIsUnavailable) {
  std::string dir = NewTestDir();
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/file") << "x";
  absl::StatusOr<std::unique_ptr<Backend>> backend =
      NewSqliteBackend({{"path", dir + "/file/sub"}});
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(
      std::string(backend.status().message()),
      ::testing::StartsWith(fmt::format("sqlite: create data directory {}/file/sub: ", dir)));
}

TEST(SqliteBackendTest, RetentionByAgeDeletesOldBlocksOnly) {
  std::string dir = NewTestDir();
  std::unique_ptr<Backend> backend =
      MustOpen({{"path", dir}, {"retention_max_age", "72h"}, {"block_spans", "100"}});
  const uint64_t now = NowUnixNano();
  const uint64_t hour = uint64_t{3600} * 1000000000;
  // 300 spans from ten days ago, 200 from an hour ago, 100 from four days ago.
  ASSERT_TRUE(backend->WriteSpans(MakeBatch(0, 300, now - 240 * hour), now).ok());
  ASSERT_TRUE(backend->WriteSpans(MakeBatch(300, 200, now - hour), now).ok());
  ASSERT_TRUE(backend->WriteSpans(MakeBatch(500, 100, now - 96 * hour), now).ok());
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM blocks"), 6);

  ASSERT_TRUE(backend->EnforceRetention().ok());
  EXPECT_EQ(CountAll(*backend), 200u);
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM blocks"), 2);
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM block_summaries WHERE block_id IN "
                                  "(SELECT block_id FROM blocks)"),
            2);
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM block_summaries"), 2);
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM block_value_counts WHERE block_id IN "
                                  "(SELECT block_id FROM blocks)"),
            2);
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM block_value_counts"), 2);
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM block_groups WHERE block_id NOT IN "
                                  "(SELECT block_id FROM blocks)"),
            0);
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM block_groups"), 2);
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM block_group_attributes WHERE block_id "
                                  "IN (SELECT block_id FROM blocks)"),
            2);
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM block_group_attributes"), 2);
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM block_key_catalogs"), 2);
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM key_catalogs"), 1);
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM trace_blocks WHERE block_id NOT IN "
                                  "(SELECT block_id FROM blocks)"),
            0);
  EXPECT_EQ(backend->GetTrace({TraceIdOf(0), 0, std::nullopt}).status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<query::TraceResult> recent = backend->GetTrace({TraceIdOf(30), 0, std::nullopt});
  ASSERT_TRUE(recent.ok()) << recent.status();
  EXPECT_EQ(recent->spans.size(), 10u);
  // A second pass has nothing to do.
  ASSERT_TRUE(backend->EnforceRetention().ok());
  EXPECT_EQ(CountAll(*backend), 200u);
}

TEST(SqliteBackendTest, RetentionOffKeepsEverything) {
  std::unique_ptr<Backend> backend =
      MustOpen({{"path", NewTestDir()}, {"retention_max_age", "0"}});
  ASSERT_TRUE(backend->WriteSpans(MakeBatch(0, 50, 1000), 1).ok());  // 1970
  ASSERT_TRUE(backend->EnforceRetention().ok());
  EXPECT_EQ(CountAll(*backend), 50u);
}

TEST(SqliteBackendTest, RetentionBySizeDeletesOldestBlocksUntilUnderTheCap) {
  std::string dir = NewTestDir();
  const uint64_t cap = 1500000;
  std::unique_ptr<Backend> backend = MustOpen({{"path", dir},
                                               {"retention_max_age", "0"},
                                               {"retention_max_bytes", std::to_string(cap)},
                                               {"block_spans", "100"}});
  const uint64_t base = NowUnixNano() - uint64_t{3600} * 1000000000;
  // 40 writes of 100 spans with ~1 KB of incompressible payload each: ~4 MB, oldest first.
  for (uint32_t w = 0; w < 40; ++w) {
    ASSERT_TRUE(
        backend->WriteSpans(MakeBatch(w * 100, 100, base + w * uint64_t{1000000000}, 1000), 1)
            .ok());
  }
  EXPECT_GT(backend->DiskBytes(), 3 * cap);
  // The spans are still in the WAL (checkpoints come every 64 MiB): move them into the file.
  ASSERT_TRUE(ExecSql(DbPath(dir), "PRAGMA wal_checkpoint(TRUNCATE)"));
  // Readers map the file: read all of it first, so that the queries below run on connections
  // whose mapping is larger than the file retention leaves.
  EXPECT_EQ(CountAll(*backend), 4000u);
  const uintmax_t mapped_size = std::filesystem::file_size(DbPath(dir));
  ASSERT_TRUE(backend->EnforceRetention().ok());
  EXPECT_LT(std::filesystem::file_size(DbPath(dir)), mapped_size / 2);
  const uint64_t after = backend->DiskBytes();
  fmt::print("size retention: {} bytes on disk after enforcing a cap of {}\n", after, cap);
  EXPECT_LE(after, cap);
  const size_t kept = CountAll(*backend);
  EXPECT_GT(kept, 0u);
  EXPECT_LT(kept, 4000u);
  EXPECT_EQ(kept % 100, 0u);  // whole blocks go
  // The newest spans stay, the oldest go.
  EXPECT_TRUE(backend->GetTrace({TraceIdOf(399), 0, std::nullopt}).ok());
  EXPECT_EQ(backend->GetTrace({TraceIdOf(0), 0, std::nullopt}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM trace_blocks WHERE block_id NOT IN "
                                  "(SELECT block_id FROM blocks)"),
            0);
}

TEST(SqliteBackendTest, RetentionEndsOnAFileWithoutAutoVacuum) {
  // A database file that already had a table before our first migration keeps auto_vacuum off.
  std::string dir = NewTestDir();
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(ExecSql(DbPath(dir), "CREATE TABLE unrelated (x)"));
  std::unique_ptr<Backend> backend = MustOpen(
      {{"path", dir}, {"retention_max_bytes", "1"}, {"block_spans", "10"}});
  ASSERT_EQ(QueryInt(DbPath(dir), "PRAGMA auto_vacuum"), 0);
  ASSERT_TRUE(backend->WriteSpans(MakeBatch(0, 100, 1000, 500), 1).ok());
  ASSERT_TRUE(backend->EnforceRetention().ok());
  EXPECT_EQ(CountAll(*backend), 0u);
}

TEST(SqliteBackendTest, SplitsBlocksWhoseSpansAreTooLarge) {
  std::string dir = NewTestDir();
  std::unique_ptr<Backend> backend = MustOpen({{"path", dir}});
  // 100 spans of ~400 KB each (highly compressible) exceed one block's body limit four times over.
  // Each value differs: a block stores a repeated string value once.
  auto stack = [](size_t i) { return fmt::format("{}{}", i, std::string(400000, 'x')); };
  model::SpanBatch batch = MakeBatch(0, 100, 1000);
  auto& spans = batch.resource_spans[0].scope_spans[0].spans;
  for (size_t i = 0; i < spans.size(); ++i) spans[i].attributes.push_back({"stack", stack(i)});
  ASSERT_TRUE(backend->WriteSpans(batch, 1).ok());
  EXPECT_GE(QueryInt(DbPath(dir), "SELECT count(*) FROM blocks"), 3);
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT sum(span_count) FROM blocks"), 100);
  EXPECT_EQ(CountAll(*backend), 100u);
  absl::StatusOr<query::TraceResult> trace = backend->GetTrace({TraceIdOf(9), 0, std::nullopt});
  ASSERT_TRUE(trace.ok()) << trace.status();
  ASSERT_EQ(trace->spans.size(), 10u);
  EXPECT_EQ(trace->spans[0].span.attributes.back().value, AnyValue(stack(90)));
}

TEST(SqliteBackendTest, DiskBytesCountsTheDatabaseFiles) {
  std::string dir = NewTestDir();
  std::unique_ptr<Backend> backend = MustOpen({{"path", dir}});
  ASSERT_TRUE(backend->WriteSpans(MakeBatch(0, 100, 1000), 1).ok());
  uint64_t expected = std::filesystem::file_size(DbPath(dir));
  if (std::filesystem::exists(DbPath(dir) + "-wal")) {
    expected += std::filesystem::file_size(DbPath(dir) + "-wal");
  }
  EXPECT_EQ(backend->DiskBytes(), expected);
  EXPECT_GT(expected, 0u);
}

TEST(SqliteBackendTest, ConcurrentWritersAndReaders) {
  std::unique_ptr<Backend> backend = MustOpen({{"path", NewTestDir()}});
  std::vector<std::thread> threads;
  std::atomic<bool> failed{false};
  for (uint32_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (uint32_t b = 0; b < 10; ++b) {
        uint32_t first = (t * 10 + b) * 50;
        // Every batch is also written twice: concurrent retries must not duplicate.
        for (int repeat = 0; repeat < 2; ++repeat) {
          if (!backend->WriteSpans(MakeBatch(first, 50, 1000 + first * 1000), 1).ok()) {
            failed = true;
          }
        }
      }
    });
  }
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        query::SearchQuery q;
        q.range = {0, UINT64_MAX};
        if (!backend->Search(q).ok()) failed = true;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_FALSE(failed);
  EXPECT_EQ(CountAll(*backend), 2000u);
}

// The pipeline's two steps from several threads at once: groups of many blocks (built on the build
// workers), commits in another order than the prepares and concurrent with them and with readers,
// every write repeating half of another one's spans: each span is stored once, as one write's copy.
TEST(SqliteBackendTest, ConcurrentPreparesAndCommits) {
  std::unique_ptr<Backend> backend = MustOpen({{"path", NewTestDir()}, {"block_spans", "64"}});
  constexpr uint32_t kWrites = 8;
  constexpr uint32_t kSpans = 600;  // write w holds spans [300 w, 300 w + 600)
  std::vector<model::SpanBatch> batches;
  for (uint32_t w = 0; w < kWrites; ++w) {
    batches.push_back(MakeBatch(w * kSpans / 2, kSpans, 1000000 + w * 1000000));
  }
  std::vector<std::unique_ptr<Backend::PreparedWrite>> prepared(kWrites);
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  // Writes 0-3 are prepared first, then committed (newest first) while 4-7 are prepared.
  for (uint32_t w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      prepared[w] = backend->PrepareWrite(std::move(batches[w]), 100 + w);
    });
  }
  for (std::thread& t : threads) t.join();
  threads.clear();
  threads.emplace_back([&] {
    for (int w = 3; w >= 0; --w) {
      if (!backend->CommitWrite(*prepared[static_cast<size_t>(w)]).ok()) failed = true;
    }
  });
  for (uint32_t w = 4; w < kWrites; ++w) {
    threads.emplace_back([&, w] {
      prepared[w] = backend->PrepareWrite(std::move(batches[w]), 100 + w);
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 10; ++i) {
      query::SearchQuery q;
      q.range = {0, UINT64_MAX};
      if (!backend->Search(q).ok()) failed = true;
    }
  });
  for (std::thread& t : threads) t.join();
  threads.clear();
  for (uint32_t w = 4; w < kWrites; ++w) {
    threads.emplace_back([&, w] {
      if (!backend->CommitWrite(*prepared[w]).ok()) failed = true;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_FALSE(failed);

  query::SearchQuery q;
  q.range = {0, UINT64_MAX};
  q.page_size = query::kMaxPageSize;
  std::set<uint64_t> ids;
  size_t spans = 0;
  while (true) {
    absl::StatusOr<query::SearchResult> page = backend->Search(q);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const model::StoredSpan& s : page->spans) {
      ++spans;
      uint64_t id = 0;
      for (uint8_t b : s.span.span_id) id = id << 8 | b;
      ids.insert(id);
      // A copy of one of the (at most two) writes that held this span.
      const uint64_t write = s.ingestion_time_unix_nano - 100;
      const uint64_t index = id & 0xffffffffu;  // SpanIdOf's number
      EXPECT_TRUE(index / 300 == write || index / 300 == write + 1) << index << " " << write;
    }
    if (!page->next) break;
    q.after = page->next;
  }
  EXPECT_EQ(spans, (kWrites + 1) * kSpans / 2);
  EXPECT_EQ(ids.size(), spans);
}

TEST(SqliteBackendTest, CorruptBlockIsDataLossNamingTheBlock) {
  std::string dir = NewTestDir();
  std::unique_ptr<Backend> backend = MustOpen({{"path", dir}});
  ASSERT_TRUE(backend->WriteSpans(MakeBatch(0, 10, 1000), 1).ok());
  ASSERT_TRUE(ExecSql(DbPath(dir), "UPDATE blocks SET data = x'0102'"));
  absl::StatusOr<query::TraceResult> trace = backend->GetTrace({TraceIdOf(0), 0, std::nullopt});
  EXPECT_EQ(trace.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(trace.status().message(),
            fmt::format("sqlite: get trace {}: block 1: span block: zstd: Unknown frame descriptor",
                        ToHex(TraceIdOf(0))));
}

TEST(SqliteBackendTest, BadSettingsAreRejectedNamingTheKey) {
  struct Case {
    BackendSettings settings;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{{"colour", "blue"}},
       "storage.sqlite.colour: unknown setting (known: path, retention_max_age, "
       "retention_max_bytes, block_spans, operations_max_bytes)"},
      {{{"path", ""}}, "storage.sqlite.path: invalid value \"\": must not be empty"},
      {{{"retention_max_age", "3 days"}},
       "storage.sqlite.retention_max_age: invalid value \"3 days\": unknown unit ' ' (want 0 or "
       "<number><unit> parts with unit ms, s, m, h, d or w)"},
      {{{"retention_max_age", "72"}},
       "storage.sqlite.retention_max_age: invalid value \"72\": want 0 or <number><unit> parts "
       "with unit ms, s, m, h, d or w"},
      {{{"retention_max_age", "-1h"}},
       "storage.sqlite.retention_max_age: invalid value \"-1h\": want 0 or <number><unit> parts "
       "with unit ms, s, m, h, d or w"},
      {{{"retention_max_bytes", "10 GB"}},
       "storage.sqlite.retention_max_bytes: invalid value \"10 GB\": want a number of bytes up to "
       "18446744073709551615, optionally with a unit KiB, MiB, GiB, TiB, KB, MB, GB or TB"},
      {{{"block_spans", "0"}},
       "storage.sqlite.block_spans: invalid value \"0\": want an integer from 1 to 65536"},
      {{{"block_spans", "70000"}},
       "storage.sqlite.block_spans: invalid value \"70000\": want an integer from 1 to 65536"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::unique_ptr<Backend>> backend = NewSqliteBackend(c.settings);
    EXPECT_EQ(backend.status().code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_EQ(backend.status().message(), c.message);
  }
}

// ---------------------------------------------------------------------------------------------
// Block summaries: a filtered scan decodes only blocks that may hold a match, and answers exactly
// as a scan of every span does.

query::Filter Filter(std::string_view key, query::Operator op,
                     std::optional<query::Scalar> value = std::nullopt,
                     std::vector<query::Scalar> values = {}) {
  query::Filter f;
  absl::StatusOr<query::Key> k = query::ParseKey(key, "filters[0]");
  EXPECT_TRUE(k.ok()) << k.status();
  if (k.ok()) f.key = *k;
  f.op = op;
  f.value = std::move(value);
  f.values = std::move(values);
  absl::Status st = query::ValidateFilter(f, "filters[0]");
  EXPECT_TRUE(st.ok()) << st;
  return f;
}

query::Key KeyOf(std::string_view text) {
  absl::StatusOr<query::Key> k = query::ParseKey(text, "key");
  EXPECT_TRUE(k.ok()) << k.status();
  return k.ok() ? *k : query::Key{};
}

// Every matching span, paging through Search.
std::vector<std::string> SearchIds(Backend& backend, std::vector<query::Filter> filters) {
  query::SearchQuery q;
  q.range = {0, UINT64_MAX};
  q.filters = std::move(filters);
  q.page_size = 7;  // several pages even for small answers
  std::vector<std::string> ids;
  while (true) {
    absl::StatusOr<query::SearchResult> page = backend.Search(q);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) return ids;
    for (const model::StoredSpan& s : page->spans) ids.push_back(ToHex(s.span.span_id));
    if (!page->next) return ids;
    q.after = page->next;
  }
}

// Every stored span, read without filters (so without summaries).
std::vector<model::StoredSpan> AllSpans(Backend& backend) {
  std::vector<model::StoredSpan> spans;
  for (uint32_t t = 0; t < 100; ++t) {
    absl::StatusOr<query::TraceResult> trace = backend.GetTrace({TraceIdOf(t), 0, std::nullopt});
    if (trace.ok()) spans.insert(spans.end(), trace->spans.begin(), trace->spans.end());
  }
  return spans;
}

// What a scan of every span returns, in Search's default order (start time descending).
std::vector<std::string> ExpectedIds(const std::vector<model::StoredSpan>& all,
                                     const std::vector<query::Filter>& filters) {
  std::vector<const model::StoredSpan*> matching;
  query::SpanMatcher matcher(filters);
  for (const model::StoredSpan& s : all) {
    if (matcher.Matches(s)) matching.push_back(&s);
  }
  std::sort(matching.begin(), matching.end(), [](const auto* a, const auto* b) {
    return a->span.start_time_unix_nano > b->span.start_time_unix_nano;
  });
  std::vector<std::string> ids;
  for (const auto* s : matching) ids.push_back(ToHex(s->span.span_id));
  return ids;
}

// 1,000 spans in ten blocks of 100; user.id (an int) is i, so each value lies in one block.
std::unique_ptr<Backend> TenBlockStore(const std::string& dir) {
  std::unique_ptr<Backend> backend =
      MustOpen({{"path", dir}, {"block_spans", "100"}, {"retention_max_age", "0"}});
  EXPECT_TRUE(backend->WriteSpans(MakeBatch(0, 1000, 1000000), 1).ok());
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM blocks"), 10);
  return backend;
}

// Blocks decoded whole, decoded in part and pruned by `fn`.
struct Decoded {
  uint64_t whole = 0;
  uint64_t projected = 0;
  uint64_t pruned = 0;
  bool operator==(const Decoded&) const = default;
  friend std::ostream& operator<<(std::ostream& os, const Decoded& d) {
    return os << "{whole " << d.whole << ", projected " << d.projected << ", pruned " << d.pruned
              << "}";
  }
};

template <typename Fn>
Decoded BlocksRead(const Backend& backend, Fn&& fn) {
  sqlite::SqliteScanStats before = sqlite::GetScanStats(backend);
  fn();
  sqlite::SqliteScanStats after = sqlite::GetScanStats(backend);
  return {after.blocks_decoded - before.blocks_decoded,
          after.blocks_projected - before.blocks_projected,
          after.blocks_pruned - before.blocks_pruned};
}

// Whole spans built by `fn`'s searches.
template <typename Fn>
uint64_t SpansBuilt(const Backend& backend, Fn&& fn) {
  const uint64_t before = sqlite::GetScanStats(backend).spans_built;
  fn();
  return sqlite::GetScanStats(backend).spans_built - before;
}

// A search reads a block's times (or filter keys) first and builds only the spans that can enter
// the page: of one block, at most the page and one more.
TEST(SqliteSearchTest, BuildsOnlyTheSpansThatCanEnterThePage) {
  std::unique_ptr<Backend> backend = TenBlockStore(NewTestDir());
  query::SearchQuery newest;
  newest.range = {0, UINT64_MAX};
  newest.page_size = 5;
  absl::StatusOr<query::SearchResult> page;
  uint64_t built = 0;
  // The newest block holds the page; the next one's newest span is older than the page's last.
  EXPECT_EQ(BlocksRead(*backend, [&] { built = SpansBuilt(*backend, [&] {
                         page = backend->Search(newest);
                       }); }),
            (Decoded{1, 1, 0}));
  EXPECT_EQ(built, 6u);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->spans.size(), 5u);
  for (uint32_t i = 0; i < 5; ++i) EXPECT_EQ(page->spans[i].span.span_id, SpanIdOf(999 - i));
  EXPECT_TRUE(page->next.has_value());

  // A rare value: its one span, not its block's hundred.
  EXPECT_EQ(SpansBuilt(*backend, [&] {
              SearchIds(*backend, {Filter("span.attributes.user.id", query::Operator::kEquals,
                                          query::Scalar(int64_t{123}))});
            }),
            1u);
}

// Many spans share a start time or a duration across blocks: every page, in every sort order,
// is the memory backend's, and paging returns each span once.
TEST(SqliteSearchTest, PagesThroughTiesAcrossBlocksAsTheScanEngine) {
  std::unique_ptr<Backend> sqlite =
      MustOpen({{"path", NewTestDir()}, {"block_spans", "20"}, {"retention_max_age", "0"}});
  std::unique_ptr<Backend> oracle = memory::NewMemoryBackend();
  model::SpanBatch batch = MakeBatch(0, 300, 1000000);
  std::vector<model::Span>& spans = batch.resource_spans[0].scope_spans[0].spans;
  for (uint32_t i = 0; i < spans.size(); ++i) {
    spans[i].start_time_unix_nano = 1000000 + uint64_t{i / 45} * 1000;
    spans[i].end_time_unix_nano = spans[i].start_time_unix_nano + 1000 * (1 + (i * 7) % 3);
  }
  ASSERT_TRUE(sqlite->WriteSpans(batch, 1).ok());
  ASSERT_TRUE(oracle->WriteSpans(batch, 1).ok());
  for (query::SortField field : {query::SortField::kStartTime, query::SortField::kDuration}) {
    for (bool ascending : {false, true}) {
      for (size_t page_size : {1u, 7u, 50u}) {
        SCOPED_TRACE(fmt::format("sort {} ascending {} page {}", static_cast<int>(field),
                                 ascending, page_size));
        query::SearchQuery q;
        q.range = {0, UINT64_MAX};
        q.sort = {field, ascending};
        q.page_size = page_size;
        std::set<std::string> seen;
        while (true) {
          absl::StatusOr<query::SearchResult> got = sqlite->Search(q);
          absl::StatusOr<query::SearchResult> want = oracle->Search(q);
          ASSERT_TRUE(got.ok() && want.ok());
          ASSERT_EQ(got->spans.size(), want->spans.size());
          for (size_t i = 0; i < got->spans.size(); ++i) {
            EXPECT_EQ(got->spans[i].span, want->spans[i].span);
            EXPECT_TRUE(seen.insert(ToHex(got->spans[i].span.span_id)).second);
          }
          ASSERT_EQ(got->next.has_value(), want->next.has_value());
          if (!got->next) break;
          q.after = got->next;
        }
        EXPECT_EQ(seen.size(), 300u);
      }
    }
  }
}

// A filter that only a span holding its key with a value can match, on a key no stored span holds
// (the key catalogs say so), reads no block, not even its summary; negative operators and `exists`
// are not answered so (a span without the key meets the first, an empty value the second).
TEST(SqliteBlockSummaryTest, FiltersOnKeysNoSpanHoldsReadNoBlock) {
  std::unique_ptr<Backend> backend = TenBlockStore(NewTestDir());
  std::vector<std::string> ids;
  using query::Operator;
  for (const char* key : {"resource.attributes.user.id", "span.events.attributes.user.id",
                          "span.attributes.user"}) {
    for (Operator op : {Operator::kEquals, Operator::kGt}) {
      const std::vector<query::Filter> filters = {
          Filter(key, op, query::Scalar(int64_t{123}))};
      EXPECT_EQ(BlocksRead(*backend, [&] { ids = SearchIds(*backend, filters); }),
                (Decoded{0, 0, 0}))
          << key;
      EXPECT_TRUE(ids.empty()) << key;
    }
  }
  // Held at the span level: found.
  const std::vector<query::Filter> held = {
      Filter("span.attributes.user.id", Operator::kEquals, query::Scalar(int64_t{123}))};
  EXPECT_EQ(BlocksRead(*backend, [&] { ids = SearchIds(*backend, held); }), (Decoded{1, 1, 9}));
  EXPECT_THAT(ids, ElementsAre(ToHex(SpanIdOf(123))));
  // Every span lacks the key: all match its negation; none exists, found by reading.
  ids = SearchIds(*backend, {Filter("resource.attributes.user.id", Operator::kNotEquals,
                                    query::Scalar(int64_t{123}))});
  EXPECT_EQ(ids.size(), 1000u);
  EXPECT_NE(BlocksRead(*backend, [&] {
              ids = SearchIds(*backend, {Filter("resource.attributes.user.id", Operator::kExists,
                                                std::nullopt)});
            }),
            (Decoded{0, 0, 0}));
  EXPECT_TRUE(ids.empty());
}

TEST(SqliteBlockSummaryTest, RareValueDecodesOnlyItsBlock) {
  std::unique_ptr<Backend> backend = TenBlockStore(NewTestDir());
  const std::vector<query::Filter> rare = {
      Filter("span.attributes.user.id", query::Operator::kEquals, query::Scalar(int64_t{123}))};
  std::vector<std::string> ids;
  EXPECT_EQ(BlocksRead(*backend, [&] { ids = SearchIds(*backend, rare); }),
            (Decoded{1, 1, 9}));
  EXPECT_THAT(ids, ElementsAre(ToHex(SpanIdOf(123))));

  // Not in the store, and (the filter is deterministic) no false positive in any of its blocks;
  // 5000 would have two, the ~1% the filter is sized for.
  const std::vector<query::Filter> absent = {
      Filter("span.attributes.user.id", query::Operator::kEquals, query::Scalar(int64_t{5001}))};
  EXPECT_EQ(BlocksRead(*backend, [&] { ids = SearchIds(*backend, absent); }),
            (Decoded{0, 0, 10}));
  EXPECT_TRUE(ids.empty());

  // Tag values, statistics and histograms prune the same way.
  query::TagValuesQuery tv{KeyOf("span.attributes.http.method"), query::TimeRange{}, rare, 0};
  absl::StatusOr<query::TagValuesResult> values;
  EXPECT_EQ(BlocksRead(*backend, [&] { values = backend->TagValues(tv); }),
            (Decoded{0, 1, 9}));
  ASSERT_TRUE(values.ok()) << values.status();
  ASSERT_EQ(values->values.size(), 1u);
  EXPECT_EQ(values->values[0], (query::TagValueCount{std::string("POST"), 1}));

  query::StatisticsQuery st{KeyOf("span.attributes.db.rows"), {}, absent, {{"count", 0}}};
  absl::StatusOr<query::StatisticsResult> stats;
  EXPECT_EQ(BlocksRead(*backend, [&] { stats = backend->Statistics(st); }),
            (Decoded{0, 0, 10}));
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_TRUE(stats->empty());

  query::HistogramQuery h;
  h.filters = rare;
  h.interval_nano = 1000000000;
  query::Aggregation count;
  count.label = "count";
  count.func = query::AggregationFunc::kCount;
  h.aggregations = {count};
  absl::StatusOr<query::HistogramResult> histograms;
  EXPECT_EQ(BlocksRead(*backend, [&] { histograms = backend->Histograms(h); }),
            (Decoded{0, 1, 9}));
  ASSERT_TRUE(histograms.ok()) << histograms.status();
  ASSERT_EQ(histograms->size(), 1u);
  ASSERT_EQ((*histograms)[0].buckets.size(), 1u);
  EXPECT_EQ(std::get<uint64_t>((*histograms)[0].buckets[0].data), 1u);
}

// A filter that needs a key no span of a block has skips the block by its key presence terms,
// whatever the operator or level; one whose key every block has decodes them all.
TEST(SqliteBlockSummaryTest, AbsentKeysSkipBlocksForEveryPositiveOperator) {
  const std::string dir = NewTestDir();
  std::unique_ptr<Backend> backend = TenBlockStore(dir);
  const std::vector<query::Filter> absent_keys = {
      Filter("span.attributes.nothing", query::Operator::kExists),
      Filter("span.attributes.nothing", query::Operator::kGt, query::Scalar(int64_t{1})),
      Filter("span.events.attributes.exception.type", query::Operator::kEquals,
             query::Scalar(std::string("Timeout"))),
      Filter("span.links.attributes.link.kind", query::Operator::kExists),
      Filter("resource.attributes.user.id", query::Operator::kContains,
             query::Scalar(std::string("1")))};
  // With the key catalogs, all but `exists` are answered before any block
  // (FiltersOnKeysNoSpanHoldsReadNoBlock); without them (blocks written before migration 006),
  // by the summaries.
  for (bool catalogs : {true, false}) {
    if (!catalogs) {
      ASSERT_TRUE(ExecSql(DbPath(dir), "DELETE FROM block_key_catalogs"));
    }
    for (const query::Filter& absent : absent_keys) {
      std::vector<std::string> ids;
      const bool exists = absent.op == query::Operator::kExists;
      EXPECT_EQ(BlocksRead(*backend, [&] { ids = SearchIds(*backend, {absent}); }),
                (Decoded{0, 0, catalogs && !exists ? 0u : 10u}))
          << absent.key.text << (catalogs ? " with catalogs" : "");
      EXPECT_TRUE(ids.empty());
    }
  }
  // db.rows (i % 97) is on every span; it exceeds 95 on ten of them, one per block.
  query::SearchQuery q;
  q.range = {0, UINT64_MAX};
  q.filters = {
      Filter("span.attributes.db.rows", query::Operator::kGt, query::Scalar(int64_t{95}))};
  absl::StatusOr<query::SearchResult> page;
  EXPECT_EQ(BlocksRead(*backend, [&] { page = backend->Search(q); }), (Decoded{10, 10, 0}));
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->spans.size(), 10u);
}

// Without stored calls (blocks written before them), calls whose spans share a block are counted
// from that block's ids, services and statuses; only a parent in another block costs a second
// (projected) read of that block, once.
TEST(SqliteBackendTest, DependenciesReadParentsElsewhereOnce) {
  const query::DependenciesQuery all{{0, UINT64_MAX}, "", 1000};
  absl::StatusOr<query::DependenciesResult> deps;
  {
    // Ten-span traces in 100-span blocks: every call within its block.
    const std::string dir = NewTestDir();
    std::unique_ptr<Backend> backend = TenBlockStore(dir);
    ASSERT_TRUE(ExecSql(DbPath(dir), "DELETE FROM block_calls"));
    EXPECT_EQ(BlocksRead(*backend, [&] { deps = backend->Dependencies(all); }),
              (Decoded{0, 10, 0}));
    ASSERT_TRUE(deps.ok()) << deps.status();
    EXPECT_EQ(*deps, (query::DependenciesResult{{{"svc", "svc", 900, 0}}, false}));
  }
  // In 95-span blocks, the traces at 90, 280, 470, 660 and 850 straddle a block edge: five calls
  // each whose parent (the trace's first span) is in the block before.
  const std::string dir = NewTestDir();
  std::unique_ptr<Backend> backend =
      MustOpen({{"path", dir}, {"block_spans", "95"}, {"retention_max_age", "0"}});
  ASSERT_TRUE(backend->WriteSpans(MakeBatch(0, 1000, 1000000), 1).ok());
  ASSERT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM blocks"), 11);
  ASSERT_TRUE(ExecSql(DbPath(dir), "DELETE FROM block_calls"));
  EXPECT_EQ(BlocksRead(*backend, [&] { deps = backend->Dependencies(all); }),
            (Decoded{0, 11 + 5, 0}));
  ASSERT_TRUE(deps.ok()) << deps.status();
  EXPECT_EQ(*deps, (query::DependenciesResult{{{"svc", "svc", 900, 0}}, false}));

  // At most 20 calls wait for their parent: the fifth straddling trace's do not, and the answer
  // says it is partial.
  EXPECT_EQ(BlocksRead(*backend,
                       [&] { deps = backend->Dependencies({{0, UINT64_MAX}, "", 20}); }),
            (Decoded{0, 11 + 4, 0}));
  ASSERT_TRUE(deps.ok()) << deps.status();
  EXPECT_EQ(*deps, (query::DependenciesResult{{{"svc", "svc", 895, 0}}, true}));
}

// Dependencies read each block wholly inside their range from its stored calls (the calls whose
// parents were written with them, and the others to join); a block at the range's edge, one whose
// parents in other blocks the range does not hold or retention may have deleted, and one whose
// calls are unreadable or missing are decoded. Every answer equals decoding's.
TEST(SqliteBlockCallsTest, DependenciesAreReadFromTheBlocksStoredCalls) {
  const std::string dir = NewTestDir();
  std::unique_ptr<Backend> backend =
      MustOpen({{"path", dir}, {"block_spans", "95"}, {"retention_max_age", "0"}});
  // 11 blocks; the traces at 90, 280, 470, 660 and 850 straddle a block edge.
  ASSERT_TRUE(backend->WriteSpans(MakeBatch(0, 1000, 1000000), 1).ok());
  // Then ten calls into the first ten traces' roots, written apart from their parents.
  model::SpanBatch late = MakeBatch(2000, 10, 4000000);
  uint32_t trace = 0;
  for (model::Span& s : late.resource_spans[0].scope_spans[0].spans) {
    s.trace_id = TraceIdOf(trace);
    s.parent_span_id = SpanIdOf(trace++ * 10);
  }
  ASSERT_TRUE(backend->WriteSpans(std::move(late), 2).ok());
  ASSERT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM block_calls"), 12);
  struct Read {
    query::DependenciesResult deps;
    Decoded decoded;
    uint64_t whole = 0;
  };
  auto read = [&](query::TimeRange range) {
    Read out;
    const uint64_t before = sqlite::GetScanStats(*backend).blocks_whole;
    out.decoded = BlocksRead(*backend, [&] {
      absl::StatusOr<query::DependenciesResult> deps = backend->Dependencies({range, "", 1000});
      EXPECT_TRUE(deps.ok()) << deps.status();
      if (deps.ok()) out.deps = *deps;
    });
    out.whole = sqlite::GetScanStats(*backend).blocks_whole - before;
    return out;
  };
  const query::TimeRange all{0, UINT64_MAX};
  const query::TimeRange cut{1200000, 1700000};      // blocks 2 and 7 in part
  const query::TimeRange block5{1475000, 1569000};   // block 5 exactly, not its parents in block 4
  const Read whole_all = read(all), whole_cut = read(cut), whole_5 = read(block5);
  EXPECT_EQ(whole_all.deps, (query::DependenciesResult{{{"svc", "svc", 910, 0}}, false}));
  // The late calls' parents are joined: block 0, where they all are, is decoded.
  EXPECT_EQ(whole_all.whole, 12u);
  EXPECT_EQ(whole_all.decoded, (Decoded{0, 1, 0}));
  // Blocks 3-6 from their calls; 2 and 7 decoded, and block 6 for the parent of 7's open calls.
  EXPECT_EQ(whole_cut.whole, 4u);
  EXPECT_EQ(whole_cut.decoded, (Decoded{0, 3, 0}));
  EXPECT_EQ(whole_cut.deps.edges.size(), 1u);
  // Block 5's calls into block 4 are outside the range: it is decoded, they are not counted.
  EXPECT_EQ(whole_5.whole, 0u);
  EXPECT_EQ(whole_5.decoded, (Decoded{0, 2, 0}));
  EXPECT_EQ(whole_5.deps, (query::DependenciesResult{{{"svc", "svc", 81, 0}}, false}));

  // Retention deleted a block that ended at 1,470,000: blocks 1, 3 and 5, whose parents elsewhere
  // start no later, are decoded, with the parents' blocks 0, 2 and 4.
  ASSERT_TRUE(ExecSql(DbPath(dir), "INSERT INTO meta (key, value) "
                                   "VALUES ('deleted_max_start', 1470000)"));
  Read marked = read(all);
  EXPECT_EQ(marked.deps, whole_all.deps);
  EXPECT_EQ(marked.whole, 9u);
  EXPECT_EQ(marked.decoded, (Decoded{0, 6, 0}));
  ASSERT_TRUE(ExecSql(DbPath(dir), "DELETE FROM meta WHERE key = 'deleted_max_start'"));

  // Unreadable calls and missing ones are decoded, with the same answers.
  ASSERT_TRUE(
      ExecSql(DbPath(dir), "UPDATE block_calls SET calls = X'01FF' WHERE block_id % 2 = 0"));
  const int64_t unreadable = QueryInt(DbPath(dir), "SELECT count(*) FROM block_calls "
                                                   "WHERE calls = X'01FF'");
  Read half = read(all);
  EXPECT_EQ(half.deps, whole_all.deps);
  EXPECT_EQ(half.whole, 12u - static_cast<uint64_t>(unreadable));
  ASSERT_TRUE(ExecSql(DbPath(dir), "DELETE FROM block_calls"));
  const Read decoded_all = read(all), decoded_cut = read(cut), decoded_5 = read(block5);
  EXPECT_EQ(decoded_all.whole, 0u);
  EXPECT_EQ(decoded_all.decoded, (Decoded{0, 12 + 5, 0}));
  EXPECT_EQ(decoded_all.deps, whole_all.deps);
  EXPECT_EQ(decoded_cut.deps, whole_cut.deps);
  EXPECT_EQ(decoded_5.deps, whole_5.deps);
}

// Tag values with a time budget stop reading blocks once it is spent and say the answer is
// partial; with time to spare they answer exactly as without one. Both paths: blocks answered
// from their value counts, and blocks decoded (a filter the counts cannot decide).
TEST(SqliteBackendTest, TagValuesStopWhenTheirTimeBudgetIsSpent) {
  std::unique_ptr<Backend> backend = TenBlockStore(NewTestDir());
  const std::vector<query::Filter> numeric = {
      Filter("span.attributes.db.rows", query::Operator::kGte, query::Scalar(int64_t{0}))};
  for (const std::vector<query::Filter>& filters : {std::vector<query::Filter>{}, numeric}) {
    SCOPED_TRACE(filters.empty() ? "counted" : "decoded");
    query::TagValuesQuery q{KeyOf("span.attributes.http.method"), query::TimeRange{}, filters, 0};
    absl::StatusOr<query::TagValuesResult> whole = backend->TagValues(q);
    ASSERT_TRUE(whole.ok()) << whole.status();
    EXPECT_FALSE(whole->partial);
    EXPECT_EQ(whole->values, (std::vector<query::TagValueCount>{{std::string("GET"), 666},
                                                                {std::string("POST"), 334}}));

    q.time_budget = std::chrono::milliseconds(0);
    absl::StatusOr<query::TagValuesResult> spent;
    EXPECT_EQ(BlocksRead(*backend, [&] { spent = backend->TagValues(q); }), (Decoded{0, 0, 0}));
    ASSERT_TRUE(spent.ok()) << spent.status();
    EXPECT_TRUE(spent->partial);
    EXPECT_TRUE(spent->values.empty());
    EXPECT_EQ(spent->total_distinct, 0u);

    q.time_budget = std::chrono::milliseconds(60000);
    absl::StatusOr<query::TagValuesResult> in_time = backend->TagValues(q);
    ASSERT_TRUE(in_time.ok()) << in_time.status();
    EXPECT_FALSE(in_time->partial);
    EXPECT_EQ(in_time->values, whole->values);
    EXPECT_EQ(in_time->total_distinct, 2u);
  }
}

// A query whose client hung up stops before reading another block, on every read path; the same
// queries on the same thread answer once no cancelled flag is installed.
TEST(SqliteBackendTest, ACancelledQueryStopsWithoutReadingBlocks) {
  std::unique_ptr<Backend> backend = TenBlockStore(NewTestDir());
  query::SearchQuery search;
  search.range = {0, UINT64_MAX};
  search.page_size = 10;
  query::HistogramQuery histogram;
  histogram.range = {0, UINT64_MAX};
  histogram.interval_nano = 1000000000;
  query::Aggregation count;
  count.label = "count";
  histogram.aggregations = {count};
  query::TagValuesQuery values{KeyOf("span.attributes.http.method"), query::TimeRange{}, {}, 0};
  auto run_all = [&] {
    return std::vector<absl::StatusCode>{
        backend->Search(search).status().code(), backend->Histograms(histogram).status().code(),
        backend->TagValues(values).status().code(),
        backend->GetTrace({TraceIdOf(1), 0, std::nullopt}).status().code(),
        backend->Dependencies({{0, UINT64_MAX}, "", 1000}).status().code()};
  };
  std::atomic<bool> hung_up{true};
  {
    ScopedCancellation cancellation(&hung_up);
    std::vector<absl::StatusCode> codes;
    EXPECT_EQ(BlocksRead(*backend, [&] { codes = run_all(); }), (Decoded{0, 0, 0}));
    EXPECT_THAT(codes, ::testing::Each(absl::StatusCode::kCancelled));
  }
  EXPECT_THAT(run_all(), ::testing::Each(absl::StatusCode::kOk));
}

// Filters the Bloom terms cannot prune read every block's filter keys, and decode whole only the
// blocks holding a match.
TEST(SqliteBlockSummaryTest, FiltersWithoutExactTermsReadEveryBlocksKeys) {
  std::unique_ptr<Backend> backend = TenBlockStore(NewTestDir());
  const std::vector<std::pair<query::Filter, uint64_t>> cases = {
      // Every block has a span other than 123.
      {Filter("span.attributes.user.id", query::Operator::kNotEquals, query::Scalar(int64_t{123})),
       10},
      // Only the last block holds user.id 999.
      {Filter("span.attributes.user.id", query::Operator::kGte, query::Scalar(int64_t{999})), 1},
      // No span.
      {Filter("span.attributes.http.url", query::Operator::kContains,
              query::Scalar(std::string("/orders/4999"))),
       0},
  };
  for (const auto& [f, whole] : cases) {
    query::SearchQuery q;
    q.filters = {f};
    q.page_size = query::kMaxPageSize;  // one page: each page of a search scans again
    EXPECT_EQ(BlocksRead(*backend, [&] { EXPECT_TRUE(backend->Search(q).ok()); }),
              (Decoded{whole, 10, 0}))
        << f.key.text;
  }
}

TEST(SqliteBlockSummaryTest, TypedFiltersAnswerExactlyAsAFullScan) {
  std::unique_ptr<Backend> backend = TenBlockStore(NewTestDir());
  const std::vector<model::StoredSpan> all = AllSpans(*backend);
  ASSERT_EQ(all.size(), 1000u);
  using query::Operator;
  using query::Scalar;
  struct Case {
    std::vector<query::Filter> filters;
    size_t matches;
  };
  const std::vector<Case> cases = {
      {{Filter("span.attributes.user.id", Operator::kEquals, Scalar(int64_t{123}))}, 1},
      {{Filter("span.attributes.user.id", Operator::kEquals, Scalar(123.0))}, 1},
      {{Filter("span.attributes.user.id", Operator::kEquals, Scalar(std::string("123")))}, 0},
      {{Filter("span.attributes.http.status_code", Operator::kEquals, Scalar(int64_t{500}))}, 59},
      {{Filter("span.attributes.http.status_code", Operator::kEquals,
               Scalar(std::string("500")))},
       0},
      {{Filter("span.attributes.user.id", Operator::kIn, std::nullopt,
               {Scalar(int64_t{5}), Scalar(std::string("7")), Scalar(999.0)})},
       2},
      {{Filter("span.attributes.ratio", Operator::kEquals, Scalar(3.0 / 7.0))}, 10},
      {{Filter("span.attributes.cache.hit", Operator::kEquals, Scalar(true))}, 250},
      {{Filter("span.attributes.cache.hit", Operator::kEquals, Scalar(std::string("true")))}, 0},
      {{Filter("resource.attributes.service.name", Operator::kEquals,
               Scalar(std::string("svc")))},
       1000},
      {{Filter("span.attributes.service.name", Operator::kEquals, Scalar(std::string("svc")))},
       0},
      {{Filter("span.name", Operator::kEquals, Scalar(std::string("SELECT orders"))),
        Filter("span.attributes.user.id", Operator::kEquals, Scalar(int64_t{42}))},
       1},
      {{Filter("span.kind", Operator::kEquals, Scalar(std::string("Server"))),
        Filter("span.attributes.user.id", Operator::kEquals, Scalar(int64_t{42}))},
       0},
      {{Filter("scope.name", Operator::kEquals, Scalar(std::string("io.opentelemetry.http"))),
        Filter("span.status.code", Operator::kEquals, Scalar(std::string("Unset")))},
       1000},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    std::vector<std::string> expected = ExpectedIds(all, c.filters);
    EXPECT_EQ(expected.size(), c.matches) << "case " << i;
    EXPECT_EQ(SearchIds(*backend, c.filters), expected) << "case " << i;
    // The collectors over every span are the reference for the aggregate queries.
    query::TagValuesQuery tv{KeyOf("span.attributes.http.method"), query::TimeRange{}, c.filters,
                             0};
    query::TagValuesCollector tv_reference(tv);
    query::StatisticsQuery st{KeyOf("span.attributes.db.rows"),
                              {},
                              c.filters,
                              {{"count", 0}, {"sum", 0}, {"p50", 50}}};
    query::StatisticsCollector st_reference(st);
    for (const model::StoredSpan& s : all) {
      tv_reference.Add(s);
      st_reference.Add(s);
    }
    absl::StatusOr<query::TagValuesResult> values = backend->TagValues(tv);
    ASSERT_TRUE(values.ok()) << values.status();
    query::TagValuesResult want_values = std::move(tv_reference).Finish();
    EXPECT_EQ(values->values, want_values.values) << "case " << i;
    EXPECT_EQ(values->total_distinct, want_values.total_distinct) << "case " << i;
    absl::StatusOr<query::StatisticsResult> stats = backend->Statistics(st);
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(*stats, std::move(st_reference).Finish()) << "case " << i;
  }
}

TEST(SqliteBlockSummaryTest, BlocksWrittenBeforeTheMigrationAreDecoded) {
  std::string dir = NewTestDir();
  TenBlockStore(dir);
  // Back to schema version 1, as a store written by a binary without summaries.
  RestoreVersion3TraceIndex(DbPath(dir), 1);
  ASSERT_TRUE(ExecSql(DbPath(dir), "DROP TABLE block_value_counts; DROP TABLE block_summaries"));
  std::unique_ptr<Backend> backend =
      MustOpen({{"path", dir}, {"block_spans", "100"}, {"retention_max_age", "0"}});
  EXPECT_EQ(QueryInt(DbPath(dir), "PRAGMA user_version"),
            static_cast<int64_t>(std::size(sqlite::kMigrations)));
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM block_summaries"), 0);
  const std::vector<query::Filter> rare = {
      Filter("span.attributes.user.id", query::Operator::kEquals, query::Scalar(int64_t{123}))};
  std::vector<std::string> ids;
  EXPECT_EQ(BlocksRead(*backend, [&] { ids = SearchIds(*backend, rare); }),
            (Decoded{1, 10, 0}));
  EXPECT_THAT(ids, ElementsAre(ToHex(SpanIdOf(123))));
  // New blocks get summaries: 500 more spans (user.id 0..499 again, later), five more blocks.
  ASSERT_TRUE(backend->WriteSpans(MakeBatch(1000, 500, 900000000), 1).ok());
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM block_summaries"), 5);
  const std::vector<query::Filter> old_only = {
      // 778: a value no term of the five new summaries collides with.
      Filter("span.attributes.user.id", query::Operator::kEquals, query::Scalar(int64_t{778}))};
  EXPECT_EQ(BlocksRead(*backend, [&] { ids = SearchIds(*backend, old_only); }),
            (Decoded{1, 10, 5}));
  EXPECT_THAT(ids, ElementsAre(ToHex(SpanIdOf(778))));
}

TEST(SqliteBlockSummaryTest, CorruptSummaryOnlyCostsTheDecode) {
  std::string dir = NewTestDir();
  std::unique_ptr<Backend> backend = TenBlockStore(dir);
  ASSERT_TRUE(ExecSql(DbPath(dir), "UPDATE block_summaries SET terms = x'0900'"));
  std::vector<std::string> ids;
  EXPECT_EQ(BlocksRead(*backend,
                       [&] {
                         ids = SearchIds(*backend, {Filter("span.attributes.user.id",
                                                           query::Operator::kEquals,
                                                           query::Scalar(int64_t{123}))});
                       }),
            (Decoded{1, 10, 0}));
  EXPECT_THAT(ids, ElementsAre(ToHex(SpanIdOf(123))));
}

// ---------------------------------------------------------------------------------------------
// Value counts: TagValues without filters reads the counts of blocks wholly inside the range
// instead of decoding them, and answers exactly as decoding does.

struct TagValuesRead {
  absl::StatusOr<query::TagValuesResult> result;
  uint64_t decoded = 0;
  uint64_t counted = 0;
};

TagValuesRead ReadTagValues(Backend& backend, const query::TagValuesQuery& q) {
  sqlite::SqliteScanStats before = sqlite::GetScanStats(backend);
  TagValuesRead read{backend.TagValues(q)};
  sqlite::SqliteScanStats after = sqlite::GetScanStats(backend);
  read.decoded = after.blocks_decoded - before.blocks_decoded + after.blocks_projected -
                 before.blocks_projected;
  read.counted = after.blocks_counted - before.blocks_counted;
  EXPECT_EQ(after.blocks_pruned, before.blocks_pruned);
  return read;
}

// The same query answered by decoding every block: a filter every span matches turns the counts
// off.
query::TagValuesResult Decoding(Backend& backend, query::TagValuesQuery q) {
  q.filters = {Filter("span.startTimeUnixNano", query::Operator::kGte,
                      query::Scalar(int64_t{0}))};
  sqlite::SqliteScanStats before = sqlite::GetScanStats(backend);
  absl::StatusOr<query::TagValuesResult> result = backend.TagValues(q);
  EXPECT_EQ(sqlite::GetScanStats(backend).blocks_counted, before.blocks_counted);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *std::move(result) : query::TagValuesResult{};
}

void ExpectSameResult(const query::TagValuesResult& got, const query::TagValuesResult& want,
                      const std::string& what) {
  EXPECT_EQ(got.values, want.values) << what;
  EXPECT_EQ(got.total_distinct, want.total_distinct) << what;
}

// 300 spans in 30 blocks of 10: service "svc" from 1,000,000 ns every 1,000 ns (blocks 1..20), and
// service "cart" 500 ns later (blocks 21..30), so the two writes' blocks overlap in time.
std::unique_ptr<Backend> ThirtyBlockStore(const std::string& dir) {
  std::unique_ptr<Backend> backend =
      MustOpen({{"path", dir}, {"block_spans", "10"}, {"retention_max_age", "0"}});
  EXPECT_TRUE(backend->WriteSpans(MakeBatch(0, 200, 1000000), 1).ok());
  model::SpanBatch cart = MakeBatch(1000, 100, 1000500);
  cart.resource_spans[0].resource.attributes[0].value = AnyValue("cart");
  cart.resource_spans[0].scope_spans[0].scope.name = "io.opentelemetry.db";
  EXPECT_TRUE(backend->WriteSpans(std::move(cart), 1).ok());
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM blocks"), 30);
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM block_value_counts"), 30);
  // Span names would be answered from the blocks' operation counts first (OperationsCatalogTest
  // counts those); this store is about the value counts.
  EXPECT_TRUE(ExecSql(DbPath(dir), "DELETE FROM block_operations"));
  return backend;
}

TEST(SqliteValueCountsTest, BlocksInsideTheRangeAreCountedNotDecoded) {
  std::unique_ptr<Backend> backend = ThirtyBlockStore(NewTestDir());
  for (const char* key :
       {"resource.attributes.service.name", "resource.attributes.host.name",
        "span.attributes.http.method", "span.attributes.http.status_code",
        "span.attributes.cache.hit", "span.attributes.ratio", "span.attributes.user.id",
        "span.attributes.absent", "span.name", "span.kind", "span.status.code", "scope.name"}) {
    for (size_t limit : {0, 1, 3}) {
      const std::string what = fmt::format("{} limit {}", key, limit);
      query::TagValuesQuery q{KeyOf(key), std::nullopt, {}, limit};
      TagValuesRead read = ReadTagValues(*backend, q);
      ASSERT_TRUE(read.result.ok()) << read.result.status();
      EXPECT_EQ(read.decoded, 0u) << what;
      EXPECT_EQ(read.counted, 30u) << what;
      ExpectSameResult(*read.result, Decoding(*backend, q), what);
      // A range that covers every block answers from the counts too.
      q.range = query::TimeRange{1000000, 1099500 + 100000};
      read = ReadTagValues(*backend, q);
      ASSERT_TRUE(read.result.ok()) << read.result.status();
      EXPECT_EQ(read.decoded, 0u) << what;
      EXPECT_EQ(read.counted, 30u) << what;
      ExpectSameResult(*read.result, Decoding(*backend, q), what);
    }
  }
  query::TagValuesQuery services{KeyOf("resource.attributes.service.name"), std::nullopt, {}, 0};
  absl::StatusOr<query::TagValuesResult> result = backend->TagValues(services);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->values, (std::vector<query::TagValueCount>{{std::string("svc"), 200},
                                                               {std::string("cart"), 100}}));
  EXPECT_EQ(result->total_distinct, 2u);
}

TEST(SqliteValueCountsTest, BlocksTheRangeCutsAreDecoded) {
  std::unique_ptr<Backend> backend = ThirtyBlockStore(NewTestDir());
  // svc's blocks cover [1,000,000 + 10,000 j, + 9,000], cart's [1,000,500 + 10,000 j, + 9,000].
  // [1,045,000, 1,125,000] cuts svc's blocks 4 and 12 and cart's block 4; svc's 5..11 and cart's
  // 5..9 lie inside it.
  for (const char* key : {"resource.attributes.service.name", "span.attributes.http.method",
                          "span.kind", "scope.name"}) {
    query::TagValuesQuery q{KeyOf(key), query::TimeRange{1045000, 1125000}, {}, 0};
    TagValuesRead read = ReadTagValues(*backend, q);
    ASSERT_TRUE(read.result.ok()) << read.result.status();
    EXPECT_EQ(read.decoded, 3u) << key;
    EXPECT_EQ(read.counted, 12u) << key;
    ExpectSameResult(*read.result, Decoding(*backend, q), key);
  }
  query::TagValuesQuery services{KeyOf("resource.attributes.service.name"),
                                 query::TimeRange{1045000, 1125000}, {}, 0};
  absl::StatusOr<query::TagValuesResult> result = backend->TagValues(services);
  ASSERT_TRUE(result.ok()) << result.status();
  // svc: spans 45..125 (81); cart: starts 1,045,500..1,099,500 (55).
  EXPECT_EQ(result->values, (std::vector<query::TagValueCount>{{std::string("svc"), 81},
                                                               {std::string("cart"), 55}}));
}

TEST(SqliteValueCountsTest, KeysTheCountsDoNotCoverAreDecoded) {
  std::unique_ptr<Backend> backend = TenBlockStore(NewTestDir());
  // user.id has 100 distinct values per block of 100, over the limit of 64; event keys and ids
  // are never counted.
  for (const char* key : {"span.attributes.user.id", "span.attributes.http.url", "span.spanId",
                          "span.events.name", "span.events.attributes.exception.type"}) {
    for (size_t limit : {0, 5}) {
      query::TagValuesQuery q{KeyOf(key), std::nullopt, {}, limit};
      TagValuesRead read = ReadTagValues(*backend, q);
      ASSERT_TRUE(read.result.ok()) << read.result.status();
      EXPECT_EQ(read.decoded, 10u) << key;
      EXPECT_EQ(read.counted, 0u) << key;
      ExpectSameResult(*read.result, Decoding(*backend, q), key);
    }
  }
  query::TagValuesQuery ids{KeyOf("span.attributes.user.id"), std::nullopt, {}, 2};
  absl::StatusOr<query::TagValuesResult> result = backend->TagValues(ids);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->values, (std::vector<query::TagValueCount>{{int64_t{0}, 1}, {int64_t{1}, 1}}));
  EXPECT_EQ(result->total_distinct, 1000u);
  // In the same store a low-cardinality key is counted in every block.
  query::TagValuesQuery methods{KeyOf("span.attributes.http.method"), std::nullopt, {}, 0};
  TagValuesRead read = ReadTagValues(*backend, methods);
  ASSERT_TRUE(read.result.ok()) << read.result.status();
  EXPECT_EQ(read.decoded, 0u);
  EXPECT_EQ(read.counted, 10u);
  EXPECT_EQ(read.result->values, (std::vector<query::TagValueCount>{{std::string("GET"), 666},
                                                                    {std::string("POST"), 334}}));
}

// span.name alternates within each block: the counts cannot say which spans pass. (A filter on
// span.kind would be decided by the blocks' groups: SqliteAggregatesTest.)
TEST(SqliteValueCountsTest, BlocksWhereSomeSpansPassTheFiltersAreDecoded) {
  std::unique_ptr<Backend> backend = TenBlockStore(NewTestDir());
  query::TagValuesQuery q{KeyOf("span.attributes.http.method"),
                          std::nullopt,
                          {Filter("span.name", query::Operator::kEquals,
                                  query::Scalar(std::string("GET /api/orders/{id}")))},
                          0};
  TagValuesRead read = ReadTagValues(*backend, q);
  ASSERT_TRUE(read.result.ok()) << read.result.status();
  EXPECT_EQ(read.decoded, 10u);
  EXPECT_EQ(read.counted, 0u);
  EXPECT_EQ(read.result->values, (std::vector<query::TagValueCount>{{std::string("GET"), 333},
                                                                    {std::string("POST"), 167}}));
}

// Filters the counts decide (equals/in on string values of a counted key): blocks where every
// span passes are answered from their counts, blocks where none does are skipped, and the answer
// is the one decoding gives. The Jaeger API's operations of a service ask exactly this.
TEST(SqliteValueCountsTest, FiltersTheCountsDecideNeedNoDecode) {
  std::unique_ptr<Backend> backend = ThirtyBlockStore(NewTestDir());
  struct Case {
    query::Filter filter;
    uint64_t counted, pruned, decoded;
  };
  const Case cases[] = {
      // cart's 10 blocks pass whole, svc's 20 pass nowhere.
      {Filter("resource.attributes.service.name", query::Operator::kEquals,
              query::Scalar(std::string("cart"))),
       10, 20, 0},
      {Filter("resource.attributes.service.name", query::Operator::kIn, std::nullopt,
              {query::Scalar(std::string("cart")), query::Scalar(std::string("svc"))}),
       30, 0, 0},
      {Filter("resource.attributes.service.name", query::Operator::kEquals,
              query::Scalar(std::string("nobody"))),
       0, 30, 0},
      {Filter("scope.name", query::Operator::kEquals,
              query::Scalar(std::string("io.opentelemetry.db"))),
       10, 20, 0},
      // http.method mixes GET and POST in every block: decoded.
      {Filter("span.attributes.http.method", query::Operator::kEquals,
              query::Scalar(std::string("GET"))),
       0, 0, 30},
  };
  for (const Case& c : cases) {
    for (const char* key : {"span.name", "span.attributes.http.method", "scope.name"}) {
      const std::string what = fmt::format("{} where {}", key, c.filter.key.text);
      query::TagValuesQuery q{KeyOf(key), std::nullopt, {c.filter}, 0};
      sqlite::SqliteScanStats before = sqlite::GetScanStats(*backend);
      absl::StatusOr<query::TagValuesResult> got = backend->TagValues(q);
      sqlite::SqliteScanStats after = sqlite::GetScanStats(*backend);
      ASSERT_TRUE(got.ok()) << got.status();
      // A span attribute under a filter on service.name (a group key) is read from the blocks'
      // group attributes rather than their counts; otherwise no key is a group key.
      const bool grouped = key == std::string_view("span.attributes.http.method") &&
                           IsGroupKey(c.filter.key);
      EXPECT_EQ(after.blocks_counted - before.blocks_counted, grouped ? 0 : c.counted) << what;
      EXPECT_EQ(after.blocks_grouped - before.blocks_grouped, grouped ? c.counted : 0) << what;
      EXPECT_EQ(after.blocks_pruned - before.blocks_pruned, c.pruned) << what;
      EXPECT_EQ(after.blocks_decoded + after.blocks_projected - before.blocks_decoded -
                    before.blocks_projected,
                c.decoded)
          << what;
      // Decoding every block (a filter the counts cannot decide, true of every span) agrees.
      query::TagValuesQuery decoding = q;
      decoding.filters.push_back(
          Filter("span.startTimeUnixNano", query::Operator::kGte, query::Scalar(int64_t{0})));
      absl::StatusOr<query::TagValuesResult> want = backend->TagValues(decoding);
      ASSERT_TRUE(want.ok()) << want.status();
      ExpectSameResult(*got, *want, what);
    }
  }
  query::TagValuesQuery cart{KeyOf("span.attributes.http.method"),
                             std::nullopt,
                             {cases[0].filter},
                             0};
  absl::StatusOr<query::TagValuesResult> result = backend->TagValues(cart);
  ASSERT_TRUE(result.ok()) << result.status();
  uint64_t total = 0;
  for (const query::TagValueCount& v : result->values) total += v.count;
  EXPECT_EQ(total, 100u);  // cart's spans only
}

TEST(SqliteValueCountsTest, BlocksWrittenBeforeTheMigrationAreDecoded) {
  std::string dir = NewTestDir();
  TenBlockStore(dir);
  // Back to schema version 2, as a store written by a binary without value counts.
  RestoreVersion3TraceIndex(DbPath(dir), 2);
  ASSERT_TRUE(ExecSql(DbPath(dir), "DROP TABLE block_value_counts"));
  std::unique_ptr<Backend> backend =
      MustOpen({{"path", dir}, {"block_spans", "100"}, {"retention_max_age", "0"}});
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM block_value_counts"), 0);
  query::TagValuesQuery q{KeyOf("span.attributes.http.method"), std::nullopt, {}, 0};
  TagValuesRead read = ReadTagValues(*backend, q);
  ASSERT_TRUE(read.result.ok()) << read.result.status();
  EXPECT_EQ(read.decoded, 10u);
  EXPECT_EQ(read.counted, 0u);
  // New blocks get counts: 500 more spans, five more blocks.
  ASSERT_TRUE(backend->WriteSpans(MakeBatch(1000, 500, 900000000), 1).ok());
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM block_value_counts"), 5);
  read = ReadTagValues(*backend, q);
  ASSERT_TRUE(read.result.ok()) << read.result.status();
  EXPECT_EQ(read.decoded, 10u);
  EXPECT_EQ(read.counted, 5u);
  ExpectSameResult(*read.result, Decoding(*backend, q), "http.method");
  EXPECT_EQ(read.result->values, (std::vector<query::TagValueCount>{{std::string("GET"), 1000},
                                                                    {std::string("POST"), 500}}));
}

// ---------------------------------------------------------------------------------------------
// Duration aggregates: histograms and duration statistics take a block wholly inside the range
// (and, for histograms, inside one bucket) from its counts instead of decoding it.

// Blocks a query decoded (whole or projected), answered from their counts, answered from the groups
// their filters kept, and skipped.
struct ScanRead {
  uint64_t decoded = 0, counted = 0, grouped = 0, pruned = 0;
  bool operator==(const ScanRead&) const = default;
};

void PrintTo(const ScanRead& r, std::ostream* os) {
  *os << fmt::format("decoded {} counted {} grouped {} pruned {}", r.decoded, r.counted,
                     r.grouped, r.pruned);
}

template <typename Fn>
ScanRead CountReads(Backend& backend, Fn&& fn) {
  sqlite::SqliteScanStats before = sqlite::GetScanStats(backend);
  fn();
  sqlite::SqliteScanStats after = sqlite::GetScanStats(backend);
  return {after.blocks_decoded - before.blocks_decoded + after.blocks_projected -
              before.blocks_projected,
          after.blocks_counted - before.blocks_counted,
          after.blocks_grouped - before.blocks_grouped, after.blocks_pruned - before.blocks_pruned};
}

query::HistogramQuery CountHistogram(uint64_t interval, query::TimeRange range) {
  query::HistogramQuery q;
  q.range = range;
  q.interval_nano = interval;
  q.aggregations.push_back({"count", query::AggregationFunc::kCount, {}, {}, 10, {}, {}});
  q.aggregations.push_back({"by status", query::AggregationFunc::kCount, {},
                            KeyOf("span.status.code"), 10, {}, {}});
  q.aggregations.push_back({"by service", query::AggregationFunc::kCount, {},
                            KeyOf("resource.attributes.service.name"), 10, {}, {}});
  q.aggregations.push_back({"names", query::AggregationFunc::kDistinctCount,
                            KeyOf("span.name"), {}, 10, {}, {}});
  return q;
}

// ThirtyBlockStore's blocks (see there) that span two buckets of `interval` or cut `range`.
uint64_t BlocksToDecode(uint64_t interval, query::TimeRange range) {
  uint64_t n = 0;
  for (uint64_t first : {uint64_t{1000000}, uint64_t{1000500}}) {
    for (uint64_t j = 0; j < (first == 1000000 ? 20 : 10); ++j) {
      const uint64_t min = first + 10000 * j, max = min + 9000;
      if (max < range.start_unix_nano || min > range.end_unix_nano) continue;
      const bool cut = min < range.start_unix_nano || max > range.end_unix_nano;
      if (cut || min / interval != max / interval) ++n;
    }
  }
  return n;
}

TEST(SqliteAggregatesTest, HistogramBlocksInsideOneBucketAreNotDecoded) {
  std::unique_ptr<Backend> backend = ThirtyBlockStore(NewTestDir());
  const query::TimeRange all{0, 2000000};
  // 20,000: every block inside one bucket; 15,000 and 7,000: some cut; a range cutting blocks.
  for (auto [interval, range] : {std::pair{uint64_t{20000}, all}, {uint64_t{15000}, all},
                                 {uint64_t{7000}, all},
                                 {uint64_t{20000}, query::TimeRange{1045000, 1125000}}}) {
    const std::string what = fmt::format("interval {} range [{}, {}]", interval,
                                         range.start_unix_nano, range.end_unix_nano);
    const uint64_t to_decode = BlocksToDecode(interval, range);
    query::HistogramQuery q = CountHistogram(interval, range);
    absl::StatusOr<query::HistogramResult> got;
    ScanRead read = CountReads(*backend, [&] { got = backend->Histograms(q); });
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(read.decoded, to_decode) << what;
    EXPECT_EQ(read.counted, (range.start_unix_nano == 0 ? 30 : 15) - to_decode) << what;
    // The same answer decoding every block: a filter every span matches turns the counts off.
    q.filters = {Filter("span.startTimeUnixNano", query::Operator::kGte,
                        query::Scalar(int64_t{0}))};
    absl::StatusOr<query::HistogramResult> want;
    read = CountReads(*backend, [&] { want = backend->Histograms(q); });
    ASSERT_TRUE(want.ok()) << want.status();
    EXPECT_EQ(read.counted, 0u) << what;
    EXPECT_EQ(*got, *want) << what;
  }
  // Approximate duration percentiles are taken from the blocks too; exact ones decode every block.
  query::HistogramQuery q = CountHistogram(20000, all);
  q.aggregations.push_back({"latency", query::AggregationFunc::kPercentiles,
                            KeyOf("externalFields.durationNano"), {}, 10, {50, 99}, {}});
  for (bool approximate : {true, false}) {
    q.approximate = approximate;
    absl::StatusOr<query::HistogramResult> got;
    ScanRead read = CountReads(*backend, [&] { got = backend->Histograms(q); });
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(read.counted, approximate ? 30u : 0u);
    EXPECT_EQ(read.decoded, approximate ? 0u : 30u);
    ASSERT_EQ(got->size(), 5u);
    EXPECT_EQ((*got)[4].buckets.size(), 10u);  // 1,000,000 to 1,199,000 in buckets of 20,000
  }
}

TEST(SqliteAggregatesTest, DurationStatisticsOfBlocksInsideTheRangeAreNotDecoded) {
  std::unique_ptr<Backend> backend = ThirtyBlockStore(NewTestDir());
  struct Case {
    std::vector<std::string> wanted;
    bool approximate;
    query::TimeRange range;
    uint64_t decoded, counted;
  };
  const query::TimeRange all{0, 2000000}, cut{1045000, 1125000};
  for (const Case& c : std::vector<Case>{
           {{"count", "min", "max", "avg", "sum"}, false, all, 0, 30},
           {{"count", "min", "max", "avg", "sum"}, false, cut, 3, 12},
           {{"count", "p50", "p99"}, true, all, 0, 30},
           {{"count", "p50", "p99"}, true, cut, 3, 12},
           {{"count", "p50", "p99"}, false, all, 30, 0},
       }) {
    query::StatisticsQuery q{KeyOf("externalFields.durationNano"), c.range, {}, {},
                             c.approximate};
    for (const std::string& name : c.wanted) {
      q.wanted.push_back(*query::ParseStatistic(name, "desiredStatistics"));
    }
    const std::string what = fmt::format("{} approximate {} range start {}",
                                         fmt::join(c.wanted, ","), c.approximate,
                                         c.range.start_unix_nano);
    absl::StatusOr<query::StatisticsResult> got;
    ScanRead read = CountReads(*backend, [&] { got = backend->Statistics(q); });
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(read.decoded, c.decoded) << what;
    EXPECT_EQ(read.counted, c.counted) << what;
    q.filters = {Filter("span.startTimeUnixNano", query::Operator::kGte,
                        query::Scalar(int64_t{0}))};
    q.approximate = false;
    absl::StatusOr<query::StatisticsResult> want = backend->Statistics(q);
    ASSERT_TRUE(want.ok()) << want.status();
    // MakeBatch's durations are small integers: sums are exact in any order, and each percentile
    // is within the sketch's error.
    ASSERT_EQ(got->size(), want->size()) << what;
    for (const auto& [name, value] : *want) {
      const double error = name[0] == 'p' && c.approximate
                               ? query::kDurationSketchRelativeError * value
                               : 0;
      EXPECT_LE(std::abs(got->at(name) - value), error) << what << " " << name;
    }
  }
}

// Twenty blocks of ten spans, each block six spans of svc and four of cart, each block inside one
// bucket of 20,000 ns (block b starts at 1,000,000 + 10,000 b and spans 9,000 ns). Every span is
// Unset; odd spans are Server spans named "GET /api/orders/{id}", even ones Client "SELECT orders".
std::unique_ptr<Backend> MixedServiceStore(const std::string& dir) {
  std::unique_ptr<Backend> backend =
      MustOpen({{"path", dir}, {"block_spans", "10"}, {"retention_max_age", "0"}});
  for (uint32_t b = 0; b < 20; ++b) {
    model::SpanBatch batch = MakeBatch(b * 10, 10, 1000000 + uint64_t{b} * 10000);
    model::ResourceSpans cart = batch.resource_spans[0];
    cart.resource.attributes[0].value = AnyValue("cart");
    std::vector<model::Span>& svc_spans = batch.resource_spans[0].scope_spans[0].spans;
    std::vector<model::Span>& cart_spans = cart.scope_spans[0].spans;
    cart_spans.clear();
    for (auto it = svc_spans.begin(); it != svc_spans.end();) {
      if ((it - svc_spans.begin() + cart_spans.size()) % 5 < 2) {
        cart_spans.push_back(std::move(*it));
        it = svc_spans.erase(it);
      } else {
        ++it;
      }
    }
    EXPECT_EQ(cart_spans.size(), 4u);
    batch.resource_spans.push_back(std::move(cart));
    EXPECT_TRUE(backend->WriteSpans(std::move(batch), 1).ok());
  }
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM blocks"), 20);
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM block_groups"), 20);
  // Span names would be answered from the blocks' operation counts first (OperationsCatalogTest
  // counts those); this store is about the groups.
  EXPECT_TRUE(ExecSql(DbPath(dir), "DELETE FROM block_operations"));
  return backend;
}

// Filters on the fields blocks group their spans by (service.name, status code, span kind) take
// blocks wholly inside the range from the groups they keep, and answer as decoding does.
TEST(SqliteAggregatesTest, FiltersOnGroupFieldsAreAnsweredFromTheBlocksGroups) {
  std::unique_ptr<Backend> backend = MixedServiceStore(NewTestDir());
  const query::Filter cart = Filter("resource.attributes.service.name", query::Operator::kEquals,
                                    query::Scalar(std::string("cart")));
  const query::Filter servers = Filter("span.kind", query::Operator::kIn, std::nullopt,
                                       {query::Scalar(std::string("Server")),
                                        query::Scalar(std::string("Consumer"))});
  const query::Filter errors = Filter("span.status.code", query::Operator::kEquals,
                                      query::Scalar(std::string("Error")));
  const query::Filter not_errors = Filter("span.status.code", query::Operator::kNotEquals,
                                          query::Scalar(std::string("Error")));
  const query::Filter not_select = Filter("span.name", query::Operator::kNotEquals,
                                          query::Scalar(std::string("SELECT orders")));
  const query::Filter gets = Filter("span.attributes.http.method", query::Operator::kEquals,
                                    query::Scalar(std::string("GET")));
  // A filter every span matches, which no count decides: the same query decoded.
  const query::Filter decode = Filter("span.startTimeUnixNano", query::Operator::kGte,
                                      query::Scalar(int64_t{0}));
  const query::TimeRange all{0, 2000000}, cut{1045000, 1125000};  // cut: blocks 4 and 12
  struct Case {
    std::vector<query::Filter> filters;
    query::TimeRange range;
    ScanRead read;
  };
  const std::vector<Case> cases = {
      {{cart}, all, {0, 0, 20, 0}},
      {{not_errors, cart}, all, {0, 0, 20, 0}},
      {{servers}, all, {0, 0, 20, 0}},
      {{cart, servers}, all, {0, 0, 20, 0}},
      {{not_select, cart}, all, {20, 0, 0, 0}},  // span names are no group field
      {{cart}, cut, {2, 0, 7, 0}},
      {{errors}, all, {0, 0, 0, 20}},       // every span is Unset: no group passes
      {{cart, gets}, all, {20, 0, 0, 0}},   // http.method is no group field
  };
  for (const Case& c : cases) {
    std::vector<std::string> names;
    for (const query::Filter& f : c.filters) names.push_back(f.key.text);
    const std::string what =
        fmt::format("{} from {}", fmt::join(names, " and "), c.range.start_unix_nano);
    std::vector<query::Filter> decoding = c.filters;
    decoding.push_back(decode);

    // Counts, by status and by service, and latency percentiles (span names are no group key, so
    // CountHistogram's distinct names are left out).
    query::HistogramQuery h = CountHistogram(20000, c.range);
    h.aggregations.pop_back();
    h.filters = c.filters;
    h.approximate = true;
    h.aggregations.push_back({"latency", query::AggregationFunc::kPercentiles,
                              KeyOf("externalFields.durationNano"), {}, 10, {50, 99}, {}});
    absl::StatusOr<query::HistogramResult> got_h;
    EXPECT_EQ(CountReads(*backend, [&] { got_h = backend->Histograms(h); }), c.read)
        << what;
    h.filters = decoding;
    h.approximate = false;
    absl::StatusOr<query::HistogramResult> want_h = backend->Histograms(h);
    ASSERT_TRUE(got_h.ok() && want_h.ok()) << got_h.status() << want_h.status();
    // The counts exactly; the latency percentiles are within the sketch's error, not compared.
    ASSERT_EQ(got_h->size(), 4u) << what;
    ASSERT_EQ(want_h->size(), 4u) << what;
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ((*got_h)[i], (*want_h)[i]) << what << " " << i;

    // Counts alone (the services overview's requests): groups read without their sketches.
    query::HistogramQuery counts = CountHistogram(20000, c.range);
    counts.aggregations.pop_back();
    counts.filters = c.filters;
    absl::StatusOr<query::HistogramResult> got_counts;
    EXPECT_EQ(CountReads(*backend, [&] { got_counts = backend->Histograms(counts); }), c.read)
        << what;
    counts.filters = decoding;
    absl::StatusOr<query::HistogramResult> want_counts = backend->Histograms(counts);
    ASSERT_TRUE(got_counts.ok() && want_counts.ok()) << what;
    EXPECT_EQ(*got_counts, *want_counts) << what;

    query::StatisticsQuery st{KeyOf("externalFields.durationNano"), c.range, c.filters, {}, true};
    for (const char* name : {"count", "min", "max", "avg", "sum", "p50", "p99"}) {
      st.wanted.push_back(*query::ParseStatistic(name, "desiredStatistics"));
    }
    absl::StatusOr<query::StatisticsResult> got_st;
    EXPECT_EQ(CountReads(*backend, [&] { got_st = backend->Statistics(st); }), c.read)
        << what;
    st.filters = decoding;
    st.approximate = false;
    absl::StatusOr<query::StatisticsResult> want_st = backend->Statistics(st);
    ASSERT_TRUE(got_st.ok() && want_st.ok()) << got_st.status() << want_st.status();
    ASSERT_EQ(got_st->size(), want_st->size()) << what;
    for (const auto& [name, value] : *want_st) {
      const double error = name[0] == 'p' ? query::kDurationSketchRelativeError * value : 0;
      EXPECT_LE(std::abs(got_st->at(name) - value), error) << what << " " << name;
    }

    // Tag values of a group key likewise, and of a span attribute from the blocks' group
    // attributes; of any other key (span names) blocks are decoded.
    for (const char* key :
         {"span.name", "resource.attributes.service.name", "span.status.code", "span.kind",
          "span.attributes.http.method", "span.attributes.user.id", "span.attributes.ratio",
          "span.attributes.cache.hit", "span.attributes.absent"}) {
      query::TagValuesQuery tv{KeyOf(key), c.range, c.filters, 0};
      absl::StatusOr<query::TagValuesResult> got_tv;
      ScanRead want_read = c.read;
      if (key == std::string_view("span.name")) {
        want_read = {c.read.decoded + c.read.grouped, 0, 0, c.read.pruned};
      }
      EXPECT_EQ(CountReads(*backend, [&] { got_tv = backend->TagValues(tv); }), want_read)
          << what << " " << key;
      tv.filters = decoding;
      absl::StatusOr<query::TagValuesResult> want_tv = backend->TagValues(tv);
      ASSERT_TRUE(got_tv.ok() && want_tv.ok()) << got_tv.status() << want_tv.status();
      ExpectSameResult(*got_tv, *want_tv, what + " " + key);
    }
  }
  // The answers themselves, pinned: cart holds 80 spans, 40 of them Server spans.
  query::StatisticsQuery count{KeyOf("externalFields.durationNano"), all, {cart, servers}, {}};
  count.wanted.push_back(*query::ParseStatistic("count", "desiredStatistics"));
  absl::StatusOr<query::StatisticsResult> n = backend->Statistics(count);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->at("count"), 40);
  count.filters = {cart};
  n = backend->Statistics(count);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->at("count"), 80);
}

// A span attribute's values under filters on group fields are read from the group attributes
// only where they count it: blocks without group attributes (written before them) are decoded,
// and a key the newest group attributes do not count per group (too many values) is not read
// from the groups at all.
TEST(SqliteAggregatesTest, AttributeValuesAreReadFromGroupAttributesWhereCounted) {
  const std::string dir = NewTestDir();
  std::unique_ptr<Backend> backend = MixedServiceStore(dir);
  const query::Filter cart = Filter("resource.attributes.service.name", query::Operator::kEquals,
                                    query::Scalar(std::string("cart")));
  const query::Filter decode = Filter("span.startTimeUnixNano", query::Operator::kGte,
                                      query::Scalar(int64_t{0}));
  const query::TimeRange all{0, 2000000};
  auto check = [&](const char* key, ScanRead read,
                   const std::string& what) -> query::TagValuesResult {
    query::TagValuesQuery q{KeyOf(key), all, {cart}, 0};
    absl::StatusOr<query::TagValuesResult> got;
    EXPECT_EQ(CountReads(*backend, [&] { got = backend->TagValues(q); }), read) << what;
    q.filters.push_back(decode);
    absl::StatusOr<query::TagValuesResult> want = backend->TagValues(q);
    EXPECT_TRUE(got.ok() && want.ok()) << got.status() << want.status();
    if (!got.ok() || !want.ok()) return {};
    ExpectSameResult(*got, *want, what);
    return *got;
  };
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM block_group_attributes"), 20);
  // cart's 4 spans of each of the 20 blocks: 80 spans, a third of them POST.
  const query::TagValuesResult methods =
      check("span.attributes.http.method", {0, 0, 20, 0}, "every block");
  uint64_t spans = 0;
  for (const query::TagValueCount& v : methods.values) spans += v.count;
  EXPECT_EQ(spans, 80u);
  // Five blocks written before the group attributes: decoded, the others from their groups.
  EXPECT_TRUE(ExecSql(DbPath(dir), "DELETE FROM block_group_attributes WHERE block_id <= 5"));
  check("span.attributes.http.method", {5, 0, 15, 0}, "five without");
  // Unreadable group attributes of one block: that block is decoded.
  EXPECT_TRUE(ExecSql(DbPath(dir), "UPDATE block_group_attributes SET attributes = x'0102' "
                                   "WHERE block_id = 6"));
  check("span.attributes.http.method", {6, 0, 14, 0}, "one unreadable");
  // No group attributes at all (or newest ones that do not count the key per group): no group is
  // read, and the filter is tested span by span (the blocks' counts cannot decide it: cart is 4
  // of 10 spans).
  EXPECT_TRUE(ExecSql(DbPath(dir), "DELETE FROM block_group_attributes"));
  check("span.attributes.http.method", {20, 0, 0, 0}, "none");
  // A store of cart's blocks whose http.url has more values than the counts keep: decoded (the
  // newest group attributes do not count it), and http.method of the same blocks from their
  // groups.
  const std::string wide_dir = NewTestDir();
  backend = MustOpen({{"path", wide_dir}, {"block_spans", "100"}, {"retention_max_age", "0"}});
  for (uint32_t b = 0; b < 4; ++b) {
    model::SpanBatch batch = MakeBatch(b * 100, 100, 1000000 + uint64_t{b} * 100000);
    batch.resource_spans[0].resource.attributes[0].value = AnyValue("cart");
    ASSERT_TRUE(backend->WriteSpans(std::move(batch), 1).ok());
  }
  EXPECT_EQ(QueryInt(DbPath(wide_dir), "SELECT count(*) FROM block_group_attributes"), 4);
  EXPECT_EQ(check("span.attributes.http.url", {4, 0, 0, 0}, "wide").total_distinct, 400u);
  EXPECT_EQ(check("span.attributes.http.method", {0, 0, 4, 0}, "wide").total_distinct, 2u);
}

// Approximate p50/p99 per service of server spans, as the services overview asks: read from the
// blocks' groups when the range holds more than kExactGroupValues spans, within the sketches'
// 1%; a range of no more spans is decoded and answered exactly, as a group of that few values is
// span by span.
TEST(SqliteAggregatesTest, GroupedPercentilesAreReadFromGroupsOverManySpans) {
  const std::string dir = NewTestDir();
  std::unique_ptr<Backend> backend =
      MustOpen({{"path", dir}, {"block_spans", "1000"}, {"retention_max_age", "0"}});
  // Twelve blocks of 1,000 spans 1,000 ns apart, block b starting at 10^7 b: half Server spans.
  for (uint32_t b = 0; b < 12; ++b) {
    ASSERT_TRUE(backend->WriteSpans(MakeBatch(b * 1000, 1000, uint64_t{10000000} * (b + 1)), 1)
                    .ok());
  }
  ASSERT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM block_groups"), 12);
  const query::Filter servers = Filter("span.kind", query::Operator::kEquals,
                                       query::Scalar(std::string("Server")));
  const query::Filter decode = Filter("span.startTimeUnixNano", query::Operator::kGte,
                                      query::Scalar(int64_t{0}));
  auto latency = [&](query::TimeRange range, std::vector<query::Filter> filters,
                     bool approximate) {
    query::HistogramQuery q;
    q.range = range;
    q.interval_nano = uint64_t{1} << 62;
    q.approximate = approximate;
    q.filters = std::move(filters);
    q.aggregations.push_back({"latency", query::AggregationFunc::kPercentiles,
                              KeyOf("externalFields.durationNano"),
                              KeyOf("resource.attributes.service.name"), 10, {50, 99}, {}});
    return q;
  };
  struct Case {
    query::TimeRange range;
    ScanRead read;
    bool exact;
  };
  const Case cases[] = {
      {{0, 200000000}, {0, 0, 12, 0}, false},  // 12,000 spans: from groups
      {{0, 85000000}, {8, 0, 0, 0}, true},     // 8,000 spans: decoded, exact
  };
  for (const Case& c : cases) {
    const std::string what = fmt::format("range to {}", c.range.end_unix_nano);
    absl::StatusOr<query::HistogramResult> got;
    EXPECT_EQ(CountReads(*backend, [&] { got = backend->Histograms(latency(c.range, {servers},
                                                                           true)); }),
              c.read)
        << what;
    absl::StatusOr<query::HistogramResult> want =
        backend->Histograms(latency(c.range, {servers, decode}, false));
    ASSERT_TRUE(got.ok() && want.ok()) << got.status() << want.status();
    ASSERT_EQ(got->size(), 1u);
    ASSERT_EQ((*got)[0].buckets.size(), 1u) << what;
    ASSERT_EQ((*want)[0].buckets.size(), 1u) << what;
    const auto& got_g = std::get<query::GroupedPercentiles>((*got)[0].buckets[0].data);
    const auto& want_g = std::get<query::GroupedPercentiles>((*want)[0].buckets[0].data);
    EXPECT_EQ(got_g.total_count, c.range.end_unix_nano > 100000000 ? 6000u : 4000u) << what;
    EXPECT_EQ(got_g.total_count, want_g.total_count) << what;
    ASSERT_EQ(got_g.groups.size(), 1u) << what;
    ASSERT_EQ(want_g.groups.size(), 1u) << what;
    EXPECT_EQ(got_g.groups[0].key, query::TagValue(std::string("svc"))) << what;
    EXPECT_EQ(got_g.groups[0].count, want_g.groups[0].count) << what;
    if (c.exact) {
      EXPECT_EQ(got_g.groups[0].percentiles, want_g.groups[0].percentiles) << what;
      continue;
    }
    for (const auto& [p, value] : want_g.groups[0].percentiles) {
      EXPECT_LE(std::abs(got_g.groups[0].percentiles.at(p) - value),
                query::kDurationSketchRelativeError * value)
          << what << " " << p;
    }
  }
}

TEST(SqliteAggregatesTest, CountsWithoutReadableDurationsAreDecoded) {
  std::string dir = NewTestDir();
  std::unique_ptr<Backend> backend = ThirtyBlockStore(dir);
  // Format-1 counts (no keys, no duration aggregates), as a store written before them has, and
  // format-2 counts whose aggregates are cut short.
  ASSERT_TRUE(ExecSql(DbPath(dir),
                      "UPDATE block_value_counts SET counts = X'0100' WHERE block_id % 3 = 0; "
                      "UPDATE block_value_counts SET counts = X'020001' WHERE block_id % 3 = 1"));
  query::StatisticsQuery q{KeyOf("externalFields.durationNano"), {0, 2000000}, {}, {}, false};
  q.wanted.push_back(*query::ParseStatistic("count", "desiredStatistics"));
  absl::StatusOr<query::StatisticsResult> got;
  ScanRead read = CountReads(*backend, [&] { got = backend->Statistics(q); });
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(read.decoded, 20u);
  EXPECT_EQ(read.counted, 10u);
  EXPECT_EQ(got->at("count"), 300);
}

// Blocks without groups (written before migration 005) and blocks with unreadable ones are
// decoded, and the answer is the same.
TEST(SqliteAggregatesTest, BlocksWithoutReadableGroupsAreDecoded) {
  std::string dir = NewTestDir();
  std::unique_ptr<Backend> backend = MixedServiceStore(dir);
  ASSERT_TRUE(ExecSql(DbPath(dir), "DELETE FROM block_groups WHERE block_id % 4 = 0; "
                                   "UPDATE block_groups SET groups = X'01FF' "
                                   "WHERE block_id % 4 = 1"));
  query::StatisticsQuery q{KeyOf("externalFields.durationNano"),
                           query::TimeRange{0, 2000000},
                           {Filter("resource.attributes.service.name", query::Operator::kEquals,
                                   query::Scalar(std::string("cart")))},
                           {},
                           false};
  for (const char* name : {"count", "min", "max", "sum"}) {
    q.wanted.push_back(*query::ParseStatistic(name, "desiredStatistics"));
  }
  absl::StatusOr<query::StatisticsResult> got;
  EXPECT_EQ(CountReads(*backend, [&] { got = backend->Statistics(q); }),
            (ScanRead{10, 0, 10, 0}));
  ASSERT_TRUE(got.ok()) << got.status();
  q.filters.push_back(Filter("span.startTimeUnixNano", query::Operator::kGte,
                             query::Scalar(int64_t{0})));
  absl::StatusOr<query::StatisticsResult> want = backend->Statistics(q);
  ASSERT_TRUE(want.ok()) << want.status();
  EXPECT_EQ(*got, *want);
  EXPECT_EQ(got->at("count"), 80);
}

TEST(SqliteValueCountsTest, CorruptCountsOnlyCostTheDecode) {
  std::string dir = NewTestDir();
  std::unique_ptr<Backend> backend = TenBlockStore(dir);
  ASSERT_TRUE(ExecSql(DbPath(dir),
                      "UPDATE block_value_counts SET counts = x'0900' WHERE block_id <= 3"));
  query::TagValuesQuery q{KeyOf("span.attributes.http.method"), std::nullopt, {}, 0};
  TagValuesRead read = ReadTagValues(*backend, q);
  ASSERT_TRUE(read.result.ok()) << read.result.status();
  EXPECT_EQ(read.decoded, 3u);
  EXPECT_EQ(read.counted, 7u);
  ExpectSameResult(*read.result, Decoding(*backend, q), "http.method");
}

// 20 blocks of 10 spans whose keys differ by block: block b's spans carry "only.{b % 3}", an int
// in blocks 0, 3, ... and a string in the others, so the blocks carry three distinct key sets.
std::unique_ptr<Backend> VaryingKeyStore(const std::string& dir) {
  std::unique_ptr<Backend> backend =
      MustOpen({{"path", dir}, {"block_spans", "10"}, {"retention_max_age", "0"}});
  for (uint32_t b = 0; b < 20; ++b) {
    model::SpanBatch batch = MakeBatch(b * 10, 10, 1000000 + uint64_t{b} * 10000);
    for (model::Span& s : batch.resource_spans[0].scope_spans[0].spans) {
      const std::string key = fmt::format("only.{}", b % 3);
      s.attributes.push_back({key, b % 3 == 0 ? AnyValue(int64_t{b}) : AnyValue("x")});
    }
    EXPECT_TRUE(backend->WriteSpans(std::move(batch), 1).ok());
  }
  return backend;
}

std::vector<std::string> KeyNames(const absl::StatusOr<std::vector<query::TagInfo>>& keys) {
  std::vector<std::string> out;
  if (!keys.ok()) return {keys.status().ToString()};
  for (const query::TagInfo& k : *keys) {
    out.push_back(fmt::format("{}:{}", k.name, static_cast<int>(k.type)));
  }
  return out;
}

TEST(SqliteKeyCatalogTest, TagKeysAreReadFromTheBlocksCatalogs) {
  const std::string dir = NewTestDir();
  std::unique_ptr<Backend> backend = VaryingKeyStore(dir);
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM key_catalogs"), 3);
  const query::TimeRange cut{1045000, 1125000};  // blocks 4 and 12 in part
  auto read = [&](std::optional<query::TimeRange> range, uint64_t* decoded, uint64_t* cataloged) {
    const sqlite::SqliteScanStats before = sqlite::GetScanStats(*backend);
    absl::StatusOr<std::vector<query::TagInfo>> keys = backend->TagKeys({range});
    const sqlite::SqliteScanStats after = sqlite::GetScanStats(*backend);
    *decoded = after.blocks_decoded - before.blocks_decoded + after.blocks_projected -
               before.blocks_projected;
    *cataloged = after.blocks_whole - before.blocks_whole;
    return KeyNames(keys);
  };
  uint64_t decoded = 0, cataloged = 0;
  // Over all stored data, from the three distinct catalogs: no block is read.
  const std::vector<std::string> all = read(std::nullopt, &decoded, &cataloged);
  EXPECT_EQ(decoded, 0u);
  EXPECT_EQ(cataloged, 0u);
  const std::vector<std::string> part = read(cut, &decoded, &cataloged);
  EXPECT_EQ(decoded, 2u);
  EXPECT_EQ(cataloged, 7u);
  // Blocks 4-12 carry each of only.0 (an int), only.1 and only.2.
  auto has = [](const std::vector<std::string>& keys, const std::string& key) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
  };
  for (const char* key : {"span.attributes.only.0:1", "span.attributes.only.1:0",
                          "span.attributes.only.2:0", "span.attributes.http.method:0",
                          "resource.attributes.service.name:0", "span.name:0"}) {
    EXPECT_TRUE(has(all, key)) << key;
    EXPECT_TRUE(has(part, key)) << key;
  }
  {
    // A store whose first blocks were written before migration 006: every block is read, those
    // with catalogs from them.
    const std::string old_dir = NewTestDir();
    std::unique_ptr<Backend> old = VaryingKeyStore(old_dir);
    ASSERT_TRUE(ExecSql(DbPath(old_dir), "DELETE FROM block_key_catalogs WHERE block_id <= 5"));
    const sqlite::SqliteScanStats before = sqlite::GetScanStats(*old);
    EXPECT_EQ(KeyNames(old->TagKeys({std::nullopt})), all);
    const sqlite::SqliteScanStats after = sqlite::GetScanStats(*old);
    EXPECT_EQ(after.blocks_decoded - before.blocks_decoded + after.blocks_projected -
                  before.blocks_projected,
              5u);
    EXPECT_EQ(after.blocks_whole - before.blocks_whole, 15u);
  }
  // The same answers decoded: without catalogs, and with unreadable ones.
  ASSERT_TRUE(ExecSql(DbPath(dir), "DELETE FROM block_key_catalogs WHERE block_id % 2 = 0; "
                                   "UPDATE key_catalogs SET keys = X'01FF' "
                                   "WHERE catalog_id = "
                                   "(SELECT min(catalog_id) FROM key_catalogs)"));
  const int64_t unreadable = QueryInt(
      DbPath(dir), "SELECT count(*) FROM block_key_catalogs WHERE catalog_id = "
                   "(SELECT min(catalog_id) FROM key_catalogs)");
  EXPECT_EQ(read(std::nullopt, &decoded, &cataloged), all);
  EXPECT_EQ(cataloged, 10u - static_cast<uint64_t>(unreadable));
  EXPECT_EQ(decoded, 10u + static_cast<uint64_t>(unreadable));
  ASSERT_TRUE(ExecSql(DbPath(dir), "DELETE FROM block_key_catalogs"));
  EXPECT_EQ(read(std::nullopt, &decoded, &cataloged), all);
  EXPECT_EQ(decoded, 20u);
  EXPECT_EQ(read(cut, &decoded, &cataloged), part);
  EXPECT_EQ(decoded, 9u);
  EXPECT_EQ(cataloged, 0u);
}

TEST(SqliteKeyCatalogTest, RetentionDeletesTheCatalogsNoBlockNames) {
  const std::string dir = NewTestDir();
  std::unique_ptr<Backend> backend =
      MustOpen({{"path", dir}, {"retention_max_age", "72h"}, {"block_spans", "100"}});
  const uint64_t now = NowUnixNano();
  const uint64_t hour = uint64_t{3600} * 1000000000;
  model::SpanBatch old = MakeBatch(0, 100, now - 240 * hour);
  for (model::Span& s : old.resource_spans[0].scope_spans[0].spans) {
    s.attributes.push_back({"old.key", AnyValue(true)});
  }
  ASSERT_TRUE(backend->WriteSpans(std::move(old), now).ok());
  ASSERT_TRUE(backend->WriteSpans(MakeBatch(100, 100, now - hour), now).ok());
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM key_catalogs"), 2);
  auto old_key = [&] {
    absl::StatusOr<std::vector<query::TagInfo>> keys = backend->TagKeys({std::nullopt});
    EXPECT_TRUE(keys.ok()) << keys.status();
    const std::vector<std::string> names = KeyNames(keys);
    return std::find(names.begin(), names.end(), "span.attributes.old.key:3") != names.end();
  };
  EXPECT_TRUE(old_key());
  ASSERT_TRUE(backend->EnforceRetention().ok());
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM block_key_catalogs"), 1);
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM key_catalogs"), 1);
  EXPECT_FALSE(old_key());
}

// Retention records the latest start of the blocks it deletes; a block whose stored calls count
// a parent in a deleted block is then decoded, and that call is no longer counted, as decoding
// every block would tell.
TEST(SqliteBlockCallsTest, RetentionKeepsStoredCallsExact) {
  const std::string dir = NewTestDir();
  std::unique_ptr<Backend> backend =
      MustOpen({{"path", dir}, {"retention_max_age", "72h"}, {"block_spans", "100"}});
  const uint64_t now = NowUnixNano();
  const uint64_t hour = uint64_t{3600} * 1000000000;
  // One write, two blocks: spans 0-99 ten days old, 100-199 an hour old, of which 100-104 are
  // calls from span 90 (trace 9) in the old block. Trace 10 loses its root (span 100): the calls of
  // 105-109 have no parent.
  model::SpanBatch batch = MakeBatch(0, 200, 0);
  for (model::Span& s : batch.resource_spans[0].scope_spans[0].spans) {
    const uint32_t i = s.span_id[7] | (uint32_t{s.span_id[6]} << 8);
    const uint64_t base = i < 100 ? now - 240 * hour : now - hour;
    s.end_time_unix_nano = base + (s.end_time_unix_nano - s.start_time_unix_nano) + i * 1000;
    s.start_time_unix_nano = base + i * 1000;
    if (i >= 100 && i < 105) {
      s.trace_id = TraceIdOf(9);
      s.parent_span_id = SpanIdOf(90);
    }
  }
  ASSERT_TRUE(backend->WriteSpans(std::move(batch), now).ok());
  ASSERT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM block_calls"), 2);
  const query::DependenciesQuery all{{0, UINT64_MAX}, "", 1000};
  absl::StatusOr<query::DependenciesResult> deps = backend->Dependencies(all);
  ASSERT_TRUE(deps.ok()) << deps.status();
  EXPECT_EQ(*deps, (query::DependenciesResult{{{"svc", "svc", 90 + 5 + 81, 0}}, false}));

  ASSERT_TRUE(backend->EnforceRetention().ok());
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM blocks"), 1);
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT count(*) FROM block_calls"), 1);
  EXPECT_EQ(QueryInt(DbPath(dir), "SELECT value FROM meta WHERE key = 'deleted_max_start'"),
            static_cast<int64_t>(now - 240 * hour + 99 * 1000));
  const uint64_t whole = sqlite::GetScanStats(*backend).blocks_whole;
  deps = backend->Dependencies(all);
  ASSERT_TRUE(deps.ok()) << deps.status();
  EXPECT_EQ(sqlite::GetScanStats(*backend).blocks_whole, whole);  // decoded
  // The new block's own calls: those of traces 11-19.
  EXPECT_EQ(*deps, (query::DependenciesResult{{{"svc", "svc", 81, 0}}, false}));
  ASSERT_TRUE(ExecSql(DbPath(dir), "DELETE FROM block_calls"));
  absl::StatusOr<query::DependenciesResult> decoded = backend->Dependencies(all);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, *deps);
}

// Not a benchmark (no assertion on speed): prints the write rate of this build on this machine.
TEST(SqliteBackendTest, WriteThroughputReport) {
  std::string dir = NewTestDir();
  std::unique_ptr<Backend> backend = MustOpen({{"path", dir}});
  constexpr uint32_t kBatches = 100;
  constexpr uint32_t kBatchSpans = 1000;
  std::vector<model::SpanBatch> batches;
  for (uint32_t b = 0; b < kBatches; ++b) {
    batches.push_back(
        MakeBatch(b * kBatchSpans, kBatchSpans, NowUnixNano() - uint64_t{3600} * 1000000000));
  }
  auto begin = std::chrono::steady_clock::now();
  std::clock_t cpu_begin = std::clock();
  for (model::SpanBatch& batch : batches) {
    ASSERT_TRUE(backend->WriteSpans(std::move(batch), 1).ok());
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  double cpu_seconds = static_cast<double>(std::clock() - cpu_begin) / CLOCKS_PER_SEC;
  ASSERT_TRUE(backend->EnforceRetention().ok());  // checkpoints the WAL into the database file
  const double spans = double{kBatches} * kBatchSpans;
  // Wall time includes one fsync per 1,000-span commit (synchronous=FULL); CPU time does not.
  fmt::print(
      "sqlite write: {:.0f} spans in {:.2f} s = {:.0f} spans/s ({:.0f} spans per CPU second), "
      "{:.1f} B/span on disk\n",
      spans, seconds, spans / seconds, spans / cpu_seconds,
      static_cast<double>(std::filesystem::file_size(DbPath(dir))) / spans);
}

}  // namespace
}  // namespace teletrace::storage
