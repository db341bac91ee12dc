// OTLP/HTTP trace receiver: `POST /v1/traces` with an application/x-protobuf or application/json
// body (the HTTP server has already inflated gzip and enforced the size limit). Valid spans go to
// the pipeline and the response is sent only once they are committed.
//
//   OtlpHttpReceiver receiver(&pipeline, &metrics);
//   server.Route("/v1/traces", [&](HttpRequest&& r, HttpResponder done) {
//     receiver.Handle(std::move(r), std::move(done));
//   });
//
// Responses use the request's encoding (JSON for anything not protobuf):
//   200  ExportTraceServiceResponse, with partialSuccess when validation rejected spans (also when
//        it rejected all of them: nothing is queued then);
//   400  malformed body (google.rpc.Status, code 3): do not retry;
//   404  another path; 405 another method (Allow: POST); 415 another Content-Type;
//   429  queue full, Retry-After: 1;
//   503  pipeline stopping or storage error, Retry-After: 1.
#pragma once

#include "common/http.h"
#include "common/metrics.h"
#include "ingest/pipeline.h"
#include "ingest/transport_metrics.h"

namespace teletrace::ingest {

class OtlpHttpReceiver {
 public:
  // `pipeline` and `metrics` must outlive the receiver, and the receiver must outlive every request
  // it has not answered yet (stop the pipeline before destroying it). Registers the http_protobuf
  // and http_json span counters on `metrics`.
  OtlpHttpReceiver(Pipeline* pipeline, Metrics* metrics);

  // Handles one request; calls `respond` exactly once, synchronously for every outcome except a
  // queued batch, which is answered from the pipeline's writer thread after its commit.
  // Thread safe.
  void Handle(HttpRequest&& request, HttpResponder respond);

 private:
  Pipeline* pipeline_;
  TransportMetrics protobuf_metrics_;
  TransportMetrics json_metrics_;
};

}  // namespace teletrace::ingest
