// The generic fallback of the storage contract (storage.h): aggregations answered by the engine's
// collectors over Backend::ScanSpans, for backends that have not pushed them down.
#include "absl/status/status.h"
#include "query/engine.h"
#include "storage/storage.h"

namespace teletrace::storage {

absl::Status Backend::ScanSpans(const std::optional<query::TimeRange>& /*range*/,
                                const std::vector<query::Filter>& /*filters*/,
                                const std::function<void(const model::StoredSpan&)>& /*fn*/) {
  return absl::UnimplementedError("this storage backend cannot scan spans");
}

absl::StatusOr<std::vector<query::TagInfo>> Backend::TagKeys(const query::TagKeysQuery& query) {
  query::TagKeysCollector collector;
  absl::Status scanned = ScanSpans(query.range, {}, [&](const model::StoredSpan& s) { collector.Add(s); });
  if (!scanned.ok()) return scanned;
  return std::move(collector).Finish();
}

absl::StatusOr<query::TagValuesResult> Backend::TagValues(const query::TagValuesQuery& query) {
  query::TagValuesCollector collector(query);
  absl::Status scanned =
      ScanSpans(query.range, query.filters, [&](const model::StoredSpan& s) { collector.Add(s); });
  if (!scanned.ok()) return scanned;
  return std::move(collector).Finish();
}

absl::StatusOr<std::vector<query::TagValuesResult>> Backend::TagValuesOfEach(
    const std::vector<query::TagValuesQuery>& queries) {
  std::vector<query::TagValuesResult> results;
  results.reserve(queries.size());
  for (const query::TagValuesQuery& query : queries) {
    absl::StatusOr<query::TagValuesResult> result = TagValues(query);
    if (!result.ok()) return result.status();
    results.push_back(*std::move(result));
  }
  return results;
}

absl::StatusOr<query::StatisticsResult> Backend::Statistics(const query::StatisticsQuery& query) {
  query::StatisticsCollector collector(query);
  absl::Status scanned =
      ScanSpans(query.range, query.filters, [&](const model::StoredSpan& s) { collector.Add(s); });
  if (!scanned.ok()) return scanned;
  return std::move(collector).Finish();
}

absl::StatusOr<query::HistogramResult> Backend::Histograms(const query::HistogramQuery& query) {
  query::HistogramCollector collector(query);
  absl::Status scanned =
      ScanSpans(query.range, query.filters, [&](const model::StoredSpan& s) { collector.Add(s); });
  if (!scanned.ok()) return scanned;
  return std::move(collector).Finish();
}

}  // namespace teletrace::storage
