// Runs a load: --connections threads send the pre-encoded pool at --rate (or as fast as the server
// acknowledges), retry retryable refusals, and the totals come back as a RunReport.
//
//   ASSIGN_OR_RETURN(RunReport report, RunLoad(options));
//   std::puts(FormatRunReportJson(report).c_str());
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "loadgen/options.h"

namespace teletrace::loadgen {

struct RunReport {
  std::string protocol;
  bool gzip = false;
  int connections = 0;
  int batch = 0;
  int64_t offered_spans = 0;       // spans of every request sent at least once
  int64_t acknowledged_spans = 0;  // accepted by the server (minus partial_success rejections)
  int64_t retried_spans = 0;       // spans resent after a retryable refusal
  int64_t failed_spans = 0;        // given up on, or rejected through partial_success
  int64_t rejected_spans = 0;      // the partial_success part of failed_spans
  int64_t requests = 0;
  int64_t retryable_refusals = 0;  // attempts answered with a retryable refusal
  int64_t failed_requests = 0;     // requests given up on
  double elapsed_s = 0;
  double acknowledged_spans_per_s = 0;
  double latency_p50_ms = 0;  // of accepted export attempts
  double latency_p99_ms = 0;
  double latency_max_ms = 0;
  double loadgen_cpu_s = 0;  // CPU the generator itself used while sending
  std::string huge_trace_id;  // hex, in --huge-trace runs
  std::string first_error;    // the first reason a request failed, if any
};

// Builds the request pool, connects and sends until --duration or --total-spans (or the whole
// huge trace) is done, waits for requests in flight, and reports. Fails (InvalidArgument) on an
// unusable endpoint or --record-acked file; server errors are counted in the report instead.
absl::StatusOr<RunReport> RunLoad(const LoadgenOptions& options);

std::string FormatRunReportText(const RunReport& report);
// One line of JSON with every field of the report (snake_case keys as in RunReport).
std::string FormatRunReportJson(const RunReport& report);

// The q-quantile (0..1) of `values` by nearest rank; 0 when empty. Reorders `values`.
double Percentile(std::vector<float>* values, double q);

}  // namespace teletrace::loadgen
