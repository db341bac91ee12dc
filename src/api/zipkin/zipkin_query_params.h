// Parsing of the Zipkin v2 query API's URL parameters. Every function takes untrusted text, never
// throws, and returns InvalidArgument with a message naming the parameter (Zipkin's wording where
// it has one: "limit should be positive: 0").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ids.h"

namespace teletrace::api::zipkin {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// One term of annotationQuery: "key=value" (a tag with that value) or "key" (an annotation with
// that value, or a tag with that key).
struct AnnotationTerm {
  std::string key;
  std::optional<std::string> value;
  bool operator==(const AnnotationTerm&) const = default;
};

// "http.path=/api and error and retry" -> three terms. Terms are separated by " and "; empty
// terms are skipped; a term starting with '=' is an error naming annotationQuery.
absl::StatusOr<std::vector<AnnotationTerm>> ParseAnnotationQuery(std::string_view text);

// A trace id as Zipkin accepts it: 16 or 32 hex digits (either case); 16 fill the low half.
absl::StatusOr<TraceId> ParseZipkinTraceId(std::string_view text);

inline constexpr size_t kDefaultTraceLimit = 10;                               // Zipkin's default
inline constexpr uint64_t kDefaultLookbackNano = 86'400'000ull * 1'000'000;   // 1 day, as Zipkin

// GET /api/v2/traces parameters.
struct TraceSearchParams {
  std::string service_name;         // "" = any
  std::string span_name;            // "" (or "all") = any
  std::string remote_service_name;  // "" = any
  std::vector<AnnotationTerm> annotation_query;
  uint64_t min_duration_nano = 0;  // 0 = no bound
  std::optional<uint64_t> max_duration_nano;
  uint64_t start_unix_nano = 0;  // endTs - lookback (0 when the lookback reaches past 1970)
  uint64_t end_unix_nano = 0;
  size_t limit = kDefaultTraceLimit;
};

// Reads /api/v2/traces parameters: serviceName, spanName, remoteServiceName, annotationQuery,
// minDuration and maxDuration (µs; maxDuration needs minDuration), endTs (ms, default
// `now_unix_nano`), lookback (ms, default 1 day), limit (default 10, capped at `max_limit`).
absl::StatusOr<TraceSearchParams> ParseTraceSearchParams(const QueryParams& params,
                                                         uint64_t now_unix_nano,
                                                         size_t max_limit);

// GET /api/v2/dependencies parameters: endTs (ms, required) and lookback (ms, default 1 day).
struct DependencyParams {
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = 0;
};
absl::StatusOr<DependencyParams> ParseDependencyParams(const QueryParams& params);

}  // namespace teletrace::api::zipkin
