// Compares two decodes of one input, for the differential tests and fuzzers of the OTLP decoders.
#pragma once

#include <cmath>
#include <string>
#include <variant>

#include "absl/status/statusor.h"
#include "fmt/format.h"
#include "ingest/span_problem.h"
#include "model/span.h"

namespace teletrace::ingest::testing {

// JSON numbers cannot be NaN but "NaN" strings decode to it, and NaN != NaN: both sides' NaNs are
// made comparable first.
inline void MarkNaNs(model::KeyValueList* list);
inline void MarkNaN(model::AnyValue* v) {
  if (auto* d = std::get_if<double>(&v->value); d != nullptr && std::isnan(*d)) {
    v->value = model::Bytes{"(NaN)"};
  } else if (auto* a = std::get_if<model::ArrayValue>(&v->value)) {
    for (model::AnyValue& e : *a) MarkNaN(&e);
  } else if (auto* kv = std::get_if<model::KeyValueList>(&v->value)) {
    MarkNaNs(kv);
  }
}
inline void MarkNaNs(model::KeyValueList* list) {
  for (model::KeyValue& kv : *list) MarkNaN(&kv.value);
}
inline void MarkNaNs(model::SpanBatch* batch) {
  for (model::ResourceSpans& rs : batch->resource_spans) {
    MarkNaNs(&rs.resource.attributes);
    for (model::ScopeSpans& ss : rs.scope_spans) {
      MarkNaNs(&ss.scope.attributes);
      for (model::Span& span : ss.spans) {
        MarkNaNs(&span.attributes);
        for (model::Event& e : span.events) MarkNaNs(&e.attributes);
        for (model::Link& l : span.links) MarkNaNs(&l.attributes);
      }
    }
  }
}

// Empty when two decodes of the same input agree (the same batch and span problems, or the same
// error), else what differs: the differential tests' and fuzzers' verdict on a decoder against the
// reference it replaced.
inline std::string DecodeDifference(absl::StatusOr<model::SpanBatch> now,
                                    const SpanProblems& new_problems,
                                    absl::StatusOr<model::SpanBatch> before,
                                    const SpanProblems& old_problems) {
  if (now.ok() != before.ok()) {
    return fmt::format("new: {}; reference: {}", now.ok() ? "ok" : now.status().ToString(),
                       before.ok() ? "ok" : before.status().ToString());
  }
  if (!now.ok()) {
    if (now.status() == before.status()) return "";
    return fmt::format("new: {}; reference: {}", now.status().ToString(),
                       before.status().ToString());
  }
  MarkNaNs(&*now);
  MarkNaNs(&*before);
  if (!(*now == *before)) {
    return fmt::format("batches differ ({} and {} spans)", now->SpanCount(), before->SpanCount());
  }
  if (new_problems.size() != old_problems.size()) {
    return fmt::format("{} span problems, reference {}", new_problems.size(), old_problems.size());
  }
  for (size_t i = 0; i < new_problems.size(); ++i) {
    const SpanProblem& a = new_problems[i];
    const SpanProblem& b = old_problems[i];
    if (a.resource_index != b.resource_index || a.scope_index != b.scope_index ||
        a.span_index != b.span_index || a.message != b.message) {
      return fmt::format("span problem {}: \"{}\" vs reference \"{}\"", i, a.message, b.message);
    }
  }
  return "";
}

}  // namespace teletrace::ingest::testing
