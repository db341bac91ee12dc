#include "storage/memory/memory_backend.h"

#include "gtest/gtest.h"
#include "storage/testing/conformance_suite.h"

namespace teletrace::storage::memory {
namespace {

using testing::StorageConformance;

// The reference backend passes the same suite as every real engine.
INSTANTIATE_TEST_SUITE_P(Memory, StorageConformance,
                         ::testing::Values(testing::StorageFactory([] { return NewMemoryBackend(); })));

TEST(MemoryBackendTest, RetentionDropsSpansOlderThanTheMaxAgeOnly) {
  uint64_t now = 10'000;
  std::unique_ptr<Backend> backend =
      NewMemoryBackend({.retention_max_age_nano = 1'000, .now = [&now] { return now; }});
  model::SpanBatch batch;
  model::ScopeSpans& scope = batch.resource_spans.emplace_back().scope_spans.emplace_back();
  for (uint8_t i = 1; i <= 3; ++i) {
    model::Span& span = scope.spans.emplace_back();
    span.trace_id[15] = 1;
    span.span_id[7] = i;
    span.start_time_unix_nano = 8'000 + i * 500;  // 8500, 9000, 9500
    span.end_time_unix_nano = span.start_time_unix_nano + 1;
  }
  ASSERT_TRUE(backend->WriteSpans(batch, 1).ok());
  ASSERT_TRUE(backend->EnforceRetention().ok());  // cutoff 9000: only 8500 goes
  TraceId trace{};
  trace[15] = 1;
  absl::StatusOr<query::TraceResult> kept = backend->GetTrace({trace, 0, std::nullopt});
  ASSERT_TRUE(kept.ok()) << kept.status();
  ASSERT_EQ(kept->spans.size(), 2u);
  EXPECT_EQ(kept->spans[0].span.start_time_unix_nano, 9'000u);
  EXPECT_EQ(kept->spans[1].span.start_time_unix_nano, 9'500u);
  // A dropped span may be written again (its id is forgotten with it).
  ASSERT_TRUE(backend->WriteSpans(batch, 2).ok());
  EXPECT_EQ(backend->GetTrace({trace, 0, std::nullopt})->spans.size(), 3u);
}

}  // namespace
}  // namespace teletrace::storage::memory
