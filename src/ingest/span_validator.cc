#include "ingest/span_validator.h"

#include <map>
#include <tuple>
#include <utility>
#include <vector>

#include "common/ids.h"
#include "fmt/format.h"

namespace teletrace::ingest {
namespace {

// The partial_success message goes back to the client and into its logs: a few examples are
// enough to find the bug, and a request of 100k bad spans must not produce a megabyte of text.
constexpr size_t kMaxListedProblems = 5;
constexpr size_t kMaxReasonChars = 200;

using Position = std::tuple<size_t, size_t, size_t>;

// Why `span` must be rejected, or "" when it is valid.
std::string SpanDefect(const model::Span& span) {
  if (IsZeroId(span.trace_id)) return "trace id is all zeros";
  if (IsZeroId(span.span_id)) return "span id is all zeros";
  if (span.end_time_unix_nano < span.start_time_unix_nano) {
    return fmt::format("end time {} is before start time {}", span.end_time_unix_nano,
                       span.start_time_unix_nano);
  }
  return "";
}

}  // namespace

ValidationResult ValidateSpans(model::SpanBatch* batch, const SpanProblems& decode_problems) {
  std::map<Position, const std::string*> known;
  for (const SpanProblem& p : decode_problems) {
    // The first problem reported for a span is the one the client should fix first.
    known.emplace(Position{p.resource_index, p.scope_index, p.span_index}, &p.message);
  }

  ValidationResult result;
  std::vector<std::string> listed;
  std::vector<model::ResourceSpans> kept_resources;
  for (size_t r = 0; r < batch->resource_spans.size(); ++r) {
    model::ResourceSpans& rs = batch->resource_spans[r];
    std::vector<model::ScopeSpans> kept_scopes;
    for (size_t s = 0; s < rs.scope_spans.size(); ++s) {
      model::ScopeSpans& ss = rs.scope_spans[s];
      size_t kept = 0;
      for (size_t i = 0; i < ss.spans.size(); ++i) {
        std::string reason;
        if (!known.empty()) {
          auto it = known.find(Position{r, s, i});
          if (it != known.end()) reason = *it->second;
        }
        if (reason.empty()) reason = SpanDefect(ss.spans[i]);
        if (reason.empty()) {
          if (kept != i) ss.spans[kept] = std::move(ss.spans[i]);
          ++kept;
          continue;
        }
        ++result.rejected_spans;
        if (listed.size() < kMaxListedProblems) {
          if (reason.size() > kMaxReasonChars) reason = reason.substr(0, kMaxReasonChars) + "...";
          listed.push_back(fmt::format("span {} of scope {} of resource {}: {}", i, s, r, reason));
        }
      }
      ss.spans.resize(kept);
      if (kept > 0) kept_scopes.push_back(std::move(ss));
    }
    rs.scope_spans = std::move(kept_scopes);
    if (!rs.scope_spans.empty()) kept_resources.push_back(std::move(rs));
  }
  batch->resource_spans = std::move(kept_resources);

  if (result.rejected_spans > 0) {
    result.error_message =
        fmt::format("{} span{} rejected: {}", result.rejected_spans,
                    result.rejected_spans == 1 ? "" : "s", fmt::join(listed, "; "));
    if (static_cast<size_t>(result.rejected_spans) > listed.size()) {
      result.error_message +=
          fmt::format("; and {} more", static_cast<size_t>(result.rejected_spans) - listed.size());
    }
  }
  return result;
}

}  // namespace teletrace::ingest
