#include "server/config.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <functional>
#include <optional>

#include "common/settings.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "server/backends.h"
#include "yaml-cpp/yaml.h"

namespace teletrace::server {
namespace {

// The server's own keys. The storage.<backend>.* keys come from each backend's declarations
// (BackendDescriptor::settings, registered in server/backends.cc).
const std::vector<settings::Spec>& ServerSettings() {
  static const std::vector<settings::Spec> kSpecs = {
    {"config", "", "YAML configuration file"},
    {"server.host", "127.0.0.1",
     "address every port listens on; 0.0.0.0 (or ::) listens on all interfaces"},
    {"server.http_port", "8080", "web UI, query API, /healthz, /readyz, /metrics"},
    {"server.otlp_grpc_port", "4317", "OTLP/gRPC trace ingest"},
    {"server.otlp_http_port", "4318", "OTLP/HTTP trace ingest (POST /v1/traces)"},
    {"server.zipkin_port", "0",
     "Zipkin JSON v2 span ingest (POST /api/v2/spans) on a port of its own, e.g. 9411 "
     "(0 = off; the UI/API port always accepts it too)"},
    {"server.http_threads", "2", "network threads of each HTTP server"},
    {"server.query_threads", "2", "threads answering API queries"},
    {"server.ui_dir", "", "serve the web UI from this directory instead of the embedded copy"},
    {"server.allowed_hosts", "",
     "Host header names the UI/API port answers, comma-separated, against DNS rebinding ('' = "
     "localhost, 127.0.0.1 and [::1] when listening on loopback, any host otherwise; * = any)"},
    {"server.max_connections", "4096",
     "open connections per HTTP listener; beyond it new connections get 503 and are closed"},
    {"server.idle_timeout", "120s",
     "close a connection idle (or a request body still arriving) for this long"},
    {"server.header_timeout", "10s",
     "a request header must arrive whole within this once its first byte came"},
    {"server.tls_cert_file", "",
     "PEM certificate (chain) for TLS on every listener; '' = plain (re-read on SIGHUP)"},
    {"server.tls_key_file", "", "PEM private key for server.tls_cert_file"},
    {"auth.api_token", "",
     "bearer token required by the query APIs (/v1, /api) and /metrics ('' = none; the UI asks "
     "for it)"},
    {"auth.ingest_token", "",
     "bearer token required by OTLP and Zipkin ingest, gRPC metadata or HTTP Authorization "
     "('' = none)"},
    {"ingest.max_request_bytes", "16777216",
     "largest OTLP request accepted, after decompression (413 / RESOURCE_EXHAUSTED beyond)"},
    {"ingest.max_queue_bytes", "67108864",
     "ingest queue bound; beyond it exports are refused with retryable codes"},
    {"ingest.max_batch_spans", "16384", "spans per storage commit at most (group commit)"},
    {"ingest.max_inflight_bytes", "268435456",
     "bytes all OTLP requests together may hold (bodies, inflated bodies, queued batches); beyond "
     "it exports are refused with retryable codes (0 = no bound)"},
    {"ingest.cors_allowed_origins", "",
     "origins allowed to send OTLP/HTTP from a browser, comma-separated (* = any; '' = CORS off)"},
    {"storage.backend", "sqlite", ""},  // help: the registered backends (AllSettings)
    {"storage.retention_interval", "60s", "how often retention runs"},
    {"log.level", "info", "trace, debug, info, warn, error"},
  };
  return kSpecs;
}

// Every key Teletrace reads, full names: the server's, then each registered backend's.
const std::vector<settings::Spec>& AllSettings() {
  static const std::vector<settings::Spec> kAll = [] {
    std::vector<settings::Spec> all = ServerSettings();
    for (settings::Spec& spec : all) {
      if (spec.key == "storage.backend") {
        spec.help = fmt::format("storage backend: {}", fmt::join(BuiltinBackends().Names(), ", "));
      }
    }
    for (const auto& [name, backend] : BuiltinBackends().Backends()) {
      for (const settings::Spec& spec : backend.settings) {
        all.push_back({"storage." + name + "." + spec.key, spec.default_value, spec.help});
      }
    }
    return all;
  }();
  return kAll;
}

const settings::Spec* FindSetting(const std::string& key) {
  for (const settings::Spec& s : AllSettings()) {
    if (key == s.key) return &s;
  }
  return nullptr;
}

std::string EnvName(const std::string& key) {
  std::string out = "TELETRACE_";
  for (char c : key) out += c == '.' ? '_' : static_cast<char>(std::toupper(c));
  return out;
}

// Flattens a YAML mapping into dotted keys; scalars only at the leaves.
absl::Status FlattenYaml(const YAML::Node& node, const std::string& prefix,
                         std::map<std::string, std::string>* out, const std::string& file) {
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(
        fmt::format("config file {}: \"{}\" must be a mapping", file, prefix));
  }
  for (const auto& kv : node) {
    std::string key = prefix.empty() ? kv.first.as<std::string>()
                                     : prefix + "." + kv.first.as<std::string>();
    if (kv.second.IsMap()) {
      RETURN_IF_ERROR(FlattenYaml(kv.second, key, out, file));
    } else if (kv.second.IsScalar()) {
      (*out)[key] = kv.second.as<std::string>();
    } else if (kv.second.IsNull()) {
      (*out)[key] = "";
    } else {
      return absl::InvalidArgumentError(
          fmt::format("config file {}: \"{}\" must be a single value", file, key));
    }
  }
  return absl::OkStatus();
}

absl::Status LoadYaml(const std::string& file, std::map<std::string, std::string>* values) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(fmt::format("config file {}: {}", file, e.what()));
  }
  if (root.IsNull()) return absl::OkStatus();
  std::map<std::string, std::string> flat;
  RETURN_IF_ERROR(FlattenYaml(root, "", &flat, file));
  for (auto& [k, v] : flat) {
    if (FindSetting(k) == nullptr || k == "config") {
      return absl::InvalidArgumentError(fmt::format("config file {}: unknown key \"{}\"", file, k));
    }
    (*values)[k] = v;
  }
  return absl::OkStatus();
}

// A duration setting in whole seconds, at least 1 s.
absl::StatusOr<uint64_t> PositiveSeconds(const std::string& key, const std::string& value) {
  ASSIGN_OR_RETURN(uint64_t nano, settings::Duration(key, value));
  if (nano < 1000000000) return settings::Invalid(key, value, "must be at least 1s");
  return nano / 1000000000;
}

}  // namespace

absl::StatusOr<Config> LoadConfig(int argc, const char* const* argv, const char* const* envp) {
  Config config;
  std::map<std::string, std::string> values;
  for (const settings::Spec& s : AllSettings()) values[s.key] = s.default_value;

  // Flags first into their own map: they win, but --config must be known before the file loads.
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      config.help = true;
      continue;
    }
    if (arg == "--version") {
      config.version = true;
      continue;
    }
    if (arg == "--probe") {
      config.probe = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(fmt::format("unexpected argument \"{}\" (see --help)", arg));
    }
    std::string key = arg.substr(2), value;
    size_t eq = key.find('=');
    if (eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    }
    if (FindSetting(key) == nullptr) {
      return absl::InvalidArgumentError(fmt::format("unknown flag --{} (see --help)", key));
    }
    if (eq == std::string::npos) {
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(fmt::format("flag --{} needs a value", key));
      }
      value = argv[++i];
    }
    flags[key] = value;
  }

  std::map<std::string, std::string> env;
  for (const char* const* e = envp; e != nullptr && *e != nullptr; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq == nullptr) continue;
    env[std::string(*e, eq - *e)] = std::string(eq + 1);
  }

  std::string file = flags.count("config") ? flags["config"]
                     : env.count("TELETRACE_CONFIG") ? env["TELETRACE_CONFIG"]
                                                     : "";
  if (!file.empty()) RETURN_IF_ERROR(LoadYaml(file, &values));
  for (const settings::Spec& s : AllSettings()) {
    auto it = env.find(EnvName(s.key));
    if (it != env.end()) values[s.key] = it->second;
  }
  for (auto& [k, v] : flags) values[k] = v;

  // Each value by its key, in the shared vocabulary (common/settings.h).
  auto value = [&values](const char* key) -> const std::string& { return values[key]; };
  auto port = [&](const char* key) { return settings::Unsigned(key, value(key), 0, 65535); };
  config.host = value("server.host");
  if (config.host.empty()) return settings::Invalid("server.host", "", "must not be empty");
  ASSIGN_OR_RETURN(config.http_port, port("server.http_port"));
  ASSIGN_OR_RETURN(config.otlp_grpc_port, port("server.otlp_grpc_port"));
  ASSIGN_OR_RETURN(config.otlp_http_port, port("server.otlp_http_port"));
  ASSIGN_OR_RETURN(config.zipkin_port, port("server.zipkin_port"));
  for (const auto& [other, other_port] :
       {std::pair{"server.http_port", config.http_port},
        std::pair{"server.otlp_grpc_port", config.otlp_grpc_port},
        std::pair{"server.otlp_http_port", config.otlp_http_port}}) {
    if (config.zipkin_port != 0 && config.zipkin_port == other_port) {
      return settings::Invalid("server.zipkin_port", value("server.zipkin_port"),
                               fmt::format("is already {}", other));
    }
  }
  ASSIGN_OR_RETURN(config.http_threads,
                   settings::Unsigned("server.http_threads", value("server.http_threads"), 1, 64));
  ASSIGN_OR_RETURN(config.query_threads,
                   settings::Unsigned("server.query_threads", value("server.query_threads"), 1, 64));
  config.ui_dir = value("server.ui_dir");
  config.allowed_hosts = settings::List(value("server.allowed_hosts"));
  ASSIGN_OR_RETURN(config.max_connections,
                   settings::Unsigned("server.max_connections", value("server.max_connections"), 1,
                                      1 << 20));
  ASSIGN_OR_RETURN(config.idle_timeout_seconds,
                   PositiveSeconds("server.idle_timeout", value("server.idle_timeout")));
  ASSIGN_OR_RETURN(config.header_timeout_seconds,
                   PositiveSeconds("server.header_timeout", value("server.header_timeout")));
  config.tls_cert_file = value("server.tls_cert_file");
  config.tls_key_file = value("server.tls_key_file");
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return absl::InvalidArgumentError(fmt::format(
        "{}: must be set together with {}",
        config.tls_cert_file.empty() ? "server.tls_key_file" : "server.tls_cert_file",
        config.tls_cert_file.empty() ? "server.tls_cert_file" : "server.tls_key_file"));
  }
  config.api_token = value("auth.api_token");
  config.ingest_token = value("auth.ingest_token");
  for (const char* key : {"auth.api_token", "auth.ingest_token"}) {
    if (value(key).find_first_of(" \t\r\n") != std::string::npos) {
      return absl::InvalidArgumentError(
          fmt::format("{}: must not contain whitespace (it is sent as a bearer token)", key));
    }
  }
  ASSIGN_OR_RETURN(config.max_request_bytes,
                   settings::Bytes("ingest.max_request_bytes", value("ingest.max_request_bytes"),
                                   uint64_t{1} << 31));
  if (config.max_request_bytes < 1024) {
    return settings::Invalid("ingest.max_request_bytes", value("ingest.max_request_bytes"),
                             "must be at least 1024");
  }
  ASSIGN_OR_RETURN(config.max_queue_bytes,
                   settings::Bytes("ingest.max_queue_bytes", value("ingest.max_queue_bytes"),
                                   uint64_t{1} << 40));
  ASSIGN_OR_RETURN(config.max_batch_spans,
                   settings::Unsigned("ingest.max_batch_spans", value("ingest.max_batch_spans"), 1,
                                      1 << 24));
  ASSIGN_OR_RETURN(config.max_inflight_bytes,
                   settings::Bytes("ingest.max_inflight_bytes", value("ingest.max_inflight_bytes"),
                                   uint64_t{1} << 40));
  if (config.max_inflight_bytes != 0 && config.max_inflight_bytes < 2 * config.max_request_bytes) {
    // A compressed request holds its wire bytes and its inflated bytes at once: a smaller budget
    // would refuse the largest allowed request forever, however often it is retried.
    return settings::Invalid(
        "ingest.max_inflight_bytes", value("ingest.max_inflight_bytes"),
        fmt::format("must be 0 or at least twice ingest.max_request_bytes ({})",
                    2 * config.max_request_bytes));
  }
  config.cors_allowed_origins = settings::List(value("ingest.cors_allowed_origins"));
  ASSIGN_OR_RETURN(config.retention_interval_seconds,
                   PositiveSeconds("storage.retention_interval", value("storage.retention_interval")));
  config.log_level = value("log.level");
  static const char* kLevels[] = {"trace", "debug", "info", "warn", "error"};
  if (std::find_if(std::begin(kLevels), std::end(kLevels),
                   [&](const char* l) { return config.log_level == l; }) == std::end(kLevels)) {
    return settings::Invalid("log.level", config.log_level,
                             "want trace, debug, info, warn or error");
  }
  config.backend = value("storage.backend");
  if (BuiltinBackends().Backends().count(config.backend) == 0) {
    return settings::Invalid("storage.backend", config.backend,
                             fmt::format("want one of {}", fmt::join(BuiltinBackends().Names(), ", ")));
  }
  std::string prefix = "storage." + config.backend + ".";
  for (const auto& [k, v] : values) {
    if (k.rfind(prefix, 0) == 0) config.backend_settings[k.substr(prefix.size())] = v;
  }
  return config;
}

std::string HelpText() {
  std::string out =
      "teletrace: distributed tracing backend (OTLP in, SQLite storage, query API and UI)\n\n"
      "Usage: teletrace [--config FILE] [--<key>=<value> ...]\n\n"
      "With no arguments it stores data under ./teletrace-data and listens on 127.0.0.1:\n"
      "OTLP/gRPC 4317, OTLP/HTTP 4318, UI and API 8080.\n\n"
      "Every setting can come from the YAML file (nested: server: {http_port: 9090}), an\n"
      "environment variable, or a flag; flags win over the environment, which wins over the file.\n\n"
      "Settings:\n";
  for (const settings::Spec& s : AllSettings()) {
    out += fmt::format("  --{}\n      env {}, default \"{}\"\n      {}\n", s.key, EnvName(s.key),
                       s.default_value, s.help);
  }
  out += "\n  --help      this text\n  --version   print the version\n"
         "  --probe     exit 0 if the server these settings describe answers /readyz with 200\n"
         "              (a health check for images without an HTTP client), else 1\n";
  return out;
}

}  // namespace teletrace::server
