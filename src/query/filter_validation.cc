#include <cctype>
#include <cmath>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "query/intrinsics.h"
#include "query/parse.h"

namespace teletrace::query {
namespace {

absl::Status Invalid(std::string message) {
  return absl::InvalidArgumentError(std::move(message));
}

std::string_view TypeName(const Scalar& s) {
  switch (s.index()) {
    case 0:
      return "string";
    case 1:
    case 2:
      return "number";
    default:
      return "bool";
  }
}

bool IsNumber(const Scalar& s) {
  return std::holds_alternative<int64_t>(s) || std::holds_alternative<double>(s);
}

bool IsOrdering(Operator op) {
  return op == Operator::kGt || op == Operator::kGte || op == Operator::kLt || op == Operator::kLte;
}

bool IsContains(Operator op) { return op == Operator::kContains || op == Operator::kNotContains; }

bool IsList(Operator op) { return op == Operator::kIn || op == Operator::kNotIn; }

bool IsExistence(Operator op) { return op == Operator::kExists || op == Operator::kNotExists; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Operand count and shape for the operator, as documented on Filter.
absl::Status CheckArity(const Filter& f, std::string_view field) {
  std::string_view op = OperatorName(f.op);
  if (IsList(f.op)) {
    if (f.value.has_value()) {
      return Invalid(fmt::format(
          "{}.value: operator \"{}\" needs a list of values, got a single value", field, op));
    }
    if (f.values.empty()) {
      return Invalid(fmt::format("{}.value: operator \"{}\" needs at least one value", field, op));
    }
    return absl::OkStatus();
  }
  if (IsExistence(f.op)) {
    if (f.value.has_value() || !f.values.empty()) {
      return Invalid(fmt::format("{}.value: operator \"{}\" takes no value", field, op));
    }
    return absl::OkStatus();
  }
  if (!f.values.empty()) {
    return Invalid(
        fmt::format("{}.value: operator \"{}\" needs a single value, got a list", field, op));
  }
  if (!f.value.has_value()) {
    return Invalid(fmt::format("{}.value: operator \"{}\" needs a value", field, op));
  }
  return absl::OkStatus();
}

// Which operators each intrinsic type accepts.
absl::Status CheckIntrinsicOperator(const Filter& f, std::string_view field) {
  const IntrinsicInfo& info = InfoOf(f.key.intrinsic);
  std::string_view op = OperatorName(f.op);
  switch (info.type) {
    case IntrinsicType::kNumber:
      if (IsContains(f.op)) {
        return Invalid(
            fmt::format("{}.operator: operator \"{}\" does not apply to numeric key \"{}\"", field,
                        op, f.key.text));
      }
      break;
    case IntrinsicType::kString:
    case IntrinsicType::kId:
      if (IsOrdering(f.op)) {
        return Invalid(
            fmt::format("{}.operator: operator \"{}\" does not apply to string key \"{}\"", field,
                        op, f.key.text));
      }
      break;
    case IntrinsicType::kKind:
    case IntrinsicType::kStatus:
      // Kinds and status codes are names: ordering them or searching inside them means nothing.
      if (IsOrdering(f.op) || IsContains(f.op)) {
        return Invalid(
            fmt::format("{}.operator: operator \"{}\" does not apply to enum key \"{}\"", field,
                        op, f.key.text));
      }
      break;
  }
  return absl::OkStatus();
}

// Operand types that every key requires of an operator.
absl::Status CheckOperandForOperator(Operator op, const Scalar& s, std::string_view path) {
  if (IsOrdering(op) && !IsNumber(s)) {
    return Invalid(fmt::format("{}: operator \"{}\" needs a number, got {}", path,
                               OperatorName(op), TypeName(s)));
  }
  if (IsContains(op) && !std::holds_alternative<std::string>(s)) {
    return Invalid(fmt::format("{}: operator \"{}\" needs a string, got {}", path,
                               OperatorName(op), TypeName(s)));
  }
  return absl::OkStatus();
}

// Maps a kind or status operand (name in any case, OTLP enum name, or number) to its canonical
// name, so matching compares names only.
absl::Status NormaliseEnum(Scalar& s, std::span<const std::string_view> names,
                           std::string_view otlp_prefix, std::string_view what,
                           std::string_view path) {
  if (const double* d = std::get_if<double>(&s)) {
    // JSON may spell an enum number as 2.0.
    if (!(std::trunc(*d) == *d && std::fabs(*d) < 1e9)) {
      return Invalid(fmt::format("{}: {} must be a whole number, got {}", path, what, *d));
    }
    s = static_cast<int64_t>(*d);
  }
  if (const int64_t* n = std::get_if<int64_t>(&s)) {
    if (*n < 0 || *n >= static_cast<int64_t>(names.size())) {
      return Invalid(fmt::format("{}: {} {} is out of range (expected 0 to {})", path, what, *n,
                                 names.size() - 1));
    }
    s = std::string(names[static_cast<size_t>(*n)]);
    return absl::OkStatus();
  }
  if (const std::string* text = std::get_if<std::string>(&s)) {
    std::string lower = Lower(*text);
    std::string upper = Upper(*text);
    for (std::string_view name : names) {
      if (lower == Lower(name) || upper == fmt::format("{}{}", otlp_prefix, Upper(name))) {
        s = std::string(name);
        return absl::OkStatus();
      }
    }
    return Invalid(fmt::format("{}: unknown {} \"{}\" (expected one of {})", path, what, *text,
                               fmt::join(names.begin(), names.end(), ", ")));
  }
  return Invalid(fmt::format("{}: {} needs a name or a number, got {}", path, what, TypeName(s)));
}

// Operand types and normal forms that an intrinsic key requires.
absl::Status CheckIntrinsicOperand(const Key& key, Scalar& s, std::string_view path) {
  const IntrinsicInfo& info = InfoOf(key.intrinsic);
  switch (info.type) {
    case IntrinsicType::kNumber:
      if (!IsNumber(s)) {
        return Invalid(
            fmt::format("{}: key \"{}\" needs a number, got {}", path, key.text, TypeName(s)));
      }
      return absl::OkStatus();
    case IntrinsicType::kString:
      if (!std::holds_alternative<std::string>(s)) {
        return Invalid(
            fmt::format("{}: key \"{}\" needs a string, got {}", path, key.text, TypeName(s)));
      }
      return absl::OkStatus();
    case IntrinsicType::kId: {
      std::string* text = std::get_if<std::string>(&s);
      if (text == nullptr) {
        return Invalid(fmt::format("{}: key \"{}\" needs a hex string, got {}", path, key.text,
                                   TypeName(s)));
      }
      // Any length is fine (contains on a partial id is useful; "" is a root's parent), but
      // only hex digits: anything else could never match and is surely a mistake.
      for (char c : *text) {
        if (!std::isxdigit(static_cast<unsigned char>(c))) {
          return Invalid(
              fmt::format("{}: key \"{}\" needs hex, got \"{}\"", path, key.text, *text));
        }
      }
      *text = Lower(*text);
      return absl::OkStatus();
    }
    case IntrinsicType::kKind:
      return NormaliseEnum(s, kSpanKindNames, "SPAN_KIND_", "span kind", path);
    case IntrinsicType::kStatus:
      return NormaliseEnum(s, kStatusCodeNames, "STATUS_CODE_", "status code", path);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateFilter(Filter& filter, std::string_view field) {
  if (absl::Status s = CheckArity(filter, field); !s.ok()) return s;
  const bool intrinsic = filter.key.level == KeyLevel::kIntrinsic;
  if (intrinsic) {
    if (absl::Status s = CheckIntrinsicOperator(filter, field); !s.ok()) return s;
  }
  auto check = [&](Scalar& operand, const std::string& path) -> absl::Status {
    if (absl::Status s = CheckOperandForOperator(filter.op, operand, path); !s.ok()) return s;
    if (intrinsic) return CheckIntrinsicOperand(filter.key, operand, path);
    return absl::OkStatus();
  };
  if (filter.value.has_value()) {
    if (absl::Status s = check(*filter.value, fmt::format("{}.value", field)); !s.ok()) return s;
  }
  for (size_t i = 0; i < filter.values.size(); ++i) {
    if (absl::Status s = check(filter.values[i], fmt::format("{}.value[{}]", field, i)); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace teletrace::query
