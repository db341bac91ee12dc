#include "storage/sqlite/sqlite_settings.h"

#include "absl/status/status.h"
#include "common/status_macros.h"

namespace teletrace::storage::sqlite {

const std::vector<settings::Spec>& SqliteSettingSpecs() {
  static const std::vector<settings::Spec> kSpecs = {
      {"path", "./teletrace-data", "SQLite data directory"},
      {"retention_max_age", "168h", "delete spans older than this (e.g. 72h, 30d; 0 = keep forever)"},
      {"retention_max_bytes", "0",
       "delete the oldest spans while the database is larger than this (e.g. 50GiB; 0 = no cap)"},
      {"block_spans", "1024", "spans per compressed storage block (1 to 65536)"},
      {"operations_max_bytes", "16MiB",
       "memory for the catalog of services and operations (Jaeger and Zipkin APIs); past it, "
       "their lists are read from the stored spans"},
  };
  return kSpecs;
}

absl::StatusOr<SqliteSettings> ParseSqliteSettings(const BackendSettings& values) {
  SqliteSettings out;
  for (const auto& [key, value] : values) {
    const std::string full = "storage.sqlite." + key;
    if (key == "path") {
      if (value.empty()) return settings::Invalid(full, value, "must not be empty");
      out.path = value;
    } else if (key == "retention_max_age") {
      ASSIGN_OR_RETURN(out.retention_max_age_nano, settings::Duration(full, value));
    } else if (key == "retention_max_bytes") {
      ASSIGN_OR_RETURN(out.retention_max_bytes, settings::Bytes(full, value, UINT64_MAX));
    } else if (key == "block_spans") {
      ASSIGN_OR_RETURN(out.block_spans, settings::Unsigned(full, value, 1, 65536));
    } else if (key == "operations_max_bytes") {
      ASSIGN_OR_RETURN(out.operations_max_bytes, settings::Bytes(full, value, UINT64_MAX));
    } else {
      return settings::Unknown("storage.sqlite", key, SqliteSettingSpecs());
    }
  }
  return out;
}

}  // namespace teletrace::storage::sqlite
