// The sqlite backend's settings (config section `storage.sqlite`): their declarations and their
// parsing from BackendSettings.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/settings.h"
#include "storage/storage.h"

namespace teletrace::storage::sqlite {

struct SqliteSettings {
  std::string path = "./teletrace-data";  // data directory; the database is <path>/teletrace.db
  uint64_t retention_max_age_nano = uint64_t{168} * 3600 * 1000000000;  // 0 = keep forever
  uint64_t retention_max_bytes = 0;                                     // 0 = no size cap
  size_t block_spans = 1024;  // spans per block, 1..65536
  // The operations catalog's memory bound (storage/sqlite/operations_catalog.h).
  uint64_t operations_max_bytes = uint64_t{16} << 20;
};

// Every key with its default (the struct's) and help, for --help, the environment and validation.
const std::vector<settings::Spec>& SqliteSettingSpecs();

// Keys as declared; values in the common vocabulary (common/settings.h). An unknown key or bad
// value is InvalidArgument naming "storage.sqlite.<key>"; missing keys keep their defaults.
absl::StatusOr<SqliteSettings> ParseSqliteSettings(const BackendSettings& settings);

}  // namespace teletrace::storage::sqlite
