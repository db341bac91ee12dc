#include "ingest/zipkin_http_receiver.h"

#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "ingest/bearer_token.h"
#include "ingest/span_validator.h"
#include "ingest/zipkin_json_decoder.h"

namespace teletrace::ingest {
namespace {

constexpr std::string_view kSpansPath = "/api/v2/spans";

// The media type without parameters ("; charset=utf-8"), lowercased and trimmed.
std::string MediaType(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && (content_type.front() == ' ' || content_type.front() == '\t')) {
    content_type.remove_prefix(1);
  }
  while (!content_type.empty() && (content_type.back() == ' ' || content_type.back() == '\t')) {
    content_type.remove_suffix(1);
  }
  std::string out(content_type);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The one mapping from a pipeline failure to a refusal; all are retryable.
struct PipelineRefusal {
  RefusalReason reason;
  int http_status;
  std::string message;
};
PipelineRefusal PipelineFailure(const absl::Status& status) {
  std::string message(status.message());
  if (absl::IsResourceExhausted(status)) return {RefusalReason::kQueueFull, 429, message};
  if (absl::IsUnavailable(status)) return {RefusalReason::kUnavailable, 503, message};
  return {RefusalReason::kUnavailable, 503,
          fmt::format("storage error, spans not stored; retry later: {}", message)};
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

HttpResponse Accepted() {
  HttpResponse response;
  response.status = 202;
  response.content_type = "";
  return response;
}

}  // namespace

HttpResponse ZipkinErrorResponse(int http_status, const std::string& message, std::string_view) {
  HttpResponse response;
  response.status = http_status;
  response.content_type = "text/plain; charset=utf-8";
  response.body = message;
  if (http_status == 429 || http_status == 502 || http_status == 503 || http_status == 504) {
    response.headers.emplace_back("Retry-After", "1");
  }
  if (http_status == 401) {
    response.headers.emplace_back("WWW-Authenticate", R"(Bearer realm="teletrace")");
  }
  return response;
}

ZipkinHttpReceiver::ZipkinHttpReceiver(Pipeline* pipeline, Metrics* metrics,
                                       ZipkinHttpReceiverOptions options)
    : pipeline_(pipeline),
      options_(std::move(options)),
      metrics_(TransportMetrics::Register(metrics, "zipkin")),
      refusals_(metrics, "zipkin") {}

HttpResponse ZipkinHttpReceiver::ServerRefusal(int http_status, const std::string& message,
                                               std::string_view request_content_type) {
  refusals_.Record(ServerRefusalReason(http_status), message);
  return ZipkinErrorResponse(http_status, message, request_content_type);
}

void ZipkinHttpReceiver::Refuse(RefusalReason reason, HttpResponse response,
                                const std::string& message, const HttpResponder& respond) {
  refusals_.Record(reason, message);
  respond(std::move(response));
}

void ZipkinHttpReceiver::Handle(HttpRequest&& request, HttpResponder respond) {
  std::string_view content_type = request.Header("content-type");
  auto refuse = [&](RefusalReason reason, int http_status, const std::string& message) {
    Refuse(reason, ZipkinErrorResponse(http_status, message, content_type), message, respond);
  };
  if (request.path != kSpansPath) {
    refuse(RefusalReason::kNotFound, 404,
           fmt::format("no such path {}: Zipkin spans are sent to POST {}", request.path,
                       kSpansPath));
    return;
  }
  if (request.method != "POST") {
    std::string message =
        fmt::format("method {} not allowed on {}: use POST", request.method, kSpansPath);
    HttpResponse response = ZipkinErrorResponse(405, message, content_type);
    response.headers.emplace_back("Allow", "POST");
    Refuse(RefusalReason::kMethod, std::move(response), message, respond);
    return;
  }
  if (!options_.bearer_token.empty() &&
      !BearerTokenMatches(request.Header("authorization"), options_.bearer_token)) {
    refuse(RefusalReason::kUnauthenticated, 401, "missing or invalid bearer token");
    return;
  }
  std::string media_type = MediaType(content_type);
  if (!media_type.empty() && media_type != "application/json") {
    refuse(RefusalReason::kContentType, 415,
           fmt::format("unsupported content type \"{}\": Zipkin spans are accepted as "
                       "application/json (JSON v2)",
                       content_type));
    return;
  }

  absl::StatusOr<model::SpanBatch> decoded = DecodeZipkinJson(request.body);
  if (!decoded.ok()) {
    refuse(RefusalReason::kBadRequest, 400, std::string(decoded.status().message()));
    return;
  }
  model::SpanBatch batch = *std::move(decoded);
  const size_t received = batch.SpanCount();
  metrics_.received->Add(received);
  ValidationResult validation = ValidateSpans(&batch);
  if (validation.rejected_spans > 0) {
    // The decoder already refuses what validation rejects (zero ids; end cannot precede start);
    // this stays so that no future rule is skipped. Zipkin has no partial success: refuse the
    // request whole, so that the client sees the problem instead of a 202 for spans never stored.
    metrics_.rejected->Add(received);
    refuse(RefusalReason::kBadRequest, 400, validation.error_message);
    return;
  }
  if (received == 0) {
    respond(Accepted());
    return;
  }
  pipeline_->Submit(std::move(batch), request.body.size(),
                    [this, received, respond = std::move(respond)](absl::Status status) {
                      if (status.ok()) {
                        metrics_.accepted->Add(received);
                        respond(Accepted());
                        return;
                      }
                      metrics_.refused->Add(received);
                      PipelineRefusal refusal = PipelineFailure(status);
                      Refuse(refusal.reason,
                             ZipkinErrorResponse(refusal.http_status, refusal.message, ""),
                             refusal.message, respond);
                    });
}

}  // namespace teletrace::ingest
