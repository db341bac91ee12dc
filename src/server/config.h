// Teletrace's one configuration surface. Every setting has a dotted key ("server.http_port") and a
// default; a YAML file (--config), environment variables (TELETRACE_SERVER_HTTP_PORT) and flags
// (--server.http_port=8080) override it, in that order of precedence from low to high.
//
//   ASSIGN_OR_RETURN(Config config, LoadConfig(argc, argv, environ));
//
// The keys are the server's plus every registered backend's declarations (server/backends.cc);
// values use the shared vocabulary of common/settings.h (durations "250ms".."2w", sizes "16MiB").
// Unknown keys in the file or flags, and values of the wrong form, are InvalidArgument naming the
// key and where it came from.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/storage.h"

namespace teletrace::server {

struct Config {
  std::string host = "127.0.0.1";
  uint16_t http_port = 8080;
  uint16_t otlp_grpc_port = 4317;
  uint16_t otlp_http_port = 4318;
  uint16_t zipkin_port = 0;  // 0 = no Zipkin listener of its own
  int http_threads = 2;
  int query_threads = 2;
  uint64_t max_request_bytes = 16 << 20;
  uint64_t max_queue_bytes = 64 << 20;
  uint64_t max_batch_spans = 16384;
  uint64_t retention_interval_seconds = 60;
  std::string log_level = "info";
  std::string backend = "sqlite";
  storage::BackendSettings backend_settings;  // the storage.<backend>.* keys, prefix stripped
  std::string ui_dir;                          // serve the UI from here instead of the embedded copy
  std::vector<std::string> allowed_hosts;      // empty: automatic (see server.allowed_hosts)
  uint64_t max_connections = 4096;             // per HTTP listener
  uint64_t idle_timeout_seconds = 120;
  uint64_t header_timeout_seconds = 10;
  std::string tls_cert_file;  // "" = plain HTTP/gRPC
  std::string tls_key_file;
  std::string api_token;     // "" = the API needs no token
  std::string ingest_token;  // "" = ingest needs no token
  uint64_t max_inflight_bytes = 256 << 20;  // 0 = unbounded
  std::vector<std::string> cors_allowed_origins;

  bool help = false;
  bool version = false;
  bool probe = false;  // --probe: ask the configured server whether it is ready, then exit
};

// Parses flags (argv[1..]), the environment (envp, NULL-terminated "K=V" strings) and the file
// named by --config / TELETRACE_CONFIG.
absl::StatusOr<Config> LoadConfig(int argc, const char* const* argv, const char* const* envp);

// The --help text: usage and every key with its environment variable, default and meaning.
std::string HelpText();

}  // namespace teletrace::server
