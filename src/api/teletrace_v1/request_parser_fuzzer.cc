// Fuzzes the v1 request parsers with arbitrary bodies, after the key resolution every handler
// runs first: every input must yield a query or an InvalidArgument, never a crash or another code.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/teletrace_v1/key_resolver.h"
#include "api/teletrace_v1/request_parser.h"

namespace {

void CheckInvalidOrOk(const absl::Status& status) {
  if (!status.ok() && status.code() != absl::StatusCode::kInvalidArgument) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace teletrace::api::v1;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto json = ParseBody(body);
  CheckInvalidOrOk(json.status());
  if (!json.ok()) return 0;
  constexpr uint64_t kNow = 1'700'000'000'000'000'000;
  // Keys as typed are rewritten before parsing (against a fixed list of stored keys here).
  KeyResolver keys([]() -> absl::StatusOr<std::vector<teletrace::query::TagInfo>> {
    return std::vector<teletrace::query::TagInfo>{
        {"span.attributes.http.method", teletrace::query::ValueType::kStr},
        {"resource.attributes.region", teletrace::query::ValueType::kStr},
        {"span.attributes.region", teletrace::query::ValueType::kStr}};
  });
  CheckInvalidOrOk(keys.ResolveBody(&*json));
  CheckInvalidOrOk(ParseSearchRequest(*json, kNow).status());
  CheckInvalidOrOk(ParseHistogramRequest(*json, kNow).status());
  CheckInvalidOrOk(ParseTraceSearchRequest(*json, kNow).status());
  CheckInvalidOrOk(ParseDependenciesRequest(*json, kNow).status());
  CheckInvalidOrOk(ParseTagValuesRequest("span.attributes.http.method", *json, kNow).status());
  CheckInvalidOrOk(
      ParseStatisticsRequest("externalFields.durationNano", *json, kNow).status());
  return 0;
}
