// The Tempo API over the in-memory backend: routing, parameters, errors, search semantics and the
// exact JSON of every response shape, pinned by golden files under tests/fixtures/tempo/ (which
// docs/openapi/tempo.yaml also validates against its schemas; TELETRACE_UPDATE_GOLDEN=1 rewrites
// them).
#include "api/tempo/tempo_api.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "api/otlp/otlp_encoding.h"
#include "common/build_info.h"
#include "fmt/format.h"
#include "common/golden_test_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "storage/memory/memory_backend.h"

namespace teletrace::api::tempo {
namespace {

using nlohmann::json;

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kBase = 1'700'000'000 * kSec;  // 2023-11-14T22:13:20Z
constexpr uint64_t kNow = kBase + 600 * kSec;

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

const std::string kT11 = ToHex(Tid(0x11));
const std::string kT22 = ToHex(Tid(0x22));
const std::string kT33 = ToHex(Tid(0x33));

class TempoApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_ = storage::memory::NewMemoryBackend();
    api_ = std::make_unique<TempoApi>(backend_.get(), [] { return kNow; });
    WriteSample();
  }

  // Trace 0x11 (newest): frontend "GET /cart" (server, root, 100 ms, http.status_code=200) ->
  // backend "SELECT" (client, error, 30 ms, db.system=pg). Trace 0x22: backend "SELECT" root,
  // 5 ms, db.system=mysql. Trace 0x33 (oldest): frontend "GET /cart" root, 300 ms,
  // http.status_code=500, status error.
  void WriteSample() {
    model::SpanBatch batch;
    auto& front = batch.resource_spans.emplace_back();
    front.resource.attributes = {{"service.name", "frontend"}, {"host.name", "web-1"}};
    auto& fs = front.scope_spans.emplace_back();
    fs.scope.name = "shop.http";
    model::Span root;
    root.trace_id = Tid(0x11);
    root.span_id = Sid(0x01);
    root.name = "GET /cart";
    root.kind = model::SpanKind::kServer;
    root.start_time_unix_nano = kBase + 300 * kSec;
    root.end_time_unix_nano = root.start_time_unix_nano + 100 * kMs;
    root.attributes = {{"http.status_code", 200}, {"ratio", 0.5}, {"cached", true}};
    fs.spans.push_back(root);
    model::Span old = root;
    old.trace_id = Tid(0x33);
    old.span_id = Sid(0x06);
    old.start_time_unix_nano = kBase + 100 * kSec;
    old.end_time_unix_nano = old.start_time_unix_nano + 300 * kMs;
    old.attributes = {{"http.status_code", 500}};
    old.status = {"boom", model::StatusCode::kError};
    fs.spans.push_back(old);

    auto& back = batch.resource_spans.emplace_back();
    back.resource.attributes = {{"service.name", "backend"}};
    auto& bs = back.scope_spans.emplace_back();
    model::Span db;
    db.trace_id = Tid(0x11);
    db.span_id = Sid(0x02);
    db.parent_span_id = Sid(0x01);
    db.name = "SELECT";
    db.kind = model::SpanKind::kClient;
    db.start_time_unix_nano = kBase + 300 * kSec + 10 * kMs;
    db.end_time_unix_nano = db.start_time_unix_nano + 30 * kMs;
    db.attributes = {{"db.system", "pg"}};
    db.status = {"deadlock", model::StatusCode::kError};
    bs.spans.push_back(db);
    model::Span alone = db;
    alone.trace_id = Tid(0x22);
    alone.span_id = Sid(0x05);
    alone.parent_span_id = {};
    alone.start_time_unix_nano = kBase + 200 * kSec;
    alone.end_time_unix_nano = alone.start_time_unix_nano + 5 * kMs;
    alone.attributes = {{"db.system", "mysql"}};
    alone.status = {};
    bs.spans.push_back(alone);
    ASSERT_TRUE(backend_->WriteSpans(std::move(batch), kBase).ok());
  }

  HttpResponse Get(const std::string& target, std::string_view accept = "") {
    HttpRequest r;
    r.method = "GET";
    const size_t q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = target.substr(q + 1);
    if (!accept.empty()) r.headers.emplace_back("accept", std::string(accept));
    return api_->Handle(r);
  }

  // The body of a 200 JSON answer.
  std::string Body(const std::string& target) {
    HttpResponse r = Get(target);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    EXPECT_EQ(r.content_type, "application/json") << target;
    return r.body;
  }

  // The text of a 400 answer.
  std::string Error400(const std::string& target) {
    HttpResponse r = Get(target);
    EXPECT_EQ(r.status, 400) << target << ": " << r.body;
    EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
    return r.body;
  }

  // Trace ids of a search answer, in order.
  std::vector<std::string> SearchIds(const std::string& query) {
    json body = json::parse(Body("/api/search?" + query));
    std::vector<std::string> ids;
    for (const json& t : body["traces"]) ids.push_back(t["traceID"]);
    return ids;
  }

  // `body`, byte for byte, against tests/fixtures/tempo/`name` (see common/golden_test_util.h).
  void ExpectGolden(const std::string& name, const std::string& body) {
    golden::ExpectJson("tempo/" + name, body);
  }

  std::unique_ptr<storage::Backend> backend_;
  std::unique_ptr<TempoApi> api_;
};

const std::string kRange = fmt::format("start={}&end={}", kBase / kSec, kNow / kSec);

TEST_F(TempoApiTest, EchoReadyBuildInfo) {
  HttpResponse r = Get("/api/echo");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(r.body, "echo");
  r = Get("/ready");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ready");
  const BuildInfo& info = GetBuildInfo();
  const std::string body = Body("/api/status/buildinfo");
  EXPECT_EQ(json::parse(body),
            json({{"version", fmt::format("2.6.0-teletrace.{}", info.version)},
                  {"revision", info.commit},
                  {"branch", ""},
                  {"buildUser", ""},
                  {"buildDate", info.date},
                  {"goVersion", ""}}));
  // The version, commit and date change with every build: the golden file pins the key order and
  // the constant values, with those three (checked exactly above) replaced by placeholders.
  nlohmann::ordered_json pinned = nlohmann::ordered_json::parse(body);
  pinned["version"] = "2.6.0-teletrace.<version>";
  pinned["revision"] = "<commit>";
  pinned["buildDate"] = "<date>";
  ExpectGolden("buildinfo.json", pinned.dump());
}

TEST_F(TempoApiTest, RoutingErrors) {
  HttpResponse r = Get("/api/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "no such endpoint: /api/nope");
  EXPECT_EQ(Get("/api/v2/search").status, 404);  // Tempo has no v2 search
  EXPECT_EQ(Get("/api/traces/" + kT11 + "/extra").status, 404);
  HttpRequest post;
  post.method = "POST";
  post.path = "/api/search";
  r = api_->Handle(post);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.body, "method POST not allowed on /api/search (use GET)");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>("Allow", "GET")));
}

TEST_F(TempoApiTest, TraceByIdV1Json) {
  const std::string body = Body("/api/traces/" + kT11);
  ExpectGolden("trace_v1.json", body);
  std::string expected;
  otlp::AppendOtlpTracesJson(&expected, backend_->GetTrace({Tid(0x11), 0, {}})->spans,
                             {.base64_ids = true, .resource_spans_key = "batches"});
  EXPECT_EQ(body, expected);
  // Left-padded short ids, as Tempo accepts them.
  EXPECT_EQ(Get("/api/traces/" + kT11.substr(0, 31)).status, 404);
}

TEST_F(TempoApiTest, TraceByIdV2Json) {
  const std::string body = Body("/api/v2/traces/" + kT11 + "?start=1&end=2");
  ExpectGolden("trace_v2.json", body);
  json j = json::parse(body);
  EXPECT_EQ(j["trace"]["resourceSpans"].size(), 2u);
  EXPECT_EQ(j["metrics"], json::object());
}

TEST_F(TempoApiTest, TraceByIdProtobuf) {
  const std::string otlp =
      otlp::EncodeOtlpTracesProtobuf(backend_->GetTrace({Tid(0x11), 0, {}})->spans);
  HttpResponse r = Get("/api/traces/" + kT11, "application/protobuf");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/protobuf");
  EXPECT_EQ(r.body, otlp);
  r = Get("/api/v2/traces/" + kT11, "application/protobuf, application/json");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/protobuf");
  ASSERT_GT(otlp.size(), 127u);  // a two-byte length varint
  std::string expected = "\x0a";
  expected.push_back(static_cast<char>(0x80 | (otlp.size() & 0x7f)));
  expected.push_back(static_cast<char>(otlp.size() >> 7));
  EXPECT_EQ(r.body, expected + otlp);
}

TEST_F(TempoApiTest, TraceByIdErrors) {
  HttpResponse r = Get("/api/traces/" + ToHex(Tid(0x99)));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "trace not found");
  EXPECT_EQ(Get("/api/v2/traces/" + ToHex(Tid(0x99)), "application/protobuf").status, 404);
  EXPECT_EQ(Error400("/api/traces/xyz"), "malformed trace id \"xyz\": expected 1 to 32 hex digits");
  EXPECT_EQ(Error400("/api/v2/traces/" + kT11 + "?start=x"),
            "invalid parameter start: expected a non-negative integer, got \"x\"");
}

TEST_F(TempoApiTest, SearchTraceqlGolden) {
  const std::string body = Body("/api/search?" + kRange + "&q=" +
                                "%7B%20resource.service.name%20%3D%20%22backend%22%20%26%26%20span."
                                "db.system%20%3D~%20%22p.*%7Cmy.*%22%20%7D");
  ExpectGolden("search.json", body);
  json j = json::parse(body);
  ASSERT_EQ(j["traces"].size(), 2u);
  EXPECT_EQ(j["traces"][0]["traceID"], kT11);
  EXPECT_EQ(j["traces"][0]["rootServiceName"], "frontend");
  EXPECT_EQ(j["traces"][0]["rootTraceName"], "GET /cart");
  EXPECT_EQ(j["traces"][0]["startTimeUnixNano"], std::to_string(kBase + 300 * kSec));
  EXPECT_EQ(j["traces"][0]["durationMs"], 100);
  EXPECT_EQ(j["traces"][0]["spanSets"][0]["matched"], 1);
  EXPECT_EQ(j["traces"][0]["spanSet"], j["traces"][0]["spanSets"][0]);
  EXPECT_EQ(j["traces"][0]["spanSet"]["spans"][0]["attributes"],
            json::parse(R"([{"key":"service.name","value":{"stringValue":"backend"}},
                            {"key":"db.system","value":{"stringValue":"pg"}}])"));
  EXPECT_EQ(j["traces"][1]["traceID"], kT22);
  EXPECT_EQ(j["traces"][1]["rootServiceName"], "backend");
  EXPECT_EQ(j["metrics"]["inspectedTraces"], 2);
}

TEST_F(TempoApiTest, SearchTraceqlSemantics) {
  EXPECT_EQ(SearchIds(kRange + "&q={}"), (std::vector<std::string>{kT11, kT22, kT33}));
  EXPECT_EQ(SearchIds(kRange + "&q=" + "{ status = error }"),
            (std::vector<std::string>{kT11, kT33}));
  EXPECT_EQ(SearchIds(kRange + "&q=" + "{ kind = server } %26%26 { status = error }"),
            (std::vector<std::string>{kT11, kT33}));
  EXPECT_EQ(SearchIds(kRange + "&q=" + "{ kind = client } %26%26 { span.http.status_code = 200 }"),
            (std::vector<std::string>{kT11}));
  EXPECT_EQ(SearchIds(kRange + "&q=" + "{ name = \"SELECT\" } || { span.http.status_code >= 500 }"),
            (std::vector<std::string>{kT11, kT22, kT33}));
  EXPECT_EQ(
      SearchIds(kRange + "&q=" + "{ rootServiceName = \"frontend\" %26%26 duration > 200ms }"),
      (std::vector<std::string>{kT33}));
  EXPECT_EQ(SearchIds(kRange + "&q=" + "{ traceDuration < 50ms }"),
            (std::vector<std::string>{kT22}));
  EXPECT_EQ(SearchIds(kRange + "&q=" + "{ .service.name = \"frontend\" %26%26 .cached = true }"),
            (std::vector<std::string>{kT11}));
  EXPECT_EQ(SearchIds(kRange + "&q={ name = \"nope\" }"), std::vector<std::string>{});
  // Attributes of every scalar type, and status and kind, as a search result shows them.
  const std::string typed =
      Body("/api/search?" + kRange + "&q=" +
           "{ span.http.status_code = 200 %26%26 .ratio > 0.1 %26%26 .cached = true %26%26 "
           "status = unset %26%26 kind = server }");
  ExpectGolden("search_attribute_types.json", typed);
  EXPECT_EQ(json::parse(typed)["traces"][0]["spanSet"]["spans"][0]["attributes"],
            json::parse(R"([{"key":"http.status_code","value":{"intValue":"200"}},
                            {"key":"ratio","value":{"doubleValue":0.5}},
                            {"key":"cached","value":{"boolValue":true}},
                            {"key":"status","value":{"stringValue":"unset"}},
                            {"key":"kind","value":{"stringValue":"server"}}])"));
  // limit keeps the newest; spss bounds the spans shown but not matched.
  EXPECT_EQ(SearchIds(kRange + "&q={}&limit=2"), (std::vector<std::string>{kT11, kT22}));
  json j = json::parse(Body("/api/search?" + kRange + "&q={}&limit=1&spss=1"));
  EXPECT_EQ(j["traces"][0]["spanSets"][0]["spans"].size(), 1u);
  EXPECT_EQ(j["traces"][0]["spanSets"][0]["matched"], 2);
  // The time range: only trace 0x33 started in the first 150 s.
  EXPECT_EQ(SearchIds(fmt::format("start={}&end={}&q={{}}", kBase / kSec, kBase / kSec + 150)),
            (std::vector<std::string>{kT33}));
  // Without start/end: the last hour before now.
  EXPECT_EQ(SearchIds("q={}"), (std::vector<std::string>{kT11, kT22, kT33}));
}

TEST_F(TempoApiTest, SearchTags) {
  EXPECT_EQ(SearchIds(kRange + "&tags=service.name%3Dbackend"),
            (std::vector<std::string>{kT11, kT22}));
  EXPECT_EQ(SearchIds(kRange + "&tags=http.status_code%3D500"), (std::vector<std::string>{kT33}));
  EXPECT_EQ(SearchIds(kRange + "&tags=name%3DSELECT%20db.system%3Dpg"),
            (std::vector<std::string>{kT11}));
  EXPECT_EQ(SearchIds(kRange + "&tags=status%3Derror"), (std::vector<std::string>{kT11, kT33}));
  EXPECT_EQ(SearchIds(kRange + "&tags=root.service.name%3Dbackend"),
            (std::vector<std::string>{kT22}));
  EXPECT_EQ(SearchIds(kRange + "&tags=root.name%3D%22GET%20%2Fcart%22"),
            (std::vector<std::string>{kT11, kT33}));
  EXPECT_EQ(SearchIds(kRange + "&minDuration=50ms"), (std::vector<std::string>{kT11, kT33}));
  EXPECT_EQ(SearchIds(kRange + "&minDuration=50ms&maxDuration=200ms"),
            (std::vector<std::string>{kT11}));
  EXPECT_EQ(SearchIds(kRange), (std::vector<std::string>{kT11, kT22, kT33}));
}

TEST_F(TempoApiTest, SearchErrors) {
  EXPECT_EQ(Error400("/api/search?q=%7B%20.a%20%3D%201%20%7D%20%7C%20count()%20%3E%201"),
            "invalid TraceQL query: col 12: pipelines (|) are not supported (nor the aggregates, "
            "select() and metrics functions that follow them)");
  EXPECT_EQ(Error400("/api/search?limit=0"), "invalid parameter limit: must be a positive integer");
  EXPECT_EQ(Error400("/api/search?limit=-1"),
            "invalid parameter limit: expected a non-negative integer, got \"-1\"");
  EXPECT_EQ(Error400("/api/search?spss=x"),
            "invalid parameter spss: expected a non-negative integer, got \"x\"");
  EXPECT_EQ(Error400("/api/search?start=10&end=5"),
            "invalid parameters: start must not be after end");
  EXPECT_EQ(Error400("/api/search?minDuration=fast"),
            "unable to parse param 'minDuration': expected a number in duration \"fast\"");
  EXPECT_EQ(Error400("/api/search?minDuration=2s&maxDuration=1s"),
            "invalid parameters: minDuration must not be greater than maxDuration");
  EXPECT_EQ(Error400("/api/search?tags=status%3Dbroken"),
            "invalid parameter tags: status must be error, ok or unset, got \"broken\"");
}

TEST_F(TempoApiTest, TagNames) {
  ExpectGolden("tags_v1.json", Body("/api/search/tags"));
  EXPECT_EQ(
      Body("/api/search/tags"),
      R"({"tagNames":["cached","db.system","host.name","http.status_code","ratio","service.name"]})");
  EXPECT_EQ(Body("/api/search/tags?scope=resource"),
            R"({"tagNames":["host.name","service.name"]})");
  ExpectGolden("tags_v2.json", Body("/api/v2/search/tags"));
  EXPECT_EQ(
      Body("/api/v2/search/tags?scope=span"),
      R"({"scopes":[{"name":"span","tags":["cached","db.system","http.status_code","ratio"]}]})");
  EXPECT_EQ(Error400("/api/v2/search/tags?scope=event"),
            "invalid parameter scope: expected resource, span, intrinsic or all, got \"event\"");
}

// Without start/end the tag endpoints read the last hour, as search does; start/end widen it.
TEST_F(TempoApiTest, TagsDefaultToTheLastHour) {
  model::SpanBatch batch;
  auto& rs = batch.resource_spans.emplace_back();
  rs.resource.attributes = {{"service.name", "archive"}};
  model::Span s;
  s.trace_id = Tid(0x44);
  s.span_id = Sid(0x09);
  s.name = "nightly";
  s.start_time_unix_nano = kNow - 2 * 3600 * kSec;
  s.end_time_unix_nano = s.start_time_unix_nano + kMs;
  s.attributes = {{"job.id", "j-1"}};
  rs.scope_spans.emplace_back().spans.push_back(s);
  ASSERT_TRUE(backend_->WriteSpans(std::move(batch), kBase).ok());
  EXPECT_EQ(Body("/api/search/tags?scope=span"),
            R"({"tagNames":["cached","db.system","http.status_code","ratio"]})");
  EXPECT_EQ(Body("/api/search/tag/service.name/values"), R"({"tagValues":["backend","frontend"]})");
  EXPECT_EQ(Body("/api/search/tags?scope=span&start=0"),
            R"({"tagNames":["cached","db.system","http.status_code","job.id","ratio"]})");
  EXPECT_EQ(Body("/api/search/tag/service.name/values?start=0"),
            R"({"tagValues":["archive","backend","frontend"]})");
}

TEST_F(TempoApiTest, TagValues) {
  ExpectGolden("tag_values_v1.json", Body("/api/search/tag/service.name/values"));
  EXPECT_EQ(Body("/api/search/tag/service.name/values"), R"({"tagValues":["backend","frontend"]})");
  EXPECT_EQ(Body("/api/search/tag/http.status_code/values"), R"({"tagValues":["200","500"]})");
  EXPECT_EQ(Body("/api/search/tag/nope/values"), R"({"tagValues":[]})");
  ExpectGolden("tag_values_v2.json", Body("/api/v2/search/tag/span.http.status_code/values"));
  EXPECT_EQ(Body("/api/v2/search/tag/span.http.status_code/values"),
            R"({"tagValues":[{"type":"int","value":"200"},{"type":"int","value":"500"}]})");
  EXPECT_EQ(
      Body("/api/v2/search/tag/resource.service.name/values"),
      R"({"tagValues":[{"type":"string","value":"backend"},{"type":"string","value":"frontend"}]})");
  EXPECT_EQ(Body("/api/v2/search/tag/.ratio/values"),
            R"({"tagValues":[{"type":"float","value":"0.5"}]})");
  EXPECT_EQ(Body("/api/v2/search/tag/span.cached/values"),
            R"({"tagValues":[{"type":"bool","value":"true"}]})");
  EXPECT_EQ(
      Body("/api/v2/search/tag/name/values"),
      R"({"tagValues":[{"type":"string","value":"GET /cart"},{"type":"string","value":"SELECT"}]})");
  EXPECT_EQ(
      Body("/api/v2/search/tag/status/values"),
      R"({"tagValues":[{"type":"keyword","value":"error"},{"type":"keyword","value":"unset"}]})");
  EXPECT_EQ(
      Body("/api/v2/search/tag/kind/values"),
      R"({"tagValues":[{"type":"keyword","value":"client"},{"type":"keyword","value":"server"}]})");
  // q= narrows by its pushed-down conditions.
  EXPECT_EQ(Body("/api/v2/search/tag/name/values?q=%7Bresource.service.name%3D%22backend%22%7D"),
            R"({"tagValues":[{"type":"string","value":"SELECT"}]})");
  EXPECT_EQ(Error400("/api/v2/search/tag/bogus/values"),
            "invalid tag name \"bogus\": expected resource.x, span.x, .x, name, status, "
            "statusMessage or kind");
  // An incomplete query, as Grafana sends while the user types, narrows nothing.
  EXPECT_EQ(Body("/api/v2/search/tag/name/values?q=%7Bresource.service.name%3D"),
            R"({"tagValues":[{"type":"string","value":"GET /cart"},)"
            R"({"type":"string","value":"SELECT"}]})");
}

}  // namespace
}  // namespace teletrace::api::tempo
