// Feeds arbitrary bytes to the span block decoder: it must return an error or spans, never crash,
// and whatever it decodes must encode and decode again to the same spans.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "storage/span_block_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto decoded = teletrace::storage::DecodeSpanBlock(input);
  if (!decoded.ok()) return 0;
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
