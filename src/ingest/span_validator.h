// Span-level validation of a decoded batch, so that one bad span does not cost a whole request.
//
//   SpanProblems problems;
//   ASSIGN_OR_RETURN(model::SpanBatch batch, DecodeOtlpProtobuf(body, &problems));
//   ValidationResult result = ValidateSpans(&batch, problems);
//   // result.rejected_spans / result.error_message go into OTLP partial_success.
#pragma once

#include <cstdint>
#include <string>

#include "ingest/span_problem.h"
#include "model/span.h"

namespace teletrace::ingest {

struct ValidationResult {
  int64_t rejected_spans = 0;
  // "" when nothing was rejected; otherwise "<n> span(s) rejected: " followed by the first few
  // problems ("span 0 of scope 0 of resource 0: trace id is all zeros; ..."), bounded in length.
  std::string error_message;
};

// Removes from `batch` every span that must not be stored: one listed in `decode_problems`
// (ids of the wrong length or encoding, found by the decoder), a trace id that is all zeros, a span
// id that is all zeros, or an end time before the start time. A parent span id of all zeros means
// a root span and is valid. Scopes and resources left without spans are removed too. Positions in
// the message are those of the request as decoded. Never fails.
ValidationResult ValidateSpans(model::SpanBatch* batch, const SpanProblems& decode_problems = {});

}  // namespace teletrace::ingest
