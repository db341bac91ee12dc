// teletrace-loadgen: sends generated OTLP traces and reports what the server acknowledged.
// Exit status: 0 when every offered span was acknowledged (or the decode baseline ran), 1 when
// some failed, 2 on a bad flag or set-up error.
#include <csignal>
#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "loadgen/decode_baseline.h"
#include "loadgen/options.h"
#include "loadgen/runner.h"

namespace {

void Fail(const absl::Status& status) {
  std::fprintf(stderr, "teletrace-loadgen: %s\n", std::string(status.message()).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  namespace lg = teletrace::loadgen;
  std::signal(SIGPIPE, SIG_IGN);
  auto options = lg::ParseLoadgenFlags(argc, argv);
  if (!options.ok()) {
    Fail(options.status());
    return 2;
  }
  if (options->help) {
    std::fputs(lg::LoadgenHelpText().c_str(), stdout);
    return 0;
  }
  if (options->decode_baseline) {
    auto report = lg::RunDecodeBaseline(*options);
    if (!report.ok()) {
      Fail(report.status());
      return 2;
    }
    std::fputs(lg::FormatDecodeReportText(*report).c_str(), options->json ? stderr : stdout);
    if (options->json) std::puts(lg::FormatDecodeReportJson(*report).c_str());
    return report->parse_failures == 0 ? 0 : 1;
  }
  auto report = lg::RunLoad(*options);
  if (!report.ok()) {
    Fail(report.status());
    return 2;
  }
  // With --json, stdout carries only the JSON line (the huge trace id is in it) and the human
  // report goes to stderr.
  std::fputs(lg::FormatRunReportText(*report).c_str(), options->json ? stderr : stdout);
  if (options->json) std::puts(lg::FormatRunReportJson(*report).c_str());
  return report->failed_spans == 0 && report->acknowledged_spans == report->offered_spans ? 0 : 1;
}
