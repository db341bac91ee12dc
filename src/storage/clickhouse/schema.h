// The ClickHouse schema: versioned migrations kept as .sql files (migrations/NNN_name.sql, embedded
// at build time), rendered for a single node or a cluster, applied in order and recorded in
// <database>.schema_migrations. Every statement is idempotent (IF NOT EXISTS), so two Teletrace
// processes starting at once, or a run interrupted halfway, converge on the same schema.
//
// Placeholders in the .sql files:
//   ${db}                    the database name
//   ${on_cluster}            "" or "ON CLUSTER <cluster>"
//   ${local}                 "" or "_local": the suffix of tables that hold data on each node
//   ${merge_tree:T}          MergeTree() or ReplicatedMergeTree(
//                            '/clickhouse/tables/{shard}/<db>/T_local', '{replica}') (ClickHouse
//                            expands the {shard} and {replica} macros)
//   ${replacing_merge_tree:T} the same with ReplacingMergeTree (rows with one sorting key fold
//                            into one when parts merge)
//   ${global_merge_tree:T}   MergeTree() or a ReplicatedMergeTree replicated to every node of the
//                            cluster (small tables every node must see: schema version, system id)
//   ${distributed:T[:K]}     nothing, or the statement creating Distributed table T over T_local,
//                            sharded by the expression K (default cityHash64(trace_id))
//   ${lc_string}             LowCardinality(String) where the server allows it, else String
//                            (18.16 runs ON CLUSTER DDL without the query's settings, so it cannot
//                            create LowCardinality columns on a cluster)
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/clickhouse/clickhouse_http.h"

namespace teletrace::storage::clickhouse {

struct SchemaOptions {
  std::string database;
  std::string cluster;          // empty = single node
  bool low_cardinality = true;  // ${lc_string} is LowCardinality(String)
  QuerySettings ddl_settings = {};  // sent with every statement
  // Skip indexes (ApplyMigrations): for releases that have them, ensured at every start.
  bool skip_indices = false;
};

// The statements of one .sql file, rendered: comments dropped, split on ';', placeholders replaced,
// empty statements removed. InvalidArgument naming the placeholder when one is unknown.
absl::StatusOr<std::vector<std::string>> RenderStatements(std::string_view sql,
                                                          const SchemaOptions& options);

// Creates or upgrades the schema, then, with skip_indices, adds the skip indexes a table lacks
// (ALTER TABLE ... ADD INDEX IF NOT EXISTS: at every start, not as a migration, so that a server
// upgraded from a release without them gets them; parts written or merged afterwards carry them).
// The caller decides low_cardinality, ddl_settings and skip_indices from the server's version
// (server_version.h: SettingsForVersion). FailedPrecondition when the database records a newer
// schema version than this binary knows; otherwise the errors of ClickHouseHttp::Execute.
absl::Status ApplyMigrations(ClickHouseHttp& http, const SchemaOptions& options);

}  // namespace teletrace::storage::clickhouse
