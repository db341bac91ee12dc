// The OTLP/protobuf decoder that served until the wire-format decoder replaced it: libprotobuf's
// generated parser into an arena, then a conversion to the model. Kept for tests only: the
// differential test, the fuzzer and the micro-benchmark compare DecodeOtlpProtobuf with it. Not
// linked into the server.
#pragma once

#include <climits>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/ids.h"
#include "fmt/format.h"
#include "google/protobuf/arena.h"
#include "ingest/decode_difference_for_test.h"
#include "ingest/otlp_protobuf_decoder.h"
#include "ingest/span_problem.h"
#include "model/span.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace teletrace::ingest::reference_protobuf {

namespace otlp_common = opentelemetry::proto::common::v1;
namespace otlp_trace = opentelemetry::proto::trace::v1;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

inline model::AnyValue FromProto(const otlp_common::AnyValue& v);

inline model::KeyValueList FromProto(
    const google::protobuf::RepeatedPtrField<otlp_common::KeyValue>& attributes) {
  model::KeyValueList out;
  out.reserve(attributes.size());
  for (const otlp_common::KeyValue& kv : attributes) {
    out.push_back(model::KeyValue{kv.key(), FromProto(kv.value())});
  }
  return out;
}

inline model::AnyValue FromProto(const otlp_common::AnyValue& v) {
  switch (v.value_case()) {
    case otlp_common::AnyValue::kStringValue:
      return model::AnyValue(v.string_value());
    case otlp_common::AnyValue::kBoolValue:
      return model::AnyValue(v.bool_value());
    case otlp_common::AnyValue::kIntValue:
      return model::AnyValue(static_cast<int64_t>(v.int_value()));
    case otlp_common::AnyValue::kDoubleValue:
      return model::AnyValue(v.double_value());
    case otlp_common::AnyValue::kBytesValue:
      return model::AnyValue(model::Bytes{v.bytes_value()});
    case otlp_common::AnyValue::kArrayValue: {
      model::ArrayValue array;
      array.reserve(v.array_value().values_size());
      for (const otlp_common::AnyValue& element : v.array_value().values()) {
        array.push_back(FromProto(element));
      }
      return model::AnyValue(std::move(array));
    }
    case otlp_common::AnyValue::kKvlistValue:
      return model::AnyValue(FromProto(v.kvlist_value().values()));
    case otlp_common::AnyValue::VALUE_NOT_SET:
      break;
  }
  return model::AnyValue();
}

// Copies an id; false with `*why` when `bytes` is neither empty (read as zeros) nor N bytes.
template <size_t N>
inline bool ReadId(const std::string& bytes, std::string_view what, std::array<uint8_t, N>* id,
                   std::string* why) {
  if (bytes.empty()) return true;
  if (IdFromBytes(bytes, id)) return true;
  if (why->empty()) *why = fmt::format("{} must be {} bytes, got {}", what, N, bytes.size());
  return false;
}

inline model::SpanKind KindFromProto(int kind) {
  // Unknown values (proto3 enums are open) read as unspecified rather than failing the span.
  return kind >= 0 && kind <= 5 ? static_cast<model::SpanKind>(kind)
                                : model::SpanKind::kUnspecified;
}

inline model::StatusCode StatusCodeFromProto(int code) {
  return code >= 0 && code <= 2 ? static_cast<model::StatusCode>(code) : model::StatusCode::kUnset;
}

inline model::Span FromProto(const otlp_trace::Span& in, std::string* why) {
  model::Span span;
  ReadId(in.trace_id(), "trace id", &span.trace_id, why);
  ReadId(in.span_id(), "span id", &span.span_id, why);
  ReadId(in.parent_span_id(), "parent span id", &span.parent_span_id, why);
  span.trace_state = in.trace_state();
  span.flags = in.flags();
  span.name = in.name();
  span.kind = KindFromProto(in.kind());
  span.start_time_unix_nano = in.start_time_unix_nano();
  span.end_time_unix_nano = in.end_time_unix_nano();
  span.attributes = FromProto(in.attributes());
  span.dropped_attributes_count = in.dropped_attributes_count();
  span.events.reserve(in.events_size());
  for (const otlp_trace::Span::Event& e : in.events()) {
    span.events.push_back(model::Event{e.time_unix_nano(), e.name(), FromProto(e.attributes()),
                                       e.dropped_attributes_count()});
  }
  span.dropped_events_count = in.dropped_events_count();
  span.links.reserve(in.links_size());
  for (int i = 0; i < in.links_size(); ++i) {
    const otlp_trace::Span::Link& l = in.links(i);
    model::Link link;
    ReadId(l.trace_id(), fmt::format("link {} trace id", i), &link.trace_id, why);
    ReadId(l.span_id(), fmt::format("link {} span id", i), &link.span_id, why);
    link.trace_state = l.trace_state();
    link.attributes = FromProto(l.attributes());
    link.dropped_attributes_count = l.dropped_attributes_count();
    link.flags = l.flags();
    span.links.push_back(std::move(link));
  }
  span.dropped_links_count = in.dropped_links_count();
  span.status.message = in.status().message();
  span.status.code = StatusCodeFromProto(in.status().code());
  return span;
}

inline model::SpanBatch FromOtlpProto(const ExportTraceServiceRequest& request,
                                      SpanProblems* problems) {
  model::SpanBatch batch;
  batch.resource_spans.reserve(request.resource_spans_size());
  for (int r = 0; r < request.resource_spans_size(); ++r) {
    const otlp_trace::ResourceSpans& in_rs = request.resource_spans(r);
    model::ResourceSpans& rs = batch.resource_spans.emplace_back();
    rs.resource.attributes = FromProto(in_rs.resource().attributes());
    rs.resource.dropped_attributes_count = in_rs.resource().dropped_attributes_count();
    rs.resource.schema_url = in_rs.schema_url();
    rs.scope_spans.reserve(in_rs.scope_spans_size());
    for (int s = 0; s < in_rs.scope_spans_size(); ++s) {
      const otlp_trace::ScopeSpans& in_ss = in_rs.scope_spans(s);
      model::ScopeSpans& ss = rs.scope_spans.emplace_back();
      ss.scope.name = in_ss.scope().name();
      ss.scope.version = in_ss.scope().version();
      ss.scope.attributes = FromProto(in_ss.scope().attributes());
      ss.scope.dropped_attributes_count = in_ss.scope().dropped_attributes_count();
      ss.scope.schema_url = in_ss.schema_url();
      ss.spans.reserve(in_ss.spans_size());
      for (int i = 0; i < in_ss.spans_size(); ++i) {
        std::string why;
        model::Span& span = ss.spans.emplace_back(FromProto(in_ss.spans(i), &why));
        if (!why.empty()) {
          span.trace_id = TraceId{};
          if (problems != nullptr) {
            problems->push_back(SpanProblem{static_cast<size_t>(r), static_cast<size_t>(s),
                                            static_cast<size_t>(i), std::move(why)});
          }
        }
      }
    }
  }
  return batch;
}

inline absl::StatusOr<model::SpanBatch> DecodeOtlpProtobuf(std::string_view bytes,
                                                           SpanProblems* problems) {
  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError(fmt::format(
        "invalid OTLP protobuf: {} bytes is more than protobuf can parse", bytes.size()));
  }
  // An arena makes the parse's many small allocations one bump each and frees them at once.
  google::protobuf::Arena arena;
  auto* request = google::protobuf::Arena::CreateMessage<ExportTraceServiceRequest>(&arena);
  if (!request->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError(fmt::format(
        "invalid OTLP protobuf: cannot parse {} bytes as an ExportTraceServiceRequest (truncated, "
        "corrupt, or nested too deeply)",
        bytes.size()));
  }
  return FromOtlpProto(*request, problems);
}

// Empty when DecodeOtlpProtobuf and the reference decoder agree on `bytes` (the same batch and
// span problems, or both refuse them), else what differs.
inline std::string DifferenceFromReference(std::string_view bytes) {
  SpanProblems new_problems, old_problems;
  absl::StatusOr<model::SpanBatch> now = ingest::DecodeOtlpProtobuf(bytes, &new_problems);
  absl::StatusOr<model::SpanBatch> before =
      reference_protobuf::DecodeOtlpProtobuf(bytes, &old_problems);
  return ingest::testing::DecodeDifference(std::move(now), new_problems, std::move(before),
                                           old_problems);
}

}  // namespace teletrace::ingest::reference_protobuf
