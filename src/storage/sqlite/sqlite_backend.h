// The embedded storage backend (the default): one SQLite file holding zstd-compressed blocks of
// spans and a trace id -> block table (docs/adr/001-sqlite-block-storage.md).
//
//   ASSIGN_OR_RETURN(std::unique_ptr<storage::Backend> backend,
//                    NewSqliteBackend({{"path", "/var/lib/teletrace"},
//                                      {"retention_max_age", "72h"}}));
//
// Settings (config section `storage.sqlite`, see sqlite_settings.h):
//   path                 data directory, created if missing (default ./teletrace-data); the
//                        database is <path>/teletrace.db with its -wal and -shm files beside it
//   retention_max_age    delete blocks whose newest span started longer ago (default 168h; 0 off)
//   retention_max_bytes  delete the oldest blocks while the database uses more (default 0 = off)
//   block_spans          spans per block (default 1024)
//
// Durability: WAL with synchronous=FULL, so a WriteSpans (or CommitWrite) that returned OK has had
// its WAL frames fsynced and survives power loss; synchronous=NORMAL would only survive a process
// crash, which is not what "acknowledged means durable" promises. One write connection serialised
// by a mutex (the pipeline groups requests into one commit, so a commit's fsync is shared) and a
// small pool of read connections, which WAL lets run concurrently with the writer on consistent
// snapshots. PrepareWrite builds a group's blocks (encoding, summary, value counts) on build
// workers, one per core, without the database, so the next group is built while one commits
// (docs/adr/003-two-stage-write-path.md).
//
// Queries: only the time range (block start bounds) and trace id (trace_blocks) are answered by
// SQL; candidate blocks are decoded and their spans fed to the query engine (query/engine.h),
// except blocks whose summary (storage/block_summary.h, table block_summaries) rules out an
// equality filter of the query, and, for TagValues without filters, blocks wholly inside the range
// whose value counts (storage/block_value_counts.h, table block_value_counts) cover the key
// (docs/adr/002-block-summaries.md).
//
// Thread safety: every method may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "storage/storage.h"

namespace teletrace::storage {

// Opens (creating and migrating if needed) the store described by `settings`. Errors:
// InvalidArgument naming "storage.sqlite.<key>" for an unknown key or bad value; Unavailable or
// Internal naming the path when the directory or database cannot be created or opened;
// FailedPrecondition when the database was written by a newer schema version. The caller owns the
// backend; it closes the database when destroyed.
absl::StatusOr<std::unique_ptr<Backend>> NewSqliteBackend(const BackendSettings& settings);

namespace sqlite {

// Blocks read by queries since the backend was opened: decoded whole, decoded in part (only the
// sections of the keys a query names: storage/span_projection.h; a search decodes a block's filter
// keys, or its times, first and builds whole spans only where one may enter the page: the block
// then counts as decoded too), skipped by their summary before decoding, or answered by their
// value counts instead of decoding (TagValues without filters; blocks skipped by time bounds count
// in none), by the groups their filters kept, or whole by a record of their own: their key catalog
// (tag keys) or their stored calls (dependencies). And the whole spans searches built. For tests
// and diagnostics.
struct SqliteScanStats {
  uint64_t blocks_decoded = 0;
  uint64_t blocks_projected = 0;
  uint64_t blocks_pruned = 0;
  uint64_t blocks_counted = 0;
  uint64_t blocks_grouped = 0;
  uint64_t blocks_whole = 0;
  uint64_t spans_built = 0;
};

// Blocks decoded and pruned by `backend` so far; all zero when it is not a SQLite backend.
// Thread safe.
SqliteScanStats GetScanStats(const Backend& backend);

}  // namespace sqlite

}  // namespace teletrace::storage
