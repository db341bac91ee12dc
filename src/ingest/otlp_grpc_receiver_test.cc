#include "ingest/otlp_grpc_receiver.h"

#include <future>
#include <memory>
#include <string>

#include "fmt/format.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "ingest/fake_backend_for_test.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"

namespace teletrace::ingest {
namespace {

using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse;
using opentelemetry::proto::collector::trace::v1::TraceService;
using testing::FakeBackend;

constexpr char kExportMethod[] = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

// A request with `valid` good spans and `invalid` spans whose span id is missing.
ExportTraceServiceRequest MakeRequest(int valid, int invalid = 0) {
  ExportTraceServiceRequest request;
  auto* resource_spans = request.add_resource_spans();
  auto* attr = resource_spans->mutable_resource()->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value("grpc-test");
  auto* scope_spans = resource_spans->add_scope_spans();
  for (int i = 0; i < valid + invalid; ++i) {
    auto* span = scope_spans->add_spans();
    span->set_trace_id(std::string(16, '\x07'));
    if (i < valid) span->set_span_id(std::string(7, '\0') + static_cast<char>(i + 1));
    span->set_name("op");
  }
  return request;
}

class OtlpGrpcReceiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto receiver = OtlpGrpcReceiver::Start("127.0.0.1:0", 1 << 20, &pipeline_, &metrics_);
    ASSERT_TRUE(receiver.ok()) << receiver.status();
    receiver_ = *std::move(receiver);
    ASSERT_GT(receiver_->port(), 0);
    channel_ = grpc::CreateChannel(fmt::format("127.0.0.1:{}", receiver_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = TraceService::NewStub(channel_);
  }

  void TearDown() override {
    backend_.Release();
    if (receiver_ != nullptr) receiver_->Shutdown();
    pipeline_.Stop();
  }

  grpc::Status Export(const ExportTraceServiceRequest& request,
                      ExportTraceServiceResponse* response, bool gzip = false) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (gzip) context.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    return stub_->Export(&context, request, response);
  }

  // Sends raw bytes to `method` through a generic stub.
  grpc::Status RawCall(const std::string& method, const std::string& bytes) {
    grpc::GenericStub generic(channel_);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    generic.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                      [&done](grpc::Status s) { done.set_value(std::move(s)); });
    return done.get_future().get();
  }

  std::string Metric(const std::string& series) {
    std::string rendered = metrics_.Render();
    size_t at = rendered.find(series + " ");
    if (at == std::string::npos) return "absent";
    size_t end = rendered.find('\n', at);
    return rendered.substr(at + series.size() + 1, end - at - series.size() - 1);
  }

  FakeBackend backend_;
  Metrics metrics_;
  Pipeline pipeline_{&backend_, PipelineOptions{.max_queue_bytes = 100, .max_batch_spans = 100},
                     &metrics_};
  std::unique_ptr<OtlpGrpcReceiver> receiver_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<TraceService::Stub> stub_;
};

TEST_F(OtlpGrpcReceiverTest, Success) {
  ExportTraceServiceResponse response;
  grpc::Status status = Export(MakeRequest(3), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(response.has_partial_success());
  ASSERT_EQ(backend_.batches().size(), 1u);
  EXPECT_EQ(backend_.batches()[0].SpanCount(), 3u);
  EXPECT_EQ(model::ServiceName(backend_.batches()[0].resource_spans[0].resource), "grpc-test");
  EXPECT_EQ(Metric(R"(teletrace_spans_received_total{transport="grpc"})"), "3");
  EXPECT_EQ(Metric(R"(teletrace_spans_accepted_total{transport="grpc"})"), "3");
}

TEST_F(OtlpGrpcReceiverTest, PartialSuccess) {
  ExportTraceServiceResponse response;
  grpc::Status status = Export(MakeRequest(1, 2), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.partial_success().rejected_spans(), 2);
  EXPECT_EQ(response.partial_success().error_message(),
            "2 spans rejected: span 1 of scope 0 of resource 0: span id is all zeros; "
            "span 2 of scope 0 of resource 0: span id is all zeros");
  ASSERT_EQ(backend_.batches().size(), 1u);
  EXPECT_EQ(backend_.batches()[0].SpanCount(), 1u);
  EXPECT_EQ(Metric(R"(teletrace_spans_rejected_total{transport="grpc"})"), "2");
}

TEST_F(OtlpGrpcReceiverTest, AllInvalidIsPartialSuccessWithoutQueueing) {
  ExportTraceServiceResponse response;
  grpc::Status status = Export(MakeRequest(0, 1), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.partial_success().rejected_spans(), 1);
  EXPECT_EQ(backend_.writes_started(), 0);
}

TEST_F(OtlpGrpcReceiverTest, MalformedRequestIsInvalidArgument) {
  grpc::Status status = RawCall(kExportMethod, "\x0a\x05\x01");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "invalid OTLP protobuf: cannot parse 3 bytes as an ExportTraceServiceRequest "
            "(truncated, corrupt, or nested too deeply)");
}

TEST_F(OtlpGrpcReceiverTest, OtherMethodIsUnimplemented) {
  grpc::Status status = RawCall("/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
                                "");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(status.error_message(),
            "unknown method /opentelemetry.proto.collector.metrics.v1.MetricsService/Export: this "
            "server serves /opentelemetry.proto.collector.trace.v1.TraceService/Export");
}

TEST_F(OtlpGrpcReceiverTest, QueueFullIsResourceExhaustedWithRetryInfo) {
  backend_.Hold();
  ExportTraceServiceRequest big = MakeRequest(3);  // ~120 bytes: fills the 100-byte queue
  grpc::ClientContext first_context;
  ExportTraceServiceResponse first_response;
  std::promise<grpc::Status> first;
  stub_->async()->Export(&first_context, &big, &first_response,
                         [&first](grpc::Status s) { first.set_value(std::move(s)); });
  backend_.WaitForWrites(1);

  ExportTraceServiceResponse response;
  grpc::Status status = Export(MakeRequest(1), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(),
            fmt::format("ingest queue full: {} of 100 bytes queued; retry later",
                        big.ByteSizeLong()));
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  EXPECT_EQ(details.code(), static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
  ASSERT_EQ(details.details_size(), 1);
  EXPECT_EQ(details.details(0).type_url(), "type.googleapis.com/google.rpc.RetryInfo");
  google::rpc::RetryInfo retry_info;
  ASSERT_TRUE(details.details(0).UnpackTo(&retry_info));
  EXPECT_EQ(retry_info.retry_delay().seconds(), 1);
  EXPECT_EQ(retry_info.retry_delay().nanos(), 0);
  EXPECT_EQ(Metric(R"(teletrace_spans_refused_total{transport="grpc"})"), "1");

  backend_.Release();
  EXPECT_TRUE(first.get_future().get().ok());
}

TEST_F(OtlpGrpcReceiverTest, StorageErrorIsUnavailable) {
  backend_.FailNext(absl::InternalError("sqlite: disk full"));
  ExportTraceServiceResponse response;
  grpc::Status status = Export(MakeRequest(1), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(),
            "storage error, spans not stored; retry later: sqlite: disk full");
}

TEST_F(OtlpGrpcReceiverTest, StoppedPipelineIsUnavailable) {
  pipeline_.Stop();
  ExportTraceServiceResponse response;
  grpc::Status status = Export(MakeRequest(1), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "ingest pipeline is stopping: not accepting spans");
}

TEST_F(OtlpGrpcReceiverTest, GzipCompressedCall) {
  ExportTraceServiceResponse response;
  grpc::Status status = Export(MakeRequest(2), &response, /*gzip=*/true);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(backend_.batches().size(), 1u);
  EXPECT_EQ(backend_.batches()[0].SpanCount(), 2u);
}

TEST_F(OtlpGrpcReceiverTest, MessageOverTheLimitIsRefusedByGrpc) {
  ExportTraceServiceRequest request = MakeRequest(1);
  request.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->set_name(
      std::string(2 << 20, 'x'));
  ExportTraceServiceResponse response;
  grpc::Status status = Export(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(backend_.writes_started(), 0);
}

TEST(OtlpGrpcReceiverStartTest, BadAddressIsUnavailable) {
  FakeBackend backend;
  Metrics metrics;
  Pipeline pipeline(&backend, PipelineOptions{}, &metrics);
  auto receiver = OtlpGrpcReceiver::Start("256.1.1.1:99999", 1 << 20, &pipeline, &metrics);
  EXPECT_EQ(receiver.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(receiver.status().message(),
            "otlp grpc: cannot listen on 256.1.1.1:99999 (address in use or invalid)");
}

}  // namespace
}  // namespace teletrace::ingest
