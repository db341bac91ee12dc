#include "ingest/otlp_grpc_receiver.h"

#include <chrono>
#include <climits>
#include <utility>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "google/protobuf/arena.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "ingest/otlp_protobuf_decoder.h"
#include "ingest/span_validator.h"
#include "ingest/transport_metrics.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace teletrace::ingest {
namespace {

using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse;

constexpr char kExportMethod[] = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// A retryable status that tells OTLP clients when to retry: RESOURCE_EXHAUSTED is retried only
// when it carries RetryInfo, so the details are what makes shedding load lossless.
grpc::Status RetryableStatus(grpc::StatusCode code, const std::string& message) {
  google::rpc::RetryInfo retry_info;
  retry_info.mutable_retry_delay()->set_seconds(1);
  google::rpc::Status details;
  details.set_code(static_cast<int>(code));
  details.set_message(message);
  details.add_details()->PackFrom(retry_info);
  return grpc::Status(code, message, details.SerializeAsString());
}

// The one mapping from a pipeline failure to a gRPC status: all are retryable.
grpc::Status PipelineFailureStatus(const absl::Status& status) {
  if (absl::IsResourceExhausted(status)) {
    return RetryableStatus(grpc::StatusCode::RESOURCE_EXHAUSTED, Message(status));
  }
  if (absl::IsUnavailable(status)) {
    return RetryableStatus(grpc::StatusCode::UNAVAILABLE, Message(status));
  }
  return RetryableStatus(grpc::StatusCode::UNAVAILABLE,
                         fmt::format("storage error, spans not stored; retry later: {}",
                                     Message(status)));
}

// One Export call. Reads the request, submits it, and finishes when the pipeline completes it; it
// deletes itself in OnDone, which gRPC calls only after Finish, so the pipeline's callback always
// finds it alive.
class ExportReactor : public grpc::ServerGenericBidiReactor {
 public:
  ExportReactor(grpc::GenericCallbackServerContext* context, Pipeline* pipeline,
                TransportMetrics* metrics)
      : pipeline_(pipeline), metrics_(metrics) {
    if (context->method() != kExportMethod) {
      Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                          fmt::format("unknown method {}: this server serves {}", context->method(),
                                      kExportMethod)));
      return;
    }
    StartRead(&request_bytes_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client half-closed (or the call was cancelled) without sending a request.
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no ExportTraceServiceRequest sent"));
      return;
    }
    Export();
  }

  void OnDone() override { delete this; }

 private:
  void Export() {
    size_t request_size = request_bytes_.Length();
    model::SpanBatch batch;
    SpanProblems problems;
    {
      google::protobuf::Arena arena;
      auto* request = google::protobuf::Arena::CreateMessage<ExportTraceServiceRequest>(&arena);
      grpc::ProtoBufferReader reader(&request_bytes_);
      if (!reader.status().ok() || !request->ParseFromZeroCopyStream(&reader)) {
        Finish(grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            fmt::format("invalid OTLP protobuf: cannot parse {} bytes as an "
                        "ExportTraceServiceRequest (truncated, corrupt, or nested too deeply)",
                        request_size)));
        return;
      }
      batch = FromOtlpProto(*request, &problems);
    }
    request_bytes_.Clear();
    metrics_->received->Add(batch.SpanCount());
    ValidationResult validation = ValidateSpans(&batch, problems);
    metrics_->rejected->Add(static_cast<uint64_t>(validation.rejected_spans));
    size_t spans = batch.SpanCount();
    if (spans == 0) {
      Succeed(validation);
      return;
    }
    pipeline_->Submit(std::move(batch), request_size,
                      [this, spans, validation = std::move(validation)](absl::Status status) {
                        if (status.ok()) {
                          metrics_->accepted->Add(spans);
                          Succeed(validation);
                        } else {
                          metrics_->refused->Add(spans);
                          Finish(PipelineFailureStatus(status));
                        }
                      });
  }

  void Succeed(const ValidationResult& validation) {
    ExportTraceServiceResponse response;
    if (validation.rejected_spans > 0) {
      response.mutable_partial_success()->set_rejected_spans(validation.rejected_spans);
      response.mutable_partial_success()->set_error_message(validation.error_message);
    }
    grpc::Slice slice(response.SerializeAsString());
    response_bytes_ = grpc::ByteBuffer(&slice, 1);
    StartWriteAndFinish(&response_bytes_, grpc::WriteOptions(), grpc::Status::OK);
  }

  Pipeline* pipeline_;
  TransportMetrics* metrics_;
  grpc::ByteBuffer request_bytes_;
  grpc::ByteBuffer response_bytes_;
};

}  // namespace

class OtlpGrpcReceiver::Service : public grpc::CallbackGenericService {
 public:
  Service(Pipeline* pipeline, Metrics* metrics)
      : pipeline_(pipeline), metrics_(TransportMetrics::Register(metrics, "grpc")) {}

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    return new ExportReactor(context, pipeline_, &metrics_);
  }

 private:
  Pipeline* pipeline_;
  TransportMetrics metrics_;
};

absl::StatusOr<std::unique_ptr<OtlpGrpcReceiver>> OtlpGrpcReceiver::Start(
    const std::string& address, size_t max_message_bytes, Pipeline* pipeline, Metrics* metrics) {
  std::unique_ptr<OtlpGrpcReceiver> receiver(new OtlpGrpcReceiver());
  receiver->service_ = std::make_unique<Service>(pipeline, metrics);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &receiver->port_);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<size_t>(max_message_bytes, static_cast<size_t>(INT_MAX))));
  builder.RegisterCallbackGenericService(receiver->service_.get());
  receiver->server_ = builder.BuildAndStart();
  if (receiver->server_ == nullptr || receiver->port_ == 0) {
    receiver->server_.reset();
    return absl::UnavailableError(
        fmt::format("otlp grpc: cannot listen on {} (address in use or invalid)", address));
  }
  return receiver;
}

OtlpGrpcReceiver::~OtlpGrpcReceiver() { Shutdown(); }

void OtlpGrpcReceiver::Shutdown() {
  if (server_ == nullptr) return;
  // Calls in flight wait for their commit; past the deadline gRPC cancels them.
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server_.reset();
}

}  // namespace teletrace::ingest
