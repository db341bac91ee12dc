#include "ingest/span_validator.h"

#include "gtest/gtest.h"
#include "ingest/fake_backend_for_test.h"

namespace teletrace::ingest {
namespace {

using testing::MakeBatch;

TEST(SpanValidatorTest, KeepsValidSpansUntouched) {
  model::SpanBatch batch = MakeBatch(3);
  batch.resource_spans[0].scope_spans[0].spans[1].parent_span_id = {0, 0, 0, 0, 0, 0, 0, 1};
  model::SpanBatch original = batch;
  ValidationResult result = ValidateSpans(&batch);
  EXPECT_EQ(result.rejected_spans, 0);
  EXPECT_EQ(result.error_message, "");
  EXPECT_EQ(batch, original);
}

TEST(SpanValidatorTest, RejectsZeroIdsAndBackwardsTimesWithExactMessage) {
  model::SpanBatch batch = MakeBatch(4);
  auto& spans = batch.resource_spans[0].scope_spans[0].spans;
  spans[0].trace_id = TraceId{};
  spans[2].span_id = SpanId{};
  spans[3].start_time_unix_nano = 300;  // end is 200
  model::Span kept = spans[1];
  ValidationResult result = ValidateSpans(&batch);
  EXPECT_EQ(result.rejected_spans, 3);
  EXPECT_EQ(result.error_message,
            "3 spans rejected: span 0 of scope 0 of resource 0: trace id is all zeros; "
            "span 2 of scope 0 of resource 0: span id is all zeros; "
            "span 3 of scope 0 of resource 0: end time 200 is before start time 300");
  ASSERT_EQ(batch.SpanCount(), 1u);
  EXPECT_EQ(batch.resource_spans[0].scope_spans[0].spans[0], kept);
}

TEST(SpanValidatorTest, UsesDecodeProblemsAndRemovesEmptiedScopesAndResources) {
  model::SpanBatch batch = MakeBatch(1);
  batch.resource_spans[0].scope_spans.push_back(MakeBatch(2).resource_spans[0].scope_spans[0]);
  batch.resource_spans.push_back(MakeBatch(1).resource_spans[0]);
  // Decoders zero the trace id of a span they report, so the problem message must win.
  batch.resource_spans[0].scope_spans[0].spans[0].trace_id = TraceId{};
  batch.resource_spans[1].scope_spans[0].spans[0].trace_id = TraceId{};
  SpanProblems problems = {
      {0, 0, 0, "trace id must be 16 bytes, got 5"},
      {1, 0, 0, "parent span id must be 8 bytes, got 3"},
  };
  ValidationResult result = ValidateSpans(&batch, problems);
  EXPECT_EQ(result.rejected_spans, 2);
  EXPECT_EQ(result.error_message,
            "2 spans rejected: span 0 of scope 0 of resource 0: trace id must be 16 bytes, got 5; "
            "span 0 of scope 0 of resource 1: parent span id must be 8 bytes, got 3");
  ASSERT_EQ(batch.resource_spans.size(), 1u);
  ASSERT_EQ(batch.resource_spans[0].scope_spans.size(), 1u);
  EXPECT_EQ(batch.resource_spans[0].scope_spans[0].spans.size(), 2u);
}

TEST(SpanValidatorTest, SingularMessageForOneSpan) {
  model::SpanBatch batch = MakeBatch(1);
  batch.resource_spans[0].scope_spans[0].spans[0].span_id = SpanId{};
  ValidationResult result = ValidateSpans(&batch);
  EXPECT_EQ(result.rejected_spans, 1);
  EXPECT_EQ(result.error_message,
            "1 span rejected: span 0 of scope 0 of resource 0: span id is all zeros");
  EXPECT_TRUE(batch.resource_spans.empty());
}

TEST(SpanValidatorTest, MessageListsFiveProblemsThenCounts) {
  model::SpanBatch batch = MakeBatch(8);
  for (auto& span : batch.resource_spans[0].scope_spans[0].spans) span.trace_id = TraceId{};
  ValidationResult result = ValidateSpans(&batch);
  EXPECT_EQ(result.rejected_spans, 8);
  EXPECT_EQ(result.error_message,
            "8 spans rejected: span 0 of scope 0 of resource 0: trace id is all zeros; "
            "span 1 of scope 0 of resource 0: trace id is all zeros; "
            "span 2 of scope 0 of resource 0: trace id is all zeros; "
            "span 3 of scope 0 of resource 0: trace id is all zeros; "
            "span 4 of scope 0 of resource 0: trace id is all zeros; and 3 more");
}

TEST(SpanValidatorTest, LongProblemMessagesAreCut) {
  model::SpanBatch batch = MakeBatch(1);
  batch.resource_spans[0].scope_spans[0].spans[0].trace_id = TraceId{};
  ValidationResult result = ValidateSpans(&batch, {{0, 0, 0, std::string(500, 'x')}});
  EXPECT_EQ(result.error_message, "1 span rejected: span 0 of scope 0 of resource 0: " +
                                      std::string(200, 'x') + "...");
}

TEST(SpanValidatorTest, EqualStartAndEndIsValid) {
  model::SpanBatch batch = MakeBatch(1);
  batch.resource_spans[0].scope_spans[0].spans[0].end_time_unix_nano = 100;
  EXPECT_EQ(ValidateSpans(&batch).rejected_spans, 0);
}

}  // namespace
}  // namespace teletrace::ingest
