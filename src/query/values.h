// Reading a key's values off a span, and comparing typed values. Internal to query/: the matcher
// and the collectors must agree on what a value is and how two compare.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

#include "model/span.h"
#include "query/intrinsics.h"
#include "query/query.h"

namespace teletrace::query {

// The API form of an intrinsic (names for kind and status, hex for ids, int64 for times), for the
// intrinsics that have exactly one value per span.
model::AnyValue SpanIntrinsicValue(Intrinsic intrinsic, const model::StoredSpan& span);

// Calls `fn(const model::AnyValue&) -> bool` with each value of `key` on `span` (see ForEachValue)
// until it returns true; returns whether it did. Inlined because the matcher runs it per span per
// filter.
template <typename Fn>
bool AnyValueOf(const Key& key, const model::StoredSpan& span, Fn&& fn) {
  const model::Span& s = span.span;
  switch (key.level) {
    case KeyLevel::kIntrinsic:
      switch (key.intrinsic) {
        case Intrinsic::kEventName:
          for (const model::Event& e : s.events) {
            if (fn(model::AnyValue(e.name))) return true;
          }
          return false;
        case Intrinsic::kLinkTraceId:
          for (const model::Link& l : s.links) {
            if (fn(model::AnyValue(ToHex(l.trace_id)))) return true;
          }
          return false;
        case Intrinsic::kLinkSpanId:
          for (const model::Link& l : s.links) {
            if (fn(model::AnyValue(ToHex(l.span_id)))) return true;
          }
          return false;
        default:
          return fn(SpanIntrinsicValue(key.intrinsic, span));
      }
    case KeyLevel::kResource: {
      if (span.resource == nullptr) return false;
      const model::AnyValue* v = model::FindAttribute(span.resource->attributes, key.name);
      return v != nullptr && fn(*v);
    }
    case KeyLevel::kScope: {
      if (span.scope == nullptr) return false;
      const model::AnyValue* v = model::FindAttribute(span.scope->attributes, key.name);
      return v != nullptr && fn(*v);
    }
    case KeyLevel::kSpan: {
      const model::AnyValue* v = model::FindAttribute(s.attributes, key.name);
      return v != nullptr && fn(*v);
    }
    case KeyLevel::kEvent:
      for (const model::Event& e : s.events) {
        const model::AnyValue* v = model::FindAttribute(e.attributes, key.name);
        if (v != nullptr && fn(*v)) return true;
      }
      return false;
    case KeyLevel::kLink:
      for (const model::Link& l : s.links) {
        const model::AnyValue* v = model::FindAttribute(l.attributes, key.name);
        if (v != nullptr && fn(*v)) return true;
      }
      return false;
  }
  return false;
}

// A number as it arrived: int64 kept exact, double as is.
struct Number {
  bool is_int = true;
  int64_t i = 0;
  double d = 0;
};

std::optional<Number> AsNumber(const model::AnyValue& v);
std::optional<Number> AsNumber(const Scalar& v);
double ToDouble(const Number& n);

// Numeric order; exact for int64 against int64 and for int64 against double (no rounding of large
// integers). Unordered when a NaN is involved.
std::partial_ordering CompareNumbers(const Number& a, const Number& b);

// The scalar attribute value as the API reports it; nullopt for empty, bytes, array and map values.
std::optional<TagValue> ToTagValue(const model::AnyValue& v);

// A total order on tag values: bool < numbers < strings; false < true; numbers numerically (an
// int64 before an equal double, NaN after every number); strings bytewise.
int CompareTagValues(const TagValue& a, const TagValue& b);

// Transparent: a string is also looked up as a string_view (after every bool and number, as in
// CompareTagValues), without building a TagValue.
struct TagValueLess {
  using is_transparent = void;
  bool operator()(const TagValue& a, const TagValue& b) const {
    return CompareTagValues(a, b) < 0;
  }
  bool operator()(std::string_view a, const TagValue& b) const {
    const auto* s = std::get_if<std::string>(&b);
    return s != nullptr && a < std::string_view(*s);
  }
  bool operator()(const TagValue& a, std::string_view b) const {
    const auto* s = std::get_if<std::string>(&a);
    return s == nullptr || std::string_view(*s) < b;
  }
};

}  // namespace teletrace::query
