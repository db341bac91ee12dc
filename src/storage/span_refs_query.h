// Queries over a block's SpanRefs (span_block_codec.h) instead of its spans, for filters that all
// read resources, scopes, span names, kinds or status codes: the Jaeger API's operations of a
// service (span names where service.name is one value), the search page's panels for one service.
//
//   if (FiltersReadOnlyRefs(filters)) {
//     ASSIGN_OR_RETURN(std::optional<SpanRefs> refs, DecodeSpanRefs(block, fields, starts));
//     if (refs) KeepMatching(filters, *refs);  // then count or aggregate refs->rows
//   }
//
// Each filter reads one field, so it is evaluated once per distinct value of that field in the
// block (a resource, a name), not once per span; a span then passes by a few table lookups.
#pragma once

#include <vector>

#include "query/engine.h"
#include "query/query.h"
#include "storage/span_block_codec.h"

namespace teletrace::storage {

// Whether a decode with `fields` reads only what SpanRefs holds (kResourceAndScope, kName, kKind,
// kStatusCode and the times).
bool ReadsOnlyRefs(const SpanFields& fields);
// Whether `key` reads only what SpanRefs holds (times aside).
bool ReadsOnlyRefs(const query::Key& key);
// Whether every filter reads only what SpanRefs holds, times aside (`times` false) or included:
// the start, end and duration intrinsics (`times` true).
bool FiltersReadOnlyRefs(const std::vector<query::Filter>& filters, bool times = false);

// Removes the rows of `refs` whose spans, as a decode with FieldsRead(filters) builds them, do not
// match `filters` (query::SpanMatcher's answer). Requires FiltersReadOnlyRefs(filters, true), and
// rows with their end times (DecodeSpanRefs with `ends`) when a filter reads end times or
// durations. Filters on times are tested per row; the others once per distinct value.
void KeepMatching(const std::vector<query::Filter>& filters, SpanRefs& refs);

// Adds to `collector` the values of `key` on the spans of `refs.rows` (all taken to be in range
// and to match the collector's filters: pass rows KeepMatching left), in the order of the spans
// that first carry them, as TagValuesCollector::Add would. Requires ReadsOnlyRefs(key).
void AddTagValues(const query::Key& key, const SpanRefs& refs,
                  query::TagValuesCollector& collector);

// Sets the fields of `span` a decode with `fields` reads from row `row` of `refs`: what
// DecodeSpanBlock(block, fields) builds for that span (`fields` read only SpanRefs' fields).
// Pointers and names are assigned only when they change, so one span reused along the rows costs
// little.
void SetSpanFields(const SpanRefs& refs, const SpanRefs::Row& row, const SpanFields& fields,
                   model::StoredSpan& span);

}  // namespace teletrace::storage
