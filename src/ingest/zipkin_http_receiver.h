// Zipkin's span endpoint: `POST /api/v2/spans` with a JSON v2 body (a JSON array of spans; the HTTP
// server has already inflated gzip and enforced the size limit). Spans are mapped as the
// OpenTelemetry Collector's Zipkin receiver maps them (zipkin_json_decoder.h), validated, and
// answered only once committed, as the OTLP receivers do.
//
//   ZipkinHttpReceiver receiver(&pipeline, &metrics, {.bearer_token = token});
//   server.Route("/api/v2/spans", [&](HttpRequest&& r, HttpResponder done) {
//     receiver.Handle(std::move(r), std::move(done));
//   });
//
// Responses, as Zipkin's collector answers (plain-text bodies on refusal):
//   202  spans stored (empty body), also for an empty array;
//   400  malformed body (the message names the span and field, e.g. "spans[1].traceId: must not
//        be all zeros") or a span that fails validation: nothing of the request is stored; do
//        not retry;
//   401  missing or wrong bearer token, with WWW-Authenticate;
//   404  another path; 405 another method (Allow: POST); 415 a Content-Type other than
//        application/json (an absent one reads as JSON, as Zipkin reads it);
//   429  queue full, Retry-After: 1;
//   503  pipeline stopping or storage error, Retry-After: 1.
// Spans are counted under transport="zipkin" (teletrace_spans_*_total) and every refusal under
// teletrace_ingest_refusals_total{transport="zipkin",reason}.
#pragma once

#include <string>
#include <string_view>

#include "common/http.h"
#include "common/metrics.h"
#include "ingest/ingest_refusals.h"
#include "ingest/pipeline.h"
#include "ingest/transport_metrics.h"

namespace teletrace::ingest {

struct ZipkinHttpReceiverOptions {
  // When not empty, requests must carry "Authorization: Bearer <token>".
  std::string bearer_token = {};
};

// A Zipkin refusal: `message` as text/plain with `http_status`, Retry-After: 1 on the retryable
// statuses (429, 502, 503, 504) and WWW-Authenticate on 401. Pure; also the error-response hook of
// a listener that serves only Zipkin.
HttpResponse ZipkinErrorResponse(int http_status, const std::string& message,
                                 std::string_view request_content_type);

class ZipkinHttpReceiver {
 public:
  // `pipeline` and `metrics` must outlive the receiver, and the receiver must outlive every request
  // it has not answered yet (stop the pipeline before destroying it). Registers the zipkin span
  // counters and the transport="zipkin" refusal counters on `metrics` (construct one per registry).
  ZipkinHttpReceiver(Pipeline* pipeline, Metrics* metrics, ZipkinHttpReceiverOptions options = {});

  // Handles one request; calls `respond` exactly once, synchronously for every outcome except a
  // queued batch, which is answered from the pipeline's writer thread after its commit.
  // Thread safe.
  void Handle(HttpRequest&& request, HttpResponder respond);

  // ZipkinErrorResponse, also counted and logged as a refusal of this receiver (reason from the
  // status as OtlpHttpReceiver::ServerRefusal maps it). For the HTTP server's error-response hook.
  // Thread safe.
  HttpResponse ServerRefusal(int http_status, const std::string& message,
                             std::string_view request_content_type);

  IngestRefusals& refusals() { return refusals_; }

 private:
  void Refuse(RefusalReason reason, HttpResponse response, const std::string& message,
              const HttpResponder& respond);

  Pipeline* pipeline_;
  const ZipkinHttpReceiverOptions options_;
  TransportMetrics metrics_;
  IngestRefusals refusals_;
};

}  // namespace teletrace::ingest
