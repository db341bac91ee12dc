// Untrusted OTLP/JSON text must produce a batch or an InvalidArgument, never a crash; whatever
// decodes must survive validation; and the decoder must agree with the reference decoder it
// replaced (nlohmann::json's DOM) on every input: the same batch and span problems, or the same
// error message.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "ingest/otlp_json_decoder.h"
#include "ingest/otlp_json_reference_decoder_for_test.h"
#include "ingest/span_validator.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view json(reinterpret_cast<const char*>(data), size);
  teletrace::ingest::SpanProblems problems;
  auto batch = teletrace::ingest::DecodeOtlpJson(json, &problems);
  if (batch.ok()) {
    teletrace::ingest::ValidateSpans(&*batch, problems);
  } else if (batch.status().code() != absl::StatusCode::kInvalidArgument) {
    __builtin_trap();
  }
  std::string difference = teletrace::ingest::reference_json::DifferenceFromReference(json);
  if (!difference.empty()) {
    std::fprintf(stderr, "differs from the reference decoder: %s\n", difference.c_str());
    __builtin_trap();
  }
  return 0;
}
