// The table of intrinsic keys: their API names and value types. Internal to query/; one table so
// that parsing, validation, matching and the tag key listing cannot disagree about a name.
#pragma once

#include <string_view>

#include "query/query.h"

namespace teletrace::query {

// How an intrinsic's values are typed at the API.
enum class IntrinsicType {
  kString,  // free text (name, trace state, status message, scope name/version, event name)
  kId,      // lowercase hex ids
  kNumber,  // unsigned nanosecond times and durations, compared as numbers
  kKind,    // span kind, compared by canonical name ("Server")
  kStatus,  // status code, compared by canonical name ("Error")
};

struct IntrinsicInfo {
  Intrinsic intrinsic;
  std::string_view name;
  IntrinsicType type;
};

// In the order of the Intrinsic enum.
inline constexpr IntrinsicInfo kIntrinsics[] = {
    {Intrinsic::kTraceId, "span.traceId", IntrinsicType::kId},
    {Intrinsic::kSpanId, "span.spanId", IntrinsicType::kId},
    {Intrinsic::kParentSpanId, "span.parentSpanId", IntrinsicType::kId},
    {Intrinsic::kTraceState, "span.traceState", IntrinsicType::kString},
    {Intrinsic::kName, "span.name", IntrinsicType::kString},
    {Intrinsic::kKind, "span.kind", IntrinsicType::kKind},
    {Intrinsic::kStatusCode, "span.status.code", IntrinsicType::kStatus},
    {Intrinsic::kStatusMessage, "span.status.message", IntrinsicType::kString},
    {Intrinsic::kStartTime, "span.startTimeUnixNano", IntrinsicType::kNumber},
    {Intrinsic::kEndTime, "span.endTimeUnixNano", IntrinsicType::kNumber},
    {Intrinsic::kDuration, "externalFields.durationNano", IntrinsicType::kNumber},
    {Intrinsic::kScopeName, "scope.name", IntrinsicType::kString},
    {Intrinsic::kScopeVersion, "scope.version", IntrinsicType::kString},
    {Intrinsic::kEventName, "span.events.name", IntrinsicType::kString},
    {Intrinsic::kLinkTraceId, "span.links.traceId", IntrinsicType::kId},
    {Intrinsic::kLinkSpanId, "span.links.spanId", IntrinsicType::kId},
    {Intrinsic::kIngestionTime, "ingestionTimeUnixNano", IntrinsicType::kNumber},
};

inline const IntrinsicInfo& InfoOf(Intrinsic intrinsic) {
  return kIntrinsics[static_cast<size_t>(intrinsic)];
}

// Canonical API names, indexed by the model enums' values.
inline constexpr std::string_view kSpanKindNames[] = {"Unspecified", "Internal", "Server",
                                                      "Client",      "Producer", "Consumer"};
inline constexpr std::string_view kStatusCodeNames[] = {"Unset", "Ok", "Error"};

}  // namespace teletrace::query
