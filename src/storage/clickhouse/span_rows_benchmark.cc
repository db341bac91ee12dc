// Micro-benchmark of what Teletrace spends per span when it inserts into ClickHouse: one RowBinary
// row (AppendSpanRow), whose largest part is the span column (EncodeSpanColumn, a one-span block),
// on spans shaped like the load generator's (docs/benchmarks.md): 6 resource attributes over 10
// services, 10 typed span attributes, 10% of spans with an exception event.
//
//   build/release/src/storage/clickhouse/span_rows_benchmark --benchmark_repetitions=5
//
// items_per_second is spans per second on one thread.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "storage/clickhouse/row_binary.h"
#include "storage/clickhouse/span_rows.h"

namespace teletrace::storage::clickhouse {
namespace {

using model::AnyValue;

std::vector<model::StoredSpan> MakeSpans() {
  std::mt19937_64 rng(42);
  std::vector<std::shared_ptr<const model::Resource>> resources;
  for (int s = 0; s < 10; ++s) {
    auto r = std::make_shared<model::Resource>();
    r->attributes = {{"service.name", AnyValue("service-" + std::to_string(s))},
                     {"service.version", AnyValue("1.4." + std::to_string(s))},
                     {"host.name", AnyValue("host-" + std::to_string(s) + ".example.internal")},
                     {"deployment.environment", AnyValue("production")},
                     {"telemetry.sdk.language", AnyValue("cpp")},
                     {"process.pid", AnyValue(static_cast<int64_t>(1000 + s))}};
    resources.push_back(std::move(r));
  }
  auto scope = std::make_shared<model::Scope>();
  scope->name = "loadgen";
  scope->version = "1.0";
  std::vector<model::StoredSpan> spans(1000);
  for (size_t i = 0; i < spans.size(); ++i) {
    model::StoredSpan& stored = spans[i];
    stored.resource = resources[i % resources.size()];
    stored.scope = scope;
    stored.ingestion_time_unix_nano = 1796667000000000000 + i;
    model::Span& s = stored.span;
    for (auto& b : s.trace_id) b = static_cast<uint8_t>(rng());
    for (auto& b : s.span_id) b = static_cast<uint8_t>(rng());
    for (auto& b : s.parent_span_id) b = static_cast<uint8_t>(rng());
    s.name = "operation-" + std::to_string(rng() % 20);
    s.kind = static_cast<model::SpanKind>(1 + rng() % 5);
    s.start_time_unix_nano = 1796667000000000000 + i * 1000;
    s.end_time_unix_nano = s.start_time_unix_nano + rng() % 1000000000;
    s.attributes = {
        {"http.method", AnyValue(i % 3 == 0 ? "POST" : "GET")},
        {"http.route", AnyValue("/api/v1/items/" + std::to_string(rng() % 600))},
        {"http.url", AnyValue("https://shop.example/api/v1/items/" + std::to_string(rng()))},
        {"http.status_code", AnyValue(static_cast<int64_t>(i % 10 == 0 ? 500 : 200))},
        {"http.request_content_length", AnyValue(static_cast<int64_t>(rng() % 65536))},
        {"user.id", AnyValue("user-" + std::to_string(rng() % 290000))},
        {"app.score", AnyValue(static_cast<double>(rng() % 1000000) / 1000.0)},
        {"app.cached", AnyValue(rng() % 2 == 0)},
        {"net.peer.name", AnyValue("peer-" + std::to_string(rng() % 50))},
        {"thread.id", AnyValue(static_cast<int64_t>(rng() % 64))}};
    if (i % 10 == 0) {
      model::Event& e = s.events.emplace_back();
      e.name = "exception";
      e.time_unix_nano = s.start_time_unix_nano + 10;
      e.attributes = {{"exception.type", AnyValue("std::runtime_error")},
                      {"exception.message", AnyValue("deadline exceeded")}};
      s.status.code = model::StatusCode::kError;
      s.status.message = "deadline exceeded";
    }
  }
  return spans;
}

void BM_AppendSpanRow(benchmark::State& state) {
  const std::vector<model::StoredSpan> spans = MakeSpans();
  for (auto _ : state) {
    // As the backend's inserts: room for all rows once the first is written.
    RowBinaryWriter out;
    for (const model::StoredSpan& s : spans) {
      if (!AppendSpanRow(s, out).ok()) state.SkipWithError("AppendSpanRow failed");
      if (&s == &spans[0]) out.Reserve(out.data().size() * spans.size() * 5 / 4);
    }
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(spans.size()));
}
BENCHMARK(BM_AppendSpanRow);

void BM_EncodeSpanColumn(benchmark::State& state) {
  const std::vector<model::StoredSpan> spans = MakeSpans();
  for (auto _ : state) {
    for (const model::StoredSpan& s : spans) {
      absl::StatusOr<std::string> column = EncodeSpanColumn(s);
      benchmark::DoNotOptimize(column);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(spans.size()));
}
BENCHMARK(BM_EncodeSpanColumn);

}  // namespace
}  // namespace teletrace::storage::clickhouse
