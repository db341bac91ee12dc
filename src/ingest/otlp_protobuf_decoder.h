// OTLP/protobuf trace requests (ExportTraceServiceRequest) to the span model.
//
//   SpanProblems problems;
//   absl::StatusOr<model::SpanBatch> batch = DecodeOtlpProtobuf(body, &problems);
//   if (!batch.ok()) return 400 with batch.status().message();
//   ValidationResult v = ValidateSpans(&*batch, problems);
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "ingest/span_problem.h"
#include "model/span.h"

namespace teletrace::ingest {

// Reads `bytes` (an ExportTraceServiceRequest; an empty input is a valid empty request) straight
// into the model, in one pass over the wire format (no generated message in between). It accepts
// exactly what libprotobuf's parser accepts (a differential test and fuzzer hold it to that:
// unknown fields and groups skipped, a field with another wire type is an unknown one, the last
// scalar wins and repeated messages merge, strings must be UTF-8, 100 levels of nesting at most).
// Malformed bytes are InvalidArgument "invalid OTLP protobuf: ...". An id of the wrong length is
// not a decode error: the span is appended to `problems` (when not null) and its trace id is
// zeroed, so that ValidateSpans rejects it alone. Empty ids read as all zeros (a root span for the
// parent id). Thread safe; the result owns all of its data.
absl::StatusOr<model::SpanBatch> DecodeOtlpProtobuf(std::string_view bytes,
                                                    SpanProblems* problems = nullptr);

}  // namespace teletrace::ingest
