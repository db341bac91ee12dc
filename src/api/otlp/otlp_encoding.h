// Stored spans back into OTLP: the protobuf TracesData and the OTLP/JSON encoding, for the APIs
// that answer in OTLP (Tempo's trace by id, Jaeger's api_v3).
//
//   std::string bytes = EncodeOtlpTracesProtobuf(trace.spans);
//   AppendOtlpTracesJson(&body, trace.spans, {});  // {"resourceSpans":[...]}
//
// Spans are grouped into one ResourceSpans per distinct resource and one ScopeSpans per distinct
// scope within it, in order of first appearance; spans keep their order within a group. Every
// field the model holds is written (ids, trace state, flags, kind, times, attributes of every type,
// events, links, status, dropped counts, schema URLs), so decoding the output with the OTLP
// decoders gives back the same spans. The JSON follows the OTLP/JSON rules: lowerCamelCase
// names, hex ids (or base64 as gogo/jsonpb writes them, for Tempo), 64-bit integers as strings,
// enums as numbers, default values omitted.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/span.h"

namespace teletrace::api::otlp {

// TracesData's bytes; the resource spans go in field `resource_spans_field` (1 in TracesData and
// in Tempo's Trace message).
std::string EncodeOtlpTracesProtobuf(const std::vector<model::StoredSpan>& spans,
                                     uint32_t resource_spans_field = 1);

struct OtlpJsonOptions {
  bool base64_ids = false;                            // ids as base64 instead of hex
  std::string_view resource_spans_key = "resourceSpans";  // Tempo's v1 trace calls it "batches"
};

// Appends {"<resource_spans_key>":[...]}.
void AppendOtlpTracesJson(std::string* out, const std::vector<model::StoredSpan>& spans,
                          const OtlpJsonOptions& options = {});

}  // namespace teletrace::api::otlp
