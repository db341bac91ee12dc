#include "loadgen/runner.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "loadgen/exporter.h"
#include "loadgen/request_pool.h"
#include "nlohmann/json.hpp"

namespace teletrace::loadgen {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t NowUnixNanos() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Appends "<trace id hex> <span count>" lines; shared by the sending threads.
class AckRecorder {
 public:
  ~AckRecorder() {
    if (file_ != nullptr) std::fclose(file_);
  }
  absl::Status Open(const std::string& path) {
    file_ = std::fopen(path.c_str(), "a");
    if (file_ == nullptr) {
      return absl::InvalidArgumentError(
          fmt::format("--record-acked: cannot open '{}' for appending", path));
    }
    return absl::OkStatus();
  }
  bool enabled() const { return file_ != nullptr; }
  void Record(const EncodedRequest& request, uint64_t salt) {
    std::string lines;
    for (const GeneratedTrace& trace : request.traces) {
      lines += fmt::format("{} {}\n", ToHex(SaltTraceId(trace.trace_id, salt)), trace.span_count);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    std::fwrite(lines.data(), 1, lines.size(), file_);
  }

 private:
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
};

struct ThreadTotals {
  int64_t offered_spans = 0;
  int64_t acknowledged_spans = 0;
  int64_t retried_spans = 0;
  int64_t failed_spans = 0;
  int64_t rejected_spans = 0;
  int64_t requests = 0;
  int64_t retryable_refusals = 0;
  int64_t failed_requests = 0;
  std::vector<float> latencies_ms;
  std::string first_error;
};

struct SharedRun {
  const LoadgenOptions* options = nullptr;
  const RequestPool* pool = nullptr;
  AckRecorder* recorder = nullptr;
  uint64_t run_id = 0;
  Clock::time_point start;
  std::optional<Clock::time_point> deadline;
  std::atomic<uint64_t> next_send{0};
  int64_t huge_time_shift = 0;
  // --time-spread: the replayed window's length and end, and the run's length in requests
  // (--total-spans) or in nanoseconds (--duration).
  int64_t spread_nanos = 0;
  uint64_t window_end_unix_nano = 0;
  uint64_t spread_requests = 0;
  uint64_t spread_duration_nanos = 0;
  // Bodies of the first sends, gzip'ed before the clock started (send index -> body).
  std::vector<std::string> precompressed;
};

uint64_t SaltFor(const SharedRun& run, uint64_t send_index) {
  // One trace split over many requests keeps one id.
  return SaltForSend(run.run_id, run.pool->huge_trace ? 0 : send_index);
}

// How far the send_index-th send moves the pool's timestamps: to now; a huge trace keeps one time
// base; with --time-spread, to its place in the replayed window. elapsed_nanos is the send's time
// since the clock started (for a body built before, the time it is due).
int64_t TimeShiftFor(const SharedRun& run, uint64_t send_index, uint64_t elapsed_nanos) {
  uint64_t generated_at = run.pool->generated_at_unix_nano;
  if (run.pool->huge_trace) return run.huge_time_shift;
  if (run.spread_nanos == 0) return static_cast<int64_t>(NowUnixNanos() - generated_at);
  if (run.spread_requests > 0) {
    return SpreadTimeShift(generated_at, run.window_end_unix_nano, run.spread_nanos, send_index,
                           run.spread_requests);
  }
  return SpreadTimeShift(generated_at, run.window_end_unix_nano, run.spread_nanos, elapsed_nanos,
                         run.spread_duration_nanos);
}

// The body of the send_index-th send: the pooled request salted, its timestamps moved by
// TimeShiftFor, gzip'ed for HTTP with --gzip. *out may end up == scratch.
absl::Status BuildBody(const SharedRun& run, uint64_t send_index, uint64_t elapsed_nanos,
                       const EncodedRequest& request, std::string* scratch, std::string** out) {
  const LoadgenOptions& options = *run.options;
  PatchRequest(request, SaltFor(run, send_index), TimeShiftFor(run, send_index, elapsed_nanos),
               scratch);
  if (!options.gzip || options.protocol == Protocol::kGrpc) {
    *out = scratch;
    return absl::OkStatus();
  }
  return GzipCompress(*scratch, options.gzip_level, *out);
}

// gzip costs ~3 CPU-us per span, more than the server spends decoding: compress up to
// kPrecompressBudget bytes of the run's first sends ahead, on all cores, so that a bounded run
// measures the server rather than the generator. Later sends compress as they go.
constexpr size_t kPrecompressBudget = size_t{512} << 20;

// When the send_index-th send is due after the clock starts, at --rate (0 without a rate).
uint64_t DueNanos(const SharedRun& run, uint64_t send_index) {
  if (run.options->rate <= 0) return 0;
  return static_cast<uint64_t>(static_cast<double>(run.pool->SpansBefore(send_index)) /
                               run.options->rate * 1e9);
}

absl::Status Precompress(SharedRun* run) {
  const LoadgenOptions& options = *run->options;
  if (!options.gzip || options.protocol == Protocol::kGrpc) return absl::OkStatus();
  uint64_t sends = 0;
  if (run->pool->total_spans > 0) {
    sends = static_cast<uint64_t>((run->pool->total_spans + options.batch - 1) / options.batch);
  } else if (options.rate > 0 && options.duration_s > 0) {
    sends = static_cast<uint64_t>(options.rate * options.duration_s / options.batch) + 1;
  }
  if (sends == 0) return absl::OkStatus();
  std::string scratch;
  std::string first;
  std::string* out = &first;
  RETURN_IF_ERROR(BuildBody(*run, 0, 0, *run->pool->ForSend(0), &scratch, &out));
  sends = std::min<uint64_t>(sends, kPrecompressBudget / std::max<size_t>(first.size(), 1));
  run->precompressed.resize(sends);
  run->precompressed[0] = std::move(first);
  std::atomic<uint64_t> next{1};
  std::mutex mutex;
  absl::Status failure;
  auto worker = [&] {
    std::string scratch;
    for (uint64_t i = next.fetch_add(1); i < sends; i = next.fetch_add(1)) {
      std::string* body = &run->precompressed[i];
      absl::Status status =
          BuildBody(*run, i, DueNanos(*run, i), *run->pool->ForSend(i), &scratch, &body);
      if (!status.ok()) {
        std::lock_guard<std::mutex> lock(mutex);
        failure = status;
        return;
      }
    }
  };
  std::vector<std::thread> threads;
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < cores; ++i) threads.emplace_back(worker);
  for (std::thread& thread : threads) thread.join();
  return failure;
}

uint64_t ElapsedNanos(const SharedRun& run) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - run.start).count());
}

void SendLoop(SharedRun* run, Exporter* exporter, ThreadTotals* totals, int thread_index) {
  const LoadgenOptions& options = *run->options;
  std::mt19937_64 jitter(options.seed * 7919 + static_cast<uint64_t>(thread_index));
  std::string body;
  std::string compressed;
  for (;;) {
    uint64_t send_index = run->next_send.fetch_add(1, std::memory_order_relaxed);
    const EncodedRequest* request = run->pool->ForSend(send_index);
    if (request == nullptr) break;
    if (run->deadline && Clock::now() >= *run->deadline) break;
    if (options.rate > 0) {
      double due_s = static_cast<double>(run->pool->SpansBefore(send_index)) / options.rate;
      auto due = run->start + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(due_s));
      if (run->deadline && due >= *run->deadline) break;
      std::this_thread::sleep_until(due);
    }
    uint64_t salt = SaltFor(*run, send_index);
    std::string* payload = &compressed;
    if (send_index < run->precompressed.size()) {
      payload = &run->precompressed[send_index];
    } else if (absl::Status status = BuildBody(*run, send_index, ElapsedNanos(*run), *request,
                                               &body, &payload);
               !status.ok()) {
      totals->failed_spans += request->span_count;
      ++totals->failed_requests;
      if (totals->first_error.empty()) totals->first_error = std::string(status.message());
      continue;
    }
    totals->offered_spans += request->span_count;
    ++totals->requests;

    double backoff_s = 0.05;
    int retries = 0;
    for (;;) {
      auto sent_at = Clock::now();
      ExportResult result = exporter->Export(payload);
      auto answered_at = Clock::now();
      if (result.kind == ExportResult::Kind::kAccepted) {
        int64_t rejected = std::clamp<int64_t>(result.rejected_spans, 0, request->span_count);
        totals->acknowledged_spans += request->span_count - rejected;
        totals->rejected_spans += rejected;
        totals->failed_spans += rejected;
        totals->latencies_ms.push_back(static_cast<float>(
            std::chrono::duration<double, std::milli>(answered_at - sent_at).count()));
        if (run->recorder->enabled()) run->recorder->Record(*request, salt);
        break;
      }
      if (result.kind == ExportResult::Kind::kRetryable) ++totals->retryable_refusals;
      if (result.kind == ExportResult::Kind::kFailed || retries >= options.max_retries) {
        totals->failed_spans += request->span_count;
        ++totals->failed_requests;
        if (totals->first_error.empty()) totals->first_error = result.message;
        break;
      }
      ++retries;
      totals->retried_spans += request->span_count;
      double wait_s = result.retry_after_s >= 0
                          ? result.retry_after_s
                          : backoff_s * std::uniform_real_distribution<double>(0.5, 1.5)(jitter);
      wait_s = std::min(wait_s, options.max_backoff_s);
      backoff_s = std::min(backoff_s * 2, options.max_backoff_s);
      std::this_thread::sleep_for(std::chrono::duration<double>(wait_s));
    }
  }
}

}  // namespace

double Percentile(std::vector<float>* values, double q) {
  if (values->empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(values->size())));
  size_t index = rank == 0 ? 0 : std::min(rank - 1, values->size() - 1);
  std::nth_element(values->begin(), values->begin() + static_cast<std::ptrdiff_t>(index),
                   values->end());
  return (*values)[index];
}

absl::StatusOr<RunReport> RunLoad(const LoadgenOptions& options) {
  Encoding encoding =
      options.protocol == Protocol::kHttpJson ? Encoding::kJson : Encoding::kProtobuf;
  uint64_t generated_at = NowUnixNanos();
  ASSIGN_OR_RETURN(RequestPool pool, BuildRequestPool(options, encoding, generated_at));

  AckRecorder recorder;
  if (!options.record_acked.empty()) RETURN_IF_ERROR(recorder.Open(options.record_acked));

  std::vector<std::unique_ptr<Exporter>> exporters;
  for (int i = 0; i < options.connections; ++i) {
    ExporterConfig config;
    config.protocol = options.protocol;
    config.endpoint = options.endpoint;
    config.gzip = options.gzip;
    config.timeout_s = options.timeout_s;
    config.connection_index = i;
    ASSIGN_OR_RETURN(std::unique_ptr<Exporter> exporter, MakeExporter(config));
    exporters.push_back(std::move(exporter));
  }

  SharedRun run;
  run.options = &options;
  run.pool = &pool;
  run.recorder = &recorder;
  run.run_id = options.run_id != 0 ? options.run_id : std::random_device{}() * 0x100000001ULL ^
                                                          NowUnixNanos();
  std::vector<ThreadTotals> totals(static_cast<size_t>(options.connections));
  run.huge_time_shift = static_cast<int64_t>(NowUnixNanos() - generated_at);
  if (options.time_spread_s > 0) {
    // The window ends now, before any body is built, so precompressed bodies fall in it too and
    // no span is stamped later than it was sent.
    run.spread_nanos = static_cast<int64_t>(std::llround(options.time_spread_s * 1e9));
    run.window_end_unix_nano = NowUnixNanos();
    if (pool.total_spans > 0) {
      run.spread_requests =
          static_cast<uint64_t>((pool.total_spans + options.batch - 1) / options.batch);
    } else {
      run.spread_duration_nanos =
          static_cast<uint64_t>(std::llround(options.duration_s * 1e9));
    }
  }
  RETURN_IF_ERROR(Precompress(&run));
  double cpu_before = ProcessCpuSeconds();
  run.start = Clock::now();
  if (options.duration_s > 0) {
    run.deadline = run.start + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(options.duration_s));
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < options.connections; ++i) {
    threads.emplace_back(SendLoop, &run, exporters[i].get(), &totals[i], i);
  }
  for (std::thread& thread : threads) thread.join();
  double elapsed_s = std::chrono::duration<double>(Clock::now() - run.start).count();

  RunReport report;
  report.protocol = ProtocolName(options.protocol);
  report.gzip = options.gzip;
  report.connections = options.connections;
  report.batch = options.batch;
  report.elapsed_s = elapsed_s;
  report.loadgen_cpu_s = ProcessCpuSeconds() - cpu_before;
  std::vector<float> latencies;
  for (ThreadTotals& t : totals) {
    report.offered_spans += t.offered_spans;
    report.acknowledged_spans += t.acknowledged_spans;
    report.retried_spans += t.retried_spans;
    report.failed_spans += t.failed_spans;
    report.rejected_spans += t.rejected_spans;
    report.requests += t.requests;
    report.retryable_refusals += t.retryable_refusals;
    report.failed_requests += t.failed_requests;
    latencies.insert(latencies.end(), t.latencies_ms.begin(), t.latencies_ms.end());
    if (report.first_error.empty()) report.first_error = t.first_error;
  }
  report.acknowledged_spans_per_s =
      elapsed_s > 0 ? static_cast<double>(report.acknowledged_spans) / elapsed_s : 0;
  report.latency_p50_ms = Percentile(&latencies, 0.5);
  report.latency_p99_ms = Percentile(&latencies, 0.99);
  report.latency_max_ms = Percentile(&latencies, 1.0);
  if (pool.huge_trace && !pool.requests.empty() && !pool.requests[0].traces.empty()) {
    report.huge_trace_id =
        ToHex(SaltTraceId(pool.requests[0].traces[0].trace_id, SaltForSend(run.run_id, 0)));
  }
  return report;
}

std::string FormatRunReportText(const RunReport& r) {
  std::string text = fmt::format(
      "protocol {}{}, {} connections, {} spans/request\n"
      "offered      {} spans in {} requests\n"
      "acknowledged {} spans ({:.0f} spans/s over {:.2f} s)\n"
      "retried      {} spans ({} retryable refusals)\n"
      "failed       {} spans ({} requests given up, {} spans rejected by partial success)\n"
      "latency      p50 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms\n"
      "loadgen cpu  {:.2f} s\n",
      r.protocol, r.gzip ? "+gzip" : "", r.connections, r.batch, r.offered_spans, r.requests,
      r.acknowledged_spans, r.acknowledged_spans_per_s, r.elapsed_s, r.retried_spans,
      r.retryable_refusals, r.failed_spans, r.failed_requests, r.rejected_spans, r.latency_p50_ms,
      r.latency_p99_ms, r.latency_max_ms, r.loadgen_cpu_s);
  if (!r.huge_trace_id.empty()) text += fmt::format("huge trace   {}\n", r.huge_trace_id);
  if (!r.first_error.empty()) text += fmt::format("first error  {}\n", r.first_error);
  return text;
}

std::string FormatRunReportJson(const RunReport& r) {
  nlohmann::json json = {
      {"protocol", r.protocol},
      {"gzip", r.gzip},
      {"connections", r.connections},
      {"batch", r.batch},
      {"offered_spans", r.offered_spans},
      {"acknowledged_spans", r.acknowledged_spans},
      {"retried_spans", r.retried_spans},
      {"failed_spans", r.failed_spans},
      {"rejected_spans", r.rejected_spans},
      {"requests", r.requests},
      {"retryable_refusals", r.retryable_refusals},
      {"failed_requests", r.failed_requests},
      {"elapsed_s", r.elapsed_s},
      {"acknowledged_spans_per_s", r.acknowledged_spans_per_s},
      {"latency_p50_ms", r.latency_p50_ms},
      {"latency_p99_ms", r.latency_p99_ms},
      {"latency_max_ms", r.latency_max_ms},
      {"loadgen_cpu_s", r.loadgen_cpu_s},
  };
  if (!r.huge_trace_id.empty()) json["huge_trace_id"] = r.huge_trace_id;
  if (!r.first_error.empty()) json["first_error"] = r.first_error;
  return json.dump();
}

}  // namespace teletrace::loadgen
