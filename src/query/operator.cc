#include <string>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "query/parse.h"

namespace teletrace::query {
namespace {

// In the order of the Operator enum.
constexpr std::string_view kOperatorNames[] = {
    "equals", "not_equals", "in", "not_in", "contains", "not_contains",
    "exists", "not_exists", "gt", "gte", "lt",     "lte",
};

}  // namespace

absl::StatusOr<Operator> ParseOperator(std::string_view text, std::string_view field) {
  for (size_t i = 0; i < std::size(kOperatorNames); ++i) {
    if (text == kOperatorNames[i]) return static_cast<Operator>(i);
  }
  return absl::InvalidArgumentError(fmt::format(
      "{}.operator: unknown operator \"{}\" (expected one of {})", field, text,
      fmt::join(std::begin(kOperatorNames), std::end(kOperatorNames), ", ")));
}

std::string_view OperatorName(Operator op) { return kOperatorNames[static_cast<size_t>(op)]; }

bool IsNegative(Operator op) {
  return op == Operator::kNotEquals || op == Operator::kNotIn || op == Operator::kNotContains ||
         op == Operator::kNotExists;
}

bool NeedsHeldValue(const Filter& f) {
  return f.key.level != KeyLevel::kIntrinsic && !IsNegative(f.op) && f.op != Operator::kExists;
}

Operator Positive(Operator op) {
  switch (op) {
    case Operator::kNotEquals:
      return Operator::kEquals;
    case Operator::kNotIn:
      return Operator::kIn;
    case Operator::kNotContains:
      return Operator::kContains;
    case Operator::kNotExists:
      return Operator::kExists;
    default:
      return op;
  }
}

}  // namespace teletrace::query
