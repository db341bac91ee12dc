#include <string>

#include "query/engine.h"
#include "query/values.h"

namespace teletrace::query {
namespace {

// Typed equality: numbers numerically, strings and bools exactly, never across those types.
bool ScalarEquals(const model::AnyValue& v, const Scalar& operand) {
  if (const auto* s = std::get_if<std::string>(&operand)) {
    const auto* vs = std::get_if<std::string>(&v.value);
    return vs != nullptr && *vs == *s;
  }
  if (const bool* b = std::get_if<bool>(&operand)) {
    const bool* vb = std::get_if<bool>(&v.value);
    return vb != nullptr && *vb == *b;
  }
  std::optional<Number> a = AsNumber(v);
  std::optional<Number> b = AsNumber(operand);
  return a.has_value() && b.has_value() && CompareNumbers(*a, *b) == 0;
}

// One scalar (not an array) against a positive, value-taking operator.
bool ScalarMatches(Operator op, const Filter& f, const model::AnyValue& v) {
  switch (op) {
    case Operator::kEquals:
      return f.value.has_value() && ScalarEquals(v, *f.value);
    case Operator::kIn:
      for (const Scalar& operand : f.values) {
        if (ScalarEquals(v, operand)) return true;
      }
      return false;
    case Operator::kContains: {
      const auto* vs = std::get_if<std::string>(&v.value);
      const auto* needle = f.value.has_value() ? std::get_if<std::string>(&*f.value) : nullptr;
      return vs != nullptr && needle != nullptr && vs->find(*needle) != std::string::npos;
    }
    case Operator::kGt:
    case Operator::kGte:
    case Operator::kLt:
    case Operator::kLte: {
      if (!f.value.has_value()) return false;
      std::optional<Number> a = AsNumber(v);
      std::optional<Number> b = AsNumber(*f.value);
      if (!a.has_value() || !b.has_value()) return false;
      std::partial_ordering c = CompareNumbers(*a, *b);
      if (op == Operator::kGt) return c > 0;
      if (op == Operator::kGte) return c >= 0;
      if (op == Operator::kLt) return c < 0;
      return c <= 0;
    }
    default:
      return false;
  }
}

// A present value against a positive operator. Arrays match when any element does.
bool ValueMatches(Operator op, const Filter& f, const model::AnyValue& v) {
  if (op == Operator::kExists) return true;
  if (const auto* array = std::get_if<model::ArrayValue>(&v.value)) {
    for (const model::AnyValue& element : *array) {
      if (ScalarMatches(op, f, element)) return true;
    }
    return false;
  }
  return ScalarMatches(op, f, v);
}

// Negative operators are the complement of the positive one over the whole span (any event or
// link, any array element), so a span without the key matches not_equals and not_exists.
bool FilterMatches(const Filter& f, const model::StoredSpan& span) {
  Operator op = Positive(f.op);
  bool positive =
      AnyValueOf(f.key, span, [&](const model::AnyValue& v) { return ValueMatches(op, f, v); });
  return IsNegative(f.op) ? !positive : positive;
}

}  // namespace

SpanMatcher::SpanMatcher(std::vector<Filter> filters) : filters_(std::move(filters)) {}

bool SpanMatcher::Matches(const model::StoredSpan& span) const {
  for (const Filter& f : filters_) {
    if (!FilterMatches(f, span)) return false;
  }
  return true;
}

}  // namespace teletrace::query
