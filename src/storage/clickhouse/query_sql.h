// Translates the query model (query/query.h) into ClickHouse SQL over the spans table
// (migrations/001_initial.sql), with exactly the matcher's semantics (query/engine.h): typed
// comparisons (numbers numerically and exactly across int64 and double, strings and bools by
// value, never across types), any array element, any event or link, and negative operators as
// NOT of the positive one (so a span without the key matches not_equals and not_exists).
//
// Every operand goes through sql_literal.h. Pure functions; thread safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "query/query.h"

namespace teletrace::storage::clickhouse {

// Conditions keeping spans that start inside `range`. Besides the exact nanosecond bounds they
// bound start_hour (the primary key's first column) and start_date (the partition key), so
// ClickHouse skips whole partitions and granules.
std::string RangeCondition(const query::TimeRange& range);

// "YYYY-MM-DD" of a day number (days since 1970-01-01), the literal of a day's partition.
std::string DayDate(uint64_t day);

// The attr_types codes (migrations/001_initial.sql) an attribute key's entries may have in a time
// range, as the tag_keys table records them (migration 002): bit t of `scalars` for values of
// type t (0-6); an array's elements (codes 16 + t) may be of any type once the key held an array
// (type 5). The expressions below leave out the value columns a key cannot have: the facet of a
// string key then reads neither attr_int nor attr_dbl, a numeric filter on an integer key not
// attr_dbl. Every type by default.
struct KeyTypes {
  uint32_t scalars = 0x7F;
  // A value of `type` itself.
  bool Scalar(int type) const { return ((scalars >> type) & 1) != 0; }
  // A value of `type` or an array element of it.
  bool Any(int type) const { return Scalar(type) || Scalar(5); }
};

// The known types by attribute key (AttrKeyEntry); a key not listed may have any type.
using KeyTypesMap = std::map<std::string, KeyTypes, std::less<>>;

// The attr_keys entry of an attribute key: its level's letter (r, s, a, e, l), then its name.
std::string AttrKeyEntry(const query::Key& key);

// The types `types` knows for `key`, or every type.
KeyTypes TypesOf(const KeyTypesMap& types, const query::Key& key);

// "SELECT DISTINCT attr_key, attr_type FROM <tag_keys_table> ...": the rows of the attribute
// `keys` (non-empty) on the days `range` covers, which make their KeyTypes there. A caller must
// know that tag_keys has every span in the range (spans stored before it existed are not).
std::string KeyTypesSql(const std::string& tag_keys_table, const std::vector<query::Key>& keys,
                        const std::optional<query::TimeRange>& range);

// A boolean expression true exactly for the spans `filter` matches, of which an attribute key's
// entries have the types `types` gives it.
std::string FilterCondition(const query::Filter& filter, const KeyTypesMap& types = {});

// A condition every span `filter` matches also meets, on one column read cheaply before the
// others (PREWHERE) and answered by the spans table's skip index where there is one
// (schema.cc: attr_str_values): has(attr_str, ...) for string equality; "" for other filters.
std::string PrewhereCondition(const query::Filter& filter);

// "[PREWHERE ...] WHERE ..." for an optional range and the ANDed filters ("WHERE 1" when there is
// nothing). PREWHERE holds the filters' PrewhereConditions and `prewhere` (an extra condition, or
// ""), ANDed; WHERE comes last, so a caller may append " AND ..." to it.
// `types` as FilterCondition's, here and below.
std::string WhereClause(const std::optional<query::TimeRange>& range,
                        const std::vector<query::Filter>& filters,
                        const std::string& prewhere = "", const KeyTypesMap& types = {});

// "PREWHERE service_name = '' WHERE ...": the spans in `range` whose service_name column is ''
// (no, an empty or a non-string service.name) that `filters` and `extra` (or "") match. Nothing
// but service_name is read for the granules without such a span.
std::string WhereServiceNameEmpty(const std::optional<query::TimeRange>& range,
                                  const std::vector<query::Filter>& filters,
                                  const std::string& extra = "", const KeyTypesMap& types = {});

// Where a statement's spans come from: `from` follows FROM (an ARRAY JOIN may follow it), `where`
// follows `from` ("[PREWHERE ...] WHERE ..."; a caller may append " AND ..." to it).
struct SpanSource {
  std::string from;
  std::string where;
};

// The spans of `table` in `range` that `filters` match, and `extra` (a condition on the spans'
// columns, or "") too: `table` with WhereClause, unless a filter asks service.name to equal (or be
// in) non-empty strings. Then two branches in a UNION ALL: the spans whose service_name column
// holds one of them, found by reading that LowCardinality column alone instead of every span's
// attribute arrays, and the spans whose service_name is '' (no, an empty or a non-string
// service.name), whose arrays the filter reads; the other filters and `extra` apply in both. A
// span with any other service_name has exactly that one service.name string (span_rows.h), so
// neither branch misses or repeats a span. The branches select every column but `span`;
// ClickHouse reads only those the statement uses.
SpanSource SpansMatching(const std::string& table, const std::optional<query::TimeRange>& range,
                         const std::vector<query::Filter>& filters, const std::string& extra = "",
                         const KeyTypesMap& types = {});

// The spans SpansMatching gives, always as two branches, with one more column, `service_values`:
// the span's values of `service_key` (resource service.name) as TaggedValuesExpr writes them, read
// from the service_name column where it is not '' (the span's one service.name string) and from
// the attribute arrays only for the spans whose column is ''. Grouping by it (the services page's
// requests and latency per service) reads one LowCardinality column for nearly every span.
SpanSource SpansWithServiceValues(const std::string& table,
                                  const std::optional<query::TimeRange>& range,
                                  const std::vector<query::Filter>& filters,
                                  const query::Key& service_key, const KeyTypesMap& types = {});

// An Array(String) expression with the key's scalar values on one row, each tagged by type so
// that values of different types never collide: 's' + string, 'i' + 8 raw bytes of the Int64,
// 'd' + raw bytes of the Float64 (-0.0 folded into 0.0, every NaN into one), 'b' + "0"/"1". Raw
// number bytes may come back shorter than 8 (ClickHouse drops trailing zero bytes); DecodeTagged
// pads them. Arrays, bytes and maps are not scalars and do not appear. For event and link keys,
// one element per event (link) that has the key. Only the types in `types` are read.
std::string TaggedValuesExpr(const query::Key& key, KeyTypes types = {});

// The tagged value as the API reports it; nullopt when the tag is not one of the four.
std::optional<query::TagValue> DecodeTagged(std::string_view tagged);

// An Array(String) expression with one entry per attribute of the span (a key repeated in its
// lists once per list), "<type>:<level letter><key>" as DecodeTagKeyEntry reads them: every
// scalar and non-scalar attribute, not array elements (types 16 and up) nor empty values (255).
// (Migration 002's tag_keys keeps the same entries as (attr_key, attr_type) pairs.)
std::string TagKeyEntriesExpr();

// One entry of the tag keys query, "<type>:<level letter><key>" (type 0..6, query::ValueType; level
// r resource, s scope, a span, e event, l link), as the API names it: "2:ahttp.duration" is
// {"span.attributes.http.duration", kDouble}. The entry comes from the server, so anything else is
// DataLoss naming the entry and the problem. Never throws.
absl::StatusOr<query::TagInfo> DecodeTagKeyEntry(std::string_view entry);

// An Array(Float64) expression with the key's numeric scalar values (int64 and double; NaN left
// out) on one row, one per event or link for event and link keys. Only the types in `types` are
// read.
std::string NumericValuesExpr(const query::Key& key, KeyTypes types = {});

// The query::DurationSketch bucket index (UInt64) of `value_expr`, a Float64 expression, computed
// as DurationSketch::BucketOf does. ClickHouse's log may differ from C++'s in the last bit, which
// can move a value lying on a bucket's edge into the neighbouring bucket: still within the
// sketch's relative error of the value.
std::string DurationBucketExpr(const std::string& value_expr);

// The nearest-rank percentile (query/percentile.h) of `sorted_array_expr`, an ascending non-empty
// Array(Float64) expression, computed in SQL with the same floating-point steps as C++.
std::string NearestRankExpr(const std::string& sorted_array_expr, double percentile);

}  // namespace teletrace::storage::clickhouse
