#include "ingest/transport_metrics.h"

namespace teletrace::ingest {

TransportMetrics TransportMetrics::Register(Metrics* metrics, const std::string& transport) {
  Labels labels = {{"transport", transport}};
  TransportMetrics m;
  m.received = metrics->AddCounter("teletrace_spans_received_total",
                                   "Spans received in well-formed OTLP requests", labels);
  m.accepted = metrics->AddCounter("teletrace_spans_accepted_total",
                                   "Spans committed to storage", labels);
  m.rejected = metrics->AddCounter("teletrace_spans_rejected_total",
                                   "Spans rejected as invalid (partial success)", labels);
  m.refused = metrics->AddCounter(
      "teletrace_spans_refused_total",
      "Valid spans refused with a retryable error (queue full, stopping, storage error)", labels);
  return m;
}

}  // namespace teletrace::ingest
