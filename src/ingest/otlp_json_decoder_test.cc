#include "ingest/otlp_json_decoder.h"

#include <cmath>
#include <string>

#include "gtest/gtest.h"
#include "ingest/fixtures_for_test.h"
#include "ingest/span_validator.h"

namespace teletrace::ingest {
namespace {

using model::AnyValue;
using model::ArrayValue;
using model::KeyValueList;

TraceId Tid(std::string_view hex) { return *ParseTraceIdHex(hex); }
SpanId Sid(std::string_view hex) { return *ParseSpanIdHex(hex); }

// One span around `span_json`, for tests of single fields.
std::string WrapSpan(const std::string& span_json) {
  return R"({"resourceSpans":[{"scopeSpans":[{"spans":[)" + span_json + "]}]}]}";
}

const model::Span& OnlySpan(const model::SpanBatch& batch) {
  return batch.resource_spans.at(0).scope_spans.at(0).spans.at(0);
}

TEST(OtlpJsonDecoderTest, FixtureDecodesEveryField) {
  std::string json = testing::ReadFixture("otlp/multi_service_trace.json");
  ASSERT_FALSE(json.empty());
  SpanProblems problems;
  absl::StatusOr<model::SpanBatch> batch = DecodeOtlpJson(json, &problems);
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(batch->SpanCount(), 7u);
  ASSERT_EQ(batch->resource_spans.size(), 2u);

  const model::Resource& frontend = batch->resource_spans[0].resource;
  KeyValueList expected_resource = {
      {"service.name", "frontend"},
      {"service.version", "1.4.2"},
      {"host.cpu_count", int64_t{8}},
      {"process.pid", int64_t{4242}},
      {"deployment.canary", false},
      {"sampling.ratio", 0.25},
      {"build.tags", ArrayValue{"release", int64_t{3}, true}},
      {"k8s", KeyValueList{{"namespace", "shop"},
                           {"pod", "frontend-7d9f6"},
                           {"labels", KeyValueList{{"tier", "web"}}}}},
      {"build.digest", model::Bytes{"\xde\xad\xbe\xef"}},
      {"empty.value", AnyValue()},
  };
  EXPECT_EQ(frontend.attributes, expected_resource);
  EXPECT_EQ(frontend.dropped_attributes_count, 1u);
  EXPECT_EQ(frontend.schema_url, "https://opentelemetry.io/schemas/1.21.0");

  const model::ScopeSpans& http = batch->resource_spans[0].scope_spans[0];
  EXPECT_EQ(http.scope, (model::Scope{"io.opentelemetry.http", "1.2.0",
                                      KeyValueList{{"library.language", "go"}}, 0,
                                      "https://opentelemetry.io/schemas/1.21.0"}));
  ASSERT_EQ(http.spans.size(), 2u);

  model::Span root;
  root.trace_id = Tid("5b8efff798038103d269b633813fc60c");
  root.span_id = Sid("eee19b7ec3c1b174");
  root.trace_state = "rojo=00f067aa0ba902b7";
  root.flags = 257;
  root.name = "GET /checkout";
  root.kind = model::SpanKind::kServer;
  root.start_time_unix_nano = 1700000000000000000u;
  root.end_time_unix_nano = 1700000000250000123u;
  root.attributes = {{"http.method", "GET"},
                     {"http.route", "/checkout"},
                     {"http.status_code", int64_t{500}},
                     {"http.user_agent", "Mozilla/5.0 (X11; Linux x86_64) \xc3\xa9t\xc3\xa9"}};
  root.dropped_attributes_count = 2;
  root.events = {{1700000000100000000u, "cache miss", {{"cache.key", "cart:42"}}, 0}};
  root.status = {"upstream payments failed", model::StatusCode::kError};
  EXPECT_EQ(http.spans[0], root);

  model::Span client;
  client.trace_id = root.trace_id;
  client.span_id = Sid("2f9c6b0e8a1d4c37");
  client.parent_span_id = root.span_id;
  client.flags = 1;
  client.name = "POST /api/charge";
  client.kind = model::SpanKind::kClient;
  client.start_time_unix_nano = 1700000000010000000u;  // a JSON number, not a string
  client.end_time_unix_nano = 1700000000240000000u;
  client.attributes = {
      {"http.method", "POST"}, {"net.peer.port", int64_t{8443}}, {"retry.backoff_seconds", 1.5}};
  client.links = {{Tid("0af7651916cd43dd8448eb211c80319c"), Sid("b7ad6b7169203331"),
                   "congo=t61rcWkgMzE", KeyValueList{{"link.reason", "retry-of"}}, 1, 1}};
  client.dropped_links_count = 1;
  client.status = {"", model::StatusCode::kOk};
  EXPECT_EQ(http.spans[1], client);

  const model::ResourceSpans& payments = batch->resource_spans[1];
  EXPECT_EQ(model::ServiceName(payments.resource), "payments");
  EXPECT_EQ(payments.resource.schema_url, "");
  ASSERT_EQ(payments.scope_spans.size(), 2u);
  const model::Span& charge = payments.scope_spans[0].spans.at(0);
  EXPECT_EQ(charge.kind, model::SpanKind::kServer);
  EXPECT_EQ(charge.dropped_events_count, 2u);
  ASSERT_EQ(charge.events.size(), 1u);
  EXPECT_EQ(charge.events[0].name, "exception");
  EXPECT_EQ(charge.events[0].dropped_attributes_count, 3u);
  EXPECT_EQ(charge.events[0].attributes.size(), 3u);
  EXPECT_EQ(*model::FindAttribute(charge.attributes, "payment.attempts"), AnyValue(int64_t{-1}));
  EXPECT_EQ(charge.status, (model::Status{"card declined", model::StatusCode::kError}));
  EXPECT_EQ(payments.scope_spans[0].spans.at(1).kind, model::SpanKind::kProducer);
  EXPECT_EQ(payments.scope_spans[1].scope.name, "io.opentelemetry.jdbc");
  EXPECT_EQ(payments.scope_spans[1].spans.at(1).kind, model::SpanKind::kConsumer);
  EXPECT_EQ(payments.scope_spans[1].spans.at(2).kind, model::SpanKind::kInternal);
}

TEST(OtlpJsonDecoderTest, Int64sAsStringsOrNumbers) {
  auto batch = DecodeOtlpJson(WrapSpan(R"({"startTimeUnixNano": "18446744073709551615",
      "endTimeUnixNano": 18446744073709551615,
      "attributes": [{"key": "a", "value": {"intValue": "-9223372036854775808"}},
                     {"key": "b", "value": {"intValue": 9223372036854775807}},
                     {"key": "c", "value": {"intValue": 1e3}}]})"));
  ASSERT_TRUE(batch.ok()) << batch.status();
  const model::Span& span = OnlySpan(*batch);
  EXPECT_EQ(span.start_time_unix_nano, 18446744073709551615u);
  EXPECT_EQ(span.end_time_unix_nano, 18446744073709551615u);
  EXPECT_EQ(span.attributes, (KeyValueList{{"a", std::numeric_limits<int64_t>::min()},
                                           {"b", std::numeric_limits<int64_t>::max()},
                                           {"c", int64_t{1000}}}));
}

TEST(OtlpJsonDecoderTest, OutOfRangeIntegersNameThePath) {
  auto batch = DecodeOtlpJson(WrapSpan(R"({"startTimeUnixNano": "-1"})"));
  EXPECT_EQ(batch.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(batch.status().message(),
            "resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano: \"-1\" is not an integer "
            "in range");
  batch = DecodeOtlpJson(WrapSpan(R"({"droppedAttributesCount": 4294967296})"));
  EXPECT_EQ(batch.status().message(),
            "resourceSpans[0].scopeSpans[0].spans[0].droppedAttributesCount: 4294967296 is out "
            "of range");
  batch = DecodeOtlpJson(WrapSpan(R"({"attributes":[{"key":"k","value":{"intValue":1.5}}]})"));
  EXPECT_EQ(batch.status().message(),
            "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.intValue: 1.5 is not an "
            "integer in range");
}

TEST(OtlpJsonDecoderTest, HexIdsInEitherCase) {
  auto batch = DecodeOtlpJson(WrapSpan(R"({"traceId": "5B8EFFF798038103D269B633813FC60C",
      "spanId": "eee19b7ec3c1b174", "parentSpanId": "0102030405060708"})"));
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(OnlySpan(*batch).trace_id, Tid("5b8efff798038103d269b633813fc60c"));
  EXPECT_EQ(OnlySpan(*batch).span_id, Sid("eee19b7ec3c1b174"));
  EXPECT_EQ(OnlySpan(*batch).parent_span_id, Sid("0102030405060708"));
}

TEST(OtlpJsonDecoderTest, MissingOrEmptyParentIsRoot) {
  for (const char* parent : {"", R"(, "parentSpanId": "")", R"(, "parentSpanId": null)"}) {
    auto batch = DecodeOtlpJson(WrapSpan(std::string(R"({"traceId": )"
                                                     R"("5b8efff798038103d269b633813fc60c", )"
                                                     R"("spanId": "eee19b7ec3c1b174")") +
                                         parent + "}"));
    ASSERT_TRUE(batch.ok()) << batch.status();
    EXPECT_TRUE(IsZeroId(OnlySpan(*batch).parent_span_id)) << parent;
  }
}

TEST(OtlpJsonDecoderTest, Base64IdsAreRejectedPerSpan) {
  // A generic protobuf JSON encoder writes ids as base64: W47/95gDgQPSabYzgT/GDA== is the trace id
  // 5b8efff7... in base64. Only that span is rejected.
  std::string json = R"({"resourceSpans":[{"scopeSpans":[{"spans":[
      {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
       "startTimeUnixNano": "1", "endTimeUnixNano": "2"},
      {"traceId": "W47/95gDgQPSabYzgT/GDA==", "spanId": "7uGbfsPBsXQ=",
       "startTimeUnixNano": "1", "endTimeUnixNano": "2"},
      {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b175",
       "links": [{"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "7uGbfsPBsXQ="}]}
  ]}]}]})";
  SpanProblems problems;
  auto batch = DecodeOtlpJson(json, &problems);
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].span_index, 1u);
  EXPECT_EQ(problems[0].message,
            "trace id \"W47/95gDgQPSabYzgT/GDA==\" is not 32 hex characters: OTLP/JSON ids must "
            "be hex, not base64");
  EXPECT_EQ(problems[1].span_index, 2u);
  EXPECT_EQ(problems[1].message,
            "link 0 span id \"7uGbfsPBsXQ=\" is not 16 hex characters: OTLP/JSON ids must be "
            "hex, not base64");
  EXPECT_TRUE(IsZeroId(batch->resource_spans[0].scope_spans[0].spans[1].trace_id));

  ValidationResult result = ValidateSpans(&*batch, problems);
  EXPECT_EQ(result.rejected_spans, 2);
  EXPECT_EQ(result.error_message,
            "2 spans rejected: span 1 of scope 0 of resource 0: trace id "
            "\"W47/95gDgQPSabYzgT/GDA==\" is not 32 hex characters: OTLP/JSON ids must be hex, "
            "not base64; span 2 of scope 0 of resource 0: link 0 span id \"7uGbfsPBsXQ=\" is not "
            "16 hex characters: OTLP/JSON ids must be hex, not base64");
  ASSERT_EQ(batch->SpanCount(), 1u);
  EXPECT_EQ(OnlySpan(*batch).span_id, Sid("eee19b7ec3c1b174"));
}

TEST(OtlpJsonDecoderTest, InvalidJsonReportsParserPosition) {
  auto batch = DecodeOtlpJson(R"({"resourceSpans": [})");
  EXPECT_EQ(batch.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(batch.status().message(),
            "invalid OTLP JSON: parse error at line 1, column 20: syntax error while parsing "
            "value - unexpected '}'; expected '[', '{', or a literal");
  batch = DecodeOtlpJson("");
  EXPECT_EQ(batch.status().message(),
            "invalid OTLP JSON: parse error at line 1, column 1: syntax error while parsing "
            "value - unexpected end of input; expected '[', '{', or a literal");
}

TEST(OtlpJsonDecoderTest, WrongStructuralTypesNameThePath) {
  struct Case {
    const char* json;
    const char* message;
  } cases[] = {
      {R"([])", "request body: expected a JSON object"},
      {R"({"resourceSpans": {}})", "resourceSpans: expected an array"},
      {R"({"resourceSpans": [{"scopeSpans": {}}]})",
       "resourceSpans[0].scopeSpans: expected an array"},
      {R"({"resourceSpans": [{"scopeSpans": [{"spans": [1]}]}]})",
       "resourceSpans[0].scopeSpans[0].spans[0]: expected an object"},
      {R"({"resourceSpans": [{"resource": {"attributes": [{"key": 1}]}}]})",
       "resourceSpans[0].resource.attributes[0].key: expected a string"},
      {R"({"resourceSpans": [{"scopeSpans": [{"scope": {"name": 7}}]}]})",
       "resourceSpans[0].scopeSpans[0].scope.name: expected a string"},
      {R"({"resourceSpans": [{"scopeSpans": [{"spans": [{"kind": "SERVER"}]}]}]})",
       "resourceSpans[0].scopeSpans[0].spans[0].kind: unknown value \"SERVER\""},
      {R"({"resourceSpans": [{"scopeSpans": [{"spans": [{"events": [{"name": true}]}]}]}]})",
       "resourceSpans[0].scopeSpans[0].spans[0].events[0].name: expected a string"},
      {R"({"resourceSpans": [{"scopeSpans": [{"spans": [{"status": []}]}]}]})",
       "resourceSpans[0].scopeSpans[0].spans[0].status: expected an object"},
      {R"({"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": 5}]}]}]})",
       "resourceSpans[0].scopeSpans[0].spans[0].traceId: expected a string"},
      {R"({"resourceSpans": [{"scopeSpans": [{"spans": [{"attributes": [{"key": "k",
          "value": {"arrayValue": {"values": [{"bytesValue": "!!"}]}}}]}]}]}]})",
       "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.arrayValue.values[0]."
       "bytesValue: invalid base64"},
  };
  for (const Case& c : cases) {
    auto batch = DecodeOtlpJson(c.json);
    EXPECT_EQ(batch.status().code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_EQ(batch.status().message(), c.message) << c.json;
  }
}

TEST(OtlpJsonDecoderTest, SnakeCaseNamesEnumNamesAndUnknownFields) {
  auto batch = DecodeOtlpJson(R"({"resource_spans": [{"schema_url": "s", "unknown": {"x": [1]},
      "scope_spans": [{"scope": {"name": "n", "dropped_attributes_count": "2"},
        "spans": [{"trace_id": "5b8efff798038103d269b633813fc60c", "span_id": "eee19b7ec3c1b174",
                   "parent_span_id": "0102030405060708", "kind": "SPAN_KIND_CONSUMER",
                   "start_time_unix_nano": "5", "end_time_unix_nano": 6, "futureField": 1,
                   "status": {"code": "STATUS_CODE_ERROR"},
                   "attributes": [{"key": "s", "value": {"string_value": "v"}},
                                  {"key": "n", "value": null}]}]}]}]})");
  ASSERT_TRUE(batch.ok()) << batch.status();
  const model::Span& span = OnlySpan(*batch);
  EXPECT_EQ(batch->resource_spans[0].resource.schema_url, "s");
  EXPECT_EQ(batch->resource_spans[0].scope_spans[0].scope.dropped_attributes_count, 2u);
  EXPECT_EQ(span.trace_id, Tid("5b8efff798038103d269b633813fc60c"));
  EXPECT_EQ(span.parent_span_id, Sid("0102030405060708"));
  EXPECT_EQ(span.kind, model::SpanKind::kConsumer);
  EXPECT_EQ(span.start_time_unix_nano, 5u);
  EXPECT_EQ(span.end_time_unix_nano, 6u);
  EXPECT_EQ(span.status.code, model::StatusCode::kError);
  EXPECT_EQ(span.attributes, (KeyValueList{{"s", "v"}, {"n", AnyValue()}}));
}

TEST(OtlpJsonDecoderTest, UnknownEnumNumbersReadAsUnspecified) {
  auto batch = DecodeOtlpJson(WrapSpan(R"({"kind": 9, "status": {"code": 7}})"));
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(OnlySpan(*batch).kind, model::SpanKind::kUnspecified);
  EXPECT_EQ(OnlySpan(*batch).status.code, model::StatusCode::kUnset);
}

TEST(OtlpJsonDecoderTest, DoubleValueForms) {
  auto batch = DecodeOtlpJson(WrapSpan(R"({"attributes": [
      {"key": "a", "value": {"doubleValue": 3}}, {"key": "b", "value": {"doubleValue": "2.5"}},
      {"key": "c", "value": {"doubleValue": "Infinity"}},
      {"key": "d", "value": {"doubleValue": "NaN"}}]})"));
  ASSERT_TRUE(batch.ok()) << batch.status();
  const KeyValueList& attrs = OnlySpan(*batch).attributes;
  EXPECT_EQ(std::get<double>(attrs[0].value.value), 3.0);
  EXPECT_EQ(std::get<double>(attrs[1].value.value), 2.5);
  EXPECT_EQ(std::get<double>(attrs[2].value.value), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(std::get<double>(attrs[3].value.value)));
}

TEST(OtlpJsonDecoderTest, BytesValueAcceptsUrlSafeBase64) {
  auto batch = DecodeOtlpJson(
      WrapSpan(R"({"attributes": [{"key": "b", "value": {"bytesValue": "-_8="}}]})"));
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(OnlySpan(*batch).attributes[0].value, AnyValue(model::Bytes{"\xfb\xff"}));
}

TEST(OtlpJsonDecoderTest, DeeplyNestedValuesAreRefused) {
  std::string value = R"({"stringValue": "leaf"})";
  for (int i = 0; i < 70; ++i) value = R"({"arrayValue": {"values": [)" + value + "]}}";
  auto batch =
      DecodeOtlpJson(WrapSpan(R"({"attributes": [{"key": "deep", "value": )" + value + "}]}"));
  EXPECT_EQ(batch.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(batch.status().message().find("nested more than 64 levels deep"),
            absl::string_view::npos)
      << batch.status();
}

TEST(OtlpJsonDecoderTest, NumbersBeyondSixtyFourBitsAreDoubles) {
  // JavaScript writes 1e20 as 100000000000000000000; JSON puts no limit on a number's size.
  auto batch = DecodeOtlpJson(WrapSpan(R"({"attributes": [
      {"key": "big", "value": {"doubleValue": 100000000000000000000}},
      {"key": "negative", "value": {"doubleValue": -9223372036854775809}}],
      "unknownField": 123456789012345678901234567890})"));
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(OnlySpan(*batch).attributes,
            (KeyValueList{{"big", 1e20}, {"negative", -9223372036854775809.0}}));
  batch = DecodeOtlpJson(WrapSpan(R"({"startTimeUnixNano": 100000000000000000000})"));
  EXPECT_EQ(std::string(batch.status().message()),
            "resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano: 1e+20 is not an integer "
            "in range");
  batch = DecodeOtlpJson(WrapSpan(R"({"flags": 5000000000.0})"));
  EXPECT_EQ(std::string(batch.status().message()),
            "resourceSpans[0].scopeSpans[0].spans[0].flags: 5000000000.0 is not an integer in "
            "range");
  batch = DecodeOtlpJson(WrapSpan(R"({"flags": 1e400})"));
  EXPECT_EQ(std::string(batch.status().message()),
            "invalid OTLP JSON: number overflow parsing '1e400'");
}

TEST(OtlpJsonDecoderTest, RepeatedKeysLastWinsAndCamelCaseBeatsSnakeCase) {
  auto batch = DecodeOtlpJson(WrapSpan(
      R"({"name": "first", "name": "second", "start_time_unix_nano": 9, "startTimeUnixNano": 7,
          "endTimeUnixNano": null, "end_time_unix_nano": 8, "kind": 2, "kind": null})"));
  ASSERT_TRUE(batch.ok()) << batch.status();
  const model::Span& span = OnlySpan(*batch);
  EXPECT_EQ(span.name, "second");
  EXPECT_EQ(span.start_time_unix_nano, 7u);
  EXPECT_EQ(span.end_time_unix_nano, 8u);               // a null camelCase member reads as absent
  EXPECT_EQ(span.kind, model::SpanKind::kUnspecified);  // the last "kind" is null
}

TEST(OtlpJsonDecoderTest, ByteOrderMarkAndTrailingNulAreAccepted) {
  auto batch = DecodeOtlpJson("\xEF\xBB\xBF" + WrapSpan(R"({"name": "bom"})"));
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(OnlySpan(*batch).name, "bom");
  batch = DecodeOtlpJson(WrapSpan(R"({"name": "nul"})") + std::string("\n\0\0garbage", 10));
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(OnlySpan(*batch).name, "nul");
}

TEST(OtlpJsonDecoderTest, NestingBeyondTheParsersDepthIsRefused) {
  std::string deep = std::string(1100, '[') + std::string(1100, ']');
  auto batch = DecodeOtlpJson(R"({"unknownField": )" + deep + "}");
  EXPECT_EQ(batch.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(batch.status().message()),
            "invalid OTLP JSON: nested more than 1024 levels deep");
}

TEST(OtlpJsonDecoderTest, LargeRequestsDecodeOneAfterAnother) {
  // A request beyond the capacity a thread's parser keeps, then a small one on the same thread.
  std::string spans;
  for (int i = 0; i < 4000; ++i) {
    if (i > 0) spans += ',';
    spans += R"({"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",)"
             R"( "name": "a span name long enough to make the request big", "attributes": [)"
             R"({"key": "i", "value": {"intValue": ")" +
             std::to_string(i) + R"("}}]})";
  }
  auto big = DecodeOtlpJson(R"({"resourceSpans":[{"scopeSpans":[{"spans":[)" + spans + "]}]}]}");
  ASSERT_TRUE(big.ok()) << big.status();
  ASSERT_EQ(big->SpanCount(), 4000u);
  EXPECT_EQ(big->resource_spans[0].scope_spans[0].spans[3999].attributes,
            (KeyValueList{{"i", int64_t{3999}}}));
  auto small = DecodeOtlpJson(WrapSpan(R"({"name": "after"})"));
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ(OnlySpan(*small).name, "after");
}

TEST(OtlpJsonDecoderTest, EmptyObjectIsAnEmptyRequest) {
  auto batch = DecodeOtlpJson("{}");
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->SpanCount(), 0u);
  EXPECT_TRUE(batch->resource_spans.empty());
}

}  // namespace
}  // namespace teletrace::ingest
