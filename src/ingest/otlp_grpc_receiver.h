// OTLP/gRPC trace receiver: serves opentelemetry.proto.collector.trace.v1.TraceService/Export.
//
//   OtlpGrpcReceiverOptions options{.address = "0.0.0.0:4317", .budget = &budget};
//   ASSIGN_OR_RETURN(auto receiver, OtlpGrpcReceiver::Start(options, &pipeline, &metrics));
//   ...
//   receiver->Shutdown();  // before pipeline.Stop()
//
// Requests arrive through a generic callback service as raw bytes, parsed into an arena (about
// twice the throughput of generated-message parsing), and no gRPC thread waits for a commit: the
// reactor is finished from the pipeline's writer thread.
//
// Compressed messages (grpc-encoding gzip or deflate) are inflated here, not by gRPC: gRPC 1.51
// inflates a whole message before it checks the receive limit, so a 4 MB gzip message could cost
// 4 GiB. Here the inflated size is bounded while inflating, and every byte (wire and inflated) is
// drawn from the process-wide ByteBudget until the Export is answered.
//
// Statuses (the one mapping table is in the .cc):
//   OK                  ExportTraceServiceResponse, partial_success when spans were rejected;
//   INVALID_ARGUMENT    not a valid ExportTraceServiceRequest, or corrupt compression (no retry);
//   UNAUTHENTICATED     "missing or invalid bearer token" when a token is configured;
//   RESOURCE_EXHAUSTED  without RetryInfo: the message inflates past max_message_bytes (no retry);
//                       with RetryInfo (1s): byte budget spent or queue full (retryable);
//   UNAVAILABLE         pipeline stopping or storage error (retryable), with RetryInfo too;
//   UNIMPLEMENTED       any other method.
// A grpc-encoding other than identity/gzip/deflate is dropped by gRPC 1.51 before the service
// sees it, so such a message arrives as if uncompressed and is refused as INVALID_ARGUMENT.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/byte_budget.h"
#include "common/metrics.h"
#include "ingest/pipeline.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace teletrace::ingest {

struct OtlpGrpcReceiverOptions {
  // "127.0.0.1:4317"; port 0 picks a free port (see OtlpGrpcReceiver::port()).
  std::string address = "127.0.0.1:4317";
  // Limit on a message, both as received (compressed) and inflated.
  size_t max_message_bytes = 16 << 20;
  // Process-wide in-flight bound shared with the other receivers; nullptr = none. Must outlive
  // the receiver.
  ByteBudget* budget = nullptr;
  // When not empty, every call must carry metadata "authorization: Bearer <token>".
  std::string bearer_token = {};
  // PEM files; both or neither (plaintext). Re-read every `tls_refresh_seconds`, so a renewed
  // certificate is served without a restart.
  std::string tls_cert_file = {};
  std::string tls_key_file = {};
  unsigned tls_refresh_seconds = 60;
  // Bytes gRPC may use for its buffers (grpc::ResourceQuota); 0 = gRPC's default (unbounded).
  uint64_t resource_quota_bytes = 0;
  // A connection without calls for this long is closed (GOAWAY); 0 = never.
  uint64_t max_connection_idle_seconds = 0;
};

class OtlpGrpcReceiver {
 public:
  // Listens on `options.address` and serves until Shutdown. `pipeline` and `metrics` must outlive
  // the receiver; registers the transport="grpc" span and refusal counters. InvalidArgument
  // naming the file when the TLS files are unreadable or only one is given; Unavailable naming
  // the address when it cannot listen.
  static absl::StatusOr<std::unique_ptr<OtlpGrpcReceiver>> Start(
      const OtlpGrpcReceiverOptions& options, Pipeline* pipeline, Metrics* metrics);
  ~OtlpGrpcReceiver();  // calls Shutdown()

  // The port actually bound.
  int port() const { return port_; }

  // Stops accepting calls and waits (up to a few seconds, then cancels) for calls in flight; they
  // complete as long as the pipeline is still running. Idempotent; call from one thread.
  void Shutdown();

  class Service;  // the generic callback service; defined in the .cc

 private:
  OtlpGrpcReceiver() = default;

  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace teletrace::ingest
