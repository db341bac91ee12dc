#include "ingest/ingest_refusals.h"

#include <utility>

#include "fmt/format.h"

namespace teletrace::ingest {

std::string_view RefusalReasonName(RefusalReason reason) {
  switch (reason) {
    case RefusalReason::kBadRequest: return "bad_request";
    case RefusalReason::kUnauthenticated: return "unauthenticated";
    case RefusalReason::kForbidden: return "forbidden";
    case RefusalReason::kNotFound: return "not_found";
    case RefusalReason::kMethod: return "method";
    case RefusalReason::kContentType: return "content_type";
    case RefusalReason::kContentEncoding: return "content_encoding";
    case RefusalReason::kTooLarge: return "too_large";
    case RefusalReason::kHeadersTooLarge: return "headers_too_large";
    case RefusalReason::kBudget: return "budget";
    case RefusalReason::kQueueFull: return "queue_full";
    case RefusalReason::kUnavailable: return "unavailable";
    case RefusalReason::kDecompression: return "decompression";
    case RefusalReason::kNotImplemented: return "not_implemented";
    case RefusalReason::kOther: return "other";
  }
  return "other";
}

IngestRefusals::IngestRefusals(Metrics* metrics, std::string transport)
    : transport_(std::move(transport)) {
  for (size_t i = 0; i < kRefusalReasonCount; ++i) {
    counters_[i] = metrics->AddCounter(
        "teletrace_ingest_refusals_total", "OTLP requests refused, by transport and reason",
        {{"transport", transport_},
         {"reason", std::string(RefusalReasonName(static_cast<RefusalReason>(i)))}});
  }
}

void IngestRefusals::Record(RefusalReason reason, std::string_view message) {
  counters_[static_cast<size_t>(reason)]->Add();
  std::string_view name = RefusalReasonName(reason);
  throttle_.Warn(name, fmt::format("otlp {}: refused ({}): {}", transport_, name, message));
}

uint64_t IngestRefusals::Count(RefusalReason reason) const {
  return counters_[static_cast<size_t>(reason)]->Value();
}

}  // namespace teletrace::ingest
