// The Jaeger query API over the in-memory reference backend: routing, parameters, error envelopes,
// search semantics (tags at every level, durations, limit) and the exact JSON of every response
// shape, pinned by golden files under tests/fixtures/jaeger/ (which docs/openapi/jaeger.yaml also
// validates against its schemas; the field-by-field comparison with a real Jaeger on the same data
// is tests/jaeger/differential.test.mjs). TELETRACE_UPDATE_GOLDEN=1 rewrites them.
#include "api/jaeger/jaeger_api.h"

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "api/jaeger/jaeger_json.h"
#include "api/jaeger/jaeger_query_params.h"
#include "common/golden_test_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "storage/memory/memory_backend.h"

namespace teletrace::api::jaeger {
namespace {

using nlohmann::json;

constexpr uint64_t kBase = 1'700'000'000'000'000'000;  // 2023-11-14T22:13:20Z
constexpr uint64_t kNow = kBase + 3'600'000'000'000;
constexpr uint64_t kMs = 1'000'000;

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

class JaegerApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_ = storage::memory::NewMemoryBackend();
    api_ = std::make_unique<JaegerApi>(backend_.get(), [] { return kNow; });
  }

  // Trace 0x11: frontend "GET /cart" (server, root) -> frontend "call backend" (client) ->
  // backend "SELECT" (server, error). Trace 0x22: backend "SELECT" alone, 5 ms.
  void WriteSample() {
    model::SpanBatch batch;
    auto& front = batch.resource_spans.emplace_back();
    front.resource.attributes = {{"service.name", "frontend"},
                                 {"host.name", "web-1"},
                                 {"process.pid", 4242}};
    auto& fs = front.scope_spans.emplace_back();
    fs.scope.name = "shop.http";
    fs.scope.version = "1.2.3";
    model::Span root;
    root.trace_id = Tid(0x11);
    root.span_id = Sid(0x01);
    root.name = "GET /cart";
    root.kind = model::SpanKind::kServer;
    root.start_time_unix_nano = kBase + 1'234'567;
    root.end_time_unix_nano = kBase + 101'234'999;
    root.trace_state = "vendor=x";
    root.flags = 1;
    root.attributes = {{"http.method", "GET"},
                       {"http.status_code", 200},
                       {"ratio", 0.25},
                       {"cached", false},
                       {"tags", model::ArrayValue{"a", "b"}},
                       {"ids", model::ArrayValue{int64_t{1}, int64_t{2}}},
                       {"raw", model::Bytes{"\x01\x02"}}};
    root.status.code = model::StatusCode::kOk;
    root.events.push_back({kBase + 2'000'000, "cart.loaded", {{"items", 3}}, 0});
    root.events.push_back({kBase + 3'000'999, "", {{"note", "no name"}}, 0});
    fs.spans.push_back(root);
    model::Span client;
    client.trace_id = Tid(0x11);
    client.span_id = Sid(0x02);
    client.parent_span_id = Sid(0x01);
    client.name = "call backend";
    client.kind = model::SpanKind::kClient;
    client.start_time_unix_nano = kBase + 10 * kMs;
    client.end_time_unix_nano = kBase + 60 * kMs;
    client.links.push_back({Tid(0x22), Sid(0x05), "", {{"link.kind", "retry"}}, 0, 0});
    fs.spans.push_back(client);

    auto& back = batch.resource_spans.emplace_back();
    back.resource.attributes = {{"service.name", "backend"}};
    auto& bs = back.scope_spans.emplace_back();
    model::Span select;
    select.trace_id = Tid(0x11);
    select.span_id = Sid(0x03);
    select.parent_span_id = Sid(0x02);
    select.name = "SELECT";
    select.kind = model::SpanKind::kServer;
    select.start_time_unix_nano = kBase + 20 * kMs;
    select.end_time_unix_nano = kBase + 50 * kMs;
    select.status = {"deadlock", model::StatusCode::kError};
    select.attributes = {{"db.system", "postgresql"}};
    select.events.push_back({kBase + 30 * kMs, "exception", {{"exception.type", "Deadlock"}}, 0});
    bs.spans.push_back(select);
    model::Span lone = select;
    lone.trace_id = Tid(0x22);
    lone.span_id = Sid(0x05);
    lone.parent_span_id = {};
    lone.status = {};
    lone.events.clear();
    lone.kind = model::SpanKind::kInternal;
    lone.start_time_unix_nano = kBase + 200 * kMs;
    lone.end_time_unix_nano = kBase + 205 * kMs;
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

  json GetJson(std::string path, std::string query = "", int status = 200) {
    HttpResponse r = Get(path, query);
    EXPECT_EQ(r.status, status) << path << "?" << query << ": " << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    return json::parse(r.body);
  }

  // Trace ids of a search's answer, in answer order.
  std::vector<std::string> TraceIds(std::string query) {
    json j = GetJson("/api/traces", query);
    std::vector<std::string> ids;
    for (const json& t : j["data"]) ids.push_back(t["traceID"]);
    return ids;
  }

  // `body`, byte for byte, against tests/fixtures/jaeger/`name` (see common/golden_test_util.h).
  void ExpectGolden(const std::string& name, const std::string& body) {
    golden::ExpectJson("jaeger/" + name, body);
  }

  std::unique_ptr<storage::Backend> backend_;
  std::unique_ptr<JaegerApi> api_;
};

const std::string kT11 = "11111111111111111111111111111111";
const std::string kT22 = "22222222222222222222222222222222";

TEST_F(JaegerApiTest, ServicesAndOperations) {
  WriteSample();
  ExpectGolden("services.json", Get("/api/services").body);
  ExpectGolden("service_operations.json", Get("/api/services/frontend/operations").body);
  ExpectGolden("service_operations_empty.json", Get("/api/services/nobody/operations").body);
  ExpectGolden("operations.json", Get("/api/operations", "service=backend").body);
  ExpectGolden("error_400.json", Get("/api/operations").body);
  EXPECT_EQ(GetJson("/api/services").dump(),
            R"({"data":["backend","frontend"],"errors":null,"limit":0,"offset":0,"total":2})");
  EXPECT_EQ(GetJson("/api/services/frontend/operations")["data"],
            json::parse(R"(["GET /cart","call backend"])"));
  EXPECT_EQ(GetJson("/api/services/nobody/operations").dump(),
            R"({"data":null,"errors":null,"limit":0,"offset":0,"total":0})");
  EXPECT_EQ(GetJson("/api/operations", "service=backend")["data"],
            json::parse(R"([{"name":"SELECT","spanKind":"internal"},
                            {"name":"SELECT","spanKind":"server"}])"));
  EXPECT_EQ(GetJson("/api/operations", "service=frontend&spanKind=client")["data"],
            json::parse(R"([{"name":"call backend","spanKind":"client"}])"));
  EXPECT_EQ(GetJson("/api/operations", "service=frontend&spanKind=producer")["data"],
            json::array());
  EXPECT_EQ(GetJson("/api/operations", "", 400)["errors"],
            json::parse(R"([{"code":400,"msg":"parameter 'service' is required"}])"));
  EXPECT_EQ(GetJson("/api/operations", "service=a&spanKind=sever", 400)["errors"][0]["msg"],
            "unsupported spanKind \"sever\" (use server, client, producer, consumer or internal)");
}

TEST_F(JaegerApiTest, TraceJsonMatchesGolden) {
  WriteSample();
  HttpResponse r = Get("/api/traces/" + kT11);
  ASSERT_EQ(r.status, 200) << r.body;
  ExpectGolden("trace.json", r.body);

  // Spot checks that say what the golden file means.
  json trace = json::parse(r.body)["data"][0];
  ASSERT_EQ(trace["spans"].size(), 3u);
  const json& root = trace["spans"][0];
  EXPECT_EQ(root["startTime"], (kBase + 1'234'567) / 1000);
  EXPECT_EQ(root["duration"], 100'000);  // (end - start) / 1000, truncated
  EXPECT_EQ(root["processID"], "p1");
  EXPECT_EQ(trace["processes"]["p1"]["serviceName"], "frontend");
  EXPECT_EQ(trace["processes"]["p2"]["serviceName"], "backend");
  EXPECT_EQ(trace["spans"][2]["processID"], "p2");
  EXPECT_EQ(trace["spans"][1]["references"],
            json::parse(R"([{"refType":"CHILD_OF","traceID":")" + kT11 +
                        R"(","spanID":"0101010101010101"},{"refType":"FOLLOWS_FROM","traceID":")" +
                        kT22 + R"(","spanID":"0505050505050505"}])"));
}

TEST_F(JaegerApiTest, ASpanWhoseParentIsMissingCarriesJaegersWarning) {
  model::SpanBatch batch;
  auto& rs = batch.resource_spans.emplace_back();
  rs.resource.attributes = {{"service.name", "svc"}};
  model::Span s;
  s.trace_id = Tid(0x33);
  s.span_id = Sid(0x07);
  s.parent_span_id = {0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef};
  s.name = "orphan";
  s.start_time_unix_nano = kBase;
  s.end_time_unix_nano = kBase + kMs;
  rs.scope_spans.emplace_back().spans.push_back(s);
  ASSERT_TRUE(backend_->WriteSpans(std::move(batch), kNow).ok());
  json span = GetJson("/api/traces/" + std::string(32, '3'))["data"][0]["spans"][0];
  EXPECT_EQ(span["warnings"],
            json::parse(R"(["invalid parent span IDs=deadbeefdeadbeef; skipping clock skew adjustment"])"));
  EXPECT_EQ(span["references"][0]["spanID"], "deadbeefdeadbeef");
}

TEST_F(JaegerApiTest, TraceByIdErrors) {
  WriteSample();
  ExpectGolden("error_404.json", Get("/api/traces/abc").body);
  EXPECT_EQ(GetJson("/api/traces/abc", "", 404).dump(),
            R"({"data":null,"errors":[{"code":404,"msg":"trace not found"}],"limit":0,"offset":0,"total":0})");
  EXPECT_EQ(GetJson("/api/traces/xyz", "", 400)["errors"][0]["msg"],
            "malformed trace id \"xyz\": expected 1 to 32 hex digits");
  HttpRequest post;
  post.method = "POST";
  post.path = "/api/traces/" + kT11;
  HttpResponse r = api_->Handle(post);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers, (std::vector<std::pair<std::string, std::string>>{{"Allow", "GET"}}));
  EXPECT_EQ(GetJson("/api/nothing", "", 404)["errors"][0]["msg"], "no such endpoint: /api/nothing");
}

TEST_F(JaegerApiTest, SearchMatchesOneSpanOnEveryCondition) {
  WriteSample();
  const std::string range = "&start=" + std::to_string(kBase / 1000) +
                            "&end=" + std::to_string(kBase / 1000 + 1'000'000);
  ExpectGolden("search.json", Get("/api/traces", "service=backend" + range).body);
  // Newest first: trace 0x22 starts later.
  EXPECT_EQ(TraceIds("service=backend" + range), (std::vector{kT22, kT11}));
  EXPECT_EQ(TraceIds("service=frontend" + range), (std::vector{kT11}));
  EXPECT_EQ(TraceIds("service=backend&limit=1" + range), (std::vector{kT22}));
  EXPECT_EQ(TraceIds("service=frontend&operation=SELECT" + range), std::vector<std::string>{});
  // Durations: SELECT in 0x11 lasts 30 ms, in 0x22 5 ms.
  EXPECT_EQ(TraceIds("service=backend&minDuration=10ms" + range), (std::vector{kT11}));
  EXPECT_EQ(TraceIds("service=backend&maxDuration=5ms" + range), (std::vector{kT22}));
  EXPECT_EQ(TraceIds("service=backend&minDuration=5ms&maxDuration=30ms" + range),
            (std::vector{kT22, kT11}));
  // Tags: span attributes, resource attributes, event attributes, typed values as text, and the
  // error/span.kind tags the rendering adds.
  EXPECT_EQ(TraceIds("service=frontend&tag=http.status_code:200" + range), (std::vector{kT11}));
  EXPECT_EQ(TraceIds("service=frontend&tag=http.status_code:500" + range),
            std::vector<std::string>{});
  EXPECT_EQ(TraceIds("service=frontend&tag=ratio:0.25&tag=cached:false" + range),
            (std::vector{kT11}));
  EXPECT_EQ(TraceIds("service=frontend&tags=%7B%22host.name%22%3A%22web-1%22%7D" + range),
            (std::vector{kT11}));
  EXPECT_EQ(TraceIds("service=frontend&tags=items%3D3" + range), (std::vector{kT11}));
  EXPECT_EQ(TraceIds("service=backend&tag=exception.type:Deadlock" + range), (std::vector{kT11}));
  EXPECT_EQ(TraceIds("service=backend&tag=error:true" + range), (std::vector{kT11}));
  EXPECT_EQ(TraceIds("service=backend&tag=error:false" + range), (std::vector{kT22}));
  EXPECT_EQ(TraceIds("service=backend&tag=span.kind:internal" + range), (std::vector{kT22}));
  // Both conditions must hold on the same span: http.method is on the root, items on an event of
  // the root, the client span has neither.
  EXPECT_EQ(TraceIds("service=frontend&tag=http.method:GET&tag=items:3" + range),
            (std::vector{kT11}));
  EXPECT_EQ(TraceIds("service=frontend&operation=call%20backend&tag=http.method:GET" + range),
            std::vector<std::string>{});
  // The default range is the two days before now; these spans are an hour old.
  EXPECT_EQ(TraceIds("service=backend"), (std::vector{kT22, kT11}));
  EXPECT_EQ(TraceIds("service=backend&end=" + std::to_string(kBase / 1000)),
            std::vector<std::string>{});
  // traceID= fetches; unknown ids are listed in errors, with 200, as Jaeger does.
  EXPECT_EQ(TraceIds("traceID=" + kT22 + "&traceID=" + kT11 + "&traceID=99"),
            (std::vector{kT22, kT11}));
  EXPECT_EQ(GetJson("/api/traces", "traceID=99&traceID=" + kT22)["errors"],
            json::parse(R"([{"msg":"trace not found","traceID":"0000000000000099"}])"));
  ExpectGolden("search_by_id.json", Get("/api/traces", "traceID=99&traceID=" + kT22).body);
  EXPECT_EQ(GetJson("/api/traces", "service=backend&minDuration=1parsec", 400)["errors"][0]["msg"],
            "unable to parse param 'minDuration': missing or unknown unit (use ns, us, ms, s, m or "
            "h) in duration \"1parsec\"");
}

TEST_F(JaegerApiTest, SearchStopsAtTheExaminedSpansBudget) {
  // 3000 single-span traces of one service (spans 10 and 2500 errors), a budget of 1000 spans.
  model::SpanBatch batch;
  auto& rs = batch.resource_spans.emplace_back();
  rs.resource.attributes = {{"service.name", "svc"}};
  auto& ss = rs.scope_spans.emplace_back();
  for (int i = 0; i < 3000; ++i) {
    model::Span s;
    s.trace_id = Tid(0);
    s.trace_id[14] = static_cast<uint8_t>(i >> 8);
    s.trace_id[15] = static_cast<uint8_t>(i);
    s.span_id = Sid(1);
    s.name = "op";
    s.start_time_unix_nano = kBase + static_cast<uint64_t>(i) * kMs;
    s.end_time_unix_nano = s.start_time_unix_nano + 1000;
    s.attributes = {{"i", i}};
    if (i == 10 || i == 2500) s.status.code = model::StatusCode::kError;
    ss.spans.push_back(s);
  }
  ASSERT_TRUE(backend_->WriteSpans(std::move(batch), kNow).ok());
  JaegerApiLimits limits;
  limits.max_examined_spans = 1000;
  api_ = std::make_unique<JaegerApi>(backend_.get(), [] { return kNow; }, limits);
  // error=true is checked on the spans returned, never pushed down: span 2500 is among the newest
  // 1000 examined, span 10 beyond them.
  EXPECT_EQ(TraceIds("service=svc&tag=error:true").size(), 1u);
  // A tag the storage can select on is pushed down, so the budget does not hide old matches.
  EXPECT_EQ(TraceIds("service=svc&tag=i:10").size(), 1u);
  EXPECT_EQ(TraceIds("service=svc&tag=i:10&tag=error:true").size(), 1u);
  EXPECT_EQ(TraceIds("service=svc&limit=5").size(), 5u);
  EXPECT_EQ(TraceIds("service=svc&limit=5")[0], JaegerTraceIdHex([] {
              TraceId id = Tid(0);
              id[14] = 2999 >> 8;
              id[15] = 2999 & 0xff;
              return id;
            }()));
}

TEST_F(JaegerApiTest, DependenciesCountCallsBetweenServices) {
  WriteSample();
  ExpectGolden("dependencies.json",
               Get("/api/dependencies", "endTs=" + std::to_string(kNow / kMs) + "&lookback=7200000")
                   .body);
  // One call per span whose parent is known: GET /cart -> call backend (frontend -> frontend, a
  // service calling itself counts, as in Jaeger) and call backend -> SELECT.
  EXPECT_EQ(GetJson("/api/dependencies", "endTs=" + std::to_string(kNow / kMs) +
                                             "&lookback=7200000")
                .dump(),
            R"({"data":[{"callCount":1,"child":"backend","parent":"frontend"},)"
            R"({"callCount":1,"child":"frontend","parent":"frontend"}],)"
            R"("errors":null,"limit":0,"offset":0,"total":0})");
  EXPECT_EQ(GetJson("/api/dependencies",
                    "service=backend&endTs=" + std::to_string(kNow / kMs) + "&lookback=7200000")
                ["data"],
            json::parse(R"([{"callCount":1,"child":"backend","parent":"frontend"}])"));
  // A window that ends before the spans.
  EXPECT_EQ(GetJson("/api/dependencies", "endTs=" + std::to_string(kBase / kMs) + "&lookback=1000")
                ["data"],
            json::array());
  EXPECT_EQ(GetJson("/api/dependencies", "endTs=yesterday", 400)["errors"][0]["msg"],
            "unable to parse param 'endTs': expected non-negative milliseconds, got \"yesterday\"");
}

TEST_F(JaegerApiTest, ApiV3AnswersInOtlpJson) {
  WriteSample();
  ExpectGolden("v3_services.json", Get("/api/v3/services").body);
  ExpectGolden("v3_operations.json", Get("/api/v3/operations", "service=frontend").body);
  ExpectGolden("v3_trace.json", Get("/api/v3/traces/" + kT11).body);
  EXPECT_EQ(Get("/api/v3/services").body, R"({"services":["backend","frontend"]})");
  EXPECT_EQ(Get("/api/v3/operations", "service=frontend").body,
            R"({"operations":[{"name":"GET /cart","spanKind":"server"},)"
            R"({"name":"call backend","spanKind":"client"}]})");
  EXPECT_EQ(Get("/api/v3/operations", "service=frontend&span_kind=client").body,
            R"({"operations":[{"name":"call backend","spanKind":"client"}]})");
  EXPECT_EQ(Get("/api/v3/operations").body, R"({"operations":[]})");

  json trace = GetJson("/api/v3/traces/" + kT11)["result"];
  ASSERT_EQ(trace["resourceSpans"].size(), 2u);  // frontend, backend
  const json& front = trace["resourceSpans"][0];
  EXPECT_EQ(front["resource"]["attributes"][0],
            json::parse(R"({"key":"service.name","value":{"stringValue":"frontend"}})"));
  EXPECT_EQ(front["scopeSpans"][0]["scope"], json::parse(R"({"name":"shop.http","version":"1.2.3"})"));
  const json& root = front["scopeSpans"][0]["spans"][0];
  EXPECT_EQ(root["traceId"], kT11);
  EXPECT_EQ(root["spanId"], "0101010101010101");
  EXPECT_EQ(root["traceState"], "vendor=x");
  EXPECT_EQ(root["flags"], 1);
  EXPECT_EQ(root["kind"], 2);
  EXPECT_EQ(root["startTimeUnixNano"], std::to_string(kBase + 1'234'567));
  EXPECT_EQ(root["status"], json::parse(R"({"code":1})"));
  EXPECT_EQ(trace["resourceSpans"][1]["scopeSpans"][0]["spans"][0]["status"],
            json::parse(R"({"message":"deadlock","code":2})"));

  const std::string range = "&query.start_time_min=2023-11-14T22:13:20Z"
                            "&query.start_time_max=2023-11-14T22:13:21.5Z";
  json found = GetJson("/api/v3/traces", "query.service_name=backend" + range)["result"];
  std::set<std::string> trace_ids;
  for (const json& rs : found["resourceSpans"]) {
    for (const json& ss : rs["scopeSpans"]) {
      for (const json& span : ss["spans"]) trace_ids.insert(span["traceId"]);
    }
  }
  EXPECT_EQ(trace_ids, (std::set<std::string>{kT11, kT22}));
  ExpectGolden("v3_search.json",
               Get("/api/v3/traces", "query.service_name=backend&query.duration_max=10ms" + range)
                   .body);
  json one = GetJson("/api/v3/traces", "query.service_name=backend&query.duration_max=10ms" +
                                           range)["result"];
  ASSERT_EQ(one["resourceSpans"].size(), 1u);
  EXPECT_EQ(one["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"], kT22);

  EXPECT_EQ(Get("/api/v3/traces", "query.service_name=nobody" + range).body,
            R"({"error":{"httpCode":404,"message":"No traces found"}})");
  ExpectGolden("v3_error.json", Get("/api/v3/traces", "query.service_name=nobody" + range).body);
  EXPECT_EQ(Get("/api/v3/traces", "query.service_name=backend").body,
            R"({"error":{"httpCode":400,"message":"query.start_time_min and query.start_time_max are required"}})");
  EXPECT_EQ(Get("/api/v3/traces", "query.service_name=backend&query.start_time_min=2023-11-14T22:13:22Z"
                                  "&query.start_time_max=2023-11-14T22:13:21Z")
                .body,
            R"({"error":{"httpCode":400,"message":"query.start_time_min must not be after query.start_time_max"}})");
  EXPECT_EQ(Get("/api/v3/traces", "query.service_name=backend&query.start_time_min=yesterday"
                                  "&query.start_time_max=2023-11-14T22:13:21Z")
                .status,
            400);
  EXPECT_EQ(Get("/api/v3/traces", "query.service_name=backend&query.duration_min=5" + range).body,
            R"({"error":{"httpCode":400,"message":)"
            R"("unable to parse param 'query.duration_min': missing or unknown unit (use ns, us, )"
            R"(ms, s, m or h) in duration \"5\""}})");
  EXPECT_EQ(Get("/api/v3/traces/" + kT22.substr(0, 31) + "9").status, 404);
  EXPECT_EQ(Get("/api/v3/traces/xyz").status, 400);
}

TEST(JaegerJsonTest, GoFloatFormatting) {
  auto go = [](double v) {
    std::string s;
    AppendGoFloat(&s, v);
    return s;
  };
  EXPECT_EQ(go(0), "0");
  EXPECT_EQ(go(3), "3");
  EXPECT_EQ(go(0.25), "0.25");
  EXPECT_EQ(go(-1.5), "-1.5");
  EXPECT_EQ(go(1e20), "100000000000000000000");
  EXPECT_EQ(go(1e21), "1e+21");
  EXPECT_EQ(go(1e-7), "1e-7");
  EXPECT_EQ(go(0.000001), "0.000001");
  EXPECT_EQ(go(1.2345e-10), "1.2345e-10");
  EXPECT_EQ(AttributeAsString(model::AnyValue(model::KeyValueList{{"b", 1}, {"a", "x"}})),
            R"({"a":"x","b":1})");
  EXPECT_EQ(AttributeAsString(model::AnyValue(model::ArrayValue{1.5, true, "s"})),
            R"([1.5,true,"s"])");
}

}  // namespace
}  // namespace teletrace::api::jaeger
