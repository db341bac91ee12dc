// Validation of user-supplied query parts. Every function returns InvalidArgument with a message
// that names the field (`field` is the JSON path the caller was reading, e.g. "filters[2]").
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "query/query.h"

namespace teletrace::query {

// "span.name", "externalFields.durationNano", "resource.attributes.service.name",
// "span.attributes.http.method", "span.events.attributes.exception.type", ...
absl::StatusOr<Key> ParseKey(std::string_view text, std::string_view field);
// An attribute key's full name (its level's prefix, then its name), the form ParseKey reads and
// TagKeys lists, whatever `key.text` holds. Requires key.level != KeyLevel::kIntrinsic.
std::string AttributeKeyName(const Key& key);

// "equals", "not_equals", "in", "not_in", "contains", "not_contains", "exists", "not_exists",
// "gt", "gte", "lt", "lte".
absl::StatusOr<Operator> ParseOperator(std::string_view text, std::string_view field);
std::string_view OperatorName(Operator op);

// Checks the invariants documented on Filter (operator arity, operand types, intrinsic types)
// and normalises intrinsic operands (kind/status names or numbers, hex ids to lowercase).
absl::Status ValidateFilter(Filter& filter, std::string_view field);

// True for keys whose values are numbers (durations, times, numeric intrinsics); attribute keys are
// typed per value, so this is false for them.
bool IsNumericIntrinsic(const Key& key);

// "min", "max", "avg", "count", "sum", "p50", "p99.9", ...
absl::StatusOr<Statistic> ParseStatistic(std::string_view text, std::string_view field);

// Cursors travel as opaque URL-safe tokens. The token binds the sort it was made for; decoding it
// under a different sort, or decoding garbage, is InvalidArgument naming `field`.
std::string EncodeCursor(const Sort& sort, const Cursor& cursor);
absl::StatusOr<Cursor> DecodeCursor(const Sort& sort, std::string_view token, std::string_view field);

// API names: "Str", "Int", "Double", "Bool", "Bytes", "Slice", "Map".
std::string_view ValueTypeName(ValueType type);

}  // namespace teletrace::query
