// Every request an OTLP receiver refuses is counted and logged, by reason, so that an operator can
// see lost exports (a misconfigured token, an SDK sending deflate, a budget too small) without a
// packet capture. Counted as teletrace_ingest_refusals_total{transport="grpc|http",reason="..."};
// logged as a warning at most once per reason per 10 s, with the number of lines left out.
//
//   IngestRefusals refusals(&metrics, "http");
//   refusals.Record(RefusalReason::kTooLarge, "body of 20971520 bytes exceeds the limit ...");
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/log_throttle.h"
#include "common/metrics.h"

namespace teletrace::ingest {

enum class RefusalReason {
  kBadRequest,       // malformed request or body (400 / INVALID_ARGUMENT)
  kUnauthenticated,  // missing or wrong bearer token (401 / UNAUTHENTICATED)
  kForbidden,        // CORS preflight from an origin not allowed (403)
  kNotFound,         // another path (404) or gRPC method (UNIMPLEMENTED)
  kMethod,           // another HTTP method (405)
  kContentType,      // another Content-Type (415)
  kContentEncoding,  // unknown Content-Encoding / grpc-encoding (415 / UNIMPLEMENTED)
  kTooLarge,         // body or message over the size limit (413 / RESOURCE_EXHAUSTED)
  kHeadersTooLarge,  // request headers over the limit (431)
  kBudget,           // the global in-flight byte budget is spent (429 / RESOURCE_EXHAUSTED, retry)
  kQueueFull,        // the pipeline's queue is full (429 / RESOURCE_EXHAUSTED, retry)
  kUnavailable,      // pipeline stopping or storage error (503 / UNAVAILABLE, retry)
  kDecompression,    // corrupt compressed body or message
  kNotImplemented,   // a framing feature the server does not implement (501)
  kOther,            // any other status the HTTP server reports
};
inline constexpr size_t kRefusalReasonCount = static_cast<size_t>(RefusalReason::kOther) + 1;

// The label value: "bad_request", "unauthenticated", ...
std::string_view RefusalReasonName(RefusalReason reason);

class IngestRefusals {
 public:
  // Registers one counter per reason (all visible from the start, at 0) with label
  // transport=`transport`. `metrics` must outlive this object; register a transport once.
  IngestRefusals(Metrics* metrics, std::string transport);

  // Counts one refusal and logs "otlp <transport>: refused (<reason>): <message>", rate-limited
  // per reason. Thread safe.
  void Record(RefusalReason reason, std::string_view message);

  uint64_t Count(RefusalReason reason) const;

 private:
  std::string transport_;
  std::array<Counter*, kRefusalReasonCount> counters_{};
  LogThrottle throttle_{absl::Seconds(10)};
};

}  // namespace teletrace::ingest
