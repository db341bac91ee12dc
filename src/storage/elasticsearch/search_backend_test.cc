// The elasticsearch backend against real nodes. The node tests (the conformance suite and the ones
// below) need TELETRACE_ELASTICSEARCH_URL (e.g. http://127.0.0.1:19200) and skip without it;
// `ctest` runs this binary through tests/elasticsearch/run_with_node.sh, which starts a throwaway
// OpenSearch or Elasticsearch node on loopback and sets the variable.
#include "storage/elasticsearch/search_backend.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <atomic>
#include <cstdlib>

#include "common/ids.h"
#include "absl/time/time.h"
#include "common/time_util.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "storage/elasticsearch/search_aggregations.h"
#include "storage/elasticsearch/search_http.h"
#include "storage/elasticsearch/search_query.h"
#include "query/engine.h"
#include "storage/elasticsearch/search_settings.h"
#include "storage/testing/conformance_suite.h"

namespace teletrace::storage::elasticsearch {
namespace {

using ::testing::HasSubstr;

constexpr char kSkipReason[] =
    "TELETRACE_ELASTICSEARCH_URL is not set: run through tests/elasticsearch/run_with_node.sh "
    "(ctest does) to test against a real node";

std::string NodeUrl() {
  const char* url = std::getenv("TELETRACE_ELASTICSEARCH_URL");
  return url == nullptr ? "" : url;
}

std::string NewPrefix() {
  static std::atomic<int> counter{0};
  return fmt::format("tt-{}-{}", getpid(), counter++);
}

BackendSettings TestSettings(BackendSettings extra = {}) {
  BackendSettings s = {{"endpoints", NodeUrl()},
                       {"index_prefix", NewPrefix()},
                       {"replicas", "0"},
                       {"retention_max_age", "0"}};
  for (auto& [k, v] : extra) s[k] = v;
  return s;
}

std::unique_ptr<Backend> MustOpen(BackendSettings settings) {
  absl::StatusOr<std::unique_ptr<Backend>> backend = NewSearchBackend(settings);
  EXPECT_TRUE(backend.ok()) << backend.status();
  return backend.ok() ? std::move(*backend) : nullptr;
}

std::vector<testing::StorageFactory> Factories() {
  if (NodeUrl().empty()) return {};
  return {testing::StorageFactory([] { return MustOpen(TestSettings()); }),
          // Small bulks: large writes are split into several _bulk requests.
          testing::StorageFactory(
              [] { return MustOpen(TestSettings({{"bulk_max_spans", "7"}})); })};
}

using testing::StorageConformance;
INSTANTIATE_TEST_SUITE_P(Elasticsearch, StorageConformance, ::testing::ValuesIn(Factories()),
                         [](const ::testing::TestParamInfo<testing::StorageFactory>& info) {
                           return info.index == 0 ? std::string("Default")
                                                  : std::string("SmallBulks");
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StorageConformance);

#define REQUIRE_NODE()                                   \
  do {                                                   \
    if (NodeUrl().empty()) GTEST_SKIP() << kSkipReason;  \
  } while (0)

model::SpanBatch OneSpanBatch(uint8_t trace, uint8_t span, uint64_t start) {
  model::SpanBatch batch;
  auto& rs = batch.resource_spans.emplace_back();
  rs.resource.attributes.push_back({"service.name", "checkout"});
  auto& ss = rs.scope_spans.emplace_back();
  model::Span& s = ss.spans.emplace_back();
  s.trace_id[15] = trace;
  s.span_id[7] = span;
  s.name = "GET /cart";
  s.start_time_unix_nano = start;
  s.end_time_unix_nano = start + 1000;
  return batch;
}

query::TraceQuery WholeTrace(const TraceId& id) {
  query::TraceQuery q;
  q.trace_id = id;
  return q;
}

size_t CountSpans(Backend& backend) {
  size_t n = 0;
  absl::Status scanned = backend.ScanSpans(std::nullopt, {}, [&](const model::StoredSpan&) { ++n; });
  EXPECT_TRUE(scanned.ok()) << scanned;
  return n;
}

TEST(SearchSettingsTest, DefaultsAndErrorsNameTheKey) {
  absl::StatusOr<SearchSettings> s = ParseSearchSettings({});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->endpoints, std::vector<std::string>{"http://127.0.0.1:9200"});
  EXPECT_EQ(s->index_prefix, "teletrace");
  EXPECT_EQ(s->replicas, 1u);
  s = ParseSearchSettings({{"endpoints", "http://a:9200/, https://b:9200"}, {"replicas", "2"}});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->endpoints, (std::vector<std::string>{"http://a:9200", "https://b:9200"}));
  EXPECT_EQ(s->replicas, 2u);
  EXPECT_THAT(ParseSearchSettings({{"endpoints", "a:9200"}}).status().message(),
              HasSubstr("storage.elasticsearch.endpoints"));
  EXPECT_THAT(ParseSearchSettings({{"index_prefix", "Teletrace"}}).status().message(),
              HasSubstr("storage.elasticsearch.index_prefix"));
  EXPECT_THAT(ParseSearchSettings({{"shards", "0"}}).status().message(),
              HasSubstr("storage.elasticsearch.shards"));
  EXPECT_THAT(ParseSearchSettings({{"request_timeout", "0"}}).status().message(),
              HasSubstr("at least 1ms"));
  EXPECT_THAT(ParseSearchSettings({{"indexprefix", "x"}}).status().message(),
              HasSubstr("storage.elasticsearch.indexprefix"));
}

TEST(SearchBackendTest, UnreachableAtStartIsUnavailableUntilTheNodeAnswers) {
  // Nothing listens on port 1: creation succeeds, every call is a retryable refusal naming it.
  absl::StatusOr<std::unique_ptr<Backend>> backend =
      NewSearchBackend({{"endpoints", "http://127.0.0.1:1"}, {"request_timeout", "2s"}});
  ASSERT_TRUE(backend.ok()) << backend.status();
  absl::Status written = (*backend)->WriteSpans(OneSpanBatch(1, 1, NowUnixNano()), NowUnixNano());
  EXPECT_EQ(written.code(), absl::StatusCode::kUnavailable) << written;
  EXPECT_THAT(written.message(), HasSubstr("http://127.0.0.1:1"));
  EXPECT_EQ((*backend)->SystemId().status().code(), absl::StatusCode::kUnavailable);
}

TEST(SearchBackendTest, FailsOverToTheNextEndpoint) {
  REQUIRE_NODE();
  std::unique_ptr<Backend> backend =
      MustOpen(TestSettings({{"endpoints", "http://127.0.0.1:1," + NodeUrl()}}));
  ASSERT_NE(backend, nullptr);
  const uint64_t now = NowUnixNano();
  ASSERT_TRUE(backend->WriteSpans(OneSpanBatch(1, 1, now), now).ok());
  EXPECT_EQ(CountSpans(*backend), 1u);
}

TEST(SearchBackendTest, SystemIdSurvivesReopening) {
  REQUIRE_NODE();
  BackendSettings settings = TestSettings();
  std::string first = *MustOpen(settings)->SystemId();
  EXPECT_EQ(*MustOpen(settings)->SystemId(), first);
  EXPECT_NE(*MustOpen(TestSettings())->SystemId(), first);
}

TEST(SearchBackendTest, RetentionDeletesWholeDaysPastTheMaximumAge) {
  REQUIRE_NODE();
  std::unique_ptr<Backend> backend = MustOpen(TestSettings({{"retention_max_age", "48h"}}));
  ASSERT_NE(backend, nullptr);
  const uint64_t now = NowUnixNano();
  const uint64_t day = uint64_t{86400} * 1000000000;
  ASSERT_TRUE(backend->WriteSpans(OneSpanBatch(1, 1, now - 10 * day), now).ok());
  ASSERT_TRUE(backend->WriteSpans(OneSpanBatch(2, 1, now - 5 * day), now).ok());
  ASSERT_TRUE(backend->WriteSpans(OneSpanBatch(3, 1, now), now).ok());
  ASSERT_EQ(CountSpans(*backend), 3u);
  ASSERT_TRUE(backend->EnforceRetention().ok());
  EXPECT_EQ(CountSpans(*backend), 1u);
  TraceId kept{};
  kept[15] = 3;
  EXPECT_TRUE(backend->GetTrace(WholeTrace(kept)).ok());
}

TEST(SearchBackendTest, SizeCapDeletesOldestDaysButKeepsTheNewest) {
  REQUIRE_NODE();
  std::unique_ptr<Backend> backend = MustOpen(TestSettings({{"retention_max_bytes", "1"}}));
  ASSERT_NE(backend, nullptr);
  const uint64_t now = NowUnixNano();
  const uint64_t day = uint64_t{86400} * 1000000000;
  ASSERT_TRUE(backend->WriteSpans(OneSpanBatch(1, 1, now - 3 * day), now).ok());
  ASSERT_TRUE(backend->WriteSpans(OneSpanBatch(2, 1, now - 2 * day), now).ok());
  ASSERT_TRUE(backend->WriteSpans(OneSpanBatch(3, 1, now), now).ok());
  ASSERT_EQ(CountSpans(*backend), 3u);
  EXPECT_GT(backend->DiskBytes(), 0u);
  ASSERT_TRUE(backend->EnforceRetention().ok());
  EXPECT_EQ(CountSpans(*backend), 1u);
}

TEST(SearchBackendTest, RetriedBulkStoresEachSpanOnce) {
  REQUIRE_NODE();
  std::unique_ptr<Backend> backend = MustOpen(TestSettings({{"bulk_max_spans", "2"}}));
  ASSERT_NE(backend, nullptr);
  const uint64_t now = NowUnixNano();
  for (int round = 0; round < 3; ++round) {
    model::SpanBatch batch = OneSpanBatch(1, 1, now);
    for (uint8_t i = 2; i <= 5; ++i) {
      model::Span s = batch.resource_spans[0].scope_spans[0].spans[0];
      s.span_id[7] = i;
      batch.resource_spans[0].scope_spans[0].spans.push_back(s);
    }
    ASSERT_TRUE(backend->WriteSpans(std::move(batch), now + round).ok());
  }
  EXPECT_EQ(CountSpans(*backend), 5u);
  TraceId trace{};
  trace[15] = 1;
  absl::StatusOr<query::TraceResult> t = backend->GetTrace(WholeTrace(trace));
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->spans.size(), 5u);
  for (const model::StoredSpan& s : t->spans) EXPECT_EQ(s.ingestion_time_unix_nano, now);  // first copy
}

TEST(SearchBackendTest, ATraceLargerThanOneSearchPageIsReadWhole) {
  REQUIRE_NODE();
  std::unique_ptr<Backend> backend = MustOpen(TestSettings());
  ASSERT_NE(backend, nullptr);
  const uint64_t now = NowUnixNano();
  model::SpanBatch batch = OneSpanBatch(9, 0, now);
  auto& spans = batch.resource_spans[0].scope_spans[0].spans;
  const model::Span proto = spans[0];
  spans.clear();
  for (uint32_t i = 0; i < 12000; ++i) {
    model::Span s = proto;
    s.span_id[4] = static_cast<uint8_t>(i >> 16);
    s.span_id[5] = static_cast<uint8_t>(i >> 8);
    s.span_id[6] = static_cast<uint8_t>(i);
    s.start_time_unix_nano = now + i;
    spans.push_back(std::move(s));
  }
  ASSERT_TRUE(backend->WriteSpans(std::move(batch), now).ok());
  TraceId trace{};
  trace[15] = 9;
  absl::StatusOr<query::TraceResult> t = backend->GetTrace(WholeTrace(trace));
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->spans.size(), 12000u);
  EXPECT_EQ(t->spans.front().span.start_time_unix_nano, now);
  EXPECT_EQ(t->spans.back().span.start_time_unix_nano, now + 11999);
}

TEST(SearchBackendTest, StartTimesSortAndRangeOverTheWholeUnsignedRange) {
  REQUIRE_NODE();
  std::unique_ptr<Backend> backend = MustOpen(TestSettings());
  ASSERT_NE(backend, nullptr);
  const std::vector<uint64_t> starts = {UINT64_MAX, uint64_t{1} << 63, (uint64_t{1} << 63) - 1, 0,
                                        NowUnixNano()};
  for (size_t i = 0; i < starts.size(); ++i) {
    model::SpanBatch batch = OneSpanBatch(static_cast<uint8_t>(i + 1), 1, starts[i]);
    batch.resource_spans[0].scope_spans[0].spans[0].end_time_unix_nano = starts[i];
    ASSERT_TRUE(backend->WriteSpans(std::move(batch), 1).ok());
  }
  query::SearchQuery q;
  q.sort.ascending = true;
  absl::StatusOr<query::SearchResult> all = backend->Search(q);
  ASSERT_TRUE(all.ok()) << all.status();
  std::vector<uint64_t> got;
  for (const model::StoredSpan& s : all->spans) got.push_back(s.span.start_time_unix_nano);
  std::vector<uint64_t> sorted = starts;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(got, sorted);
  q.range.start_unix_nano = uint64_t{1} << 63;
  absl::StatusOr<query::SearchResult> high = backend->Search(q);
  ASSERT_TRUE(high.ok()) << high.status();
  ASSERT_EQ(high->spans.size(), 2u);
  EXPECT_EQ(high->spans[0].span.start_time_unix_nano, uint64_t{1} << 63);
  EXPECT_EQ(high->spans[1].span.start_time_unix_nano, UINT64_MAX);
}

TEST(SearchBackendTest, ValuesTooLongToIndexAreStoredAndFound) {
  REQUIRE_NODE();
  std::unique_ptr<Backend> backend = MustOpen(TestSettings());
  ASSERT_NE(backend, nullptr);
  const uint64_t now = NowUnixNano();
  model::SpanBatch batch = OneSpanBatch(1, 1, now);
  model::Span& span = batch.resource_spans[0].scope_spans[0].spans[0];
  span.name = std::string(40000, 'n');  // over Lucene's 32766-byte term limit
  span.attributes.push_back({"http.route", std::string(3000, 'r')});  // too long a facet term
  span.attributes.push_back({"payload", std::string(100000, 'p')});
  span.attributes.push_back({std::string(5000, 'k'), "v"});
  ASSERT_TRUE(backend->WriteSpans(batch, now).ok());
  query::SearchQuery q;
  query::Filter by_name;
  by_name.key.intrinsic = query::Intrinsic::kName;
  by_name.key.text = "span.name";
  by_name.value = std::string(40000, 'n');
  query::Filter by_payload;
  by_payload.key.level = query::KeyLevel::kSpan;
  by_payload.key.name = "payload";
  by_payload.key.text = "span.attributes.payload";
  by_payload.value = std::string(100000, 'p');
  q.filters = {by_name, by_payload};
  absl::StatusOr<query::SearchResult> found = backend->Search(q);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->spans.size(), 1u);
  EXPECT_EQ(found->spans[0].span, span);

  // The name is not indexed, so the engine's name values do not add up to the spans: scanned.
  query::TagValuesQuery names;
  names.key = by_name.key;
  names.range = {now - 1000000000, now + 1000000000};
  absl::StatusOr<query::TagValuesResult> values = backend->TagValues(names);
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_EQ(values->values,
            (std::vector<query::TagValueCount>{{std::string(40000, 'n'), 1}}));
  EXPECT_EQ(PushedDownAggregations(*backend), 0u);
  query::TagValuesQuery routes = names;
  routes.key.level = query::KeyLevel::kSpan;
  routes.key.name = "http.route";
  routes.key.text = "span.attributes.http.route";
  values = backend->TagValues(routes);
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_EQ(values->values,
            (std::vector<query::TagValueCount>{{std::string(3000, 'r'), 1}}));
  EXPECT_EQ(PushedDownAggregations(*backend), 0u);
  // A short operand is decided exactly (a name equal to it would be indexed): pushed down.
  query::StatisticsQuery not_short;
  not_short.key.intrinsic = query::Intrinsic::kDuration;
  not_short.key.text = "externalFields.durationNano";
  not_short.range = *names.range;
  not_short.wanted = {{"count", 0}};
  not_short.filters.assign(1, by_name);
  not_short.filters[0].op = query::Operator::kNotEquals;
  not_short.filters[0].value = std::string("n");
  absl::StatusOr<query::StatisticsResult> counted = backend->Statistics(not_short);
  ASSERT_TRUE(counted.ok()) << counted.status();
  EXPECT_EQ(*counted, (query::StatisticsResult{{"count", 1}}));
  EXPECT_EQ(PushedDownAggregations(*backend), 1u);
}

// Spans over 10 s from `start`: services, statuses, kinds and durations (1 µs to ~1 s) in several
// proportions, and an attribute the push-down cannot decide.
model::SpanBatch AggregationBatch(uint64_t start, size_t n) {
  model::SpanBatch batch;
  for (const char* service : {"checkout", "cart", "db"}) {
    auto& rs = batch.resource_spans.emplace_back();
    rs.resource.attributes.push_back({"service.name", service});
    rs.scope_spans.emplace_back();
  }
  for (size_t i = 0; i < n; ++i) {
    // Services in proportions 3:2:1.
    model::Span& s =
        batch.resource_spans[i % 6 < 3 ? 0 : i % 6 < 5 ? 1 : 2].scope_spans[0].spans.emplace_back();
    s.trace_id[15] = static_cast<uint8_t>(i % 7 + 1);
    s.span_id[6] = static_cast<uint8_t>(i / 256);
    s.span_id[7] = static_cast<uint8_t>(i % 256);
    s.name = i % 4 == 0 ? "op" : i % 4 == 1 ? "GET /" : i % 4 == 2 ? "" : "GET /cart";
    s.kind = static_cast<model::SpanKind>(i % 3 + 1);
    s.status.code = static_cast<model::StatusCode>(i % 5 == 0 ? 2 : i % 2);
    // Every fourth span 1 ns before the next millisecond, so that some sit 1 ns before a bucket
    // edge: a bucket of start_ms must still hold exactly the spans of its nanosecond range.
    s.start_time_unix_nano = start + (i * 7919 % 10000) * 1000000 + (i % 4 == 1 ? 999999 : 0);
    s.end_time_unix_nano = s.start_time_unix_nano + 1000 + (i * i * 104729) % 1000000000;
    s.attributes.push_back({"user", static_cast<int64_t>(i % 11)});
    // Facet keys (search_query.h IsFacetKey): strings, ints, doubles, and spans without them.
    if (i % 7 != 0) s.attributes.push_back({"http.method", i % 3 == 0 ? "GET" : "POST"});
    if (i % 5 != 0) {
      s.attributes.push_back({"http.status_code", static_cast<int64_t>(i % 4 == 0 ? 500 : 200)});
    } else {
      s.attributes.push_back({"http.status_code", 200.5});
    }
  }
  return batch;
}

query::Filter IntrinsicFilter(query::Intrinsic intrinsic, std::string text, query::Operator op,
                              query::Scalar value) {
  query::Filter f;
  f.key.intrinsic = intrinsic;
  f.key.text = std::move(text);
  f.op = op;
  f.value = std::move(value);
  return f;
}

query::Key IntrinsicKey(query::Intrinsic intrinsic, std::string text) {
  query::Key k;
  k.intrinsic = intrinsic;
  k.text = std::move(text);
  return k;
}

// Percentile answers within the sketch's bound of the exact ones; every other value equal.
void ExpectWithinSketchBound(const std::map<std::string, double>& got,
                             const std::map<std::string, double>& exact) {
  ASSERT_EQ(got.size(), exact.size());
  for (const auto& [name, value] : exact) {
    ASSERT_TRUE(got.count(name)) << name;
    EXPECT_LE(std::abs(got.at(name) - value), 0.01 * std::abs(value)) << name;
  }
}

// A grouped PERCENTILES histogram of one bucket against the scan engine: the same groups in the
// same order with the same counts, their percentiles within the sketch's bound.
void ExpectGroupedPercentilesNearTheScan(Backend& backend, const query::HistogramQuery& q) {
  query::HistogramCollector oracle(q);
  ASSERT_TRUE(
      backend.ScanSpans(q.range, q.filters, [&](const auto& s) { oracle.Add(s); }).ok());
  const query::HistogramResult exact = std::move(oracle).Finish();
  absl::StatusOr<query::HistogramResult> got = backend.Histograms(q);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 1u);
  ASSERT_EQ((*got)[0].buckets.size(), 1u);
  ASSERT_EQ(exact[0].buckets.size(), 1u);
  EXPECT_EQ((*got)[0].buckets[0].bucket_key, exact[0].buckets[0].bucket_key);
  const auto& want = std::get<query::GroupedPercentiles>(exact[0].buckets[0].data);
  const auto& have = std::get<query::GroupedPercentiles>((*got)[0].buckets[0].data);
  EXPECT_EQ(have.total_count, want.total_count);
  ASSERT_EQ(have.groups.size(), want.groups.size());
  for (size_t g = 0; g < want.groups.size(); ++g) {
    EXPECT_EQ(have.groups[g].key, want.groups[g].key);
    EXPECT_EQ(have.groups[g].count, want.groups[g].count);
    ExpectWithinSketchBound(have.groups[g].percentiles, want.groups[g].percentiles);
  }
}

TEST(SearchBackendTest, AggregationsArePushedDownAndEqualTheScanEngine) {
  REQUIRE_NODE();
  std::unique_ptr<Backend> backend = MustOpen(TestSettings());
  ASSERT_NE(backend, nullptr);
  const uint64_t start = (NowUnixNano() / 1000000000 - 60) * 1000000000;
  ASSERT_TRUE(backend->WriteSpans(AggregationBatch(start, 600), start).ok());
  const query::TimeRange range{start + 500000000, start + 9000000000};
  const query::Filter error = IntrinsicFilter(query::Intrinsic::kStatusCode, "span.status.code",
                                              query::Operator::kEquals, std::string("Error"));
  const query::Filter not_server = IntrinsicFilter(query::Intrinsic::kKind, "span.kind",
                                                   query::Operator::kNotEquals,
                                                   std::string("Server"));
  const query::Filter slow =
      IntrinsicFilter(query::Intrinsic::kDuration, "externalFields.durationNano",
                      query::Operator::kGte, int64_t{200000000});
  query::Filter by_user;
  by_user.key.level = query::KeyLevel::kSpan;
  by_user.key.name = "user";
  by_user.key.text = "span.attributes.user";
  by_user.value = int64_t{3};
  const query::Key duration = IntrinsicKey(query::Intrinsic::kDuration,
                                           "externalFields.durationNano");
  query::Key service;
  service.level = query::KeyLevel::kResource;
  service.name = "service.name";
  service.text = "resource.attributes.service.name";
  query::Filter not_db;
  not_db.key = service;
  not_db.op = query::Operator::kNotIn;
  not_db.values = {std::string("db"), std::string("queue")};
  uint64_t pushed = PushedDownAggregations(*backend);
  auto expect_pushed = [&](bool yes) {
    const uint64_t now = PushedDownAggregations(*backend);
    EXPECT_EQ(now, pushed + (yes ? 1 : 0));
    pushed = now;
  };

  // Statistics: exact ones pushed down with every exactly decided filter, equal to the engine's.
  const query::Filter named_get = IntrinsicFilter(query::Intrinsic::kName, "span.name",
                                                  query::Operator::kEquals, std::string("GET /"));
  query::Filter unnamed_or_op = IntrinsicFilter(query::Intrinsic::kName, "span.name",
                                                query::Operator::kNotIn, std::string());
  unnamed_or_op.value.reset();
  unnamed_or_op.values = {std::string(""), std::string("op")};
  for (const std::vector<query::Filter>& filters :
       std::vector<std::vector<query::Filter>>{{}, {error}, {not_server, slow}, {not_db},
                                               {named_get, not_db}, {unnamed_or_op},
                                               {by_user}}) {
    query::StatisticsQuery q;
    q.key = duration;
    q.range = range;
    q.filters = filters;
    for (const char* name : {"count", "min", "max", "avg", "sum"}) q.wanted.push_back({name, 0});
    query::StatisticsCollector oracle(q);
    ASSERT_TRUE(backend->ScanSpans(range, filters, [&](const auto& s) { oracle.Add(s); }).ok());
    absl::StatusOr<query::StatisticsResult> got = backend->Statistics(q);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, std::move(oracle).Finish());
    EXPECT_EQ(got->at("count") > 0, true);
    expect_pushed(filters.empty() || filters[0].key.level != query::KeyLevel::kSpan);
  }

  // Percentiles: pushed down only when approximate, then within the sketch's 1%.
  for (bool approximate : {false, true}) {
    query::StatisticsQuery q;
    q.key = duration;
    q.range = range;
    q.wanted = {{"p50", 50}, {"p99", 99}, {"max", 0}};
    q.approximate = approximate;
    query::StatisticsCollector oracle(q);
    ASSERT_TRUE(backend->ScanSpans(range, {}, [&](const auto& s) { oracle.Add(s); }).ok());
    const query::StatisticsResult exact = std::move(oracle).Finish();
    absl::StatusOr<query::StatisticsResult> got = backend->Statistics(q);
    ASSERT_TRUE(got.ok()) << got.status();
    ExpectWithinSketchBound(*got, exact);
    EXPECT_EQ(got->at("max"), exact.at("max"));
    expect_pushed(approximate);
  }

  // Histograms: counts, counts by status, approximate latency percentiles.
  query::HistogramQuery h;
  h.range = range;
  h.interval_nano = 1000000000;
  h.filters = {not_server};
  h.approximate = true;
  query::Aggregation count;
  count.label = "count";
  query::Aggregation by_status;
  by_status.label = "by status";
  by_status.group_by = IntrinsicKey(query::Intrinsic::kStatusCode, "span.status.code");
  by_status.max_groups = 2;
  query::Aggregation latency;
  latency.label = "latency";
  latency.func = query::AggregationFunc::kPercentiles;
  latency.key = duration;
  latency.percentiles = {50, 95};
  query::Aggregation by_service;
  by_service.label = "by service";
  by_service.group_by = service;
  query::Aggregation by_name;
  by_name.label = "by name";
  by_name.group_by = IntrinsicKey(query::Intrinsic::kName, "span.name");
  query::Aggregation heat;  // the UI's duration heatmap
  heat.label = "heat";
  heat.func = query::AggregationFunc::kRangeCount;
  heat.key = duration;
  heat.bounds = {0, 1000, 2000, 5000, 1e4, 1e5, 1e6, 1e7, 5e7, 1e8, 5e8, 1e9};
  h.aggregations = {count, by_status, latency, by_service, by_name, heat};
  // 1 s buckets fit one request; 100 ms buckets take five (TimeBucketsPerRequest: 21 each). Both
  // are whole milliseconds (a histogram of start_ms); 999,999,999 ns buckets are range filters.
  for (uint64_t interval : {uint64_t{1000000000}, uint64_t{100000000}, uint64_t{999999999}}) {
    h.interval_nano = interval;
    query::HistogramCollector histogram_oracle(h);
    ASSERT_TRUE(
        backend->ScanSpans(range, h.filters, [&](const auto& s) { histogram_oracle.Add(s); })
            .ok());
    const query::HistogramResult exact = std::move(histogram_oracle).Finish();
    absl::StatusOr<query::HistogramResult> got = backend->Histograms(h);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->size(), 6u);
    EXPECT_EQ((*got)[0], exact[0]);
    EXPECT_EQ((*got)[1], exact[1]);
    EXPECT_EQ((*got)[3], exact[3]);
    EXPECT_EQ((*got)[4], exact[4]);
    EXPECT_EQ((*got)[5], exact[5]);
    ASSERT_EQ((*got)[2].buckets.size(), exact[2].buckets.size());
    EXPECT_EQ((*got)[2].buckets.size(), interval == 100000000 ? 85u : 9u);
    for (size_t i = 0; i < exact[2].buckets.size(); ++i) {
      EXPECT_EQ((*got)[2].buckets[i].bucket_key, exact[2].buckets[i].bucket_key);
      ExpectWithinSketchBound(std::get<std::map<std::string, double>>((*got)[2].buckets[i].data),
                              std::get<std::map<std::string, double>>(exact[2].buckets[i].data));
    }
    expect_pushed(true);
  }
  // p50/p99 per service and per span name over the whole range (the services page), in two
  // steps: counts exact, percentiles within the sketch's bound.
  for (const query::Key& group : {service, IntrinsicKey(query::Intrinsic::kName, "span.name")}) {
    query::HistogramQuery per_group;
    per_group.range = range;
    per_group.interval_nano = uint64_t{1} << 63;
    per_group.filters = {not_server};
    per_group.approximate = true;
    per_group.aggregations.assign(1, latency);
    per_group.aggregations[0].group_by = group;
    per_group.aggregations[0].max_groups = 3;
    ExpectGroupedPercentilesNearTheScan(*backend, per_group);
    expect_pushed(true);
  }

  h.interval_nano = 1000000000;
  h.aggregations.assign(1, query::Aggregation());
  h.aggregations[0].label = "users";
  h.aggregations[0].func = query::AggregationFunc::kDistinctCount;
  h.aggregations[0].key = by_user.key;
  ASSERT_TRUE(backend->Histograms(h).ok());
  expect_pushed(false);

  // Tag values of the status, the kind, the name ("" included) and the service; an attribute's
  // are scanned.
  query::Key http_method;
  http_method.level = query::KeyLevel::kSpan;
  http_method.name = "http.method";
  http_method.text = "span.attributes.http.method";
  query::Key http_status = http_method;
  http_status.name = "http.status_code";
  http_status.text = "span.attributes.http.status_code";
  for (const query::Key& key : {IntrinsicKey(query::Intrinsic::kStatusCode, "span.status.code"),
                                IntrinsicKey(query::Intrinsic::kKind, "span.kind"),
                                IntrinsicKey(query::Intrinsic::kName, "span.name"), service,
                                http_method, http_status, by_user.key}) {
    query::TagValuesQuery q;
    q.key = key;
    q.range = range;
    q.filters = {slow};
    q.limit = 2;
    query::TagValuesCollector oracle(q);
    ASSERT_TRUE(backend->ScanSpans(range, q.filters, [&](const auto& s) { oracle.Add(s); }).ok());
    const query::TagValuesResult want = std::move(oracle).Finish();
    absl::StatusOr<query::TagValuesResult> values = backend->TagValues(q);
    ASSERT_TRUE(values.ok()) << values.status();
    EXPECT_EQ(values->values, want.values) << key.text;
    EXPECT_EQ(values->total_distinct, want.total_distinct) << key.text;
    EXPECT_EQ(values->values.size(), 2u) << key.text;
    expect_pushed(key.name != "user");
  }

  // A range whose daily indices do not exist (nothing stored, or deleted by retention): the
  // engine answers without aggregations, which is an empty answer.
  const uint64_t day = uint64_t{86400} * 1000000000;
  const query::TimeRange nothing{start - 1000 * day, start - 999 * day};
  query::StatisticsQuery none;
  none.key = duration;
  none.range = nothing;
  none.wanted = {{"count", 0}};
  absl::StatusOr<query::StatisticsResult> no_statistics = backend->Statistics(none);
  ASSERT_TRUE(no_statistics.ok()) << no_statistics.status();
  EXPECT_TRUE(no_statistics->empty());
  expect_pushed(true);
  h.range = nothing;
  h.interval_nano = 3600 * uint64_t{1000000000};
  h.aggregations = {count, by_status};
  absl::StatusOr<query::HistogramResult> no_buckets = backend->Histograms(h);
  ASSERT_TRUE(no_buckets.ok()) << no_buckets.status();
  ASSERT_EQ(no_buckets->size(), 2u);
  EXPECT_TRUE((*no_buckets)[0].buckets.empty());
  EXPECT_TRUE((*no_buckets)[1].buckets.empty());
  expect_pushed(true);
}

// More groups than one request holds (kPercentileGroupsPerRequest): asked in parts.
TEST(SearchBackendTest, PercentilesOfManyGroupsAreAskedInParts) {
  REQUIRE_NODE();
  std::unique_ptr<Backend> backend = MustOpen(TestSettings());
  ASSERT_NE(backend, nullptr);
  const uint64_t start = (NowUnixNano() / 1000000000 - 60) * 1000000000;
  model::SpanBatch batch = AggregationBatch(start, 300);
  size_t n = 0;
  for (auto& rs : batch.resource_spans) {
    for (model::Span& s : rs.scope_spans[0].spans) s.name = fmt::format("op-{:02}", n++ % 40);
  }
  ASSERT_TRUE(backend->WriteSpans(batch, start).ok());
  query::HistogramQuery q;
  q.range = query::TimeRange{start, start + 10000000000};
  q.interval_nano = uint64_t{1} << 63;
  q.approximate = true;
  query::Aggregation& latency = q.aggregations.emplace_back();
  latency.label = "latency";
  latency.func = query::AggregationFunc::kPercentiles;
  latency.key = IntrinsicKey(query::Intrinsic::kDuration, "externalFields.durationNano");
  latency.group_by = IntrinsicKey(query::Intrinsic::kName, "span.name");
  latency.percentiles = {50, 99};
  latency.max_groups = kPercentileGroupsPerRequest + 10;  // two requests
  ExpectGroupedPercentilesNearTheScan(*backend, q);
  EXPECT_EQ(PushedDownAggregations(*backend), 1u);
}

// The indexed service is "" both for spans without a string service.name and for an empty one, so
// values and groups of the service are scanned when a span carries "".
TEST(SearchBackendTest, ServicesOfSpansWithoutAServiceNameAreScanned) {
  REQUIRE_NODE();
  std::unique_ptr<Backend> backend = MustOpen(TestSettings());
  ASSERT_NE(backend, nullptr);
  const uint64_t start = (NowUnixNano() / 1000000000 - 60) * 1000000000;
  model::SpanBatch batch = AggregationBatch(start, 12);
  batch.resource_spans[2].resource.attributes[0].value = int64_t{7};  // "db" becomes a number
  ASSERT_TRUE(backend->WriteSpans(batch, start).ok());
  query::TagValuesQuery q;
  q.key.level = query::KeyLevel::kResource;
  q.key.name = "service.name";
  q.key.text = "resource.attributes.service.name";
  q.range = query::TimeRange{start, start + 10000000000};
  absl::StatusOr<query::TagValuesResult> values = backend->TagValues(q);
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_EQ(values->values, (std::vector<query::TagValueCount>{{std::string("checkout"), 6},
                                                               {std::string("cart"), 4},
                                                               {int64_t{7}, 2}}));
  EXPECT_EQ(PushedDownAggregations(*backend), 0u);
  q.filters.assign(1, query::Filter());  // no span carries the service "" (a number is not "")
  q.filters[0].key = q.key;
  q.filters[0].value = std::string("");
  EXPECT_TRUE(SupersetClause(q.filters[0]).has_value());
  EXPECT_FALSE(ExactClause(q.filters[0]).has_value());
  values = backend->TagValues(q);
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_TRUE(values->values.empty());
  EXPECT_EQ(PushedDownAggregations(*backend), 0u);
}

// Creates today's span index as the template of `schema` (1 or 2) made it: strict, schema 1
// without the query fields or _meta, schema 2 without start_ms.
void CreateOldIndex(const std::string& prefix, uint64_t start, int schema) {
  SearchHttpOptions options;
  options.endpoints = {NodeUrl()};
  SearchHttp http(options);
  nlohmann::json keyword = {{"type", "keyword"}};
  nlohmann::json long_type = {{"type", "long"}};
  nlohmann::json properties = {
      {"trace_id", keyword}, {"id", keyword},          {"start", long_type},
      {"duration", long_type}, {"service", keyword},   {"name", keyword},
      {"attr_keys", keyword},  {"attr_values", keyword}, {"span", {{"type", "binary"}}}};
  nlohmann::json mappings = {{"dynamic", "strict"}};
  if (schema >= 2) {
    properties.update({{"status", keyword},
                       {"kind", keyword},
                       {"dur", long_type},
                       {"dur_bucket", {{"type", "short"}}}});
    mappings["_meta"] = {{"teletrace_schema", schema}};
  }
  mappings["properties"] = properties;
  const std::string day = absl::FormatTime("%Y-%m-%d", absl::FromUnixNanos(start),
                                           absl::UTCTimeZone());
  absl::StatusOr<SearchResponse> created =
      http.Send("PUT", "/" + prefix + "-spans-" + day,
                nlohmann::json{{"mappings", mappings}}.dump(), "create");
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_EQ(created->status, 200) << created->body;
}

TEST(SearchBackendTest, AnIndexFromTheOldTemplateTakesTheNewFieldsAndIsScanned) {
  REQUIRE_NODE();
  BackendSettings settings = TestSettings();
  const uint64_t start = (NowUnixNano() / 1000000000 - 60) * 1000000000;
  CreateOldIndex(settings["index_prefix"], start, 1);
  std::unique_ptr<Backend> backend = MustOpen(settings);
  ASSERT_NE(backend, nullptr);
  ASSERT_TRUE(backend->WriteSpans(AggregationBatch(start, 50), start).ok());
  query::StatisticsQuery q;
  q.key = IntrinsicKey(query::Intrinsic::kDuration, "externalFields.durationNano");
  q.range = {start, start + 10000000000};
  q.wanted = {{"count", 0}};
  absl::StatusOr<query::StatisticsResult> got = backend->Statistics(q);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->at("count"), 50);
  EXPECT_EQ(PushedDownAggregations(*backend), 0u);
}

// An index of schema 2 lacks start_ms and facet_values in older documents: its histograms are
// still pushed down, as one range filter per bucket, and equal the scan engine's; facet values
// are scanned.
TEST(SearchBackendTest, AnIndexOfSchemaTwoHistogramsWithRangeFilters) {
  REQUIRE_NODE();
  BackendSettings settings = TestSettings();
  const uint64_t start = (NowUnixNano() / 1000000000 - 60) * 1000000000;
  CreateOldIndex(settings["index_prefix"], start, 2);
  std::unique_ptr<Backend> backend = MustOpen(settings);
  ASSERT_NE(backend, nullptr);
  ASSERT_TRUE(backend->WriteSpans(AggregationBatch(start, 200), start).ok());
  query::HistogramQuery h;
  h.range = {start, start + 10000000000};
  h.interval_nano = 1000000000;
  h.aggregations.assign(1, query::Aggregation());
  h.aggregations[0].label = "count";
  query::HistogramCollector oracle(h);
  ASSERT_TRUE(backend->ScanSpans(h.range, {}, [&](const auto& s) { oracle.Add(s); }).ok());
  const query::HistogramResult exact = std::move(oracle).Finish();
  absl::StatusOr<query::HistogramResult> got = backend->Histograms(h);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, exact);
  ASSERT_EQ(exact.size(), 1u);
  EXPECT_EQ(exact[0].buckets.size(), 10u);
  EXPECT_EQ(PushedDownAggregations(*backend), 1u);
  // Its documents may lack facet_values (schema 3): the HTTP method's values are scanned.
  query::TagValuesQuery methods;
  methods.key.level = query::KeyLevel::kSpan;
  methods.key.name = "http.method";
  methods.key.text = "span.attributes.http.method";
  methods.range = h.range;
  absl::StatusOr<query::TagValuesResult> values = backend->TagValues(methods);
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_EQ(values->values, (std::vector<query::TagValueCount>{{std::string("POST"), 114},
                                                               {std::string("GET"), 57}}));
  EXPECT_EQ(PushedDownAggregations(*backend), 1u);
}

TEST(SearchBackendTest, AFinishedDayIsForceMergedToOneSegment) {
  REQUIRE_NODE();
  BackendSettings settings = TestSettings();
  const std::string prefix = settings["index_prefix"];
  std::unique_ptr<Backend> backend = MustOpen(settings);
  ASSERT_NE(backend, nullptr);
  const uint64_t day = uint64_t{86400} * 1000000000;
  const uint64_t start = (NowUnixNano() / day - 3) * day + 1000;  // three days ago
  SearchHttpOptions options;
  options.endpoints = {NodeUrl()};
  SearchHttp http(options);
  auto segments = [&] {
    absl::StatusOr<SearchResponse> r =
        http.Send("GET", "/_cat/segments/" + prefix + "-spans-*?format=json", "", "segments");
    EXPECT_TRUE(r.ok()) << r.status();
    nlohmann::json rows = nlohmann::json::parse(r->body, nullptr, false);
    return rows.is_array() ? rows.size() : size_t{0};
  };
  for (uint8_t i = 1; i <= 3; ++i) {  // a refresh between writes: one segment each
    ASSERT_TRUE(backend->WriteSpans(OneSpanBatch(i, 1, start + i), start).ok());
    ASSERT_EQ(CountSpans(*backend), i);
  }
  ASSERT_GE(segments(), 2u);
  ASSERT_TRUE(backend->EnforceRetention().ok());
  EXPECT_EQ(segments(), 1u);
  EXPECT_EQ(CountSpans(*backend), 3u);
}

TEST(SearchBackendTest, APageOverTheResponseLimitIsAskedAgainWithFewerHits) {
  REQUIRE_NODE();
  std::unique_ptr<Backend> backend = MustOpen(TestSettings({{"max_response_bytes", "32MiB"}}));
  ASSERT_NE(backend, nullptr);
  const uint64_t now = NowUnixNano();
  model::SpanBatch batch = OneSpanBatch(4, 0, now);
  auto& spans = batch.resource_spans[0].scope_spans[0].spans;
  const model::Span proto = spans[0];
  spans.clear();
  for (uint8_t i = 0; i < 30; ++i) {  // 30 x 1.5 MB: ~60 MB of base64 in one page of 51
    model::Span s = proto;
    s.span_id[7] = i;
    s.attributes.push_back({"blob", std::string(1500000, static_cast<char>('a' + i % 26))});
    spans.push_back(std::move(s));
  }
  absl::Status written = backend->WriteSpans(std::move(batch), now);
  ASSERT_TRUE(written.ok()) << written;
  absl::StatusOr<query::SearchResult> page = backend->Search(query::SearchQuery{});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->spans.size(), 30u);
  TraceId trace{};
  trace[15] = 4;
  absl::StatusOr<query::TraceResult> t = backend->GetTrace(WholeTrace(trace));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->spans.size(), 30u);
}

TEST(SearchHttpTest, ErrorsCarryTheEnginesTypeAndReason) {
  REQUIRE_NODE();
  SearchHttpOptions options;
  options.endpoints = {NodeUrl()};
  SearchHttp http(options);
  absl::StatusOr<SearchResponse> r = http.Send("POST", "/no-such-index-xyz/_search", "{\"query\":{\"nope\":{}}}", "bad search");
  ASSERT_TRUE(r.ok()) << r.status();
  absl::Status s = Check(*r, "bad search");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("elasticsearch: bad search: " + NodeUrl()));
  EXPECT_THAT(s.message(), HasSubstr("_exception"));
}

}  // namespace
}  // namespace teletrace::storage::elasticsearch
