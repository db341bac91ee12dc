#include "storage/sqlite/sqlite_settings.h"

#include <charconv>
#include <limits>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace teletrace::storage::sqlite {
namespace {

constexpr uint64_t kNanosPerSecond = 1000000000;

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
      fmt::format("storage.sqlite.{}: invalid value \"{}\": {}", key, value, why));
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
      return absl::InvalidArgumentError("want <number><unit> parts with unit s, m, h or d");
    }
    absl::StatusOr<uint64_t> amount = ParseUnsigned(text.substr(i, digits_end - i));
    if (!amount.ok()) return absl::InvalidArgumentError("number out of range");
    uint64_t unit_seconds = 0;
    switch (text[digits_end]) {
      case 's':
        unit_seconds = 1;
        break;
      case 'm':
        unit_seconds = 60;
        break;
      case 'h':
        unit_seconds = 3600;
        break;
      case 'd':
        unit_seconds = 86400;
        break;
      default:
        return absl::InvalidArgumentError(
            fmt::format("unknown unit '{}' (want s, m, h or d)", text[digits_end]));
    }
    uint64_t unit_nano = unit_seconds * kNanosPerSecond;
    if (*amount > (std::numeric_limits<uint64_t>::max() - total) / unit_nano) {
      return absl::InvalidArgumentError("duration too large");
    }
    total += *amount * unit_nano;
    i = digits_end + 1;
  }
  return total;
}

absl::StatusOr<SqliteSettings> ParseSqliteSettings(const BackendSettings& settings) {
  SqliteSettings out;
  for (const auto& [key, value] : settings) {
    if (key == "path") {
      if (value.empty()) return Bad(key, value, "must not be empty");
      out.path = value;
    } else if (key == "retention_max_age") {
      absl::StatusOr<uint64_t> nano = ParseDurationNano(value);
      if (!nano.ok()) {
        return Bad(key, value,
                   fmt::format("{} (e.g. 72h, 30m, 7d, or 0 to keep forever)",
                               std::string(nano.status().message())));
      }
      out.retention_max_age_nano = *nano;
    } else if (key == "retention_max_bytes") {
      absl::StatusOr<uint64_t> bytes = ParseUnsigned(value);
      if (!bytes.ok()) return Bad(key, value, "want an integer number of bytes, or 0 for no cap");
      out.retention_max_bytes = *bytes;
    } else if (key == "block_spans") {
      absl::StatusOr<uint64_t> n = ParseUnsigned(value);
      if (!n.ok() || *n < 1 || *n > 65536) {
        return Bad(key, value, "want an integer from 1 to 65536");
      }
      out.block_spans = static_cast<size_t>(*n);
    } else {
      return absl::InvalidArgumentError(fmt::format(
          "storage.sqlite.{}: unknown setting (known: block_spans, path, retention_max_age, "
          "retention_max_bytes)",
          key));
    }
  }
  return out;
}

}  // namespace teletrace::storage::sqlite
