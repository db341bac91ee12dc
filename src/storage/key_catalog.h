// A block's key catalog: the attribute keys its spans carry, each with the value types it has, as
// TagKeysCollector reports them for the block (intrinsics left out). Stored once per distinct
// catalog beside the blocks (blocks mostly share one), so that tag keys are listed without
// decoding blocks (docs/adr/002-block-summaries.md, "Key catalogs").
//
//   std::string bytes = KeyCatalogOf(block_spans);
//   ASSIGN_OR_RETURN(std::vector<query::TagInfo> keys, ParseKeyCatalog(bytes));
//
// Format (persisted; a change needs a new version): a version byte, the key count (LEB128), then
// per key its value type (one byte, query::ValueType's order) and its full name (length-prefixed),
// in TagKeysCollector::Finish's order (name, then type), with no repeats. Equal key sets encode to
// equal bytes, which is what lets blocks share a stored catalog.
//
// Thread safety: the functions are pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "model/span.h"
#include "query/query.h"

namespace teletrace::storage {

inline constexpr uint8_t kKeyCatalogVersion = 1;

// The catalog of `spans`: the resource, scope, span, event and link attribute keys
// TagKeysCollector reports for them, serialized.
std::string KeyCatalogOf(const std::vector<const model::StoredSpan*>& spans);

// TagKeysCollector::Finish's order, a catalog's: by name, then value type.
bool KeyOrder(const query::TagInfo& a, const query::TagInfo& b);

// Serializes `keys` (attribute keys only, in KeyOrder, no repeats).
std::string EncodeKeyCatalog(const std::vector<query::TagInfo>& keys);

// Reads a catalog. DataLoss naming the problem when `bytes` is truncated, has another version, an
// unknown value type, a name that is not an attribute key's, keys out of order or repeated, or
// trailing bytes.
absl::StatusOr<std::vector<query::TagInfo>> ParseKeyCatalog(std::string_view bytes);

}  // namespace teletrace::storage
