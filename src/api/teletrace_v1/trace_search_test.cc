// Trace summaries and the traces search over a real SQLite store.
#include "api/teletrace_v1/trace_search.h"

#include <filesystem>

#include "gtest/gtest.h"
#include "query/parse.h"
#include "storage/sqlite/sqlite_backend.h"

namespace teletrace::api::v1 {
namespace {

constexpr uint64_t kBase = 1'700'000'000'000'000'000;
constexpr uint64_t kMs = 1'000'000;

TraceId Tid(uint8_t b) {
  TraceId id;
  id.fill(b);
  return id;
}

SpanId Sid(uint8_t b) {
  SpanId id{};
  id[7] = b;
  return id;
}

model::StoredSpan MakeSpan(const std::string& service, uint8_t id, uint8_t parent, uint64_t start_ms,
                           uint64_t end_ms, bool error = false) {
  model::StoredSpan s;
  auto r = std::make_shared<model::Resource>();
  if (!service.empty()) r->attributes = {{"service.name", service}};
  s.resource = std::move(r);
  s.span.trace_id = Tid(1);
  s.span.span_id = Sid(id);
  if (parent != 0) s.span.parent_span_id = Sid(parent);
  s.span.name = "op" + std::to_string(id);
  s.span.start_time_unix_nano = kBase + start_ms * kMs;
  s.span.end_time_unix_nano = kBase + end_ms * kMs;
  if (error) s.span.status.code = model::StatusCode::kError;
  return s;
}

TEST(SummarizeTraceTest, RootDurationCountsAndServices) {
  // Given out of order; the root is span 1 (no parent); span 4's parent (9) is not stored, but it
  // starts later than the root, so it does not replace it. Span 3 ends last.
  std::vector<model::StoredSpan> spans = {
      MakeSpan("db", 3, 2, 4, 30, /*error=*/true), MakeSpan("api", 2, 1, 2, 10),
      MakeSpan("web", 1, 0, 1, 20), MakeSpan("", 4, 9, 5, 6, /*error=*/true),
      MakeSpan("api", 5, 1, 3, 4)};
  TraceSummary t = SummarizeTrace(Tid(1), spans, /*complete=*/true);
  EXPECT_EQ(t.root_service_name, "web");
  EXPECT_EQ(t.root_name, "op1");
  EXPECT_TRUE(t.root_found);
  EXPECT_EQ(t.start_unix_nano, kBase + 1 * kMs);
  EXPECT_EQ(t.duration_nano, 29 * kMs);
  EXPECT_EQ(t.span_count, 5u);
  EXPECT_EQ(t.error_count, 2u);
  EXPECT_EQ(t.services, (std::vector<ServiceSpanCount>{
                            {"api", 2, 0}, {"", 1, 1}, {"db", 1, 1}, {"web", 1, 0}}));
  EXPECT_TRUE(t.complete);
}

TEST(SummarizeTraceTest, WithoutItsRootTheEarliestOrphanStandsIn) {
  // The root (1) was never received: 2 and 3 point at it; 2 starts first.
  std::vector<model::StoredSpan> spans = {MakeSpan("b", 3, 1, 7, 8), MakeSpan("a", 2, 1, 5, 9)};
  TraceSummary t = SummarizeTrace(Tid(1), spans, /*complete=*/false);
  EXPECT_EQ(t.root_name, "op2");
  EXPECT_EQ(t.root_service_name, "a");
  EXPECT_TRUE(t.root_found);
  EXPECT_FALSE(t.complete);
  // A cycle: every parent is stored; the earliest span is used and root_found says so.
  std::vector<model::StoredSpan> cycle = {MakeSpan("x", 1, 2, 3, 4), MakeSpan("y", 2, 1, 2, 4)};
  t = SummarizeTrace(Tid(1), cycle, true);
  EXPECT_FALSE(t.root_found);
  EXPECT_EQ(t.root_name, "op2");
}

class SearchTracesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("teletrace-trace-search-" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto backend = storage::NewSqliteBackend({{"path", dir_.string()}, {"retention_max_age", "0"}});
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = std::move(*backend);
    // Trace k (1..6) starts at k ms, has k spans of service "svc<k % 2>", lasts 10 * k ms; the
    // even traces have an error span; every span is named "op".
    for (uint8_t k = 1; k <= 6; ++k) {
      model::SpanBatch batch;
      auto& rs = batch.resource_spans.emplace_back();
      rs.resource.attributes = {{"service.name", "svc" + std::to_string(k % 2)}};
      auto& ss = rs.scope_spans.emplace_back();
      for (uint8_t i = 1; i <= k; ++i) {
        model::Span s;
        s.trace_id = Tid(k);
        s.span_id = Sid(i);
        if (i > 1) s.parent_span_id = Sid(1);
        s.name = "op";
        s.start_time_unix_nano = kBase + k * kMs + (i - 1);
        s.end_time_unix_nano = kBase + k * kMs + (i == 1 ? 10 * k * kMs : 1000);
        if (k % 2 == 0 && i == k) s.status.code = model::StatusCode::kError;
        ss.spans.push_back(s);
      }
      ASSERT_TRUE(backend_->WriteSpans(std::move(batch), kBase).ok());
    }
  }
  void TearDown() override {
    backend_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::vector<int> Found(const TraceSearchRequest& r, const TraceSearchLimits& limits = {},
                         bool* partial = nullptr) {
    auto result = SearchTraces(backend_.get(), r, limits);
    EXPECT_TRUE(result.ok()) << result.status();
    std::vector<int> ids;
    if (!result.ok()) return ids;
    for (const TraceSummary& t : result->traces) ids.push_back(t.trace_id[0]);
    if (partial != nullptr) *partial = result->partial;
    return ids;
  }

  std::filesystem::path dir_;
  std::unique_ptr<storage::Backend> backend_;
};

TEST_F(SearchTracesTest, NewestFirstWithExactSummaries) {
  TraceSearchRequest r;
  bool partial = true;
  EXPECT_EQ(Found(r, {}, &partial), (std::vector<int>{6, 5, 4, 3, 2, 1}));
  EXPECT_FALSE(partial);
  r.limit = 2;
  auto result = SearchTraces(backend_.get(), r);
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->traces.size(), 2u);
  const TraceSummary& six = result->traces[0];
  EXPECT_EQ(six.span_count, 6u);
  EXPECT_EQ(six.error_count, 1u);
  EXPECT_EQ(six.duration_nano, 60 * kMs);
  EXPECT_EQ(six.start_unix_nano, kBase + 6 * kMs);
  EXPECT_EQ(six.root_service_name, "svc0");
  EXPECT_EQ(six.services, (std::vector<ServiceSpanCount>{{"svc0", 6, 1}}));
  EXPECT_FALSE(result->partial);
}

TEST_F(SearchTracesTest, SpanFiltersPickTracesAndTraceFiltersNarrowThem) {
  TraceSearchRequest r;
  // A span-level filter: only the error spans match, in the even traces.
  query::Filter error;
  error.key = *query::ParseKey("span.status.code", "filters[0]");
  error.op = query::Operator::kEquals;
  error.value = query::Scalar(std::string("Error"));
  ASSERT_TRUE(query::ValidateFilter(error, "filters[0]").ok());
  r.filters = {error};
  EXPECT_EQ(Found(r), (std::vector<int>{6, 4, 2}));
  // Trace-level conditions on the summaries.
  r.filters.clear();
  r.min_duration_nano = 30 * kMs;
  r.max_duration_nano = 50 * kMs;
  EXPECT_EQ(Found(r), (std::vector<int>{5, 4, 3}));
  r = {};
  r.root_service_name = "svc1";
  EXPECT_EQ(Found(r), (std::vector<int>{5, 3, 1}));
  r.has_errors = true;
  EXPECT_EQ(Found(r), (std::vector<int>{}));
  r.root_service_name.reset();
  r.has_errors = false;
  EXPECT_EQ(Found(r), (std::vector<int>{5, 3, 1}));
}

TEST_F(SearchTracesTest, LimitsStopTheSearchAndSaySo) {
  TraceSearchRequest r;
  r.has_errors = true;  // traces 6, 4, 2 pass; 5 and 3 are summarised and rejected
  bool partial = false;
  EXPECT_EQ(Found(r, {.max_examined_spans = 100000, .max_examined_traces = 3}, &partial),
            (std::vector<int>{6, 4}));
  EXPECT_TRUE(partial);
  r = {};
  r.limit = 6;
  partial = true;
  EXPECT_EQ(Found(r, {.max_examined_spans = 100000, .max_examined_traces = 6}, &partial),
            (std::vector<int>{6, 5, 4, 3, 2, 1}));
  EXPECT_FALSE(partial);
}

}  // namespace
}  // namespace teletrace::api::v1
