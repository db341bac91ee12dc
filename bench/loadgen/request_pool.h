// The requests a run sends, encoded before the clock starts.
//
//   ASSIGN_OR_RETURN(RequestPool pool, BuildRequestPool(options, Encoding::kProtobuf));
//   const EncodedRequest* next = pool.ForSend(send_index);  // nullptr: the run has sent them all
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "loadgen/options.h"
#include "loadgen/payload.h"

namespace teletrace::loadgen {

struct RequestPool {
  // Normal runs: up to --pool distinct requests of --batch spans, sent round-robin (re-salted per
  // send). --huge-trace runs: every request of the one trace, each sent once, in order.
  std::vector<EncodedRequest> requests;
  // With --total-spans not a multiple of --batch: the last, shorter request.
  std::optional<EncodedRequest> tail;
  bool huge_trace = false;
  int64_t total_spans = 0;  // 0 = unbounded (the run's duration bounds it)
  int batch = 0;
  uint64_t generated_at_unix_nano = 0;  // the base time of every timestamp in the pool

  // The request to send as the send_index-th send of the run; nullptr when the run's span total
  // is reached.
  const EncodedRequest* ForSend(uint64_t send_index) const;
  // Spans sent before the send_index-th send (for pacing at a target rate).
  int64_t SpansBefore(uint64_t send_index) const {
    return static_cast<int64_t>(send_index) * batch;
  }
};

// Generates and encodes the run's requests from the options' shape and seed. Fails
// (InvalidArgument) when the generator cannot produce what the options ask for.
absl::StatusOr<RequestPool> BuildRequestPool(const LoadgenOptions& options, Encoding encoding,
                                             uint64_t now_unix_nano);

}  // namespace teletrace::loadgen
