// The whole Teletrace process: storage backend, ingest pipeline, OTLP receivers (gRPC and HTTP),
// the API/UI HTTP server, health and metrics, and background retention. main() builds one from the
// configuration, waits for a signal and stops it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/status/statusor.h"
#include "common/metrics.h"
#include "server/config.h"

namespace teletrace::server {

class TeletraceServer {
 public:
  // Opens storage and binds every port. Errors name the failing part ("storage.sqlite.path: ...",
  // "listen on 127.0.0.1:4318: address already in use").
  static absl::StatusOr<std::unique_ptr<TeletraceServer>> Start(const Config& config);
  ~TeletraceServer();  // Stop()s.

  // Graceful stop: stops accepting exports, answers the ones in flight after their commit,
  // commits everything queued, stops the API, closes storage. Idempotent.
  void Stop();

  // Re-reads server.tls_cert_file/tls_key_file for the HTTP listeners (main calls it on SIGHUP;
  // the gRPC listener watches the files itself). On error the old certificate stays in use.
  absl::Status ReloadTls();

  uint16_t http_port() const;
  uint16_t otlp_http_port() const;
  uint16_t otlp_grpc_port() const;

  struct Parts;  // defined in teletrace_server.cc

 private:
  explicit TeletraceServer(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace teletrace::server
