// The receiving side of the write path is linear in the request: one span with 100k distinct
// attributes, and one request with 100k spans, each decoded from protobuf and from JSON and
// validated well inside a bound that quadratic code (5e9 key comparisons at 100k) cannot meet.
// The bounds are generous (CPU time; the linear code takes 0.1 to 1.3 s here in a release build):
// they catch a quadratic step, not a slow machine.
#include <chrono>
#include <ctime>
#include <string>

#include "fmt/format.h"
#include "common/cpu_time_for_test.h"
#include "gtest/gtest.h"
#include "ingest/otlp_json_decoder.h"
#include "ingest/otlp_protobuf_decoder.h"
#include "ingest/span_validator.h"
#include "ingest/zipkin_json_decoder.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace teletrace::ingest {
namespace {

namespace otlp_trace = opentelemetry::proto::trace::v1;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

constexpr int kN = 100000;
constexpr auto kBound = std::chrono::seconds(10) * kBuildSlowdown;

// The CPU time `fn` took on this thread.
template <typename Fn>
std::chrono::nanoseconds Timed(Fn&& fn) {
  const std::chrono::nanoseconds start = ThreadCpuTime();
  fn();
  return ThreadCpuTime() - start;
}

std::string TraceId(int t) { return fmt::format("{:032x}", 0x1000 + t); }
std::string SpanId(int s) { return fmt::format("{:016x}", 0x1000 + s); }

// The big-endian bytes of the id whose hex is `hex`.
std::string Bytes(const std::string& hex) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    out.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  }
  return out;
}

// One span with `attributes` distinct keys "k<i>" = i (int) or "v<i>" (string) alternately, then
// "k7" once more with the string "last": the last occurrence must win downstream.
std::string ProtobufOneSpan(int attributes) {
  ExportTraceServiceRequest request;
  otlp_trace::Span* span = request.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(Bytes(TraceId(1)));
  span->set_span_id(Bytes(SpanId(1)));
  span->set_name("wide");
  span->set_start_time_unix_nano(100);
  span->set_end_time_unix_nano(200);
  for (int i = 0; i < attributes; ++i) {
    auto* kv = span->add_attributes();
    kv->set_key(fmt::format("k{}", i));
    if (i % 2 == 0) {
      kv->mutable_value()->set_int_value(i);
    } else {
      kv->mutable_value()->set_string_value(fmt::format("v{}", i));
    }
  }
  auto* kv = span->add_attributes();
  kv->set_key("k7");
  kv->mutable_value()->set_string_value("last");
  return request.SerializeAsString();
}

// `spans` spans over spans / 100 traces, each span in its own resource.
std::string ProtobufManySpans(int spans) {
  ExportTraceServiceRequest request;
  for (int s = 0; s < spans; ++s) {
    auto* rs = request.add_resource_spans();
    auto* service = rs->mutable_resource()->add_attributes();
    service->set_key("service.name");
    service->mutable_value()->set_string_value(fmt::format("svc{}", s % 10));
    otlp_trace::Span* span = rs->add_scope_spans()->add_spans();
    span->set_trace_id(Bytes(TraceId(s / 100)));
    span->set_span_id(Bytes(SpanId(s)));
    span->set_name(fmt::format("op{}", s % 50));
    span->set_start_time_unix_nano(1000 + s);
    span->set_end_time_unix_nano(2000 + s);
    auto* kv = span->add_attributes();
    kv->set_key("i");
    kv->mutable_value()->set_int_value(s);
  }
  return request.SerializeAsString();
}

std::string JsonOneSpan(int attributes) {
  std::string out = fmt::format(
      R"({{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"{}","spanId":"{}",)"
      R"("name":"wide","startTimeUnixNano":"100","endTimeUnixNano":"200","attributes":[)",
      TraceId(1), SpanId(1));
  for (int i = 0; i < attributes; ++i) {
    if (i % 2 == 0) {
      out += fmt::format(R"({{"key":"k{}","value":{{"intValue":"{}"}}}},)", i, i);
    } else {
      out += fmt::format(R"({{"key":"k{}","value":{{"stringValue":"v{}"}}}},)", i, i);
    }
  }
  out += R"({"key":"k7","value":{"stringValue":"last"}}]}]}]}]})";
  return out;
}

std::string JsonManySpans(int spans) {
  std::string out = R"({"resourceSpans":[)";
  for (int s = 0; s < spans; ++s) {
    if (s > 0) out += ',';
    out += fmt::format(
        R"({{"resource":{{"attributes":[{{"key":"service.name",)"
        R"("value":{{"stringValue":"svc{}"}}}}]}},)"
        R"("scopeSpans":[{{"spans":[{{"traceId":"{}","spanId":"{}","name":"op{}",)"
        R"("startTimeUnixNano":"{}","endTimeUnixNano":"{}",)"
        R"("attributes":[{{"key":"i","value":{{"intValue":"{}"}}}}]}}]}}]}})",
        s % 10, TraceId(s / 100), SpanId(s), s % 50, 1000 + s, 2000 + s, s);
  }
  out += "]}";
  return out;
}

void ExpectWideSpan(const model::SpanBatch& batch, int attributes) {
  ASSERT_EQ(batch.SpanCount(), 1u);
  const model::Span& span = batch.resource_spans[0].scope_spans[0].spans[0];
  ASSERT_EQ(span.attributes.size(), static_cast<size_t>(attributes) + 1);
  EXPECT_EQ(span.attributes[0], (model::KeyValue{"k0", int64_t{0}}));
  EXPECT_EQ(span.attributes[attributes - 1],
            (model::KeyValue{fmt::format("k{}", attributes - 1),
                             fmt::format("v{}", attributes - 1)}));
  EXPECT_EQ(*model::FindAttribute(span.attributes, "k7"), model::AnyValue("last"));
  EXPECT_EQ(*model::FindAttribute(span.attributes, "k8"), model::AnyValue(int64_t{8}));
}

void ExpectManySpans(const model::SpanBatch& batch, int spans) {
  ASSERT_EQ(batch.SpanCount(), static_cast<size_t>(spans));
  ASSERT_EQ(batch.resource_spans.size(), static_cast<size_t>(spans));
  const model::Span& last = batch.resource_spans.back().scope_spans[0].spans[0];
  EXPECT_EQ(last.name, fmt::format("op{}", (spans - 1) % 50));
  EXPECT_EQ(last.start_time_unix_nano, static_cast<uint64_t>(1000 + spans - 1));
  EXPECT_EQ(last.attributes, (model::KeyValueList{{"i", int64_t{spans - 1}}}));
  EXPECT_EQ(model::ServiceName(batch.resource_spans[3].resource), "svc3");
}

TEST(LinearComplexityTest, ProtobufSpanWith100kAttributesDecodesAndValidates) {
  const std::string body = ProtobufOneSpan(kN);
  absl::StatusOr<model::SpanBatch> batch;
  ValidationResult validation;
  auto took = Timed([&] {
    batch = DecodeOtlpProtobuf(body);
    if (batch.ok()) validation = ValidateSpans(&*batch);
  });
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(validation.rejected_spans, 0);
  ExpectWideSpan(*batch, kN);
  EXPECT_LT(took, kBound);
}

TEST(LinearComplexityTest, JsonSpanWith100kAttributesDecodesAndValidates) {
  const std::string body = JsonOneSpan(kN);
  absl::StatusOr<model::SpanBatch> batch;
  ValidationResult validation;
  auto took = Timed([&] {
    batch = DecodeOtlpJson(body);
    if (batch.ok()) validation = ValidateSpans(&*batch);
  });
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(validation.rejected_spans, 0);
  ExpectWideSpan(*batch, kN);
  EXPECT_LT(took, kBound);
}

TEST(LinearComplexityTest, ProtobufRequestWith100kSpansDecodesAndValidates) {
  const std::string body = ProtobufManySpans(kN);
  absl::StatusOr<model::SpanBatch> batch;
  ValidationResult validation;
  auto took = Timed([&] {
    batch = DecodeOtlpProtobuf(body);
    if (batch.ok()) validation = ValidateSpans(&*batch);
  });
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(validation.rejected_spans, 0);
  ExpectManySpans(*batch, kN);
  EXPECT_LT(took, kBound);
}

TEST(LinearComplexityTest, JsonRequestWith100kSpansDecodesAndValidates) {
  const std::string body = JsonManySpans(kN);
  absl::StatusOr<model::SpanBatch> batch;
  ValidationResult validation;
  auto took = Timed([&] {
    batch = DecodeOtlpJson(body);
    if (batch.ok()) validation = ValidateSpans(&*batch);
  });
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(validation.rejected_spans, 0);
  ExpectManySpans(*batch, kN);
  EXPECT_LT(took, kBound);
}

// The validator's report stays linear and bounded when every one of 100k spans is rejected.
TEST(LinearComplexityTest, ValidatorRejecting100kSpansReportsABoundedMessage) {
  model::SpanBatch batch;
  model::ScopeSpans& ss = batch.resource_spans.emplace_back().scope_spans.emplace_back();
  ss.spans.resize(kN);  // all-zero ids: every span is rejected
  ValidationResult validation;
  auto took = Timed([&] { validation = ValidateSpans(&batch); });
  EXPECT_EQ(validation.rejected_spans, kN);
  EXPECT_EQ(batch.SpanCount(), 0u);
  EXPECT_LT(validation.error_message.size(), 2000u);
  EXPECT_NE(validation.error_message.find("; and 99995 more"), std::string::npos)
      << validation.error_message;
  EXPECT_LT(took, kBound);
}

// Zipkin JSON: one span with 100k tags and 100k annotations, and 100k spans each of its own
// service and resource (the grouping into ResourceSpans must not scan the groups per span).
TEST(LinearComplexityTest, ZipkinSpanWith100kTagsAndAnnotationsDecodes) {
  std::string body = R"([{"traceId":"0000000000001001","id":"0000000000001001","timestamp":1,)"
                     R"("localEndpoint":{"serviceName":"wide"},"tags":{)";
  for (int i = 0; i < kN; ++i) body += fmt::format("{}\"k{}\":\"v{}\"", i ? "," : "", i, i);
  body += R"(},"annotations":[)";
  for (int i = 0; i < kN; ++i) {
    body += fmt::format(R"({}{{"timestamp":{},"value":"a{}"}})", i ? "," : "", i + 1, i);
  }
  body += "]}]";
  absl::StatusOr<model::SpanBatch> batch;
  auto took = Timed([&] { batch = DecodeZipkinJson(body); });
  ASSERT_TRUE(batch.ok()) << batch.status();
  const model::Span& span = batch->resource_spans.at(0).scope_spans.at(0).spans.at(0);
  EXPECT_EQ(span.attributes.size(), static_cast<size_t>(kN));
  EXPECT_EQ(span.events.size(), static_cast<size_t>(kN));
  EXPECT_LT(took, kBound);
}

TEST(LinearComplexityTest, ZipkinRequestWith100kServicesDecodesAndValidates) {
  std::string body = "[";
  for (int i = 0; i < kN; ++i) {
    body += fmt::format(R"({}{{"traceId":"{}","id":"{}","timestamp":1,"duration":1,)"
                        R"("localEndpoint":{{"serviceName":"s{}"}},"tags":{{"host.name":"h{}"}}}})",
                        i ? "," : "", TraceId(i), SpanId(i), i, i);
  }
  body += "]";
  absl::StatusOr<model::SpanBatch> batch;
  ValidationResult validation;
  auto took = Timed([&] {
    batch = DecodeZipkinJson(body);
    if (batch.ok()) validation = ValidateSpans(&*batch);
  });
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(validation.rejected_spans, 0);
  EXPECT_EQ(batch->resource_spans.size(), static_cast<size_t>(kN));
  EXPECT_EQ(batch->SpanCount(), static_cast<size_t>(kN));
  EXPECT_LT(took, kBound);
}

}  // namespace
}  // namespace teletrace::ingest
