// The ClickHouse storage backend: spans in a MergeTree table over ClickHouse's HTTP interface, on a
// single server or on a cluster (ReplicatedMergeTree tables on every node, Distributed tables
// sharded by trace id in front of them). See docs/clickhouse.md and README.md beside this file.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<storage::Backend> backend,
//                    NewClickHouseBackend({{"endpoints", "http://127.0.0.1:8123"},
//                                          {"database", "teletrace"}}));
//
// Settings: clickhouse_settings.h. Queries are answered in SQL (filters, sorting, paging and
// aggregations run inside ClickHouse; query_sql.h); spans are read back from a full-fidelity
// encoded copy, so every field round-trips exactly.
//
// Writes: calls arriving while an INSERT runs are grouped into the next one (group commit; with a
// flush_interval, INSERTs also start at least that far apart), each INSERT carries at most
// insert_batch_spans spans, and each call returns only after ClickHouse acknowledged the INSERTs
// holding its spans. Spans already stored (same trace id and
// span id) are skipped before inserting, so retries are harmless; this check is exact for one
// Teletrace process, while two processes writing the same span at the same instant may both store
// it. When ClickHouse cannot be reached, WriteSpans and the readers return Unavailable and the
// backend recovers by itself once it is back (the schema is created on first success).
//
// Thread safety: every method may be called concurrently.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "storage/storage.h"

namespace teletrace::storage::clickhouse {

// Creates the backend and, when ClickHouse answers, its schema. Errors: InvalidArgument naming
// "storage.clickhouse.<key>" for a bad setting; PermissionDenied when ClickHouse rejects the
// credentials; FailedPrecondition when the database holds a newer schema; Internal when ClickHouse
// rejects the schema. An unreachable ClickHouse is not an error here: the schema is then created
// on first use, and calls fail with Unavailable until it can be.
absl::StatusOr<std::unique_ptr<Backend>> NewClickHouseBackend(const BackendSettings& settings);

}  // namespace teletrace::storage::clickhouse
