// What the elasticsearch backend indexes beside each span, and the engine clauses that select on
// it. Pure; thread safe.
//
// The engine never decides a match alone: a filter becomes a clause that matches a superset of the
// spans the scan engine's matcher accepts (query/engine.h), and the backend runs the matcher on
// every span the engine returns. So the answers are exactly the scan engine's, and the clauses only
// cut what is read. Filters without a clause (negations, contains, attribute ranges) cost nothing
// in the engine and are evaluated on the spans of the time range.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

#include "model/span.h"
#include "nlohmann/json.hpp"
#include "query/query.h"

namespace teletrace::storage::elasticsearch {

// Keyword values longer than this many characters are not indexed (`ignore_above`; Lucene refuses
// terms over 32766 bytes). A clause is built only for operands whose term is at most this many
// bytes, so an unindexed value (longer) can never be one the clause should have found.
inline constexpr size_t kMaxIndexedTermBytes = 2048;

// Start times and durations are unsigned 64-bit; both engines' `long` is signed (and
// `unsigned_long` is an Elasticsearch x-pack mapper). Flipping the top bit maps every uint64 onto an
// int64 in the same order, so ranges, sorts and search_after stay exact over the whole range.
inline int64_t Ordered(uint64_t value) {
  return static_cast<int64_t>(value ^ (uint64_t{1} << 63));
}

// The attribute terms of one span: `keys` gets "<level><key>" for every attribute key at every
// level (resource r, scope c, span s, every event e, every link l), `values` gets
// "<level><key>\x1f<type><value>" for every scalar value and array element (type s string,
// b bool, n number in a canonical text under which numerically equal ints and doubles agree).
void AddAttributeTerms(const model::StoredSpan& span, std::set<std::string>* keys,
                       std::set<std::string>* values);

// Facet values (schema 3): for a few span attributes whose values the UI lists on every search page
// (the HTTP method, route and status code, old and new semantic-convention names), documents also
// carry "<key>=<type><value>" per value the tag-values collector counts for that key
// (query::TagValuesCollector::ForEachCountedValue), in `facet_values` (doc values only), so that
// their tag values are the engine's terms. Types: s string, i int64, d double (shortest text that
// reads back to the same double), b bool. A string over kMaxIndexedTermBytes is "<key>=!" (not
// held as it is); ReadFacetTerm answers nullopt for it and for text with U+FFFD (maybe invalid
// UTF-8 replaced in the indexed copy), and the tag values are then scanned.
bool IsFacetKey(const query::Key& key);
void AddFacetTerms(const model::StoredSpan& span, std::vector<std::string>* terms);
// The value of a facet term of `key` (as AddFacetTerms writes it); nullopt where the value is not
// known exactly (see above), an error for a term of another key or one that does not read.
absl::StatusOr<std::optional<query::TagValue>> ReadFacetTerm(const query::Key& key,
                                                             std::string_view term);
// The regular expression (Lucene syntax) matching the facet terms of `key`.
std::string FacetTermsPattern(const query::Key& key);

// The spans starting in `range` (both ends inclusive), on the `start` field.
nlohmann::json StartRangeClause(const query::TimeRange& range);

// The index schema whose documents also carry the fields aggregations are pushed down to: `status`
// and `kind` (the API names, keywords), `dur` (the duration as the query engine sees it: int64,
// long) and `dur_bucket` (its DurationSketch bucket, integer). Indices created from the template
// carry it in their mapping's _meta as "teletrace_schema"; older ones lack some documents' fields.
inline constexpr int kQueryFieldsSchema = 2;
// Schema 3 adds `start_ms`: the start time in whole milliseconds (a long with doc values only),
// which histograms of whole-millisecond buckets bucket with the engine's `histogram` aggregation.
inline constexpr int kStartMillisSchema = 3;
// Schema 3 also adds `facet_values` (see IsFacetKey).
inline constexpr int kFacetValuesSchema = 3;

// U+FFFD in UTF-8: what an indexed copy holds in place of invalid UTF-8.
inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";


// A clause selecting exactly the spans `filter` matches, on an index of kQueryFieldsSchema; nullopt
// when the indexed fields cannot decide it exactly (the backend then scans). Decided exactly:
// span.traceId equality, span.name, span.status.code, span.kind and
// resource.attributes.service.name (equals, in and their negations; operands up to
// kMaxIndexedTermBytes, without U+FFFD for the name and the service, and not "" for the service)
// and duration comparisons with an integer operand.
std::optional<nlohmann::json> ExactClause(const query::Filter& filter);

// A clause for the document fields the backend writes (attr_keys, attr_values, trace_id, name,
// start, duration) that matches every span `filter` matches (and maybe more), or nullopt when no
// such clause is worth sending.
std::optional<nlohmann::json> SupersetClause(const query::Filter& filter);

}  // namespace teletrace::storage::elasticsearch
