// The calls between services in a time range, from the stored spans: for every span in the range
// whose parent span is stored and in the range too, an edge from the parent's service to the
// span's service, counting the calls and those whose called span failed (status Error). Answered
// by storage::Backend::Dependencies; serves POST /v1/dependencies, Jaeger's /api/dependencies and
// Zipkin's /api/v2/dependencies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "query/query.h"

namespace teletrace::query {

struct DependenciesQuery {
  TimeRange range;
  std::string service;  // when set, only the edges from or to it
  // How many spans (or unresolved calls) an answer may hold in memory at once; past it the answer
  // is partial.
  size_t max_examined = 0;
};

struct DependencyEdge {
  std::string parent;  // service names ("" for spans without one)
  std::string child;
  uint64_t calls = 0;
  uint64_t errors = 0;  // calls whose child span has status Error
  bool operator==(const DependencyEdge&) const = default;
};

struct DependenciesResult {
  std::vector<DependencyEdge> edges;  // by (parent, child); a service's calls to itself included
  // True when the range held more than the query's max_examined allowed: the edges are those of
  // the spans examined (the generic answer keeps the newest).
  bool partial = false;
  bool operator==(const DependenciesResult&) const = default;
};

// Sums calls per (parent service, child service) and orders them as the result wants.
class DependencyCounter {
 public:
  void Add(std::string_view parent, std::string_view child, uint64_t calls, uint64_t errors);
  void Merge(const DependencyCounter& other);
  // The edges, by (parent, child), only those from or to `service` when it is not empty.
  DependenciesResult Finish(std::string_view service, bool partial) &&;

 private:
  struct Counts {
    uint64_t calls = 0;
    uint64_t errors = 0;
  };
  // Keyed by the parent's name size (4 bytes), the parent's name, the child's name.
  absl::flat_hash_map<std::string, Counts> edges_;
  std::string key_;  // reused
};

}  // namespace teletrace::query
