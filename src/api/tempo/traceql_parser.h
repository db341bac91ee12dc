// The subset of TraceQL (Grafana Tempo's trace query language) that Teletrace's Tempo API answers,
// parsed into a small tree:
//
//   absl::StatusOr<SpansetExpr> q =
//       ParseTraceql(R"({ resource.service.name = "cart" && duration > 100ms })");
//
// Supported: spanset filters `{ ... }` (`{}` matches every span); conditions `field op literal`
// combined with && and || and parentheses inside a spanset; spansets combined with && and || (and
// parentheses) at the top. Fields: the intrinsics name, status, statusMessage, kind, duration,
// rootServiceName, rootName, traceDuration (also their scoped spellings span:name, span:status,
// span:statusMessage, span:kind, span:duration, trace:rootService, trace:rootName,
// trace:duration), attributes resource.x, span.x and unscoped .x. Operators = != > >= < <= =~ !~.
// Literals: "strings" (Go escapes \" \\ \n \t \r \/ \uXXXX), integers, floats, Go durations
// (100ms, 1.5s), true/false, the status words error/ok/unset and the kind words server/client/
// producer/consumer/internal/unspecified.
//
// Everything else is refused with InvalidArgument "invalid TraceQL query: col N: ..." naming the
// construct (pipelines `|` with aggregates and select, structural operators >> << > < ~ and their
// negations between spansets, arithmetic, `!`, nil, event./link./instrumentation. scopes, query
// hints). N is the 1-based byte column where the construct starts.
//
// The parser never throws, runs in time linear in the input, and refuses nesting (braces and
// parentheses together) deeper than kMaxTraceqlDepth instead of recursing further.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "model/span.h"

namespace re2 {
class RE2;
}

namespace teletrace::api::tempo {

inline constexpr int kMaxTraceqlDepth = 32;

struct TraceqlField {
  enum class Kind {
    kName,
    kStatus,
    kStatusMessage,
    kKind,
    kDuration,
    kRootServiceName,  // trace level: the root span's service
    kRootName,         // trace level: the root span's name
    kTraceDuration,    // trace level: last end minus first start
    kSpanAttribute,
    kResourceAttribute,
    kAnyAttribute,  // unscoped: the span's attribute if present, else the resource's
  };
  Kind kind = Kind::kName;
  std::string attribute;  // attribute kinds: the name after the scope ("http.method")
  std::string text;       // as written, for messages
};

enum class TraceqlOp { kEq, kNeq, kGt, kGte, kLt, kLte, kRegex, kNotRegex };

// A duration literal, in nanoseconds (kept apart from integers: `duration > 5` is refused).
struct TraceqlDuration {
  uint64_t nanos = 0;
  bool operator==(const TraceqlDuration&) const = default;
};

using TraceqlLiteral = std::variant<std::string, int64_t, double, bool, TraceqlDuration,
                                    model::StatusCode, model::SpanKind>;

struct TraceqlCondition {
  TraceqlField field;
  TraceqlOp op = TraceqlOp::kEq;
  TraceqlLiteral value;
  // Compare the attribute's text form with the string value (tags= searches, where "500" must
  // match the integer 500), instead of TraceQL's typed comparison.
  bool text_form = false;
  std::shared_ptr<const re2::RE2> regex;  // set for kRegex/kNotRegex: the fully anchored pattern
};

// A boolean expression over one span's fields. kTrue is the empty filter `{}`.
struct TraceqlFieldExpr {
  enum class Kind { kTrue, kCondition, kAnd, kOr };
  Kind kind = Kind::kTrue;
  TraceqlCondition condition;              // kCondition
  std::vector<TraceqlFieldExpr> children;  // kAnd/kOr, two or more
};

// A spanset expression: a filter, or && / || of spansets.
struct SpansetExpr {
  enum class Kind { kFilter, kAnd, kOr };
  Kind kind = Kind::kFilter;
  TraceqlFieldExpr filter;            // kFilter
  std::vector<SpansetExpr> children;  // kAnd/kOr, two or more
};

// Parses `text`. On success the tree; on any error InvalidArgument as described above.
absl::StatusOr<SpansetExpr> ParseTraceql(std::string_view text);

// A literal's TraceQL spelling, for messages and tests: "x" (quoted), 5, 1.5, true, 100ms, error,
// server.
std::string TraceqlLiteralText(const TraceqlLiteral& literal);

}  // namespace teletrace::api::tempo
