#include "ingest/protobuf_log_throttle.h"

#include <memory>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

namespace teletrace::ingest {
namespace {

size_t CountLines(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

// The attack of issue 9 point 10: each request with invalid UTF-8 in a string field made
// libprotobuf write one line. 1,000 such requests now cost one line.
TEST(ProtobufLogThrottleTest, InvalidUtf8RequestsLogOnce) {
  std::ostringstream captured;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured)));
  InstallProtobufLogThrottle();

  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest request;
  request.add_resource_spans()->add_scope_spans()->add_spans()->set_name("ok");
  std::string bytes = request.SerializeAsString();
  size_t at = bytes.find("ok");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = '\xff';  // invalid UTF-8 in a proto3 string field
  for (int i = 0; i < 1000; ++i) {
    opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest parsed;
    EXPECT_FALSE(parsed.ParseFromString(bytes));
  }
  spdlog::set_default_logger(previous);
  std::string log = captured.str();
  EXPECT_EQ(CountLines(log, "libprotobuf "), 1u) << log;
  EXPECT_EQ(CountLines(log, "invalid UTF-8"), 1u) << log;
}

}  // namespace
}  // namespace teletrace::ingest
