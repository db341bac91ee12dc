// Builds realistic OTLP trace requests: services calling services, typed span attributes with low-
// (http.method, http.route, http.status_code, cloud.region) and high-cardinality values (user ids,
// URLs, sizes), exception events with error status, six resource attributes per service instance.
//
//   TraceGenerator generator(shape, /*seed=*/1, NowUnixNanos());
//   ExportRequest request;
//   std::vector<GeneratedTrace> traces;
//   generator.NextRequest(1000, &request, &traces);  // 50 traces of 20 spans
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "common/ids.h"
#include "loadgen/options.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace teletrace::loadgen {

using ExportRequest = opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

// One trace (or the part of one) inside a request.
struct GeneratedTrace {
  TraceId trace_id{};
  int64_t span_count = 0;
};

// Not thread-safe; one generator per thread. Deterministic: the same shape, seed and base time
// give byte-identical requests in the same order.
class TraceGenerator {
 public:
  // `shape` must have passed ParseLoadgenFlags' checks (spans_per_trace fits depth x fanout).
  // Root spans start within one second after base_time_unix_nano.
  TraceGenerator(const TraceShape& shape, uint64_t seed, uint64_t base_time_unix_nano);

  // Replaces *request with exactly `span_count` spans and appends one GeneratedTrace per trace in
  // it to *traces. Normally the request holds whole traces of shape.spans_per_trace spans; when
  // span_count is not a multiple, the last trace is cut short (still one tree: every span's
  // parent precedes it). Across calls, exactly floor(n * event_ratio) of the first n spans carry
  // an event, and floor(m * error_ratio) of the first m spans with an event have status ERROR.
  // Trace ids never repeat within one generator. After BeginHugeTrace, continues that one trace
  // instead (at most the spans it has left; fewer spans then).
  void NextRequest(int64_t span_count, ExportRequest* request, std::vector<GeneratedTrace>* traces);

  // Starts one trace of `total_spans` spans that the following NextRequest calls continue until
  // it is complete; returns its id. The fan-out is raised when depth x fanout cannot hold it.
  TraceId BeginHugeTrace(int64_t total_spans);

  // Spans the current huge trace still has to emit (0 when none).
  int64_t HugeTraceRemaining() const { return huge_ ? trace_.remaining : 0; }

 private:
  struct Node {
    SpanId span_id{};
    uint64_t start_time_unix_nano = 0;
    uint64_t end_time_unix_nano = 0;
    int32_t depth = 1;
    int32_t children = 0;
    int32_t service = 0;
  };
  struct TraceState {
    TraceId trace_id{};
    int64_t remaining = 0;
    int max_depth = 1;
    int max_fanout = 1;
    std::vector<Node> nodes;
    std::vector<int32_t> eligible;  // nodes that may still get a child
  };

  uint64_t Uniform(uint64_t n) { return rng_() % n; }
  double UniformDouble() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  void StartTrace(int64_t spans, int max_depth, int max_fanout);
  // Exact-count choice of `count` of `n` positions.
  std::vector<char> ChoosePositions(int64_t n, int64_t count);
  void EmitSpan(ExportRequest* request, bool with_event, bool with_error);
  opentelemetry::proto::trace::v1::ScopeSpans* ScopeFor(ExportRequest* request, int service,
                                                        int host);

  TraceShape shape_;
  std::mt19937_64 rng_;
  uint64_t seed_;
  uint64_t base_time_unix_nano_;
  uint64_t traces_started_ = 0;
  int64_t spans_emitted_ = 0;
  int64_t events_emitted_ = 0;
  bool huge_ = false;
  TraceState trace_;
  std::vector<opentelemetry::proto::trace::v1::ScopeSpans*> scopes_;  // per service x host
};

}  // namespace teletrace::loadgen
