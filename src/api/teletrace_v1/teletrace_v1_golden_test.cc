// Every v1 response shape, byte for byte, against golden files (tests/fixtures/v1/*.json).
//
// The goldens are the server's bytes with whitespace added between tokens for review (see
// common/golden_test_util.h). The same files are validated against the
// OpenAPI document (docs/openapi/teletrace-v1.yaml) by web/src/api/openapi.test.ts, and the UI's
// types are generated from that document: a changed field fails here first, then there.
// TELETRACE_UPDATE_GOLDEN=1 rewrites the files.
#include <filesystem>

#include "api/teletrace_v1/teletrace_v1_api.h"
#include "common/golden_test_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "storage/sqlite/sqlite_backend.h"

namespace teletrace::api::v1 {
namespace {

using nlohmann::json;

constexpr uint64_t kNow = 1'800'000'000'000'000'000;
constexpr uint64_t kBase = 1'700'000'000'000'000'000;
constexpr uint64_t kMs = 1'000'000;

TEST(IndentJsonTest, AddsWhitespaceOnlyBetweenTokens) {
  EXPECT_EQ(golden::IndentJson(R"({"a":[1,2.50],"b":{},"c":[],"d":"x,{\"}"})"),
            "{\n \"a\": [\n  1,\n  2.50\n ],\n \"b\": {},\n \"c\": [],\n \"d\": \"x,{\\\"}\"\n}\n");
}

TraceId Tid(uint8_t b) {
  TraceId id;
  id.fill(b);
  return id;
}

SpanId Sid(uint8_t b) {
  SpanId id;
  id.fill(b);
  return id;
}

class TeletraceV1GoldenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("teletrace-v1-golden-" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto backend = storage::NewSqliteBackend({{"path", dir_.string()}, {"retention_max_age", "0"}});
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = std::move(*backend);
    api_ = std::make_unique<TeletraceV1Api>(backend_.get(), [] { return kNow; },
                                            IngestPorts{4317, 4318, 9411});
    ASSERT_TRUE(backend_->WriteSpans(Checkout(), kNow).ok());
    ASSERT_TRUE(backend_->WriteSpans(Payments(), kNow).ok());
  }
  void TearDown() override {
    api_.reset();
    backend_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Trace a1: a server span with two children; every attribute type, events, links, statuses.
  static model::SpanBatch Checkout() {
    model::SpanBatch batch;
    auto& rs = batch.resource_spans.emplace_back();
    rs.resource.attributes = {
        {"service.name", "checkout"},
        {"host.cores", int64_t{8}},
        {"build.id", int64_t{9'007'199'254'740'993}},  // 2^53 + 1: exact only as a 64-bit integer
        {"cert.fingerprint", model::Bytes{"\x01\x02\xff"}},
        {"region.weights", model::ArrayValue{1.5, int64_t{2}, "x"}},
        {"k8s", model::KeyValueList{{"pod", "checkout-1"}, {"ready", true}}},
    };
    rs.resource.dropped_attributes_count = 1;
    auto& ss = rs.scope_spans.emplace_back();
    ss.scope.name = "io.opentelemetry.http";
    ss.scope.version = "1.2.3";
    ss.scope.attributes = {{"instrumentation.auto", true}};

    model::Span root;
    root.trace_id = Tid(0xa1);
    root.span_id = Sid(0x01);
    root.trace_state = "vendor=1";
    root.flags = 1;
    root.name = "GET /cart";
    root.kind = model::SpanKind::kServer;
    root.start_time_unix_nano = kBase;
    root.end_time_unix_nano = kBase + 5 * kMs;
    root.attributes = {{"http.method", "GET"}, {"http.status_code", int64_t{200}}, {"ratio", 0.25}};
    root.status = {"", model::StatusCode::kOk};

    model::Span db;
    db.trace_id = Tid(0xa1);
    db.span_id = Sid(0x02);
    db.parent_span_id = Sid(0x01);
    db.name = "SELECT cart";
    db.kind = model::SpanKind::kClient;
    db.start_time_unix_nano = kBase + 1 * kMs;
    db.end_time_unix_nano = kBase + 3 * kMs;
    db.attributes = {{"db.system", "postgresql"}, {"http.status_code", int64_t{500}}};
    db.dropped_attributes_count = 2;
    db.events = {{kBase + 2 * kMs, "exception", {{"exception.type", "TimeoutError"}}, 1}};
    db.dropped_events_count = 3;
    db.links = {{Tid(0xb2), Sid(0x09), "", {{"link.kind", "follows"}}, 0, 1}};
    db.dropped_links_count = 4;
    db.status = {"timeout after 2 ms", model::StatusCode::kError};

    model::Span render;
    render.trace_id = Tid(0xa1);
    render.span_id = Sid(0x03);
    render.parent_span_id = Sid(0x01);
    render.name = "render";
    render.kind = model::SpanKind::kInternal;
    render.start_time_unix_nano = kBase + 3 * kMs;
    render.end_time_unix_nano = kBase + 4 * kMs;

    ss.spans = {root, db, render};
    return batch;
  }

  // Trace b2: one span of another service, without a scope.
  static model::SpanBatch Payments() {
    model::SpanBatch batch;
    auto& rs = batch.resource_spans.emplace_back();
    rs.resource.attributes = {{"service.name", "payments"}};
    model::Span s;
    s.trace_id = Tid(0xb2);
    s.span_id = Sid(0x09);
    s.name = "POST /pay";
    s.kind = model::SpanKind::kServer;
    s.start_time_unix_nano = kBase + 10 * kMs;
    s.end_time_unix_nano = kBase + 17 * kMs;
    s.attributes = {{"http.method", "POST"}, {"http.status_code", int64_t{201}}};
    rs.scope_spans.emplace_back().spans = {s};
    return batch;
  }

  HttpResponse Call(std::string method, std::string path, std::string body = "",
                    std::string query = "") {
    HttpRequest r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.query = std::move(query);
    r.body = std::move(body);
    return api_->Handle(r);
  }

  // The response has `status` and, byte for byte, the body in tests/fixtures/v1/<name>.
  void ExpectGolden(const std::string& name, const HttpResponse& r, int status = 200) {
    EXPECT_EQ(r.status, status) << name << ": " << r.body;
    EXPECT_EQ(r.content_type, "application/json") << name;
    golden::ExpectJson("v1/" + name, r.body);
  }

  std::filesystem::path dir_;
  std::unique_ptr<storage::Backend> backend_;
  std::unique_ptr<TeletraceV1Api> api_;
};

TEST_F(TeletraceV1GoldenTest, SystemInfo) {
  HttpResponse r = Call("GET", "/v1/system-info");
  json j = json::parse(r.body);
  // The id is random per store and the version moves with releases: both are checked by
  // TeletraceV1ApiTest.PingAndSystemInfo; the golden has placeholders for those two values.
  const std::string id = j["systemId"], version = j["version"];
  ASSERT_EQ(id.size(), 36u);
  const std::string prefix = R"({"systemId":")" + id + R"(","version":")" + version + "\"";
  ASSERT_EQ(r.body.substr(0, prefix.size()), prefix);
  r.body = R"({"systemId":"00000000-0000-4000-8000-000000000000","version":"0.0.0")" +
           r.body.substr(prefix.size());
  ExpectGolden("system_info.json", r);
}

TEST_F(TeletraceV1GoldenTest, SearchTwoPages) {
  HttpResponse first = Call("POST", "/v1/search", R"({"pageSize":2})");
  ExpectGolden("search_page1.json", first);
  json next = json::parse(first.body)["metadata"];
  ASSERT_TRUE(next.is_object()) << first.body;
  HttpResponse second =
      Call("POST", "/v1/search", json({{"pageSize", 2}, {"metadata", next}}).dump());
  ExpectGolden("search_page2.json", second);
  EXPECT_TRUE(json::parse(second.body)["metadata"].is_null());
}

TEST_F(TeletraceV1GoldenTest, TraceWholeAndFirstPage) {
  const std::string a1 = "/v1/trace/a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
  ExpectGolden("trace.json", Call("GET", a1));
  HttpResponse page = Call("GET", a1, "", "pageSize=2");
  ExpectGolden("trace_page1.json", page);
  EXPECT_EQ(json::parse(page.body)["spans"].size(), 2u);
}

TEST_F(TeletraceV1GoldenTest, TracesWithSummaries) {
  ExpectGolden("traces.json", Call("POST", "/v1/traces", "{}"));
  // A span-level filter (the database span) picks trace a1; trace-level ones keep or drop it.
  const std::string db =
      R"({"filters":[{"keyValueFilter":{"key":"span.attributes.db.system","operator":"exists"}}],)";
  HttpResponse kept =
      Call("POST", "/v1/traces", db + R"("traceFilters":{"hasErrors":true,"rootServiceName":"checkout"}})");
  ExpectGolden("traces_filtered.json", kept);
  HttpResponse dropped =
      Call("POST", "/v1/traces", db + R"("traceFilters":{"minDurationNano":6000000}})");
  EXPECT_EQ(dropped.body, R"({"traces":[],"partial":false})");
  HttpResponse bad = Call("POST", "/v1/traces", R"({"traceFilters":{"spanCount":3}})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body,
            R"x({"errorMessage":"traceFilters.spanCount: unknown trace filter (expected )x"
            R"x(minDurationNano, maxDurationNano, rootServiceName or hasErrors)"})x");
  EXPECT_EQ(Call("POST", "/v1/traces", R"({"limit":101})").body,
            R"({"errorMessage":"limit: must be between 1 and 100, got 101"})");
  EXPECT_EQ(Call("GET", "/v1/traces").status, 405);
}

TEST_F(TeletraceV1GoldenTest, KeysAsPeopleTypeThem) {
  // A bare attribute name finds its level in the store; a short name stands for an intrinsic.
  auto span_names = [this](const std::string& body) {
    HttpResponse r = Call("POST", "/v1/search", body);
    EXPECT_EQ(r.status, 200) << r.body;
    const json parsed = json::parse(r.body);
    std::vector<std::string> names;
    for (const auto& s : parsed["spans"]) names.push_back(s["span"]["name"]);
    return names;
  };
  EXPECT_EQ(span_names(R"({"filters":[{"keyValueFilter":{"key":"db.system","operator":"equals","value":"postgresql"}}]})"),
            std::vector<std::string>{"SELECT cart"});
  EXPECT_EQ(span_names(R"({"filters":[{"keyValueFilter":{"key":"service","operator":"equals","value":"payments"}},)"
                       R"({"keyValueFilter":{"key":"http.status_code","operator":"gte","value":201}}]})"),
            std::vector<std::string>{"POST /pay"});
  EXPECT_EQ(Call("POST", "/v1/tags/http.method", "{}").body,
            Call("POST", "/v1/tags/span.attributes.http.method", "{}").body);
  EXPECT_EQ(Call("POST", "/v1/tags/duration/statistics", R"({"desiredStatistics":["max"]})").body,
            R"({"statistics":{"max":7000000.0}})");
  HttpResponse unknown = Call(
      "POST", "/v1/search",
      R"({"filters":[{"keyValueFilter":{"key":"db.sytem","operator":"exists"}}]})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(json::parse(unknown.body)["errorMessage"],
            "filters[0].key: unknown key \"db.sytem\": neither a full key (span.name, "
            "span.attributes.<name>, resource.attributes.<name>, ...) nor an attribute of the "
            "stored spans; did you mean span.attributes.db.system?");
}

TEST_F(TeletraceV1GoldenTest, TagKeys) { ExpectGolden("tags.json", Call("GET", "/v1/tags")); }

TEST_F(TeletraceV1GoldenTest, TagValues) {
  ExpectGolden("tag_values.json", Call("POST", "/v1/tags/span.attributes.http.method", "{}"));
  ExpectGolden("tag_values_int.json",
               Call("POST", "/v1/tags/span.attributes.http.status_code", R"({"limit":2})"));
  // A time budget adds "partial" (false: everything was counted in time).
  ExpectGolden("tag_values_budget.json",
               Call("POST", "/v1/tags/span.attributes.http.method", R"({"timeBudgetMs":60000})"));
}

TEST_F(TeletraceV1GoldenTest, Statistics) {
  ExpectGolden("statistics.json",
               Call("POST", "/v1/tags/externalFields.durationNano/statistics",
                    R"({"desiredStatistics":["min","max","avg","sum","count","p50","p99.9"]})"));
  ExpectGolden(
      "statistics_empty.json",
      Call("POST", "/v1/tags/externalFields.durationNano/statistics",
           R"({"filters":[{"keyValueFilter":{"key":"span.name","operator":"equals","value":"none"}}],)"
           R"("desiredStatistics":["min","p50"]})"));
}

TEST_F(TeletraceV1GoldenTest, HistogramsOfEveryKind) {
  const json request = {
      {"timeframe", {{"startTimeUnixNanoSec", kBase}, {"endTimeUnixNanoSec", kBase + 20 * kMs}}},
      {"interval", 5 * kMs},
      {"aggregations",
       {{"count", {{"func", "COUNT"}}},
        {"byService", {{"func", "COUNT"}, {"groupBy", "resource.attributes.service.name"}}},
        {"methods", {{"func", "DISTINCT_COUNT"}, {"key", "span.attributes.http.method"}}},
        {"latency",
         {{"func", "PERCENTILES"},
          {"key", "externalFields.durationNano"},
          {"aggregationParameters", {{"percentiles", {50, 99}}}}}},
        {"latencyByService",
         {{"func", "PERCENTILES"},
          {"key", "externalFields.durationNano"},
          {"groupBy", "resource.attributes.service.name"},
          {"aggregationParameters", {{"percentiles", {50, 99}}}}}},
        {"durations",
         {{"func", "RANGE_COUNT"},
          {"key", "externalFields.durationNano"},
          {"aggregationParameters", {{"bounds", {0, 1 * kMs, 2.5 * kMs, 10 * kMs}}}}}}}}};
  ExpectGolden("histograms.json", Call("POST", "/v1/histograms", request.dump()));
}

TEST_F(TeletraceV1GoldenTest, Dependencies) {
  ExpectGolden("dependencies.json", Call("POST", "/v1/dependencies", "{}"));
}

TEST_F(TeletraceV1GoldenTest, Errors) {
  ExpectGolden("error_400.json",
               Call("POST", "/v1/search",
                    R"({"filters":[{"keyValueFilter":{"key":"span.name","operator":"gt","value":"a"}}]})"),
               400);
  ExpectGolden("error_404.json", Call("GET", "/v1/trace/0123456789abcdef0123456789abcdef"), 404);
  ExpectGolden("error_405.json", Call("DELETE", "/v1/histograms"), 405);
}

}  // namespace
}  // namespace teletrace::api::v1
