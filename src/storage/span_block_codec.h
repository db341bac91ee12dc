// The span block: the unit the embedded store keeps, a few hundred to a few thousand spans encoded
// into one compact, compressed record (docs/adr/001-sqlite-block-storage.md).
//
//   ASSIGN_OR_RETURN(std::string block, EncodeSpanBlock(spans));
//   ASSIGN_OR_RETURN(std::vector<model::StoredSpan> back, DecodeSpanBlock(block));
//
// Layout: one format byte, then a zstd frame holding the body. The body is the span count, a
// resource table and a scope table (each deduplicated by value inside the block), then one stream
// per span field (format 2: a column store, so zstd sees like values together; trace ids, span
// names and attribute keys are per-block tables, parents are positions in the block), then one
// stream of values per attribute key; format 3 is format 2 with a string value's first occurrence
// in its key's table tagged rather than indexed. Formats 1 (spans one after another) and 2 are
// still decoded.
// Integers are LEB128 varints (signed ones zigzag), strings and byte strings are length-prefixed,
// attribute values carry a type tag, and times are deltas (modulo 2^64) so that any uint64 value
// round-trips exactly.
//
// Thread safety: call the functions from any thread. Each thread keeps the buffers and tables
// encoding allocates for its next block (emptied first; all let go once they pass 4 MiB).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "model/span.h"

namespace teletrace::storage {

inline constexpr uint8_t kSpanBlockFormatV1 = 1;  // row-wise; still read, no longer written
inline constexpr uint8_t kSpanBlockFormatV2 = 2;  // column-wise; still read, no longer written
// Column-wise, a string attribute value's first occurrence tagged instead of indexed: what
// EncodeSpanBlock writes.
inline constexpr uint8_t kSpanBlockFormatV3 = 3;

// The largest uncompressed body a block may have. Encoding refuses to exceed it (the caller splits
// the span list) and decoding refuses it, so every written block is readable and corrupt input
// cannot make the decoder allocate without bound. A typical 1,024-span body is ~400 KiB.
inline constexpr size_t kMaxSpanBlockBodyBytes = size_t{16} << 20;

struct SpanBlockOptions {
  int zstd_level = 1;  // 1-3 keeps encoding well above the ingest rate on one core
  // False stores every section uncompressed, for a caller whose storage compresses anyway (the
  // ClickHouse span column); DecodeSpanBlock reads both.
  bool compress = true;
};

// Encodes `spans` (in the given order) into a block. Every field of each StoredSpan round-trips,
// including its ingestion time; resources and scopes that compare equal are stored once. Errors:
// OutOfRange when the body would exceed kMaxSpanBlockBodyBytes (encode fewer spans per block),
// Internal when compression fails. The caller owns the returned bytes.
absl::StatusOr<std::string> EncodeSpanBlock(const std::vector<const model::StoredSpan*>& spans,
                                            const SpanBlockOptions& options = {});
absl::StatusOr<std::string> EncodeSpanBlock(const std::vector<model::StoredSpan>& spans,
                                            const SpanBlockOptions& options = {});

// The parts of each span a reader needs (a projection). DecodeSpanBlock leaves the others
// default-constructed and does not even decompress their sections, so a query over durations
// reads two small streams of a block instead of all of it. Start and end times are always
// decoded. Format 1 blocks are decoded whole whatever is asked.
struct SpanFields {
  enum Group : uint32_t {
    kIds = 1u << 0,               // trace id, span id, parent span id
    kResourceAndScope = 1u << 1,  // the shared_ptrs (null when not asked for)
    kName = 1u << 2,
    kKind = 1u << 3,
    kStatusCode = 1u << 4,
    kStatusMessage = 1u << 5,
    kEventsAndLinks = 1u << 6,  // with every dropped count
    kOther = 1u << 7,           // trace state, flags, ingestion time
    kAllAttributes = 1u << 8,   // every span attribute; else only those in `span_attributes`
  };
  uint32_t groups = ~uint32_t{0};
  std::vector<std::string> span_attributes;  // span attribute keys to decode (few: a linear scan)

  static SpanFields All() { return {}; }
  bool IsAll() const { return groups == ~uint32_t{0}; }
};

// Decodes a block written by EncodeSpanBlock, in the encoded order. Spans that shared a resource
// (or scope) in the block share one shared_ptr. Any malformed, truncated or unknown-version input
// yields DataLoss with a message saying what was wrong; it never crashes or over-allocates. With a
// projection, only the sections it reads are checked: a block whose unread sections are damaged
// may still answer it (the whole-block decode reports the damage).
absl::StatusOr<std::vector<model::StoredSpan>> DecodeSpanBlock(
    std::string_view block, const SpanFields& fields = SpanFields::All());

// The whole spans at positions `rows` (strictly ascending) of a block, in that order: what
// DecodeSpanBlock gives at those positions, checked alike, without building the other spans. A
// search decodes a block's filter keys first, then only the spans that match. Errors:
// DecodeSpanBlock's, and InvalidArgument for rows out of order or past the block's span count.
absl::StatusOr<std::vector<model::StoredSpan>> DecodeSpanRows(std::string_view block,
                                                             const std::vector<uint32_t>& rows);

struct SpanTimes {
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = 0;
  uint8_t status_code = 0;  // a model::StatusCode; 0 unless asked for
};

// The start and end times (and with `status_codes` the status codes) of a block's spans, in order:
// what DecodeSpanBlock with that projection gives, without building a span for each. The fast
// path of the search page's panels: duration statistics and histograms, by status or not.
absl::StatusOr<std::vector<SpanTimes>> DecodeSpanTimes(std::string_view block,
                                                       bool status_codes = false);

// Start times from first to second, both included (query::InRange's test).
using StartRange = std::pair<uint64_t, uint64_t>;

// The values span attribute `key` takes on the block's spans whose start time is in `starts` (all
// spans without it), as a decode of that key would give them, without building spans: the fast
// path of tag values. A span's value is its last occurrence of the key. The distinct strings are
// handed to `on_strings` once, after the spans, each with the number of spans that have it (none
// with 0), in first-seen order: views into the block's decompressed sections, valid during the
// call, all at once so that the caller can look them up in a batch. Any other value is handed to
// `on_other` once per span, in span order. With `positions` (ascending), only the spans at those
// positions of the block count, in `starts` still: the rows a filter kept (span_refs_query.h's
// KeepMatching).
// Returns false without calls for a format 1 block, which must be decoded.
// Errors: DataLoss when the sections it reads are malformed; it checks less than DecodeSpanBlock
// (other keys' values and the header are not read: spans are counted by their lists of attribute
// keys), so a block it counts may still fail to decode.
absl::StatusOr<bool> CountSpanAttributeValues(
    std::string_view block, std::string_view key, const std::optional<StartRange>& starts,
    const std::function<void(const std::vector<std::pair<std::string_view, uint64_t>>&)>&
        on_strings,
    const std::function<void(const model::AnyValue&)>& on_other,
    const std::vector<uint32_t>* positions = nullptr);

// The resource, scope, name, kind and status code columns of a block's spans whose start time is
// in `starts` (all spans without it), as table indexes: what a query reading only those fields
// needs, without building a span each. The fast path of tag values such as the Jaeger API's
// operations of a service (span names where service.name is one value): a filter is evaluated
// once per distinct resource or name of a block, not once per span.
struct SpanRefs {
  // The block's tables. A field the projection does not read has one entry: what a decode with
  // that projection gives (no resource or scope, an empty name).
  std::vector<std::shared_ptr<const model::Resource>> resources;
  std::vector<std::shared_ptr<const model::Scope>> scopes;
  std::vector<std::string> names;
  struct Row {
    uint64_t start_unix_nano = 0;
    uint64_t end_unix_nano = 0;                  // 0 unless asked for
    uint32_t position = 0;                       // of the span in the block (DecodeSpanRows')
    uint32_t resource = 0, scope = 0, name = 0;  // indexes into the tables
    uint8_t kind = 0, status_code = 0;           // a model::SpanKind and StatusCode; 0 unread
  };
  std::vector<Row> rows;  // in block order
};

// The times DecodeSpanRefs sets in its rows (0 where not).
enum class RowTimes {
  kNone,           // none: tag values need only the positions; start times are still read (and
                   // set) to apply a range, or when no other stream read bounds the span count
  kStarts,         // start times
  kStartsAndEnds,  // start and end times: a filter on the duration or the end time
};

// Nullopt for a format 1 block and for a projection that reads anything but kResourceAndScope,
// kName, kKind and kStatusCode (and the times). Errors: DataLoss when the sections it reads are
// malformed (other fields' streams are not read).
absl::StatusOr<std::optional<SpanRefs>> DecodeSpanRefs(std::string_view block,
                                                       const SpanFields& fields,
                                                       const std::optional<StartRange>& starts,
                                                       RowTimes times = RowTimes::kStarts);

// False when no span of the block can have span attribute `key` equal to one of the strings
// `values` (as query/matcher.cc compares: a string value equal to one, or an array holding one),
// found from the key's string table alone, without building spans: a search's equality filter
// rules out most blocks that way. True when some span may (the key's table holds one of the
// values, or the key has arrays, maps or other values this cannot rule out), and for format 1
// blocks. Errors: the sections it opens are damaged (DecodeSpanBlock names that damage too).
absl::StatusOr<bool> MayHoldStringAttribute(std::string_view block, std::string_view key,
                                            const std::vector<std::string>& values);

}  // namespace teletrace::storage
