// The sqlite backend's settings (config section `storage.sqlite`), parsed from BackendSettings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "storage/storage.h"

namespace teletrace::storage::sqlite {

struct SqliteSettings {
  std::string path = "./teletrace-data";  // data directory; the database is <path>/teletrace.db
  uint64_t retention_max_age_nano = uint64_t{168} * 3600 * 1000000000;  // 0 = keep forever
  uint64_t retention_max_bytes = 0;                                     // 0 = no size cap
  size_t block_spans = 1024;  // spans per block, 1..65536
};

// Keys: path, retention_max_age ("72h", "30m", "7d", "1h30m", "0"), retention_max_bytes (integer
// bytes), block_spans. An unknown key or bad value is InvalidArgument naming
// "storage.sqlite.<key>"; missing keys keep their defaults.
absl::StatusOr<SqliteSettings> ParseSqliteSettings(const BackendSettings& settings);

// "0", or one or more <integer><unit> parts with unit s, m, h or d ("1h30m"), as nanoseconds.
// InvalidArgument (without a key name) on anything else or on overflow.
absl::StatusOr<uint64_t> ParseDurationNano(std::string_view text);

}  // namespace teletrace::storage::sqlite
