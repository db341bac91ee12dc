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
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace teletrace::ingest {

// Parses `bytes` (an ExportTraceServiceRequest; an empty input is a valid empty request) into an
// arena and converts it to the model. Malformed bytes are InvalidArgument "invalid OTLP protobuf:
// ...". An id of the wrong length is not a decode error: the span is appended to `problems` (when
// not null) and its trace id is zeroed, so that ValidateSpans rejects it alone. Empty ids read as
// all zeros (a root span for the parent id). Thread safe; the result owns all of its data.
absl::StatusOr<model::SpanBatch> DecodeOtlpProtobuf(std::string_view bytes,
                                                    SpanProblems* problems = nullptr);

// The conversion step alone, for callers that parsed the message themselves (the gRPC receiver
// parses its raw byte buffer into an arena). Same id handling as DecodeOtlpProtobuf; never fails
// because protobuf bounds nesting (100 levels) while parsing.
model::SpanBatch FromOtlpProto(
    const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& request,
    SpanProblems* problems = nullptr);

}  // namespace teletrace::ingest
