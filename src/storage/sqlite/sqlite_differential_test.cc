// Randomized differential test: the SQLite backend, with its block pruning (time ranges, Bloom
// summaries), per-block value counts and decoding shortcuts, must answer every query exactly as the
// reference backend (storage/memory: a full scan through the engine) does on the same writes.
// Random spans over several services, keys of every type present on some spans and absent on
// others, a key whose type varies, events and links, rewrites of stored spans, small blocks (so
// most ranges cut blocks at their edges); random queries of every kind with random time ranges and
// filters. Seeds are fixed: a failure names its seed and query and reproduces.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "query/duration_sketch.h"
#include "query/parse.h"
#include "storage/memory/memory_backend.h"
#include "storage/sqlite/sqlite_backend.h"

namespace teletrace::storage {
namespace {

using query::kDurationSketchRelativeError;

using model::AnyValue;

constexpr uint64_t kSecond = 1000000000;
constexpr uint64_t kT0 = 1'700'000'000 * kSecond;
constexpr uint64_t kSpan = 3600 * kSecond;  // the data covers one hour from kT0

class Random {
 public:
  explicit Random(uint64_t seed) : rng_(seed) {}
  uint64_t Below(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) { return v[Below(v.size())]; }

 private:
  std::mt19937_64 rng_;
};

const std::vector<std::string> kServices = {"frontend", "cart", "checkout", "payments"};
const std::vector<std::string> kNames = {"GET /", "GET /cart", "POST /pay", "SELECT", "publish"};
const std::vector<std::string> kMethods = {"GET", "POST", "PUT"};

template <size_t N>
std::array<uint8_t, N> RandomId(Random& r) {
  std::array<uint8_t, N> id{};
  for (auto& b : id) b = static_cast<uint8_t>(r.Below(256));
  id[N - 1] |= 1;  // never all zero
  return id;
}

// A batch of whole traces: 1-4 services each with its own resource and scope.
model::SpanBatch RandomBatch(Random& r, std::vector<model::Span>* written) {
  model::SpanBatch batch;
  const size_t services = 1 + r.Below(4);
  for (size_t s = 0; s < services; ++s) {
    model::ResourceSpans& rs = batch.resource_spans.emplace_back();
    rs.resource.attributes = {{"service.name", kServices[(s + r.Below(4)) % kServices.size()]}};
    if (r.Chance(0.5)) rs.resource.attributes.push_back({"host.id", int64_t(r.Below(5))});
    model::ScopeSpans& ss = rs.scope_spans.emplace_back();
    ss.scope.name = r.Chance(0.5) ? "http" : "db";
    ss.scope.version = r.Chance(0.5) ? "1.0" : "";
    const size_t n = 1 + r.Below(12);
    for (size_t i = 0; i < n; ++i) {
      model::Span& span = ss.spans.emplace_back();
      if (!written->empty() && r.Chance(0.4)) {
        // Traces spread over writes and services; calls within a block and across blocks.
        const model::Span& other = r.Pick(*written);
        span.trace_id = other.trace_id;
        if (r.Chance(0.7)) span.parent_span_id = other.span_id;
      } else {
        span.trace_id = RandomId<16>(r);
      }
      span.span_id = RandomId<8>(r);
      if (IsZeroId(span.parent_span_id) && r.Chance(0.5)) {
        span.parent_span_id = RandomId<8>(r);  // a parent never stored
      }
      span.name = r.Pick(kNames);
      span.kind = static_cast<model::SpanKind>(r.Below(6));
      span.status.code = static_cast<model::StatusCode>(r.Below(3));
      if (span.status.code == model::StatusCode::kError) span.status.message = "failed";
      // Whole seconds now and then, so ranges and buckets fall exactly on span starts.
      span.start_time_unix_nano =
          kT0 + (r.Chance(0.2) ? r.Below(3600) * kSecond : r.Below(kSpan));
      span.end_time_unix_nano = span.start_time_unix_nano + r.Below(2 * kSecond);
      if (r.Chance(0.6)) span.attributes.push_back({"http.method", r.Pick(kMethods)});
      if (r.Chance(0.5)) span.attributes.push_back({"http.status_code", int64_t(200 + 100 * r.Below(4))});
      if (r.Chance(0.3)) span.attributes.push_back({"user.id", fmt::format("u{}", r.Below(300))});
      if (r.Chance(0.4)) span.attributes.push_back({"ratio", double(r.Below(1000)) / 8.0});
      if (r.Chance(0.3)) span.attributes.push_back({"cached", r.Chance(0.5)});
      if (r.Chance(0.3)) {  // one key, several types
        span.attributes.push_back(
            {"mixed", r.Chance(0.5) ? AnyValue(int64_t(r.Below(10))) : AnyValue(fmt::format("m{}", r.Below(10)))});
      }
      for (size_t e = r.Below(3); e > 0; --e) {
        model::Event& event = span.events.emplace_back();
        event.time_unix_nano = span.start_time_unix_nano;
        event.name = r.Chance(0.5) ? "exception" : "retry";
        if (r.Chance(0.5)) event.attributes.push_back({"exception.type", r.Chance(0.5) ? "Timeout" : "IO"});
      }
      if (r.Chance(0.2)) {
        model::Link& link = span.links.emplace_back();
        link.trace_id = RandomId<16>(r);
        link.span_id = RandomId<8>(r);
        link.attributes.push_back({"link.kind", "follows"});
      }
      written->push_back(span);
    }
  }
  return batch;
}

query::Key K(std::string_view text) {
  absl::StatusOr<query::Key> key = query::ParseKey(text, "key");
  EXPECT_TRUE(key.ok()) << key.status();
  return *key;
}

query::TimeRange RandomRange(Random& r) {
  if (r.Chance(0.2)) return {kT0, kT0 + kSpan};
  uint64_t a = kT0 - kSecond + r.Below(kSpan + 2 * kSecond);
  uint64_t b = kT0 - kSecond + r.Below(kSpan + 2 * kSecond);
  if (r.Chance(0.3)) a = kT0 + r.Below(3600) * kSecond;  // exactly on a whole-second start
  return {std::min(a, b), std::max(a, b)};
}

std::vector<query::Filter> RandomFilters(Random& r, const std::vector<model::Span>& written) {
  struct Template {
    const char* key;
    query::Operator op;
    std::vector<query::Scalar> operands;
  };
  const model::Span& some = r.Pick(written);
  const std::vector<Template> templates = {
      {"resource.attributes.service.name", query::Operator::kEquals, {r.Pick(kServices)}},
      {"resource.attributes.service.name", query::Operator::kNotIn, {r.Pick(kServices), r.Pick(kServices)}},
      {"span.attributes.http.method", query::Operator::kIn, {r.Pick(kMethods), std::string("DELETE")}},
      {"span.attributes.http.method", query::Operator::kNotEquals, {r.Pick(kMethods)}},
      {"span.attributes.http.status_code", query::Operator::kGte, {int64_t(200 + 100 * r.Below(4))}},
      {"span.attributes.http.status_code", query::Operator::kLt, {double(250 + 100 * r.Below(3))}},
      {"span.attributes.user.id", query::Operator::kEquals, {fmt::format("u{}", r.Below(300))}},
      {"span.attributes.user.id", query::Operator::kContains, {fmt::format("{}", r.Below(30))}},
      {"span.attributes.user.id", query::Operator::kExists, {}},
      {"span.attributes.ratio", query::Operator::kGt, {double(r.Below(1000)) / 8.0}},
      {"span.attributes.cached", query::Operator::kEquals, {r.Chance(0.5)}},
      {"span.attributes.cached", query::Operator::kNotExists, {}},
      {"span.attributes.mixed", query::Operator::kEquals, {int64_t(r.Below(10))}},
      {"span.attributes.mixed", query::Operator::kNotContains, {std::string("m")}},
      {"span.name", query::Operator::kIn, {r.Pick(kNames), r.Pick(kNames)}},
      {"span.kind", query::Operator::kEquals, {int64_t(r.Below(6))}},
      {"span.status.code", query::Operator::kEquals, {std::string("Error")}},
      {"externalFields.durationNano", query::Operator::kGte, {int64_t(r.Below(2 * kSecond))}},
      {"span.traceId", query::Operator::kEquals, {ToHex(some.trace_id)}},
      {"scope.name", query::Operator::kEquals, {std::string("db")}},
      {"span.events.name", query::Operator::kEquals, {std::string("exception")}},
      {"span.events.attributes.exception.type", query::Operator::kEquals, {std::string("Timeout")}},
      {"span.links.attributes.link.kind", query::Operator::kExists, {}},
      {"resource.attributes.host.id", query::Operator::kLte, {int64_t(r.Below(5))}},
  };
  std::vector<query::Filter> filters;
  for (size_t n = r.Below(3); n > 0; --n) {
    const Template& t = r.Pick(templates);
    query::Filter f;
    f.key = K(t.key);
    f.op = t.op;
    if (t.op == query::Operator::kIn || t.op == query::Operator::kNotIn) {
      f.values = t.operands;
    } else if (!t.operands.empty()) {
      f.value = t.operands[0];
    }
    absl::Status valid = query::ValidateFilter(f, "filter");
    EXPECT_TRUE(valid.ok()) << t.key << ": " << valid;
    filters.push_back(std::move(f));
  }
  return filters;
}

std::string Describe(const std::vector<query::Filter>& filters, const query::TimeRange& range) {
  std::string out = fmt::format("range [{}, {}]", range.start_unix_nano - kT0, range.end_unix_nano - kT0);
  for (const query::Filter& f : filters) out += fmt::format(", {} {}", f.key.text, query::OperatorName(f.op));
  return out;
}

// `percentile_error`: the relative error allowed for percentiles other than the extremes.
void ExpectSameStatistics(const query::StatisticsResult& a, const query::StatisticsResult& b,
                          const std::string& what, double percentile_error = 0) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (const auto& [name, value] : a) {
    ASSERT_EQ(b.count(name), 1u) << what << " " << name;
    // Sums may be added in another order (block order versus write order).
    const double error = name[0] == 'p' && name != "p100" ? percentile_error : 1e-9;
    EXPECT_NEAR(value, b.at(name), error * std::max(1.0, std::abs(b.at(name))))
        << what << " " << name;
  }
}

// An approximate histogram of percentiles against the exact one: the same buckets, each
// percentile within the sketch's relative error, the lowest and highest rank exactly.
void ExpectApproximatePercentiles(const query::Histogram& got, const query::Histogram& want,
                                  const std::string& what) {
  ASSERT_EQ(got.buckets.size(), want.buckets.size()) << what;
  for (size_t b = 0; b < got.buckets.size(); ++b) {
    EXPECT_EQ(got.buckets[b].bucket_key, want.buckets[b].bucket_key) << what;
    const auto& g = std::get<std::map<std::string, double>>(got.buckets[b].data);
    const auto& w = std::get<std::map<std::string, double>>(want.buckets[b].data);
    ASSERT_EQ(g.size(), w.size()) << what;
    for (const auto& [label, value] : w) {
      const double error = label == "100.0" ? 0 : kDurationSketchRelativeError * value;
      EXPECT_LE(std::abs(g.at(label) - value), error)
          << what << " bucket " << b << " p" << label << ": " << g.at(label) << " for " << value;
    }
  }
}

void RunSeed(uint64_t seed, const std::string& block_spans) {
  SCOPED_TRACE(fmt::format("seed {}, block_spans {}", seed, block_spans));
  Random r(seed);
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    fmt::format("teletrace_differential_{}_{}", getpid(), seed);
  std::filesystem::remove_all(dir);
  absl::StatusOr<std::unique_ptr<Backend>> sqlite =
      NewSqliteBackend({{"path", dir.string()}, {"block_spans", block_spans}});
  ASSERT_TRUE(sqlite.ok()) << sqlite.status();
  std::unique_ptr<Backend> oracle = memory::NewMemoryBackend();

  std::vector<model::Span> written;
  std::vector<model::SpanBatch> batches;
  // How many answers had something in them: comparing empty answers would prove little.
  int searches_with_spans = 0, tag_values_with_values = 0, statistics_with_count = 0,
      histograms_with_buckets = 0, dependencies_with_edges = 0;
  for (int b = 0; b < 60; ++b) {
    model::SpanBatch batch = (!batches.empty() && r.Chance(0.1)) ? r.Pick(batches)  // a retry
                                                                  : RandomBatch(r, &written);
    batches.push_back(batch);
    const uint64_t ingestion = kT0 + kSpan + uint64_t(b) * kSecond;
    ASSERT_TRUE((*sqlite)->WriteSpans(batch, ingestion).ok());
    ASSERT_TRUE(oracle->WriteSpans(std::move(batch), ingestion).ok());
  }

  uint64_t aggregated_blocks = 0;
  for (int i = 0; i < 40; ++i) {
    const query::TimeRange range = RandomRange(r);
    const std::vector<query::Filter> filters = RandomFilters(r, written);
    const std::string what = Describe(filters, range);

    query::SearchQuery search{range, filters, {}, 1 + r.Below(60), std::nullopt};
    search.sort = {r.Chance(0.5) ? query::SortField::kStartTime : query::SortField::kDuration, r.Chance(0.5)};
    for (int page = 0; page < 4; ++page) {  // follow the cursor a few pages
      absl::StatusOr<query::SearchResult> got = (*sqlite)->Search(search);
      absl::StatusOr<query::SearchResult> want = oracle->Search(search);
      ASSERT_TRUE(got.ok() && want.ok()) << what;
      ASSERT_EQ(got->spans.size(), want->spans.size()) << "search " << what;
      if (page == 0 && !got->spans.empty()) ++searches_with_spans;
      for (size_t s = 0; s < got->spans.size(); ++s) {
        EXPECT_EQ(got->spans[s].span, want->spans[s].span) << "search " << what;
        EXPECT_EQ(*got->spans[s].resource, *want->spans[s].resource) << "search " << what;
        EXPECT_EQ(*got->spans[s].scope, *want->spans[s].scope) << "search " << what;
        EXPECT_EQ(got->spans[s].ingestion_time_unix_nano, want->spans[s].ingestion_time_unix_nano);
      }
      ASSERT_EQ(got->next.has_value(), want->next.has_value()) << "search " << what;
      if (!got->next) break;
      search.after = got->next;
    }

    for (const char* key : {"span.attributes.user.id", "resource.attributes.service.name",
                            "span.attributes.mixed", "span.attributes.http.status_code",
                            "span.events.attributes.exception.type", "span.name", "span.kind"}) {
      query::TagValuesQuery tv{K(key), range, r.Chance(0.5) ? filters : std::vector<query::Filter>{},
                               r.Chance(0.5) ? 0 : 1 + r.Below(20)};
      if (r.Chance(0.1)) tv.range.reset();
      absl::StatusOr<query::TagValuesResult> got = (*sqlite)->TagValues(tv);
      absl::StatusOr<query::TagValuesResult> want = oracle->TagValues(tv);
      ASSERT_TRUE(got.ok() && want.ok()) << what;
      EXPECT_EQ(got->values, want->values) << "tag values " << key << " " << what;
      if (!got->values.empty()) ++tag_values_with_values;
      EXPECT_EQ(got->total_distinct, want->total_distinct) << "tag values " << key << " " << what;
    }

    for (const char* key : {"externalFields.durationNano", "span.attributes.ratio",
                            "span.attributes.http.status_code"}) {
      query::StatisticsQuery stats{K(key), range, filters, {}};
      for (const char* name : {"count", "min", "max", "avg", "sum", "p50", "p99", "p99.9"}) {
        absl::StatusOr<query::Statistic> statistic = query::ParseStatistic(name, "statistic");
        ASSERT_TRUE(statistic.ok());
        stats.wanted.push_back(*statistic);
      }
      absl::StatusOr<query::StatisticsResult> got = (*sqlite)->Statistics(stats);
      absl::StatusOr<query::StatisticsResult> want = oracle->Statistics(stats);
      ASSERT_TRUE(got.ok() && want.ok()) << what;
      ExpectSameStatistics(*got, *want, fmt::format("statistics {} {}", key, what));
      if (got->count("count") && got->at("count") > 0) ++statistics_with_count;
    }

    query::HistogramQuery histogram{range, filters, (1 + r.Below(10)) * 60 * kSecond, {}};
    histogram.aggregations.push_back({"count", query::AggregationFunc::kCount, {}, {}, 10, {}, {}});
    histogram.aggregations.push_back(
        {"by service", query::AggregationFunc::kCount, {}, K("resource.attributes.service.name"), 3, {}, {}});
    histogram.aggregations.push_back(
        {"users", query::AggregationFunc::kDistinctCount, K("span.attributes.user.id"), {}, 10, {}, {}});
    histogram.aggregations.push_back({"latency", query::AggregationFunc::kPercentiles,
                                      K("externalFields.durationNano"), {}, 10, {50, 99}, {}});
    histogram.aggregations.push_back({"latency by service", query::AggregationFunc::kPercentiles,
                                      K("externalFields.durationNano"),
                                      K("resource.attributes.service.name"), 3, {50, 99}, {}});
    histogram.aggregations.push_back({"heat", query::AggregationFunc::kRangeCount,
                                      K("externalFields.durationNano"), {}, 10, {},
                                      {0, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8}});
    absl::StatusOr<query::HistogramResult> got = (*sqlite)->Histograms(histogram);
    absl::StatusOr<query::HistogramResult> want = oracle->Histograms(histogram);
    ASSERT_TRUE(got.ok() && want.ok()) << what;
    EXPECT_EQ(*got, *want) << "histograms " << what;
    if (!got->empty() && !got->front().buckets.empty()) ++histograms_with_buckets;

    // The shapes per-block aggregates answer: counts exactly, approximate percentiles within
    // the sketch's error (their extremes exactly).
    const uint64_t counted_before = sqlite::GetScanStats(**sqlite).blocks_counted;
    query::HistogramQuery counted{range, filters, (1 + r.Below(10)) * 60 * kSecond, {}};
    counted.aggregations = {histogram.aggregations[0], histogram.aggregations[1],
                            histogram.aggregations[2]};
    counted.aggregations.push_back({"by status", query::AggregationFunc::kCount, {},
                                    K("span.status.code"), 10, {}, {}});
    got = (*sqlite)->Histograms(counted);
    want = oracle->Histograms(counted);
    ASSERT_TRUE(got.ok() && want.ok()) << what;
    EXPECT_EQ(*got, *want) << "count histograms " << what;
    counted.approximate = true;
    counted.aggregations.push_back({"latency", query::AggregationFunc::kPercentiles,
                                    K("externalFields.durationNano"), {}, 10, {0.1, 50, 99, 100},
                                    {}});
    got = (*sqlite)->Histograms(counted);
    want = oracle->Histograms(counted);  // exact
    ASSERT_TRUE(got.ok() && want.ok()) << what;
    ASSERT_EQ(got->size(), 5u);
    for (size_t a = 0; a < 4; ++a) EXPECT_EQ((*got)[a], (*want)[a]) << "histograms " << what;
    ExpectApproximatePercentiles((*got)[4], (*want)[4], what);
    for (bool approximate : {false, true}) {
      query::StatisticsQuery stats{K("externalFields.durationNano"), range, filters, {},
                                   approximate};
      for (const char* name : {"count", "min", "max", "avg", "sum", "p0.1", "p50", "p99.9"}) {
        if (!approximate && name[0] == 'p') continue;
        stats.wanted.push_back(*query::ParseStatistic(name, "statistic"));
      }
      absl::StatusOr<query::StatisticsResult> got_stats = (*sqlite)->Statistics(stats);
      absl::StatusOr<query::StatisticsResult> want_stats = oracle->Statistics(stats);
      ASSERT_TRUE(got_stats.ok() && want_stats.ok()) << what;
      ExpectSameStatistics(*got_stats, *want_stats, "duration statistics " + what,
                           approximate ? kDurationSketchRelativeError : 0);
    }
    aggregated_blocks += sqlite::GetScanStats(**sqlite).blocks_counted - counted_before;

    query::DependenciesQuery deps{range, r.Chance(0.3) ? r.Pick(kServices) : "", 1'000'000};
    absl::StatusOr<query::DependenciesResult> got_deps = (*sqlite)->Dependencies(deps);
    absl::StatusOr<query::DependenciesResult> want_deps = oracle->Dependencies(deps);
    ASSERT_TRUE(got_deps.ok() && want_deps.ok()) << what;
    EXPECT_EQ(*got_deps, *want_deps) << "dependencies " << deps.service << " " << what;
    if (!got_deps->edges.empty()) ++dependencies_with_edges;

    const TraceId trace = r.Pick(written).trace_id;
    query::TraceQuery tq{trace, r.Chance(0.5) ? 0 : 1 + r.Below(5), std::nullopt};
    absl::StatusOr<query::TraceResult> got_trace = (*sqlite)->GetTrace(tq);
    absl::StatusOr<query::TraceResult> want_trace = oracle->GetTrace(tq);
    ASSERT_TRUE(got_trace.ok() && want_trace.ok()) << ToHex(trace);
    ASSERT_EQ(got_trace->spans.size(), want_trace->spans.size()) << ToHex(trace);
    for (size_t s = 0; s < got_trace->spans.size(); ++s) {
      EXPECT_EQ(got_trace->spans[s].span, want_trace->spans[s].span) << ToHex(trace);
    }
    EXPECT_EQ(got_trace->next.has_value(), want_trace->next.has_value()) << ToHex(trace);
  }

  // Histograms and statistics answered whole blocks from their aggregates, not by decoding.
  std::printf("seed %llu: %llu blocks answered from aggregates\n",
              static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(aggregated_blocks));
  EXPECT_GT(aggregated_blocks, 0u);

  // Of 40 rounds: 40 searches, 280 tag-value, 120 statistics, 40 histogram and 40 dependencies
  // queries.
  EXPECT_GE(searches_with_spans, 20);
  EXPECT_GE(tag_values_with_values, 140);
  EXPECT_GE(statistics_with_count, 60);
  EXPECT_GE(histograms_with_buckets, 20);
  EXPECT_GE(dependencies_with_edges, 20);
  std::printf(
      "seed %llu: non-empty answers: %d searches, %d tag values, %d statistics, %d histograms, "
      "%d dependencies\n",
      static_cast<unsigned long long>(seed), searches_with_spans, tag_values_with_values,
      statistics_with_count, histograms_with_buckets, dependencies_with_edges);

  for (bool ranged : {false, true}) {
    query::TagKeysQuery keys;
    if (ranged) keys.range = RandomRange(r);
    absl::StatusOr<std::vector<query::TagInfo>> got = (*sqlite)->TagKeys(keys);
    absl::StatusOr<std::vector<query::TagInfo>> want = oracle->TagKeys(keys);
    ASSERT_TRUE(got.ok() && want.ok());
    EXPECT_EQ(*got, *want) << "tag keys, ranged " << ranged;
  }
  sqlite->reset();
  std::filesystem::remove_all(dir);
}

TEST(SqliteDifferentialTest, AnswersExactlyAsTheReferenceBackendSmallBlocks) {
  for (uint64_t seed : {1, 2, 3}) RunSeed(seed, "16");
}

TEST(SqliteDifferentialTest, AnswersExactlyAsTheReferenceBackendDefaultBlocks) {
  for (uint64_t seed : {4, 5}) RunSeed(seed, "1024");
}

TEST(SqliteDifferentialTest, AnswersExactlyAsTheReferenceBackendTinyBlocks) {
  RunSeed(6, "3");
}

}  // namespace
}  // namespace teletrace::storage
