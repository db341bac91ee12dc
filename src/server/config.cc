#include "server/config.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <functional>
#include <optional>

#include "absl/strings/numbers.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "yaml-cpp/yaml.h"

namespace teletrace::server {
namespace {

struct Setting {
  const char* key;
  const char* default_value;
  const char* help;
};

// Every key Teletrace reads. Storage keys are passed to the backend named by storage.backend.
constexpr Setting kSettings[] = {
    {"config", "", "YAML configuration file"},
    {"server.host", "127.0.0.1",
     "address every port listens on; 0.0.0.0 (or ::) listens on all interfaces"},
    {"server.http_port", "8080", "web UI, query API, /healthz, /readyz, /metrics"},
    {"server.otlp_grpc_port", "4317", "OTLP/gRPC trace ingest"},
    {"server.otlp_http_port", "4318", "OTLP/HTTP trace ingest (POST /v1/traces)"},
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
     "bearer token required by the query API and /metrics ('' = none; the UI asks for it)"},
    {"auth.ingest_token", "",
     "bearer token required by OTLP ingest, gRPC metadata or HTTP Authorization ('' = none)"},
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
    {"storage.backend", "sqlite", "storage backend: sqlite or clickhouse"},
    {"storage.retention_interval", "60s", "how often retention runs"},
    {"storage.sqlite.path", "./teletrace-data", "SQLite data directory"},
    {"storage.sqlite.retention_max_age", "168h",
     "delete spans older than this (e.g. 72h, 30d; 0 = keep forever)"},
    {"storage.sqlite.retention_max_bytes", "0",
     "delete the oldest spans while the database is larger than this (0 = no cap)"},
    {"storage.sqlite.block_spans", "1024", "spans per compressed storage block"},
    {"storage.clickhouse.endpoints", "http://127.0.0.1:8123",
     "ClickHouse HTTP(S) endpoints, comma-separated; the next is tried when one is unreachable"},
    {"storage.clickhouse.database", "teletrace", "ClickHouse database (created if missing)"},
    {"storage.clickhouse.cluster", "",
     "ClickHouse cluster name: tables ON CLUSTER, replicated and sharded by trace id ('' = single "
     "node)"},
    {"storage.clickhouse.user", "default", "ClickHouse user"},
    {"storage.clickhouse.password", "", "ClickHouse password"},
    {"storage.clickhouse.tls_ca_file", "", "CA bundle for https endpoints ('' = system CAs)"},
    {"storage.clickhouse.insert_batch_spans", "10000", "spans per ClickHouse INSERT at most"},
    {"storage.clickhouse.flush_interval", "0",
     "minimum time between two INSERTs (writes arriving meanwhile are grouped); 0 = back to back"},
    {"storage.clickhouse.retention_max_age", "168h",
     "drop daily partitions older than this (0 = keep forever)"},
    {"storage.clickhouse.retention_max_bytes", "0",
     "drop the oldest daily partitions while the data is larger than this (0 = no cap)"},
    {"log.level", "info", "trace, debug, info, warn, error"},
};

const Setting* FindSetting(const std::string& key) {
  for (const auto& s : kSettings) {
    if (key == s.key) return &s;
  }
  return nullptr;
}

std::string EnvName(const std::string& key) {
  std::string out = "TELETRACE_";
  for (char c : key) out += c == '.' ? '_' : static_cast<char>(std::toupper(c));
  return out;
}

absl::StatusOr<uint64_t> ParseUint(const std::string& value, const std::string& key,
                                   uint64_t max) {
  uint64_t v = 0;
  if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) {
    return absl::InvalidArgumentError(
        fmt::format("{}: expected a non-negative integer, got \"{}\"", key, value));
  }
  if (!absl::SimpleAtoi(value, &v) || v > max) {
    return absl::InvalidArgumentError(
        fmt::format("{}: must be at most {}, got {}", key, max, value));
  }
  return v;
}

// "a, b,,c" -> {"a", "b", "c"}.
std::vector<std::string> SplitList(const std::string& value) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= value.size()) {
    size_t comma = value.find(',', pos);
    if (comma == std::string::npos) comma = value.size();
    std::string item = value.substr(pos, comma - pos);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(std::move(item));
    pos = comma + 1;
  }
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

}  // namespace

absl::StatusOr<uint64_t> ParseDurationSeconds(const std::string& value, const std::string& key) {
  if (value == "0") return 0;
  static const std::pair<const char*, uint64_t> kUnits[] = {
      {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}, {"w", 7 * 86400}};
  for (const auto& [suffix, scale] : kUnits) {
    if (value.size() > 1 && value.back() == suffix[0]) {
      std::string digits = value.substr(0, value.size() - 1);
      uint64_t count = 0;
      if (digits.find_first_not_of("0123456789") == std::string::npos && digits.size() < 12 &&
          absl::SimpleAtoi(digits, &count)) {
        return count * scale;
      }
    }
  }
  return absl::InvalidArgumentError(fmt::format(
      "{}: expected a duration like 90s, 30m, 72h or 7d (or 0), got \"{}\"", key, value));
}

absl::StatusOr<Config> LoadConfig(int argc, const char* const* argv, const char* const* envp) {
  Config config;
  std::map<std::string, std::string> values;
  for (const auto& s : kSettings) values[s.key] = s.default_value;

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
  for (const auto& s : kSettings) {
    auto it = env.find(EnvName(s.key));
    if (it != env.end()) values[s.key] = it->second;
  }
  for (auto& [k, v] : flags) values[k] = v;

  config.host = values["server.host"];
  if (config.host.empty()) return absl::InvalidArgumentError("server.host: must not be empty");
  ASSIGN_OR_RETURN(config.http_port, ParseUint(values["server.http_port"], "server.http_port",
                                               65535));
  ASSIGN_OR_RETURN(config.otlp_grpc_port,
                   ParseUint(values["server.otlp_grpc_port"], "server.otlp_grpc_port", 65535));
  ASSIGN_OR_RETURN(config.otlp_http_port,
                   ParseUint(values["server.otlp_http_port"], "server.otlp_http_port", 65535));
  ASSIGN_OR_RETURN(uint64_t http_threads,
                   ParseUint(values["server.http_threads"], "server.http_threads", 64));
  ASSIGN_OR_RETURN(uint64_t query_threads,
                   ParseUint(values["server.query_threads"], "server.query_threads", 64));
  if (http_threads == 0 || query_threads == 0) {
    return absl::InvalidArgumentError(fmt::format(
        "{}: must be at least 1", http_threads == 0 ? "server.http_threads" : "server.query_threads"));
  }
  config.http_threads = static_cast<int>(http_threads);
  config.query_threads = static_cast<int>(query_threads);
  config.ui_dir = values["server.ui_dir"];
  config.allowed_hosts = SplitList(values["server.allowed_hosts"]);
  ASSIGN_OR_RETURN(config.max_connections, ParseUint(values["server.max_connections"],
                                                     "server.max_connections", 1 << 20));
  if (config.max_connections == 0) {
    return absl::InvalidArgumentError("server.max_connections: must be at least 1");
  }
  ASSIGN_OR_RETURN(config.idle_timeout_seconds,
                   ParseDurationSeconds(values["server.idle_timeout"], "server.idle_timeout"));
  ASSIGN_OR_RETURN(config.header_timeout_seconds,
                   ParseDurationSeconds(values["server.header_timeout"], "server.header_timeout"));
  if (config.idle_timeout_seconds == 0 || config.header_timeout_seconds == 0) {
    return absl::InvalidArgumentError(
        fmt::format("{}: must be greater than 0", config.idle_timeout_seconds == 0
                                                      ? "server.idle_timeout"
                                                      : "server.header_timeout"));
  }
  config.tls_cert_file = values["server.tls_cert_file"];
  config.tls_key_file = values["server.tls_key_file"];
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return absl::InvalidArgumentError(fmt::format(
        "{}: must be set together with {}",
        config.tls_cert_file.empty() ? "server.tls_key_file" : "server.tls_cert_file",
        config.tls_cert_file.empty() ? "server.tls_cert_file" : "server.tls_key_file"));
  }
  config.api_token = values["auth.api_token"];
  config.ingest_token = values["auth.ingest_token"];
  for (const char* key : {"auth.api_token", "auth.ingest_token"}) {
    const std::string& token = values[key];
    if (token.find_first_of(" \t\r\n") != std::string::npos) {
      return absl::InvalidArgumentError(
          fmt::format("{}: must not contain whitespace (it is sent as a bearer token)", key));
    }
  }
  ASSIGN_OR_RETURN(config.max_inflight_bytes,
                   ParseUint(values["ingest.max_inflight_bytes"], "ingest.max_inflight_bytes",
                             uint64_t{1} << 40));
  if (config.max_inflight_bytes != 0 && config.max_inflight_bytes < 2 * config.max_request_bytes) {
    // A compressed request holds its wire bytes and its inflated bytes at once: a smaller budget
    // would refuse the largest allowed request forever, however often it is retried.
    return absl::InvalidArgumentError(fmt::format(
        "ingest.max_inflight_bytes: must be 0 or at least twice ingest.max_request_bytes ({}), "
        "got {}",
        2 * config.max_request_bytes, config.max_inflight_bytes));
  }
  config.cors_allowed_origins = SplitList(values["ingest.cors_allowed_origins"]);
  ASSIGN_OR_RETURN(config.max_request_bytes,
                   ParseUint(values["ingest.max_request_bytes"], "ingest.max_request_bytes",
                             uint64_t{1} << 31));
  ASSIGN_OR_RETURN(config.max_queue_bytes, ParseUint(values["ingest.max_queue_bytes"],
                                                     "ingest.max_queue_bytes", uint64_t{1} << 40));
  ASSIGN_OR_RETURN(config.max_batch_spans, ParseUint(values["ingest.max_batch_spans"],
                                                     "ingest.max_batch_spans", 1 << 24));
  if (config.max_request_bytes < 1024) {
    return absl::InvalidArgumentError("ingest.max_request_bytes: must be at least 1024");
  }
  if (config.max_batch_spans == 0) {
    return absl::InvalidArgumentError("ingest.max_batch_spans: must be at least 1");
  }
  ASSIGN_OR_RETURN(config.retention_interval_seconds,
                   ParseDurationSeconds(values["storage.retention_interval"],
                                        "storage.retention_interval"));
  if (config.retention_interval_seconds == 0) {
    return absl::InvalidArgumentError("storage.retention_interval: must be greater than 0");
  }
  config.log_level = values["log.level"];
  static const char* kLevels[] = {"trace", "debug", "info", "warn", "error"};
  if (std::find_if(std::begin(kLevels), std::end(kLevels),
                   [&](const char* l) { return config.log_level == l; }) == std::end(kLevels)) {
    return absl::InvalidArgumentError(fmt::format(
        "log.level: expected trace, debug, info, warn or error, got \"{}\"", config.log_level));
  }
  config.backend = values["storage.backend"];
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
  for (const auto& s : kSettings) {
    out += fmt::format("  --{}\n      env {}, default \"{}\"\n      {}\n", s.key, EnvName(s.key),
                       s.default_value, s.help);
  }
  out += "\n  --help      this text\n  --version   print the version\n"
         "  --probe     exit 0 if the server these settings describe answers /readyz with 200\n"
         "              (a health check for images without an HTTP client), else 1\n";
  return out;
}

}  // namespace teletrace::server
