#include "ingest/otlp_http_receiver.h"

#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "google/rpc/status.pb.h"
#include "ingest/bearer_token.h"
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
constexpr int kCodeUnknown = 2;
constexpr int kCodeInvalidArgument = 3;
constexpr int kCodeNotFound = 5;
constexpr int kCodePermissionDenied = 7;
constexpr int kCodeResourceExhausted = 8;
constexpr int kCodeUnimplemented = 12;
constexpr int kCodeInternal = 13;
constexpr int kCodeUnavailable = 14;
constexpr int kCodeUnauthenticated = 16;

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

Encoding EncodingOf(std::string_view content_type) {
  return MediaType(content_type) == kProtobufType ? Encoding::kProtobuf : Encoding::kJson;
}

// The one mapping from an HTTP refusal status to the google.rpc.Code of its body.
int CodeForHttpStatus(int http_status) {
  switch (http_status) {
    case 400: return kCodeInvalidArgument;
    case 401: return kCodeUnauthenticated;
    case 403: return kCodePermissionDenied;
    case 404: return kCodeNotFound;
    case 405: return kCodeUnimplemented;
    case 413: return kCodeResourceExhausted;
    case 415: return kCodeInvalidArgument;
    case 429: return kCodeResourceExhausted;
    case 431: return kCodeResourceExhausted;
    case 500: return kCodeInternal;
    case 501: return kCodeUnimplemented;
    case 502: case 503: case 504: return kCodeUnavailable;
    default: return kCodeUnknown;
  }
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

// The one mapping from a pipeline failure to a refusal. All are retryable: a full queue (429) or a
// pipeline that is stopping or a storage commit that failed (503); the client keeps the data and
// retries after Retry-After.
struct PipelineRefusal {
  RefusalReason reason;
  int http_status;
  std::string message;
};
PipelineRefusal PipelineFailure(const absl::Status& status) {
  if (absl::IsResourceExhausted(status)) {
    return {RefusalReason::kQueueFull, 429, Message(status)};
  }
  if (absl::IsUnavailable(status)) return {RefusalReason::kUnavailable, 503, Message(status)};
  return {RefusalReason::kUnavailable, 503,
          fmt::format("storage error, spans not stored; retry later: {}", Message(status))};
}

RefusalReason ServerRefusalReason(int http_status) {
  switch (http_status) {
    case 400: return RefusalReason::kBadRequest;
    case 413: return RefusalReason::kTooLarge;
    case 415: return RefusalReason::kContentEncoding;
    case 429: return RefusalReason::kBudget;
    case 431: return RefusalReason::kHeadersTooLarge;
    case 501: return RefusalReason::kNotImplemented;
    case 503: return RefusalReason::kUnavailable;
    default: return RefusalReason::kOther;
  }
}

// A header field name: RFC 9110 token characters only, so that a requested header echoed into
// Access-Control-Allow-Headers can never inject anything.
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

}  // namespace

HttpResponse OtlpHttpErrorResponse(int http_status, const std::string& message,
                                   std::string_view request_content_type) {
  Encoding encoding = EncodingOf(request_content_type);
  int code = CodeForHttpStatus(http_status);
  HttpResponse response;
  if (encoding == Encoding::kProtobuf) {
    google::rpc::Status status;
    status.set_code(code);
    status.set_message(message);
    response = Respond(encoding, http_status, status.SerializeAsString());
  } else {
    response = Respond(encoding, http_status, DumpJson({{"code", code}, {"message", message}}));
  }
  if (http_status == 429 || http_status == 502 || http_status == 503 || http_status == 504) {
    response.headers.emplace_back("Retry-After", "1");
  }
  if (http_status == 401) {
    response.headers.emplace_back("WWW-Authenticate", R"(Bearer realm="teletrace")");
  }
  return response;
}

OtlpHttpReceiver::OtlpHttpReceiver(Pipeline* pipeline, Metrics* metrics,
                                   OtlpHttpReceiverOptions options)
    : pipeline_(pipeline),
      options_(std::move(options)),
      protobuf_metrics_(TransportMetrics::Register(metrics, "http_protobuf")),
      json_metrics_(TransportMetrics::Register(metrics, "http_json")),
      refusals_(metrics, "http") {}

HttpResponse OtlpHttpReceiver::ServerRefusal(int http_status, const std::string& message,
                                             std::string_view request_content_type) {
  refusals_.Record(ServerRefusalReason(http_status), message);
  return OtlpHttpErrorResponse(http_status, message, request_content_type);
}

bool OtlpHttpReceiver::OriginAllowed(std::string_view origin) const {
  if (origin.empty()) return false;
  std::string lowered = Lowercase(origin);
  for (const std::string& allowed : options_.cors_allowed_origins) {
    if (allowed == "*" || Lowercase(allowed) == lowered) return true;
  }
  return false;
}

void OtlpHttpReceiver::AddCorsHeaders(std::string_view origin, HttpResponse* response) const {
  if (!OriginAllowed(origin)) return;
  response->headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  response->headers.emplace_back("Vary", "Origin");
}

void OtlpHttpReceiver::Refuse(RefusalReason reason, HttpResponse response,
                              const std::string& message, std::string_view origin,
                              const HttpResponder& respond) {
  refusals_.Record(reason, message);
  AddCorsHeaders(origin, &response);
  respond(std::move(response));
}

void OtlpHttpReceiver::AnswerPreflight(const HttpRequest& request, const HttpResponder& respond) {
  std::string_view origin = request.Header("origin");
  if (!OriginAllowed(origin)) {
    std::string message = fmt::format(
        "origin {} may not send OTLP/HTTP to this server (not in cors_allowed_origins)", origin);
    Refuse(RefusalReason::kForbidden, OtlpHttpErrorResponse(403, message, ""), message, "",
           respond);
    return;
  }
  std::string allow_headers = "Content-Type, Content-Encoding, Authorization";
  std::string known = "|content-type|content-encoding|authorization|";
  std::string_view requested = request.Header("access-control-request-headers");
  while (!requested.empty()) {
    size_t comma = requested.find(',');
    std::string_view name = requested.substr(0, comma);
    requested = comma == std::string_view::npos ? std::string_view() : requested.substr(comma + 1);
    while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.remove_prefix(1);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    if (!IsToken(name)) continue;
    std::string key = "|" + Lowercase(name) + "|";
    if (known.find(key) != std::string::npos) continue;
    known += key.substr(1);
    allow_headers += ", ";
    allow_headers += name;
  }
  HttpResponse response;
  response.status = 204;
  response.content_type = "";
  AddCorsHeaders(origin, &response);
  response.headers.emplace_back("Access-Control-Allow-Methods", "POST, OPTIONS");
  response.headers.emplace_back("Access-Control-Allow-Headers", std::move(allow_headers));
  response.headers.emplace_back("Access-Control-Max-Age",
                                std::to_string(options_.cors_max_age_seconds));
  respond(std::move(response));
}

void OtlpHttpReceiver::Handle(HttpRequest&& request, HttpResponder respond) {
  std::string_view content_type = request.Header("content-type");
  std::string origin(request.Header("origin"));
  auto refuse = [&](RefusalReason reason, int http_status, const std::string& message) {
    Refuse(reason, OtlpHttpErrorResponse(http_status, message, content_type), message, origin,
           respond);
  };
  if (request.path != kTracesPath) {
    refuse(RefusalReason::kNotFound, 404,
           fmt::format("no such path {}: OTLP/HTTP traces are sent to POST {}", request.path,
                       kTracesPath));
    return;
  }
  // A preflight carries no credentials, so it is answered before authentication.
  if (request.method == "OPTIONS" && !origin.empty()) {
    AnswerPreflight(request, respond);
    return;
  }
  if (request.method != "POST") {
    std::string message =
        fmt::format("method {} not allowed on {}: use POST", request.method, kTracesPath);
    HttpResponse response = OtlpHttpErrorResponse(405, message, content_type);
    response.headers.emplace_back("Allow", "POST");
    Refuse(RefusalReason::kMethod, std::move(response), message, origin, respond);
    return;
  }
  if (!options_.bearer_token.empty() &&
      !BearerTokenMatches(request.Header("authorization"), options_.bearer_token)) {
    refuse(RefusalReason::kUnauthenticated, 401, "missing or invalid bearer token");
    return;
  }
  std::string media_type = MediaType(content_type);
  Encoding encoding;
  if (media_type == kProtobufType) {
    encoding = Encoding::kProtobuf;
  } else if (media_type == kJsonType) {
    encoding = Encoding::kJson;
  } else {
    refuse(RefusalReason::kContentType, 415,
           fmt::format("unsupported content type \"{}\": OTLP/HTTP accepts {} or {}",
                       content_type, kProtobufType, kJsonType));
    return;
  }
  TransportMetrics& metrics = encoding == Encoding::kProtobuf ? protobuf_metrics_ : json_metrics_;

  SpanProblems problems;
  absl::StatusOr<model::SpanBatch> decoded = encoding == Encoding::kProtobuf
                                                 ? DecodeOtlpProtobuf(request.body, &problems)
                                                 : DecodeOtlpJson(request.body, &problems);
  if (!decoded.ok()) {
    refuse(RefusalReason::kBadRequest, 400, Message(decoded.status()));
    return;
  }
  model::SpanBatch batch = *std::move(decoded);
  metrics.received->Add(batch.SpanCount());
  ValidationResult validation = ValidateSpans(&batch, problems);
  metrics.rejected->Add(static_cast<uint64_t>(validation.rejected_spans));
  size_t spans = batch.SpanCount();
  if (spans == 0) {
    HttpResponse response = SuccessResponse(encoding, validation);
    AddCorsHeaders(origin, &response);
    respond(std::move(response));
    return;
  }
  pipeline_->Submit(
      std::move(batch), request.body.size(),
      [this, encoding, spans, validation = std::move(validation), &metrics,
       content_type = std::string(content_type), origin = std::move(origin),
       respond = std::move(respond)](absl::Status status) {
        if (status.ok()) {
          metrics.accepted->Add(spans);
          HttpResponse response = SuccessResponse(encoding, validation);
          AddCorsHeaders(origin, &response);
          respond(std::move(response));
          return;
        }
        metrics.refused->Add(spans);
        PipelineRefusal refusal = PipelineFailure(status);
        Refuse(refusal.reason,
               OtlpHttpErrorResponse(refusal.http_status, refusal.message, content_type),
               refusal.message, origin, respond);
      });
}

}  // namespace teletrace::ingest
