// Turns v1 API request bodies (REFERENCE §2) into validated query-model values. Every error is
// InvalidArgument with a message naming the offending field ("timeframe.startTimeUnixNanoSec: ...",
// "filters[1].value: ...").
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "query/query.h"

namespace teletrace::api::v1 {

// Parses a request body: "" is treated as {} (GET-like POSTs); anything else must be a JSON object.
absl::StatusOr<nlohmann::json> ParseBody(std::string_view body);

// `now_unix_nano` replaces an end time of 0. A missing timeframe is all time.
absl::StatusOr<query::TimeRange> ParseTimeframe(const nlohmann::json& body, uint64_t now_unix_nano);
absl::StatusOr<std::vector<query::Filter>> ParseFilters(const nlohmann::json& body);

absl::StatusOr<query::SearchQuery> ParseSearchRequest(const nlohmann::json& body,
                                                      uint64_t now_unix_nano);
absl::StatusOr<query::TagValuesQuery> ParseTagValuesRequest(std::string_view tag,
                                                            const nlohmann::json& body,
                                                            uint64_t now_unix_nano);
absl::StatusOr<query::StatisticsQuery> ParseStatisticsRequest(std::string_view tag,
                                                              const nlohmann::json& body,
                                                              uint64_t now_unix_nano);
absl::StatusOr<query::HistogramQuery> ParseHistogramRequest(const nlohmann::json& body,
                                                            uint64_t now_unix_nano);

}  // namespace teletrace::api::v1
