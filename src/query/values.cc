#include "query/values.h"

#include <cmath>
#include <string_view>

#include "query/engine.h"

namespace teletrace::query {

model::AnyValue SpanIntrinsicValue(Intrinsic intrinsic, const model::StoredSpan& span) {
  const model::Span& s = span.span;
  switch (intrinsic) {
    case Intrinsic::kTraceId:
      return model::AnyValue(ToHex(s.trace_id));
    case Intrinsic::kSpanId:
      return model::AnyValue(ToHex(s.span_id));
    case Intrinsic::kParentSpanId:
      return model::AnyValue(IsZeroId(s.parent_span_id) ? std::string() : ToHex(s.parent_span_id));
    case Intrinsic::kTraceState:
      return model::AnyValue(s.trace_state);
    case Intrinsic::kName:
      return model::AnyValue(s.name);
    case Intrinsic::kKind: {
      auto k = static_cast<size_t>(s.kind);
      return model::AnyValue(std::string(k < std::size(kSpanKindNames) ? kSpanKindNames[k]
                                                                       : kSpanKindNames[0]));
    }
    case Intrinsic::kStatusCode: {
      auto c = static_cast<size_t>(s.status.code);
      return model::AnyValue(std::string(c < std::size(kStatusCodeNames) ? kStatusCodeNames[c]
                                                                         : kStatusCodeNames[0]));
    }
    case Intrinsic::kStatusMessage:
      return model::AnyValue(s.status.message);
    case Intrinsic::kStartTime:
      return model::AnyValue(static_cast<int64_t>(s.start_time_unix_nano));
    case Intrinsic::kEndTime:
      return model::AnyValue(static_cast<int64_t>(s.end_time_unix_nano));
    case Intrinsic::kDuration:
      return model::AnyValue(static_cast<int64_t>(s.DurationNano()));
    case Intrinsic::kScopeName:
      return model::AnyValue(span.scope == nullptr ? std::string() : span.scope->name);
    case Intrinsic::kScopeVersion:
      return model::AnyValue(span.scope == nullptr ? std::string() : span.scope->version);
    case Intrinsic::kIngestionTime:
      return model::AnyValue(static_cast<int64_t>(span.ingestion_time_unix_nano));
    case Intrinsic::kEventName:
    case Intrinsic::kLinkTraceId:
    case Intrinsic::kLinkSpanId:
      break;  // one value per event or link: AnyValueOf handles them
  }
  return model::AnyValue();
}

void ForEachValue(const Key& key, const model::StoredSpan& span,
                  const std::function<void(const model::AnyValue&)>& fn) {
  AnyValueOf(key, span, [&](const model::AnyValue& v) {
    fn(v);
    return false;
  });
}

std::optional<Number> AsNumber(const model::AnyValue& v) {
  if (const int64_t* i = std::get_if<int64_t>(&v.value)) return Number{true, *i, 0};
  if (const double* d = std::get_if<double>(&v.value)) return Number{false, 0, *d};
  return std::nullopt;
}

std::optional<Number> AsNumber(const Scalar& v) {
  if (const int64_t* i = std::get_if<int64_t>(&v)) return Number{true, *i, 0};
  if (const double* d = std::get_if<double>(&v)) return Number{false, 0, *d};
  return std::nullopt;
}

double ToDouble(const Number& n) { return n.is_int ? static_cast<double>(n.i) : n.d; }

namespace {

// int64 against double without rounding the integer through a double.
std::partial_ordering CompareIntDouble(int64_t i, double d) {
  if (std::isnan(d)) return std::partial_ordering::unordered;
  if (d >= 9223372036854775808.0) return std::partial_ordering::less;
  if (d < -9223372036854775808.0) return std::partial_ordering::greater;
  double whole = std::trunc(d);
  auto t = static_cast<int64_t>(whole);
  if (i != t) return i < t ? std::partial_ordering::less : std::partial_ordering::greater;
  double frac = d - whole;
  if (frac > 0) return std::partial_ordering::less;
  if (frac < 0) return std::partial_ordering::greater;
  return std::partial_ordering::equivalent;
}

std::partial_ordering Reverse(std::partial_ordering o) {
  if (o == std::partial_ordering::less) return std::partial_ordering::greater;
  if (o == std::partial_ordering::greater) return std::partial_ordering::less;
  return o;
}

int Sign(std::partial_ordering o) { return o < 0 ? -1 : (o > 0 ? 1 : 0); }

}  // namespace

std::partial_ordering CompareNumbers(const Number& a, const Number& b) {
  if (a.is_int && b.is_int) return a.i <=> b.i;
  if (!a.is_int && !b.is_int) return a.d <=> b.d;
  if (a.is_int) return CompareIntDouble(a.i, b.d);
  return Reverse(CompareIntDouble(b.i, a.d));
}

std::optional<TagValue> ToTagValue(const model::AnyValue& v) {
  if (const auto* s = std::get_if<std::string>(&v.value)) return TagValue(*s);
  if (const auto* i = std::get_if<int64_t>(&v.value)) return TagValue(*i);
  if (const auto* d = std::get_if<double>(&v.value)) return TagValue(*d);
  if (const auto* b = std::get_if<bool>(&v.value)) return TagValue(*b);
  return std::nullopt;
}

int CompareTagValues(const TagValue& a, const TagValue& b) {
  auto rank = [](const TagValue& v) {
    if (std::holds_alternative<bool>(v)) return 0;
    if (std::holds_alternative<std::string>(v)) return 2;
    return 1;
  };
  int ra = rank(a);
  int rb = rank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  if (ra == 0) return static_cast<int>(std::get<bool>(a)) - static_cast<int>(std::get<bool>(b));
  if (ra == 2) {
    int c = std::get<std::string>(a).compare(std::get<std::string>(b));
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  auto number = [](const TagValue& v) {
    if (const int64_t* i = std::get_if<int64_t>(&v)) return Number{true, *i, 0};
    return Number{false, 0, std::get<double>(v)};
  };
  Number na = number(a);
  Number nb = number(b);
  bool nan_a = !na.is_int && std::isnan(na.d);
  bool nan_b = !nb.is_int && std::isnan(nb.d);
  if (nan_a || nan_b) return static_cast<int>(nan_a) - static_cast<int>(nan_b);
  if (int c = Sign(CompareNumbers(na, nb)); c != 0) return c;
  // Numerically equal: int64 before double, so 5 and 5.0 stay distinct and ordered.
  return static_cast<int>(!na.is_int) - static_cast<int>(!nb.is_int);
}

}  // namespace teletrace::query
