// The load generator's command line: `--key=value` flags (booleans also as a bare `--key`).
//
//   absl::StatusOr<LoadgenOptions> options = ParseLoadgenFlags(argc, argv);
//   if (options.ok() && options->help) std::fputs(LoadgenHelpText().c_str(), stdout);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace teletrace::loadgen {

enum class Protocol { kGrpc, kHttpProtobuf, kHttpJson };

// "grpc", "http-protobuf", "http-json".
std::string ProtocolName(Protocol protocol);

// What the generated traces look like. Every field has the default the benchmark issue asks for
// (~10 span attributes, 6 resource attributes, 10% of spans with an event, ~400 bytes per span).
struct TraceShape {
  int services = 10;
  int operations = 20;  // per service
  int depth = 5;        // levels in a trace tree; the root is level 1
  int fanout = 4;       // most children of one span
  int spans_per_trace = 20;
  int attributes = 10;  // span attributes
  double event_ratio = 0.1;  // share of spans carrying an exception event
  double error_ratio = 0.5;  // share of the spans with an event whose status is ERROR
};

// The most spans a tree of `depth` levels with at most `fanout` children per span can hold
// (saturated at INT32_MAX).
int64_t TreeCapacity(int depth, int fanout);

struct LoadgenOptions {
  std::string endpoint = "127.0.0.1:4317";  // host:port; 4318 is the default for HTTP
  Protocol protocol = Protocol::kGrpc;
  bool gzip = false;
  int gzip_level = 1;
  int connections = 4;
  double rate = 0;          // spans/s over all connections; 0 = as fast as the server accepts
  double duration_s = 0;    // 0 = unbounded (then --total-spans bounds the run)
  int64_t total_spans = 0;  // 0 = unbounded (then --duration bounds the run)
  int batch = 1000;         // spans per request
  TraceShape shape;
  uint64_t seed = 1;
  uint64_t run_id = 0;      // salts trace ids so repeated runs store distinct traces; 0 = random
  int pool = 16;            // distinct pre-encoded requests
  int64_t huge_trace = 0;   // > 0: send one trace of this many spans, then stop
  // > 0: replay the window of this many seconds that ends when the run starts, in time order:
  // the k-th of N requests is stamped window_start + time_spread_s * k / N (with --duration:
  // elapsed / duration instead of k / N). 0 = stamp every request with its send time.
  double time_spread_s = 0;
  std::string record_acked;  // file to append "<trace id hex> <spans>" per acknowledged trace
  double timeout_s = 30;     // per export attempt
  double max_backoff_s = 5;  // cap on any wait before a resend, Retry-After included
  int max_retries = 100;     // resends of one request before it counts as failed
  bool json = false;
  bool decode_baseline = false;
  bool help = false;
};

// Parses argv[1..argc). Errors (InvalidArgument) name the flag and the offending value, e.g.
// "--rate: expected a number >= 0, got 'fast'" or "unknown flag --foo (see --help)".
// Applies the defaults that depend on other flags: the HTTP port 4318 when --endpoint is not given
// for an HTTP protocol, and a 10 s duration when neither --duration nor --total-spans is given.
// --time-spread needs a bounded run (--total-spans or --duration) and no --huge-trace.
absl::StatusOr<LoadgenOptions> ParseLoadgenFlags(int argc, const char* const* argv);
absl::StatusOr<LoadgenOptions> ParseLoadgenFlags(const std::vector<std::string>& args);

// The --help text: every flag with its default.
std::string LoadgenHelpText();

}  // namespace teletrace::loadgen
