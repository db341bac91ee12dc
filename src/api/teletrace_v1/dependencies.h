// The calls between services in a time range, from the stored spans: for every span whose parent
// span is stored too, an edge from the parent's service to the span's service, counting the calls
// and those whose called span failed (status Error). Serves POST /v1/dependencies, Jaeger's
// /api/dependencies (calls only) and Zipkin's /api/v2/dependencies (calls between named services).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "query/query.h"
#include "storage/storage.h"

namespace teletrace::api::v1 {

struct DependencyEdge {
  std::string parent;  // service names ("" for spans without one)
  std::string child;
  uint64_t calls = 0;
  uint64_t errors = 0;  // calls whose child span has status Error
  bool operator==(const DependencyEdge&) const = default;
};

struct Dependencies {
  std::vector<DependencyEdge> edges;  // by (parent, child); a service's calls to itself included
  // True when the range held more than max_examined spans: the edges are those of the newest.
  bool partial = false;
};

// Reads the spans of `range`, newest first, at most `max_examined` (whole pages). When `service`
// is not empty only its edges (from or to it) are kept.
absl::StatusOr<Dependencies> ServiceDependencies(storage::Backend& backend, query::TimeRange range,
                                                 std::string_view service, size_t max_examined);

}  // namespace teletrace::api::v1
