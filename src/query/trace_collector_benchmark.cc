// Micro-benchmarks of trace assembly (TraceCollector): deduplicating and ordering a trace's spans
// as a backend feeds them from its blocks, whole or one page, for a typical 20-span trace and the
// 100k-span trace of the large-trace scenario (docs/benchmarks.md).
//
//   build/release/src/query/trace_collector_benchmark --benchmark_min_time=0.5
//
// items_per_second is spans added per second on one thread. All but WholeMoved include copying each
// span into the collector (what a backend passing `const StoredSpan&` pays).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "model/span.h"
#include "query/engine.h"
#include "query/query.h"

namespace teletrace::query {
namespace {

// One trace of `spans` spans, 10 attributes each, in the order blocks would hand them over: by
// arrival, which is not start time order (children end, and are exported, before their parents).
std::vector<model::StoredSpan> MakeTrace(int spans) {
  std::mt19937_64 rng(7);
  auto resource = std::make_shared<model::Resource>();
  resource->attributes = {{"service.name", "checkout"}, {"host.name", "host-1"}};
  auto scope = std::make_shared<model::Scope>();
  scope->name = "teletrace.bench";
  TraceId trace_id{};
  for (uint8_t& b : trace_id) b = static_cast<uint8_t>(rng());
  std::vector<model::StoredSpan> out;
  out.reserve(spans);
  const uint64_t base = 1700000000000000000ULL;
  for (int i = 0; i < spans; ++i) {
    model::StoredSpan s;
    s.resource = resource;
    s.scope = scope;
    s.span.trace_id = trace_id;
    for (uint8_t& b : s.span.span_id) b = static_cast<uint8_t>(rng());
    s.span.name = "operation-" + std::to_string(rng() % 20);
    s.span.start_time_unix_nano = base + rng() % 60000000000ULL;
    s.span.end_time_unix_nano = s.span.start_time_unix_nano + 1000 + rng() % 5000000;
    s.span.attributes = {
        {"http.method", "GET"},
        {"http.route", "/api/v1/items/{id}"},
        {"http.status_code", int64_t{200}},
        {"http.url", "https://shop.example.com/api/v1/items/" + std::to_string(rng() % 10000000)},
        {"user.id", "user-" + std::to_string(rng() % 1000000)},
        {"peer.service", "payments"},
        {"http.request_content_length", static_cast<int64_t>(rng() % 100000)},
        {"app.score", 3.5},
        {"cache.hit", true},
        {"cloud.region", "eu-west-1"},
    };
    s.ingestion_time_unix_nano = base;
    out.push_back(std::move(s));
  }
  return out;
}

// The whole trace (page_size 0), as GET /v1/trace/<id> asks for it.
void BM_TraceCollectorWhole(benchmark::State& state) {
  const int spans = static_cast<int>(state.range(0));
  std::vector<model::StoredSpan> trace = MakeTrace(spans);
  TraceQuery query;
  query.trace_id = trace.front().span.trace_id;
  for (auto _ : state) {
    TraceCollector collector(query);
    for (const model::StoredSpan& s : trace) collector.Add(s);
    TraceResult result = std::move(collector).Finish();
    if (result.spans.size() != trace.size()) state.SkipWithError("spans lost");
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations() * spans);
}
BENCHMARK(BM_TraceCollectorWhole)->Arg(20)->Arg(1000)->Arg(100000)->Unit(benchmark::kMicrosecond);

// The whole trace with its spans moved in, as a backend that decoded blocks for this trace alone
// can hand them over. The copies to move from are made with the timer paused.
void BM_TraceCollectorWholeMoved(benchmark::State& state) {
  const int spans = static_cast<int>(state.range(0));
  const std::vector<model::StoredSpan> trace = MakeTrace(spans);
  TraceQuery query;
  query.trace_id = trace.front().span.trace_id;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<model::StoredSpan> copy = trace;
    state.ResumeTiming();
    TraceCollector collector(query);
    for (model::StoredSpan& s : copy) collector.Add(std::move(s));
    TraceResult result = std::move(collector).Finish();
    if (result.spans.size() != trace.size()) state.SkipWithError("spans lost");
    state.PauseTiming();
    result = TraceResult();
    copy = std::vector<model::StoredSpan>();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * spans);
}
BENCHMARK(BM_TraceCollectorWholeMoved)->Arg(100000)->Unit(benchmark::kMicrosecond);

// Each span offered twice (a retried export stored in two blocks): the duplicates must be dropped.
void BM_TraceCollectorDuplicates(benchmark::State& state) {
  const int spans = static_cast<int>(state.range(0));
  std::vector<model::StoredSpan> trace = MakeTrace(spans);
  TraceQuery query;
  query.trace_id = trace.front().span.trace_id;
  for (auto _ : state) {
    TraceCollector collector(query);
    for (int pass = 0; pass < 2; ++pass) {
      for (const model::StoredSpan& s : trace) collector.Add(s);
    }
    TraceResult result = std::move(collector).Finish();
    if (result.spans.size() != trace.size()) state.SkipWithError("wrong span count");
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations() * spans * 2);
}
BENCHMARK(BM_TraceCollectorDuplicates)->Arg(100000)->Unit(benchmark::kMicrosecond);

// The first page of 1,000 spans of a large trace (what a paging UI asks for first).
void BM_TraceCollectorFirstPage(benchmark::State& state) {
  const int spans = static_cast<int>(state.range(0));
  std::vector<model::StoredSpan> trace = MakeTrace(spans);
  TraceQuery query;
  query.trace_id = trace.front().span.trace_id;
  query.page_size = 1000;
  for (auto _ : state) {
    TraceCollector collector(query);
    for (const model::StoredSpan& s : trace) collector.Add(s);
    TraceResult result = std::move(collector).Finish();
    if (result.spans.size() != 1000 || !result.next.has_value()) state.SkipWithError("bad page");
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations() * spans);
}
BENCHMARK(BM_TraceCollectorFirstPage)->Arg(100000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace teletrace::query
