#include "storage/clickhouse/span_rows.h"

#include <zstd.h>

#include <algorithm>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "common/ids.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "model/last_occurrence.h"
#include "storage/span_block_codec.h"

namespace teletrace::storage::clickhouse {
namespace {

constexpr uint64_t kNanosPerHour = uint64_t{3600} * 1000000000;
constexpr uint64_t kNanosPerDay = uint64_t{86400} * 1000000000;

// Type codes of attr_types, in query::ValueType order; array elements add kElement.
enum TypeCode : uint8_t {
  kStr = 0,
  kInt = 1,
  kDouble = 2,
  kBool = 3,
  kBytes = 4,
  kSlice = 5,
  kMap = 6,
  kElement = 16,
  kEmpty = 255,
};

// The attribute arrays of one span (see migrations/001_initial.sql), all levels together.
struct AttributeColumns {
  std::vector<std::string> keys;
  std::vector<uint8_t> types;
  std::vector<std::string_view> str;
  std::vector<int64_t> ints;
  std::vector<double> dbls;

  void Add(std::string key, uint8_t type, std::string_view s, int64_t i, double d) {
    keys.push_back(std::move(key));
    types.push_back(type);
    str.push_back(s);
    ints.push_back(i);
    dbls.push_back(d);
  }

  // One entry for `v` under `key`, typed `offset` + its type; false (nothing added) when `v` is
  // not a scalar.
  bool AddScalar(const std::string& key, const model::AnyValue& v, uint8_t offset) {
    if (const auto* s = std::get_if<std::string>(&v.value)) {
      Add(key, static_cast<uint8_t>(offset + kStr), *s, 0, 0);
    } else if (const auto* i = std::get_if<int64_t>(&v.value)) {
      Add(key, static_cast<uint8_t>(offset + kInt), {}, *i, 0);
    } else if (const auto* d = std::get_if<double>(&v.value)) {
      Add(key, static_cast<uint8_t>(offset + kDouble), {}, 0, *d);
    } else if (const auto* b = std::get_if<bool>(&v.value)) {
      Add(key, static_cast<uint8_t>(offset + kBool), {}, *b ? 1 : 0, 0);
    } else {
      return false;
    }
    return true;
  }

  void AddList(char level, const model::KeyValueList& attributes) {
    // The last occurrence of a key wins.
    model::ForEachLastOccurrence(attributes, [&](const model::KeyValue& kv) {
      std::string key;
      key.reserve(kv.key.size() + 1);
      key.push_back(level);
      key.append(kv.key);
      if (AddScalar(key, kv.value, 0)) return;
      const auto& value = kv.value.value;
      uint8_t type = kEmpty;
      if (value.index() == 5) type = kBytes;
      if (value.index() == 6) type = kSlice;
      if (value.index() == 7) type = kMap;
      Add(key, type, {}, 0, 0);
      if (type == kSlice) {
        for (const model::AnyValue& element : std::get<model::ArrayValue>(value)) {
          AddScalar(key, element, kElement);
        }
      }
    });
  }

  void Write(RowBinaryWriter& out) const {
    out.ArraySize(keys.size());
    for (const std::string& k : keys) out.String(k);
    out.ArraySize(types.size());
    for (uint8_t t : types) out.UInt8(t);
    out.ArraySize(str.size());
    for (std::string_view v : str) out.String(v);
    out.ArraySize(ints.size());
    for (int64_t v : ints) out.Int64(v);
    out.ArraySize(dbls.size());
    for (double v : dbls) out.Float64(v);
  }
};

// Zstd frames (RFC 8878) made of raw blocks, to read format 1 span column values (the body without
// its frame) with DecodeSpanBlock.
constexpr uint32_t kZstdMagic = 0xFD2FB528;
constexpr size_t kZstdMaxBlock = 128 * 1024;

void AppendLe(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>(v >> (8 * i) & 0xff));
}

std::string RawZstdFrame(std::string_view content) {
  std::string frame;
  frame.reserve(content.size() + 16 + 3 * (content.size() / kZstdMaxBlock + 1));
  AppendLe(frame, kZstdMagic, 4);
  // Frame header descriptor: 8-byte content size, single segment, no checksum, no dictionary.
  frame.push_back(static_cast<char>(0xE0));
  AppendLe(frame, content.size(), 8);
  size_t pos = 0;
  do {
    size_t n = std::min(kZstdMaxBlock, content.size() - pos);
    bool last = pos + n == content.size();
    // Block header: bit 0 last block, bits 1-2 type (0 = raw), bits 3-23 size.
    AppendLe(frame, (static_cast<uint64_t>(n) << 3) | (last ? 1 : 0), 3);
    frame.append(content.substr(pos, n));
    pos += n;
  } while (pos < content.size());
  return frame;
}

}  // namespace

absl::StatusOr<std::string> EncodeSpanColumn(const model::StoredSpan& span) {
  // ClickHouse compresses the column itself: store the block's sections uncompressed.
  SpanBlockOptions options;
  options.compress = false;
  return EncodeSpanBlock(std::vector<const model::StoredSpan*>{&span}, options);
}

absl::StatusOr<model::StoredSpan> DecodeSpanColumn(std::string_view value) {
  if (value.empty()) return absl::DataLossError("clickhouse: empty span column value");
  std::string block;
  if (static_cast<uint8_t>(value[0]) == kSpanBlockFormatV1) {
    // Rows written before format 2 hold the format 1 body without its zstd frame.
    block.assign(1, value[0]);
    block += RawZstdFrame(value.substr(1));
    value = block;
  }
  ASSIGN_OR_RETURN(std::vector<model::StoredSpan> spans, DecodeSpanBlock(value));
  if (spans.size() != 1) {
    return absl::DataLossError(
        fmt::format("clickhouse: span column value holds {} spans, expected 1", spans.size()));
  }
  return std::move(spans[0]);
}

const std::string& SpanInsertColumns() {
  static const std::string* columns = [] {
    auto* s = new std::string(
        "(start_date, start_hour, service_name, name, start_time_unix_nano, trace_id, span_id, "
        "parent_span_id, end_time_unix_nano, duration_nano, ingestion_time_unix_nano, kind, "
        "status_code, status_message, trace_state, scope_name, scope_version, event_names, "
        "link_trace_ids, link_span_ids, attr_keys, attr_types, attr_str, attr_int, attr_dbl, "
        "span)");
    return s;
  }();
  return *columns;
}

absl::Status AppendSpanRow(const model::StoredSpan& stored, RowBinaryWriter& out) {
  const model::Span& s = stored.span;
  // Date is UInt16 days and start_hour UInt32: clamp rather than wrap for absurd timestamps, so
  // such a span still lands in the newest partition instead of an old one retention would drop.
  out.UInt16(
      static_cast<uint16_t>(std::min<uint64_t>(s.start_time_unix_nano / kNanosPerDay, 65535)));
  out.UInt32(static_cast<uint32_t>(
      std::min<uint64_t>(s.start_time_unix_nano / kNanosPerHour, UINT32_MAX)));
  out.String(stored.resource != nullptr ? model::ServiceName(*stored.resource) : "");
  out.String(s.name);
  out.UInt64(s.start_time_unix_nano);
  out.Fixed(IdBytes(s.trace_id));
  out.Fixed(IdBytes(s.span_id));
  out.Fixed(IdBytes(s.parent_span_id));
  out.UInt64(s.end_time_unix_nano);
  out.UInt64(s.DurationNano());
  out.UInt64(stored.ingestion_time_unix_nano);
  out.UInt8(static_cast<uint8_t>(s.kind));
  out.UInt8(static_cast<uint8_t>(s.status.code));
  out.String(s.status.message);
  out.String(s.trace_state);
  out.String(stored.scope != nullptr ? stored.scope->name : "");
  out.String(stored.scope != nullptr ? stored.scope->version : "");
  out.ArraySize(s.events.size());
  for (const model::Event& e : s.events) out.String(e.name);
  out.ArraySize(s.links.size());
  for (const model::Link& l : s.links) out.Fixed(IdBytes(l.trace_id));
  out.ArraySize(s.links.size());
  for (const model::Link& l : s.links) out.Fixed(IdBytes(l.span_id));

  AttributeColumns attributes;
  if (stored.resource != nullptr) attributes.AddList('r', stored.resource->attributes);
  if (stored.scope != nullptr) attributes.AddList('s', stored.scope->attributes);
  attributes.AddList('a', s.attributes);
  for (const model::Event& e : s.events) attributes.AddList('e', e.attributes);
  for (const model::Link& l : s.links) attributes.AddList('l', l.attributes);
  attributes.Write(out);

  ASSIGN_OR_RETURN(std::string blob, EncodeSpanColumn(stored));
  out.String(blob);
  return absl::OkStatus();
}

}  // namespace teletrace::storage::clickhouse
