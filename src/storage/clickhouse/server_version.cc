#include "storage/clickhouse/server_version.h"

#include <charconv>
#include <optional>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"

namespace teletrace::storage::clickhouse {
namespace {

// One decimal component at the start of `*text`, consumed. nullopt when there is no digit or the
// number does not fit.
std::optional<uint32_t> TakeNumber(std::string_view* text) {
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end == text->data()) return std::nullopt;
  text->remove_prefix(static_cast<size_t>(end - text->data()));
  return value;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' ||
                        s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::string ServerVersion::ToString() const {
  return fmt::format("{}.{}.{}", major, minor, patch);
}

absl::StatusOr<ServerVersion> ParseServerVersion(std::string_view text) {
  const std::string_view trimmed = TrimSpace(text);
  auto bad = [&](std::string_view why) {
    // The answer comes from the network: show a bounded, printable part of it.
    std::string shown;
    for (char c : trimmed.substr(0, 64)) {
      shown += (c >= 0x20 && c < 0x7f) ? std::string(1, c) : fmt::format("\\x{:02x}", c & 0xff);
    }
    return absl::InvalidArgumentError(fmt::format(
        "clickhouse: server version \"{}\"{}: {}", shown, trimmed.size() > 64 ? "..." : "", why));
  };
  if (trimmed.empty()) return bad("empty");
  std::string_view rest = trimmed;
  ServerVersion v;
  std::optional<uint32_t> major = TakeNumber(&rest);
  if (!major.has_value()) return bad("does not start with a major version number");
  v.major = *major;
  if (rest.empty() || rest.front() != '.') return bad("no minor version after the major one");
  rest.remove_prefix(1);
  std::optional<uint32_t> minor = TakeNumber(&rest);
  if (!minor.has_value()) return bad("the minor version is not a number");
  v.minor = *minor;
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    std::optional<uint32_t> patch = TakeNumber(&rest);
    if (!patch.has_value()) return bad("the patch version is not a number");
    v.patch = *patch;
  }
  // Anything after MAJOR.MINOR.PATCH must be further dot-separated parts (the build number).
  while (!rest.empty()) {
    if (rest.front() != '.') return bad("unexpected characters after the version");
    rest.remove_prefix(1);
    if (!TakeNumber(&rest).has_value()) return bad("a version part is not a number");
  }
  return v;
}

VersionSettings SettingsForVersion(const ServerVersion& version, bool cluster) {
  VersionSettings out;
  if (!version.AtLeast(19, 0)) {
    out.ddl_settings.emplace("allow_experimental_low_cardinality_type", "1");
    out.low_cardinality = !cluster;
  }
  out.skip_indices = version.AtLeast(21, 8);
  return out;
}

absl::StatusOr<ServerVersion> DetectServerVersion(ClickHouseHttp& http) {
  ASSIGN_OR_RETURN(std::string answer,
                   http.Execute("SELECT version() FORMAT TabSeparated", {}, "read server version"));
  absl::StatusOr<ServerVersion> version = ParseServerVersion(answer);
  if (!version.ok()) {
    return absl::DataLossError(
        fmt::format("clickhouse: read server version: {}",
                    std::string(version.status().message())));
  }
  if (!version->AtLeast(18, 16)) {
    return absl::FailedPreconditionError(fmt::format(
        "clickhouse: server version {} is older than 18.16, the oldest supported release",
        version->ToString()));
  }
  return version;
}

}  // namespace teletrace::storage::clickhouse
