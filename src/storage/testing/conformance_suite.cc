#include "storage/testing/conformance_suite.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "query/parse.h"

namespace teletrace::storage::testing {

void StorageConformance::SetUp() {
  backend_ = GetParam()();
  ASSERT_NE(backend_, nullptr) << "the storage factory returned no backend";
}

void StorageConformance::TearDown() { backend_.reset(); }

query::Key KeyOf(std::string_view text) {
  absl::StatusOr<query::Key> key = query::ParseKey(text, "test");
  EXPECT_TRUE(key.ok()) << key.status();
  return key.ok() ? *key : query::Key{};
}

query::Filter FilterOf(std::string_view key, query::Operator op, std::optional<query::Scalar> value,
                       std::vector<query::Scalar> values) {
  query::Filter f{KeyOf(key), op, std::move(value), std::move(values)};
  absl::Status valid = query::ValidateFilter(f, "test");
  EXPECT_TRUE(valid.ok()) << key << ": " << valid;
  return f;
}

namespace {

using model::AnyValue;
using model::ArrayValue;
using model::Bytes;
using model::KeyValueList;
using model::SpanKind;
using model::StatusCode;
using model::StoredSpan;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

constexpr uint64_t kMs = 1000000;
constexpr uint64_t kUs = 1000;
// A multiple of every histogram interval used below.
constexpr uint64_t kT0 = 1700000000000000000ULL;
constexpr uint64_t kIngestion = 1700000100000000000ULL;

TraceId TraceIdOf(uint8_t t) {
  TraceId id;
  id.fill(t);
  return id;
}

// Span ids fall as the index rises, so a backend that breaks ties by insertion order instead of
// by span id is caught.
SpanId SpanIdOf(int index) {
  SpanId id;
  id.fill(static_cast<uint8_t>(index >> 8));
  id[0] = static_cast<uint8_t>(250 - (index % 250));
  id[7] = static_cast<uint8_t>(index);
  return id;
}


query::TimeRange Everything() { return query::TimeRange{0, UINT64_MAX}; }

// ---------------------------------------------------------------------------------------------
// The corpus: ten spans in four traces, two resources, two scopes. Spans 0-7 start inside
// CorpusRange(); span 8 starts after it and span 9 before it.

struct CorpusSpan {
  int index;
  uint8_t trace;
  char resource;  // 'A' or 'B'
  char scope;     // 'H' or 'D'
  std::string name;
  SpanKind kind;
  StatusCode code;
  std::string status_message;
  int64_t start_ms;
  uint64_t duration_us;
  KeyValueList attributes;
  std::vector<model::Event> events;
  std::vector<model::Link> links;
  int parent = -1;
};

query::TimeRange CorpusRange() { return query::TimeRange{kT0, kT0 + 50 * kMs}; }

std::vector<CorpusSpan> CorpusSpans() {
  auto event = [](std::string name, KeyValueList attributes) {
    return model::Event{kT0 + 1, std::move(name), std::move(attributes), 0};
  };
  model::Link follows{TraceIdOf(1), SpanIdOf(0), "", {{"link.kind", AnyValue("follows")}}, 0, 1};
  return {
      {0, 1, 'A', 'H', "GET /home", SpanKind::kServer, StatusCode::kOk, "", 0, 500,
       {{"http.method", AnyValue("GET")},
        {"http.status_code", AnyValue(int64_t{200})},
        {"ratio", AnyValue(0.5)},
        {"cached", AnyValue(true)}},
       {}, {}},
      {1, 1, 'A', 'H', "GET /cart", SpanKind::kClient, StatusCode::kUnset, "", 10, 300,
       {{"http.method", AnyValue("GET")},
        {"http.status_code", AnyValue(int64_t{404})},
        {"ratio", AnyValue(1.5)}},
       {}, {}, 0},
      {2, 1, 'B', 'D', "SELECT cart", SpanKind::kClient, StatusCode::kError, "db down", 20, 300,
       {{"db.system", AnyValue("postgres")}, {"retries", AnyValue(int64_t{3})}},
       {event("exception", {{"exception.type", AnyValue("Timeout")}})}, {}, 1},
      {3, 2, 'A', 'H', "POST /pay", SpanKind::kServer, StatusCode::kError, "", 20, 1000,
       {{"http.method", AnyValue("POST")},
        {"http.status_code", AnyValue(int64_t{500})},
        {"cached", AnyValue(false)}},
       {}, {follows}},
      {4, 2, 'B', 'D', "INSERT pay", SpanKind::kInternal, StatusCode::kOk, "", 30, 100,
       {{"db.system", AnyValue("mysql")}, {"retries", AnyValue(int64_t{0})}}, {}, {}, 3},
      {5, 2, 'B', 'H', "GET /stock", SpanKind::kClient, StatusCode::kUnset, "", 40, 300,
       {{"http.method", AnyValue("GET")},
        {"http.status_code", AnyValue(int64_t{200})},
        {"tags", AnyValue(ArrayValue{AnyValue("a"), AnyValue("b")})}},
       {}, {}, 3},
      {6, 3, 'A', 'D', "consume", SpanKind::kConsumer, StatusCode::kUnset, "", 50, 2000,
       {{"messaging.system", AnyValue("kafka")}},
       {event("retry", {{"attempt", AnyValue(int64_t{1})}}),
        event("exception", {{"exception.type", AnyValue("IOError")}})},
       {}},
      {7, 3, 'A', 'H', "produce", SpanKind::kProducer, StatusCode::kOk, "", 50, 50,
       {{"messaging.system", AnyValue("kafka")}, {"ratio", AnyValue(2.5)}}, {}, {}, 6},
      {8, 3, 'B', 'D', "late", SpanKind::kInternal, StatusCode::kUnset, "", 10000, 10,
       {{"late.only", AnyValue("x")}}, {}, {}},
      {9, 4, 'B', 'D', "early", SpanKind::kInternal, StatusCode::kUnset, "", -10000, 10, {}, {},
       {}},
  };
}

std::shared_ptr<const model::Resource> ResourceOf(char which) {
  if (which == 'A') {
    return std::make_shared<const model::Resource>(
        model::Resource{{{"service.name", AnyValue("frontend")},
                         {"deployment.environment", AnyValue("prod")},
                         {"host.cpus", AnyValue(int64_t{4})}},
                        0,
                        ""});
  }
  return std::make_shared<const model::Resource>(
      model::Resource{{{"service.name", AnyValue("backend")},
                       {"host.cpus", AnyValue(int64_t{8})},
                       {"host.arch", AnyValue("arm64")}},
                      0,
                      ""});
}

std::shared_ptr<const model::Scope> ScopeOf(char which) {
  if (which == 'H') {
    return std::make_shared<const model::Scope>(
        model::Scope{"http", "1.0", {{"lib.lang", AnyValue("cpp")}}, 0, ""});
  }
  return std::make_shared<const model::Scope>(model::Scope{"db", "2.1", {}, 0, ""});
}

model::Span SpanOf(const CorpusSpan& c) {
  model::Span s;
  s.trace_id = TraceIdOf(c.trace);
  s.span_id = SpanIdOf(c.index);
  if (c.parent >= 0) s.parent_span_id = SpanIdOf(c.parent);
  s.name = c.name;
  s.kind = c.kind;
  s.status = model::Status{c.status_message, c.code};
  s.start_time_unix_nano = static_cast<uint64_t>(static_cast<int64_t>(kT0) + c.start_ms *
                                                                                  int64_t{1000000});
  s.end_time_unix_nano = s.start_time_unix_nano + c.duration_us * kUs;
  s.attributes = c.attributes;
  s.events = c.events;
  s.links = c.links;
  return s;
}

// One batch per (resource, scope) pair, in corpus order inside each.
model::SpanBatch BatchOf(const std::vector<CorpusSpan>& spans) {
  model::SpanBatch batch;
  for (char r : {'A', 'B'}) {
    model::ResourceSpans rs;
    rs.resource = *ResourceOf(r);
    for (char sc : {'H', 'D'}) {
      model::ScopeSpans ss;
      ss.scope = *ScopeOf(sc);
      for (const CorpusSpan& c : spans) {
        if (c.resource == r && c.scope == sc) ss.spans.push_back(SpanOf(c));
      }
      if (!ss.spans.empty()) rs.scope_spans.push_back(std::move(ss));
    }
    if (!rs.scope_spans.empty()) batch.resource_spans.push_back(std::move(rs));
  }
  return batch;
}

// The index of a corpus span, read back from its span id.
int IndexOf(const StoredSpan& s) { return s.span.span_id[7] + 256 * s.span.span_id[1]; }

std::vector<int> IndexesOf(const std::vector<StoredSpan>& spans) {
  std::vector<int> out;
  for (const StoredSpan& s : spans) out.push_back(IndexOf(s));
  return out;
}

std::vector<int> Sorted(std::vector<int> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// Every matching span of `query` (which must not be paged), collected over as many pages as it
// takes, checking the paging contract along the way.
std::vector<StoredSpan> SearchAll(Backend& backend, query::SearchQuery q) {
  std::vector<StoredSpan> all;
  for (int page = 0; page < 10000; ++page) {
    absl::StatusOr<query::SearchResult> result = backend.Search(q);
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok()) return all;
    EXPECT_LE(result->spans.size(), q.page_size);
    for (StoredSpan& s : result->spans) all.push_back(std::move(s));
    if (!result->next.has_value()) return all;
    // Only a full page may say that more follows.
    EXPECT_EQ(result->spans.size(), q.page_size);
    q.after = result->next;
  }
  ADD_FAILURE() << "paging did not end";
  return all;
}

std::vector<int> SearchIndexes(Backend& backend, std::vector<query::Filter> filters,
                               query::TimeRange range = CorpusRange()) {
  query::SearchQuery q;
  q.range = range;
  q.filters = std::move(filters);
  q.page_size = query::kMaxPageSize;
  return Sorted(IndexesOf(SearchAll(backend, q)));
}

void WriteCorpus(Backend& backend) {
  ASSERT_TRUE(backend.WriteSpans(BatchOf(CorpusSpans()), kIngestion).ok());
}

KeyValueList EveryValueType(std::string_view prefix) {
  auto k = [&](std::string_view name) { return fmt::format("{}{}", prefix, name); };
  return {
      {k("str"), AnyValue("text \xe2\x9c\x93")},
      {k("str.empty"), AnyValue("")},
      {k("bool"), AnyValue(true)},
      {k("int"), AnyValue(int64_t{-42})},
      {k("int.max"), AnyValue(std::numeric_limits<int64_t>::max())},
      {k("int.min"), AnyValue(std::numeric_limits<int64_t>::min())},
      {k("double"), AnyValue(0.1)},
      {k("bytes"), AnyValue(Bytes{std::string("\x00\xff\x10", 3)})},
      {k("empty"), AnyValue()},
      {k("array"),
       AnyValue(ArrayValue{AnyValue("x"), AnyValue(int64_t{1}), AnyValue(ArrayValue{}),
                           AnyValue(ArrayValue{AnyValue(false), AnyValue(2.5)})})},
      {k("kvlist"),
       AnyValue(KeyValueList{{"a", AnyValue(int64_t{1})},
                             {"nested", AnyValue(KeyValueList{{"b", AnyValue(Bytes{""})}})}})},
  };
}

// ---------------------------------------------------------------------------------------------
// Writing and reading back.

TEST_P(StorageConformance, ReadsBackEveryFieldExactly) {
  model::SpanBatch batch;
  model::ResourceSpans& rs = batch.resource_spans.emplace_back();
  rs.resource.attributes = EveryValueType("r.");
  rs.resource.attributes.push_back({"service.name", AnyValue("fidelity")});
  rs.resource.dropped_attributes_count = 3;
  rs.resource.schema_url = "https://opentelemetry.io/schemas/1.21.0";
  model::ScopeSpans& ss = rs.scope_spans.emplace_back();
  ss.scope = model::Scope{"scope.lib", "9.9.9", EveryValueType("s."), 4, "https://scope.schema"};

  model::Span root;
  root.trace_id = TraceIdOf(0xab);
  root.span_id = SpanIdOf(1);
  root.trace_state = "vendor=1,other=two";
  root.flags = 0x301;
  root.name = "root \xc3\xa9";
  root.kind = SpanKind::kServer;
  root.start_time_unix_nano = kT0 + 123456789;  // sub-millisecond digits must survive
  root.end_time_unix_nano = kT0 + 987654321;
  root.attributes = EveryValueType("");
  root.dropped_attributes_count = 5;
  root.events = {
      model::Event{kT0 + 200000001, "exception", EveryValueType("e."), 6},
      model::Event{kT0 + 300000002, "", {}, 0},
  };
  root.dropped_events_count = 7;
  root.links = {
      model::Link{TraceIdOf(0xcd), SpanIdOf(9), "ts=1", EveryValueType("l."), 8, 0x101},
      model::Link{TraceIdOf(0xce), SpanIdOf(10), "", {}, 0, 0},
  };
  root.dropped_links_count = 9;
  root.status = model::Status{"it failed", StatusCode::kError};

  model::Span child;
  child.trace_id = root.trace_id;
  child.span_id = SpanIdOf(2);
  child.parent_span_id = root.span_id;
  child.name = "child";
  child.kind = SpanKind::kConsumer;
  child.start_time_unix_nano = kT0 + 500000001;
  child.end_time_unix_nano = kT0 + 500000001;  // zero duration
  child.status.code = StatusCode::kOk;
  ss.spans = {root, child};
  const model::Resource resource = rs.resource;
  const model::Scope scope = ss.scope;

  ASSERT_TRUE(backend().WriteSpans(batch, kIngestion).ok());

  absl::StatusOr<query::TraceResult> trace = backend().GetTrace({root.trace_id, 0, std::nullopt});
  ASSERT_TRUE(trace.ok()) << trace.status();
  ASSERT_EQ(trace->spans.size(), 2u);
  EXPECT_FALSE(trace->next.has_value());
  const std::vector<model::Span> want = {root, child};
  for (size_t i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    const StoredSpan& got = trace->spans[i];
    EXPECT_EQ(got.span, want[i]);
    ASSERT_NE(got.resource, nullptr);
    ASSERT_NE(got.scope, nullptr);
    EXPECT_EQ(*got.resource, resource);
    EXPECT_EQ(*got.scope, scope);
    EXPECT_EQ(got.ingestion_time_unix_nano, kIngestion);
  }

  // Search returns the same complete spans.
  query::SearchQuery q;
  q.range = Everything();
  q.sort = query::Sort{query::SortField::kStartTime, true};
  absl::StatusOr<query::SearchResult> found = backend().Search(q);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->spans.size(), 2u);
  EXPECT_EQ(found->spans[0].span, root);
  EXPECT_EQ(found->spans[1].span, child);
  EXPECT_EQ(*found->spans[0].resource, resource);
  EXPECT_EQ(*found->spans[0].scope, scope);
  EXPECT_EQ(found->spans[0].ingestion_time_unix_nano, kIngestion);
}

TEST_P(StorageConformance, EmptyBatchIsAccepted) {
  EXPECT_TRUE(backend().WriteSpans(model::SpanBatch{}, kIngestion).ok());
  query::SearchQuery q;
  q.range = Everything();
  absl::StatusOr<query::SearchResult> found = backend().Search(q);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_TRUE(found->spans.empty());
  EXPECT_FALSE(found->next.has_value());
}

TEST_P(StorageConformance, RewritingSpansStoresThemOnce) {
  WriteCorpus(backend());
  // The same spans again, renamed and stamped later: the first stored copy must win.
  std::vector<CorpusSpan> again = CorpusSpans();
  for (CorpusSpan& c : again) c.name += " (retry)";
  ASSERT_TRUE(backend().WriteSpans(BatchOf(again), kIngestion + 1).ok());
  // A batch repeating one new span and one old span inside itself.
  CorpusSpan fresh = CorpusSpans()[0];
  fresh.index = 20;
  fresh.name = "fresh";
  CorpusSpan fresh_copy = fresh;
  fresh_copy.name = "fresh copy";
  ASSERT_TRUE(
      backend().WriteSpans(BatchOf({fresh, fresh_copy, CorpusSpans()[1]}), kIngestion + 2).ok());

  std::vector<int> all = SearchIndexes(backend(), {}, Everything());
  EXPECT_THAT(all, ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 20));

  absl::StatusOr<query::TraceResult> trace = backend().GetTrace({TraceIdOf(1), 0, std::nullopt});
  ASSERT_TRUE(trace.ok()) << trace.status();
  std::vector<std::string> names;
  for (const StoredSpan& s : trace->spans) {
    names.push_back(s.span.name);
    EXPECT_EQ(s.ingestion_time_unix_nano, IndexOf(s) == 20 ? kIngestion + 2 : kIngestion);
  }
  // Start-time order; spans 0 and 20 tie on start, span 20's id is smaller.
  EXPECT_THAT(names, ElementsAre("fresh", "GET /home", "GET /cart", "SELECT cart"));

  query::TagValuesQuery tv{KeyOf("resource.attributes.service.name"), Everything(), {}, 0};
  absl::StatusOr<query::TagValuesResult> values = backend().TagValues(tv);
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_THAT(values->values, ElementsAre(query::TagValueCount{std::string("frontend"), 6},
                                          query::TagValueCount{std::string("backend"), 5}));

  query::StatisticsQuery stats{KeyOf("externalFields.durationNano"), Everything(), {},
                               {{"count", 0}}};
  absl::StatusOr<query::StatisticsResult> counted = backend().Statistics(stats);
  ASSERT_TRUE(counted.ok()) << counted.status();
  EXPECT_EQ(*counted, (query::StatisticsResult{{"count", 11}}));
}

// The ingest pipeline prepares a group while the previous one commits: a span committed between
// another write's prepare and its commit still wins, and the rest of that write is stored.
TEST_P(StorageConformance, PreparedWritesCommitLikeWrites) {
  std::vector<CorpusSpan> corpus = CorpusSpans();
  std::vector<CorpusSpan> first(corpus.begin(), corpus.begin() + 4);
  std::vector<CorpusSpan> second = corpus;  // repeats `first`, renamed
  for (CorpusSpan& c : second) c.name += " (retry)";
  std::unique_ptr<Backend::PreparedWrite> a = backend().PrepareWrite(BatchOf(first), kIngestion);
  std::unique_ptr<Backend::PreparedWrite> b =
      backend().PrepareWrite(BatchOf(second), kIngestion + 1);
  ASSERT_TRUE(backend().CommitWrite(*a).ok());
  ASSERT_TRUE(backend().CommitWrite(*b).ok());
  ASSERT_TRUE(backend().CommitWrite(*backend().PrepareWrite(model::SpanBatch{}, kIngestion)).ok());

  std::vector<int> all = SearchIndexes(backend(), {}, Everything());
  EXPECT_THAT(all, ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
  query::SearchQuery q;
  q.range = Everything();
  q.page_size = query::kMaxPageSize;
  std::vector<StoredSpan> found = SearchAll(backend(), q);
  ASSERT_EQ(found.size(), 10u);
  for (const StoredSpan& s : found) {
    const bool from_first = IndexOf(s) < 4;
    EXPECT_EQ(s.ingestion_time_unix_nano, from_first ? kIngestion : kIngestion + 1) << IndexOf(s);
    EXPECT_EQ(s.span.name.ends_with(" (retry)"), !from_first) << IndexOf(s);
  }
}

// ---------------------------------------------------------------------------------------------
// Traces.

TEST_P(StorageConformance, GetTraceReturnsEverySpanAcrossWrites) {
  // Trace 1 arrives in three separate writes, out of order.
  std::vector<CorpusSpan> corpus = CorpusSpans();
  ASSERT_TRUE(backend().WriteSpans(BatchOf({corpus[2]}), kIngestion).ok());
  ASSERT_TRUE(backend().WriteSpans(BatchOf({corpus[0], corpus[3]}), kIngestion).ok());
  ASSERT_TRUE(backend().WriteSpans(BatchOf({corpus[1]}), kIngestion).ok());

  absl::StatusOr<query::TraceResult> trace = backend().GetTrace({TraceIdOf(1), 0, std::nullopt});
  ASSERT_TRUE(trace.ok()) << trace.status();
  EXPECT_THAT(IndexesOf(trace->spans), ElementsAre(0, 1, 2));
  EXPECT_FALSE(trace->next.has_value());
  EXPECT_EQ(trace->spans[2].resource->attributes, ResourceOf('B')->attributes);
  EXPECT_EQ(trace->spans[2].scope->name, "db");
}

TEST_P(StorageConformance, GetTracePagesWithoutSkipOrRepeat) {
  // 23 spans of one trace, starts with many ties, in two writes.
  std::vector<CorpusSpan> spans;
  for (int i = 0; i < 23; ++i) {
    CorpusSpan c = CorpusSpans()[0];
    c.index = 30 + i;
    c.trace = 7;
    c.start_ms = (i * 7) % 5;  // five distinct start times
    c.name = fmt::format("op{}", i);
    spans.push_back(c);
  }
  ASSERT_TRUE(backend()
                  .WriteSpans(BatchOf(std::vector<CorpusSpan>(spans.begin(), spans.begin() + 11)),
                              kIngestion)
                  .ok());
  ASSERT_TRUE(backend()
                  .WriteSpans(BatchOf(std::vector<CorpusSpan>(spans.begin() + 11, spans.end())),
                              kIngestion)
                  .ok());
  std::vector<std::pair<uint64_t, SpanId>> order;
  for (const CorpusSpan& c : spans) order.emplace_back(SpanOf(c).start_time_unix_nano,
                                                       SpanIdOf(c.index));
  std::sort(order.begin(), order.end());
  std::vector<int> want;
  for (const auto& [start, id] : order) want.push_back(id[7]);

  absl::StatusOr<query::TraceResult> whole = backend().GetTrace({TraceIdOf(7), 0, std::nullopt});
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_THAT(IndexesOf(whole->spans), ElementsAreArray(want));

  for (size_t page_size : {1u, 4u, 5u, 23u, 100u}) {
    SCOPED_TRACE(page_size);
    std::vector<int> got;
    query::TraceQuery q{TraceIdOf(7), page_size, std::nullopt};
    int pages = 0;
    while (pages++ < 100) {
      absl::StatusOr<query::TraceResult> page = backend().GetTrace(q);
      ASSERT_TRUE(page.ok()) << page.status();
      ASSERT_LE(page->spans.size(), page_size);
      for (int index : IndexesOf(page->spans)) got.push_back(index);
      if (!page->next.has_value()) break;
      ASSERT_EQ(page->spans.size(), page_size);
      q.after = page->next;
    }
    EXPECT_THAT(got, ElementsAreArray(want));
  }
}

TEST_P(StorageConformance, GetTraceOfUnknownTraceIsNotFound) {
  WriteCorpus(backend());
  absl::StatusOr<query::TraceResult> trace = backend().GetTrace({TraceIdOf(0x5e), 0, std::nullopt});
  EXPECT_EQ(trace.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(trace.status().message(), "trace 5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e not found");
}

// ---------------------------------------------------------------------------------------------
// Search.

TEST_P(StorageConformance, SearchKeepsSpansStartingInsideTheRange) {
  WriteCorpus(backend());
  EXPECT_THAT(SearchIndexes(backend(), {}), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7));
  EXPECT_THAT(SearchIndexes(backend(), {}, Everything()),
              ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
  // Both ends are inclusive, to the nanosecond.
  EXPECT_THAT(SearchIndexes(backend(), {}, {kT0 + 20 * kMs, kT0 + 40 * kMs}),
              ElementsAre(2, 3, 4, 5));
  EXPECT_THAT(SearchIndexes(backend(), {}, {kT0 + 20 * kMs + 1, kT0 + 40 * kMs - 1}),
              ElementsAre(4));
  EXPECT_THAT(SearchIndexes(backend(), {}, {kT0 + 10000 * kMs, kT0 + 10000 * kMs}),
              ElementsAre(8));
  EXPECT_THAT(SearchIndexes(backend(), {}, {kT0 + 51 * kMs, kT0 + 9999 * kMs}), ElementsAre());
}

struct FilterCase {
  std::vector<query::Filter> filters;
  std::vector<int> want;
};

TEST_P(StorageConformance, SearchAppliesEveryOperatorAtEveryKeyLevel) {
  WriteCorpus(backend());
  using query::Operator;
  using S = query::Scalar;
  const std::string t1 = ToHex(TraceIdOf(1));
  const std::string t2 = ToHex(TraceIdOf(2));
  const std::string span0 = ToHex(SpanIdOf(0));
  auto f = [](std::string_view key, Operator op, std::optional<S> value = std::nullopt,
              std::vector<S> values = {}) {
    return std::vector<query::Filter>{FilterOf(key, op, std::move(value), std::move(values))};
  };
  const std::vector<FilterCase> cases = {
      // Intrinsics.
      {f("span.name", Operator::kEquals, S("GET /home")), {0}},
      {f("span.name", Operator::kNotEquals, S("GET /home")), {1, 2, 3, 4, 5, 6, 7}},
      {f("span.name", Operator::kIn, {}, {S("GET /home"), S("produce")}), {0, 7}},
      {f("span.name", Operator::kNotIn, {}, {S("GET /home"), S("produce")}), {1, 2, 3, 4, 5, 6}},
      {f("span.name", Operator::kContains, S("GET")), {0, 1, 5}},
      {f("span.name", Operator::kNotContains, S("GET")), {2, 3, 4, 6, 7}},
      {f("span.kind", Operator::kEquals, S("Client")), {1, 2, 5}},
      {f("span.kind", Operator::kNotEquals, S("Client")), {0, 3, 4, 6, 7}},
      {f("span.status.code", Operator::kEquals, S("Error")), {2, 3}},
      {f("span.status.code", Operator::kIn, {}, {S("Ok"), S("Error")}), {0, 2, 3, 4, 7}},
      {f("span.status.message", Operator::kEquals, S("db down")), {2}},
      {f("externalFields.durationNano", Operator::kGt, S(int64_t{300000})), {0, 3, 6}},
      {f("externalFields.durationNano", Operator::kGte, S(int64_t{300000})), {0, 1, 2, 3, 5, 6}},
      {f("externalFields.durationNano", Operator::kLt, S(int64_t{300000})), {4, 7}},
      {f("externalFields.durationNano", Operator::kLte, S(int64_t{100000})), {4, 7}},
      {f("span.startTimeUnixNano", Operator::kGte, S(static_cast<int64_t>(kT0 + 40 * kMs))),
       {5, 6, 7}},
      {f("span.traceId", Operator::kEquals, S(t2)), {3, 4, 5}},
      {f("span.traceId", Operator::kNotEquals, S(t2)), {0, 1, 2, 6, 7}},
      {f("span.parentSpanId", Operator::kEquals, S(span0)), {1}},
      {f("scope.name", Operator::kEquals, S("db")), {2, 4, 6}},
      {f("scope.version", Operator::kEquals, S("1.0")), {0, 1, 3, 5, 7}},
      {f("span.events.name", Operator::kEquals, S("exception")), {2, 6}},
      {f("span.events.name", Operator::kNotEquals, S("exception")), {0, 1, 3, 4, 5, 7}},
      {f("span.links.traceId", Operator::kEquals, S(t1)), {3}},
      // Resource attributes.
      {f("resource.attributes.service.name", Operator::kEquals, S("backend")), {2, 4, 5}},
      {f("resource.attributes.deployment.environment", Operator::kExists), {0, 1, 3, 6, 7}},
      {f("resource.attributes.deployment.environment", Operator::kNotExists), {2, 4, 5}},
      {f("resource.attributes.host.cpus", Operator::kGt, S(int64_t{4})), {2, 4, 5}},
      {f("resource.attributes.host.cpus", Operator::kEquals, S(int64_t{4})), {0, 1, 3, 6, 7}},
      // Scope attributes.
      {f("scope.attributes.lib.lang", Operator::kEquals, S("cpp")), {0, 1, 3, 5, 7}},
      {f("scope.attributes.lib.lang", Operator::kNotExists), {2, 4, 6}},
      // Span attributes.
      {f("span.attributes.http.method", Operator::kEquals, S("GET")), {0, 1, 5}},
      {f("span.attributes.http.method", Operator::kNotEquals, S("GET")), {2, 3, 4, 6, 7}},
      {f("span.attributes.http.method", Operator::kIn, {}, {S("GET"), S("POST")}), {0, 1, 3, 5}},
      {f("span.attributes.http.method", Operator::kNotIn, {}, {S("POST")}),
       {0, 1, 2, 4, 5, 6, 7}},
      {f("span.attributes.http.method", Operator::kContains, S("OS")), {3}},
      {f("span.attributes.http.method", Operator::kNotContains, S("OS")), {0, 1, 2, 4, 5, 6, 7}},
      {f("span.attributes.http.method", Operator::kExists), {0, 1, 3, 5}},
      {f("span.attributes.http.method", Operator::kNotExists), {2, 4, 6, 7}},
      {f("span.attributes.http.status_code", Operator::kEquals, S(int64_t{200})), {0, 5}},
      {f("span.attributes.http.status_code", Operator::kGte, S(int64_t{404})), {1, 3}},
      {f("span.attributes.http.status_code", Operator::kLt, S(int64_t{404})), {0, 5}},
      {f("span.attributes.ratio", Operator::kGt, S(int64_t{1})), {1, 7}},
      {f("span.attributes.ratio", Operator::kLte, S(1.5)), {0, 1}},
      {f("span.attributes.cached", Operator::kEquals, S(true)), {0}},
      {f("span.attributes.cached", Operator::kEquals, S(false)), {3}},
      {f("span.attributes.retries", Operator::kEquals, S(int64_t{0})), {4}},
      // Event attributes.
      {f("span.events.attributes.exception.type", Operator::kEquals, S("Timeout")), {2}},
      {f("span.events.attributes.exception.type", Operator::kExists), {2, 6}},
      {f("span.events.attributes.exception.type", Operator::kNotExists), {0, 1, 3, 4, 5, 7}},
      {f("span.events.attributes.attempt", Operator::kGte, S(int64_t{1})), {6}},
      // Link attributes.
      {f("span.links.attributes.link.kind", Operator::kEquals, S("follows")), {3}},
      {f("span.links.attributes.link.kind", Operator::kNotExists), {0, 1, 2, 4, 5, 6, 7}},
      // Filters are ANDed.
      {{FilterOf("span.attributes.http.method", Operator::kEquals, S("GET")),
        FilterOf("span.attributes.http.status_code", Operator::kEquals, S(int64_t{200}))},
       {0, 5}},
      {{FilterOf("span.kind", Operator::kEquals, S("Client")),
        FilterOf("resource.attributes.service.name", Operator::kEquals, S("frontend"))},
       {1}},
  };
  for (const FilterCase& c : cases) {
    std::string description;
    for (const query::Filter& filter : c.filters) {
      description += fmt::format("{} {} ", filter.key.text, query::OperatorName(filter.op));
    }
    SCOPED_TRACE(description);
    EXPECT_THAT(SearchIndexes(backend(), c.filters), ElementsAreArray(c.want));
  }
}

// The expected order of `spans` under `sort`: (sort value, trace id, span id), direction applied
// to the whole tuple.
std::vector<int> ExpectedOrder(const std::vector<model::Span>& spans, const query::Sort& sort) {
  std::vector<const model::Span*> order;
  for (const model::Span& s : spans) order.push_back(&s);
  auto value = [&sort](const model::Span* s) {
    return sort.field == query::SortField::kStartTime ? s->start_time_unix_nano
                                                      : s->DurationNano();
  };
  std::sort(order.begin(), order.end(), [&](const model::Span* a, const model::Span* b) {
    auto ka = std::make_tuple(value(a), a->trace_id, a->span_id);
    auto kb = std::make_tuple(value(b), b->trace_id, b->span_id);
    return sort.ascending ? ka < kb : kb < ka;
  });
  std::vector<int> out;
  for (const model::Span* s : order) out.push_back(s->span_id[7] + 256 * s->span_id[1]);
  return out;
}

const query::Sort kSorts[] = {
    {query::SortField::kStartTime, false},
    {query::SortField::kStartTime, true},
    {query::SortField::kDuration, false},
    {query::SortField::kDuration, true},
};

TEST_P(StorageConformance, SearchSortsAndPagesTheCorpusWithTies) {
  WriteCorpus(backend());
  std::vector<model::Span> in_range;
  for (const CorpusSpan& c : CorpusSpans()) {
    if (c.index <= 7) in_range.push_back(SpanOf(c));
  }
  for (const query::Sort& sort : kSorts) {
    for (size_t page_size : {1u, 3u, 8u, 50u}) {
      SCOPED_TRACE(fmt::format("sort {} ascending {} page {}", static_cast<int>(sort.field),
                               sort.ascending, page_size));
      query::SearchQuery q;
      q.range = CorpusRange();
      q.sort = sort;
      q.page_size = page_size;
      EXPECT_THAT(IndexesOf(SearchAll(backend(), q)),
                  ElementsAreArray(ExpectedOrder(in_range, sort)));
    }
  }
}

TEST_P(StorageConformance, SearchPagesThroughManyWritesInExactOrder) {
  // 2,000 spans in eight writes whose time ranges overlap, with many equal starts and durations.
  std::vector<model::Span> written;
  for (int w = 0; w < 8; ++w) {
    model::SpanBatch batch;
    model::ResourceSpans& rs = batch.resource_spans.emplace_back();
    rs.resource = *ResourceOf(w % 2 ? 'A' : 'B');
    model::ScopeSpans& ss = rs.scope_spans.emplace_back();
    ss.scope = *ScopeOf('H');
    for (int i = 0; i < 250; ++i) {
      int n = w * 250 + i;
      model::Span s;
      s.trace_id = TraceIdOf(static_cast<uint8_t>((n * 37) % 11 + 1));
      s.span_id = SpanIdOf(n);
      s.name = fmt::format("op{}", n % 3);
      s.start_time_unix_nano = kT0 + static_cast<uint64_t>((n * 7919) % 400) * kMs;
      s.end_time_unix_nano = s.start_time_unix_nano + static_cast<uint64_t>((n * 31) % 60) * kUs;
      s.attributes = {{"n", AnyValue(int64_t{n})}};
      ss.spans.push_back(s);
      written.push_back(s);
    }
    ASSERT_TRUE(backend().WriteSpans(batch, kIngestion + static_cast<uint64_t>(w)).ok());
  }
  const query::TimeRange range{kT0 + 50 * kMs, kT0 + 349 * kMs};
  std::vector<model::Span> in_range;
  for (const model::Span& s : written) {
    if (s.start_time_unix_nano >= range.start_unix_nano &&
        s.start_time_unix_nano <= range.end_unix_nano) {
      in_range.push_back(s);
    }
  }
  for (const query::Sort& sort : kSorts) {
    SCOPED_TRACE(fmt::format("sort {} ascending {}", static_cast<int>(sort.field), sort.ascending));
    query::SearchQuery q;
    q.range = range;
    q.sort = sort;
    q.page_size = 97;
    std::vector<int> want = ExpectedOrder(in_range, sort);
    EXPECT_THAT(IndexesOf(SearchAll(backend(), q)), ElementsAreArray(want));

    // With a filter, the first page alone.
    q.filters = {FilterOf("span.name", query::Operator::kEquals, query::Scalar("op1"))};
    q.page_size = 10;
    absl::StatusOr<query::SearchResult> page = backend().Search(q);
    ASSERT_TRUE(page.ok()) << page.status();
    std::vector<model::Span> op1;
    for (const model::Span& s : in_range) {
      if (s.name == "op1") op1.push_back(s);
    }
    std::vector<int> want_op1 = ExpectedOrder(op1, sort);
    want_op1.resize(10);
    EXPECT_THAT(IndexesOf(page->spans), ElementsAreArray(want_op1));
    EXPECT_TRUE(page->next.has_value());
  }
}

TEST_P(StorageConformance, SearchOfAnEmptyStoreIsAnEmptyPage) {
  query::SearchQuery q;
  q.range = Everything();
  absl::StatusOr<query::SearchResult> found = backend().Search(q);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_TRUE(found->spans.empty());
  EXPECT_FALSE(found->next.has_value());
}

// ---------------------------------------------------------------------------------------------
// Tags, statistics, histograms.

TEST_P(StorageConformance, TagKeysListsAttributeKeysWithTypes) {
  WriteCorpus(backend());
  auto attribute_keys = [](const std::vector<query::TagInfo>& tags) {
    std::vector<query::TagInfo> out;
    for (const query::TagInfo& t : tags) {
      if (t.name.find(".attributes.") != std::string::npos) out.push_back(t);
    }
    return out;
  };
  using query::TagInfo;
  using query::ValueType;
  std::vector<TagInfo> in_range = {
      {"resource.attributes.deployment.environment", ValueType::kStr},
      {"resource.attributes.host.arch", ValueType::kStr},
      {"resource.attributes.host.cpus", ValueType::kInt},
      {"resource.attributes.service.name", ValueType::kStr},
      {"scope.attributes.lib.lang", ValueType::kStr},
      {"span.attributes.cached", ValueType::kBool},
      {"span.attributes.db.system", ValueType::kStr},
      {"span.attributes.http.method", ValueType::kStr},
      {"span.attributes.http.status_code", ValueType::kInt},
      {"span.attributes.messaging.system", ValueType::kStr},
      {"span.attributes.ratio", ValueType::kDouble},
      {"span.attributes.retries", ValueType::kInt},
      {"span.attributes.tags", ValueType::kSlice},
      {"span.events.attributes.attempt", ValueType::kInt},
      {"span.events.attributes.exception.type", ValueType::kStr},
      {"span.links.attributes.link.kind", ValueType::kStr},
  };
  absl::StatusOr<std::vector<TagInfo>> keys = backend().TagKeys({CorpusRange()});
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_THAT(attribute_keys(*keys), ElementsAreArray(in_range));
  // Intrinsic keys are always listed.
  EXPECT_THAT(*keys, ::testing::Contains(TagInfo{"span.name", ValueType::kStr}));
  EXPECT_THAT(*keys, ::testing::Contains(TagInfo{"externalFields.durationNano", ValueType::kInt}));

  // Without a range, span 8's key appears too.
  std::vector<TagInfo> all = in_range;
  all.insert(all.begin() + 9, TagInfo{"span.attributes.late.only", ValueType::kStr});
  keys = backend().TagKeys({std::nullopt});
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_THAT(attribute_keys(*keys), ElementsAreArray(all));
}

TEST_P(StorageConformance, TagValuesCountsLimitsAndFilters) {
  WriteCorpus(backend());
  using query::TagValueCount;
  auto values = [this](std::string_view key, std::optional<query::TimeRange> range,
                       std::vector<query::Filter> filters, size_t limit) {
    absl::StatusOr<query::TagValuesResult> r =
        backend().TagValues({KeyOf(key), range, std::move(filters), limit});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : query::TagValuesResult{};
  };
  query::TagValuesResult r = values("span.attributes.http.method", CorpusRange(), {}, 0);
  EXPECT_THAT(r.values, ElementsAre(TagValueCount{std::string("GET"), 3},
                                    TagValueCount{std::string("POST"), 1}));
  EXPECT_EQ(r.total_distinct, 2u);

  r = values("span.attributes.http.method", CorpusRange(), {}, 1);
  EXPECT_THAT(r.values, ElementsAre(TagValueCount{std::string("GET"), 3}));
  EXPECT_EQ(r.total_distinct, 2u);

  r = values("span.attributes.http.status_code", CorpusRange(), {}, 0);
  EXPECT_THAT(r.values, ElementsAre(TagValueCount{int64_t{200}, 2}, TagValueCount{int64_t{404}, 1},
                                    TagValueCount{int64_t{500}, 1}));
  EXPECT_EQ(r.total_distinct, 3u);

  r = values("resource.attributes.service.name", CorpusRange(), {}, 0);
  EXPECT_THAT(r.values, ElementsAre(TagValueCount{std::string("frontend"), 5},
                                    TagValueCount{std::string("backend"), 3}));

  // No range: every stored span. Equal counts come in value order.
  r = values("resource.attributes.service.name", std::nullopt, {}, 0);
  EXPECT_THAT(r.values, ElementsAre(TagValueCount{std::string("backend"), 5},
                                    TagValueCount{std::string("frontend"), 5}));

  r = values("resource.attributes.service.name", CorpusRange(),
             {FilterOf("span.kind", query::Operator::kEquals, query::Scalar("Client"))}, 0);
  EXPECT_THAT(r.values, ElementsAre(TagValueCount{std::string("backend"), 2},
                                    TagValueCount{std::string("frontend"), 1}));
  EXPECT_EQ(r.total_distinct, 2u);

  r = values("span.attributes.no.such.key", CorpusRange(), {}, 0);
  EXPECT_TRUE(r.values.empty());
  EXPECT_EQ(r.total_distinct, 0u);
}

// Several queries at once answer as each alone: span names of a service per kind (the Jaeger API's
// operations, which SQLite answers in one pass), with and without a range, and a mix that no one
// pass serves.
TEST_P(StorageConformance, ServicesAndOperationsListEveryStoredOne) {
  WriteCorpus(backend());
  // Spans whose service.name is not a string, or missing: no service of theirs is listed.
  model::SpanBatch others;
  for (const KeyValueList& attributes :
       {KeyValueList{{"service.name", AnyValue(int64_t{7})}}, KeyValueList{}}) {
    model::ResourceSpans& rs = others.resource_spans.emplace_back();
    rs.resource.attributes = attributes;
    model::Span& s = rs.scope_spans.emplace_back().spans.emplace_back();
    s.trace_id = TraceIdOf(9);
    s.span_id = SpanIdOf(100 + static_cast<int>(others.resource_spans.size()));
    s.name = "unlisted";
    s.kind = SpanKind::kServer;
    s.start_time_unix_nano = kT0;
    s.end_time_unix_nano = kT0 + 1;
  }
  ASSERT_TRUE(backend().WriteSpans(others, kIngestion).ok());

  absl::StatusOr<std::vector<std::string>> services = backend().Services();
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_THAT(*services, ElementsAre("backend", "frontend"));
  using Op = Backend::Operation;
  absl::StatusOr<std::vector<Op>> frontend = backend().Operations("frontend");
  ASSERT_TRUE(frontend.ok()) << frontend.status();
  EXPECT_THAT(*frontend, ElementsAre(Op{"GET /cart", SpanKind::kClient},
                                     Op{"GET /home", SpanKind::kServer},
                                     Op{"POST /pay", SpanKind::kServer},
                                     Op{"consume", SpanKind::kConsumer},
                                     Op{"produce", SpanKind::kProducer}));
  // Spans outside every search range (8 late, 9 early) are listed too: the lists take no range.
  absl::StatusOr<std::vector<Op>> backend_ops = backend().Operations("backend");
  ASSERT_TRUE(backend_ops.ok()) << backend_ops.status();
  EXPECT_THAT(*backend_ops, ElementsAre(Op{"GET /stock", SpanKind::kClient},
                                        Op{"INSERT pay", SpanKind::kInternal},
                                        Op{"SELECT cart", SpanKind::kClient},
                                        Op{"early", SpanKind::kInternal},
                                        Op{"late", SpanKind::kInternal}));
  absl::StatusOr<std::vector<Op>> nobody = backend().Operations("nobody");
  ASSERT_TRUE(nobody.ok()) << nobody.status();
  EXPECT_TRUE(nobody->empty());
}

TEST_P(StorageConformance, TagValuesOfEachAnswersAsEachAlone) {
  WriteCorpus(backend());
  auto of_service = [](std::string_view service, int64_t kind) {
    return std::vector<query::Filter>{
        FilterOf("resource.attributes.service.name", query::Operator::kEquals,
                 query::Scalar(std::string(service))),
        FilterOf("span.kind", query::Operator::kEquals, query::Scalar(kind))};
  };
  std::vector<std::vector<query::TagValuesQuery>> batches;
  for (const std::optional<query::TimeRange>& range :
       {std::optional<query::TimeRange>(CorpusRange()), std::optional<query::TimeRange>()}) {
    std::vector<query::TagValuesQuery>& batch = batches.emplace_back();
    for (std::string_view service : {"frontend", "backend"}) {
      for (int64_t kind = 0; kind < 6; ++kind) {
        batch.push_back({KeyOf("span.name"), range, of_service(service, kind), 0});
      }
    }
    batch.push_back({KeyOf("resource.attributes.service.name"), range, {}, 1});
    batch.push_back({KeyOf("span.status.code"), range,
                     {FilterOf("span.name", query::Operator::kNotEquals, query::Scalar("x"))}, 0});
  }
  // One query filtering on durations (which needs end times) among those that need none.
  std::vector<query::TagValuesQuery> timed = batches.front();
  timed.push_back({KeyOf("span.name"), CorpusRange(),
                   {FilterOf("externalFields.durationNano", query::Operator::kGte,
                             query::Scalar(int64_t{300000}))},
                   0});
  batches.push_back(timed);
  std::vector<query::TagValuesQuery> mixed = batches.front();
  mixed.push_back({KeyOf("span.attributes.http.method"), CorpusRange(), {}, 0});
  batches.push_back(mixed);
  for (const std::vector<query::TagValuesQuery>& batch : batches) {
    absl::StatusOr<std::vector<query::TagValuesResult>> together = backend().TagValuesOfEach(batch);
    ASSERT_TRUE(together.ok()) << together.status();
    ASSERT_EQ(together->size(), batch.size());
    size_t nonempty = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      SCOPED_TRACE(::testing::Message() << "query " << i << " of " << batch.size());
      absl::StatusOr<query::TagValuesResult> alone = backend().TagValues(batch[i]);
      ASSERT_TRUE(alone.ok()) << alone.status();
      EXPECT_EQ((*together)[i].values, alone->values);
      EXPECT_EQ((*together)[i].total_distinct, alone->total_distinct);
      if (!alone->values.empty()) ++nonempty;
    }
    // The corpus's services have spans of some kinds and not others.
    EXPECT_GE(nonempty, 4u);
    EXPECT_LT(nonempty, batch.size());
  }
  // Pinned: the frontend's server spans (kind 2) in range.
  absl::StatusOr<std::vector<query::TagValuesResult>> first =
      backend().TagValuesOfEach(batches.front());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT((*first)[2].values,
              ElementsAre(query::TagValueCount{std::string("GET /home"), 1},
                          query::TagValueCount{std::string("POST /pay"), 1}));
  // And the backend's client spans (kind 3): span 2 and span 5.
  EXPECT_THAT((*first)[9].values,
              ElementsAre(query::TagValueCount{std::string("GET /stock"), 1},
                          query::TagValueCount{std::string("SELECT cart"), 1}));
}

// 100 spans, one per millisecond from kT0: span i lasts (i + 1) µs, has "size" = i and
// "code" = "v<i % (i / 10 + 1)>", and belongs to service "a" when i % 3 == 0, else "b".
void WriteHundred(Backend& backend) {
  model::SpanBatch first, second;
  for (char svc : {'a', 'b'}) {
    for (model::SpanBatch* batch : {&first, &second}) {
      model::ResourceSpans& rs = batch->resource_spans.emplace_back();
      rs.resource.attributes = {{"service.name", AnyValue(std::string(1, svc))}};
      rs.scope_spans.emplace_back().scope.name = "lib";
    }
  }
  // Written in two interleaved halves so no backend sees them in order.
  for (int i = 99; i >= 0; --i) {
    model::Span s;
    s.trace_id = TraceIdOf(static_cast<uint8_t>(i % 5 + 1));
    s.span_id = SpanIdOf(i);
    s.name = "op";
    s.start_time_unix_nano = kT0 + static_cast<uint64_t>(i) * kMs;
    s.end_time_unix_nano = s.start_time_unix_nano + static_cast<uint64_t>(i + 1) * kUs;
    s.attributes = {{"size", AnyValue(int64_t{i})},
                    {"code", AnyValue(fmt::format("v{}", i % (i / 10 + 1)))}};
    model::SpanBatch& batch = i % 2 ? first : second;
    batch.resource_spans[i % 3 == 0 ? 0 : 1].scope_spans[0].spans.push_back(s);
  }
  ASSERT_TRUE(backend.WriteSpans(first, kIngestion).ok());
  ASSERT_TRUE(backend.WriteSpans(second, kIngestion).ok());
}

TEST_P(StorageConformance, StatisticsOfDurationAndAttributes) {
  WriteHundred(backend());
  const query::TimeRange range{kT0, kT0 + 99 * kMs};
  std::vector<query::Statistic> wanted = {{"min", 0},   {"max", 0},   {"avg", 0},
                                          {"count", 0}, {"sum", 0},   {"p50", 50},
                                          {"p99", 99},  {"p100", 100}};
  absl::StatusOr<query::StatisticsResult> stats =
      backend().Statistics({KeyOf("externalFields.durationNano"), range, {}, wanted});
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(*stats, (query::StatisticsResult{{"min", 1000},
                                             {"max", 100000},
                                             {"avg", 50500},
                                             {"count", 100},
                                             {"sum", 5050000},
                                             {"p50", 50000},
                                             {"p99", 99000},
                                             {"p100", 100000}}));

  // An attribute, a narrower range and a filter: sizes 10..29 of service "b".
  stats = backend().Statistics(
      {KeyOf("span.attributes.size"),
       {kT0 + 10 * kMs, kT0 + 29 * kMs},
       {FilterOf("resource.attributes.service.name", query::Operator::kEquals,
                 query::Scalar("b"))},
       {{"min", 0}, {"max", 0}, {"count", 0}, {"p50", 50}}});
  ASSERT_TRUE(stats.ok()) << stats.status();
  // b: 10 11 13 14 16 17 19 20 22 23 25 26 28 29 -> 14 values, p50 = 7th = 19.
  EXPECT_EQ(*stats,
            (query::StatisticsResult{{"min", 10}, {"max", 29}, {"count", 14}, {"p50", 19}}));

  // Nothing matches: no statistics at all.
  stats = backend().Statistics({KeyOf("externalFields.durationNano"),
                                {kT0 + 200 * kMs, kT0 + 300 * kMs},
                                {},
                                wanted});
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_TRUE(stats->empty());
}

TEST_P(StorageConformance, HistogramsCountGroupDistinctAndPercentiles) {
  WriteHundred(backend());
  query::HistogramQuery q;
  q.range = {kT0, kT0 + 99 * kMs};
  q.interval_nano = 10 * kMs;
  q.aggregations = {
      {"count", query::AggregationFunc::kCount, std::nullopt, std::nullopt, 10, {}, {}},
      {"by_service", query::AggregationFunc::kCount, std::nullopt,
       KeyOf("resource.attributes.service.name"), 10, {}, {}},
      {"top_service", query::AggregationFunc::kCount, std::nullopt,
       KeyOf("resource.attributes.service.name"), 1, {}, {}},
      {"codes", query::AggregationFunc::kDistinctCount, KeyOf("span.attributes.code"),
       std::nullopt, 10, {}, {}},
      {"latency", query::AggregationFunc::kPercentiles, KeyOf("externalFields.durationNano"),
       std::nullopt, 10, {50, 99}, {}},
  };
  absl::StatusOr<query::HistogramResult> result = backend().Histograms(q);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->size(), 5u);
  for (size_t h = 0; h < 5; ++h) {
    SCOPED_TRACE((*result)[h].label);
    EXPECT_EQ((*result)[h].label, q.aggregations[h].label);
    ASSERT_EQ((*result)[h].buckets.size(), 10u);
    for (uint64_t b = 0; b < 10; ++b) {
      SCOPED_TRACE(b);
      const query::HistogramBucket& bucket = (*result)[h].buckets[b];
      EXPECT_EQ(bucket.bucket_key, kT0 + b * 10 * kMs);
      uint64_t a_count = 0;
      for (uint64_t i = 10 * b; i < 10 * b + 10; ++i) a_count += i % 3 == 0 ? 1 : 0;
      switch (h) {
        case 0:
          EXPECT_EQ(std::get<uint64_t>(bucket.data), 10u);
          break;
        case 1:
        case 2: {
          const auto& grouped = std::get<query::GroupedCount>(bucket.data);
          EXPECT_EQ(grouped.total_count, 10u);
          ASSERT_EQ(grouped.sub_buckets.size(), h == 1 ? 2u : 1u);
          EXPECT_EQ(grouped.sub_buckets[0].key, query::TagValue(std::string("b")));
          EXPECT_EQ(grouped.sub_buckets[0].count, 10 - a_count);
          if (h == 1) {
            EXPECT_EQ(grouped.sub_buckets[1].key, query::TagValue(std::string("a")));
            EXPECT_EQ(grouped.sub_buckets[1].count, a_count);
          }
          break;
        }
        case 3:
          EXPECT_EQ(std::get<uint64_t>(bucket.data), b + 1);
          break;
        case 4: {
          using Percentiles = std::map<std::string, double>;
          EXPECT_EQ(std::get<Percentiles>(bucket.data),
                    (Percentiles{{"50.0", static_cast<double>((10 * b + 5) * kUs)},
                                 {"99.0", static_cast<double>((10 * b + 10) * kUs)}}));
          break;
        }
      }
    }
  }

  // A filter and a narrower range drop whole buckets.
  q.range = {kT0 + 15 * kMs, kT0 + 34 * kMs};
  q.filters = {FilterOf("resource.attributes.service.name", query::Operator::kEquals,
                        query::Scalar("a"))};
  q.aggregations.resize(1);
  result = backend().Histograms(q);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->size(), 1u);
  // a-spans in [15, 34]: 15 18 | 21 24 27 | 30 33.
  const auto& buckets = (*result)[0].buckets;
  ASSERT_EQ(buckets.size(), 3u);
  EXPECT_EQ(buckets[0].bucket_key, kT0 + 10 * kMs);
  EXPECT_EQ(std::get<uint64_t>(buckets[0].data), 2u);
  EXPECT_EQ(buckets[1].bucket_key, kT0 + 20 * kMs);
  EXPECT_EQ(std::get<uint64_t>(buckets[1].data), 3u);
  EXPECT_EQ(buckets[2].bucket_key, kT0 + 30 * kMs);
  EXPECT_EQ(std::get<uint64_t>(buckets[2].data), 2u);
}

TEST_P(StorageConformance, HistogramsPercentilesPerGroup) {
  WriteHundred(backend());
  query::HistogramQuery q;
  q.range = {kT0, kT0 + 99 * kMs};
  q.interval_nano = 50 * kMs;
  query::Aggregation per_service{"latency", query::AggregationFunc::kPercentiles,
                                 KeyOf("externalFields.durationNano"),
                                 KeyOf("resource.attributes.service.name"), 10, {50, 100}, {}};
  // "code" is a string on every span: its groups have spans but no percentiles.
  query::Aggregation by_code{"codes", query::AggregationFunc::kPercentiles,
                             KeyOf("span.attributes.code"), KeyOf("span.name"), 10, {50}, {}};
  q.aggregations = {per_service, by_code};
  absl::StatusOr<query::HistogramResult> result = backend().Histograms(q);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->size(), 2u);
  // Expected by brute force: span i (service "a" when i % 3 == 0) lasts (i + 1) us.
  auto rank = [](std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    size_t r = static_cast<size_t>(std::ceil(p / 100 * static_cast<double>(v.size())));
    return v[std::clamp<size_t>(r, 1, v.size()) - 1];
  };
  ASSERT_EQ((*result)[0].buckets.size(), 2u);
  for (uint64_t b = 0; b < 2; ++b) {
    SCOPED_TRACE(b);
    std::vector<double> a, other;
    for (uint64_t i = 50 * b; i < 50 * b + 50; ++i) {
      (i % 3 == 0 ? a : other).push_back(static_cast<double>((i + 1) * kUs));
    }
    const query::HistogramBucket& bucket = (*result)[0].buckets[b];
    EXPECT_EQ(bucket.bucket_key, kT0 + b * 50 * kMs);
    query::GroupedPercentiles want;
    want.total_count = 50;
    want.groups = {
        {query::TagValue(std::string("b")), other.size(),
         {{"50.0", rank(other, 50)}, {"100.0", rank(other, 100)}}},
        {query::TagValue(std::string("a")), a.size(),
         {{"50.0", rank(a, 50)}, {"100.0", rank(a, 100)}}},
    };
    EXPECT_EQ(std::get<query::GroupedPercentiles>(bucket.data), want);
    const auto& codes = std::get<query::GroupedPercentiles>((*result)[1].buckets[b].data);
    ASSERT_EQ(codes.groups.size(), 1u);
    EXPECT_EQ(codes.groups[0].key, query::TagValue(std::string("op")));
    EXPECT_EQ(codes.groups[0].count, 50u);
    EXPECT_TRUE(codes.groups[0].percentiles.empty());
  }

  // max_groups keeps the largest groups.
  q.aggregations = {per_service};
  q.aggregations[0].max_groups = 1;
  result = backend().Histograms(q);
  ASSERT_TRUE(result.ok()) << result.status();
  for (const query::HistogramBucket& bucket : (*result)[0].buckets) {
    const auto& grouped = std::get<query::GroupedPercentiles>(bucket.data);
    ASSERT_EQ(grouped.groups.size(), 1u);
    EXPECT_EQ(grouped.groups[0].key, query::TagValue(std::string("b")));
  }
}

TEST_P(StorageConformance, HistogramsRangeCountOfDurationAndAttribute) {
  WriteHundred(backend());
  query::HistogramQuery q;
  q.range = {kT0, kT0 + 99 * kMs};
  q.interval_nano = 10 * kMs;
  query::Aggregation duration{"heat", query::AggregationFunc::kRangeCount,
                              KeyOf("externalFields.durationNano"), std::nullopt, 10, {}, {}};
  // The first bound is above the shortest durations: they count in the first range.
  duration.bounds = {2 * kUs, 5 * kUs, 20 * kUs, 50 * kUs};
  query::Aggregation size{"sizes", query::AggregationFunc::kRangeCount,
                          KeyOf("span.attributes.size"), std::nullopt, 10, {}, {}};
  size.bounds = {2.5, 40, 90};
  q.aggregations = {duration, size};
  absl::StatusOr<query::HistogramResult> result = backend().Histograms(q);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->size(), 2u);
  using Ranges = std::vector<query::SubBucket>;
  auto ranges = [](size_t h, const query::HistogramResult& r) {
    std::vector<Ranges> out;
    for (const query::HistogramBucket& b : r[h].buckets) {
      const auto& grouped = std::get<query::GroupedCount>(b.data);
      EXPECT_EQ(grouped.total_count, 10u);
      out.push_back(grouped.sub_buckets);
    }
    return out;
  };
  const query::TagValue k2(int64_t{2 * kUs}), k5(int64_t{5 * kUs}), k20(int64_t{20 * kUs}),
      k50(int64_t{50 * kUs});
  // Bucket b holds durations (10b + 1) .. (10b + 10) us.
  EXPECT_EQ(ranges(0, *result), (std::vector<Ranges>{{{k2, 4}, {k5, 6}},
                                                    {{k5, 9}, {k20, 1}},
                                                    {{k20, 10}},
                                                    {{k20, 10}},
                                                    {{k20, 9}, {k50, 1}},
                                                    {{k50, 10}},
                                                    {{k50, 10}},
                                                    {{k50, 10}},
                                                    {{k50, 10}},
                                                    {{k50, 10}}}));
  // Bucket b holds sizes 10b .. 10b + 9; a fractional bound keys its range as a double.
  const query::TagValue s0(2.5), s40(int64_t{40}), s90(int64_t{90});
  std::vector<Ranges> sizes;
  for (int b = 0; b < 10; ++b) sizes.push_back({{b < 4 ? s0 : b < 9 ? s40 : s90, 10}});
  EXPECT_EQ(ranges(1, *result), sizes);
  for (const query::HistogramBucket& b : (*result)[0].buckets) {
    EXPECT_EQ(b.bucket_key % (10 * kMs), kT0 % (10 * kMs));
  }
}

// ---------------------------------------------------------------------------------------------
// Dependencies.

query::DependenciesResult DependenciesOf(Backend& backend, query::TimeRange range,
                                         std::string service = "") {
  absl::StatusOr<query::DependenciesResult> result =
      backend.Dependencies({range, std::move(service), /*max_examined=*/1000});
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : query::DependenciesResult{};
}

// The corpus's calls in its range: 0->1 and 6->7 inside frontend, 1->2 (failed), 3->4 and 3->5
// from frontend to backend.
const query::DependenciesResult kCorpusCalls{
    {{"frontend", "backend", 3, 1}, {"frontend", "frontend", 2, 0}}, false};

TEST_P(StorageConformance, DependenciesCountCallsAndFailedCalls) {
  WriteCorpus(backend());
  EXPECT_EQ(DependenciesOf(backend(), CorpusRange()), kCorpusCalls);
  // Only edges from or to the service.
  EXPECT_EQ(DependenciesOf(backend(), CorpusRange(), "backend"),
            (query::DependenciesResult{{{"frontend", "backend", 3, 1}}, false}));
  EXPECT_EQ(DependenciesOf(backend(), CorpusRange(), "nobody"), query::DependenciesResult{});
  // A call counts when both spans start in the range: from 10 ms on, span 0 is out (0->1 drops).
  EXPECT_EQ(DependenciesOf(backend(), {kT0 + 10 * kMs, kT0 + 50 * kMs}),
            (query::DependenciesResult{
                {{"frontend", "backend", 3, 1}, {"frontend", "frontend", 1, 0}}, false}));
  // Up to 20 ms the children 4, 5 and 7 are out, and so are their calls.
  EXPECT_EQ(DependenciesOf(backend(), {kT0, kT0 + 20 * kMs}),
            (query::DependenciesResult{
                {{"frontend", "backend", 1, 1}, {"frontend", "frontend", 1, 0}}, false}));
  EXPECT_EQ(DependenciesOf(backend(), {kT0 + 60 * kMs, kT0 + 70 * kMs}),
            query::DependenciesResult{});
}

TEST_P(StorageConformance, DependenciesJoinSpansWrittenApart) {
  // Each parent written in another batch than its children (and, for a block store, in another
  // block), children first.
  std::vector<CorpusSpan> children, rest;
  for (const CorpusSpan& c : CorpusSpans()) (c.parent >= 0 ? children : rest).push_back(c);
  ASSERT_TRUE(backend().WriteSpans(BatchOf(children), kIngestion).ok());
  ASSERT_TRUE(backend().WriteSpans(BatchOf(rest), kIngestion).ok());
  // Span 1 is a child (of 0) and a parent (of 2): both calls join across batches.
  EXPECT_EQ(DependenciesOf(backend(), CorpusRange()), kCorpusCalls);
  EXPECT_EQ(DependenciesOf(backend(), {kT0 + 10 * kMs, kT0 + 50 * kMs}),
            (query::DependenciesResult{
                {{"frontend", "backend", 3, 1}, {"frontend", "frontend", 1, 0}}, false}));
}

// ---------------------------------------------------------------------------------------------
// System id.

TEST_P(StorageConformance, SystemIdIsAStableUuid) {
  absl::StatusOr<std::string> first = backend().SystemId();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(*first, ::testing::MatchesRegex(
                          "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  WriteCorpus(backend());
  absl::StatusOr<std::string> second = backend().SystemId();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*first, *second);
}

}  // namespace
}  // namespace teletrace::storage::testing
