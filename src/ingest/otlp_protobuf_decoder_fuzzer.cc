// Untrusted OTLP/protobuf bytes must produce a batch or an InvalidArgument, never a crash; and
// whatever decodes must survive validation.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ingest/otlp_protobuf_decoder.h"
#include "ingest/span_validator.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  teletrace::ingest::SpanProblems problems;
  auto batch = teletrace::ingest::DecodeOtlpProtobuf(
      std::string_view(reinterpret_cast<const char*>(data), size), &problems);
  if (batch.ok()) {
    teletrace::ingest::ValidateSpans(&*batch, problems);
  } else if (batch.status().code() != absl::StatusCode::kInvalidArgument) {
    __builtin_trap();
  }
  return 0;
}
