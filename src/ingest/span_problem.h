// A problem found with one span while decoding, reported to validation instead of failing the
// whole request: OTLP rejects such spans individually (partial success) and stores the rest.
//
// Decoders record one SpanProblem per affected span, in request order, and also zero that span's
// trace id so that a caller which ignores the list still never stores the span (validation rejects
// an all-zero trace id).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace teletrace::ingest {

struct SpanProblem {
  // Position of the span in the request as decoded (before validation removes anything).
  size_t resource_index = 0;
  size_t scope_index = 0;
  size_t span_index = 0;
  std::string message;  // e.g. "trace id must be 16 bytes, got 5"
};

using SpanProblems = std::vector<SpanProblem>;

}  // namespace teletrace::ingest
