// Which parts of each span a query reads (storage/span_block_codec.h's SpanFields), so that a
// backend decoding blocks decompresses only those: a duration histogram reads the start and
// duration streams of a block, a tag-values query one attribute key's.
//
//   SpanFields fields = FieldsRead(query);  // then DecodeSpanBlock(block, fields)
//
// The answer covers every key the query names: its filters, the key it aggregates and each
// aggregation's keys. Start and end times are always part of it (time ranges need them).
#pragma once

#include "query/query.h"
#include "storage/span_block_codec.h"

namespace teletrace::storage {

SpanFields FieldsRead(const std::vector<query::Filter>& filters);
SpanFields FieldsRead(const query::TagValuesQuery& query);
SpanFields FieldsRead(const query::StatisticsQuery& query);
SpanFields FieldsRead(const query::HistogramQuery& query);

}  // namespace teletrace::storage
