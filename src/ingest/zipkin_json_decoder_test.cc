#include "ingest/zipkin_json_decoder.h"

#include <string>

#include "gtest/gtest.h"
#include "ingest/fixtures_for_test.h"
#include "ingest/span_validator.h"

namespace teletrace::ingest {
namespace {

using model::KeyValueList;
using model::SpanKind;
using model::StatusCode;

TraceId Tid(std::string_view hex) { return *ParseTraceIdHex(hex); }
SpanId Sid(std::string_view hex) { return *ParseSpanIdHex(hex); }

const model::Span& OnlySpan(const model::SpanBatch& batch) {
  return batch.resource_spans.at(0).scope_spans.at(0).spans.at(0);
}

// One span with the required fields and `extra` (",\"name\":\"x\"" ...) appended.
std::string OneSpan(const std::string& extra) {
  return R"([{"traceId":"5af7183fb1d4cf5f","id":"352bff9a74ca9ad2","timestamp":10)" + extra +
         "}]";
}

absl::StatusOr<model::Span> DecodeOne(const std::string& extra) {
  absl::StatusOr<model::SpanBatch> batch = DecodeZipkinJson(OneSpan(extra));
  if (!batch.ok()) return batch.status();
  return OnlySpan(*batch);
}

TEST(ZipkinJsonDecoderTest, FrontendBackendFixtureMapsEveryEndpointField) {
  std::string json = testing::ReadFixture("zipkin/frontend_backend.json");
  ASSERT_FALSE(json.empty());
  absl::StatusOr<model::SpanBatch> batch = DecodeZipkinJson(json);
  ASSERT_TRUE(batch.ok()) << batch.status();

  model::Span backend;
  backend.trace_id = Tid("00000000000000005af7183fb1d4cf5f");
  backend.span_id = Sid("352bff9a74ca9ad2");
  backend.parent_span_id = Sid("6b221d5bc9e6496c");
  backend.name = "get /api";
  backend.kind = SpanKind::kServer;
  backend.start_time_unix_nano = 1556604172355741000;
  backend.end_time_unix_nano = 1556604172356881000;
  backend.attributes = {{"http.method", "GET"},
                        {"http.path", "/api"},
                        {"mvc.controller.class", "Backend"},
                        {"mvc.controller.method", "printDate"},
                        {"net.host.ip", "172.19.0.3"},
                        {"net.peer.ip", "172.19.0.1"},
                        {"net.peer.port", int64_t{47110}}};

  model::Span client;
  client.trace_id = backend.trace_id;
  client.span_id = Sid("352bff9a74ca9ad2");
  client.parent_span_id = Sid("6b221d5bc9e6496c");
  client.name = "get /api";
  client.kind = SpanKind::kClient;
  client.start_time_unix_nano = 1556604172355737000;
  client.end_time_unix_nano = 1556604172357168000;
  client.attributes = {{"http.method", "GET"},          {"http.path", "/api"},
                       {"net.host.ip", "192.168.99.1"}, {"net.host.port", int64_t{3306}},
                       {"peer.service", "backend"},     {"net.peer.ip", "172.19.0.3"},
                       {"net.peer.port", int64_t{9000}}};

  model::Span root;
  root.trace_id = backend.trace_id;
  root.span_id = Sid("6b221d5bc9e6496c");
  root.name = "get";
  root.kind = SpanKind::kServer;
  root.start_time_unix_nano = 1556604172355708000;
  root.end_time_unix_nano = 1556604172357708000;
  root.attributes = {{"http.method", "GET"},
                     {"http.path", "/"},
                     {"mvc.controller.class", "Frontend"},
                     {"mvc.controller.method", "callBackend"},
                     {"net.host.ip", "192.168.99.1"},
                     {"net.peer.ip", "::1"},
                     {"net.peer.port", int64_t{63720}}};
  root.events = {{1556604172355710000, "wr", {}, 0}, {1556604172357700000, "ws", {}, 0}};

  model::SpanBatch expected;
  expected.resource_spans.push_back(
      {model::Resource{{{"service.name", "backend"}}, 0, ""}, {{model::Scope{}, {backend}}}});
  expected.resource_spans.push_back({model::Resource{{{"service.name", "frontend"}}, 0, ""},
                                     {{model::Scope{}, {client, root}}}});
  EXPECT_EQ(*batch, expected);
}

TEST(ZipkinJsonDecoderTest, OtelExporterFixtureMapsResourceScopeStatusLinksAndEvents) {
  std::string json = testing::ReadFixture("zipkin/otel_exporter.json");
  ASSERT_FALSE(json.empty());
  absl::StatusOr<model::SpanBatch> batch = DecodeZipkinJson(json);
  ASSERT_TRUE(batch.ok()) << batch.status();

  model::Span charge;
  charge.trace_id = Tid("4bf92f3577b34da6a3ce929d0e0e4736");
  charge.span_id = Sid("b7ad6b7169203331");
  charge.parent_span_id = Sid("00f067aa0ba902b7");
  charge.name = "charge";
  charge.kind = SpanKind::kProducer;
  // No timestamp: the Collector starts the span at the epoch and marks the absence.
  charge.start_time_unix_nano = 0;
  charge.end_time_unix_nano = 1200000;
  // error other than "true" sets the status and stays a tag.
  charge.status = {"", StatusCode::kError};
  charge.attributes = {{"error", "card declined"},
                       {"messaging.system", "kafka"},
                       {"peer.service", "kafka"},
                       {"net.peer.ip", "10.0.0.7"},
                       {"net.peer.port", int64_t{9092}},
                       {"otel.zipkin.absentField.startTime", true}};

  model::Span checkout;
  checkout.trace_id = Tid("4bf92f3577b34da6a3ce929d0e0e4736");
  checkout.span_id = Sid("00f067aa0ba902b7");
  checkout.trace_state = "rojo=00f067aa0ba902b7";
  checkout.name = "checkout";
  checkout.kind = SpanKind::kInternal;
  checkout.start_time_unix_nano = 1700000000000000000;
  checkout.end_time_unix_nano = 1700000000025000000;
  // "ERROR" is not a status name the Collector knows (it reads STATUS_CODE_ERROR and Error).
  checkout.status = {"payment failed", StatusCode::kUnset};
  checkout.attributes = {{"order.id", "42"}, {"net.host.ip", "2001:db8::1:0:0:1"}};
  checkout.events = {{1700000000001000000,
                      "exception",
                      {{"exception.type", "IOError"},
                       {"fatal", true},
                       {"ratio", 0.5},
                       {"retries", int64_t{3}}},
                      1}};
  checkout.links = {{Tid("0af7651916cd43dd8448eb211c80319c"), Sid("b7ad6b7169203331"),
                     "congo=t61", {{"link.kind", "follows"}}, 0, 0}};

  model::SpanBatch expected;
  expected.resource_spans.push_back(
      {model::Resource{{{"service.name", "payments"}}, 0, ""}, {{model::Scope{}, {charge}}}});
  expected.resource_spans.push_back(
      {model::Resource{
           {{"service.name", "shop"}, {"host.name", "web-1"}, {"service.version", "2.0.1"}}, 0, ""},
       {{model::Scope{"shop-instrumentation", "1.2.3", {}, 0, ""}, {checkout}}}});
  EXPECT_EQ(*batch, expected);
}

TEST(ZipkinJsonDecoderTest, EmptyArrayAndNullElementsDecodeToNothing) {
  absl::StatusOr<model::SpanBatch> batch =
      DecodeZipkinJson(testing::ReadFixture("zipkin/empty.json"));
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->SpanCount(), 0u);
  batch = DecodeZipkinJson("[null]");
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_TRUE(batch->resource_spans.empty());
}

TEST(ZipkinJsonDecoderTest, SixtyFourBitTraceIdFillsTheLowHalf) {
  absl::StatusOr<model::Span> span = DecodeOne("");
  ASSERT_TRUE(span.ok()) << span.status();
  EXPECT_EQ(span->trace_id, Tid("00000000000000005af7183fb1d4cf5f"));
  absl::StatusOr<model::SpanBatch> upper = DecodeZipkinJson(
      R"([{"traceId":"4BF92F3577B34DA6A3CE929D0E0E4736","id":"00F067AA0BA902B7","timestamp":1}])");
  ASSERT_TRUE(upper.ok()) << upper.status();
  EXPECT_EQ(OnlySpan(*upper).trace_id, Tid("4bf92f3577b34da6a3ce929d0e0e4736"));
  EXPECT_EQ(OnlySpan(*upper).span_id, Sid("00f067aa0ba902b7"));
}

TEST(ZipkinJsonDecoderTest, ParentEqualToIdIsDroppedAndEmptyParentIsRoot) {
  absl::StatusOr<model::Span> self = DecodeOne(R"(,"parentId":"352bff9a74ca9ad2")");
  ASSERT_TRUE(self.ok()) << self.status();
  EXPECT_EQ(self->parent_span_id, SpanId{});
  absl::StatusOr<model::Span> empty = DecodeOne(R"(,"parentId":"")");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->parent_span_id, SpanId{});
}

TEST(ZipkinJsonDecoderTest, KindsAndTheSpanKindTag) {
  struct Case {
    std::string extra;
    SpanKind kind;
    KeyValueList attributes;
  } cases[] = {
      {R"(,"kind":"CLIENT")", SpanKind::kClient, {}},
      {R"(,"kind":"SERVER")", SpanKind::kServer, {}},
      {R"(,"kind":"PRODUCER")", SpanKind::kProducer, {}},
      {R"(,"kind":"CONSUMER")", SpanKind::kConsumer, {}},
      {R"(,"kind":"client")", SpanKind::kUnspecified, {}},
      {"", SpanKind::kUnspecified, {}},
      {R"(,"tags":{"span.kind":"internal"})", SpanKind::kInternal, {}},
      {R"(,"tags":{"span.kind":"server"})", SpanKind::kUnspecified, {}},
      // With a kind, the tag is an ordinary attribute.
      {R"(,"kind":"CLIENT","tags":{"span.kind":"internal"})", SpanKind::kClient,
       {{"span.kind", "internal"}}},
  };
  for (const Case& c : cases) {
    absl::StatusOr<model::Span> span = DecodeOne(c.extra);
    ASSERT_TRUE(span.ok()) << c.extra << ": " << span.status();
    EXPECT_EQ(span->kind, c.kind) << c.extra;
    EXPECT_EQ(span->attributes, c.attributes) << c.extra;
  }
}

TEST(ZipkinJsonDecoderTest, StatusFromTags) {
  struct Case {
    std::string tags;
    model::Status status;
    KeyValueList attributes;
  } cases[] = {
      {R"({"error":"true"})", {"", StatusCode::kError}, {}},
      {R"({"error":"false"})", {"", StatusCode::kError}, {{"error", "false"}}},
      {R"({"error":""})", {"", StatusCode::kError}, {{"error", ""}}},
      {R"({"otel.status_code":"STATUS_CODE_OK"})", {"", StatusCode::kOk}, {}},
      {R"({"otel.status_code":"Error","otel.status_description":"boom"})",
       {"boom", StatusCode::kError},
       {}},
      {R"({"otel.status_code":"OK"})", {"", StatusCode::kUnset}, {}},
      // A description without a code stays a tag.
      {R"({"otel.status_description":"boom"})",
       {"", StatusCode::kUnset},
       {{"otel.status_description", "boom"}}},
  };
  for (const Case& c : cases) {
    absl::StatusOr<model::Span> span = DecodeOne(R"(,"tags":)" + c.tags);
    ASSERT_TRUE(span.ok()) << c.tags << ": " << span.status();
    EXPECT_EQ(span->status, c.status) << c.tags;
    EXPECT_EQ(span->attributes, c.attributes) << c.tags;
  }
}

TEST(ZipkinJsonDecoderTest, TagsStayStringsAndResourceTagsMoveOnlyWithAService) {
  absl::StatusOr<model::SpanBatch> batch = DecodeZipkinJson(OneSpan(
      R"(,"tags":{"http.status_code":"200","retry":"true","ratio":"0.5","host.name":"h"})"));
  ASSERT_TRUE(batch.ok()) << batch.status();
  // No local service: an empty resource, and the resource tag is dropped, as in the Collector.
  EXPECT_EQ(batch->resource_spans.at(0).resource, model::Resource{});
  EXPECT_EQ(OnlySpan(*batch).attributes,
            (KeyValueList{{"http.status_code", "200"}, {"ratio", "0.5"}, {"retry", "true"}}));

  batch = DecodeZipkinJson(OneSpan(
      R"(,"localEndpoint":{"serviceName":"fn"},"tags":{"otlp.service.name.source":"faas.name"})"));
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->resource_spans.at(0).resource.attributes, (KeyValueList{{"faas.name", "fn"}}));
  EXPECT_EQ(OnlySpan(*batch).attributes, KeyValueList{});
}

TEST(ZipkinJsonDecoderTest, DistinctResourcesAndScopesGetTheirOwnGroups) {
  absl::StatusOr<model::SpanBatch> batch = DecodeZipkinJson(R"([
    {"traceId":"0000000000000001","id":"0000000000000001","timestamp":1,
     "localEndpoint":{"serviceName":"b"},"tags":{"host.name":"h1"}},
    {"traceId":"0000000000000001","id":"0000000000000002","timestamp":1,
     "localEndpoint":{"serviceName":"a"}},
    {"traceId":"0000000000000001","id":"0000000000000003","timestamp":1,
     "localEndpoint":{"serviceName":"b"},"tags":{"host.name":"h2"}},
    {"traceId":"0000000000000001","id":"0000000000000004","timestamp":1,
     "localEndpoint":{"serviceName":"b"},"tags":{"host.name":"h1","otel.library.name":"lib"}}])");
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->resource_spans.size(), 3u);
  EXPECT_EQ(batch->resource_spans[0].resource.attributes, (KeyValueList{{"service.name", "a"}}));
  EXPECT_EQ(batch->resource_spans[1].resource.attributes,
            (KeyValueList{{"service.name", "b"}, {"host.name", "h1"}}));
  ASSERT_EQ(batch->resource_spans[1].scope_spans.size(), 2u);
  EXPECT_EQ(batch->resource_spans[1].scope_spans[0].scope.name, "");
  EXPECT_EQ(batch->resource_spans[1].scope_spans[0].spans.at(0).span_id, Sid("0000000000000001"));
  EXPECT_EQ(batch->resource_spans[1].scope_spans[1].scope.name, "lib");
  EXPECT_EQ(batch->resource_spans[2].resource.attributes,
            (KeyValueList{{"service.name", "b"}, {"host.name", "h2"}}));
}

TEST(ZipkinJsonDecoderTest, EndpointAddressesAreCanonical) {
  absl::StatusOr<model::Span> span = DecodeOne(
      R"(,"localEndpoint":{"ipv4":"10.1.2.3","ipv6":"2001:DB8:0:0:0:0:0:1","port":80},)"
      R"("remoteEndpoint":{"ipv6":"::ffff:10.0.0.1","port":0})");
  ASSERT_TRUE(span.ok()) << span.status();
  // IPv6 wins over IPv4 (the Collector writes it second); port 0 is absent.
  EXPECT_EQ(span->attributes, (KeyValueList{{"net.host.ip", "2001:db8::1"},
                                            {"net.host.port", int64_t{80}},
                                            {"net.peer.ip", "10.0.0.1"}}));
}

TEST(ZipkinJsonDecoderTest, DebugAndSharedAreDropped) {
  absl::StatusOr<model::Span> span = DecodeOne(R"(,"debug":true,"shared":true)");
  ASSERT_TRUE(span.ok()) << span.status();
  model::Span expected;
  expected.trace_id = Tid("00000000000000005af7183fb1d4cf5f");
  expected.span_id = Sid("352bff9a74ca9ad2");
  expected.start_time_unix_nano = 10000;
  expected.end_time_unix_nano = 10000;
  EXPECT_EQ(*span, expected);
}

TEST(ZipkinJsonDecoderTest, AnnotationValuesWithBars) {
  absl::StatusOr<model::Span> span = DecodeOne(
      R"(,"annotations":[{"timestamp":5,"value":"a|b"},)"
      R"({"timestamp":6,"value":"e|{\"k\":\"x|y\",\"n\":null}|2"},)"
      R"({"timestamp":7}])");
  ASSERT_TRUE(span.ok()) << span.status();
  EXPECT_EQ(span->events, (std::vector<model::Event>{{5000, "a", {}, 0},
                                                     {6000, "e", {{"k", "x|y"}}, 2},
                                                     {7000, "", {}, 0}}));
}

TEST(ZipkinJsonDecoderTest, ErrorsNameTheSpanAndField) {
  struct Case {
    std::string json;
    std::string message;
  } cases[] = {
      {"{}", "request body: expected a JSON array of spans"},
      {"[1", "invalid Zipkin JSON: the body is not valid JSON"},
      {"[1]", "spans[0]: expected an object"},
      {R"([{"id":"352bff9a74ca9ad2"}])", "spans[0].traceId: expected 16 or 32 hex digits"},
      {R"([null,{"traceId":"abc","id":"352bff9a74ca9ad2"}])",
       "spans[1].traceId: expected 16 or 32 hex digits"},
      {R"([{"traceId":"5af7183fb1d4cf5g","id":"352bff9a74ca9ad2"}])",
       "spans[0].traceId: expected 16 or 32 hex digits"},
      {R"([{"traceId":"5af7183fb1d4cf5f"}])", "spans[0].id: expected 16 hex digits"},
      {R"([{"traceId":"00000000000000000000000000000000","id":"0000000000000001"}])",
       "spans[0].traceId: must not be all zeros"},
      {R"([{"traceId":"5af7183fb1d4cf5f","id":"0000000000000000"}])",
       "spans[0].id: must not be all zeros"},
      {OneSpan(R"(,"parentId":"12")"), "spans[0].parentId: expected 16 hex digits"},
      {OneSpan(R"(,"name":5)"), "spans[0].name: expected a string"},
      {OneSpan(R"(,"kind":1)"), "spans[0].kind: expected a string"},
      {OneSpan(R"(,"debug":"yes")"), "spans[0].debug: expected a boolean"},
      {OneSpan(R"(,"duration":-1)"),
       "spans[0].duration: expected a non-negative integer (microseconds)"},
      {OneSpan(R"(,"duration":1.5)"),
       "spans[0].duration: expected a non-negative integer (microseconds)"},
      {OneSpan(R"(,"duration":18446744073709551615)"), "spans[0].duration: out of range"},
      {OneSpan(R"(,"tags":{"http.status_code":200})"),
       "spans[0].tags.http.status_code: expected a string"},
      {OneSpan(R"(,"tags":[])"), "spans[0].tags: expected an object of strings"},
      {OneSpan(R"(,"localEndpoint":{"ipv4":"300.1.1.1"})"),
       "spans[0].localEndpoint.ipv4: invalid IP address \"300.1.1.1\""},
      {OneSpan(R"(,"remoteEndpoint":{"port":70000})"),
       "spans[0].remoteEndpoint.port: expected an integer from 0 to 65535"},
      {OneSpan(R"(,"remoteEndpoint":"db")"), "spans[0].remoteEndpoint: expected an object"},
      {OneSpan(R"(,"annotations":{})"), "spans[0].annotations: expected an array"},
      {OneSpan(R"(,"annotations":[{"value":"x"}])"),
       "spans[0].annotations[0].timestamp: expected a positive integer (microseconds)"},
      {OneSpan(R"(,"annotations":[{"timestamp":1,"value":"a|b|c"}])"),
       "spans[0].annotations[0].value: attributes are not valid JSON"},
      {OneSpan(R"(,"annotations":[{"timestamp":1,"value":"a|{}|x"}])"),
       "spans[0].annotations[0].value: dropped count \"x\" is not an unsigned integer"},
      {OneSpan(R"(,"tags":{"otlp.link.0":"abc|0000000000000001||{}|0"})"),
       "spans[0].tags.otlp.link.0: expected 32 hex digits, got \"abc\""},
  };
  for (const Case& c : cases) {
    absl::StatusOr<model::SpanBatch> batch = DecodeZipkinJson(c.json);
    EXPECT_EQ(batch.status(), absl::InvalidArgumentError(c.message)) << c.json;
  }
}

TEST(ZipkinJsonDecoderTest, ShortLinkTagsAreDroppedAndLinksStopAtTheFirstGap) {
  absl::StatusOr<model::Span> span = DecodeOne(
      R"(,"tags":{"otlp.link.0":"too|short","otlp.link.1":"|||null|3","otlp.link.3":"x"})");
  ASSERT_TRUE(span.ok()) << span.status();
  EXPECT_EQ(span->links, (std::vector<model::Link>{{TraceId{}, SpanId{}, "", {}, 3, 0}}));
  EXPECT_EQ(span->attributes, (KeyValueList{{"otlp.link.3", "x"}}));
}

TEST(ZipkinJsonDecoderTest, DecodedSpansPassValidation) {
  absl::StatusOr<model::SpanBatch> batch =
      DecodeZipkinJson(testing::ReadFixture("zipkin/otel_exporter.json"));
  ASSERT_TRUE(batch.ok()) << batch.status();
  ValidationResult result = ValidateSpans(&*batch);
  EXPECT_EQ(result.rejected_spans, 0);
  EXPECT_EQ(batch->SpanCount(), 2u);
}

}  // namespace
}  // namespace teletrace::ingest
