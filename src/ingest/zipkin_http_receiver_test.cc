#include "ingest/zipkin_http_receiver.h"

#include <future>
#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "ingest/fake_backend_for_test.h"
#include "ingest/fixtures_for_test.h"

namespace teletrace::ingest {
namespace {

using testing::FakeBackend;

constexpr char kOneSpan[] =
    R"([{"traceId":"5af7183fb1d4cf5f","id":"352bff9a74ca9ad2","name":"get","timestamp":1,)"
    R"("duration":2,"localEndpoint":{"serviceName":"frontend"}}])";

HttpRequest Post(std::string content_type, std::string body) {
  HttpRequest request;
  request.method = "POST";
  request.path = "/api/v2/spans";
  if (!content_type.empty()) request.headers.emplace_back("content-type", std::move(content_type));
  request.body = std::move(body);
  return request;
}

std::string HeaderOf(const HttpResponse& response, const std::string& name) {
  for (const auto& [k, v] : response.headers) {
    if (k == name) return v;
  }
  return "";
}

class ZipkinHttpReceiverTest : public ::testing::Test {
 protected:
  HttpResponse Send(HttpRequest request) { return SendTo(&receiver_, std::move(request)); }

  static HttpResponse SendTo(ZipkinHttpReceiver* receiver, HttpRequest request) {
    auto promise = std::make_shared<std::promise<HttpResponse>>();
    std::future<HttpResponse> future = promise->get_future();
    receiver->Handle(std::move(request),
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
  ZipkinHttpReceiver receiver_{&pipeline_, &metrics_};
};

TEST_F(ZipkinHttpReceiverTest, StoresTheFixtureAndAnswers202AfterCommit) {
  HttpResponse response =
      Send(Post("application/json", testing::ReadFixture("zipkin/frontend_backend.json")));
  EXPECT_EQ(response.status, 202);
  EXPECT_EQ(response.body, "");
  ASSERT_EQ(backend_.batches().size(), 1u);
  EXPECT_EQ(backend_.batches()[0].SpanCount(), 3u);
  EXPECT_EQ(backend_.batches()[0].resource_spans.size(), 2u);
  EXPECT_EQ(Metric(R"(teletrace_spans_received_total{transport="zipkin"})"), "3");
  EXPECT_EQ(Metric(R"(teletrace_spans_accepted_total{transport="zipkin"})"), "3");
}

TEST_F(ZipkinHttpReceiverTest, ContentTypeWithCharsetAndAbsentAreJson) {
  EXPECT_EQ(Send(Post("Application/JSON; charset=utf-8", kOneSpan)).status, 202);
  EXPECT_EQ(Send(Post("", kOneSpan)).status, 202);
  EXPECT_EQ(Send(Post("application/json", "[]")).status, 202);
  EXPECT_EQ(backend_.batches().size(), 2u);
}

TEST_F(ZipkinHttpReceiverTest, MalformedBodyIs400AndStoresNothing) {
  HttpResponse response = Send(Post(
      "application/json",
      R"([{"traceId":"5af7183fb1d4cf5f","id":"352bff9a74ca9ad2"},{"traceId":"xyz","id":"1"}])"));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(response.body, "spans[1].traceId: expected 16 or 32 hex digits");
  EXPECT_TRUE(backend_.batches().empty());
  EXPECT_EQ(Metric(R"(teletrace_ingest_refusals_total{transport="zipkin",reason="bad_request"})"),
            "1");
}

TEST_F(ZipkinHttpReceiverTest, InvalidSpanRefusesTheWholeRequest) {
  HttpResponse response = Send(Post(
      "application/json",
      R"([{"traceId":"5af7183fb1d4cf5f","id":"352bff9a74ca9ad2","timestamp":1},)"
      R"({"traceId":"00000000000000000000000000000000","id":"352bff9a74ca9ad3","timestamp":1}])"));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.body, "spans[1].traceId: must not be all zeros");
  EXPECT_TRUE(backend_.batches().empty());
  EXPECT_EQ(Metric(R"(teletrace_spans_received_total{transport="zipkin"})"), "0");
}

TEST_F(ZipkinHttpReceiverTest, PathMethodAndContentTypeRefusals) {
  HttpRequest other_path = Post("application/json", kOneSpan);
  other_path.path = "/api/v1/spans";
  HttpResponse not_found = Send(std::move(other_path));
  EXPECT_EQ(not_found.status, 404);
  EXPECT_EQ(not_found.body,
            "no such path /api/v1/spans: Zipkin spans are sent to POST /api/v2/spans");

  HttpRequest get = Post("", "");
  get.method = "GET";
  HttpResponse method = Send(std::move(get));
  EXPECT_EQ(method.status, 405);
  EXPECT_EQ(HeaderOf(method, "Allow"), "POST");
  EXPECT_EQ(method.body, "method GET not allowed on /api/v2/spans: use POST");

  HttpResponse proto = Send(Post("application/x-protobuf", "\x0a"));
  EXPECT_EQ(proto.status, 415);
  EXPECT_EQ(proto.body,
            "unsupported content type \"application/x-protobuf\": Zipkin spans are accepted as "
            "application/json (JSON v2)");
  EXPECT_EQ(Metric(R"(teletrace_ingest_refusals_total{transport="zipkin",reason="content_type"})"),
            "1");
}

TEST_F(ZipkinHttpReceiverTest, BearerTokenIsChecked) {
  Metrics metrics;
  ZipkinHttpReceiver receiver(&pipeline_, &metrics, {.bearer_token = "s3cret"});
  HttpResponse missing = SendTo(&receiver, Post("application/json", kOneSpan));
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.body, "missing or invalid bearer token");
  EXPECT_EQ(HeaderOf(missing, "WWW-Authenticate"), R"(Bearer realm="teletrace")");
  HttpRequest wrong = Post("application/json", kOneSpan);
  wrong.headers.emplace_back("authorization", "Bearer nope");
  EXPECT_EQ(SendTo(&receiver, std::move(wrong)).status, 401);
  HttpRequest right = Post("application/json", kOneSpan);
  right.headers.emplace_back("authorization", "Bearer s3cret");
  EXPECT_EQ(SendTo(&receiver, std::move(right)).status, 202);
  EXPECT_EQ(backend_.batches().size(), 1u);
}

TEST_F(ZipkinHttpReceiverTest, QueueFullIs429WithRetryAfter) {
  backend_.Hold();
  auto first = std::make_shared<std::promise<HttpResponse>>();
  std::string big = std::string(kOneSpan) + std::string(3000, ' ');
  receiver_.Handle(Post("application/json", big),
                   [first](HttpResponse r) { first->set_value(std::move(r)); });
  backend_.WaitForWrites(1);
  HttpResponse refused = Send(Post("application/json", big));
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(HeaderOf(refused, "Retry-After"), "1");
  EXPECT_EQ(refused.body, "ingest queue full: 3139 of 4096 bytes queued; retry later");
  EXPECT_EQ(Metric(R"(teletrace_spans_refused_total{transport="zipkin"})"), "1");
  backend_.Release();
  EXPECT_EQ(first->get_future().get().status, 202);
}

TEST_F(ZipkinHttpReceiverTest, StorageErrorAndStoppingAre503Retryable) {
  backend_.FailNext(absl::InternalError("sqlite: database is locked"));
  HttpResponse failed = Send(Post("application/json", kOneSpan));
  EXPECT_EQ(failed.status, 503);
  EXPECT_EQ(HeaderOf(failed, "Retry-After"), "1");
  EXPECT_EQ(failed.body,
            "storage error, spans not stored; retry later: sqlite: database is locked");
  pipeline_.Stop();
  HttpResponse stopping = Send(Post("application/json", kOneSpan));
  EXPECT_EQ(stopping.status, 503);
  EXPECT_EQ(stopping.body, "ingest pipeline is stopping: not accepting spans");
  EXPECT_EQ(Metric(R"(teletrace_ingest_refusals_total{transport="zipkin",reason="unavailable"})"),
            "2");
}

}  // namespace
}  // namespace teletrace::ingest
