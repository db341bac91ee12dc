#include "ingest/otlp_grpc_receiver.h"

#include <future>
#include <thread>
#include <memory>
#include <string>

#include <zlib.h>

#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <fstream>
#include <functional>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/strings/ascii.h"
#include "fmt/format.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "ingest/fake_backend_for_test.h"
#include "ingest/grpc_byte_buffer_peer.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

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

// gzip (RFC 1952) or zlib (gRPC "deflate") of `bytes`.
std::string Compress(const std::string& bytes, bool gzip) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, gzip ? 16 + MAX_WBITS : MAX_WBITS, 9,
                         Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string out(deflateBound(&zs, bytes.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// A gzip stream of `n` zero bytes, built 1 MiB at a time so the test itself never holds the
// inflated form: a decompression bomb (256 MiB become about 250 KB).
std::string GzipBomb(uint64_t n) {
  z_stream zs{};
  // Z_RLE: as small as level 9's default strategy for zeros, in half the time.
  EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_RLE), Z_OK);
  std::string zeros(1 << 20, '\0');
  std::string out;
  char buffer[1 << 16];
  for (uint64_t fed = 0; fed < n; fed += zeros.size()) {
    zs.next_in = reinterpret_cast<Bytef*>(zeros.data());
    zs.avail_in = static_cast<uInt>(std::min<uint64_t>(zeros.size(), n - fed));
    bool last = fed + zeros.size() >= n;
    do {
      zs.next_out = reinterpret_cast<Bytef*>(buffer);
      zs.avail_out = sizeof(buffer);
      deflate(&zs, last ? Z_FINISH : Z_NO_FLUSH);
      out.append(buffer, sizeof(buffer) - zs.avail_out);
    } while (zs.avail_out == 0);
  }
  deflateEnd(&zs);
  return out;
}

// A message that gRPC sends as is, flagged as compressed with `algorithm` (the way a client that
// compressed it itself would send it).
grpc::ByteBuffer PreCompressed(const std::string& compressed,
                               grpc_compression_algorithm algorithm) {
  grpc_slice slice = grpc_slice_from_copied_buffer(compressed.data(), compressed.size());
  grpc_byte_buffer* c_buffer = grpc_raw_compressed_byte_buffer_create(&slice, 1, algorithm);
  grpc_slice_unref(slice);
  grpc::ByteBuffer buffer;
  grpc::internal::GrpcByteBufferPeer(&buffer).Adopt(c_buffer);
  return buffer;
}

// A field of /proc/self/status in bytes ("VmRSS", "VmHWM").
uint64_t ProcStatusBytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      uint64_t kb = 0;
      EXPECT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(
                                       absl::StripSuffix(line.substr(field.size() + 1), "kB")),
                                   &kb))
          << line;
      return kb * 1024;
    }
  }
  ADD_FAILURE() << "no " << field << " in /proc/self/status";
  return 0;
}

class OtlpGrpcReceiverTest : public ::testing::Test {
 protected:
  void SetUp() override { StartReceiver(DefaultOptions()); }

  static OtlpGrpcReceiverOptions DefaultOptions() {
    return OtlpGrpcReceiverOptions{.address = "127.0.0.1:0", .max_message_bytes = 1 << 20};
  }

  // (Re)starts the receiver with `options` and connects a plaintext client to it.
  void StartReceiver(const OtlpGrpcReceiverOptions& options) {
    if (receiver_ != nullptr) receiver_->Shutdown();
    receiver_.reset();
    // A fresh registry per receiver, so a restarted receiver's counters start at zero.
    receiver_metrics_ = std::make_unique<Metrics>();
    auto receiver = OtlpGrpcReceiver::Start(options, &pipeline_, receiver_metrics_.get());
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
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1);
    return RawCall(method, &request, [](grpc::ClientContext*) {});
  }

  // Sends `request` as is to `method`; `setup` adds metadata or a compression algorithm.
  grpc::Status RawCall(const std::string& method, grpc::ByteBuffer* request,
                       const std::function<void(grpc::ClientContext*)>& setup,
                       grpc::ByteBuffer* response_out = nullptr) {
    grpc::GenericStub generic(channel_);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    setup(&context);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    generic.UnaryCall(&context, method, grpc::StubOptions(), request, &response,
                      [&done](grpc::Status s) { done.set_value(std::move(s)); });
    grpc::Status status = done.get_future().get();
    if (response_out != nullptr) *response_out = response;
    return status;
  }

  std::string Metric(const std::string& series) {
    std::string rendered = receiver_metrics_->Render();
    size_t at = rendered.find(series + " ");
    if (at == std::string::npos) return "absent";
    size_t end = rendered.find('\n', at);
    return rendered.substr(at + series.size() + 1, end - at - series.size() - 1);
  }

  FakeBackend backend_;
  Metrics metrics_;
  Pipeline pipeline_{&backend_, PipelineOptions{.max_queue_bytes = 100, .max_batch_spans = 100},
                     &metrics_};
  std::unique_ptr<Metrics> receiver_metrics_;
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
  EXPECT_EQ(status.error_message(),
            fmt::format("Received message larger than max ({} vs. 1048576)",
                        request.ByteSizeLong()));
  EXPECT_EQ(backend_.writes_started(), 0);
  // The service learns of it only after the client has its status.
  std::string series = R"(teletrace_ingest_refusals_total{transport="grpc",reason="too_large"})";
  for (int i = 0; i < 2000 && Metric(series) != "1"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(Metric(series), "1");
}

TEST_F(OtlpGrpcReceiverTest, DeflateCompressedCall) {
  grpc::ClientContext context;
  context.set_compression_algorithm(GRPC_COMPRESS_DEFLATE);
  ExportTraceServiceResponse response;
  grpc::Status status = stub_->Export(&context, MakeRequest(2), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(backend_.batches().size(), 1u);
  EXPECT_EQ(backend_.batches()[0].SpanCount(), 2u);
}

// The attack of issue 9 point 3: a small gzip message that inflates to 256 MiB. gRPC 1.51 would
// inflate all of it before checking its receive limit; the receiver must stop at the limit, so
// RSS grows by far less than the inflated size, and the status says the message will never fit
// (RESOURCE_EXHAUSTED without RetryInfo).
TEST_F(OtlpGrpcReceiverTest, GzipBombIsRefusedWhileInflating) {
  StartReceiver(OtlpGrpcReceiverOptions{.address = "127.0.0.1:0",
                                        .max_message_bytes = 4 << 20,
                                        .resource_quota_bytes = 64 << 20});
  std::string bomb = GzipBomb(uint64_t{256} << 20);
  ASSERT_LT(bomb.size(), 1u << 20);
  grpc::ByteBuffer request = PreCompressed(bomb, GRPC_COMPRESS_GZIP);
  bomb.clear();
  bomb.shrink_to_fit();

  // Reset the peak (VmHWM) so that it measures this call only; fall back to the current RSS.
  std::ofstream("/proc/self/clear_refs") << "5";
  uint64_t rss_before = ProcStatusBytes("VmRSS");
  grpc::Status status = RawCall(kExportMethod, &request, [](grpc::ClientContext* context) {
    context->set_compression_algorithm(GRPC_COMPRESS_GZIP);
  });
  uint64_t peak_after = ProcStatusBytes("VmHWM");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(),
            "gzip-compressed message inflates to more than the limit of 4194304 bytes "
            "(max_message_bytes); send smaller batches");
  EXPECT_EQ(status.error_details(), "");  // no RetryInfo: retrying cannot help
  EXPECT_LT(peak_after - std::min(peak_after, rss_before), uint64_t{64} << 20)
      << "RSS before " << rss_before << ", peak after " << peak_after;
  RecordProperty("peak_rss_growth_bytes", std::to_string(peak_after - rss_before));
  EXPECT_EQ(Metric(R"(teletrace_ingest_refusals_total{transport="grpc",reason="too_large"})"),
            "1");
  EXPECT_EQ(backend_.writes_started(), 0);

  // The server is unharmed: a normal (compressed) export still succeeds.
  ExportTraceServiceResponse response;
  grpc::Status ok = Export(MakeRequest(2), &response, /*gzip=*/true);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  ASSERT_EQ(backend_.batches().size(), 1u);
}

TEST_F(OtlpGrpcReceiverTest, MessageInflatingExactlyToTheLimitIsAccepted) {
  ExportTraceServiceRequest request = MakeRequest(1);
  std::string name(1000, 'n');
  request.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->set_name(name);
  size_t size = request.ByteSizeLong();
  StartReceiver(OtlpGrpcReceiverOptions{.address = "127.0.0.1:0", .max_message_bytes = size});
  grpc::ByteBuffer exact = PreCompressed(Compress(request.SerializeAsString(), /*gzip=*/true),
                                         GRPC_COMPRESS_GZIP);
  grpc::Status status = RawCall(kExportMethod, &exact, [](grpc::ClientContext* context) {
    context->set_compression_algorithm(GRPC_COMPRESS_GZIP);
  });
  ASSERT_TRUE(status.ok()) << status.error_message();

  name.push_back('n');  // one byte more
  request.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->set_name(name);
  grpc::ByteBuffer over = PreCompressed(Compress(request.SerializeAsString(), /*gzip=*/false),
                                        GRPC_COMPRESS_DEFLATE);
  status = RawCall(kExportMethod, &over, [](grpc::ClientContext* context) {
    context->set_compression_algorithm(GRPC_COMPRESS_DEFLATE);
  });
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(),
            fmt::format("deflate-compressed message inflates to more than the limit of {} bytes "
                        "(max_message_bytes); send smaller batches",
                        size));
  EXPECT_EQ(backend_.batches().size(), 1u);
}

TEST_F(OtlpGrpcReceiverTest, CorruptGzipIsInvalidArgument) {
  std::string compressed = Compress(MakeRequest(1).SerializeAsString(), /*gzip=*/true);
  compressed.resize(compressed.size() - 6);  // cut the trailer and the end of the data
  grpc::ByteBuffer request = PreCompressed(compressed, GRPC_COMPRESS_GZIP);
  grpc::Status status = RawCall(kExportMethod, &request, [](grpc::ClientContext* context) {
    context->set_compression_algorithm(GRPC_COMPRESS_GZIP);
  });
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "gzip: corrupt compressed message: truncated");
  EXPECT_EQ(Metric(R"(teletrace_ingest_refusals_total{transport="grpc",reason="decompression"})"),
            "1");
}

// gRPC 1.51 drops a grpc-encoding it does not know before the service sees it, and delivers the
// message as if it were not compressed: it is refused (not retryable), never stored.
TEST_F(OtlpGrpcReceiverTest, UnknownEncodingIsRefused) {
  grpc::ByteBuffer request = PreCompressed("compressed by something else", GRPC_COMPRESS_GZIP);
  grpc::Status status = RawCall(kExportMethod, &request, [](grpc::ClientContext* context) {
    context->AddMetadata("grpc-encoding", "snappy");
  });
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "invalid OTLP protobuf: cannot parse 28 bytes as an ExportTraceServiceRequest "
            "(truncated, corrupt, or nested too deeply)");
  EXPECT_EQ(backend_.writes_started(), 0);
}

bool HasRetryInfo(const grpc::Status& status) {
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details()) || details.details_size() != 1) {
    return false;
  }
  google::rpc::RetryInfo retry_info;
  return details.details(0).UnpackTo(&retry_info) && retry_info.retry_delay().seconds() == 1;
}

void WaitForBudgetToEmpty(const ByteBudget& budget) {
  for (int i = 0; i < 2000 && budget.used() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(budget.used(), 0u);
}

// The budget is shared across receivers; a message that does not fit is refused as retryable.
TEST_F(OtlpGrpcReceiverTest, SpentBudgetIsRetryableResourceExhausted) {
  ByteBudget budget(200);
  StartReceiver(OtlpGrpcReceiverOptions{
      .address = "127.0.0.1:0", .max_message_bytes = 1 << 20, .budget = &budget});
  ExportTraceServiceRequest big = MakeRequest(6);  // ~230 bytes
  ASSERT_GT(big.ByteSizeLong(), 200u);
  ExportTraceServiceResponse response;
  grpc::Status status = Export(big, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(),
            "server busy: the in-flight byte budget of 200 bytes is spent; retry later");
  EXPECT_TRUE(HasRetryInfo(status));

  // Small on the wire, but its inflated form does not fit either: also retryable.
  ExportTraceServiceRequest compressible = MakeRequest(1);
  compressible.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->set_name(
      std::string(5000, 'a'));
  grpc::ByteBuffer request = PreCompressed(
      Compress(compressible.SerializeAsString(), /*gzip=*/true), GRPC_COMPRESS_GZIP);
  status = RawCall(kExportMethod, &request, [](grpc::ClientContext* context) {
    context->set_compression_algorithm(GRPC_COMPRESS_GZIP);
  });
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(),
            "server busy: the in-flight byte budget of 200 bytes is spent; retry later");
  EXPECT_TRUE(HasRetryInfo(status));
  EXPECT_EQ(Metric(R"(teletrace_ingest_refusals_total{transport="grpc",reason="budget"})"), "2");
  WaitForBudgetToEmpty(budget);  // each call returns its lease in OnDone, after the reply

  // A message that fits holds its lease until it is answered, then returns it.
  backend_.Hold();
  ExportTraceServiceRequest small = MakeRequest(1);
  grpc::ClientContext held_context;
  ExportTraceServiceResponse held_response;
  std::promise<grpc::Status> held;
  stub_->async()->Export(&held_context, &small, &held_response,
                         [&held](grpc::Status s) { held.set_value(std::move(s)); });
  backend_.WaitForWrites(1);
  EXPECT_EQ(budget.used(), small.ByteSizeLong());
  backend_.Release();
  EXPECT_TRUE(held.get_future().get().ok());
  WaitForBudgetToEmpty(budget);
}

TEST_F(OtlpGrpcReceiverTest, BearerTokenIsRequiredWhenConfigured) {
  StartReceiver(OtlpGrpcReceiverOptions{.address = "127.0.0.1:0",
                                        .max_message_bytes = 1 << 20,
                                        .bearer_token = "s3cret-token"});
  auto export_with = [&](const std::string& authorization) {
    grpc::ClientContext context;
    if (!authorization.empty()) context.AddMetadata("authorization", authorization);
    ExportTraceServiceResponse response;
    return stub_->Export(&context, MakeRequest(1), &response);
  };
  for (const std::string& authorization :
       {std::string(""), std::string("Bearer wrong-token!"), std::string("Bearer s3cret-toke"),
        std::string("Basic s3cret-token"), std::string("s3cret-token")}) {
    grpc::Status status = export_with(authorization);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << authorization;
    EXPECT_EQ(status.error_message(), "missing or invalid bearer token");
  }
  EXPECT_EQ(
      Metric(R"(teletrace_ingest_refusals_total{transport="grpc",reason="unauthenticated"})"),
      "5");
  EXPECT_TRUE(export_with("Bearer s3cret-token").ok());
  EXPECT_TRUE(export_with("bearer   s3cret-token").ok());
  EXPECT_EQ(backend_.batches().size(), 2u);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A self-signed certificate for "localhost" made by the openssl CLI in `dir`: writes
// <name>.cert.pem and <name>.key.pem, returns the certificate's PEM.
std::string MakeCertificate(const std::string& dir, const std::string& name) {
  std::string command = fmt::format(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
      "-subj /CN=localhost -addext subjectAltName=DNS:localhost "
      "-keyout {0}/{1}.key.pem -out {0}/{1}.cert.pem 2>/dev/null",
      dir, name);
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return ReadFile(fmt::format("{}/{}.cert.pem", dir, name));
}

grpc::Status TlsExport(int port, const std::string& trusted_pem) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = trusted_pem;
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  auto channel = grpc::CreateCustomChannel(fmt::format("127.0.0.1:{}", port),
                                           grpc::SslCredentials(ssl), args);
  auto stub = TraceService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  ExportTraceServiceResponse response;
  return stub->Export(&context, MakeRequest(1), &response);
}

// TLS with a certificate that is renewed while the server runs: new connections get the new
// certificate without a restart.
TEST_F(OtlpGrpcReceiverTest, TlsWithCertificateReloadedFromFiles) {
  char dir_template[] = "/tmp/teletrace-grpc-tls-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  std::string dir = dir_template;
  std::string first = MakeCertificate(dir, "first");
  ASSERT_NE(first, "");
  std::string cert_file = dir + "/server.cert.pem";
  std::string key_file = dir + "/server.key.pem";
  ASSERT_EQ(std::rename((dir + "/first.cert.pem").c_str(), cert_file.c_str()), 0);
  ASSERT_EQ(std::rename((dir + "/first.key.pem").c_str(), key_file.c_str()), 0);
  StartReceiver(OtlpGrpcReceiverOptions{.address = "127.0.0.1:0",
                                        .max_message_bytes = 1 << 20,
                                        .tls_cert_file = cert_file,
                                        .tls_key_file = key_file,
                                        .tls_refresh_seconds = 1});

  grpc::Status status = TlsExport(receiver_->port(), first);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ExportTraceServiceResponse response;
  EXPECT_EQ(Export(MakeRequest(1), &response).error_code(), grpc::StatusCode::UNAVAILABLE)
      << "a plaintext client must not get through";

  // Renew: write the new pair beside the old one, then move it into place.
  std::string second = MakeCertificate(dir, "second");
  ASSERT_NE(second, first);
  ASSERT_EQ(std::rename((dir + "/second.key.pem").c_str(), key_file.c_str()), 0);
  ASSERT_EQ(std::rename((dir + "/second.cert.pem").c_str(), cert_file.c_str()), 0);
  grpc::Status renewed;
  for (int i = 0; i < 100; ++i) {  // the provider re-reads the files every second
    renewed = TlsExport(receiver_->port(), second);
    if (renewed.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(renewed.ok()) << renewed.error_message();
  EXPECT_EQ(backend_.batches().size(), 2u);
  std::system(fmt::format("rm -rf {}", dir).c_str());
}

TEST(OtlpGrpcReceiverStartTest, UnreadableTlsFileIsInvalidArgument) {
  FakeBackend backend;
  Metrics metrics;
  Pipeline pipeline(&backend, PipelineOptions{}, &metrics);
  auto receiver = OtlpGrpcReceiver::Start(
      OtlpGrpcReceiverOptions{.address = "127.0.0.1:0",
                              .tls_cert_file = "/nonexistent/cert.pem",
                              .tls_key_file = "/nonexistent/key.pem"},
      &pipeline, &metrics);
  EXPECT_EQ(receiver.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(receiver.status().message(),
            "otlp grpc: cannot read the TLS certificate file /nonexistent/cert.pem");
  receiver = OtlpGrpcReceiver::Start(
      OtlpGrpcReceiverOptions{.address = "127.0.0.1:0", .tls_cert_file = "/etc/hostname"},
      &pipeline, &metrics);
  EXPECT_EQ(receiver.status().message(),
            "otlp grpc: TLS needs both a certificate file and a key file");
}

TEST(OtlpGrpcReceiverStartTest, BadAddressIsUnavailable) {
  FakeBackend backend;
  Metrics metrics;
  Pipeline pipeline(&backend, PipelineOptions{}, &metrics);
  auto receiver = OtlpGrpcReceiver::Start(
      OtlpGrpcReceiverOptions{.address = "256.1.1.1:99999", .max_message_bytes = 1 << 20},
      &pipeline, &metrics);
  EXPECT_EQ(receiver.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(receiver.status().message(),
            "otlp grpc: cannot listen on 256.1.1.1:99999 (address in use or invalid)");
}

}  // namespace
}  // namespace teletrace::ingest
