#include "ingest/otlp_grpc_receiver.h"

#include <grpc/byte_buffer.h>
#include <grpc/slice.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "ingest/bearer_token.h"
#include "ingest/bounded_inflater.h"
#include "ingest/grpc_byte_buffer_peer.h"
#include "ingest/ingest_refusals.h"
#include "ingest/otlp_protobuf_decoder.h"
#include "ingest/span_validator.h"
#include "ingest/transport_metrics.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"


namespace teletrace::ingest {
namespace {

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

// The one mapping from a refusal to a gRPC status and a refusal reason.
struct Refusal {
  RefusalReason reason;
  grpc::Status status;
};

// A pipeline failure: all are retryable.
Refusal PipelineFailure(const absl::Status& status) {
  if (absl::IsResourceExhausted(status)) {
    return {RefusalReason::kQueueFull,
            RetryableStatus(grpc::StatusCode::RESOURCE_EXHAUSTED, Message(status))};
  }
  if (absl::IsUnavailable(status)) {
    return {RefusalReason::kUnavailable,
            RetryableStatus(grpc::StatusCode::UNAVAILABLE, Message(status))};
  }
  return {RefusalReason::kUnavailable,
          RetryableStatus(grpc::StatusCode::UNAVAILABLE,
                          fmt::format("storage error, spans not stored; retry later: {}",
                                      Message(status)))};
}

Refusal BudgetSpent(const ByteBudget& budget) {
  return {RefusalReason::kBudget,
          RetryableStatus(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          fmt::format("server busy: the in-flight byte budget of {} bytes is "
                                      "spent; retry later",
                                      budget.capacity()))};
}

// An inflation failure. Too large is permanent (the same message never fits), hence no RetryInfo;
// a spent budget is transient.
Refusal InflateFailure(const absl::Status& status, const char* encoding, size_t max_bytes,
                       const ByteBudget& budget) {
  if (absl::IsResourceExhausted(status)) {
    return {RefusalReason::kTooLarge,
            grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                         fmt::format("{}-compressed message inflates to more than the limit of {} "
                                     "bytes (max_message_bytes); send smaller batches",
                                     encoding, max_bytes))};
  }
  if (absl::IsUnavailable(status)) return BudgetSpent(budget);
  return {RefusalReason::kDecompression,
          grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, Message(status))};
}

}  // namespace

// What every call of one receiver shares.
class OtlpGrpcReceiver::Service : public grpc::CallbackGenericService {
 public:
  Service(const OtlpGrpcReceiverOptions& options, Pipeline* pipeline, Metrics* metrics)
      : max_message_bytes(options.max_message_bytes),
        bearer_token(options.bearer_token),
        pipeline(pipeline),
        budget(options.budget != nullptr ? options.budget : &unlimited_budget_),
        metrics(TransportMetrics::Register(metrics, "grpc")),
        refusals(metrics, "grpc") {}

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override;

  const size_t max_message_bytes;
  const std::string bearer_token;
  Pipeline* const pipeline;
  ByteBudget* const budget;
  TransportMetrics metrics;
  IngestRefusals refusals;

 private:
  ByteBudget unlimited_budget_{0};
};

namespace {

// One Export call. Reads the request, submits it, and finishes when the pipeline completes it; it
// deletes itself in OnDone, which gRPC calls only after Finish, so the pipeline's callback always
// finds it alive. The lease on the byte budget lives as long as the reactor, i.e. until the
// Export has been answered.
class ExportReactor : public grpc::ServerGenericBidiReactor {
 public:
  ExportReactor(grpc::GenericCallbackServerContext* context, OtlpGrpcReceiver::Service* service)
      : context_(context), service_(service) {
    if (!service_->bearer_token.empty() && !Authenticated()) {
      Refuse({RefusalReason::kUnauthenticated,
              grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "missing or invalid bearer token")});
      return;
    }
    if (context->method() != kExportMethod) {
      Refuse({RefusalReason::kNotFound,
              grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                           fmt::format("unknown method {}: this server serves {}",
                                       context->method(), kExportMethod))});
      return;
    }
    StartRead(&request_bytes_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // A unary client always sends its request, so none arriving means gRPC refused a message
      // over the receive limit (it answers RESOURCE_EXHAUSTED itself and tells the service no
      // reason) or, rarely, the client cancelled first: counted as too large.
      Refuse({RefusalReason::kTooLarge,
              grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                           fmt::format("no ExportTraceServiceRequest arrived from {}: gRPC refused "
                                       "a message over the {}-byte limit, or the client "
                                       "cancelled",
                                       context_->peer(), service_->max_message_bytes))});
      return;
    }
    Export();
  }

  void OnDone() override { delete this; }

 private:
  bool Authenticated() const {
    auto range = context_->client_metadata().equal_range("authorization");
    for (auto it = range.first; it != range.second; ++it) {
      if (BearerTokenMatches(std::string_view(it->second.data(), it->second.size()),
                             service_->bearer_token)) {
        return true;
      }
    }
    return false;
  }

  void Refuse(Refusal refusal) {
    service_->refusals.Record(refusal.reason, refusal.status.error_message());
    Finish(refusal.status);
  }

  void Export() {
    size_t request_size = request_bytes_.Length();
    lease_ = service_->budget->TryAcquire(request_size);
    if (!lease_) {
      Refuse(BudgetSpent(*service_->budget));
      return;
    }
    grpc_byte_buffer* raw = grpc::internal::GrpcByteBufferPeer(&request_bytes_).c_buffer();
    grpc_compression_algorithm algorithm =
        raw != nullptr && raw->type == GRPC_BB_RAW ? raw->data.raw.compression : GRPC_COMPRESS_NONE;
    // The decoder reads one contiguous buffer: a message gRPC delivered in one slice is read in
    // place, one in several is joined first (a copy, cheaper than the parse it feeds).
    std::string joined;
    std::string_view message;
    if (algorithm == GRPC_COMPRESS_NONE) {
      const grpc_slice_buffer* slices = raw != nullptr ? &raw->data.raw.slice_buffer : nullptr;
      if (slices != nullptr && slices->count == 1) {
        const grpc_slice& slice = slices->slices[0];
        message = std::string_view(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(slice)),
                                   GRPC_SLICE_LENGTH(slice));
      } else if (slices != nullptr) {
        // Charged to the request's lease too: the slices and the copy exist together.
        if (!lease_.Grow(request_size)) {
          Refuse(BudgetSpent(*service_->budget));
          return;
        }
        joined.reserve(request_size);
        for (size_t i = 0; i < slices->count; ++i) {
          const grpc_slice& slice = slices->slices[i];
          joined.append(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(slice)),
                        GRPC_SLICE_LENGTH(slice));
        }
        request_bytes_.Clear();
        message = joined;
      }
    } else {
      // gRPC 1.51 knows no other message algorithm; an unknown grpc-encoding value never gets
      // here (gRPC drops the header and delivers the bytes as uncompressed, which then fail to
      // parse: INVALID_ARGUMENT).
      if (algorithm != GRPC_COMPRESS_GZIP && algorithm != GRPC_COMPRESS_DEFLATE) {
        Refuse({RefusalReason::kContentEncoding,
                grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                             fmt::format("grpc compression algorithm {} is not supported: send "
                                         "gzip, deflate or identity",
                                         static_cast<int>(algorithm)))});
        return;
      }
      const char* encoding = algorithm == GRPC_COMPRESS_GZIP ? "gzip" : "deflate";
      std::vector<std::string_view> compressed;
      const grpc_slice_buffer& slices = raw->data.raw.slice_buffer;
      for (size_t i = 0; i < slices.count; ++i) {
        const grpc_slice& slice = slices.slices[i];
        compressed.emplace_back(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(slice)),
                                GRPC_SLICE_LENGTH(slice));
      }
      std::vector<std::string> inflated;
      absl::Status status = InflateBounded(
          algorithm == GRPC_COMPRESS_GZIP ? Compression::kGzip : Compression::kZlib, compressed,
          service_->max_message_bytes, [this](uint64_t n) { return lease_.Grow(n); }, &inflated);
      if (!status.ok()) {
        Refuse(InflateFailure(status, encoding, service_->max_message_bytes, *service_->budget));
        return;
      }
      request_bytes_.Clear();
      if (inflated.size() == 1) {
        joined = std::move(inflated[0]);
      } else {
        // The joined copy is charged to the request's lease too, so memory stays within the
        // budget while both exist.
        size_t total = 0;
        for (const std::string& chunk : inflated) total += chunk.size();
        if (!lease_.Grow(total)) {
          Refuse(BudgetSpent(*service_->budget));
          return;
        }
        joined.reserve(total);
        for (std::string& chunk : inflated) {
          joined += chunk;
          std::string().swap(chunk);
        }
      }
      message = joined;
    }
    SpanProblems problems;
    absl::StatusOr<model::SpanBatch> decoded = DecodeOtlpProtobuf(message, &problems);
    if (!decoded.ok()) {
      Refuse({RefusalReason::kBadRequest,
              grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                           std::string(decoded.status().message()))});
      return;
    }
    model::SpanBatch batch = *std::move(decoded);
    request_bytes_.Clear();
    TransportMetrics& metrics = service_->metrics;
    metrics.received->Add(batch.SpanCount());
    ValidationResult validation = ValidateSpans(&batch, problems);
    metrics.rejected->Add(static_cast<uint64_t>(validation.rejected_spans));
    size_t spans = batch.SpanCount();
    if (spans == 0) {
      Succeed(validation);
      return;
    }
    service_->pipeline->Submit(
        std::move(batch), request_size,
        [this, spans, validation = std::move(validation)](absl::Status status) {
          if (status.ok()) {
            service_->metrics.accepted->Add(spans);
            Succeed(validation);
          } else {
            service_->metrics.refused->Add(spans);
            Refuse(PipelineFailure(status));
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

  grpc::GenericCallbackServerContext* context_;
  OtlpGrpcReceiver::Service* service_;
  ByteBudget::Lease lease_;
  grpc::ByteBuffer request_bytes_;
  grpc::ByteBuffer response_bytes_;
};

// InvalidArgument naming `path` when it cannot be read or holds no PEM block.
absl::Status CheckPemFile(const std::string& path, const char* what) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(
        fmt::format("otlp grpc: cannot read the TLS {} file {}", what, path));
  }
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("-----BEGIN ", 0) == 0) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      fmt::format("otlp grpc: the TLS {} file {} holds no PEM block", what, path));
}

}  // namespace

grpc::ServerGenericBidiReactor* OtlpGrpcReceiver::Service::CreateReactor(
    grpc::GenericCallbackServerContext* context) {
  return new ExportReactor(context, this);
}

absl::StatusOr<std::unique_ptr<OtlpGrpcReceiver>> OtlpGrpcReceiver::Start(
    const OtlpGrpcReceiverOptions& options, Pipeline* pipeline, Metrics* metrics) {
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
      return absl::InvalidArgumentError(
          "otlp grpc: TLS needs both a certificate file and a key file");
    }
    absl::Status cert_ok = CheckPemFile(options.tls_cert_file, "certificate");
    if (!cert_ok.ok()) return cert_ok;
    absl::Status key_ok = CheckPemFile(options.tls_key_file, "key");
    if (!key_ok.ok()) return key_ok;
    // The provider re-reads both files every refresh interval, so a renewed certificate is
    // served to new connections without a restart.
    auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        options.tls_key_file, options.tls_cert_file, std::max(1u, options.tls_refresh_seconds));
    grpc::experimental::TlsServerCredentialsOptions tls_options(provider);
    tls_options.watch_identity_key_cert_pairs();
    credentials = grpc::experimental::TlsServerCredentials(tls_options);
  }

  std::unique_ptr<OtlpGrpcReceiver> receiver(new OtlpGrpcReceiver());
  receiver->service_ = std::make_unique<Service>(options, pipeline, metrics);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.address, credentials, &receiver->port_);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<size_t>(options.max_message_bytes, static_cast<size_t>(INT_MAX))));
  // gRPC 1.51 inflates a whole message before checking the receive limit (a 4 MB gzip bomb grew
  // RSS by 4 GiB), so inflation is done by the reactor, bounded while it inflates.
  builder.AddChannelArgument(GRPC_ARG_ENABLE_PER_MESSAGE_DECOMPRESSION, 0);
  // gRPC 1.51 has no connection cap: at least idle connections must not pile up forever.
  if (options.max_connection_idle_seconds > 0) {
    builder.AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_IDLE_MS,
        static_cast<int>(std::min<uint64_t>(options.max_connection_idle_seconds * 1000, INT_MAX)));
  }
  if (options.resource_quota_bytes > 0) {
    grpc::ResourceQuota quota("teletrace-otlp-grpc");
    quota.Resize(static_cast<size_t>(options.resource_quota_bytes));
    builder.SetResourceQuota(quota);
  }
  builder.RegisterCallbackGenericService(receiver->service_.get());
  receiver->server_ = builder.BuildAndStart();
  if (receiver->server_ == nullptr || receiver->port_ == 0) {
    receiver->server_.reset();
    return absl::UnavailableError(fmt::format(
        "otlp grpc: cannot listen on {} (address in use or invalid)", options.address));
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
