#include "server/config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "gtest/gtest.h"
#include "server/backends.h"

namespace teletrace::server {
namespace {

absl::StatusOr<Config> Load(std::vector<const char*> args, std::vector<const char*> env = {}) {
  args.insert(args.begin(), "teletrace");
  env.push_back(nullptr);
  return LoadConfig(static_cast<int>(args.size()), args.data(), env.data());
}

std::string WriteYaml(const std::string& text) {
  auto path = std::filesystem::temp_directory_path() /
              ("teletrace-config-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << text;
  return path.string();
}

TEST(ConfigTest, DefaultsNeedNothing) {
  auto c = Load({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->host, "127.0.0.1");
  EXPECT_EQ(c->http_port, 8080);
  EXPECT_EQ(c->otlp_grpc_port, 4317);
  EXPECT_EQ(c->otlp_http_port, 4318);
  EXPECT_EQ(c->backend, "sqlite");
  EXPECT_EQ(c->backend_settings.at("path"), "./teletrace-data");
  EXPECT_EQ(c->backend_settings.at("retention_max_age"), "168h");
  EXPECT_EQ(c->max_request_bytes, 16u << 20);
}

TEST(ConfigTest, FlagsBeatEnvironmentWhichBeatsTheFile) {
  std::string file = WriteYaml(
      "server:\n  http_port: 1111\n  otlp_http_port: 2222\n  otlp_grpc_port: 3333\n"
      "storage:\n  sqlite:\n    path: /from/file\n");
  auto c = Load({"--config", file.c_str(), "--server.http_port=9999"},
                {"TELETRACE_SERVER_HTTP_PORT=7777", "TELETRACE_SERVER_OTLP_HTTP_PORT=8888",
                 "TELETRACE_BIN=/ignored/unknown/var"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->http_port, 9999);
  EXPECT_EQ(c->otlp_http_port, 8888);
  EXPECT_EQ(c->otlp_grpc_port, 3333);
  EXPECT_EQ(c->backend_settings.at("path"), "/from/file");
  std::filesystem::remove(file);
}

TEST(ConfigTest, ZipkinPortIsOffByDefaultAndMustNotReuseAnotherPort) {
  auto off = Load({});
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ(off->zipkin_port, 0);
  auto on = Load({"--server.zipkin_port=9411"});
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_EQ(on->zipkin_port, 9411);
  EXPECT_EQ(Load({"--server.zipkin_port=4318"}).status(),
            absl::InvalidArgumentError(
                "server.zipkin_port: invalid value \"4318\": is already server.otlp_http_port"));
  EXPECT_EQ(Load({"--server.zipkin_port=zipkin"}).status(),
            absl::InvalidArgumentError(
                "server.zipkin_port: invalid value \"zipkin\": want an integer from 0 to 65535"));
}

TEST(ConfigTest, ErrorsNameTheKey) {
  EXPECT_EQ(Load({"--server.http_prot=1"}).status(),
            absl::InvalidArgumentError("unknown flag --server.http_prot (see --help)"));
  EXPECT_EQ(Load({"--server.http_port=http"}).status(),
            absl::InvalidArgumentError(
                "server.http_port: invalid value \"http\": want an integer from 0 to 65535"));
  EXPECT_EQ(Load({"--server.http_port=70000"}).status(),
            absl::InvalidArgumentError(
                "server.http_port: invalid value \"70000\": want an integer from 0 to 65535"));
  EXPECT_EQ(Load({}, {"TELETRACE_LOG_LEVEL=loud"}).status(),
            absl::InvalidArgumentError(
                "log.level: invalid value \"loud\": want trace, debug, info, warn or error"));
  EXPECT_EQ(Load({"--server.http_port"}).status(),
            absl::InvalidArgumentError("flag --server.http_port needs a value"));
  // Issue 9 point 1: a 20-digit value used to abort start-up through std::stoull's out_of_range.
  EXPECT_EQ(Load({"--ingest.max_queue_bytes=99999999999999999999"}).status(),
            absl::InvalidArgumentError(
                "ingest.max_queue_bytes: invalid value \"99999999999999999999\": want a number of "
                "bytes up to 1099511627776, optionally with a unit KiB, MiB, GiB, TiB, KB, MB, GB "
                "or TB"));
  EXPECT_EQ(Load({"--server.http_port=18446744073709551616"}).status(),
            absl::InvalidArgumentError("server.http_port: invalid value \"18446744073709551616\": "
                                       "want an integer from 0 to 65535"));
  EXPECT_EQ(Load({"--storage.retention_interval=99999999999999999999s"}).status(),
            absl::InvalidArgumentError("storage.retention_interval: invalid value "
                                       "\"99999999999999999999s\": number out of range"));
  EXPECT_EQ(Load({"--storage.retention_interval=500ms"}).status(),
            absl::InvalidArgumentError(
                "storage.retention_interval: invalid value \"500ms\": must be at least 1s"));
  EXPECT_EQ(Load({"--ingest.max_inflight_bytes=1000000"}).status(),
            absl::InvalidArgumentError("ingest.max_inflight_bytes: invalid value \"1000000\": must "
                                       "be 0 or at least twice ingest.max_request_bytes (33554432)"));
  // The bound follows the configured request size, whichever order the keys were parsed in.
  EXPECT_EQ(Load({"--ingest.max_request_bytes=64MiB", "--ingest.max_inflight_bytes=100MiB"}).status(),
            absl::InvalidArgumentError("ingest.max_inflight_bytes: invalid value \"100MiB\": must "
                                       "be 0 or at least twice ingest.max_request_bytes (134217728)"));
  EXPECT_EQ(Load({"--storage.backend=cassandra"}).status(),
            absl::InvalidArgumentError("storage.backend: invalid value \"cassandra\": want one "
                                       "of clickhouse, elasticsearch, sqlite"));
  EXPECT_EQ(Load({"--storage.sqlite.retention_max_age=7days"}).status().code(),
            absl::StatusCode::kOk);  // backend values are the backend's to check, at open
  std::string file = WriteYaml("server:\n  htp_port: 1\n");
  EXPECT_EQ(Load({"--config", file.c_str()}).status(),
            absl::InvalidArgumentError("config file " + file + ": unknown key \"server.htp_port\""));
  std::filesystem::remove(file);
}

TEST(ConfigTest, SharedVocabularyForDurationsAndSizes) {
  auto c = Load({"--server.idle_timeout=2m30s", "--storage.retention_interval=1w",
                 "--ingest.max_request_bytes=32MiB", "--ingest.max_queue_bytes=1GB"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->idle_timeout_seconds, 150u);
  EXPECT_EQ(c->retention_interval_seconds, 7u * 86400);
  EXPECT_EQ(c->max_request_bytes, 32u << 20);
  EXPECT_EQ(c->max_queue_bytes, 1000000000u);
}

TEST(ConfigTest, BackendKeysComeFromTheBackendsDeclarations) {
  // request_timeout was parsed by the ClickHouse backend but missing from the server's own key
  // table, so it could not be set; declarations leave no such gap.
  auto c = Load({"--storage.backend=clickhouse", "--storage.clickhouse.request_timeout=5s"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->backend_settings.at("request_timeout"), "5s");
  EXPECT_EQ(c->backend_settings.at("endpoints"), "http://127.0.0.1:8123");
  EXPECT_EQ(c->backend_settings.count("path"), 0u);
  for (const auto& [name, backend] : BuiltinBackends().Backends()) {
    for (const settings::Spec& spec : backend.settings) {
      const std::string key = "storage." + name + "." + spec.key;
      auto loaded = Load({("--storage.backend=" + name).c_str(), ("--" + key + "=" + spec.default_value).c_str()});
      EXPECT_TRUE(loaded.ok()) << key << ": " << loaded.status();
    }
  }
}

TEST(ConfigTest, HelpListsEveryKeyWithItsEnvironmentVariable) {
  std::string help = HelpText();
  EXPECT_NE(help.find("--server.http_port"), std::string::npos);
  EXPECT_NE(help.find("TELETRACE_STORAGE_SQLITE_RETENTION_MAX_AGE"), std::string::npos);
  EXPECT_NE(help.find("--ingest.max_queue_bytes"), std::string::npos);
  EXPECT_NE(help.find("--storage.clickhouse.request_timeout\n      env "
                      "TELETRACE_STORAGE_CLICKHOUSE_REQUEST_TIMEOUT, default \"30s\""),
            std::string::npos);
}

}  // namespace
}  // namespace teletrace::server
