// The ClickHouse release a server runs, and the one place that decides what Teletrace sends to a
// release: settings and column types that older releases need and newer ones reject. Releases
// from 18.16 (Debian 12's) to current ones (26.9 tested) are supported.
//
//   ASSIGN_OR_RETURN(ServerVersion version, DetectServerVersion(http));
//   VersionSettings settings = SettingsForVersion(version, /*cluster=*/false);
//
// Pure functions except DetectServerVersion; all thread safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "storage/clickhouse/clickhouse_http.h"

namespace teletrace::storage::clickhouse {

struct ServerVersion {
  uint32_t major = 0;
  uint32_t minor = 0;
  uint32_t patch = 0;  // 0 when the server reports only MAJOR.MINOR

  bool AtLeast(uint32_t want_major, uint32_t want_minor) const {
    return major > want_major || (major == want_major && minor >= want_minor);
  }
  std::string ToString() const;
};

// Parses what `SELECT version()` answers: "18.16.1", "26.9.2.1" (a fourth part, the build, is
// ignored), with surrounding whitespace. InvalidArgument naming the text and the problem when it
// does not start with MAJOR.MINOR of decimal numbers that fit in 32 bits. Never throws.
absl::StatusOr<ServerVersion> ParseServerVersion(std::string_view text);

// What a release gets.
struct VersionSettings {
  // Sent as URL parameters with every schema (DDL) statement. Only settings the release knows:
  // current releases refuse an unknown setting (Code 115) instead of ignoring it.
  QuerySettings ddl_settings;
  // Whether String columns that repeat few values are LowCardinality(String) (schema.h's
  // ${lc_string}).
  bool low_cardinality = true;
  // Whether the spans table gets its skip index over attribute string values (schema.h:
  // SchemaOptions::skip_indices).
  bool skip_indices = true;
};

// 18.x needs allow_experimental_low_cardinality_type=1 to create LowCardinality columns, and its
// distributed (ON CLUSTER) DDL does not pass that setting on, so 18.x clusters get plain String
// columns. From 19.1 on LowCardinality needs no setting, and 19.x-22.x ignore the old one while
// later releases (24.8, 25.8, 26.9 checked) reject it: it is sent to 18.x only. Skip indexes
// (bloom_filter over an array, ADD INDEX IF NOT EXISTS) are asked of 21.8 and later: 18.x has
// none, and 19.x-20.x needed experimental settings for some of their forms.
VersionSettings SettingsForVersion(const ServerVersion& version, bool cluster);

// Asks the server for its version (`what` in errors: "read server version"). The errors of
// ClickHouseHttp::Execute; DataLoss when the answer is not a version; FailedPrecondition naming
// the version when it is older than 18.16.
absl::StatusOr<ServerVersion> DetectServerVersion(ClickHouseHttp& http);

}  // namespace teletrace::storage::clickhouse
