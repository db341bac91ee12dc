#include "server/teletrace_server.h"

#include <utility>

#include "api/jaeger/jaeger_api.h"
#include "api/tempo/tempo_api.h"
#include "api/zipkin/zipkin_api.h"
#include "api/teletrace_v1/teletrace_v1_api.h"
#include "boost/asio/post.hpp"
#include "boost/asio/thread_pool.hpp"
#include "common/cancel.h"
#include "common/log_throttle.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "ingest/otlp_grpc_receiver.h"
#include "ingest/otlp_http_receiver.h"
#include "ingest/pipeline.h"
#include "ingest/zipkin_http_receiver.h"
#include "server/api_families.h"
#include "server/backends.h"
#include "server/http_server.h"
#include "server/request_guard.h"
#include "server/ui_assets.h"
#include "spdlog/spdlog.h"

namespace teletrace::server {

// Request bodies held at once on the UI/API port, all connections together: 64 one-MiB bodies.
constexpr uint64_t kUiInflightBytes = uint64_t{64} << 20;

struct TeletraceServer::Parts {
  Config config;
  Metrics metrics;
  std::unique_ptr<ByteBudget> inflight;     // shared by the OTLP and Zipkin-port receivers
  std::unique_ptr<ByteBudget> ui_inflight;  // request bodies on the UI/API port
  std::unique_ptr<RequestGuard> guard;   // host, origin, content type and token on 8080
  LogThrottle refusal_log;
  std::unique_ptr<storage::Backend> backend;
  std::unique_ptr<ingest::Pipeline> pipeline;
  std::unique_ptr<ingest::OtlpHttpReceiver> otlp_http_receiver;
  std::unique_ptr<ingest::OtlpGrpcReceiver> otlp_grpc;
  std::unique_ptr<HttpServer> otlp_http;
  std::unique_ptr<api::v1::TeletraceV1Api> api;
  std::unique_ptr<api::jaeger::JaegerApi> jaeger_api;
  std::unique_ptr<api::tempo::TempoApi> tempo_api;
  std::unique_ptr<api::zipkin::ZipkinApi> zipkin_api;
  std::unique_ptr<ingest::ZipkinHttpReceiver> zipkin_receiver;
  std::unique_ptr<HttpServer> zipkin_http;  // server.zipkin_port; null when 0
  std::unique_ptr<UiAssets> ui;
  std::unique_ptr<boost::asio::thread_pool> query_pool;
  std::unique_ptr<HttpServer> http;
  std::atomic<bool> ready{false};
  // Queries stopped because their client hung up: before they started (still queued behind
  // others) or while running.
  Counter* queries_skipped = nullptr;
  Counter* queries_stopped = nullptr;

  std::mutex retention_mu;
  std::condition_variable retention_cv;
  bool stopping = false;  // guarded by retention_mu
  std::thread retention_thread;
  bool stopped = false;

  void HandleHttp(HttpRequest&& request, HttpResponder respond);
  // Answers a query API request (on the query pool).
  HttpResponse HandleQuery(ApiFamily family, const HttpRequest& request);
  void RetentionLoop();
};

// Counts a refusal the HTTP layer made (before any handler) under
// teletrace_refusals_total{listener, status, reason}, and logs it at most once per 10 s per kind.
void CountRefusal(Metrics* metrics, LogThrottle* throttle, const std::string& listener,
                  int status, std::string_view reason) {
  metrics
      ->CounterFor("teletrace_refusals_total",
                   "Requests and connections refused before reaching a handler",
                   {{"listener", listener},
                    {"status", std::to_string(status)},
                    {"reason", std::string(reason)}})
      ->Add();
  const std::string key = fmt::format("{} {} {}", listener, status, reason);
  throttle->Log(spdlog::level::warn, key, fmt::format("{}: refused ({} {})", listener, status,
                                                      reason));
}

void TeletraceServer::Parts::HandleHttp(HttpRequest&& request, HttpResponder respond) {
  const std::string& path = request.path;
  const bool health = path == "/healthz" || path == "/readyz";
  const ApiFamily family = ApiFamilyOf(request);
  const bool is_api = path == "/metrics" || family != ApiFamily::kNone;
  // Zipkin instrumentation POSTs spans to /api/v2/spans of whatever it takes for a Zipkin server:
  // that is ingest, not a query. It gets the host and origin checks but no API token (the receiver
  // checks the ingest token), and is answered by the receiver after commit, off the query pool.
  const bool zipkin_ingest = family == ApiFamily::kZipkin && request.method == "POST";
  const RequestGuard::Area area = health                     ? RequestGuard::Area::kHealth
                                  : is_api && !zipkin_ingest ? RequestGuard::Area::kApi
                                                             : RequestGuard::Area::kUi;
  if (std::optional<HttpResponse> refusal = guard->Check(request, area)) {
    CountRefusal(&metrics, &refusal_log, "http", refusal->status, "guard");
    if (area == RequestGuard::Area::kUi) AddSecurityHeaders(&*refusal);
    respond(std::move(*refusal));
    return;
  }
  if (zipkin_ingest) {
    zipkin_receiver->Handle(std::move(request), std::move(respond));
    return;
  }
  if (path == "/healthz") {
    respond(HttpResponse{200, "text/plain; charset=utf-8", {}, "ok"});
    return;
  }
  if (path == "/readyz") {
    bool is_ready = ready.load();
    respond(HttpResponse{is_ready ? 200 : 503, "text/plain; charset=utf-8", {},
                         is_ready ? "ready" : "starting"});
    return;
  }
  if (path == "/metrics") {
    // Rendering asks the backend for its size, which for a remote store is a request that may
    // take up to its timeout: on the query pool, never on a network thread.
    boost::asio::post(*query_pool, [this, respond = std::move(respond)]() mutable {
      respond(HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", {}, metrics.Render()});
    });
    return;
  }
  if (family != ApiFamily::kNone) {
    // Queries block on storage: run them on the query pool, never on a network thread.
    // This lambda is the boundary of the query path: nothing may escape it, or the pool thread
    // would call std::terminate and take ingest down with the API.
    boost::asio::post(*query_pool, [this, family, request = std::move(request),
                                    respond = std::move(respond)]() mutable {
      // A superseded search is abandoned by its browser while it waits here behind others: skip
      // it, and stop one that is running when its client hangs up (common/cancel.h).
      if (request.cancelled && request.cancelled->load()) {
        queries_skipped->Add();
        respond(api::v1::ErrorResponse(absl::CancelledError("the client closed the connection")));
        return;
      }
      ScopedCancellation cancellation(request.cancelled.get());
      HttpResponse response;
      try {
        response = HandleQuery(family, request);
        if (Cancelled()) queries_stopped->Add();
      } catch (const std::exception& e) {
        spdlog::error("api: {} {} threw: {}", request.method, request.path, e.what());
        response = api::v1::ErrorResponse(absl::InternalError(e.what()));
      } catch (...) {
        spdlog::error("api: {} {} threw a non-exception", request.method, request.path);
        response = api::v1::ErrorResponse(absl::InternalError("unknown exception"));
      }
      respond(std::move(response));
    });
    return;
  }
  respond(ui->Serve(request));
}

HttpResponse TeletraceServer::Parts::HandleQuery(ApiFamily family, const HttpRequest& request) {
  switch (family) {
    case ApiFamily::kV1:
      return api->Handle(request);
    case ApiFamily::kJaeger:
      return jaeger_api->Handle(request);
    case ApiFamily::kTempo:
      return tempo_api->Handle(request);
    case ApiFamily::kZipkin:
      return zipkin_api->Handle(request);
    case ApiFamily::kNone:
      break;
  }
  return api::v1::ErrorResponse(absl::NotFoundError("no API serves " + request.path));
}

void TeletraceServer::Parts::RetentionLoop() {
  std::unique_lock lock(retention_mu);
  while (!stopping) {
    retention_cv.wait_for(lock, std::chrono::seconds(config.retention_interval_seconds),
                          [this] { return stopping; });
    if (stopping) break;
    lock.unlock();
    absl::Status status = backend->EnforceRetention();
    if (!status.ok()) spdlog::warn("retention: {}", status.ToString());
    lock.lock();
  }
}

absl::StatusOr<std::unique_ptr<TeletraceServer>> TeletraceServer::Start(const Config& config) {
  auto parts = std::make_unique<Parts>();
  Parts* p = parts.get();
  p->config = config;

  ASSIGN_OR_RETURN(p->backend, BuiltinBackends().Create(config.backend, config.backend_settings));
  // A remote store that cannot be reached yet is not fatal: exports are refused as retryable and
  // queries fail with 503 until it answers, and the backend recovers by itself.
  absl::StatusOr<std::string> system_id = p->backend->SystemId();
  if (system_id.ok()) {
    spdlog::info("storage: {} backend open, system id {}", config.backend, *system_id);
  } else if (absl::IsUnavailable(system_id.status())) {
    spdlog::warn("storage: {} backend not reachable yet ({}); serving, and retrying on every "
                 "request",
                 config.backend, system_id.status().ToString());
  } else {
    return system_id.status();
  }

  ingest::PipelineOptions pipeline_options;
  pipeline_options.max_queue_bytes = config.max_queue_bytes;
  pipeline_options.max_batch_spans = config.max_batch_spans;
  p->pipeline =
      std::make_unique<ingest::Pipeline>(p->backend.get(), pipeline_options, &p->metrics);
  p->queries_skipped = p->metrics.AddCounter(
      "teletrace_api_queries_cancelled_total",
      "API queries not run or stopped because their client closed the connection",
      {{"when", "queued"}});
  p->queries_stopped = p->metrics.AddCounter(
      "teletrace_api_queries_cancelled_total",
      "API queries not run or stopped because their client closed the connection",
      {{"when", "running"}});
  p->metrics.AddCallbackGauge("teletrace_queue_bytes", "Bytes of spans waiting to be committed",
                              [p] { return static_cast<double>(p->pipeline->QueuedBytes()); });
  p->metrics.AddCallbackGauge("teletrace_queue_spans", "Spans waiting to be committed",
                              [p] { return static_cast<double>(p->pipeline->QueuedSpans()); });
  p->metrics.AddCallbackGauge("teletrace_storage_bytes", "Bytes the store occupies on disk",
                              [p] { return static_cast<double>(p->backend->DiskBytes()); });

  p->jaeger_api = std::make_unique<api::jaeger::JaegerApi>(p->backend.get());
  p->tempo_api = std::make_unique<api::tempo::TempoApi>(p->backend.get());
  p->zipkin_api = std::make_unique<api::zipkin::ZipkinApi>(p->backend.get());
  p->inflight = std::make_unique<ByteBudget>(config.max_inflight_bytes);
  p->metrics.AddCallbackGauge("teletrace_inflight_bytes",
                              "Bytes OTLP requests hold now (bodies, inflated bodies, queued)",
                              [p] { return static_cast<double>(p->inflight->used()); });
  p->metrics.AddCallbackGauge("teletrace_inflight_limit_bytes",
                              "The in-flight byte budget (0 = unbounded)",
                              [p] { return static_cast<double>(p->inflight->capacity()); });
  p->ui_inflight = std::make_unique<ByteBudget>(kUiInflightBytes);
  p->metrics.AddCallbackGauge("teletrace_api_inflight_bytes",
                              "Bytes request bodies on the UI/API port hold now (limit 64 MiB)",
                              [p] { return static_cast<double>(p->ui_inflight->used()); });
  p->guard = std::make_unique<RequestGuard>(RequestGuardOptions{
      .api_token = config.api_token,
      .allowed_hosts = config.allowed_hosts.empty()
                           ? RequestGuard::DefaultAllowedHosts(config.host)
                       : config.allowed_hosts == std::vector<std::string>{"*"}
                           ? std::vector<std::string>{}
                           : config.allowed_hosts});
  p->ui = std::make_unique<UiAssets>(config.ui_dir);
  p->query_pool = std::make_unique<boost::asio::thread_pool>(config.query_threads);

  p->otlp_http_receiver =
      std::make_unique<ingest::OtlpHttpReceiver>(
          p->pipeline.get(), &p->metrics,
          ingest::OtlpHttpReceiverOptions{.bearer_token = config.ingest_token,
                                          .cors_allowed_origins = config.cors_allowed_origins});
  HttpServerOptions otlp_options;
  otlp_options.host = config.host;
  otlp_options.port = config.otlp_http_port;
  otlp_options.max_body_bytes = config.max_request_bytes;
  otlp_options.threads = config.http_threads;
  otlp_options.name = "otlp-http";
  otlp_options.max_connections = config.max_connections;
  otlp_options.idle_timeout = std::chrono::seconds(config.idle_timeout_seconds);
  otlp_options.header_timeout = std::chrono::seconds(config.header_timeout_seconds);
  otlp_options.budget = p->inflight.get();
  // OTLP clients get their errors as a google.rpc.Status in their own encoding.
  otlp_options.error_response = ingest::OtlpHttpErrorResponse;
  otlp_options.tls_cert_file = config.tls_cert_file;
  otlp_options.tls_key_file = config.tls_key_file;
  otlp_options.on_refusal = [p](int status, std::string_view reason) {
    CountRefusal(&p->metrics, &p->refusal_log, "otlp-http", status, reason);
  };
  ASSIGN_OR_RETURN(p->otlp_http,
                   HttpServer::Start(otlp_options, [p](HttpRequest&& r, HttpResponder respond) {
                     p->otlp_http_receiver->Handle(std::move(r), std::move(respond));
                   }));

  std::string grpc_address = config.host.find(':') != std::string::npos
                                 ? fmt::format("[{}]:{}", config.host, config.otlp_grpc_port)
                                 : fmt::format("{}:{}", config.host, config.otlp_grpc_port);
  ingest::OtlpGrpcReceiverOptions grpc_options;
  grpc_options.address = grpc_address;
  grpc_options.max_message_bytes = config.max_request_bytes;
  grpc_options.budget = p->inflight.get();
  grpc_options.max_connection_idle_seconds = config.idle_timeout_seconds;
  grpc_options.bearer_token = config.ingest_token;
  grpc_options.tls_cert_file = config.tls_cert_file;
  grpc_options.tls_key_file = config.tls_key_file;
  ASSIGN_OR_RETURN(p->otlp_grpc, ingest::OtlpGrpcReceiver::Start(grpc_options, p->pipeline.get(),
                                                                 &p->metrics));

  // Zipkin's span endpoint: on the UI port always (POST /api/v2/spans), and on a port of its own
  // (Zipkin's 9411, say) when server.zipkin_port is set, for instrumentation that only takes a
  // host and port.
  p->zipkin_receiver = std::make_unique<ingest::ZipkinHttpReceiver>(
      p->pipeline.get(), &p->metrics,
      ingest::ZipkinHttpReceiverOptions{.bearer_token = config.ingest_token});
  if (config.zipkin_port != 0) {
    HttpServerOptions zipkin_options = otlp_options;
    zipkin_options.port = config.zipkin_port;
    zipkin_options.name = "zipkin";
    zipkin_options.error_response = ingest::ZipkinErrorResponse;
    zipkin_options.on_refusal = [p](int status, std::string_view reason) {
      CountRefusal(&p->metrics, &p->refusal_log, "zipkin", status, reason);
    };
    ASSIGN_OR_RETURN(p->zipkin_http,
                     HttpServer::Start(zipkin_options, [p](HttpRequest&& r, HttpResponder respond) {
                       p->zipkin_receiver->Handle(std::move(r), std::move(respond));
                     }));
    spdlog::info("listening on {}: Zipkin {}", config.host, p->zipkin_http->port());
  }

  // The v1 API tells clients the ports actually bound (a configured 0 picks a free one).
  p->api = std::make_unique<api::v1::TeletraceV1Api>(
      p->backend.get(), nullptr,
      api::v1::IngestPorts{
          .otlp_grpc = static_cast<uint16_t>(p->otlp_grpc->port()),
          .otlp_http = p->otlp_http->port(),
          .zipkin = p->zipkin_http ? p->zipkin_http->port() : uint16_t{0}});

  HttpServerOptions http_options;
  http_options.host = config.host;
  http_options.port = config.http_port;
  http_options.max_body_bytes = 1 << 20;  // query bodies are small
  // Every connection may hold a body of up to 1 MiB (a query, or Zipkin spans POSTed here): a
  // budget of its own bounds them all together, apart from ingest's, so an ingest surge does not
  // refuse the UI's queries and 4096 slow uploads cannot hold 4 GiB.
  http_options.budget = p->ui_inflight.get();
  http_options.threads = config.http_threads;
  http_options.name = "http";
  http_options.max_connections = config.max_connections;
  http_options.idle_timeout = std::chrono::seconds(config.idle_timeout_seconds);
  http_options.header_timeout = std::chrono::seconds(config.header_timeout_seconds);
  http_options.tls_cert_file = config.tls_cert_file;
  http_options.tls_key_file = config.tls_key_file;
  http_options.on_refusal = [p](int status, std::string_view reason) {
    CountRefusal(&p->metrics, &p->refusal_log, "http", status, reason);
  };
  ASSIGN_OR_RETURN(p->http, HttpServer::Start(http_options, [p](HttpRequest&& r,
                                                                 HttpResponder respond) {
                     p->HandleHttp(std::move(r), std::move(respond));
                   }));


  p->retention_thread = std::thread([p] { p->RetentionLoop(); });
  p->ready = true;
  spdlog::info("listening on {}: OTLP/gRPC {}, OTLP/HTTP {}, UI and API {}", config.host,
               p->otlp_grpc->port(), p->otlp_http->port(), p->http->port());
  return std::unique_ptr<TeletraceServer>(new TeletraceServer(std::move(parts)));
}

TeletraceServer::TeletraceServer(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

TeletraceServer::~TeletraceServer() { Stop(); }

uint16_t TeletraceServer::http_port() const { return parts_->http->port(); }
uint16_t TeletraceServer::otlp_http_port() const { return parts_->otlp_http->port(); }
uint16_t TeletraceServer::otlp_grpc_port() const {
  return static_cast<uint16_t>(parts_->otlp_grpc->port());
}

absl::Status TeletraceServer::ReloadTls() {
  RETURN_IF_ERROR(parts_->http->ReloadTls());
  RETURN_IF_ERROR(parts_->otlp_http->ReloadTls());
  if (parts_->zipkin_http != nullptr) RETURN_IF_ERROR(parts_->zipkin_http->ReloadTls());
  return absl::OkStatus();
}

void TeletraceServer::Stop() {
  Parts* p = parts_.get();
  if (p == nullptr || p->stopped) return;
  p->stopped = true;
  p->ready = false;
  // Receivers first: they stop taking exports and answer those in flight once the still-running
  // pipeline has committed them. Then the pipeline commits whatever is left.
  p->otlp_grpc->Shutdown();
  p->otlp_http->Stop();
  if (p->zipkin_http != nullptr) p->zipkin_http->Stop();
  p->pipeline->Stop();
  p->http->Stop();
  p->query_pool->join();
  {
    std::lock_guard lock(p->retention_mu);
    p->stopping = true;
  }
  p->retention_cv.notify_all();
  p->retention_thread.join();
  p->backend.reset();
  spdlog::info("stopped");
}

}  // namespace teletrace::server
