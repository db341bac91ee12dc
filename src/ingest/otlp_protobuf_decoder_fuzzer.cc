// Untrusted OTLP/protobuf bytes must produce a batch or an InvalidArgument, never a crash; whatever
// decodes must survive validation; and the wire-format decoder must agree with libprotobuf's
// parser followed by the old conversion (otlp_protobuf_reference_decoder_for_test.h) on every
// input: the same batch and span problems, or both refusing it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "google/protobuf/stubs/logging.h"
#include "ingest/otlp_protobuf_decoder.h"
#include "ingest/otlp_protobuf_reference_decoder_for_test.h"
#include "ingest/span_validator.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // libprotobuf logs every invalid UTF-8 string it refuses; the verdict is what counts here.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  teletrace::ingest::SpanProblems problems;
  auto batch = teletrace::ingest::DecodeOtlpProtobuf(bytes, &problems);
  if (batch.ok()) {
    teletrace::ingest::ValidateSpans(&*batch, problems);
  } else if (batch.status().code() != absl::StatusCode::kInvalidArgument) {
    __builtin_trap();
  }
  std::string difference = teletrace::ingest::reference_protobuf::DifferenceFromReference(bytes);
  if (!difference.empty()) {
    std::fprintf(stderr, "differs from the reference decoder: %s\n", difference.c_str());
    __builtin_trap();
  }
  return 0;
}
