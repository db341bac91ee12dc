// The scan engine: filter matching and result collectors over decoded spans. A backend that cannot
// push a query down to its engine (the embedded SQLite store keeps compressed span blocks) prunes
// what it can (time range, trace id), decodes the rest and feeds each span in range to these.
//
//   SpanMatcher matcher(query.filters);
//   SearchCollector collector(query);
//   for (const StoredSpan& s : candidates)
//     if (InRange(query.range, s) && matcher.Matches(s)) collector.Add(s);
//   SearchResult result = std::move(collector).Finish();
//
// Not thread safe; one instance per query.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "model/span.h"
#include "query/duration_sketch.h"
#include "query/query.h"

namespace teletrace::query {

inline bool InRange(const TimeRange& range, const model::StoredSpan& s) {
  return s.span.start_time_unix_nano >= range.start_unix_nano &&
         s.span.start_time_unix_nano <= range.end_unix_nano;
}

// True when the span satisfies every filter (filters are ANDed; none = match all).
class SpanMatcher {
 public:
  explicit SpanMatcher(std::vector<Filter> filters);
  bool Matches(const model::StoredSpan& span) const;

 private:
  std::vector<Filter> filters_;
};

// Calls `fn` with each value `key` has on `span`: one for a span/resource/scope attribute or an
// intrinsic, one per event/link for event/link keys. Array attributes yield the array itself.
// Intrinsics yield their API form (kind and status as names, ids as hex, times as int64).
void ForEachValue(const Key& key, const model::StoredSpan& span,
                  const std::function<void(const model::AnyValue&)>& fn);

// The position of a span in a sort order: (sort value, trace id, span id).
Cursor PositionOf(const Sort& sort, const model::StoredSpan& span);
// Total order of positions under `sort` (direction applied): negative, zero or positive.
int ComparePositions(const Sort& sort, const Cursor& a, const Cursor& b);

// Keeps the first page_size spans after the cursor in sort order; skips exact duplicates
// (same trace id and span id).
class SearchCollector {
 public:
  explicit SearchCollector(const SearchQuery& query);
  void Add(const model::StoredSpan& span);
  // True when a span whose sort value lies in [min, max] can no longer enter the page; backends
  // use it to skip blocks.
  bool CanSkip(uint64_t min_sort_value, uint64_t max_sort_value) const;

  // CanSkip as of now, as a value: a block decoder on another thread can skip spans with it while
  // the collector goes on (later, it only skips more).
  class Bound {
   public:
    bool CanSkip(uint64_t min_sort_value, uint64_t max_sort_value) const;
    // At most this many spans of any set can still enter the page (the page and one more), not
    // counting those at the cursor's sort value, which the ids decide.
    size_t PageLimit() const { return page_limit_; }
    bool AtCursor(uint64_t sort_value) const { return after_ == sort_value; }

   private:
    friend class SearchCollector;
    bool ascending_ = false;
    size_t page_limit_ = 1;
    std::optional<uint64_t> after_;  // the cursor's sort value
    std::optional<uint64_t> worst_;  // the last kept span's, once the page is full
  };
  Bound Snapshot() const;

  SearchResult Finish() &&;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// Collects one trace's spans (already known to belong to it), deduplicated, ordered by start time
// then span id, paged as the query asks. Of several copies of a span id, the first added wins.
// Finish's next cursor is set iff spans follow the page.
class TraceCollector {
 public:
  explicit TraceCollector(const TraceQuery& query);
  void Add(const model::StoredSpan& span);
  // As above, but takes the span instead of copying it: a backend that decoded a block for this
  // trace alone should move its spans in (copying a span costs several allocations).
  void Add(model::StoredSpan&& span);
  TraceResult Finish() &&;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// Every attribute key seen (resource, scope, span, event, link levels) with its type, plus the
// intrinsic keys; sorted by name, then type.
class TagKeysCollector {
 public:
  TagKeysCollector();
  void Add(const model::StoredSpan& span);
  // Adds the keys `part` (another collector, e.g. of one block filled on a worker thread) saw.
  void Merge(TagKeysCollector&& part);
  std::vector<TagInfo> Finish() &&;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// Counts, per typed value of the query's key, the spans (or events and links, for event and link
// keys) in range that match the filters and carry it; Finish sorts count descending, then value
// ascending (CompareTagValues), keeping `limit`.
class TagValuesCollector {
 public:
  explicit TagValuesCollector(const TagValuesQuery& query);
  // Makes room for `values` distinct values, e.g. a block's span count for a collector that
  // counts one block: its table then never grows while counting.
  void Reserve(size_t values);
  void Add(const model::StoredSpan& span);
  // Adds `count` occurrences of `value` as if that many spans in range and matching the filters had
  // carried it: a backend that keeps exact per-block counts (storage/block_value_counts.h) feeds
  // them here instead of the block's spans. Of values equal under CompareTagValues (0.0 and -0.0,
  // NaNs), the first added is the one reported, as with Add. `count` 0 adds nothing.
  void AddCounted(const TagValue& value, uint64_t count);
  // The same, taking `value` (a new value is moved into the table rather than copied).
  void AddCounted(TagValue&& value, uint64_t count);
  // Adds everything `part` counted, as AddCounted would value by value: a backend counts each
  // block in a collector of its own on a worker thread, then adds the parts in block order, which
  // keeps "the first added is reported" (part and this collector answer the same query). The
  // strings `part` left out (AddDistinctStrings) count as distinct from every value here.
  void AddAll(const TagValuesCollector& part);
  // Adds counts of strings distinct from one another, as AddCounted would one by one, e.g. a
  // high-cardinality key's strings that a backend counted in a table of its own; the views need to
  // outlive this call only. When no string has been counted before, only the `limit` strings that
  // can reach the page are kept, and the others are counted in total_distinct alone (`user.id`'s
  // ~300k values are not each copied into the table to keep 1,000). The last call that adds
  // strings: AddCounted, Add and AddAll may add numbers and bools after it, not strings.
  void AddDistinctStrings(std::vector<std::pair<std::string_view, uint64_t>> strings);
  // Calls `fn` with each value that Add counts for `key` on `span` once the span is in range and
  // matches: at most one for resource, scope and span attributes and intrinsics, one per event or
  // link for event and link keys; array, map, bytes and empty values count nothing. Exposed so
  // that precomputed counts agree with Add by construction.
  static void ForEachCountedValue(const Key& key, const model::StoredSpan& span,
                                  const std::function<void(const TagValue&)>& fn);
  TagValuesResult Finish() &&;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// The wanted statistics of `count` values with this min, max and sum; `ranked` holds the wanted
// percentiles' values in the order they are wanted (empty: percentiles are left out). Empty when
// count is 0. The one mapping of a statistic's name to its value, for the collector and for the
// backends whose engine aggregates.
StatisticsResult NamedStatistics(const std::vector<Statistic>& wanted, uint64_t count, double min,
                                 double max, double sum, const std::vector<double>& ranked);

class StatisticsCollector {
 public:
  explicit StatisticsCollector(const StatisticsQuery& query);
  void Add(const model::StoredSpan& span);
  // Whether the query is one AddAggregates can serve: of the span duration, with percentiles
  // only when approximate.
  bool TakesAggregates() const;
  // Adds a block of spans that are all in the range and all match the filters from their
  // duration aggregates instead of one by one. Returns false, having added nothing, when that
  // would not give the answer Add would (not TakesAggregates(), or a duration past INT64_MAX,
  // whose value as the key sees it is negative): the caller then adds the spans.
  bool AddAggregates(const DurationAggregates& durations);
  StatisticsResult Finish() &&;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// For a block of spans: calls fn(value, spans) for each value `key` has on them, as
// TagValuesCollector::ForEachCountedValue sees it, and returns true; or returns false without
// calls when it cannot tell (storage/block_value_counts.h keeps such counts).
using BlockCountsFn = std::function<bool(
    const Key& key, const std::function<void(const TagValue&, uint64_t)>& fn)>;

// For a block of spans: calls fn(value, durations) with the duration aggregates of the spans
// carrying each value `key` has on them (a key with at most one value per span), and returns
// true; or returns false without calls when it cannot tell (storage/block_value_counts.h keeps
// such aggregates for the keys blocks group their spans by). A value may come in several calls,
// whose spans add up to those carrying it.
using BlockDurationsFn = std::function<bool(
    const Key& key, const std::function<void(const TagValue&, const DurationAggregates&)>& fn)>;

// Approximate grouped duration percentiles keep a group's values, and answer it exactly, until
// it holds this many; then they go to the group's sketch (bounded memory).
inline constexpr size_t kExactGroupValues = 8192;

// The key whose value counts HistogramCollector::AddAggregates asks a block for, for `agg`:
// COUNT's group key, DISTINCT_COUNT's key; none for other aggregations.
const std::optional<Key>& CountedKeyOf(const Aggregation& agg);
// The key whose per-value duration aggregates HistogramCollector::AddAggregates asks a block for,
// for `agg`: the group key of grouped PERCENTILES; none for other aggregations.
const std::optional<Key>& GroupedDurationsKeyOf(const Aggregation& agg);

class HistogramCollector {
 public:
  explicit HistogramCollector(const HistogramQuery& query);
  void Add(const model::StoredSpan& span);
  // An empty collector of the same query that shares this one's parsed query and filters
  // (read-only), so that making one per block costs no copy: a backend fills parts on its block
  // workers and merges them back in block order.
  HistogramCollector Part() const;
  // Adds what `part` (from Part()) was given, as if its spans had been added here after those
  // added so far: the answer is the one sequential adds give, whatever thread filled the part.
  void Merge(HistogramCollector&& part);
  // Whether every aggregation is one AddAggregates can serve: COUNT, DISTINCT_COUNT, and
  // PERCENTILES of the span duration when the query is approximate.
  bool TakesAggregates() const;
  // Adds a block of spans that all start in the bucket of `start_unix_nano`, are all in the range
  // and all match the filters, from their duration aggregates, value counts and (for grouped
  // percentiles) per-value duration aggregates instead of one by one. Returns false, having added
  // nothing, when that would not give the answer Add would (not TakesAggregates(), a key `counts`
  // or `grouped` cannot tell, a duration past INT64_MAX). A group of percentiles added so is
  // answered from its sketch, within its relative error.
  bool AddAggregates(uint64_t start_unix_nano, const DurationAggregates& durations,
                     const BlockCountsFn& counts, const BlockDurationsFn& grouped = {});
  // Whether AddAggregates would take the block, without adding it.
  bool CanAddAggregates(const DurationAggregates& durations, const BlockCountsFn& counts,
                        const BlockDurationsFn& grouped = {}) const;
  // The start of the bucket a span starting at `start_unix_nano` falls in.
  uint64_t BucketKey(uint64_t start_unix_nano) const;
  HistogramResult Finish() &&;

 private:
  struct Plan;
  struct State;
  explicit HistogramCollector(std::shared_ptr<const Plan> plan);
  std::shared_ptr<State> state_;
};

}  // namespace teletrace::query
