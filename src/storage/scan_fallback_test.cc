#include "gtest/gtest.h"
#include "query/engine.h"
#include "query/parse.h"
#include "storage/storage.h"

namespace teletrace::storage {
namespace {

// A backend with the required methods only: one stored span, and a scan over it (or none).
class ScanOnlyBackend : public Backend {
 public:
  explicit ScanOnlyBackend(bool can_scan) : can_scan_(can_scan) {
    span_.span.name = "GET /";
    span_.span.start_time_unix_nano = 1000;
    span_.span.end_time_unix_nano = 1500;
    span_.span.trace_id[15] = 1;
    span_.span.span_id[7] = 1;
    span_.resource = std::make_shared<model::Resource>(
        model::Resource{{{"service.name", "shop"}}, 0, ""});
    span_.scope = std::make_shared<model::Scope>();
  }
  absl::Status WriteSpans(model::SpanBatch, uint64_t) override { return absl::OkStatus(); }
  absl::StatusOr<query::SearchResult> Search(const query::SearchQuery&) override { return query::SearchResult{}; }
  absl::StatusOr<query::TraceResult> GetTrace(const query::TraceQuery&) override { return query::TraceResult{}; }
  absl::StatusOr<std::string> SystemId() override { return std::string("id"); }
  absl::Status EnforceRetention() override { return absl::OkStatus(); }
  uint64_t DiskBytes() override { return 0; }
  absl::Status ScanSpans(const std::optional<query::TimeRange>& range,
                         const std::vector<query::Filter>& filters,
                         const std::function<void(const model::StoredSpan&)>& fn) override {
    if (!can_scan_) return Backend::ScanSpans(range, filters, fn);
    ++scans;
    if (!range || query::InRange(*range, span_)) fn(span_);
    return absl::OkStatus();
  }
  int scans = 0;

 private:
  bool can_scan_;
  model::StoredSpan span_;
};

query::Key K(std::string_view text) { return *query::ParseKey(text, "key"); }

TEST(ScanFallbackTest, AggregationsAnswerThroughTheScan) {
  ScanOnlyBackend backend(/*can_scan=*/true);
  absl::StatusOr<query::TagValuesResult> values =
      backend.TagValues({K("resource.attributes.service.name"), std::nullopt, {}, 0});
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_EQ(values->values, (std::vector<query::TagValueCount>{{std::string("shop"), 1}}));
  absl::StatusOr<query::StatisticsResult> stats =
      backend.Statistics({K("externalFields.durationNano"), {0, 2000}, {}, {{"max", 0}, {"count", 0}}});
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(*stats, (query::StatisticsResult{{"count", 1}, {"max", 500}}));
  absl::StatusOr<query::HistogramResult> histogram =
      backend.Histograms({{0, 2000}, {}, 1000, {{"n", query::AggregationFunc::kCount, {}, {}, 10, {}, {}}}});
  ASSERT_TRUE(histogram.ok()) << histogram.status();
  ASSERT_EQ(histogram->size(), 1u);
  EXPECT_EQ((*histogram)[0].buckets, (std::vector<query::HistogramBucket>{{1000, uint64_t{1}}}));
  absl::StatusOr<std::vector<query::TagInfo>> keys = backend.TagKeys({query::TimeRange{5000, 6000}});
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(backend.scans, 4);
}

TEST(ScanFallbackTest, WithoutAScanTheAggregationsAreUnimplemented) {
  ScanOnlyBackend backend(/*can_scan=*/false);
  absl::StatusOr<query::TagValuesResult> values =
      backend.TagValues({K("span.name"), std::nullopt, {}, 0});
  EXPECT_EQ(values.status(), absl::UnimplementedError("this storage backend cannot scan spans"));
  EXPECT_EQ(backend.TagKeys({}).status().code(), absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace teletrace::storage
