#include "ingest/otlp_http_receiver.h"

#include <future>
#include <string>
#include <utility>

#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "ingest/fake_backend_for_test.h"
#include "ingest/fixtures_for_test.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace teletrace::ingest {
namespace {

using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse;
using testing::FakeBackend;

constexpr char kOneSpanJson[] = R"({"resourceSpans":[{"scopeSpans":[{"spans":[
    {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
     "name":"GET /","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]})";

// Two spans, the second with a zero span id.
constexpr char kHalfInvalidJson[] = R"({"resourceSpans":[{"scopeSpans":[{"spans":[
    {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"},
    {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"0000000000000000"}]}]}]})";

HttpRequest Post(std::string content_type, std::string body) {
  HttpRequest request;
  request.method = "POST";
  request.path = "/v1/traces";
  request.headers.emplace_back("content-type", std::move(content_type));
  request.body = std::move(body);
  return request;
}

std::string OneSpanProtobuf() {
  ExportTraceServiceRequest request;
  auto* span = request.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(std::string(16, '\x01'));
  span->set_span_id(std::string(8, '\x02'));
  span->set_name("GET /");
  return request.SerializeAsString();
}

std::string HeaderOf(const HttpResponse& response, const std::string& name) {
  for (const auto& [k, v] : response.headers) {
    if (k == name) return v;
  }
  return "";
}

class OtlpHttpReceiverTest : public ::testing::Test {
 protected:
  // Sends `request` and returns the response, which must arrive within a few seconds.
  HttpResponse Send(HttpRequest request) {
    auto promise = std::make_shared<std::promise<HttpResponse>>();
    std::future<HttpResponse> future = promise->get_future();
    receiver_.Handle(std::move(request),
                     [promise](HttpResponse response) { promise->set_value(std::move(response)); });
    EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return future.get();
  }

  std::string Metric(const std::string& series) {
    std::string rendered = metrics_.Render();
    size_t at = rendered.find(series + " ");
    if (at == std::string::npos) return "absent";
    size_t end = rendered.find('\n', at);
    return rendered.substr(at + series.size() + 1, end - at - series.size() - 1);
  }

  FakeBackend backend_;
  Metrics metrics_;
  Pipeline pipeline_{&backend_, PipelineOptions{.max_queue_bytes = 4096, .max_batch_spans = 100},
                     &metrics_};
  OtlpHttpReceiver receiver_{&pipeline_, &metrics_};
};

TEST_F(OtlpHttpReceiverTest, JsonSuccess) {
  HttpResponse response = Send(Post("application/json", kOneSpanJson));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body, "{}");
  ASSERT_EQ(backend_.batches().size(), 1u);
  EXPECT_EQ(backend_.batches()[0].SpanCount(), 1u);
  EXPECT_EQ(Metric(R"(teletrace_spans_received_total{transport="http_json"})"), "1");
  EXPECT_EQ(Metric(R"(teletrace_spans_accepted_total{transport="http_json"})"), "1");
  EXPECT_EQ(Metric(R"(teletrace_spans_accepted_total{transport="http_protobuf"})"), "0");
}

TEST_F(OtlpHttpReceiverTest, ProtobufSuccessWithContentTypeParameters) {
  HttpResponse response = Send(Post("Application/X-Protobuf; charset=utf-8", OneSpanProtobuf()));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "application/x-protobuf");
  ExportTraceServiceResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(response.body));
  EXPECT_FALSE(parsed.has_partial_success());
  EXPECT_EQ(backend_.batches().size(), 1u);
  EXPECT_EQ(Metric(R"(teletrace_spans_accepted_total{transport="http_protobuf"})"), "1");
}

TEST_F(OtlpHttpReceiverTest, FixtureRoundTripsThroughBothEncodings) {
  EXPECT_EQ(Send(Post("application/json", testing::ReadFixture("otlp/multi_service_trace.json")))
                .status,
            200);
  EXPECT_EQ(Send(Post("application/x-protobuf",
                      testing::ReadFixture("otlp/multi_service_trace.pb")))
                .status,
            200);
  ASSERT_EQ(backend_.batches().size(), 2u);
  EXPECT_EQ(backend_.batches()[0], backend_.batches()[1]);
  EXPECT_EQ(backend_.batches()[0].SpanCount(), 7u);
  // Stored once: the second export rewrote the same spans, and the store keeps the first copy.
  const TraceId trace_id = backend_.batches()[0].resource_spans[0].scope_spans[0].spans[0].trace_id;
  absl::StatusOr<query::TraceResult> trace = backend_.GetTrace({trace_id, 0, std::nullopt});
  ASSERT_TRUE(trace.ok()) << trace.status();
  EXPECT_EQ(trace->spans.size(), 7u);
}

TEST_F(OtlpHttpReceiverTest, RespondsOnlyAfterCommit) {
  backend_.Hold();
  auto promise = std::make_shared<std::promise<HttpResponse>>();
  std::future<HttpResponse> future = promise->get_future();
  receiver_.Handle(Post("application/json", kOneSpanJson),
                   [promise](HttpResponse r) { promise->set_value(std::move(r)); });
  backend_.WaitForWrites(1);
  EXPECT_EQ(future.wait_for(std::chrono::milliseconds(20)), std::future_status::timeout);
  backend_.Release();
  EXPECT_EQ(future.get().status, 200);
}

TEST_F(OtlpHttpReceiverTest, PartialSuccessJson) {
  HttpResponse response = Send(Post("application/json", kHalfInvalidJson));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body,
            R"({"partialSuccess":{"errorMessage":"1 span rejected: span 1 of scope 0 of )"
            R"(resource 0: span id is all zeros","rejectedSpans":"1"}})");
  ASSERT_EQ(backend_.batches().size(), 1u);
  EXPECT_EQ(backend_.batches()[0].SpanCount(), 1u);
  EXPECT_EQ(Metric(R"(teletrace_spans_received_total{transport="http_json"})"), "2");
  EXPECT_EQ(Metric(R"(teletrace_spans_rejected_total{transport="http_json"})"), "1");
  EXPECT_EQ(Metric(R"(teletrace_spans_accepted_total{transport="http_json"})"), "1");
}

TEST_F(OtlpHttpReceiverTest, PartialSuccessProtobuf) {
  ExportTraceServiceRequest request;
  auto* spans = request.add_resource_spans()->add_scope_spans();
  spans->add_spans()->set_trace_id("short");
  HttpResponse response = Send(Post("application/x-protobuf", request.SerializeAsString()));
  EXPECT_EQ(response.status, 200);
  ExportTraceServiceResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(response.body));
  EXPECT_EQ(parsed.partial_success().rejected_spans(), 1);
  EXPECT_EQ(parsed.partial_success().error_message(),
            "1 span rejected: span 0 of scope 0 of resource 0: trace id must be 16 bytes, got 5");
  EXPECT_TRUE(backend_.batches().empty());  // nothing valid: nothing queued
}

TEST_F(OtlpHttpReceiverTest, AllInvalidIsPartialSuccessWithoutQueueing) {
  std::string json = R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"no ids"}]}]}]})";
  HttpResponse response = Send(Post("application/json", json));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body,
            R"({"partialSuccess":{"errorMessage":"1 span rejected: span 0 of scope 0 of )"
            R"(resource 0: trace id is all zeros","rejectedSpans":"1"}})");
  EXPECT_EQ(backend_.writes_started(), 0);
}

TEST_F(OtlpHttpReceiverTest, EmptyRequestIsSuccess) {
  HttpResponse response = Send(Post("application/json", "{}"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "{}");
  EXPECT_EQ(backend_.writes_started(), 0);
}

TEST_F(OtlpHttpReceiverTest, BadJsonIs400WithStatusBody) {
  HttpResponse response = Send(Post("application/json", "{\"resourceSpans\": ["));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body,
            R"({"code":3,"message":"invalid OTLP JSON: parse error at line 1, column 20: )"
            R"(syntax error while parsing value - unexpected end of input; expected '[', '{', )"
            R"(or a literal"})");
}

TEST_F(OtlpHttpReceiverTest, BadProtobufIs400WithProtobufStatus) {
  HttpResponse response = Send(Post("application/x-protobuf", "\x0a\x05\x01"));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.content_type, "application/x-protobuf");
  google::rpc::Status status;
  ASSERT_TRUE(status.ParseFromString(response.body));
  EXPECT_EQ(status.code(), 3);
  EXPECT_EQ(status.message(),
            "invalid OTLP protobuf: cannot parse 3 bytes as an ExportTraceServiceRequest "
            "(truncated, corrupt, or nested too deeply)");
}

TEST_F(OtlpHttpReceiverTest, UnsupportedContentTypeIs415) {
  HttpResponse response = Send(Post("text/plain; charset=utf-8", kOneSpanJson));
  EXPECT_EQ(response.status, 415);
  EXPECT_EQ(response.body,
            R"({"code":3,"message":"unsupported content type \"text/plain; charset=utf-8\": )"
            R"(OTLP/HTTP accepts application/x-protobuf or application/json"})");
  HttpRequest missing = Post("", kOneSpanJson);
  missing.headers.clear();
  EXPECT_EQ(Send(std::move(missing)).status, 415);
}

TEST_F(OtlpHttpReceiverTest, WrongMethodIs405AndOtherPathIs404) {
  HttpRequest get = Post("application/json", "");
  get.method = "GET";
  HttpResponse response = Send(std::move(get));
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(HeaderOf(response, "Allow"), "POST");
  EXPECT_EQ(response.body,
            R"({"code":12,"message":"method GET not allowed on /v1/traces: use POST"})");

  HttpRequest other = Post("application/json", kOneSpanJson);
  other.path = "/v1/metrics";
  response = Send(std::move(other));
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.body,
            R"({"code":5,"message":"no such path /v1/metrics: OTLP/HTTP traces are sent to )"
            R"(POST /v1/traces"})");
}

TEST_F(OtlpHttpReceiverTest, QueueFullIs429WithRetryAfter) {
  backend_.Hold();
  auto first = std::make_shared<std::promise<HttpResponse>>();
  std::string big(3000, ' ');  // JSON allows whitespace: a large body with one span
  receiver_.Handle(Post("application/json", kOneSpanJson + big),
                   [first](HttpResponse r) { first->set_value(std::move(r)); });
  backend_.WaitForWrites(1);
  HttpResponse refused = Send(Post("application/json", kOneSpanJson + big));
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(HeaderOf(refused, "Retry-After"), "1");
  EXPECT_EQ(refused.body,
            R"({"code":8,"message":"ingest queue full: 3195 of 4096 bytes queued; retry later"})");
  EXPECT_EQ(Metric(R"(teletrace_spans_refused_total{transport="http_json"})"), "1");
  backend_.Release();
  EXPECT_EQ(first->get_future().get().status, 200);
}

TEST_F(OtlpHttpReceiverTest, StorageErrorIs503Retryable) {
  backend_.FailNext(absl::InternalError("sqlite: database is locked"));
  HttpResponse response = Send(Post("application/x-protobuf", OneSpanProtobuf()));
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(HeaderOf(response, "Retry-After"), "1");
  google::rpc::Status status;
  ASSERT_TRUE(status.ParseFromString(response.body));
  EXPECT_EQ(status.code(), 14);
  EXPECT_EQ(status.message(),
            "storage error, spans not stored; retry later: sqlite: database is locked");
  EXPECT_EQ(Metric(R"(teletrace_spans_refused_total{transport="http_protobuf"})"), "1");
  EXPECT_EQ(Metric(R"(teletrace_spans_accepted_total{transport="http_protobuf"})"), "0");
}

TEST_F(OtlpHttpReceiverTest, StoppedPipelineIs503) {
  pipeline_.Stop();
  HttpResponse response = Send(Post("application/json", kOneSpanJson));
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(HeaderOf(response, "Retry-After"), "1");
  EXPECT_EQ(response.body,
            R"({"code":14,"message":"ingest pipeline is stopping: not accepting spans"})");
}

// OTLP/HTTP: every refusal is a google.rpc.Status in the request's encoding.
TEST_F(OtlpHttpReceiverTest, RefusalsUseTheRequestEncoding) {
  HttpRequest get = Post("application/x-protobuf", "");
  get.method = "GET";
  HttpResponse response = Send(std::move(get));
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.content_type, "application/x-protobuf");
  google::rpc::Status status;
  ASSERT_TRUE(status.ParseFromString(response.body));
  EXPECT_EQ(status.code(), 12);
  EXPECT_EQ(status.message(), "method GET not allowed on /v1/traces: use POST");

  HttpRequest other = Post("application/x-protobuf; charset=binary", OneSpanProtobuf());
  other.path = "/v1/logs";
  response = Send(std::move(other));
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.content_type, "application/x-protobuf");
  ASSERT_TRUE(status.ParseFromString(response.body));
  EXPECT_EQ(status.code(), 5);
  EXPECT_EQ(Metric(R"(teletrace_ingest_refusals_total{transport="http",reason="not_found"})"),
            "1");
  EXPECT_EQ(Metric(R"(teletrace_ingest_refusals_total{transport="http",reason="method"})"), "1");
}

// The refusals the HTTP server detects itself, built by the function it installs.
TEST(OtlpHttpErrorResponseTest, ServerRefusalsInBothEncodings) {
  HttpResponse too_large = OtlpHttpErrorResponse(
      413, "request body exceeds 16777216 bytes", "application/x-protobuf");
  EXPECT_EQ(too_large.status, 413);
  EXPECT_EQ(too_large.content_type, "application/x-protobuf");
  google::rpc::Status status;
  ASSERT_TRUE(status.ParseFromString(too_large.body));
  EXPECT_EQ(status.code(), 8);
  EXPECT_EQ(status.message(), "request body exceeds 16777216 bytes");
  EXPECT_TRUE(too_large.headers.empty());

  HttpResponse busy = OtlpHttpErrorResponse(429, "byte budget spent", "application/json");
  EXPECT_EQ(busy.content_type, "application/json");
  EXPECT_EQ(busy.body, R"({"code":8,"message":"byte budget spent"})");
  EXPECT_EQ(HeaderOf(busy, "Retry-After"), "1");

  EXPECT_EQ(OtlpHttpErrorResponse(431, "headers too large", "").body,
            R"({"code":8,"message":"headers too large"})");
  EXPECT_EQ(OtlpHttpErrorResponse(400, "bad chunk", "text/plain").body,
            R"({"code":3,"message":"bad chunk"})");
  EXPECT_EQ(OtlpHttpErrorResponse(415, "unsupported Content-Encoding br", "").body,
            R"({"code":3,"message":"unsupported Content-Encoding br"})");
  HttpResponse unimplemented = OtlpHttpErrorResponse(501, "Transfer-Encoding xchunked", "");
  EXPECT_EQ(unimplemented.body, R"({"code":12,"message":"Transfer-Encoding xchunked"})");
  EXPECT_EQ(HeaderOf(unimplemented, "Retry-After"), "");
  HttpResponse unavailable = OtlpHttpErrorResponse(503, "stopping", "application/json");
  EXPECT_EQ(unavailable.body, R"({"code":14,"message":"stopping"})");
  EXPECT_EQ(HeaderOf(unavailable, "Retry-After"), "1");
  HttpResponse unauthenticated = OtlpHttpErrorResponse(401, "no token", "application/json");
  EXPECT_EQ(HeaderOf(unauthenticated, "WWW-Authenticate"), R"(Bearer realm="teletrace")");
}

TEST_F(OtlpHttpReceiverTest, ServerRefusalIsCountedByReason) {
  HttpResponse response =
      receiver_.ServerRefusal(413, "request body exceeds 16777216 bytes", "application/json");
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.body, R"({"code":8,"message":"request body exceeds 16777216 bytes"})");
  receiver_.ServerRefusal(431, "header section exceeds 65536 bytes", "");
  receiver_.ServerRefusal(429, "byte budget spent", "");
  receiver_.ServerRefusal(429, "byte budget spent", "");
  EXPECT_EQ(Metric(R"(teletrace_ingest_refusals_total{transport="http",reason="too_large"})"),
            "1");
  EXPECT_EQ(
      Metric(R"(teletrace_ingest_refusals_total{transport="http",reason="headers_too_large"})"),
      "1");
  EXPECT_EQ(Metric(R"(teletrace_ingest_refusals_total{transport="http",reason="budget"})"), "2");
}

class OtlpHttpReceiverOptionsTest : public OtlpHttpReceiverTest {
 protected:
  HttpResponse SendTo(OtlpHttpReceiver& receiver, HttpRequest request) {
    auto promise = std::make_shared<std::promise<HttpResponse>>();
    std::future<HttpResponse> future = promise->get_future();
    receiver.Handle(std::move(request),
                    [promise](HttpResponse response) { promise->set_value(std::move(response)); });
    EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return future.get();
  }
  Metrics other_metrics_;
};

TEST_F(OtlpHttpReceiverOptionsTest, BearerTokenIsRequiredWhenConfigured) {
  OtlpHttpReceiver receiver(&pipeline_, &other_metrics_, {.bearer_token = "s3cret"});
  for (const char* authorization :
       {"", "Bearer nope", "Bearer s3cre", "Bearer s3cret2", "s3cret"}) {
    HttpRequest request = Post("application/json", kOneSpanJson);
    if (*authorization != '\0') request.headers.emplace_back("authorization", authorization);
    HttpResponse response = SendTo(receiver, std::move(request));
    EXPECT_EQ(response.status, 401) << authorization;
    EXPECT_EQ(HeaderOf(response, "WWW-Authenticate"), R"(Bearer realm="teletrace")");
    EXPECT_EQ(response.body, R"({"code":16,"message":"missing or invalid bearer token"})");
  }
  EXPECT_EQ(receiver.refusals().Count(RefusalReason::kUnauthenticated), 5u);
  EXPECT_EQ(backend_.writes_started(), 0);

  HttpRequest good = Post("application/x-protobuf", OneSpanProtobuf());
  good.headers.emplace_back("authorization", "Bearer s3cret");
  EXPECT_EQ(SendTo(receiver, std::move(good)).status, 200);
  EXPECT_EQ(backend_.batches().size(), 1u);
}

HttpRequest Preflight(std::string origin, std::string request_headers = "") {
  HttpRequest request;
  request.method = "OPTIONS";
  request.path = "/v1/traces";
  request.headers.emplace_back("origin", std::move(origin));
  request.headers.emplace_back("access-control-request-method", "POST");
  if (!request_headers.empty()) {
    request.headers.emplace_back("access-control-request-headers", std::move(request_headers));
  }
  return request;
}

bool HasCorsHeaders(const HttpResponse& response) {
  for (const auto& [name, value] : response.headers) {
    if (name.rfind("Access-Control-", 0) == 0) return true;
  }
  return false;
}

TEST_F(OtlpHttpReceiverTest, CorsIsOffByDefault) {
  HttpResponse preflight = Send(Preflight("https://app.example.com"));
  EXPECT_EQ(preflight.status, 403);
  EXPECT_FALSE(HasCorsHeaders(preflight));
  EXPECT_EQ(preflight.body,
            R"({"code":7,"message":"origin https://app.example.com may not send OTLP/HTTP to )"
            R"json(this server (not in cors_allowed_origins)"})json");
  HttpRequest post = Post("application/json", kOneSpanJson);
  post.headers.emplace_back("origin", "https://app.example.com");
  HttpResponse response = Send(std::move(post));
  EXPECT_EQ(response.status, 200);
  EXPECT_FALSE(HasCorsHeaders(response));
  EXPECT_EQ(Metric(R"(teletrace_ingest_refusals_total{transport="http",reason="forbidden"})"),
            "1");
}

TEST_F(OtlpHttpReceiverOptionsTest, CorsForAllowedOrigins) {
  OtlpHttpReceiver receiver(
      &pipeline_, &other_metrics_,
      {.bearer_token = "s3cret", .cors_allowed_origins = {"https://app.example.com"}});
  HttpResponse preflight =
      SendTo(receiver, Preflight("https://APP.example.com",
                                 "content-type, x-tenant,bad header,authorization"));
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(preflight.body, "");
  EXPECT_EQ(preflight.content_type, "");
  EXPECT_EQ(HeaderOf(preflight, "Access-Control-Allow-Origin"), "https://APP.example.com");
  EXPECT_EQ(HeaderOf(preflight, "Vary"), "Origin");
  EXPECT_EQ(HeaderOf(preflight, "Access-Control-Allow-Methods"), "POST, OPTIONS");
  EXPECT_EQ(HeaderOf(preflight, "Access-Control-Allow-Headers"),
            "Content-Type, Content-Encoding, Authorization, x-tenant");
  EXPECT_EQ(HeaderOf(preflight, "Access-Control-Max-Age"), "7200");

  HttpResponse other = SendTo(receiver, Preflight("https://evil.example.net"));
  EXPECT_EQ(other.status, 403);
  EXPECT_FALSE(HasCorsHeaders(other));

  // The export itself, and its refusals, carry the origin so the page can read the answer.
  HttpRequest post = Post("application/json", kOneSpanJson);
  post.headers.emplace_back("origin", "https://app.example.com");
  post.headers.emplace_back("authorization", "Bearer s3cret");
  HttpResponse response = SendTo(receiver, std::move(post));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(HeaderOf(response, "Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(HeaderOf(response, "Vary"), "Origin");
  HttpRequest unauthenticated = Post("application/json", kOneSpanJson);
  unauthenticated.headers.emplace_back("origin", "https://app.example.com");
  response = SendTo(receiver, std::move(unauthenticated));
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(HeaderOf(response, "Access-Control-Allow-Origin"), "https://app.example.com");
  HttpRequest foreign = Post("application/json", kOneSpanJson);
  foreign.headers.emplace_back("origin", "https://evil.example.net");
  foreign.headers.emplace_back("authorization", "Bearer s3cret");
  response = SendTo(receiver, std::move(foreign));
  EXPECT_EQ(response.status, 200);
  EXPECT_FALSE(HasCorsHeaders(response));

  OtlpHttpReceiver any(&pipeline_, &metrics_, {.cors_allowed_origins = {"*"}});
  HttpResponse wildcard = SendTo(any, Preflight("http://localhost:3000"));
  EXPECT_EQ(wildcard.status, 204);
  EXPECT_EQ(HeaderOf(wildcard, "Access-Control-Allow-Origin"), "http://localhost:3000");
}

TEST_F(OtlpHttpReceiverTest, RefusalsAreCountedByReason) {
  Send(Post("text/plain", kOneSpanJson));
  Send(Post("application/json", "{not json"));
  Send(Post("application/json", "{not json"));
  EXPECT_EQ(Metric(R"(teletrace_ingest_refusals_total{transport="http",reason="content_type"})"),
            "1");
  EXPECT_EQ(Metric(R"(teletrace_ingest_refusals_total{transport="http",reason="bad_request"})"),
            "2");
  EXPECT_EQ(Metric(R"(teletrace_ingest_refusals_total{transport="http",reason="queue_full"})"),
            "0");
}

}  // namespace
}  // namespace teletrace::ingest
