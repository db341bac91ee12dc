// The v1 handlers over a real SQLite store: routing, methods, error mapping and paging through the
// HTTP-shaped interface (the OTLP-to-API round trip with real SDKs is in tests/integration).
#include "api/teletrace_v1/teletrace_v1_api.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "storage/sqlite/sqlite_backend.h"

namespace teletrace::api::v1 {
namespace {

using nlohmann::json;

constexpr uint64_t kNow = 1'800'000'000'000'000'000;
constexpr uint64_t kBase = 1'700'000'000'000'000'000;

class TeletraceV1ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("teletrace-api-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto backend = storage::NewSqliteBackend({{"path", dir_.string()}, {"retention_max_age", "0"}});
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = std::move(*backend);
    api_ = std::make_unique<TeletraceV1Api>(backend_.get(), [] { return kNow; });
  }
  void TearDown() override {
    api_.reset();
    backend_.reset();
    std::filesystem::remove_all(dir_);
  }

  // One trace of `n` spans (span i starts at kBase + i ms and lasts i+1 µs), service "svc".
  void WriteTrace(uint8_t trace_byte, int n) {
    model::SpanBatch batch;
    auto& rs = batch.resource_spans.emplace_back();
    rs.resource.attributes = {{"service.name", "svc"}};
    auto& ss = rs.scope_spans.emplace_back();
    for (int i = 0; i < n; ++i) {
      model::Span s;
      s.trace_id.fill(trace_byte);
      s.span_id = {0, 0, 0, 0, 0, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i + 1)};
      s.name = "op" + std::to_string(i % 3);
      s.start_time_unix_nano = kBase + static_cast<uint64_t>(i) * 1'000'000;
      s.end_time_unix_nano = s.start_time_unix_nano + static_cast<uint64_t>(i + 1) * 1000;
      ss.spans.push_back(s);
    }
    ASSERT_TRUE(backend_->WriteSpans(std::move(batch), kNow).ok());
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

  std::filesystem::path dir_;
  std::unique_ptr<storage::Backend> backend_;
  std::unique_ptr<TeletraceV1Api> api_;
};

TEST_F(TeletraceV1ApiTest, PingAndSystemInfo) {
  HttpResponse ping = Call("GET", "/v1/ping");
  EXPECT_EQ(ping.status, 200);
  EXPECT_EQ(ping.body, "pong");
  EXPECT_EQ(ping.content_type, "text/plain; charset=utf-8");
  HttpResponse info = Call("GET", "/v1/system-info");
  ASSERT_EQ(info.status, 200);
  json parsed = json::parse(info.body);
  EXPECT_EQ(parsed.size(), 3u) << info.body;
  // Built without ingest ports here (the server passes the ports it bound): all 0, i.e. off.
  EXPECT_EQ(parsed["ingest"],
            json::parse(R"({"otlpGrpcPort":0,"otlpHttpPort":0,"zipkinPort":0})"));
  std::string id = parsed["systemId"];
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(json::parse(Call("GET", "/v1/system-info").body)["systemId"], id);
  // The version is the repository's VERSION file, the one place it is written.
  const char* source_dir = std::getenv("TELETRACE_SOURCE_DIR");
  ASSERT_NE(source_dir, nullptr);
  std::ifstream version_file(std::string(source_dir) + "/VERSION");
  std::string version;
  ASSERT_TRUE(std::getline(version_file, version));
  EXPECT_EQ(parsed["version"], version);
}

TEST_F(TeletraceV1ApiTest, UnknownRoutesAndWrongMethods) {
  HttpResponse r = Call("GET", "/v1/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"errorMessage":"unknown route GET /v1/nope"})");
  r = Call("GET", "/v1/search");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.body,
            R"x({"errorMessage":"method GET not allowed on /v1/search (use POST)"})x");
  EXPECT_EQ(Call("POST", "/v1/trace/0101").status, 405);
}

TEST_F(TeletraceV1ApiTest, TraceByIdWholeAndPaged) {
  WriteTrace(0x11, 25);
  HttpResponse r = Call("GET", "/v1/trace/11111111111111111111111111111111");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_TRUE(j["metadata"].is_null());
  ASSERT_EQ(j["spans"].size(), 25u);
  EXPECT_EQ(j["spans"][0]["span"]["startTimeUnixNano"].get<uint64_t>(), kBase);

  std::set<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    r = Call("GET", "/v1/trace/11111111111111111111111111111111", "",
             "pageSize=10" + (token.empty() ? "" : "&nextToken=" + token));
    ASSERT_EQ(r.status, 200) << r.body;
    j = json::parse(r.body);
    for (const auto& s : j["spans"]) EXPECT_TRUE(seen.insert(s["span"]["spanId"]).second);
    token = j["metadata"].is_null() ? "" : j["metadata"]["nextToken"].get<std::string>();
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen.size(), 25u);

  r = Call("GET", "/v1/trace/22222222222222222222222222222222");
  EXPECT_EQ(r.status, 404);
  r = Call("GET", "/v1/trace/xyz");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"errorMessage":"trace id must be 32 hex characters, got 3"})");
  r = Call("GET", "/v1/trace/11111111111111111111111111111111", "", "pageSize=0");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"errorMessage":"pageSize: must be between 1 and 100000, got 0"})");
  r = Call("GET", "/v1/trace/11111111111111111111111111111111", "", "pageSize=5&nextToken=zz");
  EXPECT_EQ(r.status, 400);
}

TEST_F(TeletraceV1ApiTest, SearchPagesByDurationWithoutRepeats) {
  WriteTrace(0x11, 7);
  WriteTrace(0x22, 7);
  std::vector<uint64_t> durations;
  std::set<std::string> seen;
  json next = nullptr;
  for (int page = 0; page < 10; ++page) {
    json body = {{"sort", {{{"field", "externalFields.durationNano"}, {"ascending", true}}}},
                 {"pageSize", 4}};
    if (!next.is_null()) body["metadata"] = next;
    HttpResponse r = Call("POST", "/v1/search", body.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body);
    for (const auto& s : j["spans"]) {
      durations.push_back(s["externalFields"]["durationNano"]);
      EXPECT_TRUE(seen.insert(std::string(s["span"]["traceId"]) + std::string(s["span"]["spanId"]))
                      .second);
    }
    next = j["metadata"];
    if (next.is_null()) break;
  }
  ASSERT_EQ(durations.size(), 14u);
  EXPECT_TRUE(std::is_sorted(durations.begin(), durations.end()));
  EXPECT_EQ(durations.front(), 1000u);
  EXPECT_EQ(durations.back(), 7000u);
}

TEST_F(TeletraceV1ApiTest, TagsValuesStatisticsAndHistograms) {
  WriteTrace(0x11, 6);
  HttpResponse r = Call("POST", "/v1/tags/span.name", R"({"limit":2})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body),
            json::parse(R"({"metadata":null,"values":[{"value":"op0","count":2},
                            {"value":"op1","count":2}],"totalDistinctValues":3})"));

  r = Call("POST", "/v1/tags/externalFields.durationNano/statistics",
           R"({"desiredStatistics":["min","max","avg"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body),
            json::parse(R"({"statistics":{"min":1000.0,"max":6000.0,"avg":3500.0}})"));

  r = Call("POST", "/v1/histograms",
           json({{"timeframe", {{"startTimeUnixNanoSec", kBase}, {"endTimeUnixNanoSec", kBase + 10'000'000}}},
                 {"interval", 2'000'000},
                 {"aggregations", {{"n", {{"func", "COUNT"}}}}}})
               .dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json h = json::parse(r.body)["histograms"][0];
  EXPECT_EQ(h["histogramLabel"], "n");
  ASSERT_EQ(h["buckets"].size(), 3u);
  EXPECT_EQ(h["buckets"][0]["bucketKey"].get<uint64_t>(), kBase);
  EXPECT_EQ(h["buckets"][0]["data"], 2);
  EXPECT_EQ(h["buckets"][2]["data"], 2);

  r = Call("GET", "/v1/tags");
  ASSERT_EQ(r.status, 200);
  bool found = false;
  json tags = json::parse(r.body);
  for (const auto& t : tags["Tags"]) {
    if (t["name"] == "resource.attributes.service.name") {
      found = true;
      EXPECT_EQ(t["type"], "Str");
    }
  }
  EXPECT_TRUE(found) << r.body;
  r = Call("GET", "/v1/tags", "", "startTimeUnixNanoSec=10&endTimeUnixNanoSec=5");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"errorMessage":"endTime cannot be smaller than startTime"})");
}

}  // namespace
}  // namespace teletrace::api::v1
