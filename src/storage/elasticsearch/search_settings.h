// The elasticsearch backend's settings (config section `storage.elasticsearch`): their
// declarations and their parsing from BackendSettings. The same settings serve Elasticsearch 8+
// and OpenSearch 2+.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/settings.h"
#include "storage/storage.h"

namespace teletrace::storage::elasticsearch {

struct SearchSettings {
  // REST endpoints, tried in order; the next one is used when one cannot be reached.
  std::vector<std::string> endpoints = {"http://127.0.0.1:9200"};
  // Indices are <prefix>-spans-YYYY-MM-DD (by span start, UTC) and <prefix>-meta.
  std::string index_prefix = "teletrace";
  std::string username;
  std::string password;
  std::string api_key;      // wins over username/password
  std::string tls_ca_file;  // CA bundle for https endpoints; empty = the system's
  uint64_t shards = 1;      // of each new daily index
  uint64_t replicas = 1;
  size_t bulk_max_spans = 5000;   // spans per _bulk request at most
  size_t bulk_parallelism = 2;    // _bulk requests of one write in flight at once
  uint64_t retention_max_age_nano = uint64_t{168} * 3600 * 1000000000;  // 0 = keep forever
  uint64_t retention_max_bytes = 0;                                     // 0 = no size cap
  uint64_t request_timeout_nano = uint64_t{30} * 1000000000;
  // The largest answer read into memory; a search page over it is asked again with fewer hits.
  size_t max_response_bytes = size_t{64} << 20;
};

// Every key with its default (the struct's) and help, for --help, the environment and validation.
const std::vector<settings::Spec>& SearchSettingSpecs();

// Keys as declared; values in the common vocabulary (common/settings.h). endpoints are
// comma-separated http:// or https:// URLs; index_prefix is lower-case letters, digits, '-' and
// '_', starting with a letter (Elasticsearch's index name rules, minus what needs escaping). An
// unknown key or bad value is InvalidArgument naming "storage.elasticsearch.<key>".
absl::StatusOr<SearchSettings> ParseSearchSettings(const BackendSettings& settings);

}  // namespace teletrace::storage::elasticsearch
