#include "ingest/otlp_http_receiver.h"

#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "google/rpc/status.pb.h"
#include "ingest/otlp_json_decoder.h"
#include "ingest/otlp_protobuf_decoder.h"
#include "ingest/span_validator.h"
#include "nlohmann/json.hpp"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace teletrace::ingest {
namespace {

constexpr std::string_view kTracesPath = "/v1/traces";
constexpr std::string_view kProtobufType = "application/x-protobuf";
constexpr std::string_view kJsonType = "application/json";

enum class Encoding { kProtobuf, kJson };

// google.rpc.Code values used in error bodies.
constexpr int kCodeInvalidArgument = 3;
constexpr int kCodeNotFound = 5;
constexpr int kCodeResourceExhausted = 8;
constexpr int kCodeUnimplemented = 12;
constexpr int kCodeUnavailable = 14;

std::string Lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The media type without parameters ("; charset=utf-8"), lowercased and trimmed.
std::string MediaType(std::string_view content_type) {
  size_t semicolon = content_type.find(';');
  if (semicolon != std::string_view::npos) content_type = content_type.substr(0, semicolon);
  while (!content_type.empty() && (content_type.front() == ' ' || content_type.front() == '\t')) {
    content_type.remove_prefix(1);
  }
  while (!content_type.empty() && (content_type.back() == ' ' || content_type.back() == '\t')) {
    content_type.remove_suffix(1);
  }
  return Lowercase(content_type);
}

std::string Message(const absl::Status& status) { return std::string(status.message()); }

std::string DumpJson(const nlohmann::json& j) {
  // Messages may quote client bytes cut mid-character; replace rather than throw.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

HttpResponse Respond(Encoding encoding, int http_status, std::string body) {
  HttpResponse response;
  response.status = http_status;
  response.content_type = std::string(encoding == Encoding::kProtobuf ? kProtobufType : kJsonType);
  response.body = std::move(body);
  return response;
}

// A google.rpc.Status body in the request's encoding, as OTLP/HTTP requires for errors.
HttpResponse ErrorResponse(Encoding encoding, int http_status, int code,
                           const std::string& message) {
  if (encoding == Encoding::kProtobuf) {
    google::rpc::Status status;
    status.set_code(code);
    status.set_message(message);
    return Respond(encoding, http_status, status.SerializeAsString());
  }
  return Respond(encoding, http_status, DumpJson({{"code", code}, {"message", message}}));
}

HttpResponse SuccessResponse(Encoding encoding, const ValidationResult& validation) {
  if (encoding == Encoding::kProtobuf) {
    opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse response;
    if (validation.rejected_spans > 0) {
      response.mutable_partial_success()->set_rejected_spans(validation.rejected_spans);
      response.mutable_partial_success()->set_error_message(validation.error_message);
    }
    return Respond(encoding, 200, response.SerializeAsString());
  }
  if (validation.rejected_spans == 0) return Respond(encoding, 200, "{}");
  // int64 fields are strings in the protobuf JSON mapping.
  nlohmann::json body = {
      {"partialSuccess",
       {{"rejectedSpans", std::to_string(validation.rejected_spans)},
        {"errorMessage", validation.error_message}}}};
  return Respond(encoding, 200, DumpJson(body));
}

// The one mapping from a pipeline outcome to an OTLP/HTTP response. Every failure the pipeline
// reports is retryable: a full queue (429) or a pipeline that is stopping or a storage commit that
// failed (503); the client keeps the data and retries after Retry-After.
HttpResponse PipelineFailureResponse(Encoding encoding, const absl::Status& status) {
  HttpResponse response;
  if (absl::IsResourceExhausted(status)) {
    response = ErrorResponse(encoding, 429, kCodeResourceExhausted, Message(status));
  } else if (absl::IsUnavailable(status)) {
    response = ErrorResponse(encoding, 503, kCodeUnavailable, Message(status));
  } else {
    response = ErrorResponse(
        encoding, 503, kCodeUnavailable,
        fmt::format("storage error, spans not stored; retry later: {}", Message(status)));
  }
  response.headers.emplace_back("Retry-After", "1");
  return response;
}

}  // namespace

OtlpHttpReceiver::OtlpHttpReceiver(Pipeline* pipeline, Metrics* metrics)
    : pipeline_(pipeline),
      protobuf_metrics_(TransportMetrics::Register(metrics, "http_protobuf")),
      json_metrics_(TransportMetrics::Register(metrics, "http_json")) {}

void OtlpHttpReceiver::Handle(HttpRequest&& request, HttpResponder respond) {
  if (request.path != kTracesPath) {
    respond(ErrorResponse(Encoding::kJson, 404, kCodeNotFound,
                          fmt::format("no such path {}: OTLP/HTTP traces are sent to POST {}",
                                      request.path, kTracesPath)));
    return;
  }
  if (request.method != "POST") {
    HttpResponse response = ErrorResponse(
        Encoding::kJson, 405, kCodeUnimplemented,
        fmt::format("method {} not allowed on {}: use POST", request.method, kTracesPath));
    response.headers.emplace_back("Allow", "POST");
    respond(std::move(response));
    return;
  }
  std::string media_type = MediaType(request.Header("content-type"));
  Encoding encoding;
  if (media_type == kProtobufType) {
    encoding = Encoding::kProtobuf;
  } else if (media_type == kJsonType) {
    encoding = Encoding::kJson;
  } else {
    HttpResponse response = ErrorResponse(
        Encoding::kJson, 415, kCodeInvalidArgument,
        fmt::format("unsupported content type \"{}\": OTLP/HTTP accepts {} or {}",
                    request.Header("content-type"), kProtobufType, kJsonType));
    respond(std::move(response));
    return;
  }
  TransportMetrics& metrics =
      encoding == Encoding::kProtobuf ? protobuf_metrics_ : json_metrics_;

  SpanProblems problems;
  absl::StatusOr<model::SpanBatch> decoded = encoding == Encoding::kProtobuf
                                                 ? DecodeOtlpProtobuf(request.body, &problems)
                                                 : DecodeOtlpJson(request.body, &problems);
  if (!decoded.ok()) {
    respond(ErrorResponse(encoding, 400, kCodeInvalidArgument,
                          Message(decoded.status())));
    return;
  }
  model::SpanBatch batch = *std::move(decoded);
  metrics.received->Add(batch.SpanCount());
  ValidationResult validation = ValidateSpans(&batch, problems);
  metrics.rejected->Add(static_cast<uint64_t>(validation.rejected_spans));
  size_t spans = batch.SpanCount();
  if (spans == 0) {
    respond(SuccessResponse(encoding, validation));
    return;
  }
  pipeline_->Submit(std::move(batch), request.body.size(),
                    [encoding, spans, validation = std::move(validation), &metrics,
                     respond = std::move(respond)](absl::Status status) {
                      if (status.ok()) {
                        metrics.accepted->Add(spans);
                        respond(SuccessResponse(encoding, validation));
                      } else {
                        metrics.refused->Add(spans);
                        respond(PipelineFailureResponse(encoding, status));
                      }
                    });
}

}  // namespace teletrace::ingest
