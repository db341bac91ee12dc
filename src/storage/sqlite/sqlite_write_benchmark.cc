// Micro-benchmarks of the embedded store's write path: the span block codec (encode, decode) and
// SqliteBackend::WriteSpans into a fresh database (WAL, synchronous=FULL, so every call pays its
// commit's fsync), on spans shaped like the load generator's: 10 typed span attributes, 6 resource
// attributes, 10% of spans with an event, traces of 20 spans spread over 10 services.
//
//   build/release/src/storage/sqlite/sqlite_write_benchmark --benchmark_min_time=0.5
//
// items_per_second is spans per second on one thread. BM_BuildBlockSummary is the per-block
// summary's share of a write; BM_SqliteSearchRareAttribute is what it buys a filtered search.
// BM_BuildBlockValueCounts is the per-block value counts' share of a write;
// BM_SqliteTagValuesServiceName what they buy unfiltered tag values. TMPDIR chooses where the
// databases go (use the disk the server would use; tmpfs makes fsync free).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <sqlite3.h>
#include <unistd.h>

#include "absl/container/flat_hash_map.h"
#include "model/span.h"
#include "query/query.h"
#include "storage/block_calls.h"
#include "storage/block_summary.h"
#include "storage/block_value_counts.h"
#include "storage/span_block_codec.h"
#include "storage/sqlite/sqlite_backend.h"

namespace teletrace::storage {
namespace {

constexpr int kSpansPerTrace = 20;
constexpr int kServices = 10;

// A batch of `spans` spans as a receiver would hand it over: one resource per service. `salt`
// makes trace ids distinct between calls.
model::SpanBatch MakeBatch(int spans, uint64_t salt) {
  std::mt19937_64 rng(salt);
  model::SpanBatch batch;
  for (int s = 0; s < kServices; ++s) {
    model::ResourceSpans rs;
    rs.resource.attributes = {
        {"service.name", "service-" + std::to_string(s)},
        {"service.version", "1.4." + std::to_string(s)},
        {"host.name", "host-" + std::to_string(s) + ".example.internal"},
        {"deployment.environment", "production"},
        {"telemetry.sdk.language", "cpp"},
        {"process.pid", int64_t{1000} + s},
    };
    model::ScopeSpans ss;
    ss.scope.name = "teletrace.bench";
    ss.scope.version = "1.0.0";
    rs.scope_spans.push_back(std::move(ss));
    batch.resource_spans.push_back(std::move(rs));
  }
  const uint64_t base = 1700000000000000000ULL + salt * 1000000000ULL;
  TraceId trace_id{};
  for (int i = 0; i < spans; ++i) {
    if (i % kSpansPerTrace == 0) {
      for (uint8_t& b : trace_id) b = static_cast<uint8_t>(rng());
    }
    model::Span span;
    span.trace_id = trace_id;
    for (uint8_t& b : span.span_id) b = static_cast<uint8_t>(rng());
    if (i % kSpansPerTrace != 0) {
      for (uint8_t& b : span.parent_span_id) b = static_cast<uint8_t>(rng());
    }
    span.flags = 0x301;
    span.name = "GET /api/v1/operation-" + std::to_string(rng() % 20);
    span.kind = static_cast<model::SpanKind>(1 + rng() % 3);
    span.start_time_unix_nano = base + rng() % 1000000000;
    span.end_time_unix_nano = span.start_time_unix_nano + 1000 + rng() % 50000000;
    span.attributes = {
        {"http.method", (rng() & 1) ? "GET" : "POST"},
        {"http.route", "/api/v1/items/{id}"},
        {"http.status_code", int64_t{200}},
        {"http.url", "https://shop.example.com/api/v1/items/" + std::to_string(rng() % 10000000)},
        {"user.id", "user-" + std::to_string(rng() % 1000000)},
        {"peer.service", "service-" + std::to_string(rng() % kServices)},
        {"http.request_content_length", static_cast<int64_t>(rng() % 100000)},
        {"app.score", static_cast<double>(rng() % 1000) / 7.0},
        {"cache.hit", static_cast<bool>(rng() & 1)},
        {"cloud.region", "eu-west-" + std::to_string(1 + rng() % 3)},
    };
    if (i % 10 == 0) {
      model::Event event;
      event.name = "exception";
      event.time_unix_nano = span.start_time_unix_nano + 500;
      event.attributes = {{"exception.type", "std::runtime_error"},
                          {"exception.message", "upstream timed out after 3 s"}};
      span.events.push_back(std::move(event));
      span.status.code = model::StatusCode::kError;
    }
    batch.resource_spans[rng() % kServices].scope_spans[0].spans.push_back(std::move(span));
  }
  return batch;
}

std::filesystem::path TempDir(const std::string& name) {
  const char* tmp = std::getenv("TMPDIR");
  std::filesystem::path dir = std::filesystem::path(tmp != nullptr ? tmp : "/tmp") /
                              ("teletrace_bench_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

void BM_EncodeSpanBlock(benchmark::State& state) {
  const int spans = static_cast<int>(state.range(0));
  std::vector<model::StoredSpan> flat = model::Flatten(MakeBatch(spans, 1), 1);
  size_t bytes = 0;
  for (auto _ : state) {
    absl::StatusOr<std::string> block = EncodeSpanBlock(flat);
    if (!block.ok()) state.SkipWithError("encode failed");
    bytes = block->size();
    benchmark::DoNotOptimize(block);
  }
  state.SetItemsProcessed(state.iterations() * spans);
  state.counters["block_bytes_per_span"] = static_cast<double>(bytes) / spans;
}
BENCHMARK(BM_EncodeSpanBlock)->Arg(1024);

void BM_DecodeSpanBlock(benchmark::State& state) {
  const int spans = static_cast<int>(state.range(0));
  absl::StatusOr<std::string> block = EncodeSpanBlock(model::Flatten(MakeBatch(spans, 1), 1));
  for (auto _ : state) {
    auto decoded = DecodeSpanBlock(*block);
    if (!decoded.ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(decoded);
  }
  state.SetItemsProcessed(state.iterations() * spans);
}
BENCHMARK(BM_DecodeSpanBlock)->Arg(1024);

// The per-block summary written beside each block (storage/block_summary.h): its build cost is
// part of every write, its size part of every block's disk footprint.
void BM_BuildBlockSummary(benchmark::State& state) {
  const int spans = static_cast<int>(state.range(0));
  std::vector<model::StoredSpan> flat = model::Flatten(MakeBatch(spans, 1), 1);
  size_t bytes = 0;
  for (auto _ : state) {
    BlockSummaryBuilder builder;
    for (const model::StoredSpan& s : flat) builder.Add(s);
    std::string summary = std::move(builder).Finish();
    bytes = summary.size();
    benchmark::DoNotOptimize(summary);
  }
  state.SetItemsProcessed(state.iterations() * spans);
  state.counters["summary_bytes_per_span"] = static_cast<double>(bytes) / spans;
}
BENCHMARK(BM_BuildBlockSummary)->Arg(1024);

// The per-block value counts written beside each block (storage/block_value_counts.h): like the
// summary, their build cost is part of every write and their size part of every block.
void BM_BuildBlockValueCounts(benchmark::State& state) {
  const int spans = static_cast<int>(state.range(0));
  std::vector<model::StoredSpan> flat = model::Flatten(MakeBatch(spans, 1), 1);
  size_t bytes = 0;
  for (auto _ : state) {
    BlockValueCountsBuilder builder;
    for (const model::StoredSpan& s : flat) builder.Add(s);
    std::string counts = std::move(builder).Finish();
    bytes = counts.size();
    benchmark::DoNotOptimize(counts);
  }
  state.SetItemsProcessed(state.iterations() * spans);
  state.counters["counts_bytes_per_span"] = static_cast<double>(bytes) / spans;
}
BENCHMARK(BM_BuildBlockValueCounts)->Arg(1024);

// The same counts with the block's groups by (service, status code, span kind) serialized too
// (BlockValueCountsBuilder::Groups): the difference to BM_BuildBlockValueCounts is the groups'
// share of a write. The batch's 10 services, 3 kinds and errors on every tenth span make ~50
// groups per block, as the benchmark store's blocks have.
void BM_BuildBlockValueCountsAndGroups(benchmark::State& state) {
  const int spans = static_cast<int>(state.range(0));
  std::vector<model::StoredSpan> flat = model::Flatten(MakeBatch(spans, 1), 1);
  size_t bytes = 0;
  for (auto _ : state) {
    BlockValueCountsBuilder builder;
    for (const model::StoredSpan& s : flat) builder.Add(s);
    absl::StatusOr<std::string> groups = builder.Groups();
    if (!groups.ok() || groups->empty()) state.SkipWithError("no groups");
    bytes = groups->size();
    std::string counts = std::move(builder).Finish();
    benchmark::DoNotOptimize(counts);
    benchmark::DoNotOptimize(groups);
  }
  state.SetItemsProcessed(state.iterations() * spans);
  state.counters["groups_bytes_per_span"] = static_cast<double>(bytes) / spans;
}
BENCHMARK(BM_BuildBlockValueCountsAndGroups)->Arg(1024);

// The calls stored beside each block (storage/block_calls.h): the write's spans by id, then the
// block's calls resolved against them and encoded. Each trace's first span is the parent of its
// others, so every call resolves, as in a write of whole traces.
void BM_BuildStoredCalls(benchmark::State& state) {
  const int spans = static_cast<int>(state.range(0));
  std::vector<model::StoredSpan> flat = model::Flatten(MakeBatch(spans, 1), 1);
  absl::flat_hash_map<TraceId, SpanId> roots;
  for (model::StoredSpan& s : flat) {
    auto [root, added] = roots.try_emplace(s.span.trace_id, s.span.span_id);
    s.span.parent_span_id = added ? SpanId{} : root->second;
  }
  std::vector<const model::StoredSpan*> pointers;
  for (const model::StoredSpan& s : flat) pointers.push_back(&s);
  size_t bytes = 0;
  for (auto _ : state) {
    const WrittenSpans written(pointers);
    std::optional<StoredCalls> calls = CallsOfBlock(written, 0, pointers.size());
    std::string encoded = EncodeBlockCalls(*calls);
    bytes = encoded.size();
    benchmark::DoNotOptimize(encoded);
  }
  state.SetItemsProcessed(state.iterations() * spans);
  state.counters["calls_bytes_per_span"] = static_cast<double>(bytes) / spans;
}
BENCHMARK(BM_BuildStoredCalls)->Arg(1024);

// One WriteSpans per iteration, batches of range(0) spans (the pipeline's group commit hands over
// up to 16,384 spans at once). Batches are built outside the timed region.
void BM_SqliteWriteSpans(benchmark::State& state) {
  const int spans = static_cast<int>(state.range(0));
  std::filesystem::path dir = TempDir("write");
  absl::StatusOr<std::unique_ptr<Backend>> backend =
      NewSqliteBackend({{"path", dir.string()}, {"retention_max_age", "0"}});
  if (!backend.ok()) {
    state.SkipWithError(std::string(backend.status().message()).c_str());
    return;
  }
  uint64_t salt = 1;
  for (auto _ : state) {
    state.PauseTiming();
    model::SpanBatch batch = MakeBatch(spans, ++salt);
    state.ResumeTiming();
    absl::Status status = (*backend)->WriteSpans(std::move(batch), salt);
    if (!status.ok()) {
      state.SkipWithError(std::string(status.message()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * spans);
  uint64_t disk = (*backend)->DiskBytes();
  if (state.iterations() > 0) {
    state.counters["disk_bytes_per_span"] =
        static_cast<double>(disk) / static_cast<double>(state.iterations() * spans);
  }
  backend->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SqliteWriteSpans)->Arg(1000)->Arg(16384)->UseRealTime();

// What the summaries buy on the read side: the first page of a search by a rare attribute value
// (user.id, ~1 span in a million) on a store of kSearchStoreSpans spans, with the block summaries
// (range(0) == 0) and after deleting them, as on a store written before migration 002 (1). The
// store is filled once per process; BENCH_STORE_DIR keeps it between runs.
constexpr int kSearchStoreSpans = 1000000;

struct SearchStore {
  std::filesystem::path dir;
  std::unique_ptr<Backend> backend;
  std::string rare_user_id;
  double summary_bytes_per_span = 0;
};

SearchStore* FilledSearchStore() {
  static SearchStore* store = [] {
    auto* st = new SearchStore;
    const char* kept = std::getenv("BENCH_STORE_DIR");
    st->dir = kept != nullptr ? std::filesystem::path(kept) : TempDir("search");
    const bool fill = !std::filesystem::exists(st->dir / "teletrace.db");
    st->backend = *NewSqliteBackend({{"path", st->dir.string()}, {"retention_max_age", "0"}});
    constexpr int kBatch = 10000;
    for (int b = 0; fill && b < kSearchStoreSpans / kBatch; ++b) {
      if (!st->backend->WriteSpans(MakeBatch(kBatch, 1000 + b), 1).ok()) std::abort();
    }
    // A value written once, in the middle of the store's time range.
    model::SpanBatch middle = MakeBatch(kBatch, 1000 + kSearchStoreSpans / kBatch / 2);
    for (const model::KeyValue& kv : middle.resource_spans[0].scope_spans[0].spans[0].attributes) {
      if (kv.key == "user.id") st->rare_user_id = std::get<std::string>(kv.value.value);
    }
    return st;
  }();
  return store;
}

void BM_SqliteSearchRareAttribute(benchmark::State& state) {
  SearchStore* store = FilledSearchStore();
  if (state.range(0) == 1) {
    sqlite3* db = nullptr;
    sqlite3_open((store->dir / "teletrace.db").string().c_str(), &db);
    sqlite3_exec(db, "DELETE FROM block_summaries", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  query::SearchQuery q;
  query::Filter f;
  f.key.level = query::KeyLevel::kSpan;
  f.key.name = "user.id";
  f.key.text = "span.attributes.user.id";
  f.value = store->rare_user_id;
  q.filters = {f};
  size_t found = 0;
  const sqlite::SqliteScanStats before = sqlite::GetScanStats(*store->backend);
  for (auto _ : state) {
    absl::StatusOr<query::SearchResult> result = store->backend->Search(q);
    if (!result.ok()) {
      state.SkipWithError(std::string(result.status().message()).c_str());
      break;
    }
    found = result->spans.size();
  }
  const sqlite::SqliteScanStats after = sqlite::GetScanStats(*store->backend);
  state.counters["matches"] = static_cast<double>(found);
  if (state.iterations() > 0) {
    state.counters["blocks_decoded"] =
        static_cast<double>(after.blocks_decoded - before.blocks_decoded) / state.iterations();
    state.counters["blocks_pruned"] =
        static_cast<double>(after.blocks_pruned - before.blocks_pruned) / state.iterations();
  }
}
BENCHMARK(BM_SqliteSearchRareAttribute)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// What the value counts buy: tag values with counts for resource service.name over the whole store
// of kSearchStoreSpans spans, with the counts (range(0) == 0) and after deleting them, as on a
// store written before migration 003 (1; run after 0, since it deletes them for good).
void BM_SqliteTagValuesServiceName(benchmark::State& state) {
  SearchStore* store = FilledSearchStore();
  if (state.range(0) == 1) {
    sqlite3* db = nullptr;
    sqlite3_open((store->dir / "teletrace.db").string().c_str(), &db);
    sqlite3_exec(db, "DELETE FROM block_value_counts", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  query::TagValuesQuery q;
  q.key.level = query::KeyLevel::kResource;
  q.key.name = "service.name";
  q.key.text = "resource.attributes.service.name";
  size_t values = 0;
  const sqlite::SqliteScanStats before = sqlite::GetScanStats(*store->backend);
  for (auto _ : state) {
    absl::StatusOr<query::TagValuesResult> result = store->backend->TagValues(q);
    if (!result.ok()) {
      state.SkipWithError(std::string(result.status().message()).c_str());
      break;
    }
    values = result->values.size();
  }
  const sqlite::SqliteScanStats after = sqlite::GetScanStats(*store->backend);
  state.counters["values"] = static_cast<double>(values);
  if (state.iterations() > 0) {
    state.counters["blocks_decoded"] =
        static_cast<double>(after.blocks_decoded - before.blocks_decoded) / state.iterations();
    state.counters["blocks_counted"] =
        static_cast<double>(after.blocks_counted - before.blocks_counted) / state.iterations();
  }
}
BENCHMARK(BM_SqliteTagValuesServiceName)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace teletrace::storage
