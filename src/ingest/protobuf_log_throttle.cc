#include "ingest/protobuf_log_throttle.h"

#include <string>

#include "common/log_throttle.h"
#include "fmt/format.h"
#include "google/protobuf/stubs/logging.h"
#include "spdlog/spdlog.h"

namespace teletrace::ingest {
namespace {

LogThrottle& Throttle() {
  static LogThrottle* throttle = new LogThrottle(absl::Seconds(10));  // never destroyed: used
  return *throttle;                                                    // until exit
}

void ThrottledProtobufLog(google::protobuf::LogLevel level, const char* filename, int line,
                          const std::string& message) {
  spdlog::level::level_enum spd_level = spdlog::level::info;
  switch (level) {
    case google::protobuf::LOGLEVEL_INFO: spd_level = spdlog::level::info; break;
    case google::protobuf::LOGLEVEL_WARNING: spd_level = spdlog::level::warn; break;
    case google::protobuf::LOGLEVEL_ERROR: spd_level = spdlog::level::err; break;
    case google::protobuf::LOGLEVEL_FATAL: spd_level = spdlog::level::critical; break;
  }
  std::string location = fmt::format("{}:{}", filename != nullptr ? filename : "?", line);
  std::string text = fmt::format("libprotobuf {}: {}", location, message);
  if (level == google::protobuf::LOGLEVEL_FATAL) {
    spdlog::log(spd_level, "{}", text);  // never throttled: the process is about to abort
    return;
  }
  Throttle().Log(spd_level, location, text);
}

}  // namespace

void InstallProtobufLogThrottle() { google::protobuf::SetLogHandler(&ThrottledProtobufLog); }

}  // namespace teletrace::ingest
