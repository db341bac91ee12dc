// Serialises stored spans as the v1 API's InternalSpan JSON (REFERENCE §2), directly into a string:
// a 100k-span trace is tens of megabytes of JSON, and building a DOM first would double the work.
//
// Nanosecond times are written as exact unsigned integers (clients parsing them as doubles lose
// precision past 2^53; that is the client's choice, not ours). Ids are lowercase hex; a root span's
// parentSpanId is "". Attribute maps follow OTLP types: strings, integers, doubles (always with a
// fraction or exponent so they read back as doubles), booleans, arrays, nested objects for
// key-value lists, and base64 strings for bytes.
#pragma once

#include <string>
#include <string_view>

#include "common/json_string.h"
#include "model/span.h"
#include "query/query.h"

namespace teletrace::api::v1 {

using ::teletrace::AppendJsonString;  // common/json_string.h

void AppendAnyValue(std::string* out, const model::AnyValue& value);
void AppendAttributes(std::string* out, const model::KeyValueList& attributes);
void AppendInternalSpan(std::string* out, const model::StoredSpan& span);
void AppendTagValue(std::string* out, const query::TagValue& value);

std::string_view SpanKindName(model::SpanKind kind);
std::string_view StatusCodeName(model::StatusCode code);

}  // namespace teletrace::api::v1
