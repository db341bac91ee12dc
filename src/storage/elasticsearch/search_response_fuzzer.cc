// Fuzzes the readers of the engine's answers (search_response.h, search_aggregations.h, ErrorText in
// search_http.h): any bytes, as JSON or not, give a status of the documented codes, never a crash,
// a search page that reads has sort values exactly when it has spans, and a pushed-down answer
// that reads has what the query asked for.
//
// Input: byte 0 is the number of documents the bulk answer is checked against; the rest is the
// answer body.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"
#include "storage/elasticsearch/search_aggregations.h"
#include "storage/elasticsearch/search_http.h"
#include "storage/elasticsearch/search_query.h"
#include "storage/elasticsearch/search_response.h"

namespace {

namespace query = teletrace::query;
using teletrace::storage::elasticsearch::CheckBulkAnswer;
using teletrace::storage::elasticsearch::ErrorText;
using teletrace::storage::elasticsearch::ReadSearchPage;

[[noreturn]] void Fail() { std::abort(); }

template <typename T>
void CheckPushedDown(const absl::StatusOr<std::optional<T>>& read) {
  if (!read.ok() && !absl::IsInternal(read.status())) Fail();
}

// The readers of pushed-down answers, with queries of every shape they read.
void ReadAggregations(const nlohmann::json& answer) {
  query::Key duration;
  duration.intrinsic = query::Intrinsic::kDuration;
  query::Key status;
  status.intrinsic = query::Intrinsic::kStatusCode;

  query::StatisticsQuery stats;
  stats.key = duration;
  stats.wanted = {{"count", 0}, {"min", 0}, {"avg", 0}, {"p50", 50}, {"p100", 100}};
  stats.approximate = true;
  auto statistics = teletrace::storage::elasticsearch::ReadStatistics(answer, stats);
  CheckPushedDown(statistics);
  if (statistics.ok() && statistics->has_value() && !(*statistics)->empty() &&
      (*statistics)->size() != stats.wanted.size()) {
    Fail();
  }

  query::HistogramQuery histograms;
  histograms.range = {0, 299};
  histograms.interval_nano = 100;
  histograms.approximate = true;
  query::Aggregation by_status;
  by_status.group_by = status;
  by_status.max_groups = 2;
  query::Aggregation latency;
  latency.func = query::AggregationFunc::kPercentiles;
  latency.key = duration;
  latency.percentiles = {50, 99};
  query::Aggregation heat;
  heat.func = query::AggregationFunc::kRangeCount;
  heat.key = duration;
  heat.bounds = {0, 1000, 1e6};
  histograms.aggregations = {query::Aggregation(), by_status, latency, heat};
  // Filters buckets (100 ns), then the start_ms histogram's (1 ms): 3 time buckets either way.
  for (int schema : {teletrace::storage::elasticsearch::kQueryFieldsSchema,
                     teletrace::storage::elasticsearch::kStartMillisSchema}) {
    if (schema == teletrace::storage::elasticsearch::kStartMillisSchema) {
      histograms.range = {1000000, 3999999};
      histograms.interval_nano = 1000000;
    }
    auto read = teletrace::storage::elasticsearch::ReadHistograms(answer, histograms, schema);
    CheckPushedDown(read);
    if (read.ok() && read->has_value()) {
      if ((*read)->size() != 4) Fail();
      for (const query::Histogram& h : **read) {
        if (h.buckets.size() > 3) Fail();
        for (const query::HistogramBucket& b : h.buckets) {
          if (b.bucket_key < histograms.range.start_unix_nano -
                                 histograms.range.start_unix_nano % histograms.interval_nano ||
              b.bucket_key > histograms.range.end_unix_nano) {
            Fail();
          }
        }
      }
    }
  }

  // Grouped percentiles in two steps: the kept groups (at most max_groups), then their buckets.
  query::HistogramQuery per_group;
  per_group.range = {0, 999};
  per_group.interval_nano = uint64_t{1} << 63;
  per_group.approximate = true;
  per_group.aggregations.assign(1, latency);
  per_group.aggregations[0].group_by = status;
  per_group.aggregations[0].max_groups = 2;
  auto groups = teletrace::storage::elasticsearch::ReadGroupCounts(answer, per_group);
  CheckPushedDown(groups);
  std::vector<query::GroupPercentiles> kept = {
      query::GroupPercentiles{std::string("Ok"), 1, {}},
      query::GroupPercentiles{std::string("Error"), 1, {}}};
  if (groups.ok() && groups->has_value()) {
    if ((*groups)->groups.size() > 2) Fail();
    if (!(*groups)->groups.empty()) kept = (*groups)->groups;
  }
  absl::StatusOr<bool> filled =
      teletrace::storage::elasticsearch::ReadGroupPercentiles(answer, per_group, kept);
  if (!filled.ok() && !absl::IsInternal(filled.status())) Fail();
  if (filled.ok() && *filled) {
    for (const query::GroupPercentiles& g : kept) {
      if (g.percentiles.size() != 2) Fail();
    }
  }

  query::TagValuesQuery values;
  values.key = status;
  values.limit = 2;
  auto tag_values = teletrace::storage::elasticsearch::ReadTagValues(answer, values);
  CheckPushedDown(tag_values);
  if (tag_values.ok() && tag_values->has_value() && (*tag_values)->values.size() > 2) Fail();
  values.key.level = query::KeyLevel::kSpan;  // a facet key: typed facet terms
  values.key.name = "http.status_code";
  tag_values = teletrace::storage::elasticsearch::ReadTagValues(answer, values);
  CheckPushedDown(tag_values);
  if (tag_values.ok() && tag_values->has_value() && (*tag_values)->values.size() > 2) Fail();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t sent = static_cast<uint8_t>(input[0]);
  std::string_view body = input.substr(1);
  if (ErrorText(body).empty()) Fail();
  nlohmann::json answer = nlohmann::json::parse(body.begin(), body.end(), nullptr,
                                                /*allow_exceptions=*/false);
  if (answer.is_discarded()) return 0;
  absl::Status bulk = CheckBulkAnswer(answer, sent, "fuzz");
  if (!bulk.ok() && !absl::IsUnavailable(bulk) && !absl::IsInternal(bulk)) Fail();
  ReadAggregations(answer);
  auto page = ReadSearchPage(answer);
  if (page.ok()) {
    if (page->spans.empty() != page->last_sort.is_null()) Fail();
  } else if (!absl::IsDataLoss(page.status()) && !absl::IsInternal(page.status())) {
    Fail();
  }
  return 0;
}
