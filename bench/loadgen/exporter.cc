#include <utility>  // before Boost (Beast 1.74 with g++ 12 in C++20)

#include "loadgen/exporter.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "google/rpc/status.pb.h"
#include "nlohmann/json.hpp"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace teletrace::loadgen {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using ExportResponse = opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse;

constexpr char kExportMethod[] = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

bool IsRetryableGrpcCode(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DATA_LOSS:
      return true;
    default:
      return false;
  }
}

class GrpcExporter : public Exporter {
 public:
  explicit GrpcExporter(const ExporterConfig& config) : config_(config) {
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(-1);
    args.SetMaxReceiveMessageSize(-1);
    // Without these, channels with equal arguments share one TCP connection.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("teletrace.loadgen.connection", config.connection_index);
    std::string target = config.endpoint;
    if (target.rfind("http://", 0) == 0) target = target.substr(7);
    channel_ = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    stub_ = std::make_unique<grpc::GenericStub>(channel_);
  }

  ExportResult Export(std::string* body) override {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::microseconds(static_cast<int64_t>(config_.timeout_s * 1e6)));
    if (config_.gzip) context.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    grpc::Slice slice(body->data(), body->size());
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    grpc::Status status;
    auto call = stub_->PrepareUnaryCall(&context, kExportMethod, request, &queue_);
    call->StartCall();
    call->Finish(&response, &status, this);
    void* tag = nullptr;
    bool ok = false;
    queue_.Next(&tag, &ok);

    ExportResult result;
    if (status.ok()) {
      result.kind = ExportResult::Kind::kAccepted;
      std::vector<grpc::Slice> slices;
      std::string bytes;
      if (response.Dump(&slices).ok()) {
        for (const grpc::Slice& s : slices) {
          bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
        }
      }
      ExportResponse parsed;
      if (parsed.ParseFromString(bytes)) {
        result.rejected_spans = parsed.partial_success().rejected_spans();
      }
      return result;
    }
    result.kind = IsRetryableGrpcCode(status.error_code()) ? ExportResult::Kind::kRetryable
                                                           : ExportResult::Kind::kFailed;
    result.retry_after_s = RetryDelayFromStatusDetails(status.error_details());
    result.message = fmt::format("grpc status {}: {}", static_cast<int>(status.error_code()),
                                 status.error_message());
    return result;
  }

 private:
  ExporterConfig config_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;
  grpc::CompletionQueue queue_;
};

// One keep-alive HTTP/1.1 connection. Beast's timeouts apply to asynchronous operations only, so
// each step runs asynchronously on a private io_context and the thread waits for it.
class HttpExporter : public Exporter {
 public:
  HttpExporter(const ExporterConfig& config, std::string host, std::string port)
      : config_(config), host_(std::move(host)), port_(std::move(port)), stream_(ioc_) {}

  ExportResult Export(std::string* body) override {
    // A keep-alive connection the server closed while idle fails on first use: retry once on a
    // fresh connection before calling it a refusal.
    bool fresh = !connected_;
    ExportResult result = Attempt(body);
    if (result.kind == ExportResult::Kind::kRetryable && !fresh && !connected_ &&
        result.message.rfind("transport", 0) == 0) {
      result = Attempt(body);
    }
    return result;
  }

 private:
  std::chrono::steady_clock::duration Timeout() const {
    return std::chrono::microseconds(static_cast<int64_t>(config_.timeout_s * 1e6));
  }

  // Runs the operations started on ioc_ to completion.
  void Wait() {
    ioc_.restart();
    ioc_.run();
  }

  ExportResult TransportError(const char* step, const beast::error_code& ec) {
    beast::error_code ignored;
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
    stream_.close();
    connected_ = false;
    ExportResult result;
    result.kind = ExportResult::Kind::kRetryable;
    result.message = fmt::format("transport: {} {}:{}: {}", step, host_, port_, ec.message());
    return result;
  }

  ExportResult Attempt(std::string* body) {
    beast::error_code ec;
    if (!connected_) {
      net::ip::tcp::resolver resolver(ioc_);
      auto endpoints = resolver.resolve(host_, port_, ec);
      if (ec) return TransportError("resolve", ec);
      stream_.expires_after(Timeout());
      stream_.async_connect(endpoints, [&](beast::error_code e, const auto&) { ec = e; });
      Wait();
      if (ec) return TransportError("connect", ec);
      stream_.socket().set_option(net::ip::tcp::no_delay(true), ec);
      connected_ = true;
    }
    http::request<http::string_body> request{http::verb::post, "/v1/traces", 11};
    request.set(http::field::host, fmt::format("{}:{}", host_, port_));
    request.set(http::field::content_type, config_.protocol == Protocol::kHttpJson
                                               ? "application/json"
                                               : "application/x-protobuf");
    if (config_.gzip) request.set(http::field::content_encoding, "gzip");
    request.keep_alive(true);
    request.body() = std::move(*body);
    request.prepare_payload();
    stream_.expires_after(Timeout());
    http::async_write(stream_, request, [&](beast::error_code e, size_t) { ec = e; });
    Wait();
    *body = std::move(request.body());
    if (ec) return TransportError("write to", ec);

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    stream_.expires_after(Timeout());
    http::async_read(stream_, buffer, parser, [&](beast::error_code e, size_t) { ec = e; });
    Wait();
    if (ec) return TransportError("read from", ec);
    http::response<http::string_body> response = parser.release();
    if (!response.keep_alive()) {
      beast::error_code ignored;
      stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
      stream_.close();
      connected_ = false;
    }

    ExportResult result;
    int status = static_cast<int>(response.result_int());
    result.kind = ClassifyHttpStatus(status);
    if (result.kind == ExportResult::Kind::kAccepted) {
      result.rejected_spans = RejectedSpans(response);
      return result;
    }
    auto retry_after = response.find(http::field::retry_after);
    if (retry_after != response.end()) {
      std::string_view value(retry_after->value().data(), retry_after->value().size());
      result.retry_after_s = ParseRetryAfter(value);
    }
    result.message = fmt::format("http status {}: {}", status, response.body().substr(0, 300));
    return result;
  }

  int64_t RejectedSpans(const http::response<http::string_body>& response) {
    if (response.body().empty()) return 0;
    if (config_.protocol == Protocol::kHttpProtobuf) {
      ExportResponse parsed;
      if (!parsed.ParseFromString(response.body())) return 0;
      return parsed.partial_success().rejected_spans();
    }
    nlohmann::json parsed = nlohmann::json::parse(response.body(), nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) return 0;
    auto partial = parsed.find("partialSuccess");
    if (partial == parsed.end() || !partial->is_object()) return 0;
    auto rejected = partial->find("rejectedSpans");
    if (rejected == partial->end()) return 0;
    if (rejected->is_number_integer()) return rejected->get<int64_t>();
    if (rejected->is_string()) {
      int64_t value = 0;
      const std::string& text = rejected->get_ref<const std::string&>();
      std::from_chars(text.data(), text.data() + text.size(), value);
      return value;
    }
    return 0;
  }

  ExporterConfig config_;
  std::string host_;
  std::string port_;
  net::io_context ioc_;
  beast::tcp_stream stream_;
  bool connected_ = false;
};

}  // namespace

absl::Status SplitEndpoint(std::string_view endpoint, std::string* host, std::string* port) {
  std::string_view rest = endpoint;
  if (rest.rfind("http://", 0) == 0) rest.remove_prefix(7);
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size()) {
    return absl::InvalidArgumentError(
        fmt::format("endpoint '{}' must be host:port", std::string(endpoint)));
  }
  std::string_view h = rest.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  *host = std::string(h);
  *port = std::string(rest.substr(colon + 1));
  return absl::OkStatus();
}

ExportResult::Kind ClassifyHttpStatus(int status) {
  if (status >= 200 && status < 300) return ExportResult::Kind::kAccepted;
  if (status == 429 || status == 502 || status == 503 || status == 504) {
    return ExportResult::Kind::kRetryable;
  }
  return ExportResult::Kind::kFailed;
}

double ParseRetryAfter(std::string_view header) {
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
  int64_t seconds = 0;
  auto [ptr, ec] = std::from_chars(header.data(), header.data() + header.size(), seconds);
  if (header.empty() || ec != std::errc() || ptr != header.data() + header.size() || seconds < 0) {
    return -1;
  }
  return static_cast<double>(seconds);
}

double RetryDelayFromStatusDetails(std::string_view status_details) {
  if (status_details.empty()) return -1;
  google::rpc::Status status;
  if (!status.ParseFromArray(status_details.data(), static_cast<int>(status_details.size()))) {
    return -1;
  }
  for (const auto& detail : status.details()) {
    google::rpc::RetryInfo retry_info;
    if (detail.Is<google::rpc::RetryInfo>() && detail.UnpackTo(&retry_info)) {
      return static_cast<double>(retry_info.retry_delay().seconds()) +
             retry_info.retry_delay().nanos() / 1e9;
    }
  }
  return -1;
}

absl::StatusOr<std::unique_ptr<Exporter>> MakeExporter(const ExporterConfig& config) {
  std::string host;
  std::string port;
  absl::Status status = SplitEndpoint(config.endpoint, &host, &port);
  if (!status.ok()) return status;
  if (config.protocol == Protocol::kGrpc) return std::make_unique<GrpcExporter>(config);
  return std::make_unique<HttpExporter>(config, std::move(host), std::move(port));
}

}  // namespace teletrace::loadgen
