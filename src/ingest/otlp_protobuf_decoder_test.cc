#include "ingest/otlp_protobuf_decoder.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/escaping.h"
#include "fmt/format.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "ingest/fixtures_for_test.h"
#include "ingest/otlp_json_decoder.h"
#include "ingest/span_validator.h"
#include "nlohmann/json.hpp"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace teletrace::ingest {
namespace {

using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

constexpr char kJsonFixture[] = "otlp/multi_service_trace.json";
constexpr char kProtobufFixture[] = "otlp/multi_service_trace.pb";

// Rewrites every OTLP/JSON hex id to the base64 that protobuf's generic JSON mapping expects.
void HexIdsToBase64(nlohmann::json* j) {
  if (j->is_array()) {
    for (auto& element : *j) HexIdsToBase64(&element);
    return;
  }
  if (!j->is_object()) return;
  for (auto& [key, value] : j->items()) {
    if ((key == "traceId" || key == "spanId" || key == "parentSpanId") && value.is_string()) {
      std::string raw = absl::HexStringToBytes(value.get<std::string>());
      value = absl::Base64Escape(absl::string_view(raw.data(), raw.size()));
    } else {
      HexIdsToBase64(&value);
    }
  }
}

// The protobuf equivalent of the JSON fixture, built through protobuf's own JSON parser (an
// implementation independent of ours) after converting the ids.
std::string ProtobufFromJsonFixture() {
  nlohmann::json j = nlohmann::json::parse(testing::ReadFixture(kJsonFixture));
  HexIdsToBase64(&j);
  ExportTraceServiceRequest request;
  auto status = google::protobuf::util::JsonStringToMessage(j.dump(), &request);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return request.SerializeAsString();
}

TEST(OtlpProtobufDecoderTest, ProtobufAndJsonFixturesDecodeToTheSameBatch) {
  std::string generated = ProtobufFromJsonFixture();
  if (std::getenv("TELETRACE_WRITE_FIXTURES") != nullptr) {
    std::ofstream(testing::FixturePath(kProtobufFixture), std::ios::binary) << generated;
  }
  absl::StatusOr<model::SpanBatch> from_json = DecodeOtlpJson(testing::ReadFixture(kJsonFixture));
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  EXPECT_EQ(from_json->SpanCount(), 7u);

  SpanProblems problems;
  absl::StatusOr<model::SpanBatch> from_generated = DecodeOtlpProtobuf(generated, &problems);
  ASSERT_TRUE(from_generated.ok()) << from_generated.status();
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(*from_generated, *from_json);

  std::string committed = testing::ReadFixture(kProtobufFixture);
  ASSERT_FALSE(committed.empty()) << "run with TELETRACE_WRITE_FIXTURES=1 to create it";
  absl::StatusOr<model::SpanBatch> from_committed = DecodeOtlpProtobuf(committed);
  ASSERT_TRUE(from_committed.ok()) << from_committed.status();
  EXPECT_EQ(*from_committed, *from_json);
}

TEST(OtlpProtobufDecoderTest, TruncatedInputIsInvalidArgument) {
  std::string bytes = testing::ReadFixture(kProtobufFixture);
  ASSERT_GT(bytes.size(), 100u);
  absl::StatusOr<model::SpanBatch> batch = DecodeOtlpProtobuf(bytes.substr(0, bytes.size() - 7));
  EXPECT_EQ(batch.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(batch.status().message(),
            fmt::format("invalid OTLP protobuf: cannot parse {} bytes as an "
                        "ExportTraceServiceRequest (truncated, corrupt, or nested too deeply)",
                        bytes.size() - 7));
}

TEST(OtlpProtobufDecoderTest, GarbageIsInvalidArgument) {
  absl::StatusOr<model::SpanBatch> batch = DecodeOtlpProtobuf("\xff\xff\xff\xff");
  EXPECT_EQ(batch.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(batch.status().message(),
            "invalid OTLP protobuf: cannot parse 4 bytes as an ExportTraceServiceRequest "
            "(truncated, corrupt, or nested too deeply)");
}

TEST(OtlpProtobufDecoderTest, EmptyInputIsAnEmptyRequest) {
  absl::StatusOr<model::SpanBatch> batch = DecodeOtlpProtobuf("");
  ASSERT_TRUE(batch.ok());
  EXPECT_TRUE(batch->resource_spans.empty());
}

TEST(OtlpProtobufDecoderTest, WrongLengthIdsAreProblemsOfTheirSpan) {
  ExportTraceServiceRequest request;
  auto* spans = request.add_resource_spans()->add_scope_spans();
  auto add_span = [&](std::string trace_id, std::string span_id, std::string parent) {
    auto* span = spans->add_spans();
    span->set_trace_id(trace_id);
    span->set_span_id(span_id);
    span->set_parent_span_id(parent);
    span->set_start_time_unix_nano(1);
    span->set_end_time_unix_nano(2);
    return span;
  };
  std::string tid(16, '\x01');
  std::string sid(8, '\x02');
  add_span(tid, sid, "");                        // valid root
  add_span(std::string(5, '\x01'), sid, "");     // short trace id
  add_span(tid, sid, std::string(3, '\x03'));    // short parent
  add_span(tid, "", "");                         // empty span id: all zeros
  add_span(tid, sid, "")->add_links()->set_span_id("\x01\x02");  // bad link id
  add_span(tid, sid, std::string(8, '\0'));      // zero parent: a root

  SpanProblems problems;
  absl::StatusOr<model::SpanBatch> batch =
      DecodeOtlpProtobuf(request.SerializeAsString(), &problems);
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0].span_index, 1u);
  EXPECT_EQ(problems[0].message, "trace id must be 16 bytes, got 5");
  EXPECT_EQ(problems[1].span_index, 2u);
  EXPECT_EQ(problems[1].message, "parent span id must be 8 bytes, got 3");
  EXPECT_EQ(problems[2].span_index, 4u);
  EXPECT_EQ(problems[2].message, "link 0 span id must be 8 bytes, got 2");

  ValidationResult result = ValidateSpans(&*batch, problems);
  EXPECT_EQ(result.rejected_spans, 4);
  EXPECT_EQ(result.error_message,
            "4 spans rejected: span 1 of scope 0 of resource 0: trace id must be 16 bytes, got 5; "
            "span 2 of scope 0 of resource 0: parent span id must be 8 bytes, got 3; "
            "span 3 of scope 0 of resource 0: span id is all zeros; "
            "span 4 of scope 0 of resource 0: link 0 span id must be 8 bytes, got 2");
  ASSERT_EQ(batch->SpanCount(), 2u);
  EXPECT_TRUE(IsZeroId(batch->resource_spans[0].scope_spans[0].spans[1].parent_span_id));
}

TEST(OtlpProtobufDecoderTest, WithoutAProblemListBadIdsStillNeverPassValidation) {
  ExportTraceServiceRequest request;
  auto* span = request.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(std::string(16, '\x01'));
  span->set_span_id(std::string(8, '\x02'));
  span->set_parent_span_id("\x01");
  absl::StatusOr<model::SpanBatch> batch = DecodeOtlpProtobuf(request.SerializeAsString());
  ASSERT_TRUE(batch.ok());
  ValidationResult result = ValidateSpans(&*batch);
  EXPECT_EQ(result.rejected_spans, 1);
  EXPECT_EQ(result.error_message,
            "1 span rejected: span 0 of scope 0 of resource 0: trace id is all zeros");
}

TEST(OtlpProtobufDecoderTest, UnknownEnumValuesReadAsUnspecified) {
  ExportTraceServiceRequest request;
  auto* span = request.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_kind(static_cast<opentelemetry::proto::trace::v1::Span::SpanKind>(42));
  span->mutable_status()->set_code(
      static_cast<opentelemetry::proto::trace::v1::Status::StatusCode>(9));
  absl::StatusOr<model::SpanBatch> batch = DecodeOtlpProtobuf(request.SerializeAsString());
  ASSERT_TRUE(batch.ok());
  const model::Span& decoded = batch->resource_spans[0].scope_spans[0].spans[0];
  EXPECT_EQ(decoded.kind, model::SpanKind::kUnspecified);
  EXPECT_EQ(decoded.status.code, model::StatusCode::kUnset);
}

}  // namespace
}  // namespace teletrace::ingest
