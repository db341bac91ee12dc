#include "api/teletrace_v1/request_parser.h"

#include <cmath>
#include <limits>

#include "common/status_macros.h"
#include "fmt/format.h"
#include "query/parse.h"

namespace teletrace::api::v1 {
namespace {

using nlohmann::json;

absl::Status Invalid(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

std::string_view JsonTypeName(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "object";
    case json::value_t::array:
      return "array";
    case json::value_t::string:
      return "string";
    case json::value_t::boolean:
      return "bool";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "number";
    default:
      return "value";
  }
}

// A non-negative integer given as a JSON number or a decimal string (clients that cannot hold
// 64-bit integers send strings).
absl::StatusOr<uint64_t> ReadUint64(const json& j, std::string_view field) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer()) {
    int64_t v = j.get<int64_t>();
    if (v < 0) return Invalid(fmt::format("{}: must not be negative, got {}", field, v));
    return static_cast<uint64_t>(v);
  }
  if (j.is_number_float()) {
    double d = j.get<double>();
    if (d < 0 || d != std::floor(d) || d >= 1.8446744073709552e19) {
      return Invalid(fmt::format("{}: must be a non-negative integer, got {}", field, d));
    }
    return static_cast<uint64_t>(d);
  }
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    uint64_t v = 0;
    if (s.empty() || s.size() > 20) {
      return Invalid(fmt::format("{}: must be a non-negative integer, got \"{}\"", field, s));
    }
    for (char c : s) {
      if (c < '0' || c > '9' || v > (std::numeric_limits<uint64_t>::max() - (c - '0')) / 10) {
        return Invalid(fmt::format("{}: must be a non-negative integer, got \"{}\"", field, s));
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }
  return Invalid(fmt::format("{}: must be a non-negative integer, got {}", field, JsonTypeName(j)));
}

absl::StatusOr<query::Scalar> ReadScalar(const json& j, std::string_view field) {
  if (j.is_string()) return query::Scalar(j.get<std::string>());
  if (j.is_boolean()) return query::Scalar(j.get<bool>());
  if (j.is_number_integer()) return query::Scalar(j.get<int64_t>());
  if (j.is_number_unsigned()) {
    uint64_t v = j.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return query::Scalar(static_cast<double>(v));
    }
    return query::Scalar(static_cast<int64_t>(v));
  }
  if (j.is_number_float()) return query::Scalar(j.get<double>());
  return Invalid(
      fmt::format("{}: must be a string, number or bool, got {}", field, JsonTypeName(j)));
}

absl::StatusOr<query::Filter> ParseFilter(const json& j, size_t index) {
  std::string field = fmt::format("filters[{}]", index);
  if (!j.is_object()) return Invalid(fmt::format("{}: must be an object", field));
  auto kv = j.find("keyValueFilter");
  if (kv == j.end() || !kv->is_object()) {
    return Invalid(fmt::format("{}.keyValueFilter: required object is missing", field));
  }
  auto key = kv->find("key");
  if (key == kv->end() || !key->is_string()) {
    return Invalid(fmt::format("{}.key: required string is missing", field));
  }
  auto op = kv->find("operator");
  if (op == kv->end() || !op->is_string()) {
    return Invalid(fmt::format("{}.operator: required string is missing", field));
  }
  query::Filter filter;
  ASSIGN_OR_RETURN(filter.key, query::ParseKey(key->get<std::string>(), field));
  ASSIGN_OR_RETURN(filter.op, query::ParseOperator(op->get<std::string>(), field));
  auto value = kv->find("value");
  if (value != kv->end() && !value->is_null()) {
    std::string value_field = field + ".value";
    if (value->is_array()) {
      for (size_t i = 0; i < value->size(); ++i) {
        ASSIGN_OR_RETURN(query::Scalar s,
                         ReadScalar((*value)[i], fmt::format("{}[{}]", value_field, i)));
        filter.values.push_back(std::move(s));
      }
    } else {
      ASSIGN_OR_RETURN(filter.value, ReadScalar(*value, value_field));
    }
  }
  // in/not_in also accept a single scalar as a one-element list.
  if ((filter.op == query::Operator::kIn || filter.op == query::Operator::kNotIn) &&
      filter.value.has_value()) {
    filter.values.push_back(*std::move(filter.value));
    filter.value.reset();
  }
  RETURN_IF_ERROR(query::ValidateFilter(filter, field));
  return filter;
}

absl::StatusOr<size_t> ReadLimit(const json& body, const char* name, size_t max, size_t dflt) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return dflt;
  ASSIGN_OR_RETURN(uint64_t v, ReadUint64(*it, name));
  if (v == 0 || v > max) {
    return Invalid(fmt::format("{}: must be between 1 and {}, got {}", name, max, v));
  }
  return static_cast<size_t>(v);
}

absl::StatusOr<query::Key> ParseTagKey(std::string_view tag) {
  return query::ParseKey(tag, "tag");
}

}  // namespace

absl::StatusOr<json> ParseBody(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object();
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Invalid("request body: invalid JSON");
  if (!j.is_object()) {
    return Invalid(fmt::format("request body: must be a JSON object, got {}", JsonTypeName(j)));
  }
  return j;
}

absl::StatusOr<query::TimeRange> ParseTimeframe(const json& body, uint64_t now_unix_nano) {
  query::TimeRange range;
  auto tf = body.find("timeframe");
  if (tf == body.end() || tf->is_null()) return range;
  if (!tf->is_object()) return Invalid("timeframe: must be an object");
  auto start = tf->find("startTimeUnixNanoSec");
  if (start != tf->end() && !start->is_null()) {
    ASSIGN_OR_RETURN(range.start_unix_nano, ReadUint64(*start, "timeframe.startTimeUnixNanoSec"));
  }
  uint64_t end = 0;
  auto end_it = tf->find("endTimeUnixNanoSec");
  if (end_it != tf->end() && !end_it->is_null()) {
    ASSIGN_OR_RETURN(end, ReadUint64(*end_it, "timeframe.endTimeUnixNanoSec"));
  }
  range.end_unix_nano = end == 0 ? now_unix_nano : end;
  if (range.end_unix_nano < range.start_unix_nano) {
    return Invalid("endTime cannot be smaller than startTime");
  }
  return range;
}

absl::StatusOr<std::vector<query::Filter>> ParseFilters(const json& body) {
  std::vector<query::Filter> filters;
  auto it = body.find("filters");
  if (it == body.end() || it->is_null()) return filters;
  if (!it->is_array()) return Invalid("filters: must be an array");
  for (size_t i = 0; i < it->size(); ++i) {
    ASSIGN_OR_RETURN(query::Filter f, ParseFilter((*it)[i], i));
    filters.push_back(std::move(f));
  }
  return filters;
}

absl::StatusOr<query::SearchQuery> ParseSearchRequest(const json& body, uint64_t now_unix_nano) {
  query::SearchQuery q;
  ASSIGN_OR_RETURN(q.range, ParseTimeframe(body, now_unix_nano));
  ASSIGN_OR_RETURN(q.filters, ParseFilters(body));
  auto sort = body.find("sort");
  if (sort != body.end() && !sort->is_null()) {
    if (!sort->is_array()) return Invalid("sort: must be an array");
    if (sort->size() > 1) return Invalid("sort: at most one sort field is supported");
    if (sort->size() == 1) {
      const json& s = (*sort)[0];
      if (!s.is_object()) return Invalid("sort[0]: must be an object");
      auto field = s.find("field");
      if (field == s.end() || !field->is_string()) {
        return Invalid("sort[0].field: required string is missing");
      }
      const auto& name = field->get_ref<const std::string&>();
      if (name == "span.startTimeUnixNano") {
        q.sort.field = query::SortField::kStartTime;
      } else if (name == "externalFields.durationNano") {
        q.sort.field = query::SortField::kDuration;
      } else {
        return Invalid(fmt::format(
            "sort[0].field: cannot sort by \"{}\" (expected span.startTimeUnixNano or "
            "externalFields.durationNano)",
            name));
      }
      auto asc = s.find("ascending");
      if (asc != s.end() && !asc->is_null()) {
        if (!asc->is_boolean()) return Invalid("sort[0].ascending: must be a bool");
        q.sort.ascending = asc->get<bool>();
      }
    }
  }
  ASSIGN_OR_RETURN(q.page_size, ReadLimit(body, "pageSize", query::kMaxPageSize,
                                          query::kDefaultPageSize));
  auto meta = body.find("metadata");
  if (meta != body.end() && !meta->is_null()) {
    if (!meta->is_object()) return Invalid("metadata: must be an object");
    auto token = meta->find("nextToken");
    if (token != meta->end() && !token->is_null()) {
      if (!token->is_string()) return Invalid("metadata.nextToken: must be a string");
      if (!token->get_ref<const std::string&>().empty()) {
        ASSIGN_OR_RETURN(q.after, query::DecodeCursor(q.sort, token->get<std::string>(),
                                                      "metadata.nextToken"));
      }
    }
  }
  return q;
}

absl::StatusOr<query::TagValuesQuery> ParseTagValuesRequest(std::string_view tag, const json& body,
                                                            uint64_t now_unix_nano) {
  query::TagValuesQuery q;
  ASSIGN_OR_RETURN(q.key, ParseTagKey(tag));
  if (body.contains("timeframe")) {
    ASSIGN_OR_RETURN(q.range, ParseTimeframe(body, now_unix_nano));
  }
  ASSIGN_OR_RETURN(q.filters, ParseFilters(body));
  ASSIGN_OR_RETURN(size_t limit, ReadLimit(body, "limit", 100000, 0));
  q.limit = limit;
  ASSIGN_OR_RETURN(size_t budget_ms, ReadLimit(body, "timeBudgetMs", kMaxTimeBudgetMs, 0));
  if (budget_ms > 0) q.time_budget = std::chrono::milliseconds(budget_ms);
  return q;
}

namespace {

// The optional boolean "approximate" (false when absent or null).
absl::StatusOr<bool> ParseApproximate(const json& body) {
  auto it = body.find("approximate");
  if (it == body.end() || it->is_null()) return false;
  if (!it->is_boolean()) {
    return Invalid(fmt::format("approximate: must be a bool, got {}", JsonTypeName(*it)));
  }
  return it->get<bool>();
}

}  // namespace

absl::StatusOr<query::StatisticsQuery> ParseStatisticsRequest(std::string_view tag,
                                                              const json& body,
                                                              uint64_t now_unix_nano) {
  query::StatisticsQuery q;
  ASSIGN_OR_RETURN(q.key, ParseTagKey(tag));
  if (q.key.level == query::KeyLevel::kIntrinsic && !query::IsNumericIntrinsic(q.key)) {
    return Invalid(fmt::format("tag: \"{}\" is not numeric", q.key.text));
  }
  ASSIGN_OR_RETURN(q.range, ParseTimeframe(body, now_unix_nano));
  ASSIGN_OR_RETURN(q.filters, ParseFilters(body));
  auto wanted = body.find("desiredStatistics");
  if (wanted == body.end() || !wanted->is_array() || wanted->empty()) {
    return Invalid("desiredStatistics: required non-empty array is missing");
  }
  for (size_t i = 0; i < wanted->size(); ++i) {
    std::string field = fmt::format("desiredStatistics[{}]", i);
    if (!(*wanted)[i].is_string()) return Invalid(fmt::format("{}: must be a string", field));
    ASSIGN_OR_RETURN(query::Statistic s, query::ParseStatistic((*wanted)[i].get<std::string>(),
                                                               field));
    q.wanted.push_back(std::move(s));
  }
  ASSIGN_OR_RETURN(q.approximate, ParseApproximate(body));
  return q;
}

namespace {

// An aggregation's aggregationParameters.<name>, which must be a non-empty array.
absl::StatusOr<const json*> ParameterArray(const json& spec, const std::string& field,
                                           const char* name) {
  auto params = spec.find("aggregationParameters");
  if (params != spec.end() && params->is_object()) {
    auto it = params->find(name);
    if (it != params->end() && it->is_array() && !it->empty()) return &*it;
  }
  return Invalid(fmt::format("{}.aggregationParameters.{}: required non-empty array is missing",
                             field, name));
}

// RANGE_COUNT's aggregationParameters.bounds: 1 to kMaxRangeBounds finite numbers, strictly
// ascending.
absl::StatusOr<std::vector<double>> ParseRangeBounds(const json& spec, const std::string& field) {
  constexpr size_t kMaxRangeBounds = 200;
  const std::string where = field + ".aggregationParameters.bounds";
  ASSIGN_OR_RETURN(const json* bounds, ParameterArray(spec, field, "bounds"));
  if (bounds->size() > kMaxRangeBounds) {
    return Invalid(fmt::format("{}: at most {} bounds, got {}", where, kMaxRangeBounds,
                               bounds->size()));
  }
  std::vector<double> out;
  out.reserve(bounds->size());
  for (size_t i = 0; i < bounds->size(); ++i) {
    const json& b = (*bounds)[i];
    if (!b.is_number() || !std::isfinite(b.get<double>())) {
      return Invalid(fmt::format("{}[{}]: must be a finite number", where, i));
    }
    const double v = b.get<double>();
    if (!out.empty() && v <= out.back()) {
      return Invalid(fmt::format("{}[{}]: bounds must be strictly ascending, {} follows {}", where,
                                 i, v, out.back()));
    }
    out.push_back(v);
  }
  return out;
}

}  // namespace

absl::StatusOr<query::HistogramQuery> ParseHistogramRequest(const json& body,
                                                            uint64_t now_unix_nano) {
  query::HistogramQuery q;
  ASSIGN_OR_RETURN(q.range, ParseTimeframe(body, now_unix_nano));
  ASSIGN_OR_RETURN(q.filters, ParseFilters(body));
  auto interval_key = body.find("intervalKey");
  if (interval_key != body.end() && !interval_key->is_null() &&
      (!interval_key->is_string() || *interval_key != "span.startTimeUnixNano")) {
    return Invalid("intervalKey: only \"span.startTimeUnixNano\" is supported");
  }
  auto interval = body.find("interval");
  if (interval == body.end()) return Invalid("interval: required number is missing");
  ASSIGN_OR_RETURN(q.interval_nano, ReadUint64(*interval, "interval"));
  if (q.interval_nano == 0) return Invalid("interval: must be greater than 0");
  // A bound on the response size and on the collector's memory: a 1 ns interval over a day would
  // be 8.6e13 buckets. No exemption for an open end (2^64-1): buckets exist only where spans are,
  // so an exempt range with a 1 ns interval would make one bucket per stored span.
  constexpr uint64_t kMaxBuckets = 100000;
  uint64_t span = q.range.end_unix_nano - q.range.start_unix_nano;
  if (span / q.interval_nano >= kMaxBuckets) {
    return Invalid(fmt::format("interval: {} ns makes more than {} buckets over the timeframe",
                               q.interval_nano, kMaxBuckets));
  }
  auto aggs = body.find("aggregations");
  if (aggs == body.end() || !aggs->is_object() || aggs->empty()) {
    return Invalid("aggregations: required non-empty object is missing");
  }
  for (const auto& [label, spec] : aggs->items()) {
    std::string field = fmt::format("aggregations.{}", label);
    if (!spec.is_object()) return Invalid(fmt::format("{}: must be an object", field));
    query::Aggregation a;
    a.label = label;
    auto func = spec.find("func");
    if (func == spec.end() || !func->is_string()) {
      return Invalid(fmt::format("{}.func: required string is missing", field));
    }
    const auto& fname = func->get_ref<const std::string&>();
    if (fname == "COUNT") {
      a.func = query::AggregationFunc::kCount;
    } else if (fname == "DISTINCT_COUNT") {
      a.func = query::AggregationFunc::kDistinctCount;
    } else if (fname == "PERCENTILES") {
      a.func = query::AggregationFunc::kPercentiles;
    } else if (fname == "RANGE_COUNT") {
      a.func = query::AggregationFunc::kRangeCount;
    } else {
      return Invalid(fmt::format(
          "{}.func: unknown function \"{}\" (expected COUNT, DISTINCT_COUNT, PERCENTILES or "
          "RANGE_COUNT)",
          field, fname));
    }
    auto key = spec.find("key");
    if (key != spec.end() && !key->is_null()) {
      if (!key->is_string()) return Invalid(fmt::format("{}.key: must be a string", field));
      ASSIGN_OR_RETURN(a.key, query::ParseKey(key->get<std::string>(), field));
    }
    if (a.func != query::AggregationFunc::kCount && !a.key.has_value()) {
      return Invalid(fmt::format("{}.key: required for {}", field, fname));
    }
    const bool numeric_key = a.func == query::AggregationFunc::kPercentiles ||
                             a.func == query::AggregationFunc::kRangeCount;
    if (numeric_key && a.key->level == query::KeyLevel::kIntrinsic &&
        !query::IsNumericIntrinsic(*a.key)) {
      return Invalid(fmt::format("{}.key: \"{}\" is not numeric", field, a.key->text));
    }
    auto group_by = spec.find("groupBy");
    if (group_by != spec.end() && !group_by->is_null()) {
      if (!group_by->is_string()) {
        return Invalid(fmt::format("{}.groupBy: must be a string", field));
      }
      if (a.func != query::AggregationFunc::kCount &&
          a.func != query::AggregationFunc::kPercentiles) {
        return Invalid(fmt::format("{}.groupBy: only COUNT and PERCENTILES can be grouped", field));
      }
      ASSIGN_OR_RETURN(a.group_by, query::ParseKey(group_by->get<std::string>(), field));
    }
    auto max_groups = spec.find("maxGroups");
    if (max_groups != spec.end() && !max_groups->is_null()) {
      ASSIGN_OR_RETURN(uint64_t m, ReadUint64(*max_groups, field + ".maxGroups"));
      if (m == 0 || m > 1000) {
        return Invalid(fmt::format("{}.maxGroups: must be between 1 and 1000, got {}", field, m));
      }
      a.max_groups = m;
    }
    if (a.func == query::AggregationFunc::kRangeCount) {
      ASSIGN_OR_RETURN(a.bounds, ParseRangeBounds(spec, field));
    }
    if (a.func == query::AggregationFunc::kPercentiles) {
      ASSIGN_OR_RETURN(const json* pcts, ParameterArray(spec, field, "percentiles"));
      for (size_t i = 0; i < pcts->size(); ++i) {
        const json& p = (*pcts)[i];
        if (!p.is_number() || p.get<double>() <= 0 || p.get<double>() > 100) {
          return Invalid(fmt::format(
              "{}.aggregationParameters.percentiles[{}]: must be a number in (0, 100]", field, i));
        }
        a.percentiles.push_back(p.get<double>());
      }
    }
    q.aggregations.push_back(std::move(a));
  }
  ASSIGN_OR_RETURN(q.approximate, ParseApproximate(body));
  return q;
}

absl::StatusOr<TraceSearchRequest> ParseTraceSearchRequest(const json& body,
                                                           uint64_t now_unix_nano) {
  TraceSearchRequest r;
  ASSIGN_OR_RETURN(r.range, ParseTimeframe(body, now_unix_nano));
  ASSIGN_OR_RETURN(r.filters, ParseFilters(body));
  ASSIGN_OR_RETURN(r.limit, ReadLimit(body, "limit", kMaxTraceSearchLimit,
                                      kDefaultTraceSearchLimit));
  auto tf = body.find("traceFilters");
  if (tf == body.end() || tf->is_null()) return r;
  if (!tf->is_object()) return Invalid("traceFilters: must be an object");
  for (const auto& [name, value] : tf->items()) {
    const std::string field = "traceFilters." + name;
    if (value.is_null()) continue;
    if (name == "minDurationNano" || name == "maxDurationNano") {
      ASSIGN_OR_RETURN(uint64_t ns, ReadUint64(value, field));
      (name == "minDurationNano" ? r.min_duration_nano : r.max_duration_nano) = ns;
    } else if (name == "rootServiceName") {
      if (!value.is_string()) {
        return Invalid(fmt::format("{}: must be a string, got {}", field, JsonTypeName(value)));
      }
      r.root_service_name = value.get<std::string>();
    } else if (name == "hasErrors") {
      if (!value.is_boolean()) {
        return Invalid(fmt::format("{}: must be a bool, got {}", field, JsonTypeName(value)));
      }
      r.has_errors = value.get<bool>();
    } else {
      return Invalid(fmt::format(
          "{}: unknown trace filter (expected minDurationNano, maxDurationNano, rootServiceName "
          "or hasErrors)",
          field));
    }
  }
  if (r.min_duration_nano && r.max_duration_nano && *r.min_duration_nano > *r.max_duration_nano) {
    return Invalid("traceFilters.minDurationNano: must not exceed maxDurationNano");
  }
  return r;
}

absl::StatusOr<query::DependenciesQuery> ParseDependenciesRequest(const json& body,
                                                                  uint64_t now_unix_nano) {
  query::DependenciesQuery r;
  r.max_examined = kMaxDependencySpans;
  if (!body.is_object()) return Invalid("request body: must be a JSON object");
  ASSIGN_OR_RETURN(r.range, ParseTimeframe(body, now_unix_nano));
  for (const auto& [name, value] : body.items()) {
    if (name == "timeframe") continue;
    if (name != "service") {
      return Invalid(fmt::format("{}: unknown field (expected timeframe or service)", name));
    }
    if (value.is_null()) continue;
    if (!value.is_string()) {
      return Invalid(fmt::format("service: must be a string, got {}", JsonTypeName(value)));
    }
    r.service = value.get<std::string>();
  }
  return r;
}

}  // namespace teletrace::api::v1
