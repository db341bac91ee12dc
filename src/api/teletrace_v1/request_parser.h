// Turns v1 API request bodies (REFERENCE §2) into validated query-model values. Every error is
// InvalidArgument with a message naming the offending field ("timeframe.startTimeUnixNanoSec: ...",
// "filters[1].value: ...").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "query/dependencies.h"
#include "query/query.h"

namespace teletrace::api::v1 {

// Parses a request body: "" is treated as {} (GET-like POSTs); anything else must be a JSON object.
absl::StatusOr<nlohmann::json> ParseBody(std::string_view body);

// `now_unix_nano` replaces an end time of 0. A missing timeframe is all time.
absl::StatusOr<query::TimeRange> ParseTimeframe(const nlohmann::json& body, uint64_t now_unix_nano);
absl::StatusOr<std::vector<query::Filter>> ParseFilters(const nlohmann::json& body);

absl::StatusOr<query::SearchQuery> ParseSearchRequest(const nlohmann::json& body,
                                                      uint64_t now_unix_nano);
// POST /v1/tags/:tag: {"timeframe"?, "filters"?, "limit"?, "timeBudgetMs"?}; the budget is
// 1..kMaxTimeBudgetMs.
inline constexpr size_t kMaxTimeBudgetMs = 60'000;
absl::StatusOr<query::TagValuesQuery> ParseTagValuesRequest(std::string_view tag,
                                                            const nlohmann::json& body,
                                                            uint64_t now_unix_nano);
absl::StatusOr<query::StatisticsQuery> ParseStatisticsRequest(std::string_view tag,
                                                              const nlohmann::json& body,
                                                              uint64_t now_unix_nano);
absl::StatusOr<query::HistogramQuery> ParseHistogramRequest(const nlohmann::json& body,
                                                            uint64_t now_unix_nano);

inline constexpr size_t kDefaultTraceSearchLimit = 20;
inline constexpr size_t kMaxTraceSearchLimit = 100;

// POST /v1/traces: the traces holding a span that matches every filter, newest first by that span,
// then narrowed by conditions on the whole trace.
struct TraceSearchRequest {
  query::TimeRange range;
  std::vector<query::Filter> filters;
  size_t limit = kDefaultTraceSearchLimit;  // 1..kMaxTraceSearchLimit traces
  // traceFilters: on the trace's summary (all its spans), not on the matching span.
  std::optional<uint64_t> min_duration_nano;
  std::optional<uint64_t> max_duration_nano;
  std::optional<std::string> root_service_name;
  std::optional<bool> has_errors;
};

absl::StatusOr<TraceSearchRequest> ParseTraceSearchRequest(const nlohmann::json& body,
                                                           uint64_t now_unix_nano);

// POST /v1/dependencies: {"timeframe"?, "service"?}. At most kMaxDependencySpans spans are held
// in memory (query::DependenciesQuery::max_examined); beyond, the answer says "partial".
inline constexpr size_t kMaxDependencySpans = 2'000'000;
absl::StatusOr<query::DependenciesQuery> ParseDependenciesRequest(const nlohmann::json& body,
                                                                  uint64_t now_unix_nano);

}  // namespace teletrace::api::v1
