// Parsing of the Jaeger query API's URL parameters (the HTTP JSON API that Jaeger UI and Grafana's
// Jaeger data source call). Every function takes untrusted text, never throws, and returns
// InvalidArgument with a message that names the parameter, worded as Jaeger words it where a
// client may show it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ids.h"

namespace teletrace::api::jaeger {

// A Go duration ("1.5s", "300ms", "2h45m", "10us", "10µs", "0"), as Jaeger parses minDuration and
// maxDuration, in nanoseconds. Negative durations and ones beyond ~292 years are refused.
absl::StatusOr<uint64_t> ParseGoDuration(std::string_view text, std::string_view param);

// Tag conditions from `tag=key:value` parameters (split at the first ':') and `tags=` parameters,
// each a JSON object of string values ({"http.status_code":"500"}) as Jaeger UI and Grafana send
// it, or logfmt (`http.status_code=500 error=true`, values optionally double-quoted) as users type
// it. Later occurrences of a key replace earlier ones, as in Jaeger. Sorted by key.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseTags(
    const std::vector<std::string>& tag_params, const std::vector<std::string>& tags_params);

// A trace id as Jaeger accepts it: 1 to 32 hex digits, left-padded with zeros to 128 bits.
absl::StatusOr<TraceId> ParseJaegerTraceId(std::string_view text);

// Jaeger's rendering of a trace id: 16 hex digits when the high 64 bits are zero, else 32.
std::string JaegerTraceIdHex(const TraceId& id);

// GET /api/traces parameters.
struct TraceSearchParams {
  std::string service;
  std::string operation;                                   // "" = any
  std::vector<std::pair<std::string, std::string>> tags;   // all must hold on one span
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = 0;
  uint64_t min_duration_nano = 0;                          // 0 = no bound
  std::optional<uint64_t> max_duration_nano;
  size_t limit = 0;
  std::vector<TraceId> trace_ids;                          // traceID=...: fetch these instead
};

inline constexpr size_t kDefaultTraceLimit = 100;         // Jaeger's default
inline constexpr uint64_t kDefaultTraceLookbackNano = 2ull * 24 * 3600 * 1'000'000'000;  // 2 days

// Reads /api/traces parameters from a decoded query string. `now_unix_nano` fills a missing end
// (and start = end - 2 days, Jaeger's defaults); `max_limit` caps `limit`.
absl::StatusOr<TraceSearchParams> ParseTraceSearchParams(
    const std::vector<std::pair<std::string, std::string>>& params, uint64_t now_unix_nano,
    size_t max_limit);

}  // namespace teletrace::api::jaeger
