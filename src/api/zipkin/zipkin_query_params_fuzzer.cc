// Untrusted query strings must parse or produce an InvalidArgument, never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/teletrace_v1/teletrace_v1_api.h"
#include "api/zipkin/zipkin_query_params.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace teletrace::api::zipkin;  // NOLINT(build/namespaces)
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto params = teletrace::api::v1::ParseQueryString(text);
  auto check = [](const absl::Status& s) {
    if (!s.ok() && s.code() != absl::StatusCode::kInvalidArgument) __builtin_trap();
  };
  check(ParseTraceSearchParams(params, 1'700'000'000'000'000'000, 1000).status());
  check(ParseDependencyParams(params).status());
  check(ParseAnnotationQuery(text).status());
  check(ParseZipkinTraceId(text).status());
  return 0;
}
