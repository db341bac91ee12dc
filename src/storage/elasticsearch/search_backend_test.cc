// The elasticsearch backend against real nodes. The node tests (the conformance suite and the ones
// below) need TELETRACE_ELASTICSEARCH_URL (e.g. http://127.0.0.1:19200) and skip without it;
// `ctest` runs this binary through tests/elasticsearch/run_with_node.sh, which starts a throwaway
// OpenSearch or Elasticsearch node on loopback and sets the variable.
#include "storage/elasticsearch/search_backend.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>

#include "common/ids.h"
#include "common/time_util.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "storage/elasticsearch/search_http.h"
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
