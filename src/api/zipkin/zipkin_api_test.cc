// The Zipkin v2 query API over the in-memory reference backend: routing, parameters, plain-text
// errors, search semantics (service, span name, remote service, annotationQuery, durations, time
// window, limit), dependencies, and the exact JSON of every response shape, pinned by golden files
// under tests/fixtures/zipkin_api/ (which docs/openapi/zipkin.yaml also validates against its
// schemas; TELETRACE_UPDATE_GOLDEN=1 rewrites them). That ingest and this rendering agree with the
// OpenTelemetry Collector is tests/jaeger/zipkin.test.mjs.
#include "api/zipkin/zipkin_api.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "api/zipkin/zipkin_json.h"
#include "fmt/format.h"
#include "common/golden_test_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "storage/memory/memory_backend.h"

namespace teletrace::api::zipkin {
namespace {

constexpr uint64_t kBase = 1'700'000'000'000'000'000;  // 2023-11-14T22:13:20Z
constexpr uint64_t kNow = kBase + 3'600'000'000'000;
constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kBaseMillis = kBase / kMs;

// A 64-bit trace id (high half zero), as Zipkin instrumentation often sends.
TraceId Tid64(uint8_t b) {
  TraceId id{};
  for (size_t i = 8; i < 16; ++i) id[i] = b;
  return id;
}
TraceId Tid(uint8_t b) {
  TraceId id{};
  id.fill(b);
  return id;
}
SpanId Sid(uint8_t b) {
  SpanId id{};
  id.fill(b);
  return id;
}

class ZipkinApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_ = storage::memory::NewMemoryBackend();
    api_ = std::make_unique<ZipkinApi>(backend_.get(), [] { return kNow; });
    WriteSample();
  }

  // Trace 11 (64-bit id): frontend "GET /cart" (server, root) -> frontend "call backend"
  // (client, remote backend) -> backend "SELECT" (server, error). Trace 22...: backend "SELECT"
  // alone (internal), 5 ms, 20 minutes later.
  void WriteSample() {
    model::SpanBatch batch;
    auto& front = batch.resource_spans.emplace_back();
    front.resource.attributes = {{"service.name", "frontend"}, {"host.name", "web-1"}};
    auto& fs = front.scope_spans.emplace_back();
    fs.scope.name = "shop.http";
    fs.scope.version = "1.2.3";
    model::Span root;
    root.trace_id = Tid64(0x11);
    root.span_id = Sid(0x01);
    root.name = "GET /cart";
    root.kind = model::SpanKind::kServer;
    root.start_time_unix_nano = kBase + 1'234'567;
    root.end_time_unix_nano = kBase + 101'234'999;
    root.trace_state = "vendor=x";
    root.attributes = {{"http.method", "GET"},
                       {"http.status_code", 200},
                       {"ratio", 0.25},
                       {"tags", model::ArrayValue{"a", "b"}},
                       {"net.host.ip", "10.0.0.1"},
                       {"net.host.port", 8080}};
    root.status.code = model::StatusCode::kOk;
    root.events.push_back({kBase + 2 * kMs, "cache miss", {}, 0});
    root.events.push_back({kBase + 3 * kMs + 499, "retry", {{"attempt", 2}}, 1});
    fs.spans.push_back(root);
    model::Span client;
    client.trace_id = Tid64(0x11);
    client.span_id = Sid(0x02);
    client.parent_span_id = Sid(0x01);
    client.name = "call backend";
    client.kind = model::SpanKind::kClient;
    client.start_time_unix_nano = kBase + 5 * kMs;
    client.end_time_unix_nano = kBase + 55 * kMs;
    client.attributes = {{"peer.service", "backend"},
                         {"net.peer.ip", "2001:db8::5"},
                         {"net.peer.port", 9000}};
    client.links.push_back({Tid(0x22), Sid(0x05), "", {{"link.kind", "retry"}}, 0, 0});
    fs.spans.push_back(client);

    auto& back = batch.resource_spans.emplace_back();
    back.resource.attributes = {{"service.name", "backend"}};
    auto& bs = back.scope_spans.emplace_back();
    model::Span select;
    select.trace_id = Tid64(0x11);
    select.span_id = Sid(0x03);
    select.parent_span_id = Sid(0x02);
    select.name = "SELECT";
    select.kind = model::SpanKind::kServer;
    select.start_time_unix_nano = kBase + 10 * kMs;
    select.end_time_unix_nano = kBase + 40 * kMs;
    select.status = {"db down", model::StatusCode::kError};
    select.attributes = {{"db.system", "postgresql"}};
    bs.spans.push_back(select);
    model::Span lone;
    lone.trace_id = Tid(0x22);
    lone.span_id = Sid(0x05);
    lone.name = "SELECT";
    lone.kind = model::SpanKind::kInternal;
    lone.start_time_unix_nano = kBase + 20 * 60'000 * kMs;
    lone.end_time_unix_nano = lone.start_time_unix_nano + 5 * kMs;
    bs.spans.push_back(lone);
    ASSERT_TRUE(backend_->WriteSpans(std::move(batch), kNow).ok());
  }

  HttpResponse Get(std::string path, std::string query = "") {
    HttpRequest r;
    r.method = "GET";
    r.path = std::move(path);
    r.query = std::move(query);
    return api_->Handle(r);
  }

  std::string Body(std::string path, std::string query = "") {
    HttpResponse r = Get(path, query);
    EXPECT_EQ(r.status, 200) << path << "?" << query << ": " << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    return r.body;
  }

  // The trace ids of a search's answer, in answer order.
  std::vector<std::string> TraceIds(std::string query) {
    nlohmann::json traces = nlohmann::json::parse(Body("/api/v2/traces", query));
    std::vector<std::string> ids;
    for (const nlohmann::json& t : traces) ids.push_back(t.at(0).at("traceId"));
    return ids;
  }

  // `body`, byte for byte, against tests/fixtures/zipkin_api/`name` (see common/golden_test_util.h).
  void ExpectGolden(const std::string& name, const std::string& body) {
    golden::ExpectJson("zipkin_api/" + name, body);
  }

  std::unique_ptr<storage::Backend> backend_;
  std::unique_ptr<ZipkinApi> api_;
};

const std::string kTraceA = "1111111111111111";
const std::string kTraceB = "22222222222222222222222222222222";

TEST_F(ZipkinApiTest, NameLists) {
  ExpectGolden("services.json", Body("/api/v2/services"));
  ExpectGolden("span_names.json", Body("/api/v2/spans", "serviceName=frontend"));
  ExpectGolden("remote_services.json", Body("/api/v2/remoteServices", "serviceName=frontend"));
  ExpectGolden("autocomplete_keys.json", Body("/api/v2/autocompleteKeys"));
  ExpectGolden("autocomplete_values.json", Body("/api/v2/autocompleteValues", "key=db.system"));
  EXPECT_EQ(Body("/api/v2/services"), R"(["backend","frontend"])");
  EXPECT_EQ(Body("/api/v2/spans", "serviceName=frontend"), R"(["GET /cart","call backend"])");
  EXPECT_EQ(Body("/api/v2/spans", "serviceName=nobody"), "[]");
  EXPECT_EQ(Body("/api/v2/remoteServices", "serviceName=frontend"), R"(["backend"])");
  EXPECT_EQ(Body("/api/v2/remoteServices", "serviceName=backend"), "[]");
  EXPECT_EQ(Body("/api/v2/autocompleteKeys"), "[]");
  EXPECT_EQ(Body("/api/v2/autocompleteValues", "key=db.system"), R"(["postgresql"])");
}

TEST_F(ZipkinApiTest, TraceMatchesTheGoldenFile) {
  HttpResponse r = Get("/api/v2/trace/" + kTraceA);
  ASSERT_EQ(r.status, 200) << r.body;
  ExpectGolden("trace.json", r.body);

  // What the golden file means, span by span (sorted by start time).
  nlohmann::ordered_json trace = nlohmann::ordered_json::parse(r.body);
  ASSERT_EQ(trace.size(), 3u);
  EXPECT_EQ(trace[0].dump(),
            R"({"traceId":"1111111111111111","id":"0101010101010101","kind":"SERVER",)"
            R"("name":"GET /cart","timestamp":1700000000001235,"duration":100000,)"
            R"("localEndpoint":{"serviceName":"frontend","ipv4":"10.0.0.1","port":8080},)"
            R"("annotations":[{"timestamp":1700000000002000,"value":"cache miss"},)"
            R"({"timestamp":1700000000003000,"value":"retry|{\"attempt\":2}|1"}],)"
            R"("tags":{"host.name":"web-1","http.method":"GET","http.status_code":"200",)"
            R"("otel.library.name":"shop.http","otel.library.version":"1.2.3",)"
            R"("otel.status_code":"STATUS_CODE_OK","ratio":"0.25","tags":"[\"a\",\"b\"]",)"
            R"("w3c.tracestate":"vendor=x"}})");
  EXPECT_EQ(trace[1].dump(),
            R"({"traceId":"1111111111111111","parentId":"0101010101010101",)"
            R"("id":"0202020202020202","kind":"CLIENT","name":"call backend",)"
            R"("timestamp":1700000000005000,"duration":50000,)"
            R"("localEndpoint":{"serviceName":"frontend"},)"
            R"("remoteEndpoint":{"serviceName":"backend","ipv6":"2001:db8::5","port":9000},)"
            R"("tags":{"host.name":"web-1","otel.library.name":"shop.http",)"
            R"("otel.library.version":"1.2.3","otlp.link.0":)"
            R"("22222222222222222222222222222222|0505050505050505||)"
            R"({\"link.kind\":\"retry\"}|0"}})");
  EXPECT_EQ(trace[2].dump(),
            R"({"traceId":"1111111111111111","parentId":"0202020202020202",)"
            R"("id":"0303030303030303","kind":"SERVER","name":"SELECT",)"
            R"("timestamp":1700000000010000,"duration":30000,)"
            R"("localEndpoint":{"serviceName":"backend"},)"
            R"("tags":{"db.system":"postgresql","error":"true",)"
            R"("otel.status_code":"STATUS_CODE_ERROR","otel.status_description":"db down"}})");
}

TEST_F(ZipkinApiTest, TraceBy128BitIdAndInternalKind) {
  EXPECT_EQ(Body("/api/v2/trace/" + kTraceB),
            R"([{"traceId":"22222222222222222222222222222222","id":"0505050505050505",)"
            R"("name":"SELECT","timestamp":1700001200000000,"duration":5000,)"
            R"("localEndpoint":{"serviceName":"backend"},"tags":{"span.kind":"internal"}}])");
  // A 32-digit id with a zero high half finds the 64-bit trace.
  EXPECT_EQ(Get("/api/v2/trace/0000000000000000" + kTraceA).status, 200);
}

TEST_F(ZipkinApiTest, TraceErrors) {
  HttpResponse unknown = Get("/api/v2/trace/3333333333333333");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(unknown.body, "trace 3333333333333333 not found");
  HttpResponse bad = Get("/api/v2/trace/xyz");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body, "traceId should be 16 or 32 hex characters: \"xyz\"");
}

TEST_F(ZipkinApiTest, SearchConditions) {
  EXPECT_EQ(TraceIds("serviceName=backend"), (std::vector<std::string>{kTraceB, kTraceA}));
  EXPECT_EQ(TraceIds("serviceName=backend&limit=1"), (std::vector<std::string>{kTraceB}));
  EXPECT_EQ(TraceIds(""), (std::vector<std::string>{kTraceB, kTraceA}));
  EXPECT_EQ(TraceIds("serviceName=frontend&spanName=call%20backend"),
            (std::vector<std::string>{kTraceA}));
  EXPECT_EQ(TraceIds("serviceName=frontend&spanName=all"), (std::vector<std::string>{kTraceA}));
  EXPECT_EQ(TraceIds("serviceName=frontend&spanName=SELECT"), std::vector<std::string>{});
  EXPECT_EQ(TraceIds("remoteServiceName=backend"), (std::vector<std::string>{kTraceA}));
  EXPECT_EQ(TraceIds("annotationQuery=cache%20miss"), (std::vector<std::string>{kTraceA}));
  EXPECT_EQ(TraceIds("annotationQuery=error"), (std::vector<std::string>{kTraceA}));
  EXPECT_EQ(TraceIds("annotationQuery=span.kind%3Dinternal"), (std::vector<std::string>{kTraceB}));
  EXPECT_EQ(TraceIds("annotationQuery=db.system%3Dpostgresql%20and%20error"),
            (std::vector<std::string>{kTraceA}));
  EXPECT_EQ(TraceIds("annotationQuery=db.system%3Dmysql"), std::vector<std::string>{});
  // Durations in µs: SELECT in trace 11 is 30 ms, the lone one 5 ms.
  EXPECT_EQ(TraceIds("serviceName=backend&minDuration=20000"),
            (std::vector<std::string>{kTraceA}));
  EXPECT_EQ(TraceIds("serviceName=backend&minDuration=1000&maxDuration=10000"),
            (std::vector<std::string>{kTraceB}));
  // The window (endTs - lookback, endTs] in ms.
  EXPECT_EQ(TraceIds(fmt::format("endTs={}&lookback=60000", kBaseMillis + 60'000)),
            (std::vector<std::string>{kTraceA}));
  EXPECT_EQ(TraceIds(fmt::format("endTs={}", kBaseMillis - 1)), std::vector<std::string>{});
}

TEST_F(ZipkinApiTest, SearchReturnsWholeTraces) {
  ExpectGolden("traces.json", Body("/api/v2/traces", "serviceName=backend"));
  nlohmann::json traces =
      nlohmann::json::parse(Body("/api/v2/traces", "serviceName=backend&minDuration=20000"));
  ASSERT_EQ(traces.size(), 1u);
  EXPECT_EQ(traces[0].size(), 3u);
  EXPECT_EQ(traces[0].dump(), nlohmann::json::parse(Body("/api/v2/trace/" + kTraceA)).dump());
}

TEST_F(ZipkinApiTest, Dependencies) {
  ExpectGolden("dependencies.json",
               Body("/api/v2/dependencies", fmt::format("endTs={}", kNow / kMs)));
  EXPECT_EQ(Body("/api/v2/dependencies", fmt::format("endTs={}", kNow / kMs)),
            R"([{"parent":"frontend","child":"backend","callCount":1,"errorCount":1}])");
  EXPECT_EQ(Body("/api/v2/dependencies", fmt::format("endTs={}&lookback=1", kNow / kMs)), "[]");
  HttpResponse missing = Get("/api/v2/dependencies");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.body, "endTs is required");
}

TEST_F(ZipkinApiTest, ParameterErrorsArePlainText400) {
  struct Case {
    std::string path, query, message;
  } cases[] = {
      {"/api/v2/spans", "", "serviceName is required"},
      {"/api/v2/remoteServices", "", "serviceName is required"},
      {"/api/v2/autocompleteValues", "", "key is required"},
      {"/api/v2/traces", "limit=0", "limit should be positive: 0"},
      {"/api/v2/traces", "maxDuration=5", "maxDuration is only valid with minDuration"},
      {"/api/v2/traces", "endTs=x", "endTs should be an integer (ms): \"x\""},
  };
  for (const Case& c : cases) {
    HttpResponse r = Get(c.path, c.query);
    EXPECT_EQ(r.status, 400) << c.path << "?" << c.query;
    EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
    EXPECT_EQ(r.body, c.message);
  }
}

TEST_F(ZipkinApiTest, RoutingErrors) {
  HttpResponse unknown = Get("/api/v2/nothing");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body, "no such endpoint: /api/v2/nothing");
  HttpRequest post;
  post.method = "POST";
  post.path = "/api/v2/services";
  HttpResponse method = api_->Handle(post);
  EXPECT_EQ(method.status, 405);
  EXPECT_EQ(method.body, "method POST not allowed on /api/v2/services (use GET)");
}

TEST(ZipkinJsonTest, TimesRoundToMicrosecondsAndStartsBeforeOneSecondAreAbsent) {
  model::StoredSpan s;
  s.span.trace_id = Tid64(0x01);
  s.span.span_id = Sid(0x01);
  s.span.start_time_unix_nano = 999'999'999;
  s.span.end_time_unix_nano = 999'999'999 + 400;
  ZipkinSpan z = ToZipkinSpan(s);
  EXPECT_EQ(z.timestamp_micros, std::nullopt);
  EXPECT_EQ(z.duration_micros, 1u);  // sub-microsecond but positive
  EXPECT_EQ(z.local_endpoint.service_name, "OTLPResourceNoServiceName");
  s.span.start_time_unix_nano = 2'000'000'500;
  s.span.end_time_unix_nano = 2'000'002'000;
  z = ToZipkinSpan(s);
  EXPECT_EQ(z.timestamp_micros, 2'000'001u);
  EXPECT_EQ(z.duration_micros, 2u);  // 1500 ns rounds half up
}

TEST(ZipkinJsonTest, ServiceNameFallsBackToFaasName) {
  model::StoredSpan s;
  s.resource = std::make_shared<model::Resource>(
      model::Resource{{{"faas.name", "resize"}, {"cloud.region", "eu"}}, 0, ""});
  s.span.trace_id = Tid64(0x01);
  s.span.span_id = Sid(0x01);
  ZipkinSpan z = ToZipkinSpan(s);
  EXPECT_EQ(z.local_endpoint.service_name, "resize");
  EXPECT_EQ(z.tags, (std::map<std::string, std::string>{
                        {"cloud.region", "eu"}, {"otlp.service.name.source", "faas.name"}}));
}

}  // namespace
}  // namespace teletrace::api::zipkin
