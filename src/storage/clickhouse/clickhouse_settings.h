// The clickhouse backend's settings (config section `storage.clickhouse`): their declarations and
// their parsing from BackendSettings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/settings.h"
#include "storage/storage.h"

namespace teletrace::storage::clickhouse {

struct ClickHouseSettings {
  // HTTP(S) interface URLs, tried in order; the next one is used when one cannot be reached.
  std::vector<std::string> endpoints = {"http://127.0.0.1:8123"};
  std::string database = "teletrace";
  std::string cluster;  // empty = single node; else tables ON CLUSTER, replicated and distributed
  std::string user = "default";
  std::string password;
  std::string tls_ca_file;  // CA bundle for https endpoints; empty = the system's
  size_t insert_batch_spans = 10000;  // at most this many spans per INSERT
  // Minimum time between the starts of two INSERTs. Writes arriving while an INSERT runs are always
  // grouped into the next one (group commit); a positive interval also holds a write back until
  // the interval since the previous INSERT has passed, trading latency for fewer, larger parts.
  uint64_t flush_interval_nano = 0;
  uint64_t retention_max_age_nano = uint64_t{168} * 3600 * 1000000000;  // 0 = keep forever
  uint64_t retention_max_bytes = 0;                                     // 0 = no size cap
  uint64_t request_timeout_nano = uint64_t{30} * 1000000000;
};

// Every key with its default (the struct's) and help, for --help, the environment and validation.
const std::vector<settings::Spec>& ClickHouseSettingSpecs();

// Keys as declared; values in the common vocabulary (common/settings.h); endpoints are
// comma-separated http:// or https:// URLs, database and cluster plain identifiers (letters,
// digits, underscores; not starting with a digit). An unknown key or bad value is InvalidArgument
// naming "storage.clickhouse.<key>"; missing keys keep their defaults.
absl::StatusOr<ClickHouseSettings> ParseClickHouseSettings(const BackendSettings& settings);

}  // namespace teletrace::storage::clickhouse
