// Span counters of one OTLP transport ("http_protobuf", "http_json", "grpc"), shared by the
// receivers so that every transport counts the same way:
//   received = spans decoded from well-formed requests (valid or not);
//   rejected = spans removed by validation (reported through partial_success);
//   accepted = spans committed to storage;
//   refused  = valid spans not stored because the queue was full, the pipeline was stopping, or
//              the storage commit failed (the client was told to retry).
#pragma once

#include <string>

#include "common/metrics.h"

namespace teletrace::ingest {

struct TransportMetrics {
  Counter* received = nullptr;
  Counter* accepted = nullptr;
  Counter* rejected = nullptr;
  Counter* refused = nullptr;

  // Registers the four counters with label transport=`transport`. Call once per transport and
  // registry: registering the same transport twice yields duplicate series.
  static TransportMetrics Register(Metrics* metrics, const std::string& transport);
};

}  // namespace teletrace::ingest
