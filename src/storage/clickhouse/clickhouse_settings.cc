#include "storage/clickhouse/clickhouse_settings.h"

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"

namespace teletrace::storage::clickhouse {
namespace {

// Database and cluster names go into DDL as identifiers; allowing only these characters means
// they never need quoting.
bool IsPlainIdentifier(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  if (s[0] >= '0' && s[0] <= '9') return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

const std::vector<settings::Spec>& ClickHouseSettingSpecs() {
  static const std::vector<settings::Spec> kSpecs = {
      {"endpoints", "http://127.0.0.1:8123",
       "ClickHouse HTTP(S) endpoints, comma-separated; the next is tried when one is unreachable"},
      {"database", "teletrace", "ClickHouse database (created if missing)"},
      {"cluster", "",
       "ClickHouse cluster name: tables ON CLUSTER, replicated and sharded by trace id ('' = "
       "single node)"},
      {"user", "default", "ClickHouse user"},
      {"password", "", "ClickHouse password"},
      {"tls_ca_file", "", "CA bundle for https endpoints ('' = system CAs)"},
      {"insert_batch_spans", "10000", "spans per ClickHouse INSERT at most (1 to 1000000)"},
      {"flush_interval", "0",
       "minimum time between two INSERTs (writes arriving meanwhile are grouped); 0 = back to "
       "back"},
      {"retention_max_age", "168h", "drop daily partitions older than this (0 = keep forever)"},
      {"retention_max_bytes", "0",
       "drop the oldest daily partitions while the data is larger than this (e.g. 500GiB; 0 = no "
       "cap)"},
      {"request_timeout", "30s", "time limit of one ClickHouse request (at least 1ms)"},
  };
  return kSpecs;
}

absl::StatusOr<ClickHouseSettings> ParseClickHouseSettings(const BackendSettings& values) {
  ClickHouseSettings out;
  for (const auto& [key, value] : values) {
    const std::string full = "storage.clickhouse." + key;
    if (key == "endpoints") {
      std::vector<std::string> endpoints;
      std::string_view rest = value;
      while (true) {
        const size_t comma = rest.find(',');
        std::string_view one = rest.substr(0, comma);
        while (!one.empty() && (one.front() == ' ' || one.front() == '\t')) one.remove_prefix(1);
        while (!one.empty() && (one.back() == ' ' || one.back() == '\t')) one.remove_suffix(1);
        if (one.empty()) return settings::Invalid(full, value, "empty endpoint in the list");
        if (one.substr(0, 7) != "http://" && one.substr(0, 8) != "https://") {
          return settings::Invalid(
              full, value, fmt::format("endpoint \"{}\" must start with http:// or https://", one));
        }
        while (!one.empty() && one.back() == '/') one.remove_suffix(1);
        endpoints.emplace_back(one);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
      out.endpoints = std::move(endpoints);
    } else if (key == "database" || key == "cluster") {
      if (key == "cluster" && value.empty()) {
        out.cluster.clear();
        continue;
      }
      if (!IsPlainIdentifier(value)) {
        return settings::Invalid(
            full, value, "use letters, digits and underscores only, not starting with a digit");
      }
      (key == "database" ? out.database : out.cluster) = value;
    } else if (key == "user") {
      if (value.empty()) return settings::Invalid(full, value, "must not be empty");
      out.user = value;
    } else if (key == "password") {
      out.password = value;
    } else if (key == "tls_ca_file") {
      out.tls_ca_file = value;
    } else if (key == "insert_batch_spans") {
      ASSIGN_OR_RETURN(out.insert_batch_spans, settings::Unsigned(full, value, 1, 1000000));
    } else if (key == "flush_interval") {
      ASSIGN_OR_RETURN(out.flush_interval_nano, settings::Duration(full, value));
    } else if (key == "retention_max_age") {
      ASSIGN_OR_RETURN(out.retention_max_age_nano, settings::Duration(full, value));
    } else if (key == "request_timeout") {
      ASSIGN_OR_RETURN(out.request_timeout_nano, settings::Duration(full, value));
      if (out.request_timeout_nano < 1000000) {
        return settings::Invalid(full, value, "must be at least 1ms");
      }
    } else if (key == "retention_max_bytes") {
      ASSIGN_OR_RETURN(out.retention_max_bytes, settings::Bytes(full, value, UINT64_MAX));
    } else {
      return settings::Unknown("storage.clickhouse", key, ClickHouseSettingSpecs());
    }
  }
  return out;
}

}  // namespace teletrace::storage::clickhouse
