#include "storage/clickhouse/schema.h"

#include <charconv>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "storage/clickhouse/migrations.h"
#include "storage/clickhouse/sql_literal.h"

namespace teletrace::storage::clickhouse {
namespace {

absl::StatusOr<std::string> Expand(std::string_view placeholder, const SchemaOptions& o) {
  const bool cluster = !o.cluster.empty();
  size_t colon = placeholder.find(':');
  std::string_view name = placeholder.substr(0, colon);
  std::string table(colon == std::string_view::npos ? "" : placeholder.substr(colon + 1));
  if (name == "db" && table.empty()) return o.database;
  if (name == "on_cluster" && table.empty()) {
    return cluster ? fmt::format("ON CLUSTER {}", o.cluster) : std::string();
  }
  if (name == "local" && table.empty()) return std::string(cluster ? "_local" : "");
  if (name == "lc_string" && table.empty()) {
    return std::string(o.low_cardinality ? "LowCardinality(String)" : "String");
  }
  if (name == "merge_tree" && !table.empty()) {
    if (!cluster) return std::string("MergeTree()");
    return fmt::format(
        "ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{}/{}_local', '{{replica}}')",
        o.database, table);
  }
  if (name == "replacing_merge_tree" && !table.empty()) {
    if (!cluster) return std::string("ReplacingMergeTree()");
    return fmt::format(
        "ReplicatedReplacingMergeTree('/clickhouse/tables/{{shard}}/{}/{}_local', '{{replica}}')",
        o.database, table);
  }
  if (name == "global_merge_tree" && !table.empty()) {
    if (!cluster) return std::string("MergeTree()");
    return fmt::format(
        "ReplicatedMergeTree('/clickhouse/tables/global/{}/{}', '{{shard}}-{{replica}}')",
        o.database, table);
  }
  if (name == "distributed" && !table.empty()) {
    if (!cluster) return std::string();
    // "distributed:<table>[:<sharding key>]", by trace id unless said.
    std::string key = "cityHash64(trace_id)";
    if (const size_t colon = table.find(':'); colon != std::string::npos) {
      key = table.substr(colon + 1);
      table.resize(colon);
    }
    return fmt::format(
        "CREATE TABLE IF NOT EXISTS {db}.{t} ON CLUSTER {c} AS {db}.{t}_local "
        "ENGINE = Distributed({cq}, {dbq}, {tq}, {key})",
        fmt::arg("db", o.database), fmt::arg("t", table), fmt::arg("c", o.cluster),
        fmt::arg("cq", SqlString(o.cluster)), fmt::arg("dbq", SqlString(o.database)),
        fmt::arg("tq", SqlString(table + "_local")), fmt::arg("key", key));
  }
  return absl::InvalidArgumentError(
      fmt::format("clickhouse schema: unknown placeholder ${{{}}}", placeholder));
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// The spans table's skip indexes. attr_str_values: a Bloom filter (1% false positives) per
// granule over every attribute's string values, which rules out the granules a rare value
// (`user.id = X`) is not in; query_sql.cc's filters carry the has(attr_str, X) it answers.
constexpr std::string_view kSkipIndexes = R"(
ALTER TABLE ${db}.spans${local} ${on_cluster}
ADD INDEX IF NOT EXISTS attr_str_values attr_str TYPE bloom_filter(0.01) GRANULARITY 1;
)";

absl::StatusOr<uint32_t> MigrationVersion(std::string_view file_name) {
  uint32_t version = 0;
  auto [end, ec] = std::from_chars(file_name.data(), file_name.data() + file_name.size(), version);
  if (ec != std::errc() || end == file_name.data() || *end != '_') {
    return absl::InternalError(
        fmt::format("clickhouse schema: migration {} is not named NNN_name.sql", file_name));
  }
  return version;
}

absl::Status RunFile(ClickHouseHttp& http, const EmbeddedFile& m, const SchemaOptions& options) {
  ASSIGN_OR_RETURN(std::vector<std::string> statements, RenderStatements(m.contents, options));
  for (size_t i = 0; i < statements.size(); ++i) {
    ASSIGN_OR_RETURN(std::string ignored,
                     http.Execute(statements[i], {},
                                  fmt::format("schema {} statement {}", m.name, i + 1),
                                  options.ddl_settings));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> RenderStatements(std::string_view sql,
                                                          const SchemaOptions& options) {
  // Drop comment lines first, so a ';' in a comment does not split a statement.
  std::string text;
  while (!sql.empty()) {
    size_t nl = sql.find('\n');
    std::string_view line = sql.substr(0, nl);
    if (TrimSpace(line).substr(0, 2) != "--") {
      text.append(line);
      text.push_back('\n');
    }
    if (nl == std::string_view::npos) break;
    sql.remove_prefix(nl + 1);
  }
  std::string rendered;
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 2, "${") == 0) {
      size_t close = text.find('}', i);
      if (close == std::string::npos) {
        return absl::InvalidArgumentError("clickhouse schema: unterminated placeholder");
      }
      ASSIGN_OR_RETURN(std::string value,
                       Expand(std::string_view(text).substr(i + 2, close - i - 2), options));
      rendered += value;
      i = close + 1;
    } else {
      rendered.push_back(text[i++]);
    }
  }
  std::vector<std::string> out;
  std::string_view rest = rendered;
  while (!rest.empty()) {
    size_t semi = rest.find(';');
    std::string_view statement = TrimSpace(rest.substr(0, semi));
    if (!statement.empty()) out.emplace_back(statement);
    if (semi == std::string_view::npos) break;
    rest.remove_prefix(semi + 1);
  }
  return out;
}

absl::Status ApplyMigrations(ClickHouseHttp& http, const SchemaOptions& options) {
  const EmbeddedFile* bootstrap = nullptr;
  for (const EmbeddedFile& m : kMigrations) {
    if (m.name.substr(0, 4) == "000_") bootstrap = &m;
  }
  if (bootstrap == nullptr) return absl::InternalError("clickhouse schema: no bootstrap migration");
  RETURN_IF_ERROR(RunFile(http, *bootstrap, options));

  ASSIGN_OR_RETURN(std::string body,
                   http.Execute(fmt::format("SELECT toUInt32(max(version)) FROM "
                                            "{}.schema_migrations FORMAT RowBinary",
                                            options.database),
                                {}, "read schema version"));
  // One toUInt32 row: four little-endian bytes (0 when nothing was recorded yet).
  uint32_t current = 0;
  if (body.size() != 4) {
    return absl::DataLossError(fmt::format(
        "clickhouse: read schema version: expected 4 bytes, got {}", body.size()));
  }
  for (int i = 0; i < 4; ++i) {
    current |= static_cast<uint32_t>(static_cast<uint8_t>(body[i])) << (8 * i);
  }
  uint32_t newest = 0;
  for (const EmbeddedFile& m : kMigrations) {
    ASSIGN_OR_RETURN(uint32_t version, MigrationVersion(m.name));
    newest = std::max(newest, version);
  }
  if (current > newest) {
    return absl::FailedPreconditionError(fmt::format(
        "clickhouse: database {} has schema version {}, newer than this Teletrace knows ({}); "
        "upgrade Teletrace",
        options.database, current, newest));
  }
  for (const EmbeddedFile& m : kMigrations) {
    ASSIGN_OR_RETURN(uint32_t version, MigrationVersion(m.name));
    if (version == 0 || version <= current) continue;
    RETURN_IF_ERROR(RunFile(http, m, options));
    ASSIGN_OR_RETURN(
        std::string ignored,
        http.Execute(fmt::format("INSERT INTO {}.schema_migrations (version, name, applied_at) "
                                 "VALUES ({}, {}, now())",
                                 options.database, version, SqlString(m.name)),
                     {}, fmt::format("record schema version {}", version)));
  }
  if (options.skip_indices) {
    RETURN_IF_ERROR(RunFile(http, EmbeddedFile{"skip indexes", kSkipIndexes}, options));
  }
  return absl::OkStatus();
}

}  // namespace teletrace::storage::clickhouse
