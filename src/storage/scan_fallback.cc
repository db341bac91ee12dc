// The generic fallback of the storage contract (storage.h): aggregations answered by the engine's
// collectors over Backend::ScanSpans, for backends that have not pushed them down, and the service
// and operation lists answered by TagValues.
#include <algorithm>

#include "absl/status/status.h"
#include "query/engine.h"
#include "query/parse.h"
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

namespace {

constexpr std::string_view kServiceKey = "resource.attributes.service.name";

// `key` = `value`, normalised as the query parser leaves filters; `key` and `value` are this
// file's own, always valid.
query::Filter Equals(std::string_view key, query::Scalar value) {
  query::Filter f;
  f.key = *query::ParseKey(key, "key");
  f.op = query::Operator::kEquals;
  f.value = std::move(value);
  (void)query::ValidateFilter(f, "key");
  return f;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> Backend::Services() {
  query::TagValuesQuery q;
  q.key = *query::ParseKey(kServiceKey, "key");
  absl::StatusOr<query::TagValuesResult> values = TagValues(q);
  if (!values.ok()) return values.status();
  std::vector<std::string> services;
  for (const query::TagValueCount& v : values->values) {
    if (const auto* s = std::get_if<std::string>(&v.value)) services.push_back(*s);
  }
  std::sort(services.begin(), services.end());
  return services;
}

absl::StatusOr<std::vector<Backend::Operation>> Backend::Operations(const std::string& service) {
  // Span names of the service, one query per kind, asked together: a backend that scans answers
  // them in one pass.
  constexpr int kKinds = static_cast<int>(model::SpanKind::kConsumer) + 1;
  std::vector<query::TagValuesQuery> queries(kKinds);
  for (int kind = 0; kind < kKinds; ++kind) {
    query::TagValuesQuery& q = queries[static_cast<size_t>(kind)];
    q.key = *query::ParseKey("span.name", "key");
    q.filters = {Equals(kServiceKey, service), Equals("span.kind", int64_t{kind})};
  }
  absl::StatusOr<std::vector<query::TagValuesResult>> results = TagValuesOfEach(queries);
  if (!results.ok()) return results.status();
  std::vector<Operation> operations;
  for (size_t kind = 0; kind < results->size(); ++kind) {
    for (const query::TagValueCount& v : (*results)[kind].values) {
      if (const auto* s = std::get_if<std::string>(&v.value)) {
        operations.push_back(Operation{*s, static_cast<model::SpanKind>(kind)});
      }
    }
  }
  std::sort(operations.begin(), operations.end());
  return operations;
}

absl::StatusOr<std::vector<std::string>> OperationNames(Backend& backend,
                                                        const std::string& service) {
  absl::StatusOr<std::vector<Backend::Operation>> operations = backend.Operations(service);
  if (!operations.ok()) return operations.status();
  std::vector<std::string> names;
  for (Backend::Operation& op : *operations) names.push_back(std::move(op.name));
  names.erase(std::unique(names.begin(), names.end()), names.end());  // sorted by name first
  return names;
}

}  // namespace teletrace::storage
