// OTLP/gRPC trace receiver: serves opentelemetry.proto.collector.trace.v1.TraceService/Export.
//
//   ASSIGN_OR_RETURN(auto receiver,
//                    OtlpGrpcReceiver::Start("0.0.0.0:4317", 16 << 20, &pipeline, &metrics));
//   ...
//   receiver->Shutdown();  // before pipeline.Stop()
//
// Requests arrive through a generic callback service as raw bytes, parsed into an arena (about
// twice the throughput of generated-message parsing), and no gRPC thread waits for a commit: the
// reactor is finished from the pipeline's writer thread. gzip (grpc-encoding) is handled by gRPC.
//
// Statuses (the one mapping table is in the .cc):
//   OK                  ExportTraceServiceResponse, partial_success when spans were rejected;
//   INVALID_ARGUMENT    the request is not a valid ExportTraceServiceRequest (do not retry);
//   RESOURCE_EXHAUSTED  queue full; details carry google.rpc.RetryInfo (1s) so clients retry;
//   UNAVAILABLE         pipeline stopping or storage error (retryable), with RetryInfo too;
//   UNIMPLEMENTED       any other method.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/metrics.h"
#include "ingest/pipeline.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace teletrace::ingest {

class OtlpGrpcReceiver {
 public:
  // Listens on `address` ("127.0.0.1:4317"; port 0 picks a free port, see port()) and serves until
  // Shutdown. Messages larger than `max_message_bytes` (after decompression) are refused by gRPC
  // with RESOURCE_EXHAUSTED. `pipeline` and `metrics` must outlive the receiver; registers the
  // transport="grpc" span counters. Unavailable naming the address when it cannot listen.
  static absl::StatusOr<std::unique_ptr<OtlpGrpcReceiver>> Start(const std::string& address,
                                                                 size_t max_message_bytes,
                                                                 Pipeline* pipeline,
                                                                 Metrics* metrics);
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
