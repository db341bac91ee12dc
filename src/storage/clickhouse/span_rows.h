// Rows of the spans table (migrations/001_initial.sql) from stored spans: the columns an INSERT
// names and their RowBinary encoding. Pure; thread safe.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/span.h"
#include "storage/clickhouse/row_binary.h"

namespace teletrace::storage::clickhouse {

// "(start_date, start_hour, ...)": the INSERT's column list, in the order AppendSpanRow writes.
const std::string& SpanInsertColumns();

// Appends one row for `span`. Attributes are flattened as the schema describes: within one
// attribute list the last occurrence of a key wins (as model::FindAttribute reads it), array
// elements are extra entries typed 16 + their type, and the whole span is encoded into the `span`
// column.
absl::Status AppendSpanRow(const model::StoredSpan& span, RowBinaryWriter& out);

// The `span` column's value: the span block codec's encoding of one span with its sections stored
// uncompressed. ClickHouse compresses the column across rows (zstd server-wide), which shrinks
// repeated resources, scopes and keys far better than a zstd frame per span.
// Internal when the codec fails.
absl::StatusOr<std::string> EncodeSpanColumn(const model::StoredSpan& span);

// The span back from a `span` column value (any value EncodeSpanColumn wrote, including format 1
// values: the row-wise body without its zstd frame). DataLoss when the value is malformed.
absl::StatusOr<model::StoredSpan> DecodeSpanColumn(std::string_view value);

}  // namespace teletrace::storage::clickhouse
