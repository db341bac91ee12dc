// teletrace: starts every part from the configuration, serves until SIGINT or SIGTERM, then stops
// gracefully (exports in flight are committed and answered) and exits 0. A configuration or
// start-up error is printed as "teletrace: <message>" and exits 2.
#include <csignal>
#include <cstdio>
#include <pthread.h>

#include "server/config.h"
#include "server/teletrace_server.h"
#include "spdlog/spdlog.h"

extern char** environ;

int main(int argc, char** argv) {
  // Block the stop signals before any thread starts so that only sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
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
    std::puts("teletrace " TELETRACE_VERSION);
    return 0;
  }
  spdlog::set_level(spdlog::level::from_str(config->log_level));

  auto server = teletrace::server::TeletraceServer::Start(*config);
  if (!server.ok()) {
    std::fprintf(stderr, "teletrace: %s\n", std::string(server.status().message()).c_str());
    return 2;
  }
  int received = 0;
  sigwait(&signals, &received);
  spdlog::info("received signal {}, stopping", received);
  (*server)->Stop();
  return 0;
}
