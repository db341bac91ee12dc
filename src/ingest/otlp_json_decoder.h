// OTLP/JSON trace requests (the JSON mapping of ExportTraceServiceRequest) to the span model.
//
// OTLP/JSON is not protobuf's generic JSON mapping: ids are hex (a generic parser would read them
// as base64 and silently store wrong ids), enums are integers, 64-bit integers arrive as strings or
// numbers. This decoder accepts, for robustness, lowerCamelCase and snake_case field names, enum
// names as strings, and ignores unknown fields. JSON null reads as an absent field; of a key given
// twice the last counts; a camelCase member wins over its snake_case spelling.
//
// Parsed with simdjson (DOM, reused per thread; a parser grown past 1 MiB of input is freed after
// the request), and walked once per object. It accepts and refuses exactly what the nlohmann-based
// decoder it replaced did, with the same messages (a differential test and fuzzer hold it to that),
// save one documented difference: text nested deeper than 1024 levels is refused ("invalid OTLP
// JSON: nested more than 1024 levels deep"), even inside an unknown field. Integers beyond 64 bits
// read as the doubles they denote; a UTF-8 byte order mark is skipped, and a NUL byte after the
// document ends the text.
//
//   SpanProblems problems;
//   ASSIGN_OR_RETURN(model::SpanBatch batch, DecodeOtlpJson(body, &problems));
//   ValidationResult v = ValidateSpans(&batch, problems);
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "ingest/span_problem.h"
#include "model/span.h"

namespace teletrace::ingest {

// Decodes `json` (an empty object is a valid empty request). Errors are InvalidArgument:
// - "invalid OTLP JSON: <parser message with line and column>" for text that is not JSON;
// - "<path>: expected <type>" (e.g. "resourceSpans[0].scopeSpans: expected an array") when a known
//   field has the wrong JSON type, and "<path>: ..." for a value out of range or a bad enum name.
// An id that is not hex of the right length (e.g. base64) is not a request error: the span is
// appended to `problems` (when not null) with a message saying ids must be hex, and its trace id is
// zeroed so that ValidateSpans rejects it alone. Empty or absent ids read as all zeros (a root span
// for parentSpanId). Thread safe; the result owns all of its data.
absl::StatusOr<model::SpanBatch> DecodeOtlpJson(std::string_view json,
                                                SpanProblems* problems = nullptr);

}  // namespace teletrace::ingest
