// The validated query model every API translates into and every storage backend answers.
// Values in here are already checked (api/ parses JSON into these through query/parse.h); a backend
// may assume every invariant stated below.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/ids.h"
#include "model/span.h"

namespace teletrace::query {

// Where a key looks. Attribute levels carry the attribute name in Key::name (dots allowed).
enum class KeyLevel { kIntrinsic, kResource, kScope, kSpan, kEvent, kLink };

// Fixed fields of a span, named in the API as the InternalSpan JSON names them.
enum class Intrinsic {
  kTraceId,           // span.traceId            (hex string)
  kSpanId,            // span.spanId             (hex string)
  kParentSpanId,      // span.parentSpanId       (hex string, "" for roots)
  kTraceState,        // span.traceState
  kName,              // span.name
  kKind,              // span.kind               ("Server", ... ; numbers 0-5 accepted)
  kStatusCode,        // span.status.code        ("Unset", "Ok", "Error"; numbers 0-2 accepted)
  kStatusMessage,     // span.status.message
  kStartTime,         // span.startTimeUnixNano  (number)
  kEndTime,           // span.endTimeUnixNano    (number)
  kDuration,          // externalFields.durationNano (number)
  kScopeName,         // scope.name
  kScopeVersion,      // scope.version
  kEventName,         // span.events.name        (any event)
  kLinkTraceId,       // span.links.traceId      (any link)
  kLinkSpanId,        // span.links.spanId       (any link)
  kIngestionTime,     // ingestionTimeUnixNano   (number)
};

struct Key {
  KeyLevel level = KeyLevel::kIntrinsic;
  Intrinsic intrinsic = Intrinsic::kName;  // when level == kIntrinsic
  std::string name;                        // attribute name otherwise
  std::string text;                        // the key as the user wrote it, for messages and output

  bool operator==(const Key& o) const { return text == o.text; }
};

// The span duration (externalFields.durationNano): the key duration aggregates are kept for.
inline bool IsDurationKey(const Key& key) {
  return key.level == KeyLevel::kIntrinsic && key.intrinsic == Intrinsic::kDuration;
}

// resource.attributes.service.name, the key storage backends keep apart (indexed, grouped by).
inline bool IsServiceNameKey(const Key& key) {
  return key.level == KeyLevel::kResource && key.name == "service.name";
}

enum class Operator {
  kEquals,
  kNotEquals,
  kIn,
  kNotIn,
  kContains,
  kNotContains,
  kExists,
  kNotExists,
  kGt,
  kGte,
  kLt,
  kLte,
};

// The not_* operators, which match exactly the spans their positive operator does not (spans
// without the key included), and that positive operator (any other operator is its own).
bool IsNegative(Operator op);
Operator Positive(Operator op);

// A filter operand. Numbers from JSON arrive as int64 when integral, else double.
using Scalar = std::variant<std::string, int64_t, double, bool>;

// One condition. Invariants (checked by parse): kIn/kNotIn have `values` (non-empty) and no
// `value`; kExists/kNotExists have neither; kGt..kLte have a numeric `value`; kContains/
// kNotContains a string `value`; kEquals/kNotEquals a scalar `value`. Intrinsic keys only take
// operators and value types that fit their type. Negative operators (not_*) match exactly the spans
// the positive one does not, including spans that lack the key.
struct Filter {
  Key key;
  Operator op = Operator::kEquals;
  std::optional<Scalar> value;
  std::vector<Scalar> values;
};

// Whether `f` can match only a span holding its attribute key with a value: a positive operator
// other than kExists (which a key with an empty value meets) on an attribute key. No span matches
// it in a store where no span holds the key, which backends that know their keys answer at once.
bool NeedsHeldValue(const Filter& f);

// A span matches when start_time_unix_nano is in [start, end] (both inclusive). end is never 0 here:
// the API layer replaces "0 = now" with the current time.
struct TimeRange {
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = UINT64_MAX;
};

enum class SortField { kStartTime, kDuration };

struct Sort {
  SortField field = SortField::kStartTime;
  bool ascending = false;  // newest first by default
};

// Position after the last span of a page, in the total order (sort value, trace id, span id).
struct Cursor {
  uint64_t sort_value = 0;
  TraceId trace_id{};
  SpanId span_id{};
};

inline constexpr size_t kDefaultPageSize = 50;
inline constexpr size_t kMaxPageSize = 1000;
inline constexpr size_t kMaxTracePageSize = 100000;

struct SearchQuery {
  TimeRange range;
  std::vector<Filter> filters;
  Sort sort;
  size_t page_size = kDefaultPageSize;  // 1..kMaxPageSize
  std::optional<Cursor> after;          // spans strictly after this position
};

struct SearchResult {
  std::vector<model::StoredSpan> spans;  // in sort order, at most page_size, no duplicates
  std::optional<Cursor> next;            // set iff more matching spans may follow
};

// A trace, whole (page_size 0) or one page in (start time ascending, span id) order.
struct TraceQuery {
  TraceId trace_id{};
  size_t page_size = 0;  // 0 = every span
  std::optional<Cursor> after;
};

struct TraceResult {
  std::vector<model::StoredSpan> spans;  // sorted by start time, then span id
  std::optional<Cursor> next;
};

// Attribute types as the v1 API names them.
enum class ValueType { kStr, kInt, kDouble, kBool, kBytes, kSlice, kMap };

struct TagInfo {
  std::string name;  // full key, e.g. "span.attributes.http.method"
  ValueType type = ValueType::kStr;
  bool operator==(const TagInfo&) const = default;
};

struct TagKeysQuery {
  std::optional<TimeRange> range;  // none = all stored data
};

struct TagValuesQuery {
  Key key;
  std::optional<TimeRange> range;
  std::vector<Filter> filters;
  size_t limit = 0;  // 0 = every value
  // Stop counting once this long has passed and answer with what was counted (partial). For value
  // suggestions, where some values now beat every value later. A backend may ignore it.
  std::optional<std::chrono::milliseconds> time_budget = std::nullopt;
};

// A value as the API returns it: the typed attribute (or intrinsic) value.
using TagValue = std::variant<std::string, int64_t, double, bool>;

struct TagValueCount {
  TagValue value;
  uint64_t count = 0;
  bool operator==(const TagValueCount&) const = default;
};

struct TagValuesResult {
  std::vector<TagValueCount> values;  // count descending, then value ascending; at most limit
  uint64_t total_distinct = 0;        // distinct values before the limit
  bool partial = false;  // the time budget ran out: the counts of the spans read until then
};

// "min", "max", "avg", "count", "sum" or a percentile "pNN" / "pNN.N" (0 < NN <= 100).
struct Statistic {
  std::string name;
  double percentile = 0;  // for pNN, in (0, 100]
};

struct StatisticsQuery {
  Key key;  // a numeric key
  TimeRange range;
  std::vector<Filter> filters;
  std::vector<Statistic> wanted;
  // Percentiles of span durations may be answered within kDurationSketchRelativeError of the
  // exact value (duration_sketch.h) instead of exactly; the other statistics stay exact. A
  // backend may answer exactly anyway.
  bool approximate = false;
};

// name -> value, for the wanted statistics that have a value (none when no span matched).
using StatisticsResult = std::map<std::string, double>;

enum class AggregationFunc { kCount, kDistinctCount, kPercentiles, kRangeCount };

struct Aggregation {
  std::string label;
  AggregationFunc func = AggregationFunc::kCount;
  // DISTINCT_COUNT: the key counted; PERCENTILES, RANGE_COUNT: the numeric key
  std::optional<Key> key;
  std::optional<Key> group_by;  // COUNT, PERCENTILES: split each bucket by this key's values
  size_t max_groups = 10;
  std::vector<double> percentiles;  // PERCENTILES
  // RANGE_COUNT: ascending lower bounds (see range_count.h). Each bucket is a GroupedCount whose
  // sub-buckets are the non-empty ranges in ascending order, keyed by their lower bound; a span
  // counts once in every range one of its values falls in.
  std::vector<double> bounds;
};

struct HistogramQuery {
  TimeRange range;
  std::vector<Filter> filters;
  uint64_t interval_nano = 0;  // bucket width on the start time, > 0
  std::vector<Aggregation> aggregations;
  // As StatisticsQuery::approximate, for PERCENTILES of span durations, ungrouped or per group.
  bool approximate = false;
};

struct SubBucket {
  TagValue key;
  uint64_t count = 0;
  bool operator==(const SubBucket&) const = default;
};

struct GroupedCount {
  uint64_t total_count = 0;
  std::vector<SubBucket> sub_buckets;  // count descending, at most max_groups
  bool operator==(const GroupedCount&) const = default;
};

// PERCENTILES with group_by: per value of the group key, its spans and the percentiles of their
// values of the numeric key (empty when none of them has one).
struct GroupPercentiles {
  TagValue key;
  uint64_t count = 0;
  std::map<std::string, double> percentiles;
  bool operator==(const GroupPercentiles&) const = default;
};

struct GroupedPercentiles {
  uint64_t total_count = 0;
  std::vector<GroupPercentiles> groups;  // count descending (ties by key), at most max_groups
  bool operator==(const GroupedPercentiles&) const = default;
};

using BucketData =
    std::variant<uint64_t, GroupedCount, std::map<std::string, double>, GroupedPercentiles>;

struct HistogramBucket {
  uint64_t bucket_key = 0;  // start of the bucket, unix nanoseconds, a multiple of interval_nano
  BucketData data;
  bool operator==(const HistogramBucket&) const = default;
};

struct Histogram {
  std::string label;
  std::vector<HistogramBucket> buckets;  // ascending bucket_key, empty buckets omitted
  bool operator==(const Histogram&) const = default;
};

using HistogramResult = std::vector<Histogram>;

// Orders grouped counts (anything with a `count`) by count descending, ties keeping their order
// (key order, as every backend produces them), and keeps the `max_groups` largest (0 = all, as a
// limit of 0 is for tag values).
template <typename Group>
void KeepLargestGroups(std::vector<Group>& groups, size_t max_groups) {
  std::stable_sort(groups.begin(), groups.end(),
                   [](const Group& a, const Group& b) { return a.count > b.count; });
  if (max_groups > 0 && groups.size() > max_groups) groups.resize(max_groups);
}

}  // namespace teletrace::query
