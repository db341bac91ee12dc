// The embedded store's write path (what the ingest writer thread runs) is linear in the request:
// one span with 100k distinct attributes, and one request of 100k spans, each written to a fresh
// database and read back exactly. Before the fix, 100k attributes took about two minutes (every
// attribute looked up by key while building the block's value counts); the bounds separate that
// from the linear code by more than 20x.
//
// DISABLED_MeasureWriteSpansMedians prints the writer's time for the shapes of the Hardening issue
// (medians of 3); run it with --gtest_also_run_disabled_tests --gtest_filter='*Measure*'.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "common/cpu_time_for_test.h"
#include "gtest/gtest.h"
#include "query/query.h"
#include "storage/sqlite/sqlite_backend.h"

namespace teletrace::storage {
namespace {

constexpr int kN = 100000;

std::filesystem::path TestRoot() {
  static const std::filesystem::path root =
      std::filesystem::temp_directory_path() /
      fmt::format("teletrace_sqlite_linear_test_{}", getpid());
  return root;
}

class RemoveTestRoot : public ::testing::Environment {
 public:
  void TearDown() override { std::filesystem::remove_all(TestRoot()); }
};
::testing::Environment* const kRemoveTestRoot =
    ::testing::AddGlobalTestEnvironment(new RemoveTestRoot);

std::unique_ptr<Backend> OpenFresh() {
  static std::atomic<int> counter{0};
  std::filesystem::path dir = TestRoot() / fmt::format("store{}", counter++);
  std::filesystem::remove_all(dir);
  absl::StatusOr<std::unique_ptr<Backend>> backend = NewSqliteBackend({{"path", dir.string()}});
  EXPECT_TRUE(backend.ok()) << backend.status();
  return backend.ok() ? std::move(*backend) : nullptr;
}

// The CPU time `fn` took on this thread.
template <typename Fn>
std::chrono::nanoseconds Timed(Fn&& fn) {
  const std::chrono::nanoseconds start = ThreadCpuTime();
  fn();
  return ThreadCpuTime() - start;
}

TraceId Trace(int t) {
  TraceId id{};
  id[0] = 0xAB;  // every trace id shares its first 8 bytes
  id[14] = static_cast<uint8_t>(t >> 8);
  id[15] = static_cast<uint8_t>(t);
  return id;
}

// One span with `attributes` distinct keys "k<i>" = i (int) or "v<i>" (string) alternately, then
// "k7" again with "last", which must win.
model::SpanBatch WideSpan(int attributes) {
  model::SpanBatch batch;
  model::ResourceSpans& rs = batch.resource_spans.emplace_back();
  rs.resource.attributes.push_back({"service.name", "wide"});
  model::Span& span = rs.scope_spans.emplace_back().spans.emplace_back();
  span.trace_id = Trace(1);
  span.span_id[7] = 1;
  span.name = "wide";
  span.start_time_unix_nano = 1000;
  span.end_time_unix_nano = 2000;
  span.attributes.reserve(attributes + 1);
  for (int i = 0; i < attributes; ++i) {
    if (i % 2 == 0) {
      span.attributes.push_back({fmt::format("k{}", i), int64_t{i}});
    } else {
      span.attributes.push_back({fmt::format("k{}", i), fmt::format("v{}", i)});
    }
  }
  span.attributes.push_back({"k7", "last"});
  return batch;
}

// `n` spans over n / 100 traces of 100 spans, each span in its own resource; spans [from, to) only.
model::SpanBatch ManySpans(int n, int from = 0, int to = -1) {
  if (to < 0) to = n;
  model::SpanBatch batch;
  for (int s = from; s < to; ++s) {
    model::ResourceSpans& rs = batch.resource_spans.emplace_back();
    rs.resource.attributes.push_back({"service.name", fmt::format("svc{}", s % 10)});
    model::Span& span = rs.scope_spans.emplace_back().spans.emplace_back();
    span.trace_id = Trace(s / 100);
    span.span_id[5] = static_cast<uint8_t>(s >> 16);
    span.span_id[6] = static_cast<uint8_t>(s >> 8);
    span.span_id[7] = static_cast<uint8_t>(s);
    span.name = fmt::format("op{}", s % 50);
    span.start_time_unix_nano = 1000 + s;
    span.end_time_unix_nano = 2000 + s;
    span.attributes.push_back({"i", int64_t{s}});
  }
  return batch;
}

query::TagValuesResult MustTagValues(Backend& backend, std::string name) {
  query::TagValuesQuery q;
  q.key.level = query::KeyLevel::kSpan;
  q.key.text = "span.attributes." + name;
  q.key.name = std::move(name);
  absl::StatusOr<query::TagValuesResult> result = backend.TagValues(q);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : query::TagValuesResult{};
}

std::vector<model::StoredSpan> MustGetTrace(Backend& backend, TraceId trace_id) {
  query::TraceQuery q;
  q.trace_id = trace_id;
  absl::StatusOr<query::TraceResult> result = backend.GetTrace(q);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? std::move(result->spans) : std::vector<model::StoredSpan>{};
}

TEST(SqliteLinearComplexityTest, WritesASpanWith100kAttributesAndReadsItBack) {
  std::unique_ptr<Backend> backend = OpenFresh();
  ASSERT_NE(backend, nullptr);
  model::SpanBatch batch = WideSpan(kN);
  const model::Span expected = batch.resource_spans[0].scope_spans[0].spans[0];
  absl::Status status;
  auto took = Timed([&] { status = backend->WriteSpans(std::move(batch), 5000); });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_LT(took, std::chrono::seconds(5) * kBuildSlowdown);

  std::vector<model::StoredSpan> spans = MustGetTrace(*backend, Trace(1));
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].span, expected);
  EXPECT_EQ(spans[0].span.attributes.size(), static_cast<size_t>(kN) + 1);

  query::TagValuesResult k7 = MustTagValues(*backend, "k7");
  ASSERT_EQ(k7.values.size(), 1u);
  EXPECT_EQ(k7.values[0].value, query::TagValue(std::string("last")));
  EXPECT_EQ(k7.values[0].count, 1u);
  query::TagValuesResult k8 = MustTagValues(*backend, "k8");
  ASSERT_EQ(k8.values.size(), 1u);
  EXPECT_EQ(k8.values[0].value, query::TagValue(int64_t{8}));
}

TEST(SqliteLinearComplexityTest, WritesARequestOf100kSpansAndReadsItBack) {
  std::unique_ptr<Backend> backend = OpenFresh();
  ASSERT_NE(backend, nullptr);
  absl::Status status;
  auto took = Timed([&] { status = backend->WriteSpans(ManySpans(kN), 5000); });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_LT(took, std::chrono::seconds(20) * kBuildSlowdown);

  for (int t : {0, 417, kN / 100 - 1}) {
    std::vector<model::StoredSpan> spans = MustGetTrace(*backend, Trace(t));
    ASSERT_EQ(spans.size(), 100u) << t;
    EXPECT_EQ(spans[0].span.name, fmt::format("op{}", (t * 100) % 50));
    EXPECT_EQ(spans[99].span.start_time_unix_nano, static_cast<uint64_t>(1000 + t * 100 + 99));
    EXPECT_EQ(model::ServiceName(*spans[3].resource), fmt::format("svc{}", (t * 100 + 3) % 10));
  }
  query::TagValuesResult i = MustTagValues(*backend, "i");
  EXPECT_EQ(i.total_distinct, static_cast<uint64_t>(kN));
}

// The pipeline commits a giant request in slices and a client retries the whole request when a
// later slice failed: storage keeps the first copy of each (trace id, span id), so the retry
// stores every span exactly once, and checking the stored ids stays cheap however many slices a
// trace arrived in.
TEST(SqliteLinearComplexityTest, RetryAfterAPartialCommitStoresEachSpanOnce) {
  std::unique_ptr<Backend> backend = OpenFresh();
  ASSERT_NE(backend, nullptr);
  constexpr int kSpans = 20000;  // 200 traces of 100 spans
  for (int from = 0; from < kSpans / 2; from += 1000) {
    ASSERT_TRUE(backend->WriteSpans(ManySpans(kSpans, from, from + 1000), 5000).ok());
  }
  ASSERT_TRUE(backend->WriteSpans(ManySpans(kSpans), 6000).ok());
  for (int t : {0, 99, 100, 199}) {
    std::vector<model::StoredSpan> spans = MustGetTrace(*backend, Trace(t));
    ASSERT_EQ(spans.size(), 100u) << t;
    // The first copy wins: the first half keeps the ingestion time of the partial commit.
    EXPECT_EQ(spans[0].ingestion_time_unix_nano, t < 100 ? 5000u : 6000u) << t;
  }
  query::TagValuesResult i = MustTagValues(*backend, "i");
  EXPECT_EQ(i.total_distinct, static_cast<uint64_t>(kSpans));
  ASSERT_FALSE(i.values.empty());
  EXPECT_EQ(i.values[0].count, 1u);  // the most frequent value: no span was stored twice
}

// The wall time `fn` took: what the writer thread is held for, fsync included.
template <typename Fn>
double WallSeconds(Fn&& fn) {
  auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double MedianSeconds(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// TELETRACE_MEASURE_SHAPES picks shapes by name ("40k,100k,spans,slice"; all by default) and
// TELETRACE_MEASURE_RUNS the runs per shape (3 by default), so that the quadratic code's two-minute
// runs can be measured fewer times.
TEST(SqliteLinearComplexityTest, DISABLED_MeasureWriteSpansMedians) {
  struct Shape {
    const char* key;
    const char* name;
    std::function<model::SpanBatch()> make;
  };
  const Shape shapes[] = {
      {"40k", "one span, 40k attributes", [] { return WideSpan(40000); }},
      {"100k", "one span, 100k attributes", [] { return WideSpan(100000); }},
      {"spans", "one request, 100k spans", [] { return ManySpans(100000); }},
      // What the pipeline commits at a time of such a request (PipelineOptions::max_batch_spans).
      {"slice", "one slice, 16384 spans", [] { return ManySpans(16384); }},
  };
  const char* wanted = std::getenv("TELETRACE_MEASURE_SHAPES");
  int runs = 3;
  const char* r = std::getenv("TELETRACE_MEASURE_RUNS");
  if (r != nullptr && *r >= '1' && *r <= '9') runs = *r - '0';  // one digit is plenty
  for (const Shape& shape : shapes) {
    if (wanted != nullptr && std::string(wanted).find(shape.key) == std::string::npos) continue;
    std::vector<double> wall, cpu;
    for (int run = 0; run < runs; ++run) {
      std::unique_ptr<Backend> backend = OpenFresh();
      ASSERT_NE(backend, nullptr);
      model::SpanBatch batch = shape.make();
      absl::Status status;
      const std::chrono::nanoseconds cpu_start = ThreadCpuTime();
      wall.push_back(WallSeconds([&] { status = backend->WriteSpans(std::move(batch), 5000); }));
      cpu.push_back(std::chrono::duration<double>(ThreadCpuTime() - cpu_start).count());
      ASSERT_TRUE(status.ok()) << status;
    }
    std::printf("WriteSpans, %s: wall median %.3f s, CPU median %.3f s over %d runs (wall:",
                shape.name, MedianSeconds(wall), MedianSeconds(cpu), runs);
    for (double w : wall) std::printf(" %.3f", w);
    std::printf("; CPU:");
    for (double c : cpu) std::printf(" %.3f", c);
    std::printf(")\n");
    std::fflush(stdout);
  }
}

}  // namespace
}  // namespace teletrace::storage
