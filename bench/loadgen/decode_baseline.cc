#include "loadgen/decode_baseline.h"

#include <time.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "common/status_macros.h"
#include "fmt/format.h"
#include "google/protobuf/arena.h"
#include "loadgen/request_pool.h"
#include "nlohmann/json.hpp"

namespace teletrace::loadgen {
namespace {

using Clock = std::chrono::steady_clock;

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct DecodeTotals {
  int64_t requests = 0;
  int64_t spans = 0;
  int64_t bytes = 0;
  int64_t parse_failures = 0;
  double cpu_s = 0;
};

void DecodeLoop(const RequestPool& pool, Clock::time_point deadline, int thread_index,
                DecodeTotals* totals) {
  // A reused first block, as a server keeps per-request arenas warm.
  constexpr size_t kInitialBlock = 8 << 20;
  auto block = std::make_unique<char[]>(kInitialBlock);
  google::protobuf::ArenaOptions arena_options;
  arena_options.initial_block = block.get();
  arena_options.initial_block_size = kInitialBlock;
  google::protobuf::Arena arena(arena_options);
  double cpu_start = ThreadCpuSeconds();
  size_t index = static_cast<size_t>(thread_index);
  size_t passes = 0;
  while (passes < pool.requests.size() || Clock::now() < deadline) {
    const EncodedRequest& request = pool.requests[index % pool.requests.size()];
    ++index;
    ++passes;
    auto* message = google::protobuf::Arena::CreateMessage<ExportRequest>(&arena);
    if (message->ParseFromString(request.bytes)) {
      totals->spans += request.span_count;
    } else {
      ++totals->parse_failures;
    }
    ++totals->requests;
    totals->bytes += static_cast<int64_t>(request.bytes.size());
    arena.Reset();
  }
  totals->cpu_s = ThreadCpuSeconds() - cpu_start;
}

}  // namespace

absl::StatusOr<DecodeReport> RunDecodeBaseline(const LoadgenOptions& options) {
  LoadgenOptions pool_options = options;
  pool_options.total_spans = 0;  // round-robin over a full pool
  pool_options.huge_trace = 0;
  uint64_t now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
  ASSIGN_OR_RETURN(RequestPool pool, BuildRequestPool(pool_options, Encoding::kProtobuf, now));

  std::vector<DecodeTotals> totals(static_cast<size_t>(options.connections));
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(options.duration_s));
  std::vector<std::thread> threads;
  for (int i = 0; i < options.connections; ++i) {
    threads.emplace_back(DecodeLoop, std::cref(pool), deadline, i, &totals[i]);
  }
  for (std::thread& thread : threads) thread.join();

  DecodeReport report;
  report.threads = options.connections;
  report.batch = options.batch;
  report.elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  for (const DecodeTotals& t : totals) {
    report.requests += t.requests;
    report.spans += t.spans;
    report.bytes += t.bytes;
    report.parse_failures += t.parse_failures;
    report.cpu_s += t.cpu_s;
  }
  if (report.elapsed_s > 0) {
    report.spans_per_s = static_cast<double>(report.spans) / report.elapsed_s;
  }
  if (report.cpu_s > 0) report.spans_per_core_s = static_cast<double>(report.spans) / report.cpu_s;
  return report;
}

std::string FormatDecodeReportText(const DecodeReport& r) {
  return fmt::format(
      "decode baseline: {} threads, {} spans/request, {:.0f} bytes/span\n"
      "decoded      {} spans in {} requests over {:.2f} s ({} parse failures)\n"
      "rate         {:.0f} spans/s, {:.0f} spans per CPU-second\n",
      r.threads, r.batch,
      r.spans > 0 ? static_cast<double>(r.bytes) / static_cast<double>(r.spans) : 0.0, r.spans,
      r.requests, r.elapsed_s, r.parse_failures, r.spans_per_s, r.spans_per_core_s);
}

std::string FormatDecodeReportJson(const DecodeReport& r) {
  nlohmann::json json = {
      {"mode", "decode-baseline"},   {"threads", r.threads},
      {"batch", r.batch},            {"requests", r.requests},
      {"spans", r.spans},            {"bytes", r.bytes},
      {"parse_failures", r.parse_failures}, {"elapsed_s", r.elapsed_s},
      {"cpu_s", r.cpu_s},            {"spans_per_s", r.spans_per_s},
      {"spans_per_core_s", r.spans_per_core_s},
  };
  return json.dump();
}

}  // namespace teletrace::loadgen
