#include "storage/clickhouse/query_sql.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "absl/status/status.h"
#include "common/ids.h"
#include "fmt/format.h"
#include "query/duration_sketch.h"
#include "query/intrinsics.h"
#include "storage/clickhouse/span_rows.h"
#include "storage/clickhouse/sql_literal.h"

namespace teletrace::storage::clickhouse {
namespace {

using query::Filter;
using query::Intrinsic;
using query::Key;
using query::KeyLevel;
using query::Operator;
using query::Scalar;

constexpr uint64_t kNanosPerHour = uint64_t{3600} * 1000000000;
constexpr uint64_t kNanosPerDay = uint64_t{86400} * 1000000000;
// Days since 1970 of 2100-01-01: Date conditions are only written for days every ClickHouse
// version represents.
constexpr uint64_t kMaxDateDay = 47482;

std::string Or(const std::vector<std::string>& parts) {
  std::vector<std::string> kept;
  for (const std::string& p : parts) {
    if (p == "1") return "1";
    if (p != "0") kept.push_back(p);
  }
  if (kept.empty()) return "0";
  if (kept.size() == 1) return kept[0];
  return fmt::format("({})", fmt::join(kept, " OR "));
}

// The operands a positive operator compares against (one, or the list of in).
std::vector<Scalar> Operands(const Filter& f) {
  if (f.op == Operator::kIn || f.op == Operator::kNotIn) return f.values;
  if (f.value.has_value()) return {*f.value};
  return {};
}

const char* ComparisonSymbol(Operator op) {
  switch (op) {
    case Operator::kGt:
      return ">";
    case Operator::kGte:
      return ">=";
    case Operator::kLt:
      return "<";
    case Operator::kLte:
      return "<=";
    default:
      return "=";
  }
}

// `int_expr <op> operand` for an Int64 expression, exact for double operands: the double is
// replaced by the integer bound that selects the same integers (or by a constant).
std::string IntComparison(const std::string& int_expr, Operator op, const Scalar& operand) {
  if (const int64_t* i = std::get_if<int64_t>(&operand)) {
    return fmt::format("{} {} {}", int_expr, ComparisonSymbol(op), SqlInt(*i));
  }
  const double* dp = std::get_if<double>(&operand);
  if (dp == nullptr) return "0";  // strings and bools never equal or order numbers
  const double d = *dp;
  if (std::isnan(d)) return "0";
  constexpr double kTwo63 = 9223372036854775808.0;
  const bool above = d >= kTwo63;   // every int64 is smaller
  const bool below = d < -kTwo63;   // every int64 is larger
  switch (op) {
    case Operator::kEquals:
    case Operator::kIn:
      if (above || below || std::trunc(d) != d) return "0";
      return fmt::format("{} = {}", int_expr, SqlInt(static_cast<int64_t>(d)));
    case Operator::kGt:  // x > d  <=>  x > floor(d)
      if (above) return "0";
      if (below) return "1";
      return fmt::format("{} > {}", int_expr, SqlInt(static_cast<int64_t>(std::floor(d))));
    case Operator::kGte:  // x >= d  <=>  x >= ceil(d)
      if (above) return "0";
      if (below) return "1";
      return fmt::format("{} >= {}", int_expr, SqlInt(static_cast<int64_t>(std::ceil(d))));
    case Operator::kLt:  // x < d  <=>  x < ceil(d)
      if (above) return "1";
      if (below) return "0";
      return fmt::format("{} < {}", int_expr, SqlInt(static_cast<int64_t>(std::ceil(d))));
    case Operator::kLte:  // x <= d  <=>  x <= floor(d)
      if (above) return "1";
      if (below) return "0";
      return fmt::format("{} <= {}", int_expr, SqlInt(static_cast<int64_t>(std::floor(d))));
    default:
      return "0";
  }
}

// `double_expr <op> operand` for a Float64 expression; ClickHouse compares Float64 with integer
// literals exactly, and SqlDouble carries a double's exact bits.
std::string DoubleComparison(const std::string& double_expr, Operator op, const Scalar& operand) {
  if (const int64_t* i = std::get_if<int64_t>(&operand)) {
    return fmt::format("{} {} {}", double_expr, ComparisonSymbol(op), SqlInt(*i));
  }
  if (const double* d = std::get_if<double>(&operand)) {
    if (std::isnan(*d)) return "0";
    return fmt::format("{} {} {}", double_expr, ComparisonSymbol(op), SqlDouble(*d));
  }
  return "0";
}

}  // namespace

std::string AttrKeyEntry(const Key& key) {
  char level = 'a';
  switch (key.level) {
    case KeyLevel::kResource:
      level = 'r';
      break;
    case KeyLevel::kScope:
      level = 's';
      break;
    case KeyLevel::kEvent:
      level = 'e';
      break;
    case KeyLevel::kLink:
      level = 'l';
      break;
    case KeyLevel::kSpan:
    case KeyLevel::kIntrinsic:
      break;
  }
  return std::string(1, level) + key.name;
}

KeyTypes TypesOf(const KeyTypesMap& types, const Key& key) {
  auto it = types.find(AttrKeyEntry(key));
  return it == types.end() ? KeyTypes{} : it->second;
}

namespace {

// The attr_keys entry of an attribute key as a literal.
std::string LevelKey(const Key& key) { return SqlString(AttrKeyEntry(key)); }

// attr_types codes (migrations/001_initial.sql): a scalar of the type, or an array element of it.
struct TypedColumn {
  const char* types;   // scalar and array-element codes
  const char* column;  // where the value is
};
constexpr TypedColumn kStrings{"0, 16", "attr_str"};
constexpr TypedColumn kInts{"1, 17", "attr_int"};
constexpr TypedColumn kDoubles{"2, 18", "attr_dbl"};
constexpr TypedColumn kBools{"3, 19", "attr_int"};

// True when some entry under `key` of the column's type satisfies `cond` on its value `x_v`. The
// key's entries are selected by an expression that depends on the key and type alone, which
// ClickHouse computes once per statement however many filters name the key (a range's two bounds:
// 15% faster at 1M spans).
std::string AnyTyped(const std::string& key, const TypedColumn& typed, const std::string& cond) {
  return fmt::format(
      "arrayExists(x_v -> {}, arrayFilter((x_v, x_k, x_t) -> x_k = {} AND x_t IN ({}), {}, "
      "attr_keys, attr_types))",
      cond, key, typed.types, typed.column);
}

// One operand of a positive value operator (equals/in, contains, ordering) against an attribute.
// Only the value columns of the types the key may have are read.
std::string AttributeOperand(const std::string& key, KeyTypes types, Operator op,
                             const Scalar& operand) {
  std::vector<std::string> parts;
  if (op == Operator::kContains) {
    if (const auto* s = std::get_if<std::string>(&operand); s != nullptr && types.Any(0)) {
      parts.push_back(
          AnyTyped(key, kStrings, fmt::format("position(x_v, {}) > 0", SqlString(*s))));
    }
    return Or(parts);
  }
  const bool ordering = op == Operator::kGt || op == Operator::kGte || op == Operator::kLt ||
                        op == Operator::kLte;
  if (const auto* s = std::get_if<std::string>(&operand)) {
    if (!ordering && types.Any(0)) {
      parts.push_back(AnyTyped(key, kStrings, fmt::format("x_v = {}", SqlString(*s))));
    }
    return Or(parts);
  }
  if (const bool* b = std::get_if<bool>(&operand)) {
    if (!ordering && types.Any(3)) {
      parts.push_back(AnyTyped(key, kBools, fmt::format("x_v = {}", *b ? 1 : 0)));
    }
    return Or(parts);
  }
  const Operator cmp = ordering ? op : Operator::kEquals;
  std::string int_cond = IntComparison("x_v", cmp, operand);
  if (int_cond != "0" && types.Any(1)) parts.push_back(AnyTyped(key, kInts, int_cond));
  std::string dbl_cond = DoubleComparison("x_v", cmp, operand);
  if (dbl_cond != "0" && types.Any(2)) parts.push_back(AnyTyped(key, kDoubles, dbl_cond));
  return Or(parts);
}

std::string AttributeCondition(const Filter& f, Operator op, const KeyTypesMap& types) {
  const std::string key = LevelKey(f.key);
  if (op == Operator::kExists) return fmt::format("has(attr_keys, {})", key);
  const KeyTypes key_types = TypesOf(types, f.key);
  std::vector<std::string> parts;
  for (const Scalar& operand : Operands(f)) {
    parts.push_back(AttributeOperand(key, key_types, op, operand));
  }
  return Or(parts);
}

// String-valued intrinsics: the API form as an SQL expression.
std::string IdHex(const std::string& column) { return fmt::format("lower(hex({}))", column); }

std::string StringCondition(const std::string& expr, Operator op, const Filter& f) {
  std::vector<std::string> parts;
  for (const Scalar& operand : Operands(f)) {
    const auto* s = std::get_if<std::string>(&operand);
    if (s == nullptr) continue;
    if (op == Operator::kContains) {
      parts.push_back(fmt::format("position({}, {}) > 0", expr, SqlString(*s)));
    } else {
      parts.push_back(fmt::format("{} = {}", expr, SqlString(*s)));
    }
  }
  return Or(parts);
}

// Kind and status are stored as their numbers; names outside the table read as the first name,
// as the engine's SpanIntrinsicValue does.
std::string EnumCondition(const std::string& column, const std::string_view* names, size_t count,
                          const Filter& f) {
  std::vector<std::string> parts;
  for (const Scalar& operand : Operands(f)) {
    const auto* s = std::get_if<std::string>(&operand);
    if (s == nullptr) continue;
    for (size_t i = 0; i < count; ++i) {
      if (*s != names[i]) continue;
      parts.push_back(i == 0 ? fmt::format("({c} = 0 OR {c} >= {n})", fmt::arg("c", column),
                                           fmt::arg("n", count))
                             : fmt::format("{} = {}", column, i));
    }
  }
  return Or(parts);
}

std::string NumberCondition(const std::string& int_expr, Operator op, const Filter& f) {
  std::vector<std::string> parts;
  for (const Scalar& operand : Operands(f)) parts.push_back(IntComparison(int_expr, op, operand));
  return Or(parts);
}

std::string NumberColumn(Intrinsic intrinsic) {
  switch (intrinsic) {
    case Intrinsic::kStartTime:
      return "start_time_unix_nano";
    case Intrinsic::kEndTime:
      return "end_time_unix_nano";
    case Intrinsic::kDuration:
      return "duration_nano";
    default:
      return "ingestion_time_unix_nano";
  }
}

std::string KindExpr() {
  return "transform(kind, [1, 2, 3, 4, 5], ['Internal', 'Server', 'Client', 'Producer', "
         "'Consumer'], 'Unspecified')";
}

std::string StatusExpr() {
  return "transform(status_code, [1, 2], ['Ok', 'Error'], 'Unset')";
}

// The API string form of a single-valued string/id intrinsic.
std::string StringIntrinsicExpr(Intrinsic intrinsic) {
  switch (intrinsic) {
    case Intrinsic::kTraceId:
      return IdHex("trace_id");
    case Intrinsic::kSpanId:
      return IdHex("span_id");
    case Intrinsic::kParentSpanId:
      return "if(parent_span_id = unhex('0000000000000000'), '', lower(hex(parent_span_id)))";
    case Intrinsic::kTraceState:
      return "trace_state";
    case Intrinsic::kName:
      return "name";
    case Intrinsic::kStatusMessage:
      return "status_message";
    case Intrinsic::kScopeName:
      return "scope_name";
    case Intrinsic::kScopeVersion:
      return "scope_version";
    case Intrinsic::kKind:
      return KindExpr();
    case Intrinsic::kStatusCode:
      return StatusExpr();
    default:
      return "''";
  }
}

std::string IntrinsicCondition(const Filter& f, Operator op) {
  const Intrinsic in = f.key.intrinsic;
  switch (in) {
    case Intrinsic::kEventName:
      if (op == Operator::kExists) return "notEmpty(event_names)";
      return fmt::format("arrayExists(x -> {}, event_names)", StringCondition("x", op, f));
    case Intrinsic::kLinkTraceId:
    case Intrinsic::kLinkSpanId: {
      const char* column = in == Intrinsic::kLinkTraceId ? "link_trace_ids" : "link_span_ids";
      if (op == Operator::kExists) return fmt::format("notEmpty({})", column);
      return fmt::format("arrayExists(x -> {}, {})", StringCondition(IdHex("x"), op, f), column);
    }
    case Intrinsic::kStartTime:
    case Intrinsic::kEndTime:
    case Intrinsic::kDuration:
    case Intrinsic::kIngestionTime:
      if (op == Operator::kExists) return "1";
      return NumberCondition(fmt::format("toInt64({})", NumberColumn(in)), op, f);
    case Intrinsic::kKind:
      if (op == Operator::kExists) return "1";
      return EnumCondition("kind", query::kSpanKindNames, std::size(query::kSpanKindNames), f);
    case Intrinsic::kStatusCode:
      if (op == Operator::kExists) return "1";
      return EnumCondition("status_code", query::kStatusCodeNames,
                           std::size(query::kStatusCodeNames), f);
    case Intrinsic::kTraceId:
      if (op == Operator::kExists) return "1";
      if (op == Operator::kEquals || op == Operator::kIn) {
        // Full ids compare as bytes, which the trace-id column can answer without hex().
        std::vector<std::string> parts;
        for (const Scalar& operand : Operands(f)) {
          const auto* s = std::get_if<std::string>(&operand);
          if (s == nullptr) continue;
          absl::StatusOr<TraceId> id = ParseTraceIdHex(*s);
          parts.push_back(id.ok() ? fmt::format("trace_id = {}", SqlBytes(IdBytes(*id)))
                                  : std::string("0"));
        }
        return Or(parts);
      }
      return StringCondition(StringIntrinsicExpr(in), op, f);
    default:
      if (op == Operator::kExists) return "1";
      return StringCondition(StringIntrinsicExpr(in), op, f);
  }
}

uint64_t Days(uint64_t unix_nano) { return unix_nano / kNanosPerDay; }

}  // namespace

std::string DayDate(uint64_t day) {
  // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
  int64_t z = static_cast<int64_t>(day) + 719468;
  int64_t era = z / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  return fmt::format("{:04}-{:02}-{:02}", y, m, d);
}

namespace {

std::string DateLiteral(uint64_t day) { return SqlString(DayDate(day)); }

}  // namespace

std::string RangeCondition(const query::TimeRange& range) {
  std::vector<std::string> parts;
  if (range.start_unix_nano > 0) {
    parts.push_back(fmt::format("start_hour >= {}", range.start_unix_nano / kNanosPerHour));
    if (Days(range.start_unix_nano) <= kMaxDateDay) {
      parts.push_back(
          fmt::format("start_date >= toDate({})", DateLiteral(Days(range.start_unix_nano))));
    }
    parts.push_back(fmt::format("start_time_unix_nano >= {}", SqlUInt(range.start_unix_nano)));
  }
  if (range.end_unix_nano < UINT64_MAX) {
    // start_hour is stored clamped to UInt32 (see span_rows.cc).
    uint64_t hour = std::min<uint64_t>(range.end_unix_nano / kNanosPerHour, UINT32_MAX);
    parts.push_back(fmt::format("start_hour <= {}", hour));
    if (Days(range.end_unix_nano) <= kMaxDateDay) {
      parts.push_back(
          fmt::format("start_date <= toDate({})", DateLiteral(Days(range.end_unix_nano))));
    }
    parts.push_back(fmt::format("start_time_unix_nano <= {}", SqlUInt(range.end_unix_nano)));
  }
  if (parts.empty()) return "1";
  return fmt::format("{}", fmt::join(parts, " AND "));
}

std::string FilterCondition(const Filter& filter, const KeyTypesMap& types) {
  const Operator op = Positive(filter.op);
  std::string positive = filter.key.level == KeyLevel::kIntrinsic
                             ? IntrinsicCondition(filter, op)
                             : AttributeCondition(filter, op, types);
  if (!IsNegative(filter.op)) return positive;
  if (positive == "1") return "0";
  if (positive == "0") return "1";
  return fmt::format("NOT ({})", positive);
}

// String equality implies the value is among the span's attribute strings: one array column
// against the five a filter's exact condition reads (and evaluates through a lambda).
std::string PrewhereCondition(const Filter& f) {
  if (f.key.level == KeyLevel::kIntrinsic ||
      (f.op != Operator::kEquals && f.op != Operator::kIn)) {
    return "";
  }
  std::vector<std::string> parts;
  for (const Scalar& operand : Operands(f)) {
    const auto* s = std::get_if<std::string>(&operand);
    if (s == nullptr) return "";  // a number or bool matches in another column
    parts.push_back(fmt::format("has(attr_str, {})", SqlString(*s)));
  }
  return parts.empty() ? "" : Or(parts);
}

namespace {

// The conditions of the spans in `range` that `filters` match: `implied` the filters'
// PrewhereConditions (cheap, and what a skip index answers), `exact` the range's and the filters'
// own.
struct Conditions {
  std::vector<std::string> implied, exact;
};

Conditions ConditionsOf(const std::optional<query::TimeRange>& range,
                        const std::vector<query::Filter>& filters, const KeyTypesMap& types) {
  Conditions c;
  if (range.has_value()) {
    std::string r = RangeCondition(*range);
    if (r != "1") c.exact.push_back(r);
  }
  for (const Filter& f : filters) {
    std::string p = PrewhereCondition(f);
    if (!p.empty()) c.implied.push_back(std::move(p));
    c.exact.push_back(FilterCondition(f, types));
  }
  return c;
}

}  // namespace

std::string WhereClause(const std::optional<query::TimeRange>& range,
                        const std::vector<query::Filter>& filters, const std::string& prewhere,
                        const KeyTypesMap& types) {
  Conditions c = ConditionsOf(range, filters, types);
  if (!prewhere.empty()) c.implied.insert(c.implied.begin(), prewhere);
  // Left to choose, ClickHouse 18.16 moves the range's start_date condition to PREWHERE, and
  // evaluates every condition of the WHERE on every row (no short-circuit).
  std::string out =
      c.implied.empty() ? "" : fmt::format("PREWHERE {} ", fmt::join(c.implied, " AND "));
  if (c.exact.empty()) return out + "WHERE 1";
  return fmt::format("{}WHERE {}", out, fmt::join(c.exact, " AND "));
}

namespace {

// The columns of the spans table but the wide `span`, which an INSERT names last, for
// SpansMatching's branches.
const std::string& FilterColumns() {
  static const std::string* columns = [] {
    const std::string& all = SpanInsertColumns();  // "(start_date, ..., span)"
    constexpr std::string_view kLast = ", span)";
    return new std::string(all.substr(1, all.size() - 1 - kLast.size()));
  }();
  return *columns;
}

// The filter's operands as string literals when it asks service.name to equal or be in non-empty
// strings (what the service_name column answers alone); empty otherwise.
std::vector<std::string> ServiceNamesOf(const Filter& f) {
  if (!query::IsServiceNameKey(f.key) || (f.op != Operator::kEquals && f.op != Operator::kIn)) {
    return {};
  }
  std::vector<std::string> names;
  for (const Scalar& operand : Operands(f)) {
    const auto* s = std::get_if<std::string>(&operand);
    if (s == nullptr || s->empty()) return {};  // '' and non-strings: the other branch's spans
    names.push_back(SqlString(*s));
  }
  return names;
}

}  // namespace

std::string WhereServiceNameEmpty(const std::optional<query::TimeRange>& range,
                                  const std::vector<Filter>& filters, const std::string& extra,
                                  const KeyTypesMap& types) {
  // Only service_name in PREWHERE: ClickHouse 18.16 reads every PREWHERE column of every granule
  // in range, and the granules holding a span with service_name '' are few or none. The implied
  // conditions go first in the WHERE instead.
  Conditions c = ConditionsOf(range, filters, types);
  std::vector<std::string> conditions = std::move(c.implied);
  conditions.insert(conditions.end(), c.exact.begin(), c.exact.end());
  if (!extra.empty()) conditions.push_back(extra);
  if (conditions.empty()) return "PREWHERE service_name = '' WHERE 1";
  return fmt::format("PREWHERE service_name = '' WHERE {}", fmt::join(conditions, " AND "));
}

namespace {

// SpansMatching, and with `service_key` also the column `service_values` (SpansWithServiceValues).
SpanSource SpansFrom(const std::string& table, const std::optional<query::TimeRange>& range,
                     const std::vector<Filter>& filters, const std::string& extra,
                     const KeyTypesMap& types, const query::Key* service_key) {
  std::vector<std::string> names;
  size_t split = 0;
  while (split < filters.size() && (names = ServiceNamesOf(filters[split])).empty()) ++split;
  const std::string and_extra = extra.empty() ? "" : " AND " + extra;
  if (names.empty() && service_key == nullptr) {
    return {table, WhereClause(range, filters, "", types) + and_extra};
  }
  std::vector<Filter> others = filters;
  std::string named_condition = "service_name != ''";
  if (!names.empty()) {
    others.erase(others.begin() + static_cast<ptrdiff_t>(split));
    named_condition = fmt::format("service_name IN ({})", fmt::join(names, ", "));
  }
  std::string named_columns = FilterColumns(), unnamed_columns = FilterColumns();
  if (service_key != nullptr) {
    named_columns += ", [concat('s', service_name)] AS service_values";
    unnamed_columns += fmt::format(", {} AS service_values",
                                   TaggedValuesExpr(*service_key, TypesOf(types, *service_key)));
  }
  const std::string named =
      fmt::format("SELECT {} FROM {} {}{}", named_columns, table,
                  WhereClause(range, others, named_condition, types), and_extra);
  const std::string unnamed = fmt::format("SELECT {} FROM {} {}", unnamed_columns, table,
                                          WhereServiceNameEmpty(range, filters, extra, types));
  return {fmt::format("({} UNION ALL {})", named, unnamed), "WHERE 1"};
}

}  // namespace

SpanSource SpansMatching(const std::string& table, const std::optional<query::TimeRange>& range,
                         const std::vector<Filter>& filters, const std::string& extra,
                         const KeyTypesMap& types) {
  return SpansFrom(table, range, filters, extra, types, nullptr);
}

SpanSource SpansWithServiceValues(const std::string& table,
                                  const std::optional<query::TimeRange>& range,
                                  const std::vector<Filter>& filters,
                                  const query::Key& service_key, const KeyTypesMap& types) {
  return SpansFrom(table, range, filters, "", types, &service_key);
}

namespace {

// The key's scalar values of one type, as an array: attr_types code `type` in `column`.
std::string ScalarsOf(const std::string& key, int type, const char* column,
                      const char* extra = "") {
  return fmt::format("arrayFilter((x, k, t) -> k = {} AND t = {}{}, {}, attr_keys, attr_types)",
                     key, type, extra, column);
}

std::string TaggedAttributeValues(const Key& key, KeyTypes types) {
  const std::string k = LevelKey(key);
  std::vector<std::string> parts;
  if (types.Scalar(0)) parts.push_back(fmt::format("arrayMap(x -> concat('s', x), {})",
                                                   ScalarsOf(k, 0, "attr_str")));
  if (types.Scalar(1)) {
    parts.push_back(fmt::format("arrayMap(x -> concat('i', reinterpretAsString(x)), {})",
                                ScalarsOf(k, 1, "attr_int")));
  }
  if (types.Scalar(2)) {
    parts.push_back(fmt::format(
        "arrayMap(x -> concat('d', reinterpretAsString(if(isNaN(x), nan, if(x = 0, 0., x)))), {})",
        ScalarsOf(k, 2, "attr_dbl")));
  }
  if (types.Scalar(3)) parts.push_back(fmt::format("arrayMap(x -> concat('b', toString(x)), {})",
                                                   ScalarsOf(k, 3, "attr_int")));
  if (parts.empty()) return "emptyArrayString()";
  if (parts.size() == 1) return parts[0];
  return fmt::format("arrayConcat({})", fmt::join(parts, ", "));
}

}  // namespace

std::string TaggedValuesExpr(const Key& key, KeyTypes types) {
  if (key.level != KeyLevel::kIntrinsic) return TaggedAttributeValues(key, types);
  switch (key.intrinsic) {
    case Intrinsic::kEventName:
      return "arrayMap(x -> concat('s', x), event_names)";
    case Intrinsic::kLinkTraceId:
      return "arrayMap(x -> concat('s', lower(hex(x))), link_trace_ids)";
    case Intrinsic::kLinkSpanId:
      return "arrayMap(x -> concat('s', lower(hex(x))), link_span_ids)";
    case Intrinsic::kStartTime:
    case Intrinsic::kEndTime:
    case Intrinsic::kDuration:
    case Intrinsic::kIngestionTime:
      return fmt::format("[concat('i', reinterpretAsString(toInt64({})))]",
                         NumberColumn(key.intrinsic));
    default:
      return fmt::format("[concat('s', {})]", StringIntrinsicExpr(key.intrinsic));
  }
}

std::optional<query::TagValue> DecodeTagged(std::string_view tagged) {
  if (tagged.empty()) return std::nullopt;
  std::string_view payload = tagged.substr(1);
  auto raw8 = [&]() -> std::optional<uint64_t> {
    if (payload.size() > 8) return std::nullopt;
    uint64_t bits = 0;
    for (size_t i = 0; i < payload.size(); ++i) {
      bits |= static_cast<uint64_t>(static_cast<uint8_t>(payload[i])) << (8 * i);
    }
    return bits;
  };
  switch (tagged[0]) {
    case 's':
      return query::TagValue(std::string(payload));
    case 'i': {
      std::optional<uint64_t> bits = raw8();
      if (!bits.has_value()) return std::nullopt;
      return query::TagValue(static_cast<int64_t>(*bits));
    }
    case 'd': {
      std::optional<uint64_t> bits = raw8();
      if (!bits.has_value()) return std::nullopt;
      double d = 0;
      uint64_t b = *bits;
      std::memcpy(&d, &b, sizeof(d));
      return query::TagValue(d);
    }
    case 'b':
      return query::TagValue(payload == "1");
    default:
      return std::nullopt;
  }
}

std::string TagKeyEntriesExpr() {
  return "arrayMap((k, t) -> concat(toString(t), ':', k), arrayFilter((k, t) -> t <= 6, "
         "attr_keys, attr_types), arrayFilter((t, k) -> t <= 6, attr_types, attr_keys))";
}

absl::StatusOr<query::TagInfo> DecodeTagKeyEntry(std::string_view entry) {
  auto bad = [&](std::string_view why) {
    return absl::DataLossError(fmt::format("clickhouse: tag keys: malformed entry \"{}\": {}",
                                           entry.substr(0, 200), why));
  };
  const size_t colon = entry.find(':');
  if (colon == std::string_view::npos) return bad("no ':' after the type");
  const std::string_view type_text = entry.substr(0, colon);
  unsigned type = 0;
  auto [end, ec] = std::from_chars(type_text.data(), type_text.data() + type_text.size(), type);
  if (type_text.empty() || ec != std::errc() || end != type_text.data() + type_text.size()) {
    return bad(fmt::format("type \"{}\" is not a number", type_text.substr(0, 20)));
  }
  if (type > static_cast<unsigned>(query::ValueType::kMap)) {
    return bad(fmt::format("type {} is not a value type (0 to {})", type,
                           static_cast<int>(query::ValueType::kMap)));
  }
  if (colon + 1 >= entry.size()) return bad("no level letter");
  std::string_view prefix;
  switch (entry[colon + 1]) {
    case 'r':
      prefix = "resource.attributes.";
      break;
    case 's':
      prefix = "scope.attributes.";
      break;
    case 'a':
      prefix = "span.attributes.";
      break;
    case 'e':
      prefix = "span.events.attributes.";
      break;
    case 'l':
      prefix = "span.links.attributes.";
      break;
    default:
      return bad(fmt::format("unknown level letter '{}'", entry[colon + 1]));
  }
  return query::TagInfo{fmt::format("{}{}", prefix, entry.substr(colon + 2)),
                        static_cast<query::ValueType>(type)};
}

std::string NumericValuesExpr(const Key& key, KeyTypes types) {
  if (key.level != KeyLevel::kIntrinsic) {
    const std::string k = LevelKey(key);
    const std::string ints = fmt::format("arrayMap(x -> toFloat64(x), {})",
                                         ScalarsOf(k, 1, "attr_int"));
    const std::string doubles = ScalarsOf(k, 2, "attr_dbl", " AND NOT isNaN(x)");
    if (types.Scalar(1) && types.Scalar(2)) {
      return fmt::format("arrayConcat({}, {})", ints, doubles);
    }
    if (types.Scalar(1)) return ints;
    if (types.Scalar(2)) return doubles;
    return "emptyArrayFloat64()";
  }
  switch (key.intrinsic) {
    case Intrinsic::kStartTime:
    case Intrinsic::kEndTime:
    case Intrinsic::kDuration:
    case Intrinsic::kIngestionTime:
      return fmt::format("[toFloat64(toInt64({}))]", NumberColumn(key.intrinsic));
    default:
      return "emptyArrayFloat64()";
  }
}

std::string KeyTypesSql(const std::string& tag_keys_table, const std::vector<Key>& keys,
                        const std::optional<query::TimeRange>& range) {
  std::vector<std::string> entries;
  for (const Key& key : keys) entries.push_back(LevelKey(key));
  std::vector<std::string> conditions = {fmt::format("attr_key IN ({})", fmt::join(entries, ", "))};
  if (range.has_value() && Days(range->start_unix_nano) <= kMaxDateDay) {
    conditions.push_back(
        fmt::format("start_date >= toDate({})", DateLiteral(Days(range->start_unix_nano))));
  }
  if (range.has_value() && Days(range->end_unix_nano) <= kMaxDateDay) {
    conditions.push_back(
        fmt::format("start_date <= toDate({})", DateLiteral(Days(range->end_unix_nano))));
  }
  return fmt::format("SELECT DISTINCT attr_key, attr_type FROM {} WHERE {}", tag_keys_table,
                     fmt::join(conditions, " AND "));
}

std::string DurationBucketExpr(const std::string& value_expr) {
  return fmt::format(
      "toUInt64(if({x} > 0, if({x} <= 1, 1, least(ceil(log({x}) / {g}) + 1, {last})), 0))",
      fmt::arg("x", value_expr), fmt::arg("g", SqlDouble(query::DurationSketch::LogGamma())),
      fmt::arg("last", query::DurationSketch::kMaxBuckets - 1));
}

std::string NearestRankExpr(const std::string& sorted_array_expr, double percentile) {
  // C++: rank = ceil(p / 100.0 * n), clamped to [1, n] (query/percentile.cc).
  return fmt::format(
      "arrayElement({a}, toUInt64(greatest(1., least(toFloat64(length({a})), "
      "ceil({p} / 100. * toFloat64(length({a})))))))",
      fmt::arg("a", sorted_array_expr), fmt::arg("p", SqlDouble(percentile)));
}

}  // namespace teletrace::storage::clickhouse
