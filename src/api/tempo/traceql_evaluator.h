// Evaluation of a parsed TraceQL query (traceql_parser.h) over one whole trace, and the part of it
// a storage backend can answer (the candidate spans to look at).
//
//   std::vector<query::Filter> filters = TraceqlPushdown(query);  // for Backend::Search
//   ... for each candidate trace, fetched whole:
//   std::vector<size_t> matched = MatchTrace(query, trace.spans);  // empty: not a match
//
// Semantics, as Tempo's engine evaluates them: a condition on a field the span lacks is false
// whatever the operator (so `span.x != "a"` needs span.x); an unscoped `.x` reads the span's
// attribute when it has one, else the resource's; strings compare with strings, numbers (integer
// or double) with numbers, booleans with booleans, durations with durations or integer nanoseconds;
// other pairings are false. =~ and !~ match the whole string (RE2, fully anchored). A spanset
// filter selects the spans it holds for; `A && B` selects the union when both are non-empty,
// `A || B` the union of both. The trace intrinsics read the root span (the first span, by start
// time, without a parent) and the trace's extent (first start to last end).
#pragma once

#include <cstddef>
#include <vector>

#include "api/tempo/traceql_parser.h"
#include "model/span.h"
#include "query/query.h"

namespace teletrace::api::tempo {

// What the trace-level intrinsics read. `root` is null when the trace has no root span yet.
struct TraceFacts {
  const model::StoredSpan* root = nullptr;
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = 0;
};

// Facts of `spans` (one trace, sorted by start time as Backend::GetTrace returns it; not empty).
TraceFacts ComputeTraceFacts(const std::vector<model::StoredSpan>& spans);

// True when `filter` holds for `span` of the trace described by `trace`.
bool MatchesSpan(const TraceqlFieldExpr& filter, const model::StoredSpan& span,
                 const TraceFacts& trace);

// Indices into `spans` (one whole trace) of the spans the query selects, ascending; empty when
// the trace does not match.
std::vector<size_t> MatchTrace(const SpansetExpr& query,
                               const std::vector<model::StoredSpan>& spans);

// Filters in the query model that every trace matching `query` has at least one span (starting in
// the searched time range) satisfying: the conditions ANDed at the top of the query's first
// spanset filter when the query is a filter or a && of spansets, restricted to those the model
// expresses without changing their meaning (name, status, kind, duration, and string equality of
// span. and resource. attributes). None when the query is a || of spansets, or nothing is
// expressible (every span in range is then a candidate).
std::vector<query::Filter> TraceqlPushdown(const SpansetExpr& query);

// The attribute and intrinsic fields the query's conditions read, each once, in query order: what
// a search result shows of each matched span.
std::vector<TraceqlField> ReferencedFields(const SpansetExpr& query);

}  // namespace teletrace::api::tempo
