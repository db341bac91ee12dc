// Traces mode of the search page (POST /v1/traces): the traces that hold a span matching every
// filter, each summarised from its own spans (root service and operation, start, duration, span
// and error counts per service). Built on the storage contract's Search and GetTrace, so every
// backend answers it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/teletrace_v1/request_parser.h"
#include "common/ids.h"
#include "model/span.h"
#include "storage/storage.h"

namespace teletrace::api::v1 {

struct ServiceSpanCount {
  std::string name;  // resource attribute service.name; "" when a span has none
  uint64_t spans = 0;
  uint64_t errors = 0;
  bool operator==(const ServiceSpanCount&) const = default;
};

struct TraceSummary {
  TraceId trace_id{};
  // The root: the earliest span without a parent in the trace (its parent unset or not stored);
  // `root_found` is false when every span's parent is stored (a cycle) and the earliest is used.
  std::string root_service_name;
  std::string root_name;
  bool root_found = false;
  uint64_t start_unix_nano = 0;  // earliest span start
  uint64_t duration_nano = 0;    // latest span end - earliest start
  uint64_t span_count = 0;
  uint64_t error_count = 0;
  std::vector<ServiceSpanCount> services;  // by span count descending, then name
  bool complete = true;  // false: the trace has more than the spans read (kMaxSummarySpans)
  bool operator==(const TraceSummary&) const = default;
};

// Spans read per trace for its summary: a bigger trace is summarised from its first spans (by
// start time) and marked incomplete, so a page of 100k-span traces stays bounded.
inline constexpr size_t kMaxSummarySpans = 10000;

// Linear in the number of spans.
TraceSummary SummarizeTrace(const TraceId& trace_id, const std::vector<model::StoredSpan>& spans,
                            bool complete);

struct TraceSearchLimits {
  size_t max_examined_spans = 100000;  // matching spans read to find the traces
  size_t max_examined_traces = 200;    // traces summarised (traceFilters may reject many)
};

struct TraceSearchResult {
  std::vector<TraceSummary> traces;  // newest first, by their newest matching span
  // True when a limit stopped the search before `limit` traces were found: older matching traces
  // may exist. False means these are exactly the newest `limit` (or all) matching traces.
  bool partial = false;
};

absl::StatusOr<TraceSearchResult> SearchTraces(storage::Backend* backend,
                                               const TraceSearchRequest& request,
                                               const TraceSearchLimits& limits = {});

}  // namespace teletrace::api::v1
