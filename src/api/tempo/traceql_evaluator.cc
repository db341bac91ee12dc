#include "api/tempo/traceql_evaluator.h"

#include <algorithm>
#include <optional>

#include "api/jaeger/jaeger_json.h"
#include "query/parse.h"
#include "re2/re2.h"

namespace teletrace::api::tempo {
namespace {

using Kind = TraceqlField::Kind;

template <typename T>
bool Compare(TraceqlOp op, const T& a, const T& b) {
  switch (op) {
    case TraceqlOp::kEq:
      return a == b;
    case TraceqlOp::kNeq:
      return a != b;
    case TraceqlOp::kGt:
      return a > b;
    case TraceqlOp::kGte:
      return a >= b;
    case TraceqlOp::kLt:
      return a < b;
    case TraceqlOp::kLte:
      return a <= b;
    case TraceqlOp::kRegex:
    case TraceqlOp::kNotRegex:
      return false;  // strings only, handled by CompareString
  }
  return false;
}

bool CompareString(const TraceqlCondition& c, std::string_view value) {
  if (c.op == TraceqlOp::kRegex || c.op == TraceqlOp::kNotRegex) {
    const bool full = c.regex != nullptr && RE2::FullMatch(value, *c.regex);
    return c.op == TraceqlOp::kRegex ? full : !full;
  }
  const auto* s = std::get_if<std::string>(&c.value);
  return s != nullptr && Compare<std::string_view>(c.op, value, *s);
}

bool CompareNumber(const TraceqlCondition& c, std::variant<int64_t, double> value) {
  if (const auto* d = std::get_if<TraceqlDuration>(&c.value)) {
    const auto* i = std::get_if<int64_t>(&value);
    return i != nullptr && *i >= 0 && Compare(c.op, static_cast<uint64_t>(*i), d->nanos);
  }
  const auto* li = std::get_if<int64_t>(&c.value);
  const auto* ld = std::get_if<double>(&c.value);
  if (li == nullptr && ld == nullptr) return false;
  const auto* vi = std::get_if<int64_t>(&value);
  if (li != nullptr && vi != nullptr) return Compare(c.op, *vi, *li);
  const double a = vi != nullptr ? static_cast<double>(*vi) : std::get<double>(value);
  const double b = li != nullptr ? static_cast<double>(*li) : *ld;
  return Compare(c.op, a, b);
}

bool CompareAttribute(const TraceqlCondition& c, const model::AnyValue* value) {
  if (value == nullptr) return false;
  if (c.text_form) {
    const auto* s = std::get_if<std::string>(&c.value);
    return s != nullptr && Compare<std::string>(c.op, jaeger::AttributeAsString(*value), *s);
  }
  if (const auto* s = std::get_if<std::string>(&value->value)) return CompareString(c, *s);
  if (c.op == TraceqlOp::kRegex || c.op == TraceqlOp::kNotRegex) return false;
  if (const auto* i = std::get_if<int64_t>(&value->value)) return CompareNumber(c, *i);
  if (const auto* d = std::get_if<double>(&value->value)) return CompareNumber(c, *d);
  if (const auto* b = std::get_if<bool>(&value->value)) {
    const auto* lb = std::get_if<bool>(&c.value);
    return lb != nullptr && Compare(c.op, *b, *lb);
  }
  return false;  // bytes, arrays, maps and empty values compare with nothing
}

const model::AnyValue* ResourceAttribute(const model::StoredSpan& s, std::string_view name) {
  return s.resource != nullptr ? model::FindAttribute(s.resource->attributes, name) : nullptr;
}

bool MatchesCondition(const TraceqlCondition& c, const model::StoredSpan& s,
                      const TraceFacts& trace) {
  switch (c.field.kind) {
    case Kind::kName:
      return CompareString(c, s.span.name);
    case Kind::kStatusMessage:
      return CompareString(c, s.span.status.message);
    case Kind::kStatus: {
      const auto* v = std::get_if<model::StatusCode>(&c.value);
      return v != nullptr && Compare(c.op, s.span.status.code, *v);
    }
    case Kind::kKind: {
      const auto* v = std::get_if<model::SpanKind>(&c.value);
      return v != nullptr && Compare(c.op, s.span.kind, *v);
    }
    case Kind::kDuration: {
      const auto* v = std::get_if<TraceqlDuration>(&c.value);
      return v != nullptr && Compare(c.op, s.span.DurationNano(), v->nanos);
    }
    case Kind::kTraceDuration: {
      const auto* v = std::get_if<TraceqlDuration>(&c.value);
      return v != nullptr && Compare(c.op, trace.end_unix_nano - trace.start_unix_nano, v->nanos);
    }
    case Kind::kRootServiceName:
      return trace.root != nullptr && trace.root->resource != nullptr &&
             CompareString(c, model::ServiceName(*trace.root->resource));
    case Kind::kRootName:
      return trace.root != nullptr && CompareString(c, trace.root->span.name);
    case Kind::kSpanAttribute:
      return CompareAttribute(c, model::FindAttribute(s.span.attributes, c.field.attribute));
    case Kind::kResourceAttribute:
      return CompareAttribute(c, ResourceAttribute(s, c.field.attribute));
    case Kind::kAnyAttribute: {
      const model::AnyValue* v = model::FindAttribute(s.span.attributes, c.field.attribute);
      return CompareAttribute(c, v != nullptr ? v : ResourceAttribute(s, c.field.attribute));
    }
  }
  return false;
}

// Spans selected by `expr`, as a mask over the trace.
std::vector<bool> Select(const SpansetExpr& expr, const std::vector<model::StoredSpan>& spans,
                         const TraceFacts& trace) {
  std::vector<bool> out(spans.size(), false);
  switch (expr.kind) {
    case SpansetExpr::Kind::kFilter:
      for (size_t i = 0; i < spans.size(); ++i) out[i] = MatchesSpan(expr.filter, spans[i], trace);
      return out;
    case SpansetExpr::Kind::kAnd:
    case SpansetExpr::Kind::kOr:
      for (const SpansetExpr& child : expr.children) {
        std::vector<bool> selected = Select(child, spans, trace);
        const bool any = std::find(selected.begin(), selected.end(), true) != selected.end();
        if (!any && expr.kind == SpansetExpr::Kind::kAnd) return std::vector<bool>(spans.size());
        for (size_t i = 0; i < spans.size(); ++i) out[i] = out[i] || selected[i];
      }
      return out;
  }
  return out;
}

std::optional<query::Filter> PushdownOne(const TraceqlCondition& c) {
  query::Filter f;
  std::string key;
  const bool ordering = c.op == TraceqlOp::kGt || c.op == TraceqlOp::kGte ||
                        c.op == TraceqlOp::kLt || c.op == TraceqlOp::kLte;
  switch (c.op) {
    case TraceqlOp::kEq:
      f.op = query::Operator::kEquals;
      break;
    case TraceqlOp::kNeq:
      f.op = query::Operator::kNotEquals;
      break;
    case TraceqlOp::kGt:
      f.op = query::Operator::kGt;
      break;
    case TraceqlOp::kGte:
      f.op = query::Operator::kGte;
      break;
    case TraceqlOp::kLt:
      f.op = query::Operator::kLt;
      break;
    case TraceqlOp::kLte:
      f.op = query::Operator::kLte;
      break;
    case TraceqlOp::kRegex:
    case TraceqlOp::kNotRegex:
      return std::nullopt;
  }
  switch (c.field.kind) {
    case Kind::kName:
      if (ordering) return std::nullopt;
      key = "span.name";
      f.value = std::get<std::string>(c.value);
      break;
    case Kind::kStatus:
      key = "span.status.code";
      f.value = static_cast<int64_t>(std::get<model::StatusCode>(c.value));
      break;
    case Kind::kKind:
      key = "span.kind";
      f.value = static_cast<int64_t>(std::get<model::SpanKind>(c.value));
      break;
    case Kind::kDuration: {
      const uint64_t nanos = std::get<TraceqlDuration>(c.value).nanos;
      if (c.op == TraceqlOp::kNeq || nanos > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
      key = "externalFields.durationNano";
      f.value = static_cast<int64_t>(nanos);
      break;
    }
    case Kind::kSpanAttribute:
    case Kind::kResourceAttribute: {
      const auto* s = std::get_if<std::string>(&c.value);
      if (c.text_form || c.op != TraceqlOp::kEq || s == nullptr) return std::nullopt;
      key = (c.field.kind == Kind::kSpanAttribute ? "span.attributes." : "resource.attributes.") +
            c.field.attribute;
      f.value = *s;
      break;
    }
    default:
      return std::nullopt;  // trace intrinsics, unscoped attributes (two levels): evaluated here
  }
  absl::StatusOr<query::Key> parsed = query::ParseKey(key, "q");
  if (!parsed.ok()) return std::nullopt;
  f.key = *std::move(parsed);
  if (!query::ValidateFilter(f, "q").ok()) return std::nullopt;
  return f;
}

void CollectFields(const TraceqlFieldExpr& e, std::vector<TraceqlField>* out) {
  if (e.kind == TraceqlFieldExpr::Kind::kCondition) {
    const TraceqlField& f = e.condition.field;
    for (const TraceqlField& seen : *out) {
      if (seen.kind == f.kind && seen.attribute == f.attribute) return;
    }
    out->push_back(f);
    return;
  }
  for (const TraceqlFieldExpr& child : e.children) CollectFields(child, out);
}

void CollectFields(const SpansetExpr& e, std::vector<TraceqlField>* out) {
  if (e.kind == SpansetExpr::Kind::kFilter) return CollectFields(e.filter, out);
  for (const SpansetExpr& child : e.children) CollectFields(child, out);
}

}  // namespace

TraceFacts ComputeTraceFacts(const std::vector<model::StoredSpan>& spans) {
  TraceFacts facts;
  facts.start_unix_nano = UINT64_MAX;
  for (const model::StoredSpan& s : spans) {
    if (facts.root == nullptr && IsZeroId(s.span.parent_span_id)) facts.root = &s;
    facts.start_unix_nano = std::min(facts.start_unix_nano, s.span.start_time_unix_nano);
    facts.end_unix_nano = std::max(facts.end_unix_nano, s.span.end_time_unix_nano);
  }
  if (spans.empty()) facts.start_unix_nano = 0;
  facts.end_unix_nano = std::max(facts.end_unix_nano, facts.start_unix_nano);
  return facts;
}

bool MatchesSpan(const TraceqlFieldExpr& filter, const model::StoredSpan& span,
                 const TraceFacts& trace) {
  switch (filter.kind) {
    case TraceqlFieldExpr::Kind::kTrue:
      return true;
    case TraceqlFieldExpr::Kind::kCondition:
      return MatchesCondition(filter.condition, span, trace);
    case TraceqlFieldExpr::Kind::kAnd:
      for (const TraceqlFieldExpr& c : filter.children) {
        if (!MatchesSpan(c, span, trace)) return false;
      }
      return true;
    case TraceqlFieldExpr::Kind::kOr:
      for (const TraceqlFieldExpr& c : filter.children) {
        if (MatchesSpan(c, span, trace)) return true;
      }
      return false;
  }
  return false;
}

std::vector<size_t> MatchTrace(const SpansetExpr& query,
                               const std::vector<model::StoredSpan>& spans) {
  const TraceFacts facts = ComputeTraceFacts(spans);
  const std::vector<bool> selected = Select(query, spans, facts);
  std::vector<size_t> out;
  for (size_t i = 0; i < selected.size(); ++i) {
    if (selected[i]) out.push_back(i);
  }
  return out;
}

std::vector<query::Filter> TraceqlPushdown(const SpansetExpr& query) {
  const SpansetExpr* first = &query;
  while (first->kind == SpansetExpr::Kind::kAnd) first = &first->children.front();
  if (first->kind != SpansetExpr::Kind::kFilter) return {};
  std::vector<const TraceqlCondition*> conditions;
  if (first->filter.kind == TraceqlFieldExpr::Kind::kCondition) {
    conditions.push_back(&first->filter.condition);
  } else if (first->filter.kind == TraceqlFieldExpr::Kind::kAnd) {
    for (const TraceqlFieldExpr& c : first->filter.children) {
      if (c.kind == TraceqlFieldExpr::Kind::kCondition) conditions.push_back(&c.condition);
    }
  }
  std::vector<query::Filter> out;
  for (const TraceqlCondition* c : conditions) {
    if (std::optional<query::Filter> f = PushdownOne(*c)) out.push_back(*std::move(f));
  }
  return out;
}

std::vector<TraceqlField> ReferencedFields(const SpansetExpr& query) {
  std::vector<TraceqlField> out;
  CollectFields(query, &out);
  return out;
}

}  // namespace teletrace::api::tempo
