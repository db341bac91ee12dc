// Untrusted Zipkin JSON v2 text must produce a batch or an InvalidArgument, never a crash; and
// whatever decodes must survive validation.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ingest/span_validator.h"
#include "ingest/zipkin_json_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto batch = teletrace::ingest::DecodeZipkinJson(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (batch.ok()) {
    teletrace::ingest::ValidateSpans(&*batch);
  } else if (batch.status().code() != absl::StatusCode::kInvalidArgument) {
    __builtin_trap();
  }
  return 0;
}
