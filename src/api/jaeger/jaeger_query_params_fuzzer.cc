// Fuzzes the Jaeger query parameters (query string, tags JSON and logfmt, durations, trace ids):
// any input must give a value or InvalidArgument, never a crash, and an accepted search must hold
// the invariants the handler relies on.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/jaeger/jaeger_query_params.h"
#include "api/teletrace_v1/teletrace_v1_api.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  using teletrace::api::jaeger::ParseTraceSearchParams;
  auto params = ParseTraceSearchParams(teletrace::api::v1::ParseQueryString(text),
                                       1'700'000'000'000'000'000, 1000);
  if (params.ok()) {
    if (params->start_unix_nano > params->end_unix_nano) std::abort();
    if (params->limit == 0 || params->limit > 1000) std::abort();
    if (params->service.empty() && params->trace_ids.empty()) std::abort();
  } else if (params.status().code() != absl::StatusCode::kInvalidArgument) {
    std::abort();
  }
  (void)teletrace::api::jaeger::ParseGoDuration(text, "d");
  (void)teletrace::api::jaeger::ParseTags({std::string(text)}, {std::string(text)});
  (void)teletrace::api::jaeger::ParseJaegerTraceId(text);
  return 0;
}
