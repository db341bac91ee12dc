#include "server/config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "gtest/gtest.h"

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

TEST(ConfigTest, ErrorsNameTheKey) {
  EXPECT_EQ(Load({"--server.http_prot=1"}).status(),
            absl::InvalidArgumentError("unknown flag --server.http_prot (see --help)"));
  EXPECT_EQ(Load({"--server.http_port=http"}).status(),
            absl::InvalidArgumentError(
                "server.http_port: expected a non-negative integer, got \"http\""));
  EXPECT_EQ(Load({"--server.http_port=70000"}).status(),
            absl::InvalidArgumentError("server.http_port: must be at most 65535, got 70000"));
  EXPECT_EQ(Load({}, {"TELETRACE_LOG_LEVEL=loud"}).status(),
            absl::InvalidArgumentError(
                "log.level: expected trace, debug, info, warn or error, got \"loud\""));
  EXPECT_EQ(Load({"--server.http_port"}).status(),
            absl::InvalidArgumentError("flag --server.http_port needs a value"));
  // Issue 9 point 1: a 20-digit value used to abort start-up through std::stoull's out_of_range.
  EXPECT_EQ(Load({"--ingest.max_queue_bytes=99999999999999999999"}).status(),
            absl::InvalidArgumentError("ingest.max_queue_bytes: must be at most "
                                       "1099511627776, got 99999999999999999999"));
  EXPECT_EQ(Load({"--server.http_port=18446744073709551616"}).status(),
            absl::InvalidArgumentError(
                "server.http_port: must be at most 65535, got 18446744073709551616"));
  EXPECT_EQ(Load({"--storage.retention_interval=99999999999999s"}).status(),
            absl::InvalidArgumentError("storage.retention_interval: expected a duration like 90s, "
                                       "30m, 72h or 7d (or 0), got \"99999999999999s\""));
  EXPECT_EQ(Load({"--ingest.max_inflight_bytes=1000000"}).status(),
            absl::InvalidArgumentError("ingest.max_inflight_bytes: must be 0 or at least twice "
                                       "ingest.max_request_bytes (33554432), got 1000000"));
  std::string file = WriteYaml("server:\n  htp_port: 1\n");
  EXPECT_EQ(Load({"--config", file.c_str()}).status(),
            absl::InvalidArgumentError("config file " + file + ": unknown key \"server.htp_port\""));
  std::filesystem::remove(file);
}

TEST(ConfigTest, Durations) {
  EXPECT_EQ(*ParseDurationSeconds("90s", "k"), 90u);
  EXPECT_EQ(*ParseDurationSeconds("30m", "k"), 1800u);
  EXPECT_EQ(*ParseDurationSeconds("72h", "k"), 259200u);
  EXPECT_EQ(*ParseDurationSeconds("7d", "k"), 604800u);
  EXPECT_EQ(*ParseDurationSeconds("0", "k"), 0u);
  EXPECT_EQ(ParseDurationSeconds("soon", "storage.retention_interval").status(),
            absl::InvalidArgumentError("storage.retention_interval: expected a duration like 90s, "
                                       "30m, 72h or 7d (or 0), got \"soon\""));
}

TEST(ConfigTest, HelpListsEveryKeyWithItsEnvironmentVariable) {
  std::string help = HelpText();
  EXPECT_NE(help.find("--server.http_port"), std::string::npos);
  EXPECT_NE(help.find("TELETRACE_STORAGE_SQLITE_RETENTION_MAX_AGE"), std::string::npos);
  EXPECT_NE(help.find("--ingest.max_queue_bytes"), std::string::npos);
}

}  // namespace
}  // namespace teletrace::server
