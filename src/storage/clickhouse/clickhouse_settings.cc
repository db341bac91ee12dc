#include "storage/clickhouse/clickhouse_settings.h"

#include <charconv>
#include <limits>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace teletrace::storage::clickhouse {
namespace {

absl::StatusOr<uint64_t> ParseUnsigned(std::string_view text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return absl::InvalidArgumentError("not a non-negative integer");
  }
  return value;
}

absl::Status Bad(std::string_view key, std::string_view value, std::string_view why) {
  return absl::InvalidArgumentError(
      fmt::format("storage.clickhouse.{}: invalid value \"{}\": {}", key, value, why));
}

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

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

absl::StatusOr<uint64_t> ParseDurationNano(std::string_view text) {
  if (text == "0") return 0;
  if (text.empty()) return absl::InvalidArgumentError("empty duration");
  uint64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t digits_end = i;
    while (digits_end < text.size() && text[digits_end] >= '0' && text[digits_end] <= '9') {
      ++digits_end;
    }
    if (digits_end == i || digits_end == text.size()) {
      return absl::InvalidArgumentError("want <number><unit> parts with unit ms, s, m, h or d");
    }
    absl::StatusOr<uint64_t> amount = ParseUnsigned(text.substr(i, digits_end - i));
    if (!amount.ok()) return absl::InvalidArgumentError("number out of range");
    uint64_t unit_nano = 0;
    size_t unit_len = 1;
    if (text.substr(digits_end, 2) == "ms") {
      unit_nano = 1000000;
      unit_len = 2;
    } else {
      switch (text[digits_end]) {
        case 's':
          unit_nano = 1000000000;
          break;
        case 'm':
          unit_nano = uint64_t{60} * 1000000000;
          break;
        case 'h':
          unit_nano = uint64_t{3600} * 1000000000;
          break;
        case 'd':
          unit_nano = uint64_t{86400} * 1000000000;
          break;
        default:
          return absl::InvalidArgumentError(
              fmt::format("unknown unit '{}' (want ms, s, m, h or d)", text[digits_end]));
      }
    }
    if (*amount > (std::numeric_limits<uint64_t>::max() - total) / unit_nano) {
      return absl::InvalidArgumentError("duration too large");
    }
    total += *amount * unit_nano;
    i = digits_end + unit_len;
  }
  return total;
}

absl::StatusOr<ClickHouseSettings> ParseClickHouseSettings(const BackendSettings& settings) {
  ClickHouseSettings out;
  for (const auto& [key, value] : settings) {
    if (key == "endpoints") {
      std::vector<std::string> endpoints;
      std::string_view rest = value;
      while (true) {
        size_t comma = rest.find(',');
        std::string_view one = Trim(rest.substr(0, comma));
        if (one.empty()) return Bad(key, value, "empty endpoint in the list");
        if (one.substr(0, 7) != "http://" && one.substr(0, 8) != "https://") {
          return Bad(key, value,
                     fmt::format("endpoint \"{}\" must start with http:// or https://", one));
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
        return Bad(key, value,
                   "use letters, digits and underscores only, not starting with a digit");
      }
      (key == "database" ? out.database : out.cluster) = value;
    } else if (key == "user") {
      if (value.empty()) return Bad(key, value, "must not be empty");
      out.user = value;
    } else if (key == "password") {
      out.password = value;
    } else if (key == "tls_ca_file") {
      out.tls_ca_file = value;
    } else if (key == "insert_batch_spans") {
      absl::StatusOr<uint64_t> n = ParseUnsigned(value);
      if (!n.ok() || *n < 1 || *n > 1000000) {
        return Bad(key, value, "want an integer from 1 to 1000000");
      }
      out.insert_batch_spans = static_cast<size_t>(*n);
    } else if (key == "flush_interval" || key == "retention_max_age" ||
               key == "request_timeout") {
      absl::StatusOr<uint64_t> nano = ParseDurationNano(value);
      if (!nano.ok()) return Bad(key, value, std::string(nano.status().message()));
      if (key == "flush_interval") {
        out.flush_interval_nano = *nano;
      } else if (key == "retention_max_age") {
        out.retention_max_age_nano = *nano;
      } else {
        if (*nano < 1000000) return Bad(key, value, "must be at least 1ms");
        out.request_timeout_nano = *nano;
      }
    } else if (key == "retention_max_bytes") {
      absl::StatusOr<uint64_t> n = ParseUnsigned(value);
      if (!n.ok()) return Bad(key, value, std::string(n.status().message()));
      out.retention_max_bytes = *n;
    } else {
      return absl::InvalidArgumentError(fmt::format(
          "storage.clickhouse.{}: unknown setting (known: endpoints, database, cluster, user, "
          "password, tls_ca_file, insert_batch_spans, flush_interval, retention_max_age, "
          "retention_max_bytes, request_timeout)",
          key));
    }
  }
  return out;
}

}  // namespace teletrace::storage::clickhouse
