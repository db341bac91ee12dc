// The ClickHouse backend against a real clickhouse-server. The server tests (the conformance suite
// and the ones below) need TELETRACE_CLICKHOUSE_URL (e.g. http://127.0.0.1:18123) and skip without
// it; `ctest` runs this binary through tests/clickhouse/run_with_server.sh, which starts a
// throwaway server on loopback and sets the variable.
#include "storage/clickhouse/clickhouse_backend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <set>
#include <thread>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/ids.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "query/duration_sketch.h"
#include "query/engine.h"
#include "query/parse.h"
#include "query/percentile.h"
#include "query/values.h"
#include "storage/clickhouse/clickhouse_http.h"
#include "storage/clickhouse/query_sql.h"
#include "storage/clickhouse/row_binary.h"
#include "storage/clickhouse/server_version.h"
#include "storage/clickhouse/sql_literal.h"
#include "storage/testing/conformance_suite.h"

namespace teletrace::storage::clickhouse {
namespace {

using model::AnyValue;
using model::StoredSpan;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kSkipReason[] =
    "TELETRACE_CLICKHOUSE_URL is not set: run through tests/clickhouse/run_with_server.sh (ctest "
    "does) to test against a real clickhouse-server";

std::string ServerUrl() {
  const char* url = std::getenv("TELETRACE_CLICKHOUSE_URL");
  return url == nullptr ? "" : url;
}

// Every database this process creates, dropped when it ends.
std::vector<std::string>& CreatedDatabases() {
  static std::vector<std::string> names;
  return names;
}

std::string NewDatabaseName() {
  static std::atomic<int> counter{0};
  std::string name = fmt::format("tt_test_{}_{}", getpid(), counter++);
  CreatedDatabases().push_back(name);
  return name;
}

ClickHouseHttp& Admin() {
  static ClickHouseHttp* http = [] {
    HttpOptions options;
    options.endpoints = {ServerUrl()};
    return new ClickHouseHttp(options);
  }();
  return *http;
}

class DropTestDatabases : public ::testing::Environment {
 public:
  void TearDown() override {
    if (ServerUrl().empty()) return;
    // A throwaway server is deleted whole; dropping tables right after many small inserts makes
    // 18.16 wait for their merges, which takes longer than the tests.
    if (std::getenv("TELETRACE_CLICKHOUSE_THROWAWAY") != nullptr) return;
    for (const std::string& db : CreatedDatabases()) {
      absl::StatusOr<std::string> r =
          Admin().Execute(fmt::format("DROP DATABASE IF EXISTS {}", db), {}, "drop test database");
      EXPECT_TRUE(r.ok()) << r.status();
    }
  }
};
::testing::Environment* const kDropTestDatabases =
    ::testing::AddGlobalTestEnvironment(new DropTestDatabases);

BackendSettings TestSettings(BackendSettings extra = {}) {
  BackendSettings s = {{"endpoints", ServerUrl()},
                       {"database", NewDatabaseName()},
                       {"flush_interval", "0"}};
  for (auto& [k, v] : extra) s[k] = v;
  return s;
}

std::unique_ptr<Backend> MustOpen(BackendSettings settings) {
  absl::StatusOr<std::unique_ptr<Backend>> backend = NewClickHouseBackend(settings);
  EXPECT_TRUE(backend.ok()) << backend.status();
  return backend.ok() ? std::move(*backend) : nullptr;
}

std::vector<testing::StorageFactory> Factories() {
  if (ServerUrl().empty()) return {};
  return {testing::StorageFactory([] { return MustOpen(TestSettings()); }),
          // Small inserts and a flush interval: large writes are split, small ones grouped.
          testing::StorageFactory([] {
            return MustOpen(
                TestSettings({{"insert_batch_spans", "40"}, {"flush_interval", "5ms"}}));
          })};
}

using testing::StorageConformance;
INSTANTIATE_TEST_SUITE_P(ClickHouse, StorageConformance, ::testing::ValuesIn(Factories()),
                         [](const ::testing::TestParamInfo<testing::StorageFactory>& info) {
                           return info.index == 0 ? std::string("Default")
                                                  : std::string("SmallInserts");
                         });
// Without a server the suite has no instance; ServerAvailable below says why.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StorageConformance);

#define REQUIRE_SERVER()                                   \
  do {                                                     \
    if (ServerUrl().empty()) GTEST_SKIP() << kSkipReason;  \
  } while (0)

TEST(ClickHouseServerTest, ServerAvailable) {
  REQUIRE_SERVER();
  absl::StatusOr<ServerVersion> version = DetectServerVersion(Admin());
  ASSERT_TRUE(version.ok()) << version.status();
  std::cerr << "clickhouse-server " << version->ToString() << "\n";
}

// ---------------------------------------------------------------------------------------------
// The escaping function against the real parser: every byte value round-trips.

TEST(ClickHouseServerTest, SqlStringRoundTripsEveryByte) {
  REQUIRE_SERVER();
  std::vector<std::string> values = {"", "'", "\\", "\\'", "''", "x' OR '1'='1", "a\\nb",
                                     std::string("\0\0", 2), "\xff\xfe", "caf\xc3\xa9"};
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  values.push_back(all);
  for (const std::string& v : values) {
    absl::StatusOr<std::string> body = Admin().Execute(
        fmt::format("SELECT {} FORMAT RowBinary", SqlString(v)), {}, "round trip");
    ASSERT_TRUE(body.ok()) << body.status();
    RowBinaryReader r(*body);
    absl::StatusOr<std::string_view> back = r.String();
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(std::string(*back), v);
    EXPECT_TRUE(r.AtEnd());
  }
  for (double d : {0.1, -0.0, 1e308, 5e-324, std::numeric_limits<double>::infinity()}) {
    absl::StatusOr<std::string> body =
        Admin().Execute(fmt::format("SELECT {} FORMAT RowBinary", SqlDouble(d)), {}, "double");
    ASSERT_TRUE(body.ok()) << body.status();
    RowBinaryReader r(*body);
    absl::StatusOr<double> back = r.Float64();
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(std::signbit(*back), std::signbit(d));
    EXPECT_EQ(*back, d);
  }
  absl::StatusOr<std::string> body = Admin().Execute(
      fmt::format("SELECT {} FORMAT RowBinary", SqlInt(std::numeric_limits<int64_t>::min())), {},
      "int64 min");
  ASSERT_TRUE(body.ok()) << body.status();
  RowBinaryReader r(*body);
  EXPECT_EQ(*r.Int64(), std::numeric_limits<int64_t>::min());
}

// ---------------------------------------------------------------------------------------------
// Random data and filters, answered by ClickHouse and by the scan engine (query/engine.h): both
// must agree exactly. This covers value types, arrays, events, links and negation far beyond
// the conformance corpus.

model::SpanBatch RandomBatch(std::mt19937& rng, int spans, uint64_t t0) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::vector<AnyValue> scalars = {
      AnyValue("a"),        AnyValue("ab"),           AnyValue(""),
      AnyValue("B'\\x"),    AnyValue(int64_t{-2}),    AnyValue(int64_t{1}),
      AnyValue(int64_t{3}), AnyValue(INT64_MAX),      AnyValue(INT64_MIN),
      AnyValue(0.5),        AnyValue(1.0),            AnyValue(-0.0),
      AnyValue(2.5),        AnyValue(std::nan("")),   AnyValue(true),
      AnyValue(false),      AnyValue(model::Bytes{"a"}), AnyValue()};
  auto random_value = [&]() -> AnyValue {
    int k = pick(10);
    if (k == 0) {
      model::ArrayValue a;
      for (int i = pick(3); i >= 0; --i) {
        a.push_back(scalars[pick(static_cast<int>(scalars.size()))]);
      }
      return AnyValue(a);
    }
    if (k == 1) return AnyValue(model::KeyValueList{{"n", AnyValue(int64_t{1})}});
    return scalars[pick(static_cast<int>(scalars.size()))];
  };
  const std::vector<std::string> keys = {"k", "x.y", "n"};
  auto random_attributes = [&]() {
    model::KeyValueList out;
    for (int i = pick(4); i > 0; --i) out.push_back({keys[pick(3)], random_value()});
    return out;
  };
  model::SpanBatch batch;
  for (int r = 0; r < 3; ++r) {
    model::ResourceSpans& rs = batch.resource_spans.emplace_back();
    rs.resource.attributes = random_attributes();
    rs.resource.attributes.push_back({"service.name", AnyValue(fmt::format("svc{}", r))});
    for (int sc = 0; sc < 2; ++sc) {
      model::ScopeSpans& ss = rs.scope_spans.emplace_back();
      ss.scope.name = fmt::format("lib{}", sc);
      ss.scope.version = sc == 0 ? "1" : "";
      ss.scope.attributes = random_attributes();
    }
  }
  for (int i = 0; i < spans; ++i) {
    model::Span s;
    s.trace_id.fill(static_cast<uint8_t>(i % 7 + 1));
    s.span_id.fill(static_cast<uint8_t>(i / 256));
    s.span_id[7] = static_cast<uint8_t>(i);
    if (pick(2) == 0) s.parent_span_id[7] = static_cast<uint8_t>(pick(spans));
    s.name = fmt::format("op{}", pick(4));
    s.kind = static_cast<model::SpanKind>(pick(6));
    s.status.code = static_cast<model::StatusCode>(pick(3));
    s.status.message = pick(3) == 0 ? "boom" : "";
    s.start_time_unix_nano = t0 + static_cast<uint64_t>(pick(100)) * 1000000;
    s.end_time_unix_nano = s.start_time_unix_nano + static_cast<uint64_t>(pick(5)) * 1000;
    s.attributes = random_attributes();
    for (int e = pick(3); e > 0; --e) {
      s.events.push_back(model::Event{s.start_time_unix_nano, fmt::format("ev{}", pick(2)),
                                      random_attributes(), 0});
    }
    for (int l = pick(2); l > 0; --l) {
      model::Link link;
      link.trace_id.fill(static_cast<uint8_t>(pick(3) + 1));
      link.span_id[7] = static_cast<uint8_t>(pick(4));
      link.attributes = random_attributes();
      s.links.push_back(link);
    }
    batch.resource_spans[static_cast<size_t>(pick(3))]
        .scope_spans[static_cast<size_t>(pick(2))]
        .spans.push_back(s);
  }
  return batch;
}

std::vector<std::string> AllKeyTexts() {
  std::vector<std::string> out;
  for (const char* level : {"resource.attributes.", "scope.attributes.", "span.attributes.",
                            "span.events.attributes.", "span.links.attributes."}) {
    for (const char* k : {"k", "x.y", "n", "absent"}) out.push_back(fmt::format("{}{}", level, k));
  }
  for (const char* k : {"span.name", "span.kind", "span.status.code", "span.status.message",
                        "span.traceId", "span.spanId", "span.parentSpanId", "scope.name",
                        "scope.version", "span.events.name", "span.links.traceId",
                        "span.links.spanId", "externalFields.durationNano",
                        "span.startTimeUnixNano"}) {
    out.push_back(k);
  }
  return out;
}

std::vector<query::Scalar> OperandPool(uint64_t t0) {
  return {query::Scalar(std::string("a")), query::Scalar(std::string("b")),
          query::Scalar(std::string("")), query::Scalar(std::string("op1")),
          query::Scalar(std::string("Client")), query::Scalar(std::string("Error")),
          query::Scalar(std::string("0707")), query::Scalar(std::string("ev1")),
          query::Scalar(std::string("01010101010101010101010101010101")),
          query::Scalar(int64_t{1}), query::Scalar(int64_t{-2}), query::Scalar(int64_t{3}),
          query::Scalar(INT64_MAX), query::Scalar(1.0), query::Scalar(1.5), query::Scalar(-0.0),
          query::Scalar(0.49), query::Scalar(-1e300), query::Scalar(1e300), query::Scalar(true),
          query::Scalar(false), query::Scalar(static_cast<int64_t>(t0 + 50000000)),
          query::Scalar(int64_t{2000}), query::Scalar(int64_t{2})};
}

std::vector<int> Indexes(const std::vector<StoredSpan>& spans) {
  std::vector<int> out;
  for (const StoredSpan& s : spans) out.push_back(s.span.span_id[7] + 256 * s.span.span_id[0]);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ClickHouseServerTest, RandomFiltersMatchTheScanEngine) {
  REQUIRE_SERVER();
  std::unique_ptr<Backend> backend = MustOpen(TestSettings());
  ASSERT_NE(backend, nullptr);
  std::mt19937 rng(20240601);
  const uint64_t t0 = 1700000000000000000ULL;
  model::SpanBatch batch = RandomBatch(rng, 300, t0);
  std::vector<StoredSpan> spans = model::Flatten(batch, 7);
  ASSERT_TRUE(backend->WriteSpans(batch, 7).ok());

  // Dependencies pushed down (one JOIN) against the contract's generic answer over Search.
  int with_edges = 0;
  for (int round = 0; round < 20; ++round) {
    const uint64_t a = t0 + rng() % 101 * 1000000, b = t0 + rng() % 101 * 1000000;
    query::DependenciesQuery dq{{std::min(a, b), std::max(a, b)},
                                round % 4 == 0 ? fmt::format("svc{}", rng() % 3) : "",
                                1'000'000};
    if (round == 0) dq.range = {0, UINT64_MAX};
    absl::StatusOr<query::DependenciesResult> got = backend->Dependencies(dq);
    absl::StatusOr<query::DependenciesResult> want = backend->Backend::Dependencies(dq);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(want.ok()) << want.status();
    EXPECT_EQ(*got, *want) << "round " << round;
    if (!got->edges.empty()) ++with_edges;
  }
  EXPECT_GE(with_edges, 10);

  const std::vector<std::string> keys = AllKeyTexts();
  const std::vector<query::Scalar> operands = OperandPool(t0);
  int checked = 0;
  for (int round = 0; round < 2000 && checked < 160; ++round) {
    absl::StatusOr<query::Key> key = query::ParseKey(keys[rng() % keys.size()], "k");
    ASSERT_TRUE(key.ok()) << key.status();
    query::Filter f;
    f.key = *key;
    f.op = static_cast<query::Operator>(rng() % 12);
    if (f.op == query::Operator::kIn || f.op == query::Operator::kNotIn) {
      for (int i = static_cast<int>(rng() % 3); i >= 0; --i) {
        f.values.push_back(operands[rng() % operands.size()]);
      }
    } else if (f.op != query::Operator::kExists && f.op != query::Operator::kNotExists) {
      f.value = operands[rng() % operands.size()];
    }
    if (!query::ValidateFilter(f, "f").ok()) continue;
    ++checked;
    query::SpanMatcher matcher({f});
    std::vector<StoredSpan> want;
    for (const StoredSpan& s : spans) {
      if (matcher.Matches(s)) want.push_back(s);
    }
    query::SearchQuery q;
    q.filters = {f};
    q.page_size = 1000;
    absl::StatusOr<query::SearchResult> got = backend->Search(q);
    ASSERT_TRUE(got.ok()) << got.status();
    std::string operand_text;
    for (const query::Scalar& s : f.value ? std::vector<query::Scalar>{*f.value} : f.values) {
      std::visit([&](const auto& v) { operand_text += fmt::format("{} ", v); }, s);
    }
    EXPECT_EQ(Indexes(got->spans), Indexes(want))
        << f.key.text << " " << query::OperatorName(f.op) << " " << operand_text;
  }
  EXPECT_EQ(checked, 160);

  // Aggregations over the same data, with a filter.
  query::Filter kind_filter{*query::ParseKey("span.kind", "k"), query::Operator::kNotEquals,
                            query::Scalar(std::string("Server")), {}};
  ASSERT_TRUE(query::ValidateFilter(kind_filter, "f").ok());
  const query::TimeRange range{t0 + 10000000, t0 + 80000000};
  for (size_t k = 0; k < keys.size(); k += 3) {  // a third of the keys: every level and type
    const std::string& key_text = keys[k];
    SCOPED_TRACE(key_text);
    query::Key key = *query::ParseKey(key_text, "k");
    query::TagValuesQuery tv{key, range, {kind_filter}, 0};
    query::TagValuesCollector tv_collector(tv);
    for (const StoredSpan& s : spans) tv_collector.Add(s);
    query::TagValuesResult want_tv = std::move(tv_collector).Finish();
    absl::StatusOr<query::TagValuesResult> got_tv = backend->TagValues(tv);
    ASSERT_TRUE(got_tv.ok()) << got_tv.status();
    ASSERT_EQ(got_tv->values.size(), want_tv.values.size());
    for (size_t i = 0; i < want_tv.values.size(); ++i) {
      EXPECT_EQ(query::CompareTagValues(got_tv->values[i].value, want_tv.values[i].value), 0) << i;
      EXPECT_EQ(got_tv->values[i].count, want_tv.values[i].count) << i;
    }
    EXPECT_EQ(got_tv->total_distinct, want_tv.total_distinct);

    query::StatisticsQuery sq{key, range, {kind_filter}, {}};
    for (const char* name : {"min", "max", "count", "sum", "avg", "p50", "p90", "p99.9"}) {
      sq.wanted.push_back(*query::ParseStatistic(name, "s"));
    }
    query::StatisticsCollector st_collector(sq);
    for (const StoredSpan& s : spans) st_collector.Add(s);
    query::StatisticsResult want_st = std::move(st_collector).Finish();
    absl::StatusOr<query::StatisticsResult> got_st = backend->Statistics(sq);
    ASSERT_TRUE(got_st.ok()) << got_st.status();
    ASSERT_EQ(got_st->size(), want_st.size());
    // Sums that mix int64 extremes with small values depend on the order of addition, which
    // neither side fixes; compare them only when every value is exact in a double.
    const bool exact_sums = want_st.empty() || (std::fabs(want_st.at("min")) < 9007199254740992.0 &&
                                                std::fabs(want_st.at("max")) < 9007199254740992.0);
    for (const auto& [name, value] : want_st) {
      ASSERT_TRUE(got_st->contains(name)) << name;
      if ((name == "sum" || name == "avg") && !exact_sums) continue;
      EXPECT_EQ(got_st->at(name), value) << name;
    }

    query::HistogramQuery hq;
    hq.range = range;
    hq.filters = {kind_filter};
    hq.interval_nano = 7000000;
    hq.aggregations = {
        {"g", query::AggregationFunc::kCount, std::nullopt, key, 3, {}, {}},
        {"d", query::AggregationFunc::kDistinctCount, key, std::nullopt, 10, {}, {}},
        {"p", query::AggregationFunc::kPercentiles, key, std::nullopt, 10, {50, 99.5}, {}},
        {"r", query::AggregationFunc::kRangeCount, key, std::nullopt, 10, {},
         {-1e6, -1, 0, 0.5, 3, 1e3, 1e9}},
        {"pg", query::AggregationFunc::kPercentiles, key, *query::ParseKey("span.name", "k"), 3, {50, 90}, {}},
        {"gp", query::AggregationFunc::kPercentiles,
         *query::ParseKey("externalFields.durationNano", "k"), key, 4,
         {25, 99}, {}},
    };
    query::HistogramCollector h_collector(hq);
    for (const StoredSpan& s : spans) h_collector.Add(s);
    query::HistogramResult want_h = std::move(h_collector).Finish();
    absl::StatusOr<query::HistogramResult> got_h = backend->Histograms(hq);
    ASSERT_TRUE(got_h.ok()) << got_h.status();
    ASSERT_EQ(got_h->size(), want_h.size());
    for (size_t h = 0; h < want_h.size(); ++h) {
      ASSERT_EQ((*got_h)[h].buckets.size(), want_h[h].buckets.size()) << h;
      for (size_t b = 0; b < want_h[h].buckets.size(); ++b) {
        const auto& gb = (*got_h)[h].buckets[b];
        const auto& wb = want_h[h].buckets[b];
        EXPECT_EQ(gb.bucket_key, wb.bucket_key);
        if (const auto* grouped = std::get_if<query::GroupedCount>(&wb.data)) {
          const auto& g = std::get<query::GroupedCount>(gb.data);
          EXPECT_EQ(g.total_count, grouped->total_count);
          ASSERT_EQ(g.sub_buckets.size(), grouped->sub_buckets.size()) << h << " " << b;
          for (size_t i = 0; i < g.sub_buckets.size(); ++i) {
            EXPECT_EQ(query::CompareTagValues(g.sub_buckets[i].key, grouped->sub_buckets[i].key),
                      0);
            EXPECT_EQ(g.sub_buckets[i].count, grouped->sub_buckets[i].count);
          }
        } else if (const auto* per_group = std::get_if<query::GroupedPercentiles>(&wb.data)) {
          const auto& g = std::get<query::GroupedPercentiles>(gb.data);
          EXPECT_EQ(g.total_count, per_group->total_count);
          ASSERT_EQ(g.groups.size(), per_group->groups.size()) << h << " " << b;
          for (size_t i = 0; i < g.groups.size(); ++i) {
            EXPECT_EQ(query::CompareTagValues(g.groups[i].key, per_group->groups[i].key), 0);
            EXPECT_EQ(g.groups[i].count, per_group->groups[i].count);
            EXPECT_EQ(g.groups[i].percentiles, per_group->groups[i].percentiles) << h << " " << b;
          }
        } else if (const auto* count = std::get_if<uint64_t>(&wb.data)) {
          EXPECT_EQ(std::get<uint64_t>(gb.data), *count) << h << " " << b;
        } else {
          using Percentiles = std::map<std::string, double>;
          EXPECT_EQ(std::get<Percentiles>(gb.data), std::get<Percentiles>(wb.data))
              << h << " " << b;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Availability, failover, credentials.

model::SpanBatch OneSpan(uint8_t trace, uint8_t span, uint64_t start) {
  model::SpanBatch batch;
  model::Span s;
  s.trace_id.fill(trace);
  s.span_id.fill(span);
  s.name = "op";
  s.start_time_unix_nano = start;
  s.end_time_unix_nano = start + 1000;
  batch.resource_spans.emplace_back().scope_spans.emplace_back().spans.push_back(s);
  batch.resource_spans[0].resource.attributes = {{"service.name", AnyValue("svc")}};
  return batch;
}

TEST(ClickHouseServerTest, UnreachableServerIsUnavailable) {
  // Port 9 (discard) is closed on loopback in any test environment we run in.
  absl::StatusOr<std::unique_ptr<Backend>> backend = NewClickHouseBackend(
      {{"endpoints", "http://127.0.0.1:9"}, {"database", "tt_unreachable"}});
  ASSERT_TRUE(backend.ok()) << backend.status();
  absl::Status write = (*backend)->WriteSpans(OneSpan(1, 1, NowUnixNano()), NowUnixNano());
  EXPECT_EQ(write.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(write.message()), HasSubstr("clickhouse: "));
  EXPECT_THAT(std::string(write.message()), HasSubstr("http://127.0.0.1:9"));
  absl::StatusOr<query::SearchResult> search = (*backend)->Search(query::SearchQuery{});
  EXPECT_EQ(search.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*backend)->DiskBytes(), 0u);
}

TEST(ClickHouseServerTest, FailsOverToTheNextEndpoint) {
  REQUIRE_SERVER();
  std::unique_ptr<Backend> backend =
      MustOpen(TestSettings({{"endpoints", "http://127.0.0.1:9," + ServerUrl()}}));
  ASSERT_NE(backend, nullptr);
  const uint64_t now = NowUnixNano();
  ASSERT_TRUE(backend->WriteSpans(OneSpan(3, 4, now), now).ok());
  TraceId id;
  id.fill(3);
  absl::StatusOr<query::TraceResult> trace = backend->GetTrace({id, 0, std::nullopt});
  ASSERT_TRUE(trace.ok()) << trace.status();
  EXPECT_EQ(trace->spans.size(), 1u);
}

TEST(ClickHouseServerTest, CredentialsAreSentAndChecked) {
  REQUIRE_SERVER();
  // tests/clickhouse/clickhouse_server.sh creates user "teletrace" with this password.
  std::unique_ptr<Backend> backend =
      MustOpen(TestSettings({{"user", "teletrace"}, {"password", "s3cret 'quoted'"}}));
  ASSERT_NE(backend, nullptr);
  EXPECT_TRUE(backend->SystemId().ok());
  absl::StatusOr<std::unique_ptr<Backend>> wrong =
      NewClickHouseBackend(TestSettings({{"user", "teletrace"}, {"password", "nope"}}));
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kPermissionDenied);
  // Each release's own answer to a wrong password, exactly: 18.x says 401 with Code 193
  // (WRONG_PASSWORD); current releases say 403 with Code 516 (AUTHENTICATION_FAILED), not telling
  // an unknown user from a wrong password.
  absl::StatusOr<ServerVersion> version = DetectServerVersion(Admin());
  ASSERT_TRUE(version.ok()) << version.status();
  std::string expected;
  if (!version->AtLeast(19, 0)) {
    expected = "(HTTP 401): Code: 193, e.displayText() = DB::Exception: Wrong password for user "
               "teletrace";
  } else if (version->AtLeast(24, 8)) {
    expected = "(HTTP 403): Code: 516. DB::Exception: teletrace: Authentication failed: password "
               "is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)";
  } else {
    GTEST_SKIP() << "no recorded answer to a wrong password for ClickHouse "
                 << version->ToString() << " (18.x and 24.8+ are tested)";
  }
  EXPECT_THAT(std::string(wrong.status().message()),
              ::testing::StartsWith(fmt::format("clickhouse: read server version: {} {}",
                                                ServerUrl(), expected)));
}

TEST(ClickHouseServerTest, SchemaUsesLowCardinalityOnEveryRelease) {
  REQUIRE_SERVER();
  // Start-up sends the release only the settings it knows (current releases refuse 18.x's
  // allow_experimental_low_cardinality_type), and every release gets LowCardinality columns.
  BackendSettings settings = TestSettings();
  std::unique_ptr<Backend> backend = MustOpen(settings);
  ASSERT_NE(backend, nullptr);
  absl::StatusOr<std::string> types = Admin().Execute(
      fmt::format("SELECT name, type FROM system.columns WHERE database = {} AND table = 'spans' "
                  "AND name IN ('service_name', 'scope_version') ORDER BY name FORMAT "
                  "TabSeparated",
                  SqlString(settings["database"])),
      {}, "column types");
  ASSERT_TRUE(types.ok()) << types.status();
  EXPECT_EQ(*types,
            "scope_version\tLowCardinality(String)\nservice_name\tLowCardinality(String)\n");
}

uint64_t CountSpans(Backend& backend);

// Merges database `db`'s spans table into one part. OPTIMIZE does nothing, and says nothing, while
// a background merge holds some of the parts: it is asked again until system.parts shows one.
absl::Status MergeSpansToOnePart(const std::string& db) {
  std::string parts;
  for (int attempt = 0; attempt < 200 && parts != "1\n"; ++attempt) {  // 20 s: a loaded machine
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    RETURN_IF_ERROR(
        Admin().Execute(fmt::format("OPTIMIZE TABLE {}.spans FINAL", db), {}, "merge").status());
    ASSIGN_OR_RETURN(parts, Admin().Execute(fmt::format("SELECT count() FROM system.parts WHERE "
                                                        "database = {} AND table = 'spans' AND "
                                                        "active FORMAT TabSeparated",
                                                        SqlString(db)),
                                            {}, "parts"));
  }
  if (parts != "1\n") return absl::InternalError("spans still in several parts: " + parts);
  return absl::OkStatus();
}

// Whether the server keeps system.query_log: 18.16 does; chdb's embedded engine does not (its
// statements are the same on every release). A failed version query fails the test.
bool KeepsQueryLog() {
  absl::StatusOr<std::string> version = Admin().Execute("SELECT version()", {}, "version");
  EXPECT_TRUE(version.ok()) << version.status();
  return version.ok() && absl::StartsWith(*version, "18.");
}

// The rows read by each finished statement containing `needle`, from system.query_log
// (clickhouse_server.sh's `logged` user logs its queries). The server queues a statement's finish
// entry after it has sent the answer, so a flush right after the answer can miss it: the log is
// asked again, for up to 10 s, until `expected` statements are there, then once more 300 ms
// later in case more come.
absl::StatusOr<std::vector<std::string>> LoggedReadRows(std::string_view needle,
                                                        size_t expected) {
  auto ask = [&]() -> absl::StatusOr<std::vector<std::string>> {
    RETURN_IF_ERROR(Admin().Execute("SYSTEM FLUSH LOGS", {}, "flush logs").status());
    ASSIGN_OR_RETURN(std::string body,
                     Admin().Execute(fmt::format("SELECT read_rows FROM system.query_log WHERE "
                                                 "type = 2 AND position(query, {}) > 0 FORMAT "
                                                 "TabSeparated",
                                                 SqlString(needle)),
                                     {}, "query log"));
    return std::vector<std::string>(absl::StrSplit(body, '\n', absl::SkipEmpty()));
  };
  ASSIGN_OR_RETURN(std::vector<std::string> rows, ask());
  for (int attempt = 0; attempt < 100 && rows.size() < expected; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSIGN_OR_RETURN(rows, ask());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  return ask();
}

// The rows ClickHouse read for the one finished statement containing `needle`.
absl::StatusOr<uint64_t> RowsReadBy(std::string_view needle) {
  ASSIGN_OR_RETURN(std::vector<std::string> rows, LoggedReadRows(needle, 1));
  if (rows.size() != 1) {
    return absl::NotFoundError(fmt::format("{} logged statements contain {}", rows.size(), needle));
  }
  uint64_t n = 0;
  if (!absl::SimpleAtoi(rows[0], &n)) return absl::InternalError("read_rows: " + rows[0]);
  return n;
}

// How many finished statements contain `needle`, once at least `expected` do (LoggedReadRows).
absl::StatusOr<size_t> StatementsLogged(std::string_view needle, size_t expected) {
  ASSIGN_OR_RETURN(std::vector<std::string> rows, LoggedReadRows(needle, expected));
  return rows.size();
}

TEST(ClickHouseServerTest, TracesAndSearchPagesReadOnlyTheirTimeRange) {
  REQUIRE_SERVER();
  if (!KeepsQueryLog()) {
    GTEST_SKIP() << "rows read are counted from system.query_log, which chdb does not keep";
  }
  BackendSettings settings = TestSettings({{"user", "logged"}});
  std::unique_ptr<Backend> backend = MustOpen(settings);
  ASSERT_NE(backend, nullptr);
  // 500 traces of 100 spans over 5 services and 20 operations, trace k's spans within one second
  // starting k * 6 s into an hour: 50,000 spans in six granules of 8,192 rows, written in time
  // order, 25 traces per write.
  constexpr int kTraces = 500, kSpansPerTrace = 100, kServices = 5, kGranule = 8192;
  const uint64_t hour = (NowUnixNano() / 3600'000'000'000 - 2) * 3600'000'000'000;
  auto trace_id = [](int k) {
    TraceId id{};
    id[0] = 0x7e;
    id[14] = static_cast<uint8_t>(k >> 8);
    id[15] = static_cast<uint8_t>(k);
    return id;
  };
  for (int k = 0; k < kTraces; k += 25) {
    model::SpanBatch batch;
    for (int r = 0; r < kServices; ++r) {
      batch.resource_spans.emplace_back().resource.attributes = {
          {"service.name", AnyValue(fmt::format("svc{}", r))}};
      batch.resource_spans.back().scope_spans.emplace_back();
    }
    for (int t = k; t < k + 25; ++t) {
      for (int i = 0; i < kSpansPerTrace; ++i) {
        model::Span s;
        s.trace_id = trace_id(t);
        s.span_id[6] = static_cast<uint8_t>(i >> 8);
        s.span_id[7] = static_cast<uint8_t>(i + 1);
        s.name = fmt::format("op{}", i % 20);
        s.start_time_unix_nano = hour + uint64_t(t) * 6'000'000'000 + uint64_t(i) * 10'000'000;
        s.end_time_unix_nano = s.start_time_unix_nano + 1000;
        batch.resource_spans[i % kServices].scope_spans[0].spans.push_back(s);
      }
    }
    ASSERT_TRUE(backend->WriteSpans(batch, hour).ok());
  }
  ASSERT_EQ(CountSpans(*backend), uint64_t{kTraces} * kSpansPerTrace);
  // One part, so the bounds below are per table, not per part: each part's last granule is read
  // by any range past its first row (the index keeps granules' first keys only).
  absl::Status merged = MergeSpansToOnePart(settings["database"]);
  ASSERT_TRUE(merged.ok()) << merged;

  query::TraceQuery tq;
  tq.trace_id = trace_id(250);
  absl::StatusOr<query::TraceResult> trace = backend->GetTrace(tq);
  ASSERT_TRUE(trace.ok()) << trace.status();
  EXPECT_EQ(trace->spans.size(), size_t{kSpansPerTrace});
  absl::StatusOr<uint64_t> rows =
      RowsReadBy(fmt::format("PREWHERE trace_id = {}", SqlBytes(IdBytes(tq.trace_id))));
  ASSERT_TRUE(rows.ok()) << rows.status();
  // At most the two granules the trace's second may straddle, of the 50,000 rows (ordered by
  // service and operation first, as before 2026-12-07, it read every granule of the hour).
  EXPECT_GE(*rows, uint64_t{kSpansPerTrace});
  EXPECT_LE(*rows, uint64_t{2 * kGranule});

  query::SearchQuery sq;
  sq.range = {hour, hour + 3600'000'000'000};
  sq.page_size = 20;
  absl::StatusOr<query::SearchResult> page = backend->Search(sq);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->spans.size(), 20u);
  EXPECT_EQ(page->spans[0].span.trace_id, trace_id(kTraces - 1));
  // The page's spans read by id: the granules of the page's time range only.
  rows = RowsReadBy(fmt::format("PREWHERE trace_id IN ({})",
                                SqlBytes(IdBytes(trace_id(kTraces - 1)))));
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_GE(*rows, 20u);
  EXPECT_LE(*rows, uint64_t{2 * kGranule});

  // A filtered page, newest first: the newest 64th of the range is asked first, and it holds more
  // than a page (trace 499's 20 spans of svc1, then trace 498's).
  sq.range = {hour, hour + 3001'000'000'000};
  sq.filters = {testing::FilterOf("resource.attributes.service.name", query::Operator::kEquals,
                                  std::string("svc1"))};
  page = backend->Search(sq);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->spans.size(), 20u);
  EXPECT_TRUE(page->next.has_value());
  for (size_t i = 0; i < page->spans.size(); ++i) {
    EXPECT_EQ(page->spans[i].span.trace_id, trace_id(kTraces - 1));
    EXPECT_EQ(page->spans[i].span.span_id[7], 100 - 5 * i - 3) << i;  // i = 96, 91, ..., 1
  }
  rows = RowsReadBy(fmt::format("start_time_unix_nano >= {}",
                                hour + 3001'000'000'000 - 3001'000'000'000 / 64));
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_LE(*rows, uint64_t{2 * kGranule});
}

TEST(ClickHouseServerTest, PagesByStartTimeJoinTheSlicesInOrder) {
  REQUIRE_SERVER();
  std::unique_ptr<Backend> backend = MustOpen(TestSettings());
  ASSERT_NE(backend, nullptr);
  // A range of 64,000 ns read in slices from its sorted end: newest first, [63,000, 64,000], then
  // [56,000, 62,999], then the rest; oldest first, [0, 1,000], then [1,001, 8,000], then the rest
  // (offsets from t). Spans sit on both sides of each boundary.
  const uint64_t t = NowUnixNano() - 600'000'000'000;
  std::vector<uint64_t> starts = {63'000, 62'999, 56'000, 55'999, 8'001, 8'000};
  for (uint64_t i = 0; i < 5; ++i) starts.push_back(63'500 + i);
  for (uint64_t i = 0; i < 10; ++i) starts.push_back(60'000 + i);
  for (uint64_t i = 0; i < 20; ++i) starts.push_back(1'000 + i);
  model::SpanBatch batch;
  std::vector<model::Span>& spans =
      batch.resource_spans.emplace_back().scope_spans.emplace_back().spans;
  for (size_t i = 0; i < starts.size(); ++i) {
    model::Span& s = spans.emplace_back();
    s.trace_id.fill(0x42);
    s.span_id[7] = static_cast<uint8_t>(i + 1);
    s.name = "op";
    s.start_time_unix_nano = t + starts[i];
    s.end_time_unix_nano = t + starts[i] + 1;
  }
  ASSERT_TRUE(backend->WriteSpans(batch, t).ok());

  // Every page's start offsets, following the cursors to the end.
  auto pages = [&](query::SearchQuery q) {
    std::vector<std::vector<uint64_t>> out;
    for (int n = 0; n < 10; ++n) {
      absl::StatusOr<query::SearchResult> page = backend->Search(q);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      out.emplace_back();
      for (const model::StoredSpan& s : page->spans) {
        out.back().push_back(s.span.start_time_unix_nano - t);
      }
      if (!page->next.has_value()) break;
      q.after = page->next;
    }
    return out;
  };
  query::SearchQuery q;
  q.range = {t, t + 64'000};
  q.page_size = 20;
  std::sort(starts.begin(), starts.end(), std::greater<>());
  std::vector<std::vector<uint64_t>> newest = pages(q);
  ASSERT_EQ(newest.size(), 3u);
  // The first page: the newest slice's 6, the next slice's 12, the rest's newest 2.
  EXPECT_EQ(newest[0], std::vector<uint64_t>(starts.begin(), starts.begin() + 20));
  EXPECT_EQ(newest[1], std::vector<uint64_t>(starts.begin() + 20, starts.begin() + 40));
  EXPECT_EQ(newest[2], std::vector<uint64_t>(starts.begin() + 40, starts.end()));

  q.sort.ascending = true;
  std::sort(starts.begin(), starts.end());
  std::vector<std::vector<uint64_t>> oldest = pages(q);
  ASSERT_EQ(oldest.size(), 3u);
  // The first page: the oldest slice's 1, the next slice's 19 of 20.
  EXPECT_EQ(oldest[0], std::vector<uint64_t>(starts.begin(), starts.begin() + 20));
  EXPECT_EQ(oldest[1], std::vector<uint64_t>(starts.begin() + 20, starts.begin() + 40));
  EXPECT_EQ(oldest[2], std::vector<uint64_t>(starts.begin() + 40, starts.end()));
}

// However long the range, a page sorted by start time is read in at most three slices: a 64th,
// the rest of the first eighth, the rest (the third once stopped `extent % 64` ns short of the
// range's end and left it to a fourth statement).
TEST(ClickHouseServerTest, ThreeSlicesReachTheRangesFarEnd) {
  REQUIRE_SERVER();
  if (!KeepsQueryLog()) {
    GTEST_SKIP() << "statements are counted from system.query_log, which chdb does not keep";
  }
  std::unique_ptr<Backend> backend = MustOpen(TestSettings({{"user", "logged"}}));
  ASSERT_NE(backend, nullptr);
  const uint64_t t = NowUnixNano() - 600'000'000'000;
  model::SpanBatch batch;
  std::vector<model::Span>& spans =
      batch.resource_spans.emplace_back().scope_spans.emplace_back().spans;
  for (uint64_t offset : {uint64_t{3}, uint64_t{30'000}, uint64_t{64'030}}) {
    model::Span& s = spans.emplace_back();
    s.trace_id.fill(0x43);
    s.span_id[7] = static_cast<uint8_t>(spans.size());
    s.name = "op";
    s.start_time_unix_nano = t + offset;
    s.end_time_unix_nano = s.start_time_unix_nano + 1;
  }
  ASSERT_TRUE(backend->WriteSpans(batch, t).ok());
  // A filter no span matches, so that every slice is read; its value marks the statements.
  const std::string marker = fmt::format("no-such-op-{}", NowUnixNano());
  query::SearchQuery q;
  q.range = {t, t + 64'037};  // 37 ns past a multiple of 64
  q.page_size = 20;
  q.filters = {testing::FilterOf("span.name", query::Operator::kEquals, marker)};
  for (bool ascending : {false, true}) {
    q.sort.ascending = ascending;
    absl::StatusOr<query::SearchResult> page = backend->Search(q);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_TRUE(page->spans.empty());
  }
  absl::StatusOr<size_t> statements = StatementsLogged(marker, 6);
  ASSERT_TRUE(statements.ok()) << statements.status();
  EXPECT_EQ(*statements, 6u);  // three slices each way
}

// A filter that only a span holding its key with a value can match, on a key no span of the range
// holds (tag_keys says so), returns an empty page without a statement on the spans; negative
// operators and `exists` (which a key with an empty value meets) still read them.
TEST(ClickHouseServerTest, FiltersOnKeysNoSpanHoldsReadNoSpans) {
  REQUIRE_SERVER();
  const bool logged = KeepsQueryLog();
  std::unique_ptr<Backend> backend = MustOpen(TestSettings({{"user", "logged"}}));
  ASSERT_NE(backend, nullptr);
  const uint64_t t = NowUnixNano() - 600'000'000'000;
  model::SpanBatch batch;
  batch.resource_spans.emplace_back().resource.attributes = {{"service.name", AnyValue("svc")}};
  std::vector<model::Span>& spans = batch.resource_spans[0].scope_spans.emplace_back().spans;
  for (int i = 0; i < 2; ++i) {
    model::Span& s = spans.emplace_back();
    s.trace_id.fill(0x44);
    s.span_id[7] = static_cast<uint8_t>(i + 1);
    s.name = "op";
    s.start_time_unix_nano = t + uint64_t(i) * 1000;
    s.end_time_unix_nano = s.start_time_unix_nano + 1;
    s.attributes = {{"user.id", AnyValue(fmt::format("u-{}", i))}};
    if (i == 1) s.attributes.push_back({"blank", AnyValue()});  // an empty value
  }
  ASSERT_TRUE(backend->WriteSpans(batch, t).ok());
  const std::string absent = fmt::format("absent-{}", NowUnixNano());
  const std::string present = fmt::format("present-{}", NowUnixNano());
  auto search = [&](std::string_view key, query::Operator op,
                    std::vector<query::Scalar> values) -> std::vector<uint8_t> {
    query::SearchQuery q;
    q.range = {t - 1000, t + 1'000'000};
    q.page_size = 20;
    const bool list = op == query::Operator::kIn || op == query::Operator::kNotIn;
    std::optional<query::Scalar> value;
    if (!list && !values.empty()) value = values[0];
    q.filters = {testing::FilterOf(key, op, value, list ? values : std::vector<query::Scalar>{})};
    absl::StatusOr<query::SearchResult> page = backend->Search(q);
    EXPECT_TRUE(page.ok()) << page.status();
    std::vector<uint8_t> ids;
    if (page.ok()) {
      for (const model::StoredSpan& s : page->spans) ids.push_back(s.span.span_id[7]);
    }
    return ids;
  };
  using query::Operator;
  // The resource level holds no user.id: nothing, and no statement naming the value.
  EXPECT_EQ(search("resource.attributes.user.id", Operator::kIn, {absent, std::string("u-0")}),
            std::vector<uint8_t>{});
  EXPECT_EQ(search("span.events.attributes.user.id", Operator::kContains, {std::string("u-")}),
            std::vector<uint8_t>{});
  EXPECT_EQ(search("span.attributes.nothing", Operator::kGt, {int64_t{0}}),
            std::vector<uint8_t>{});
  // The span level does.
  EXPECT_EQ(search("span.attributes.user.id", Operator::kIn, {present, std::string("u-0")}),
            std::vector<uint8_t>{1});
  // Spans without the key match negative operators; an empty value exists.
  EXPECT_EQ(search("resource.attributes.user.id", Operator::kNotEquals, {std::string("u-0")}),
            (std::vector<uint8_t>{2, 1}));
  EXPECT_EQ(search("span.attributes.nothing", Operator::kNotExists, {}),
            (std::vector<uint8_t>{2, 1}));
  EXPECT_EQ(search("span.attributes.blank", Operator::kExists, {}), std::vector<uint8_t>{2});
  EXPECT_EQ(search("span.attributes.blank", Operator::kNotEquals, {std::string("x")}),
            (std::vector<uint8_t>{2, 1}));
  if (!logged) return;
  // Once the later search's statements are logged, the earlier one's would be too.
  absl::StatusOr<size_t> statements = StatementsLogged(present, 1);
  ASSERT_TRUE(statements.ok()) << statements.status();
  EXPECT_GE(*statements, 1u);
  statements = StatementsLogged(absent, 0);
  ASSERT_TRUE(statements.ok()) << statements.status();
  EXPECT_EQ(*statements, 0u);
}

TEST(ClickHouseServerTest, RareStringValuesAreFoundThroughTheSkipIndex) {
  REQUIRE_SERVER();
  absl::StatusOr<ServerVersion> version = DetectServerVersion(Admin());
  ASSERT_TRUE(version.ok()) << version.status();
  const bool indexed = SettingsForVersion(*version, false).skip_indices;
  BackendSettings settings = TestSettings();
  std::unique_ptr<Backend> backend = MustOpen(settings);
  ASSERT_NE(backend, nullptr);
  // 50,000 spans, each with its own user.id, merged into one part of several granules: which
  // granules a Bloom filter's false positive keeps depends on how the rows are grouped, so the
  // grouping is made the same run after run.
  constexpr int kSpans = 50'000;
  const uint64_t start = NowUnixNano() - 3600'000'000'000;
  model::SpanBatch batch;
  batch.resource_spans.emplace_back().resource.attributes = {{"service.name", AnyValue("svc")}};
  std::vector<model::Span>& spans = batch.resource_spans[0].scope_spans.emplace_back().spans;
  for (int i = 0; i < kSpans; ++i) {
    model::Span& s = spans.emplace_back();
    s.trace_id[0] = 0x5c;
    s.trace_id[14] = static_cast<uint8_t>(i >> 8);
    s.trace_id[15] = static_cast<uint8_t>(i);
    s.span_id[5] = static_cast<uint8_t>(i >> 16);
    s.span_id[6] = static_cast<uint8_t>(i >> 8);
    s.span_id[7] = static_cast<uint8_t>(i);
    s.name = "op";
    s.start_time_unix_nano = start + uint64_t(i) * 1000;
    s.end_time_unix_nano = s.start_time_unix_nano + 10;
    s.attributes = {{"user.id", AnyValue(fmt::format("user-{}", i))}};
  }
  ASSERT_TRUE(backend->WriteSpans(batch, start).ok());
  const std::string db = settings["database"];
  absl::Status merged = MergeSpansToOnePart(db);
  ASSERT_TRUE(merged.ok()) << merged;

  absl::StatusOr<std::string> create =
      Admin().Execute(fmt::format("SHOW CREATE TABLE {}.spans FORMAT TabSeparatedRaw", db), {},
                      "show create");
  ASSERT_TRUE(create.ok()) << create.status();
  EXPECT_EQ(absl::StrContains(*create, "INDEX attr_str_values attr_str TYPE bloom_filter(0.01)"),
            indexed)
      << *create;

  query::SearchQuery sq;
  sq.range = {start, start + 3600'000'000'000};
  sq.filters = {testing::FilterOf("span.attributes.user.id", query::Operator::kEquals,
                                  std::string("user-31000"))};
  absl::StatusOr<query::SearchResult> page = backend->Search(sq);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->spans.size(), 1u);
  EXPECT_EQ(page->spans[0].span.start_time_unix_nano, start + 31000 * 1000);
  if (!indexed) return;  // 18.x: no skip indexes; the filter reads attr_str of every granule

  // The filter's condition, as the backend writes it, leaves the granule holding the value (the
  // Bloom filters' hashes are fixed and the part is the same: no other granule passes by chance,
  // run after run).
  absl::StatusOr<std::string> plan = Admin().Execute(
      fmt::format("EXPLAIN indexes = 1 SELECT count() FROM {}.spans {} FORMAT TabSeparatedRaw", db,
                  WhereClause(sq.range, sq.filters)),
      {}, "explain");
  ASSERT_TRUE(plan.ok()) << plan.status();
  const size_t skip = plan->find("Name: attr_str_values");
  ASSERT_NE(skip, std::string::npos) << *plan;
  const size_t granules = plan->find("Granules: ", skip);
  ASSERT_NE(granules, std::string::npos) << *plan;
  // "Granules: kept/all": one of the part's seven (50,000 rows, 8,192 a granule).
  const std::string line = plan->substr(granules, plan->find('\n', granules) - granules);
  EXPECT_EQ(line, "Granules: 1/7") << *plan;
}

TEST(ClickHouseServerTest, ServicesAndOperationsAreEachSpansLastStringServiceName) {
  REQUIRE_SERVER();
  std::unique_ptr<Backend> backend = MustOpen(TestSettings());
  ASSERT_NE(backend, nullptr);
  using model::SpanKind;
  // (the resource's attributes, a span's name and kind)
  const std::vector<std::tuple<model::KeyValueList, std::string, SpanKind>> cases = {
      {{{"service.name", AnyValue("cart")}}, "GET /a", SpanKind::kServer},
      {{{"service.name", AnyValue("cart")}}, "GET /a", SpanKind::kClient},
      {{{"service.name", AnyValue("cart")}}, "x", SpanKind::kInternal},
      {{{"service.name", AnyValue("")}}, "empty", SpanKind::kUnspecified},
      {{{"host.name", AnyValue("h")}}, "none", SpanKind::kInternal},
      {{{"service.name", AnyValue(int64_t{7})}}, "int", SpanKind::kInternal},
      {{{"service.name", AnyValue("old")}, {"service.name", AnyValue("new")}}, "dup",
       SpanKind::kServer},
      {{{"service.name", AnyValue("")}, {"service.name", AnyValue(int64_t{3})}}, "last int",
       SpanKind::kInternal},
      {{{"service.name", AnyValue("")}, {"service.name", AnyValue()}}, "last empty",
       SpanKind::kInternal},
      {{{"service.name", AnyValue(model::ArrayValue{AnyValue("")})}}, "array",
       SpanKind::kInternal},
  };
  model::SpanBatch batch;
  const uint64_t now = NowUnixNano();
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& [attributes, name, kind] = cases[i];
    model::ResourceSpans& rs = batch.resource_spans.emplace_back();
    rs.resource.attributes = attributes;
    model::Span s;
    s.trace_id.fill(0x31);
    s.span_id[7] = static_cast<uint8_t>(i + 1);
    s.name = name;
    s.kind = kind;
    s.start_time_unix_nano = now;
    s.end_time_unix_nano = now;
    rs.scope_spans.emplace_back().spans.push_back(s);
  }
  ASSERT_TRUE(backend->WriteSpans(batch, now).ok());

  absl::StatusOr<std::vector<std::string>> services = backend->Services();
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_EQ(*services, (std::vector<std::string>{"", "cart", "new"}));
  using Ops = std::vector<Backend::Operation>;
  absl::StatusOr<Ops> cart = backend->Operations("cart");
  ASSERT_TRUE(cart.ok()) << cart.status();
  EXPECT_EQ(*cart, (Ops{{"GET /a", SpanKind::kServer},
                        {"GET /a", SpanKind::kClient},
                        {"x", SpanKind::kInternal}}));
  EXPECT_EQ(*backend->Operations(""), (Ops{{"empty", SpanKind::kUnspecified}}));
  EXPECT_EQ(*backend->Operations("new"), (Ops{{"dup", SpanKind::kServer}}));
  EXPECT_EQ(*backend->Operations("old"), Ops{});
  EXPECT_EQ(*backend->Operations("7"), Ops{});

  // The service facet: each span's scalar service.name values (the last occurrence of the key;
  // an array's elements and an empty value are not values), ints too.
  query::TagValuesQuery tv{testing::KeyOf("resource.attributes.service.name"),
                           query::TimeRange{now - 1000, now + 1000}, {}, 0};
  absl::StatusOr<query::TagValuesResult> values = backend->TagValues(tv);
  ASSERT_TRUE(values.ok()) << values.status();
  std::vector<std::pair<query::TagValue, uint64_t>> got;
  for (const query::TagValueCount& v : values->values) got.emplace_back(v.value, v.count);
  std::sort(got.begin(), got.end(), [](const auto& a, const auto& b) {
    return query::TagValueLess()(a.first, b.first);
  });
  EXPECT_EQ(got, (std::vector<std::pair<query::TagValue, uint64_t>>{
                     {int64_t{3}, 1},
                     {int64_t{7}, 1},
                     {std::string(""), 1},
                     {std::string("cart"), 3},
                     {std::string("new"), 1}}));
  EXPECT_EQ(values->total_distinct, 5u);
  // With a filter: the spans named "x" or "last int".
  tv.filters = {testing::FilterOf("span.name", query::Operator::kIn, std::nullopt,
                                  {std::string("x"), std::string("last int")})};
  values = backend->TagValues(tv);
  ASSERT_TRUE(values.ok()) << values.status();
  ASSERT_EQ(values->values.size(), 2u);
  EXPECT_EQ(values->total_distinct, 2u);
}

TEST(ClickHouseServerTest, ServiceFiltersMatchTheSameSpansAsTheirAttributes) {
  REQUIRE_SERVER();
  std::unique_ptr<Backend> backend = MustOpen(TestSettings());
  ASSERT_NE(backend, nullptr);
  // (the resource's attributes, the span's name): a filter on service.name equal to (or in)
  // non-empty strings reads the service_name column, and the spans whose column is '' (the
  // service.name is no single string) through their attribute arrays.
  const std::vector<std::pair<model::KeyValueList, std::string>> cases = {
      {{{"service.name", AnyValue("cart")}}, "cart 1"},
      {{{"service.name", AnyValue("cart")}}, "cart 2"},
      {{{"service.name", AnyValue(model::ArrayValue{AnyValue("x"), AnyValue("cart")})}},
       "array with cart"},
      {{{"service.name", AnyValue("cart")}, {"service.name", AnyValue("other")}},
       "cart, then other"},
      {{{"service.name", AnyValue("other")}, {"service.name", AnyValue("cart")}},
       "other, then cart"},
      {{{"service.name", AnyValue("new")}}, "new"},
      {{{"service.name", AnyValue("")}}, "empty"},
      {{{"service.name", AnyValue(int64_t{7})}}, "int"},
      {{{"host.name", AnyValue("cart")}}, "none"},
  };
  model::SpanBatch batch;
  const uint64_t now = NowUnixNano();
  for (size_t i = 0; i < cases.size(); ++i) {
    model::ResourceSpans& rs = batch.resource_spans.emplace_back();
    rs.resource.attributes = cases[i].first;
    model::Span s;
    s.trace_id.fill(0x41);
    s.span_id[7] = static_cast<uint8_t>(i + 1);
    s.name = cases[i].second;
    s.start_time_unix_nano = now + i * 1000;
    s.end_time_unix_nano = s.start_time_unix_nano + 100 * (i + 1);
    s.attributes = {{"size", AnyValue(static_cast<int64_t>(i))}};
    rs.scope_spans.emplace_back().spans.push_back(s);
  }
  ASSERT_TRUE(backend->WriteSpans(batch, now).ok());
  const query::TimeRange range{now - 1000, now + 100000};
  using query::Operator;
  const std::vector<std::pair<query::Filter, std::vector<std::string>>> filters = {
      {testing::FilterOf("resource.attributes.service.name", Operator::kEquals,
                         std::string("cart")),
       {"array with cart", "cart 1", "cart 2", "other, then cart"}},
      {testing::FilterOf("resource.attributes.service.name", Operator::kIn, std::nullopt,
                         {std::string("new"), std::string("cart")}),
       {"array with cart", "cart 1", "cart 2", "new", "other, then cart"}},
      {testing::FilterOf("resource.attributes.service.name", Operator::kEquals, std::string("")),
       {"empty"}},
      {testing::FilterOf("resource.attributes.service.name", Operator::kEquals, std::string("7")),
       {}},
      // Every span: the groups by service.name below then see every shape.
      {testing::FilterOf("span.name", Operator::kExists),
       {"array with cart", "cart 1", "cart 2", "cart, then other", "empty", "int", "new", "none",
        "other, then cart"}},
  };
  for (size_t f = 0; f < filters.size(); ++f) {
    SCOPED_TRACE(f);
    const auto& [filter, names] = filters[f];
    query::SearchQuery sq;
    sq.range = range;
    sq.filters = {filter};
    sq.page_size = 100;
    absl::StatusOr<query::SearchResult> page = backend->Search(sq);
    ASSERT_TRUE(page.ok()) << page.status();
    std::vector<std::string> got;
    for (const StoredSpan& s : page->spans) got.push_back(s.span.name);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, names);

    // The same spans' durations, buckets and span names, and the service facet among them.
    query::StatisticsQuery st{*query::ParseKey("externalFields.durationNano", "k"), range,
                              {filter}, {{"count", 0}, {"sum", 0}}};
    query::StatisticsCollector st_want(st);
    query::HistogramQuery hq;
    hq.range = range;
    hq.filters = {filter};
    hq.interval_nano = 2000;
    // Grouped by service.name (the services page): from the service_name column where it holds
    // the span's one service.name string, from the arrays elsewhere.
    const query::Key service = testing::KeyOf("resource.attributes.service.name");
    const query::Key duration = testing::KeyOf("externalFields.durationNano");
    hq.aggregations = {
        {"n", query::AggregationFunc::kCount, std::nullopt, std::nullopt, 10, {}, {}},
        {"by service", query::AggregationFunc::kCount, std::nullopt, service, 10, {}, {}},
        {"latency", query::AggregationFunc::kPercentiles, duration, service, 10, {50, 99}, {}}};
    query::HistogramCollector h_want(hq);
    query::TagValuesQuery names_q{testing::KeyOf("span.name"), range, {filter}, 0};
    query::TagValuesCollector names_want(names_q);
    query::TagValuesQuery services_q{testing::KeyOf("resource.attributes.service.name"), range,
                                     {filter}, 0};
    query::TagValuesCollector services_want(services_q);
    for (const StoredSpan& s : page->spans) {
      st_want.Add(s);
      h_want.Add(s);
      names_want.Add(s);
      services_want.Add(s);
    }
    absl::StatusOr<query::StatisticsResult> st_got = backend->Statistics(st);
    ASSERT_TRUE(st_got.ok()) << st_got.status();
    EXPECT_EQ(*st_got, std::move(st_want).Finish());
    absl::StatusOr<query::HistogramResult> h_got = backend->Histograms(hq);
    ASSERT_TRUE(h_got.ok()) << h_got.status();
    EXPECT_EQ(*h_got, std::move(h_want).Finish());
    absl::StatusOr<query::TagValuesResult> names_got = backend->TagValues(names_q);
    ASSERT_TRUE(names_got.ok()) << names_got.status();
    EXPECT_EQ(names_got->values, std::move(names_want).Finish().values);
    EXPECT_EQ(names_got->total_distinct, names.size());
    absl::StatusOr<query::TagValuesResult> services_got = backend->TagValues(services_q);
    ASSERT_TRUE(services_got.ok()) << services_got.status();
    EXPECT_EQ(services_got->values, std::move(services_want).Finish().values);
  }
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(ClickHouseServerTest, RecoversWhenTheServerComesBack) {
  REQUIRE_SERVER();
  const char* script = std::getenv("TELETRACE_CLICKHOUSE_SCRIPT");
  if (script == nullptr) GTEST_SKIP() << "TELETRACE_CLICKHOUSE_SCRIPT is not set";
  const std::string dir = fmt::format("/tmp/teletrace_ch_recover_{}", getpid());
  const int http_port = FreePort();
  const std::string url = fmt::format("http://127.0.0.1:{}", http_port);
  std::unique_ptr<Backend> backend = MustOpen({{"endpoints", url}, {"database", "tt_recover"},
                                              {"flush_interval", "0"}});
  ASSERT_NE(backend, nullptr);
  const uint64_t now = NowUnixNano();
  EXPECT_EQ(backend->WriteSpans(OneSpan(5, 1, now), now).code(), absl::StatusCode::kUnavailable);
  ASSERT_EQ(std::system(fmt::format("{} start {} {} {} {} >/dev/null", script, dir, http_port,
                                    FreePort(), FreePort())
                            .c_str()),
            0);
  // The schema is created on this first successful call.
  absl::Status write = backend->WriteSpans(OneSpan(5, 1, now), now);
  EXPECT_TRUE(write.ok()) << write;
  TraceId id;
  id.fill(5);
  absl::StatusOr<query::TraceResult> trace = backend->GetTrace({id, 0, std::nullopt});
  EXPECT_TRUE(trace.ok()) << trace.status();
  EXPECT_EQ(std::system(fmt::format("{} stop {}; rm -rf {}", script, dir, dir).c_str()), 0);
}

// ---------------------------------------------------------------------------------------------
// Writes.

TEST(ClickHouseServerTest, ConcurrentWritersAreGroupedAndStoredOnce) {
  REQUIRE_SERVER();
  std::unique_ptr<Backend> backend =
      MustOpen(TestSettings({{"flush_interval", "30ms"}, {"insert_batch_spans", "50"}}));
  ASSERT_NE(backend, nullptr);
  const uint64_t now = NowUnixNano();
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        model::SpanBatch batch;
        auto& spans = batch.resource_spans.emplace_back().scope_spans.emplace_back().spans;
        for (int j = 0; j < 5; ++j) {
          // Every writer also re-sends writer 0's spans: each must be stored once.
          for (int w : {t, 0}) {
            model::Span s;
            s.trace_id.fill(static_cast<uint8_t>(w + 1));
            s.span_id[6] = static_cast<uint8_t>(i);
            s.span_id[7] = static_cast<uint8_t>(j);
            s.start_time_unix_nano = now + static_cast<uint64_t>(i * 10 + j);
            s.end_time_unix_nano = s.start_time_unix_nano;
            spans.push_back(s);
          }
        }
        if (!backend->WriteSpans(batch, now).ok()) ++failures;
      }
    });
  }
  for (std::thread& w : writers) w.join();
  EXPECT_EQ(failures.load(), 0);
  query::StatisticsQuery count{*query::ParseKey("externalFields.durationNano", "k"),
                               {0, UINT64_MAX}, {}, {{"count", 0}}};
  absl::StatusOr<query::StatisticsResult> stats = backend->Statistics(count);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(*stats, (query::StatisticsResult{{"count", 6 * 10 * 5}}));
}

// Makes database `db` look upgraded to migration 002 (tag_keys) after it was created: version 2
// recorded later than version 1, as an older store's first start of the new version records it.
void RecordTagKeysUpgrade(const std::string& db) {
  ASSERT_TRUE(Admin()
                  .Execute(fmt::format("INSERT INTO {}.schema_migrations (version, name, "
                                       "applied_at) VALUES (2, '002_tag_keys.sql', now() + 120)",
                                       db),
                           {}, "record a later upgrade")
                  .ok());
}

// Drops day `day`'s rows of database `db`'s tag_keys table (its partition).
void DropTagKeysDay(const std::string& db, uint64_t day) {
  ASSERT_TRUE(Admin()
                  .Execute(fmt::format("ALTER TABLE {}.tag_keys DROP PARTITION {}", db,
                                       SqlString(DayDate(day))),
                           {}, "drop a day of tag_keys")
                  .ok());
}

TEST(ClickHouseServerTest, TagKeysOfAllDataComeFromTheTagKeysTable) {
  REQUIRE_SERVER();
  BackendSettings settings = TestSettings();
  std::unique_ptr<Backend> backend = MustOpen(settings);
  ASSERT_NE(backend, nullptr);
  // Keys of every level and type, on two days' spans (one without attributes).
  constexpr uint64_t kNanosPerDay = uint64_t{86400} * 1000000000;
  const uint64_t now = NowUnixNano();
  model::SpanBatch batch;
  model::ResourceSpans& rs = batch.resource_spans.emplace_back();
  rs.resource.attributes = {{"service.name", AnyValue("cart")}, {"host.cpus", AnyValue(int64_t{4})}};
  model::ScopeSpans& ss = rs.scope_spans.emplace_back();
  ss.scope.attributes = {{"lib.lang", AnyValue("cpp")}};
  model::Span s;
  s.trace_id.fill(0x51);
  s.span_id[7] = 1;
  s.start_time_unix_nano = now;
  s.end_time_unix_nano = now + 10;
  s.attributes = {{"ratio", AnyValue(0.5)},
                  {"cached", AnyValue(true)},
                  {"tags", AnyValue(model::ArrayValue{AnyValue("x"), AnyValue(int64_t{7})})},
                  {"empty", AnyValue()}};
  model::Event& e = s.events.emplace_back();
  e.name = "exception";
  e.attributes = {{"exception.type", AnyValue("E")}};
  ss.spans.push_back(s);
  s.span_id[7] = 2;
  s.start_time_unix_nano = now - 3 * kNanosPerDay;
  s.end_time_unix_nano = s.start_time_unix_nano + 10;
  s.attributes = {{"old.key", AnyValue("v")}};
  s.events.clear();
  ss.spans.push_back(s);
  s.span_id[7] = 3;
  s.attributes.clear();
  batch.resource_spans.emplace_back().scope_spans.emplace_back().spans.push_back(s);
  ASSERT_TRUE(backend->WriteSpans(batch, now).ok());
  // "name type", with query::ValueType's numbers.
  const std::vector<std::string> want = {
      "resource.attributes.host.cpus 1", "resource.attributes.service.name 0",
      "scope.attributes.lib.lang 0",     "span.attributes.cached 3",
      "span.attributes.old.key 0",       "span.attributes.ratio 2",
      "span.attributes.tags 5",          "span.events.attributes.exception.type 0",
  };
  auto attribute_keys = [&](std::optional<query::TimeRange> range) {
    absl::StatusOr<std::vector<query::TagInfo>> keys = backend->TagKeys({range});
    EXPECT_TRUE(keys.ok()) << keys.status();
    std::vector<std::string> out;
    for (const query::TagInfo& k : keys.value_or(std::vector<query::TagInfo>{})) {
      if (k.name.find(".attributes.") == std::string::npos) continue;
      out.push_back(fmt::format("{} {}", k.name, static_cast<int>(k.type)));
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(attribute_keys(std::nullopt), want);
  EXPECT_EQ(attribute_keys(query::TimeRange{0, UINT64_MAX}), want);
  // A range reads the spans: the old day's key is not in today's.
  std::vector<std::string> today = want;
  std::erase(today, "span.attributes.old.key 0");
  EXPECT_EQ(attribute_keys(query::TimeRange{now - 1000, now + 1000}), today);

  // All data reads the table alone in a database created with it: emptied, it answers no
  // attribute key.
  const std::string db = settings["database"];
  auto empty_tag_keys = [&] {
    for (uint64_t day : {now / kNanosPerDay, now / kNanosPerDay - 3}) DropTagKeysDay(db, day);
  };
  empty_tag_keys();
  EXPECT_EQ(attribute_keys(std::nullopt), std::vector<std::string>{});

  // A database upgraded to it (version 2 recorded after version 1) also reads the spans ingested
  // before the upgrade, from their arrays: every key again, though the table is empty.
  RecordTagKeysUpgrade(db);
  backend = MustOpen(settings);
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(attribute_keys(std::nullopt), want);
  // Spans ingested since come from the table only.
  empty_tag_keys();
  s.span_id[7] = 4;
  s.start_time_unix_nano = now;
  s.end_time_unix_nano = now + 10;
  s.attributes = {{"new.key", AnyValue(int64_t{1})}};
  model::SpanBatch later;
  later.resource_spans.emplace_back().scope_spans.emplace_back().spans.push_back(s);
  const uint64_t after_upgrade = now + 2 * 3600 * uint64_t{1000000000};
  ASSERT_TRUE(backend->WriteSpans(later, after_upgrade).ok());
  std::vector<std::string> with_new = want;
  with_new.insert(with_new.begin() + 4, "span.attributes.new.key 1");
  EXPECT_EQ(attribute_keys(std::nullopt), with_new);
  empty_tag_keys();
  EXPECT_EQ(attribute_keys(std::nullopt), want);
}

// Values and numeric filters read only the value columns of the types tag_keys records for the
// key on the range's days (query_sql.h, KeyTypes); the answers stay those of every column.
TEST(ClickHouseServerTest, KeyTypesFromTheTagKeysTableKeepAnswersExact) {
  REQUIRE_SERVER();
  BackendSettings settings = TestSettings();
  std::unique_ptr<Backend> backend = MustOpen(settings);
  ASSERT_NE(backend, nullptr);
  constexpr uint64_t kNanosPerDay = uint64_t{86400} * 1000000000;
  const uint64_t now = NowUnixNano();
  const uint64_t old = now - 3 * kNanosPerDay;
  // (start, attributes, name): `mixed` is an int and a string today, a double and a bool three
  // days ago; `list` an array there.
  const std::vector<std::tuple<uint64_t, model::KeyValueList, std::string>> spans = {
      {now, {{"mixed", AnyValue(int64_t{7})}}, "int"},
      {now + 1, {{"mixed", AnyValue("seven")}}, "string"},
      {old, {{"mixed", AnyValue(2.5)}}, "double"},
      {old + 1, {{"mixed", AnyValue(true)}}, "bool"},
      {old + 2, {{"list", AnyValue(model::ArrayValue{AnyValue(int64_t{9}), AnyValue("x")})}},
       "array"},
  };
  model::SpanBatch batch;
  model::ScopeSpans& ss = batch.resource_spans.emplace_back().scope_spans.emplace_back();
  for (size_t i = 0; i < spans.size(); ++i) {
    model::Span s;
    s.trace_id.fill(0x61);
    s.span_id[7] = static_cast<uint8_t>(i + 1);
    s.start_time_unix_nano = std::get<0>(spans[i]);
    s.end_time_unix_nano = s.start_time_unix_nano + 10;
    s.attributes = std::get<1>(spans[i]);
    s.name = std::get<2>(spans[i]);
    ss.spans.push_back(s);
  }
  ASSERT_TRUE(backend->WriteSpans(batch, now).ok());
  const query::TimeRange today{now - 1000, now + 1000};
  const query::TimeRange both{old - 1000, now + 1000};
  using query::Operator;
  auto values = [&](const std::string& key, const query::TimeRange& range) {
    absl::StatusOr<query::TagValuesResult> got =
        backend->TagValues({testing::KeyOf(key), range, {}, 0});
    EXPECT_TRUE(got.ok()) << got.status();
    // "<type> <value> <count>", sorted.
    std::vector<std::string> out;
    for (const query::TagValueCount& v : got.value_or(query::TagValuesResult{}).values) {
      out.push_back(std::visit(
          [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            const char* type = std::is_same_v<T, std::string> ? "s"
                               : std::is_same_v<T, int64_t>   ? "i"
                               : std::is_same_v<T, double>    ? "d"
                                                              : "b";
            return fmt::format("{} {} {}", type, x, v.count);
          },
          v.value));
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  auto names = [&](const query::Filter& filter, const query::TimeRange& range) {
    query::SearchQuery q;
    q.range = range;
    q.filters = {filter};
    q.page_size = 100;
    absl::StatusOr<query::SearchResult> page = backend->Search(q);
    EXPECT_TRUE(page.ok()) << page.status();
    std::vector<std::string> out;
    for (const StoredSpan& s : page.value_or(query::SearchResult{}).spans) {
      out.push_back(s.span.name);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  const query::Filter at_least_2 =
      testing::FilterOf("span.attributes.mixed", Operator::kGte, int64_t{2});
  const query::Filter is_true = testing::FilterOf("span.attributes.mixed", Operator::kEquals, true);
  const query::Filter has_9 = testing::FilterOf("span.attributes.list", Operator::kEquals, 9.0);
  auto check_all = [&] {
    EXPECT_EQ(values("span.attributes.mixed", today),
              (std::vector<std::string>{"i 7 1", "s seven 1"}));
    EXPECT_EQ(values("span.attributes.mixed", both),
              (std::vector<std::string>{"b true 1", "d 2.5 1", "i 7 1", "s seven 1"}));
    EXPECT_EQ(names(at_least_2, today), std::vector<std::string>{"int"});
    EXPECT_EQ(names(at_least_2, both), (std::vector<std::string>{"double", "int"}));
    EXPECT_EQ(names(is_true, both), std::vector<std::string>{"bool"});
    EXPECT_EQ(names(has_9, both), std::vector<std::string>{"array"});
    query::StatisticsQuery st{testing::KeyOf("span.attributes.mixed"), both, {},
                              {{"count", 0}, {"min", 0}, {"max", 0}}};
    absl::StatusOr<query::StatisticsResult> stats = backend->Statistics(st);
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(*stats, (query::StatisticsResult{{"count", 2}, {"min", 2.5}, {"max", 7}}));
  };
  check_all();

  // The table is what decides: without today's rows, today's values are not read at all.
  const std::string db = settings["database"];
  DropTagKeysDay(db, now / kNanosPerDay);
  EXPECT_EQ(values("span.attributes.mixed", today), std::vector<std::string>{});
  EXPECT_EQ(names(at_least_2, today), std::vector<std::string>{});
  EXPECT_EQ(values("span.attributes.mixed", both),
            (std::vector<std::string>{"b true 1", "d 2.5 1"}));

  // In a database upgraded to tag_keys, a range reaching the spans stored before the upgrade
  // reads every column.
  RecordTagKeysUpgrade(db);
  backend = MustOpen(settings);
  ASSERT_NE(backend, nullptr);
  check_all();
}

// The server computes DurationSketch's bucket of every duration as C++ does (DurationBucketExpr).
TEST(ClickHouseServerTest, DurationBucketsAreTheSketchs) {
  REQUIRE_SERVER();
  // Integers as one literal array (thousands of double literals are slow to parse on 18.16), and
  // a few non-integers and values past 2^63 as exact double literals.
  std::vector<uint64_t> integers;
  for (uint64_t i = 0; i <= 3000; ++i) integers.push_back(i);
  for (double v = 3000; v < 1e18; v *= 1.0137) integers.push_back(static_cast<uint64_t>(v));
  const std::vector<double> others = {0.5, 1.5, 9.3e18, 1.8e19};
  std::vector<double> values(integers.begin(), integers.end());
  std::vector<std::string> literals;
  for (double v : others) {
    values.push_back(v);
    literals.push_back(SqlDouble(v));
  }
  absl::StatusOr<std::string> got = Admin().Execute(
      fmt::format("SELECT arrayJoin(arrayMap(x -> {}, arrayConcat(arrayMap(i -> toFloat64(i), "
                  "[{}]), [{}]))) FORMAT TSV",
                  DurationBucketExpr("x"), fmt::join(integers, ", "), fmt::join(literals, ", ")),
      {}, "duration buckets", {{"max_query_size", "16777216"}});
  ASSERT_TRUE(got.ok()) << got.status();
  std::vector<std::string> lines = absl::StrSplit(*got, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), values.size());
  size_t mismatches = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    uint32_t bucket = 0;
    ASSERT_TRUE(absl::SimpleAtoi(lines[i], &bucket)) << lines[i];
    if (bucket != query::DurationSketch::BucketOf(values[i])) {
      ++mismatches;
      ADD_FAILURE() << values[i] << ": " << bucket << " in ClickHouse, "
                    << query::DurationSketch::BucketOf(values[i]) << " in C++";
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

// Duration percentiles asked "approximate" come from sketch buckets counted in SQL, the other
// statistics stay exact: the same numbers as a DurationSketch of the same durations gives.
TEST(ClickHouseServerTest, ApproximateDurationPercentilesAreTheSketchs) {
  REQUIRE_SERVER();
  std::unique_ptr<Backend> backend = MustOpen(TestSettings());
  ASSERT_NE(backend, nullptr);
  const uint64_t now = NowUnixNano();
  // Durations 0 to ~1e12 ns; the spans of the first half start in one minute, the others in the
  // next.
  std::vector<uint64_t> durations = {0, 1, 2, 3, 999, 1000, 1001};
  for (double v = 5; v < 1e12; v *= 1.29) durations.push_back(static_cast<uint64_t>(v));
  constexpr uint64_t kMinute = uint64_t{60} * 1000000000;
  const uint64_t minute = now / kMinute * kMinute;
  model::SpanBatch batch;
  model::ScopeSpans& ss = batch.resource_spans.emplace_back().scope_spans.emplace_back();
  for (size_t i = 0; i < durations.size(); ++i) {
    model::Span s;
    s.trace_id.fill(0x71);
    s.span_id[6] = static_cast<uint8_t>(i >> 8);
    s.span_id[7] = static_cast<uint8_t>(i);
    s.start_time_unix_nano = minute + (i < durations.size() / 2 ? 0 : kMinute) + i;
    s.end_time_unix_nano = s.start_time_unix_nano + durations[i];
    s.name = i % 3 == 0 ? "a" : "b";
    ss.spans.push_back(s);
  }
  ASSERT_TRUE(backend->WriteSpans(batch, now).ok());
  const query::TimeRange range{minute, minute + 2 * kMinute};
  const query::Key duration = testing::KeyOf("externalFields.durationNano");
  // The percentiles `ps` of the durations [from, to) of the spans named `name` ("": any).
  auto expected = [&](size_t from, size_t to, const std::vector<double>& ps,
                      const std::string& name = "") {
    std::vector<double> values;
    for (size_t i = from; i < to; ++i) {
      if (name.empty() || (name == "a") == (i % 3 == 0)) {
        values.push_back(static_cast<double>(durations[i]));
      }
    }
    query::DurationSketch sketch;
    sketch.Add(values);
    const double min = *std::min_element(values.begin(), values.end());
    const double max = *std::max_element(values.begin(), values.end());
    std::map<std::string, double> out;
    for (double p : ps) {
      out[query::PercentileLabel(p)] =
          query::ApproximateRank(sketch, query::NearestRankIndex(values.size(), p), min, max);
    }
    return out;
  };

  query::StatisticsQuery st{duration, range, {}, {}, /*approximate=*/true};
  for (const char* name : {"count", "min", "max", "avg", "p50", "p90", "p99"}) {
    absl::StatusOr<query::Statistic> s = query::ParseStatistic(name, "test");
    ASSERT_TRUE(s.ok()) << s.status();
    st.wanted.push_back(*s);
  }
  absl::StatusOr<query::StatisticsResult> stats = backend->Statistics(st);
  ASSERT_TRUE(stats.ok()) << stats.status();
  const std::map<std::string, double> ranks = expected(0, durations.size(), {50, 90, 99});
  double sum = 0;
  for (uint64_t d : durations) sum += static_cast<double>(d);
  EXPECT_EQ(*stats, (query::StatisticsResult{
                        {"count", static_cast<double>(durations.size())},
                        {"min", 0},
                        {"max", static_cast<double>(durations.back())},
                        {"avg", sum / static_cast<double>(durations.size())},
                        {"p50", ranks.at("50.0")},
                        {"p90", ranks.at("90.0")},
                        {"p99", ranks.at("99.0")}}));
  // Not the exact answer: the sketch's.
  st.approximate = false;
  absl::StatusOr<query::StatisticsResult> exact = backend->Statistics(st);
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_NE(exact->at("p50"), stats->at("p50"));

  query::HistogramQuery hq;
  hq.range = range;
  hq.interval_nano = kMinute;
  hq.approximate = true;
  hq.aggregations = {{"latency", query::AggregationFunc::kPercentiles,
                      duration, std::nullopt, 10, {50, 99}, {}}};
  absl::StatusOr<query::HistogramResult> histograms = backend->Histograms(hq);
  ASSERT_TRUE(histograms.ok()) << histograms.status();
  ASSERT_EQ(histograms->size(), 1u);
  const size_t half = durations.size() / 2;
  std::vector<query::HistogramBucket> want = {
      {minute, expected(0, half, {50, 99})},
      {minute + kMinute, expected(half, durations.size(), {50, 99})}};
  EXPECT_EQ((*histograms)[0].buckets, want);

  // Per group (the services page's latency per service, in one bucket): each group's own
  // sketch.
  hq.interval_nano = uint64_t{1} << 63;
  hq.aggregations[0].group_by = testing::KeyOf("span.name");
  histograms = backend->Histograms(hq);
  ASSERT_TRUE(histograms.ok()) << histograms.status();
  ASSERT_EQ(histograms->size(), 1u);
  const size_t as = (durations.size() + 2) / 3;
  query::GroupedPercentiles grouped;
  grouped.total_count = durations.size();
  grouped.groups = {
      {std::string("b"), durations.size() - as, expected(0, durations.size(), {50, 99}, "b")},
      {std::string("a"), as, expected(0, durations.size(), {50, 99}, "a")}};
  want = {{0, grouped}};
  EXPECT_EQ((*histograms)[0].buckets, want);
}

TEST(ClickHouseServerTest, SchemaIsCreatedOnceAndReopened) {
  REQUIRE_SERVER();
  BackendSettings settings = TestSettings();
  std::string first_id;
  {
    std::unique_ptr<Backend> backend = MustOpen(settings);
    ASSERT_NE(backend, nullptr);
    first_id = *backend->SystemId();
    const uint64_t now = NowUnixNano();
    ASSERT_TRUE(backend->WriteSpans(OneSpan(9, 9, now), now).ok());
  }
  std::unique_ptr<Backend> again = MustOpen(settings);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(*again->SystemId(), first_id);
  absl::StatusOr<std::string> versions = Admin().Execute(
      fmt::format("SELECT version, name FROM {}.schema_migrations ORDER BY version FORMAT "
                  "TabSeparated",
                  settings["database"]),
      {}, "versions");
  ASSERT_TRUE(versions.ok()) << versions.status();
  EXPECT_EQ(*versions, "1\t001_initial.sql\n2\t002_tag_keys.sql\n");
}

// ---------------------------------------------------------------------------------------------
// Retention.

constexpr uint64_t kDay = uint64_t{86400} * 1000000000;

uint64_t CountSpans(Backend& backend) {
  query::StatisticsQuery count{*query::ParseKey("externalFields.durationNano", "k"),
                               {0, UINT64_MAX}, {}, {{"count", 0}}};
  absl::StatusOr<query::StatisticsResult> stats = backend.Statistics(count);
  EXPECT_TRUE(stats.ok()) << stats.status();
  if (!stats.ok() || stats->empty()) return 0;
  return static_cast<uint64_t>(stats->at("count"));
}

TEST(ClickHouseServerTest, RetentionDropsOldDaysAndKeepsRecentOnes) {
  REQUIRE_SERVER();
  BackendSettings settings = TestSettings({{"retention_max_age", "3d"}});
  std::unique_ptr<Backend> backend = MustOpen(settings);
  ASSERT_NE(backend, nullptr);
  const uint64_t now = NowUnixNano();
  for (int age_days : {30, 10, 4, 2, 0}) {
    uint64_t start = now - static_cast<uint64_t>(age_days) * kDay;
    ASSERT_TRUE(backend->WriteSpans(OneSpan(static_cast<uint8_t>(age_days + 1), 1, start), now)
                    .ok());
  }
  EXPECT_EQ(CountSpans(*backend), 5u);
  uint64_t before = backend->DiskBytes();
  EXPECT_GT(before, 0u);
  ASSERT_TRUE(backend->EnforceRetention().ok());
  EXPECT_EQ(CountSpans(*backend), 2u);
  TraceId old_trace;
  old_trace.fill(31);
  EXPECT_EQ(backend->GetTrace({old_trace, 0, std::nullopt}).status().code(),
            absl::StatusCode::kNotFound);
  TraceId recent;
  recent.fill(3);
  EXPECT_TRUE(backend->GetTrace({recent, 0, std::nullopt}).ok());
  EXPECT_LT(backend->DiskBytes(), before);
  // Idempotent.
  ASSERT_TRUE(backend->EnforceRetention().ok());
  EXPECT_EQ(CountSpans(*backend), 2u);
  // The tag keys' days went with the spans'.
  absl::StatusOr<std::string> key_days = Admin().Execute(
      fmt::format("SELECT uniqExact(start_date) FROM {}.tag_keys FORMAT TabSeparated",
                  settings["database"]),
      {}, "tag key days");
  ASSERT_TRUE(key_days.ok()) << key_days.status();
  EXPECT_EQ(*key_days, "2\n");
}

TEST(ClickHouseServerTest, SizeCapDropsOldestDaysButNeverTheNewest) {
  REQUIRE_SERVER();
  std::unique_ptr<Backend> backend =
      MustOpen(TestSettings({{"retention_max_age", "0"}, {"retention_max_bytes", "1"}}));
  ASSERT_NE(backend, nullptr);
  const uint64_t now = NowUnixNano();
  for (int age_days : {5, 3, 1}) {
    uint64_t start = now - static_cast<uint64_t>(age_days) * kDay;
    ASSERT_TRUE(backend->WriteSpans(OneSpan(static_cast<uint8_t>(age_days), 1, start), now).ok());
  }
  EXPECT_EQ(CountSpans(*backend), 3u);
  ASSERT_TRUE(backend->EnforceRetention().ok());
  EXPECT_EQ(CountSpans(*backend), 1u);
  TraceId newest;
  newest.fill(1);
  EXPECT_TRUE(backend->GetTrace({newest, 0, std::nullopt}).ok());
}

}  // namespace
}  // namespace teletrace::storage::clickhouse
