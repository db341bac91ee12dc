// The decode ceiling: how fast this machine parses the load generator's own protobuf requests
// in-process (into an arena, as a server would), with no network and no storage. Benchmarks print
// it beside the ingest rate so the end-to-end figure reads as a fraction of this limit.
//
//   ASSIGN_OR_RETURN(DecodeReport report, RunDecodeBaseline(options));
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "loadgen/options.h"

namespace teletrace::loadgen {

struct DecodeReport {
  int threads = 0;
  int batch = 0;
  int64_t requests = 0;
  int64_t spans = 0;
  int64_t bytes = 0;
  int64_t parse_failures = 0;  // must be 0: the payloads are our own
  double elapsed_s = 0;
  double cpu_s = 0;              // summed over the decoding threads
  double spans_per_s = 0;        // wall clock, all threads
  double spans_per_core_s = 0;   // spans per CPU-second
};

// Builds the protobuf request pool from the options' shape and parses it round-robin on
// --connections threads for --duration seconds (at least one pass over the pool).
absl::StatusOr<DecodeReport> RunDecodeBaseline(const LoadgenOptions& options);

std::string FormatDecodeReportText(const DecodeReport& report);
std::string FormatDecodeReportJson(const DecodeReport& report);

}  // namespace teletrace::loadgen
