#include "storage/elasticsearch/search_query.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <iterator>
#include <variant>
#include <vector>

#include "common/ids.h"
#include "fmt/format.h"
#include "query/engine.h"

namespace teletrace::storage::elasticsearch {
namespace {

using json = nlohmann::json;

constexpr char kSeparator = '\x1f';
constexpr double kTwoTo63 = 9223372036854775808.0;

std::optional<char> LevelLetter(query::KeyLevel level) {
  switch (level) {
    case query::KeyLevel::kResource:
      return 'r';
    case query::KeyLevel::kScope:
      return 'c';
    case query::KeyLevel::kSpan:
      return 's';
    case query::KeyLevel::kEvent:
      return 'e';
    case query::KeyLevel::kLink:
      return 'l';
    case query::KeyLevel::kIntrinsic:
      break;
  }
  return std::nullopt;
}

// Equal numbers (query/values.h CompareNumbers == 0) get equal texts: integral doubles within the
// int64 range print as that integer, other doubles in their shortest round-trip form. NaN equals
// nothing and gets none.
std::optional<std::string> NumberText(bool is_int, int64_t i, double d) {
  if (is_int) return std::to_string(i);
  if (std::isnan(d)) return std::nullopt;
  if (d == std::trunc(d) && d >= -kTwoTo63 && d < kTwoTo63) {
    return std::to_string(static_cast<int64_t>(d));
  }
  return fmt::format("{}", d);
}

std::optional<std::string> ValueText(const model::AnyValue& v) {
  if (const auto* s = std::get_if<std::string>(&v.value)) return "s" + *s;
  if (const bool* b = std::get_if<bool>(&v.value)) return std::string(*b ? "btrue" : "bfalse");
  if (const int64_t* i = std::get_if<int64_t>(&v.value)) return "n" + *NumberText(true, *i, 0);
  if (const double* d = std::get_if<double>(&v.value)) {
    std::optional<std::string> text = NumberText(false, 0, *d);
    if (text) return "n" + *text;
  }
  return std::nullopt;
}

std::optional<std::string> OperandText(const query::Scalar& operand) {
  return std::visit([](const auto& v) { return ValueText(model::AnyValue(v)); }, operand);
}

// The operands of an equals or in filter; nullopt for an equals without one.
std::optional<std::vector<query::Scalar>> EqualityOperands(const query::Filter& f) {
  if (f.op != query::Operator::kEquals) return f.values;
  if (!f.value) return std::nullopt;
  return std::vector<query::Scalar>{*f.value};
}

void AddList(char level, const model::KeyValueList& attributes, std::set<std::string>* keys,
             std::set<std::string>* values) {
  for (const model::KeyValue& kv : attributes) {
    std::string key = level + kv.key;
    auto add_value = [&](const model::AnyValue& v) {
      std::optional<std::string> text = ValueText(v);
      if (text && key.size() + 1 + text->size() <= kMaxIndexedTermBytes) {
        values->insert(key + kSeparator + *text);
      }
    };
    if (const auto* array = std::get_if<model::ArrayValue>(&kv.value.value)) {
      for (const model::AnyValue& element : *array) add_value(element);
    } else {
      add_value(kv.value);
    }
    if (key.size() <= kMaxIndexedTermBytes) keys->insert(std::move(key));
  }
}

// The operand's numeric value, when the range clauses below may use it.
std::optional<double> NonNegativeBound(const std::optional<query::Scalar>& operand) {
  if (!operand) return std::nullopt;
  double d;
  if (const int64_t* i = std::get_if<int64_t>(&*operand)) {
    d = static_cast<double>(*i);
  } else if (const double* x = std::get_if<double>(&*operand)) {
    d = *x;
  } else {
    return std::nullopt;
  }
  if (!std::isfinite(d) || d < 0) return std::nullopt;
  return d;
}

// A time field (start, duration) against a range operator. The matcher compares these intrinsics
// as int64 (query/values.cc), so values of 2^63 and more count as negative there: a lower bound
// X >= 0 admits only [X, 2^63), an upper bound also admits [2^63, 2^64). Bounds are widened to whole
// numbers (and a margin for the int64-to-double rounding); the matcher decides the edges.
std::optional<json> TimeRangeClause(const char* field, query::Operator op,
                                    const std::optional<query::Scalar>& operand) {
  std::optional<double> bound = NonNegativeBound(operand);
  if (!bound) return std::nullopt;
  const double margin = 1024;
  if (op == query::Operator::kGt || op == query::Operator::kGte) {
    const double low = std::floor(*bound) - margin;
    if (low >= kTwoTo63) return json{{"match_none", json::object()}};
    const uint64_t from = low <= 0 ? 0 : static_cast<uint64_t>(low);
    return json{{"range", {{field, {{"gte", Ordered(from)}, {"lt", Ordered(uint64_t{1} << 63)}}}}}};
  }
  const double high = std::ceil(*bound) + margin;
  if (high >= kTwoTo63) return std::nullopt;  // every value may match
  json below = {{"range", {{field, {{"lte", Ordered(static_cast<uint64_t>(high))}}}}}};
  json wrapped = {{"range", {{field, {{"gte", Ordered(uint64_t{1} << 63)}}}}}};
  return json{{"bool", {{"should", json::array({std::move(below), std::move(wrapped)})},
                         {"minimum_should_match", 1}}}};
}

// Terms for equals/in on an attribute: the typed value terms of each operand.
std::optional<json> ValueTermsClause(char level, const query::Filter& f) {
  std::optional<std::vector<query::Scalar>> operands = EqualityOperands(f);
  if (!operands) return std::nullopt;
  json terms = json::array();
  for (const query::Scalar& operand : *operands) {
    std::optional<std::string> text = OperandText(operand);
    if (!text) continue;  // NaN: equals nothing
    std::string term = level + f.key.name + kSeparator + *text;
    if (term.size() > kMaxIndexedTermBytes) return std::nullopt;
    terms.push_back(std::move(term));
  }
  if (terms.empty()) return json{{"match_none", json::object()}};
  return json{{"terms", {{"attr_values", std::move(terms)}}}};
}

// Terms for equals/in on a keyword field holding the intrinsic's string form.
std::optional<json> KeywordClause(const char* field, const query::Filter& f) {
  std::optional<std::vector<query::Scalar>> operands = EqualityOperands(f);
  if (!operands) return std::nullopt;
  json terms = json::array();
  for (const query::Scalar& operand : *operands) {
    const auto* s = std::get_if<std::string>(&operand);
    if (s == nullptr) continue;  // a string field equals no number or bool
    if (s->size() > kMaxIndexedTermBytes) return std::nullopt;
    terms.push_back(*s);
  }
  if (terms.empty()) return json{{"match_none", json::object()}};
  return json{{"terms", {{field, std::move(terms)}}}};
}

}  // namespace

void AddAttributeTerms(const model::StoredSpan& span, std::set<std::string>* keys,
                       std::set<std::string>* values) {
  if (span.resource != nullptr) AddList('r', span.resource->attributes, keys, values);
  if (span.scope != nullptr) AddList('c', span.scope->attributes, keys, values);
  AddList('s', span.span.attributes, keys, values);
  for (const model::Event& e : span.span.events) AddList('e', e.attributes, keys, values);
  for (const model::Link& l : span.span.links) AddList('l', l.attributes, keys, values);
}

std::optional<json> SupersetClause(const query::Filter& f) {
  const query::Operator op = f.op;
  const bool equality = op == query::Operator::kEquals || op == query::Operator::kIn;
  const bool range = op == query::Operator::kGt || op == query::Operator::kGte ||
                     op == query::Operator::kLt || op == query::Operator::kLte;
  if (f.key.level == query::KeyLevel::kIntrinsic) {
    switch (f.key.intrinsic) {
      case query::Intrinsic::kTraceId:
        return equality ? KeywordClause("trace_id", f) : std::nullopt;
      case query::Intrinsic::kName:
        return equality ? KeywordClause("name", f) : std::nullopt;
      case query::Intrinsic::kStartTime:
        return range ? TimeRangeClause("start", op, f.value) : std::nullopt;
      case query::Intrinsic::kDuration:
        return range ? TimeRangeClause("duration", op, f.value) : std::nullopt;
      default:
        return std::nullopt;
    }
  }
  std::optional<char> level = LevelLetter(f.key.level);
  if (!level) return std::nullopt;
  if (op == query::Operator::kExists) {
    std::string key = *level + f.key.name;
    if (key.size() > kMaxIndexedTermBytes) return std::nullopt;
    return json{{"term", {{"attr_keys", std::move(key)}}}};
  }
  if (equality) return ValueTermsClause(*level, f);
  return std::nullopt;
}

namespace {

// Span attributes whose tag values the UI's search page asks on every load (FacetsSidebar).
constexpr std::string_view kFacetKeys[] = {"http.request.method", "http.method", "http.route",
                                           "http.response.status_code", "http.status_code"};

// The facet keys as query keys, built once: AddFacetTerms runs for every span written.
const std::vector<query::Key>& FacetKeys() {
  static const std::vector<query::Key>* keys = [] {
    auto* out = new std::vector<query::Key>();
    for (std::string_view name : kFacetKeys) {
      query::Key& key = out->emplace_back();
      key.level = query::KeyLevel::kSpan;
      key.name = std::string(name);
    }
    return out;
  }();
  return *keys;
}

}  // namespace

bool IsFacetKey(const query::Key& key) {
  return key.level == query::KeyLevel::kSpan &&
         std::find(std::begin(kFacetKeys), std::end(kFacetKeys), key.name) != std::end(kFacetKeys);
}

void AddFacetTerms(const model::StoredSpan& span, std::vector<std::string>* terms) {
  for (const query::Key& key : FacetKeys()) {
    query::TagValuesCollector::ForEachCountedValue(key, span, [&](const query::TagValue& v) {
      std::string term = key.name + "=";
      if (const auto* s = std::get_if<std::string>(&v)) {
        term += s->size() <= kMaxIndexedTermBytes ? "s" + *s : "!";
      } else if (const auto* i = std::get_if<int64_t>(&v)) {
        term += fmt::format("i{}", *i);
      } else if (const auto* d = std::get_if<double>(&v)) {
        term += fmt::format("d{}", *d);  // the shortest text that reads back the same
      } else {
        term += std::get<bool>(v) ? "btrue" : "bfalse";
      }
      terms->push_back(std::move(term));
    });
  }
}

absl::StatusOr<std::optional<query::TagValue>> ReadFacetTerm(const query::Key& key,
                                                             std::string_view term) {
  auto bad = [&] {
    return absl::InternalError(fmt::format("elasticsearch: malformed facet term for {}: {}",
                                           key.name, term.substr(0, 64)));
  };
  if (term.size() < key.name.size() + 2 || term.substr(0, key.name.size()) != key.name ||
      term[key.name.size()] != '=') {
    return bad();
  }
  const char type = term[key.name.size() + 1];
  const std::string_view text = term.substr(key.name.size() + 2);
  switch (type) {
    case '!':
      return std::nullopt;
    case 's':
      if (text.find(kReplacementCharacter) != std::string_view::npos) return std::nullopt;
      return query::TagValue(std::string(text));
    case 'b':
      if (text == "true" || text == "false") return query::TagValue(text == "true");
      return bad();
    case 'i': {
      int64_t i = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
      if (ec != std::errc() || end != text.data() + text.size()) return bad();
      return query::TagValue(i);
    }
    case 'd': {
      double d = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
      if (ec != std::errc() || end != text.data() + text.size()) return bad();
      return query::TagValue(d);
    }
    default:
      return bad();
  }
}

std::string FacetTermsPattern(const query::Key& key) {
  std::string pattern;
  for (char c : key.name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) pattern += '\\';
    pattern += c;
  }
  return pattern + "=.*";
}

json StartRangeClause(const query::TimeRange& range) {
  return {{"range",
           {{"start", {{"gte", Ordered(range.start_unix_nano)},
                       {"lte", Ordered(range.end_unix_nano)}}}}}};
}

namespace {

// Whether the indexed `service` field (the resource's last service.name when it is a string, else
// "") decides `operand` exactly: not "" (which also stands for "no string service.name") and
// without U+FFFD (which also stands for invalid UTF-8 in the indexed copy).
bool ServiceOperand(const query::Scalar& operand) {
  const auto* s = std::get_if<std::string>(&operand);
  return s == nullptr || (!s->empty() && s->find(kReplacementCharacter) == std::string::npos);
}

// Whether the indexed `name` field decides `operand` exactly: a name with invalid UTF-8 is indexed
// with U+FFFD, so an operand holding U+FFFD could equal such a copy and not the name. ("" is a name
// like any other; a name too long to index cannot equal an operand short enough to be a term.)
bool NameOperand(const query::Scalar& operand) {
  const auto* s = std::get_if<std::string>(&operand);
  return s == nullptr || s->find(kReplacementCharacter) == std::string::npos;
}

// equals, in, not_equals and not_in on a keyword field holding one value per span, or nullopt for
// another operator or an operand `operand_ok` refuses.
std::optional<json> KeywordSetClause(const char* field, const query::Filter& f,
                                     bool (*operand_ok)(const query::Scalar&)) {
  const bool negated = f.op == query::Operator::kNotEquals || f.op == query::Operator::kNotIn;
  query::Filter positive = f;
  if (f.op == query::Operator::kNotEquals) positive.op = query::Operator::kEquals;
  if (f.op == query::Operator::kNotIn) positive.op = query::Operator::kIn;
  if (positive.op != query::Operator::kEquals && positive.op != query::Operator::kIn) {
    return std::nullopt;
  }
  if (positive.value && !operand_ok(*positive.value)) return std::nullopt;
  for (const query::Scalar& v : positive.values) {
    if (!operand_ok(v)) return std::nullopt;
  }
  std::optional<json> clause = KeywordClause(field, positive);
  if (!clause || !negated) return clause;
  return json{{"bool", {{"must_not", json::array({std::move(*clause)})}}}};
}

}  // namespace

std::optional<json> ExactClause(const query::Filter& f) {
  const query::Operator op = f.op;
  // The `service` field indexes service.name as model::ServiceName does: "" when the resource has
  // no string service.name.
  if (query::IsServiceNameKey(f.key)) return KeywordSetClause("service", f, ServiceOperand);
  if (f.key.level != query::KeyLevel::kIntrinsic) return std::nullopt;
  switch (f.key.intrinsic) {
    case query::Intrinsic::kTraceId:
      return op == query::Operator::kEquals || op == query::Operator::kIn
                 ? KeywordClause("trace_id", f)
                 : std::nullopt;
    case query::Intrinsic::kStatusCode:
    case query::Intrinsic::kKind:
      // Operands arrive as the canonical names (query/filter_validation.cc), as indexed.
      return KeywordSetClause(f.key.intrinsic == query::Intrinsic::kKind ? "kind" : "status", f,
                              [](const query::Scalar&) { return true; });
    case query::Intrinsic::kName:
      return KeywordSetClause("name", f, NameOperand);
    case query::Intrinsic::kDuration: {
      // The matcher compares the duration as int64 (query::SpanIntrinsicValue), which `dur` holds.
      const int64_t* bound = f.value ? std::get_if<int64_t>(&*f.value) : nullptr;
      if (bound == nullptr) return std::nullopt;
      const char* relation = op == query::Operator::kGt    ? "gt"
                             : op == query::Operator::kGte ? "gte"
                             : op == query::Operator::kLt  ? "lt"
                             : op == query::Operator::kLte ? "lte"
                                                           : nullptr;
      if (relation != nullptr) return json{{"range", {{"dur", {{relation, *bound}}}}}};
      json term = {{"term", {{"dur", *bound}}}};
      if (op == query::Operator::kEquals) return term;
      if (op == query::Operator::kNotEquals) {
        return json{{"bool", {{"must_not", json::array({std::move(term)})}}}};
      }
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

}  // namespace teletrace::storage::elasticsearch
