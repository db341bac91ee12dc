// Aggregations the engine computes itself ("pushed down"): the request bodies, and the reading of
// the answers. Pure; thread safe.
//
// A request is built only when the engine's answer can equal the scan engine's (query/engine.h):
// every filter has an exact clause (search_query.h ExactClause) and the question is one the
// fields of the indices' schema answer (search_query.h kQueryFieldsSchema, kStartMillisSchema).
// Pushed down:
//   - statistics of the span duration: count, min, max, sum and avg from a `stats` aggregation
//     (doubles, as the scan engine sums); percentiles only when the query is approximate, read from
//     a DurationSketch rebuilt from the per-bucket counts of `dur_bucket`, so they keep the sketch's
//     1% bound and its nearest-rank convention;
//   - histograms whose aggregations are COUNT (ungrouped, or grouped by span.status.code,
//     span.kind, span.name or resource.attributes.service.name), approximate ungrouped duration
//     PERCENTILES, and ungrouped RANGE_COUNT of the duration (a `range` aggregation on `dur`,
//     which compares in doubles as the scan engine does). The time buckets are a `histogram` on
//     start_ms when they are whole milliseconds (exact, see BucketsOnStartMillis in the .cc),
//     else one `filters` bucket each (exact integer ranges on the start time);
//   - tag values of span.status.code, span.kind, span.name and resource.attributes.service.name,
//     and of the facet keys (search_query.h IsFacetKey) from `facet_values`.
// Anything else gets nullopt and the backend scans.
//
// The answers are untrusted: parsed without exceptions, malformed ones Internal naming the problem.
// A reader returns nullopt when the answer shows the push-down could not be exact (a document
// without the fields, a terms list cut short); the backend then scans.
#pragma once

#include <optional>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "query/query.h"

namespace teletrace::storage::elasticsearch {

// Histograms with more time buckets than this are scanned (one filter per bucket).
inline constexpr uint64_t kMaxPushedDownBuckets = 1500;
// Buckets one answer may hold: the engines refuse more than search.max_buckets (65,535 on
// OpenSearch, 65,536 on Elasticsearch 8 by default), counting every time bucket and every group or
// duration bucket inside it.
inline constexpr uint64_t kMaxBucketsPerAnswer = 60000;

// How many consecutive time buckets of `q` one request may ask for, so that its answer holds at
// most kMaxBucketsPerAnswer buckets whatever the data; 0 when `q` is not pushed down (no time
// bucket or more than kMaxPushedDownBuckets of them, an aggregation or a filter not pushed down).
// The backend splits a histogram's range into requests of at most this many time buckets.
uint64_t TimeBucketsPerRequest(const query::HistogramQuery& q);

std::optional<nlohmann::json> StatisticsRequest(const query::StatisticsQuery& q);
absl::StatusOr<std::optional<query::StatisticsResult>> ReadStatistics(
    const nlohmann::json& answer, const query::StatisticsQuery& q);

// `schema` is the oldest teletrace_schema among the indices asked (search_query.h): below
// kQueryFieldsSchema nothing is pushed down; from kStartMillisSchema, buckets of whole milliseconds
// are the engine's `histogram` over start_ms (one pass) instead of one range filter per bucket.
// ReadHistograms takes the same `schema` as the request it reads.
std::optional<nlohmann::json> HistogramsRequest(const query::HistogramQuery& q, int schema);
absl::StatusOr<std::optional<query::HistogramResult>> ReadHistograms(
    const nlohmann::json& answer, const query::HistogramQuery& q, int schema);

// Grouped approximate PERCENTILES of the duration over one time bucket (the services page's p50
// and p99 per service): every group's duration buckets in one answer could exceed the engines'
// bucket limit, so they are asked in two steps. GroupCountsRequest counts the spans of every group
// (nullopt when `q` is not of this shape or not pushed down); ReadGroupCounts keeps the largest
// groups as the scan engine does, their percentiles empty. GroupPercentilesRequest then asks the
// duration buckets of at most kPercentileGroupsPerRequest of them, and ReadGroupPercentiles fills
// in their counts and percentiles (false when its answer could not be exact). Membership comes
// from the first answer, counts and percentiles from the second: under ingest, a group that
// appears between the two is left out, as if the first answer were the snapshot.
inline constexpr size_t kPercentileGroupsPerRequest = 26;  // 26 * (2,230 + 2) <= 60,000
std::optional<nlohmann::json> GroupCountsRequest(const query::HistogramQuery& q);
absl::StatusOr<std::optional<query::GroupedPercentiles>> ReadGroupCounts(
    const nlohmann::json& answer, const query::HistogramQuery& q);
nlohmann::json GroupPercentilesRequest(const query::HistogramQuery& q,
                                       const std::vector<query::GroupPercentiles>& groups);
absl::StatusOr<bool> ReadGroupPercentiles(const nlohmann::json& answer,
                                          const query::HistogramQuery& q,
                                          std::vector<query::GroupPercentiles>& groups);

std::optional<nlohmann::json> TagValuesRequest(const query::TagValuesQuery& q);
// The schema every index read must have for TagValuesRequest(q) (facet keys need facet_values).
int TagValuesSchema(const query::TagValuesQuery& q);
absl::StatusOr<std::optional<query::TagValuesResult>> ReadTagValues(
    const nlohmann::json& answer, const query::TagValuesQuery& q);

}  // namespace teletrace::storage::elasticsearch
