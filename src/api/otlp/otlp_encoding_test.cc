// Stored spans -> OTLP protobuf / JSON -> the ingest decoders must give back the same spans, field
// for field; plus the exact JSON of a small trace, so the encoding's shape is pinned.
#include "api/otlp/otlp_encoding.h"

#include "gtest/gtest.h"
#include "ingest/fixtures_for_test.h"
#include "ingest/otlp_json_decoder.h"
#include "ingest/otlp_protobuf_decoder.h"

namespace teletrace::api::otlp {
namespace {

// Every fixture batch, flattened as storage returns spans.
std::vector<model::SpanBatch> FixtureBatches() {
  std::vector<model::SpanBatch> batches;
  for (const char* name : {"otlp/multi_service_trace.json"}) {
    absl::StatusOr<model::SpanBatch> b =
        ingest::DecodeOtlpJson(ingest::testing::ReadFixture(name));
    EXPECT_TRUE(b.ok()) << name << ": " << b.status();
    if (b.ok()) batches.push_back(std::move(*b));
  }
  return batches;
}

TEST(OtlpEncodingTest, ProtobufRoundTripsThroughTheDecoder) {
  for (const model::SpanBatch& batch : FixtureBatches()) {
    ASSERT_GT(batch.SpanCount(), 0u);
    std::vector<model::StoredSpan> spans = model::Flatten(batch, 1);
    absl::StatusOr<model::SpanBatch> back =
        ingest::DecodeOtlpProtobuf(EncodeOtlpTracesProtobuf(spans));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, batch);
  }
}

TEST(OtlpEncodingTest, JsonRoundTripsThroughTheDecoder) {
  for (const model::SpanBatch& batch : FixtureBatches()) {
    std::vector<model::StoredSpan> spans = model::Flatten(batch, 1);
    std::string json;
    AppendOtlpTracesJson(&json, spans);
    absl::StatusOr<model::SpanBatch> back = ingest::DecodeOtlpJson(json);
    ASSERT_TRUE(back.ok()) << back.status() << "\n" << json;
    EXPECT_EQ(*back, batch) << json;
  }
}

TEST(OtlpEncodingTest, GroupsEqualResourcesFromDifferentObjects) {
  // Two spans whose resources are equal but separate objects (decoded from different blocks)
  // share one ResourceSpans; a different scope opens a second ScopeSpans.
  auto resource = [] {
    auto r = std::make_shared<model::Resource>();
    r->attributes = {{"service.name", "svc"}};
    return r;
  };
  auto scope_a = std::make_shared<model::Scope>();
  scope_a->name = "a";
  auto scope_b = std::make_shared<model::Scope>();
  scope_b->name = "b";
  std::vector<model::StoredSpan> spans(3);
  for (size_t i = 0; i < spans.size(); ++i) {
    spans[i].resource = resource();
    spans[i].span.trace_id.fill(0xab);
    spans[i].span.span_id.fill(static_cast<uint8_t>(i + 1));
    spans[i].span.start_time_unix_nano = 1000 + i;
    spans[i].span.end_time_unix_nano = 2000 + i;
  }
  spans[0].scope = scope_a;
  spans[1].scope = scope_b;
  spans[2].scope = std::make_shared<model::Scope>(*scope_a);
  spans[1].span.kind = model::SpanKind::kServer;
  spans[1].span.attributes = {{"n", int64_t{-5}}, {"d", 1.5}, {"b", model::Bytes{"\x01"}}};
  spans[1].span.status = {"boom", model::StatusCode::kError};
  std::string json;
  AppendOtlpTracesJson(&json, spans, {.base64_ids = true, .resource_spans_key = "batches"});
  EXPECT_EQ(json,
            R"({"batches":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},)"
            R"("scopeSpans":[{"scope":{"name":"a"},"spans":[)"
            R"({"traceId":"q6urq6urq6urq6urq6urqw==","spanId":"AQEBAQEBAQE=","startTimeUnixNano":"1000","endTimeUnixNano":"2000","status":{}},)"
            R"({"traceId":"q6urq6urq6urq6urq6urqw==","spanId":"AwMDAwMDAwM=","startTimeUnixNano":"1002","endTimeUnixNano":"2002","status":{}}]},)"
            R"({"scope":{"name":"b"},"spans":[)"
            R"({"traceId":"q6urq6urq6urq6urq6urqw==","spanId":"AgICAgICAgI=","kind":2,"startTimeUnixNano":"1001","endTimeUnixNano":"2001",)"
            R"("attributes":[{"key":"n","value":{"intValue":"-5"}},{"key":"d","value":{"doubleValue":1.5}},{"key":"b","value":{"bytesValue":"AQ=="}}],)"
            R"("status":{"message":"boom","code":2}}]}]}]})");
  // Protobuf: one ResourceSpans (field 1), so the bytes start with tag 0x0a; Tempo's
  // TraceByIDResponse nests the same message under another field number.
  std::string bytes = EncodeOtlpTracesProtobuf(spans);
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes[0], '\x0a');
  std::string nested = EncodeOtlpTracesProtobuf(spans, 2);
  EXPECT_EQ(nested[0], '\x12');
  EXPECT_EQ(nested.substr(1), bytes.substr(1));
  absl::StatusOr<model::SpanBatch> back = ingest::DecodeOtlpProtobuf(bytes);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->resource_spans.size(), 1u);
  ASSERT_EQ(back->resource_spans[0].scope_spans.size(), 2u);
  EXPECT_EQ(back->resource_spans[0].scope_spans[0].spans.size(), 2u);
  EXPECT_EQ(back->resource_spans[0].scope_spans[1].spans[0].status.message, "boom");
}

}  // namespace
}  // namespace teletrace::api::otlp
