// OTLP/HTTP trace receiver: `POST /v1/traces` with an application/x-protobuf or application/json
// body (the HTTP server has already inflated the body and enforced the size limit and the byte
// budget). Valid spans go to the pipeline and the response is sent only once they are committed.
//
//   OtlpHttpReceiver receiver(&pipeline, &metrics, {.bearer_token = token});
//   server.Route("/v1/traces", [&](HttpRequest&& r, HttpResponder done) {
//     receiver.Handle(std::move(r), std::move(done));
//   });
//
// Every response is in the request's encoding (protobuf for application/x-protobuf, JSON for
// anything else); every refusal carries a google.rpc.Status body, as OTLP/HTTP requires:
//   200  ExportTraceServiceResponse, with partialSuccess when validation rejected spans (also when
//        it rejected all of them: nothing is queued then);
//   204  CORS preflight (OPTIONS) from an allowed origin; 403 from any other origin;
//   400  malformed body (code 3): do not retry;
//   401  missing or wrong bearer token (code 16), with WWW-Authenticate;
//   404  another path; 405 another method (Allow: POST); 415 another Content-Type;
//   429  queue full, Retry-After: 1;
//   503  pipeline stopping or storage error, Retry-After: 1.
// Each refusal is counted in teletrace_ingest_refusals_total{transport="http",reason} and logged
// (rate-limited).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/http.h"
#include "common/metrics.h"
#include "ingest/ingest_refusals.h"
#include "ingest/pipeline.h"
#include "ingest/transport_metrics.h"

namespace teletrace::ingest {

struct OtlpHttpReceiverOptions {
  // When not empty, requests must carry "Authorization: Bearer <token>".
  std::string bearer_token = {};
  // Origins ("https://app.example.com") whose browser pages may export spans (CORS); "*" allows
  // every origin. Empty: CORS off, preflights are refused with 403.
  std::vector<std::string> cors_allowed_origins = {};
  // How long browsers may cache a preflight answer.
  int cors_max_age_seconds = 7200;
};

// An OTLP/HTTP refusal: a google.rpc.Status body in the encoding of `request_content_type`
// (protobuf for application/x-protobuf, else JSON {"code":N,"message":"..."}), the gRPC code
// matching `http_status`, Retry-After: 1 on the retryable statuses (429, 502, 503, 504) and
// WWW-Authenticate on 401. Pure; the HTTP server uses it for the refusals it detects itself
// (413, 431, 400 framing, 415 Content-Encoding, 429 budget, 501).
HttpResponse OtlpHttpErrorResponse(int http_status, const std::string& message,
                                   std::string_view request_content_type);

class OtlpHttpReceiver {
 public:
  // `pipeline` and `metrics` must outlive the receiver, and the receiver must outlive every request
  // it has not answered yet (stop the pipeline before destroying it). Registers the http_protobuf
  // and http_json span counters and the transport="http" refusal counters on `metrics`.
  OtlpHttpReceiver(Pipeline* pipeline, Metrics* metrics, OtlpHttpReceiverOptions options = {});

  // Handles one request; calls `respond` exactly once, synchronously for every outcome except a
  // queued batch, which is answered from the pipeline's writer thread after its commit.
  // Thread safe.
  void Handle(HttpRequest&& request, HttpResponder respond);

  // OtlpHttpErrorResponse, also counted and logged as a refusal of this receiver (reason from
  // the status: 400 bad_request, 413 too_large, 415 content_encoding, 429 budget,
  // 431 headers_too_large, 501 not_implemented, 503 unavailable). For the HTTP server's
  // error-response hook. Thread safe.
  HttpResponse ServerRefusal(int http_status, const std::string& message,
                             std::string_view request_content_type);

  IngestRefusals& refusals() { return refusals_; }

 private:
  void Refuse(RefusalReason reason, HttpResponse response, const std::string& message,
              std::string_view origin, const HttpResponder& respond);
  bool OriginAllowed(std::string_view origin) const;
  void AddCorsHeaders(std::string_view origin, HttpResponse* response) const;
  void AnswerPreflight(const HttpRequest& request, const HttpResponder& respond);

  Pipeline* pipeline_;
  const OtlpHttpReceiverOptions options_;
  TransportMetrics protobuf_metrics_;
  TransportMetrics json_metrics_;
  IngestRefusals refusals_;
};

}  // namespace teletrace::ingest
