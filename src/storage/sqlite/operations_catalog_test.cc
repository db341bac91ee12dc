#include "storage/sqlite/operations_catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>

#include "common/time_util.h"
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

// Random spans over many blocks, services given in every way a resource can (a string, twice,
// not a string, missing, empty), names with every byte, every kind: the catalog lists exactly what
// the blocks do, and reads none of them.
TEST(OperationsCatalogTest, ListsWhatTheBlocksHoldWithoutReadingThem) {
  const std::string dir = NewTestDir();
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
  const uint64_t t0 = 1700000000 * kSecond;
  for (int write = 0; write < 12; ++write) {
    BatchBuilder batch;
    for (int r = 0; r < 6; ++r) {
      batch.Resource(resources[random() % resources.size()]);
      for (int i = 0; i < 40; ++i) {
        batch.Span(names[random() % names.size()], static_cast<SpanKind>(random() % 6),
                   t0 + (random() % 3600) * kSecond);
      }
    }
    Write(*backend, batch.Take());
  }
  ASSERT_GE(QueryInt(dir, "SELECT count(*) FROM blocks"), 50);

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
