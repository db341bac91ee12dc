// Fuzzes the TraceQL parser: any input must parse or give InvalidArgument, never crash, throw or
// recurse without bound; an accepted query must evaluate over a small trace without crashing.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/tempo/traceql_evaluator.h"
#include "api/tempo/traceql_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace teletrace;
  absl::StatusOr<api::tempo::SpansetExpr> q = api::tempo::ParseTraceql(text);
  if (!q.ok()) {
    if (q.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  static const std::vector<model::StoredSpan> trace = [] {
    model::SpanBatch batch;
    auto& rs = batch.resource_spans.emplace_back();
    rs.resource.attributes = {{"service.name", "svc"}, {"n", 5}};
    auto& ss = rs.scope_spans.emplace_back();
    model::Span root;
    root.trace_id.fill(1);
    root.span_id.fill(1);
    root.name = "root";
    root.start_time_unix_nano = 1000;
    root.end_time_unix_nano = 5000;
    root.attributes = {{"s", "x"}, {"i", 7}, {"d", 0.5}, {"b", true}};
    ss.spans.push_back(root);
    model::Span child = root;
    child.span_id.fill(2);
    child.parent_span_id.fill(1);
    child.status.code = model::StatusCode::kError;
    ss.spans.push_back(child);
    return model::Flatten(std::move(batch), 1);
  }();
  std::vector<size_t> matched = api::tempo::MatchTrace(*q, trace);
  for (size_t i : matched) {
    if (i >= trace.size()) std::abort();
  }
  (void)api::tempo::TraceqlPushdown(*q);
  (void)api::tempo::ReferencedFields(*q);
  return 0;
}
