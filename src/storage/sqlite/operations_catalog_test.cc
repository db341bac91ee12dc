#include "storage/sqlite/operations_catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>

#include "common/golden_test_util.h"
#include "common/time_util.h"
#include "query/parse.h"
#include "fmt/format.h"
#include "storage/sqlite/sqlite_backend.h"
#include "storage/sqlite/sqlite_test_util.h"

namespace teletrace::storage::sqlite {
namespace {

using model::AnyValue;
using model::KeyValueList;
using model::SpanKind;
using Op = Backend::Operation;
using ::testing::ElementsAre;

constexpr uint64_t kSecond = 1000000000ULL;

using sqlite_test::MustOpen;
using sqlite_test::NewTestDir;

int64_t QueryInt(const std::string& dir, const std::string& sql) {
  return sqlite_test::QueryInt(sqlite_test::DbPath(dir), sql);
}

void Exec(const std::string& dir, const std::string& sql) {
  ASSERT_TRUE(sqlite_test::ExecSql(sqlite_test::DbPath(dir), sql));
}

// Spans appended to a batch, each resource once per call of Resource().
class BatchBuilder {
 public:
  BatchBuilder& Resource(KeyValueList attributes) {
    model::ResourceSpans& rs = batch_.resource_spans.emplace_back();
    rs.resource.attributes = std::move(attributes);
    rs.scope_spans.emplace_back();
    return *this;
  }
  BatchBuilder& Service(std::string name) {
    return Resource({{"service.name", AnyValue(std::move(name))}});
  }
  BatchBuilder& Span(std::string name, SpanKind kind, uint64_t start) {
    static std::atomic<uint32_t> next{1};
    const uint32_t n = next++;
    model::Span& s = batch_.resource_spans.back().scope_spans.back().spans.emplace_back();
    s.trace_id[0] = 0x11;
    for (int i = 0; i < 4; ++i) s.trace_id[12 + i] = static_cast<uint8_t>((n / 4) >> (8 * i));
    for (int i = 0; i < 4; ++i) s.span_id[4 + i] = static_cast<uint8_t>(n >> (8 * i));
    s.span_id[0] = 0x22;
    s.name = std::move(name);
    s.kind = kind;
    s.start_time_unix_nano = start;
    s.end_time_unix_nano = start + 1000;
    return *this;
  }
  model::SpanBatch Take() { return std::move(batch_); }

 private:
  model::SpanBatch batch_;
};

void Write(Backend& backend, model::SpanBatch batch) {
  ASSERT_TRUE(backend.WriteSpans(std::move(batch), 1).ok());
}

std::vector<std::string> ServicesOf(Backend& backend) {
  absl::StatusOr<std::vector<std::string>> services = backend.Services();
  EXPECT_TRUE(services.ok()) << services.status();
  return services.ok() ? *services : std::vector<std::string>{"(error)"};
}

std::vector<Op> OperationsOf(Backend& backend, const std::string& service) {
  absl::StatusOr<std::vector<Op>> operations = backend.Operations(service);
  EXPECT_TRUE(operations.ok()) << operations.status();
  return operations.ok() ? *operations : std::vector<Op>{{"(error)", SpanKind::kUnspecified}};
}

// Every block read, answered or pruned so far.
uint64_t BlocksTouched(const Backend& backend) {
  const SqliteScanStats s = GetScanStats(backend);
  return s.blocks_decoded + s.blocks_projected + s.blocks_pruned + s.blocks_counted +
         s.blocks_grouped + s.blocks_whole;
}

constexpr uint64_t kRandomT0 = 1700000000 * kSecond;

// Random spans over many 50-span blocks of an hour, services given in every way a resource can
// (a string, twice, not a string, missing, empty), names with every byte, every kind.
std::unique_ptr<Backend> RandomStore(const std::string& dir) {
  std::unique_ptr<Backend> backend = MustOpen({{"path", dir}, {"block_spans", "50"}});
  std::mt19937 random(7);
  const std::vector<KeyValueList> resources = {
      {{"service.name", AnyValue("cart")}},
      {{"service.name", AnyValue("pay")}, {"host.name", AnyValue("h1")}},
      {{"service.name", AnyValue("cart")}, {"service.name", AnyValue("stock")}},  // the last wins
      {{"service.name", AnyValue(int64_t{3})}},
      {{"host.name", AnyValue("h2")}},
      {{"service.name", AnyValue("")}},
      {{"service.name", AnyValue(std::string("z\0\xff", 3))}},
  };
  const std::vector<std::string> names = {"GET /a", "GET /b", "", std::string("n\0\x80", 3),
                                          "SELECT x", "publish"};
  for (int write = 0; write < 12; ++write) {
    BatchBuilder batch;
    for (size_t r = 0; r < (write == 0 ? resources.size() : 6); ++r) {
      // Each resource once, then mostly services with string names, so that many blocks hold
      // only those.
      batch.Resource(write == 0              ? resources[r]
                     : random() % 4 == 0 ? resources[random() % resources.size()]
                                         : resources[random() % 3]);
      for (int i = 0; i < 40; ++i) {
        batch.Span(names[random() % names.size()], static_cast<SpanKind>(random() % 6),
                   kRandomT0 + (random() % 3600) * kSecond);
      }
    }
    Write(*backend, batch.Take());
  }
  EXPECT_GE(QueryInt(dir, "SELECT count(*) FROM blocks"), 50);
  return backend;
}

// The lists from the catalog are exactly what the blocks hold, and read none of them.
TEST(OperationsCatalogTest, ListsWhatTheBlocksHoldWithoutReadingThem) {
  const std::string dir = NewTestDir();
  std::unique_ptr<Backend> backend = RandomStore(dir);
  const uint64_t touched = BlocksTouched(*backend);
  const std::vector<std::string> services = ServicesOf(*backend);
  std::map<std::string, std::vector<Op>> operations;
  for (const std::string& service : services) operations[service] = OperationsOf(*backend, service);
  EXPECT_TRUE(OperationsOf(*backend, "none").empty());
  EXPECT_EQ(BlocksTouched(*backend), touched);

  // The same lists read from the blocks (the backend contract's default).
  absl::StatusOr<std::vector<std::string>> scanned = backend->Backend::Services();
  ASSERT_TRUE(scanned.ok()) << scanned.status();
  EXPECT_GT(BlocksTouched(*backend), touched);
  EXPECT_EQ(services, *scanned);
  EXPECT_THAT(services, ElementsAre("", "cart", "pay", "stock", std::string("z\0\xff", 3)));
  size_t listed = 0;
  for (const std::string& service : services) {
    absl::StatusOr<std::vector<Op>> from_blocks = backend->Backend::Operations(service);
    ASSERT_TRUE(from_blocks.ok()) << from_blocks.status();
    EXPECT_EQ(operations[service], *from_blocks) << service;
    listed += from_blocks->size();
  }
  EXPECT_EQ(QueryInt(dir, "SELECT count(*) FROM operations"), static_cast<int64_t>(listed));
}

query::Filter FilterOf(std::string_view key, query::Operator op,
                       std::optional<query::Scalar> value, std::vector<query::Scalar> values = {}) {
  query::Filter f{*query::ParseKey(key, "test"), op, std::move(value), std::move(values)};
  EXPECT_TRUE(query::ValidateFilter(f, "test").ok()) << key;
  return f;
}

// Span names with filters on service.name, kind and name: the blocks wholly inside the range that
// have operation counts are answered from them (none decoded), the others decoded, and the
// answer is decoding's exactly.
TEST(OperationsCatalogTest, SpanNamesAreCountedFromTheBlocksOperationCounts) {
  const std::string dir = NewTestDir();
  std::unique_ptr<Backend> backend = RandomStore(dir);
  const int64_t blocks = QueryInt(dir, "SELECT count(*) FROM blocks");
  const int64_t with_counts = QueryInt(dir, "SELECT count(*) FROM block_operations");
  EXPECT_GT(with_counts, blocks / 3);
  EXPECT_LT(with_counts, blocks);  // blocks with a span whose service.name is not a string
  const std::string service = "resource.attributes.service.name";
  const std::vector<std::vector<query::Filter>> filter_sets = {
      {},
      {FilterOf(service, query::Operator::kEquals, query::Scalar("cart"))},
      {FilterOf(service, query::Operator::kNotEquals, query::Scalar("cart")),
       FilterOf("span.kind", query::Operator::kEquals, query::Scalar("Server"))},
      {FilterOf(service, query::Operator::kIn, std::nullopt,
                {query::Scalar("pay"), query::Scalar("stock")}),
       FilterOf("span.name", query::Operator::kNotEquals, query::Scalar("GET /a"))},
      {FilterOf("span.kind", query::Operator::kIn, std::nullopt,
                {query::Scalar("Client"), query::Scalar("Producer")})},
  };
  // Every block, and a range cutting blocks at both ends.
  const std::vector<std::optional<query::TimeRange>> ranges = {
      std::nullopt, query::TimeRange{kRandomT0 + 600 * kSecond, kRandomT0 + 2400 * kSecond}};
  std::vector<query::TagValuesResult> from_counts;
  for (const std::optional<query::TimeRange>& range : ranges) {
    const int64_t inside =
        range ? QueryInt(dir, fmt::format("SELECT count(*) FROM blocks b JOIN block_operations o "
                                          "USING (block_id) WHERE min_start_unix_nano >= {} AND "
                                          "max_start_unix_nano <= {}",
                                          range->start_unix_nano, range->end_unix_nano))
              : with_counts;
    EXPECT_GT(inside, 0);
    for (const std::vector<query::Filter>& filters : filter_sets) {
      const query::TagValuesQuery q{*query::ParseKey("span.name", "test"), range, filters, 0};
      const uint64_t whole = GetScanStats(*backend).blocks_whole;
      absl::StatusOr<query::TagValuesResult> result = backend->TagValues(q);
      ASSERT_TRUE(result.ok()) << result.status();
      EXPECT_EQ(GetScanStats(*backend).blocks_whole - whole, static_cast<uint64_t>(inside));
      from_counts.push_back(*result);
    }
  }
  // The same queries with every block decoded.
  Exec(dir, "DELETE FROM block_operations");
  size_t i = 0;
  size_t nonempty = 0;
  for (const std::optional<query::TimeRange>& range : ranges) {
    for (const std::vector<query::Filter>& filters : filter_sets) {
      const query::TagValuesQuery q{*query::ParseKey("span.name", "test"), range, filters, 0};
      const uint64_t whole = GetScanStats(*backend).blocks_whole;
      absl::StatusOr<query::TagValuesResult> decoded = backend->TagValues(q);
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      EXPECT_EQ(GetScanStats(*backend).blocks_whole, whole);
      const query::TagValuesResult& counted = from_counts[i++];
      EXPECT_EQ(counted.values, decoded->values) << "query " << i;
      EXPECT_EQ(counted.total_distinct, decoded->total_distinct) << "query " << i;
      nonempty += counted.values.empty() ? 0 : 1;
    }
  }
  EXPECT_EQ(nonempty, ranges.size() * filter_sets.size());
}

TEST(OperationCountsTest, RoundTripsAndNamesEachMalformation) {
  const std::vector<std::pair<int64_t, uint64_t>> counts = {{1, 3}, {2, 1}, {300, 70000}};
  const std::string bytes = EncodeOperationCounts(counts);
  absl::StatusOr<std::vector<std::pair<int64_t, uint64_t>>> parsed = ParseOperationCounts(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, counts);
  EXPECT_TRUE(ParseOperationCounts(EncodeOperationCounts({}))->empty());
  auto error = [](std::string_view bytes) {
    absl::StatusOr<std::vector<std::pair<int64_t, uint64_t>>> r = ParseOperationCounts(bytes);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
    return std::string(r.status().message());
  };
  EXPECT_EQ(error(""), "operation counts: empty");
  EXPECT_EQ(error("\x02\x00"), "operation counts: unknown version 2");
  EXPECT_EQ(error(bytes.substr(0, bytes.size() - 1)), "operation counts: malformed operation 2");
  EXPECT_EQ(error(bytes + "x"), "operation counts: 1 trailing bytes");
  EXPECT_EQ(error(std::string("\x01\x02\x01\x01\x00\x01", 6)),
            "operation counts: operation 1 out of order");
  EXPECT_EQ(error(std::string("\x01\x01\x01\x00", 4)),
            "operation counts: operation 0 counts no span");
  EXPECT_EQ(error(std::string("\x01\x81\x00", 3)), "operation counts: malformed count");
  EXPECT_EQ(error(std::string("\x01\x05\x01\x01", 4)), "operation counts: 5 operations in 2 bytes");
}

// tests/fixtures/blocks/operation_counts_v1.bin: counts as this version writes them, pinned so
// that they stay readable. It is also the fuzzer's seed.
TEST(OperationCountsTest, FixtureStillReads) {
  const std::optional<std::string> bytes = golden::ReadFixture("blocks/operation_counts_v1.bin");
  if (!bytes) GTEST_SKIP() << "TELETRACE_SOURCE_DIR not set";
  absl::StatusOr<std::vector<std::pair<int64_t, uint64_t>>> read = ParseOperationCounts(*bytes);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, (std::vector<std::pair<int64_t, uint64_t>>{{1, 3}, {2, 1}, {269, 66640}}));
}

// A stored bound moves only when a span starts more than the slack later, and survives a reopen.
TEST(OperationsCatalogTest, BoundsAreRaisedOnlyPastTheSlack) {
  const std::string dir = NewTestDir();
  const uint64_t t = 1700000000 * kSecond;
  auto bound = [&dir] {
    return QueryInt(dir, "SELECT last_start_unix_nano FROM operations "
                         "WHERE service = CAST('svc' AS BLOB)");
  };
  {
    std::unique_ptr<Backend> backend = MustOpen({{"path", dir}});
    Write(*backend, BatchBuilder().Service("svc").Span("op", SpanKind::kServer, t).Take());
    EXPECT_EQ(bound(), static_cast<int64_t>(t));
    Write(*backend, BatchBuilder().Service("svc").Span("op", SpanKind::kServer, t + 60 * kSecond)
                        .Take());
    EXPECT_EQ(bound(), static_cast<int64_t>(t));
    Write(*backend, BatchBuilder().Service("svc").Span("op", SpanKind::kServer, t + 90 * kSecond)
                        .Take());
    EXPECT_EQ(bound(), static_cast<int64_t>(t + 90 * kSecond));
    Write(*backend, BatchBuilder().Service("svc").Span("op", SpanKind::kServer, t - 3600 * kSecond)
                        .Take());
    EXPECT_EQ(bound(), static_cast<int64_t>(t + 90 * kSecond));
  }
  std::unique_ptr<Backend> backend = MustOpen({{"path", dir}});
  Write(*backend, BatchBuilder().Service("svc").Span("op", SpanKind::kServer, t + 150 * kSecond)
                      .Take());
  EXPECT_EQ(bound(), static_cast<int64_t>(t + 90 * kSecond));
  Write(*backend, BatchBuilder().Service("svc").Span("op", SpanKind::kServer, t + 151 * kSecond)
                      .Take());
  EXPECT_EQ(bound(), static_cast<int64_t>(t + 151 * kSecond));
  EXPECT_EQ(QueryInt(dir, "SELECT count(*) FROM operations"), 1);
}

TEST(OperationsCatalogTest, RetentionDeletesTheOperationsWhoseSpansAreGone) {
  const std::string dir = NewTestDir();
  std::unique_ptr<Backend> backend = MustOpen({{"path", dir}, {"retention_max_age", "168h"}});
  const uint64_t now = NowUnixNano();
  const uint64_t old = now - 10 * 24 * 3600 * kSecond, recent = now - 3600 * kSecond;
  Write(*backend, BatchBuilder()
                      .Service("gone")
                      .Span("old", SpanKind::kServer, old)
                      .Service("kept")
                      .Span("old", SpanKind::kServer, old)
                      .Take());
  Write(*backend, BatchBuilder().Service("kept").Span("new", SpanKind::kClient, recent).Take());
  EXPECT_THAT(ServicesOf(*backend), ElementsAre("gone", "kept"));
  EXPECT_THAT(OperationsOf(*backend, "kept"),
              ElementsAre(Op{"new", SpanKind::kClient}, Op{"old", SpanKind::kServer}));

  ASSERT_TRUE(backend->EnforceRetention().ok());
  EXPECT_EQ(QueryInt(dir, "SELECT count(*) FROM blocks"), 1);
  EXPECT_THAT(ServicesOf(*backend), ElementsAre("kept"));
  EXPECT_THAT(OperationsOf(*backend, "kept"), ElementsAre(Op{"new", SpanKind::kClient}));
  EXPECT_TRUE(OperationsOf(*backend, "gone").empty());
  EXPECT_EQ(QueryInt(dir, "SELECT count(*) FROM operations"), 1);
  // The memory side forgot them too: the operation comes back with a new span.
  Write(*backend, BatchBuilder().Service("gone").Span("old", SpanKind::kServer, recent).Take());
  EXPECT_THAT(ServicesOf(*backend), ElementsAre("gone", "kept"));
}

// A store written before the catalog: its lists come from the blocks until retention has
// deleted the blocks the catalog does not cover, then from the catalog.
TEST(OperationsCatalogTest, BlocksWrittenBeforeTheCatalogAreReadUntilDeleted) {
  const std::string dir = NewTestDir();
  const uint64_t now = NowUnixNano();
  const uint64_t old = now - 10 * 24 * 3600 * kSecond, recent = now - 3600 * kSecond;
  {
    std::unique_ptr<Backend> backend = MustOpen({{"path", dir}});
    Write(*backend, BatchBuilder().Service("before").Span("a", SpanKind::kServer, old).Take());
  }
  // As migration 008 leaves a store written before it.
  Exec(dir,
       "DELETE FROM operations; UPDATE meta SET value = (SELECT max(block_id) + 1 FROM blocks) "
       "WHERE key = 'operations_from_block'");
  std::unique_ptr<Backend> backend = MustOpen({{"path", dir}, {"retention_max_age", "168h"}});
  Write(*backend, BatchBuilder().Service("after").Span("b", SpanKind::kClient, recent).Take());
  EXPECT_EQ(QueryInt(dir, "SELECT count(*) FROM operations"), 1);

  uint64_t touched = BlocksTouched(*backend);
  EXPECT_THAT(ServicesOf(*backend), ElementsAre("after", "before"));
  EXPECT_THAT(OperationsOf(*backend, "before"), ElementsAre(Op{"a", SpanKind::kServer}));
  EXPECT_GT(BlocksTouched(*backend), touched);

  ASSERT_TRUE(backend->EnforceRetention().ok());
  EXPECT_EQ(QueryInt(dir, "SELECT value FROM meta WHERE key = 'operations_from_block'"), 0);
  touched = BlocksTouched(*backend);
  EXPECT_THAT(ServicesOf(*backend), ElementsAre("after"));
  EXPECT_THAT(OperationsOf(*backend, "after"), ElementsAre(Op{"b", SpanKind::kClient}));
  EXPECT_EQ(BlocksTouched(*backend), touched);
}

// Past operations_max_bytes the catalog is dropped (and stays so across a reopen) while the lists
// stay exact; it comes back once retention has emptied the store.
TEST(OperationsCatalogTest, PastItsMemoryBoundTheCatalogIsDroppedAndTheListsStayExact) {
  const std::string dir = NewTestDir();
  const BackendSettings settings = {
      {"path", dir}, {"retention_max_age", "168h"}, {"operations_max_bytes", "2KiB"}};
  const uint64_t old = NowUnixNano() - 10 * 24 * 3600 * kSecond;
  std::vector<Op> expected;
  {
    std::unique_ptr<Backend> backend = MustOpen(settings);
    Write(*backend, BatchBuilder().Service("svc").Span("op 0", SpanKind::kServer, old).Take());
    EXPECT_EQ(QueryInt(dir, "SELECT count(*) FROM operations"), 1);
    BatchBuilder batch;
    batch.Service("svc");
    for (int i = 0; i < 100; ++i) {
      batch.Span(fmt::format("op {}", i), SpanKind::kServer, old);
      expected.push_back(Op{fmt::format("op {}", i), SpanKind::kServer});
    }
    Write(*backend, batch.Take());
    EXPECT_EQ(QueryInt(dir, "SELECT count(*) FROM operations"), 0);
    EXPECT_EQ(QueryInt(dir, "SELECT value FROM meta WHERE key = 'operations_from_block'"),
              INT64_MAX);
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(OperationsOf(*backend, "svc"), expected);
  }
  std::unique_ptr<Backend> backend = MustOpen(settings);
  Write(*backend, BatchBuilder().Service("other").Span("x", SpanKind::kServer, old).Take());
  EXPECT_EQ(QueryInt(dir, "SELECT count(*) FROM operations"), 0);
  EXPECT_THAT(ServicesOf(*backend), ElementsAre("other", "svc"));
  EXPECT_EQ(OperationsOf(*backend, "svc"), expected);

  ASSERT_TRUE(backend->EnforceRetention().ok());  // every span is older than 168h
  EXPECT_EQ(QueryInt(dir, "SELECT count(*) FROM blocks"), 0);
  EXPECT_EQ(QueryInt(dir, "SELECT value FROM meta WHERE key = 'operations_from_block'"), 0);
  Write(*backend,
        BatchBuilder().Service("again").Span("y", SpanKind::kServer, NowUnixNano()).Take());
  EXPECT_EQ(QueryInt(dir, "SELECT count(*) FROM operations"), 1);
  const uint64_t touched = BlocksTouched(*backend);
  EXPECT_THAT(ServicesOf(*backend), ElementsAre("again"));
  EXPECT_EQ(BlocksTouched(*backend), touched);
}

}  // namespace
}  // namespace teletrace::storage::sqlite
