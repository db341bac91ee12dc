// Feeds arbitrary bytes to the span block decoder: it must return an error or spans, never crash,
// and whatever it decodes must encode and decode again to the same spans. Each input is also
// decoded under a projection chosen by its last byte (groups) and second-to-last (which attribute
// key), and to its times alone (with status codes when the third-to-last is odd): never a crash,
// and a block that decodes whole decodes under every projection, and to times, with the same span
// count and times. Rows chosen by the fourth-to-last byte (a bit mask repeated over the spans)
// decode to the whole decode's spans at those rows; on input that does not decode whole, the row
// decode must fail too (every stream is checked alike). Every top-level string value of the first
// decoded span's attributes is asked of MayHoldStringAttribute, which must not rule it out. The
// first span's first attribute key is counted by CountSpanAttributeValues over all start times:
// on a block that decodes, it must count as many spans as carry the key, and at the even
// positions only, as many of those as carry it. DecodeSpanRefs, under
// the projection's resource, scope, name, kind and status code groups, gives a block that decodes
// one row per span, with its times and name.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "storage/span_block_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto decoded = teletrace::storage::DecodeSpanBlock(input);
  teletrace::storage::SpanFields fields;
  fields.groups = size > 0 ? data[size - 1] : 0;
  if (size > 1 && data[size - 2] % 2 == 1) fields.span_attributes = {"a", std::string(1, '\0')};
  auto projected = teletrace::storage::DecodeSpanBlock(input, fields);
  const bool status_codes = size > 2 && data[size - 3] % 2 == 1;
  auto times = teletrace::storage::DecodeSpanTimes(input, status_codes);
  const uint8_t mask = size > 3 ? data[size - 4] : 0xFF;
  std::vector<uint32_t> rows;
  for (uint32_t i = 0; decoded.ok() && i < decoded->size(); ++i) {
    if ((mask >> (i % 8)) & 1) rows.push_back(i);
  }
  auto picked = teletrace::storage::DecodeSpanRows(input, rows);
  if (picked.ok() != decoded.ok()) std::abort();
  if (decoded.ok()) {
    if (picked->size() != rows.size()) std::abort();
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& want = (*decoded)[rows[i]];
      const auto& got = (*picked)[i];
      // NaN attribute values compare unequal to themselves; compare what has no doubles.
      if (got.span.span_id != want.span.span_id || got.span.trace_id != want.span.trace_id ||
          got.span.parent_span_id != want.span.parent_span_id || got.span.name != want.span.name ||
          got.span.attributes.size() != want.span.attributes.size() ||
          got.span.events.size() != want.span.events.size() ||
          got.span.status != want.span.status ||
          got.ingestion_time_unix_nano != want.ingestion_time_unix_nano) {
        std::abort();
      }
    }
  }
  if (decoded.ok()) {
    if (!projected.ok() || projected->size() != decoded->size()) std::abort();
    if (!times.ok() || times->size() != decoded->size()) std::abort();
    for (size_t i = 0; i < decoded->size(); ++i) {
      const auto& whole = (*decoded)[i].span;
      if ((*projected)[i].span.start_time_unix_nano != whole.start_time_unix_nano ||
          (*projected)[i].span.end_time_unix_nano != whole.end_time_unix_nano ||
          (*times)[i].start_unix_nano != whole.start_time_unix_nano ||
          (*times)[i].end_unix_nano != whole.end_time_unix_nano ||
          (status_codes && (*times)[i].status_code != static_cast<uint8_t>(whole.status.code))) {
        std::abort();
      }
    }
  }
  // The same projection restricted to the fields SpanRefs holds: never a crash, and on a block that
  // decodes whole, one row per span with its times (none for format 1, which has no columns).
  teletrace::storage::SpanFields ref_fields;
  ref_fields.groups = fields.groups & (teletrace::storage::SpanFields::kResourceAndScope |
                                       teletrace::storage::SpanFields::kName |
                                       teletrace::storage::SpanFields::kKind |
                                       teletrace::storage::SpanFields::kStatusCode);
  auto refs = teletrace::storage::DecodeSpanRefs(input, ref_fields, std::nullopt,
                                                 teletrace::storage::RowTimes::kStartsAndEnds);
  if (decoded.ok()) {
    if (!refs.ok()) std::abort();
    if (*refs) {
      const bool named = (ref_fields.groups & teletrace::storage::SpanFields::kName) != 0;
      if ((*refs)->rows.size() != decoded->size()) std::abort();
      for (size_t i = 0; i < decoded->size(); ++i) {
        const auto& row = (*refs)->rows[i];
        const auto& whole = (*decoded)[i].span;
        if (row.start_unix_nano != whole.start_time_unix_nano ||
            row.end_unix_nano != whole.end_time_unix_nano ||
            (*refs)->names.at(row.name) != (named ? whole.name : "")) {
          std::abort();
        }
      }
    }
  }
  // Without times, the span count is bounded by another stream: the same rows, times 0.
  auto untimed = teletrace::storage::DecodeSpanRefs(input, ref_fields, std::nullopt,
                                                    teletrace::storage::RowTimes::kNone);
  if (decoded.ok()) {
    if (!untimed.ok() || untimed->has_value() != refs->has_value()) std::abort();
    if (*untimed && (*untimed)->rows.size() != (*refs)->rows.size()) std::abort();
  }
  // Never a crash on any input, whatever the key.
  (void)teletrace::storage::MayHoldStringAttribute(input, "a", {"", "b"});
  uint64_t counted = 0;
  auto count_key = [&](std::string_view key, const std::vector<uint32_t>* positions) {
    counted = 0;
    return teletrace::storage::CountSpanAttributeValues(
        input, key, teletrace::storage::StartRange{0, UINT64_MAX},
        [&counted](const std::vector<std::pair<std::string_view, uint64_t>>& strings) {
          for (const auto& [value, spans] : strings) counted += spans;
        },
        [&counted](const teletrace::model::AnyValue&) { ++counted; }, positions);
  };
  (void)count_key("a", nullptr);
  if (!decoded.ok()) return 0;
  if (!decoded->empty() && !decoded->front().span.attributes.empty()) {
    const std::string key = decoded->front().span.attributes.front().key;
    auto columnar = count_key(key, nullptr);
    if (!columnar.ok()) std::abort();
    uint64_t carrying = 0;
    for (const auto& s : *decoded) {
      carrying += teletrace::model::FindAttribute(s.span.attributes, key) != nullptr ? 1 : 0;
    }
    if (*columnar && counted != carrying) std::abort();
    // The spans at even positions only.
    std::vector<uint32_t> even;
    uint64_t carrying_even = 0;
    for (uint32_t i = 0; i < decoded->size(); i += 2) {
      even.push_back(i);
      const auto& attributes = (*decoded)[i].span.attributes;
      carrying_even += teletrace::model::FindAttribute(attributes, key) != nullptr ? 1 : 0;
    }
    columnar = count_key(key, &even);
    if (!columnar.ok() || (*columnar && counted != carrying_even)) std::abort();
  }
  if (!decoded->empty()) {
    for (const auto& kv : decoded->front().span.attributes) {
      const auto* value = std::get_if<std::string>(&kv.value.value);
      if (value == nullptr) continue;
      auto may = teletrace::storage::MayHoldStringAttribute(input, kv.key, {*value});
      if (!may.ok() || !*may) std::abort();
    }
  }
  auto again = teletrace::storage::EncodeSpanBlock(*decoded);
  if (!again.ok()) std::abort();
  auto redecoded = teletrace::storage::DecodeSpanBlock(*again);
  if (!redecoded.ok() || redecoded->size() != decoded->size()) std::abort();
  for (size_t i = 0; i < decoded->size(); ++i) {
    const auto& a = (*decoded)[i];
    const auto& b = (*redecoded)[i];
    // NaN attribute values compare unequal to themselves; compare the rest field by field.
    if (a.span.trace_id != b.span.trace_id || a.span.span_id != b.span.span_id ||
        a.span.start_time_unix_nano != b.span.start_time_unix_nano ||
        a.span.end_time_unix_nano != b.span.end_time_unix_nano ||
        a.ingestion_time_unix_nano != b.ingestion_time_unix_nano || a.span.name != b.span.name) {
      std::abort();
    }
  }
  return 0;
}
