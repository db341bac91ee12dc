// The one vocabulary for configuration values, shared by the server's settings and every storage
// backend's: declarations (key, default, help) and non-throwing parsers whose errors name the full
// key ("storage.sqlite.retention_max_age: invalid value \"7days\": unknown unit 'a' ...").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace teletrace::settings {

// One setting a component declares. `key` is relative to its section ("retention_max_age" in
// storage.sqlite); --help, environment variable names, YAML and flag validation come from these.
struct Spec {
  std::string key;
  std::string default_value;
  std::string help;
};

// InvalidArgument "<key>: invalid value \"<value>\": <why>".
absl::Status Invalid(std::string_view key, std::string_view value, std::string_view why);

// InvalidArgument "<section>.<key>: unknown setting (known: a, b, c)".
absl::Status Unknown(std::string_view section, std::string_view key,
                     const std::vector<Spec>& known);

// A decimal integer from `min` to `max`.
absl::StatusOr<uint64_t> Unsigned(std::string_view key, std::string_view value, uint64_t min,
                                  uint64_t max);

// A duration in nanoseconds: "0", or one or more <integer><unit> parts with unit ms, s, m, h, d or
// w ("250ms", "90s", "1h30m", "7d", "2w").
absl::StatusOr<uint64_t> Duration(std::string_view key, std::string_view value);

// A byte size: an integer, optionally with a unit KiB, MiB, GiB, TiB (powers of 1024) or KB, MB,
// GB, TB (powers of 1000): "16777216", "16MiB", "10GB". At most `max`.
absl::StatusOr<uint64_t> Bytes(std::string_view key, std::string_view value, uint64_t max);

// true/false, also 1/0, yes/no, on/off.
absl::StatusOr<bool> Bool(std::string_view key, std::string_view value);

// "a, b,,c" -> {"a", "b", "c"}: comma-separated, items trimmed, empty items dropped.
std::vector<std::string> List(std::string_view value);

}  // namespace teletrace::settings
