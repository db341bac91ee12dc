// teletrace: starts every part from the configuration, serves until SIGINT or SIGTERM, then stops
// gracefully (exports in flight are committed and answered) and exits 0. A configuration or
// start-up error is printed as "teletrace: <message>" and exits 2.
#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <pthread.h>

#include "common/build_info.h"
#include "ingest/protobuf_log_throttle.h"
#include "server/config.h"
#include "server/probe.h"
#include "server/request_guard.h"
#include "server/teletrace_server.h"
#include "spdlog/spdlog.h"

extern char** environ;

namespace {

// Every connection is a file descriptor. Raise the soft limit to the hard one (the common soft
// default of 1024 is what an idle-connection flood exhausts), then make sure the two HTTP
// listeners' connection caps leave room for gRPC, the database and log files: a flood on one port
// must not starve the others.
void FitConnectionCapsToOpenFileLimit(teletrace::server::Config* config) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  constexpr uint64_t kReserve = 256;  // database, WAL, logs, outgoing connections
  const uint64_t descriptors = limit.rlim_cur == RLIM_INFINITY ? uint64_t{1} << 20 : limit.rlim_cur;
  const uint64_t per_listener =
      std::max<uint64_t>(16, (descriptors > 2 * kReserve ? descriptors - kReserve : descriptors / 2) / 3);
  if (config->max_connections > per_listener) {
    spdlog::warn(
        "server.max_connections {} does not fit the open-files limit {} (3 listeners + {} "
        "reserved); using {} per listener",
        config->max_connections, descriptors, kReserve, per_listener);
    config->max_connections = per_listener;
  }
}

void WarnWhenExposedWithoutTokens(const teletrace::server::Config& config) {
  if (!teletrace::server::RequestGuard::DefaultAllowedHosts(config.host).empty()) return;
  if (config.api_token.empty()) {
    spdlog::warn(
        "listening on {} (not loopback) without auth.api_token: anyone who can reach port {} can "
        "read every trace",
        config.host, config.http_port);
  }
  if (config.ingest_token.empty()) {
    spdlog::warn(
        "listening on {} (not loopback) without auth.ingest_token: anyone who can reach ports {} "
        "and {} can write spans",
        config.host, config.otlp_grpc_port, config.otlp_http_port);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Block the stop signals before any thread starts so that only sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto config = teletrace::server::LoadConfig(argc, argv, environ);
  if (!config.ok()) {
    std::fprintf(stderr, "teletrace: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  if (config->help) {
    std::fputs(teletrace::server::HelpText().c_str(), stdout);
    return 0;
  }
  if (config->version) {
    const teletrace::BuildInfo& build = teletrace::GetBuildInfo();
    std::printf("teletrace %.*s (commit %.*s, built %.*s)\n", static_cast<int>(build.version.size()),
                build.version.data(), static_cast<int>(build.commit.size()), build.commit.data(),
                static_cast<int>(build.date.size()), build.date.data());
    return 0;
  }
  if (config->probe) return teletrace::server::ProbeReadiness(*config);
  spdlog::set_level(spdlog::level::from_str(config->log_level));
  teletrace::ingest::InstallProtobufLogThrottle();
  FitConnectionCapsToOpenFileLimit(&*config);
  WarnWhenExposedWithoutTokens(*config);

  auto server = teletrace::server::TeletraceServer::Start(*config);
  if (!server.ok()) {
    std::fprintf(stderr, "teletrace: %s\n", std::string(server.status().message()).c_str());
    return 2;
  }
  int received = 0;
  while (sigwait(&signals, &received) == 0 && received == SIGHUP) {
    absl::Status reloaded = (*server)->ReloadTls();
    if (reloaded.ok()) {
      spdlog::info("SIGHUP: TLS certificate reloaded (when TLS is on)");
    } else {
      spdlog::error("SIGHUP: TLS reload failed, keeping the previous certificate: {}",
                    reloaded.ToString());
    }
  }
  spdlog::info("received signal {}, stopping", received);
  (*server)->Stop();
  return 0;
}
