// One OTLP connection of the load generator: sends an encoded ExportTraceServiceRequest and says
// whether the server accepted it, refused it retryably, or failed it for good.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Exporter> exporter, MakeExporter(config));
//   ExportResult result = exporter->Export(&body);
//   if (result.kind == ExportResult::Kind::kRetryable) back off, then resend the same body;
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "loadgen/options.h"

namespace teletrace::loadgen {

struct ExportResult {
  enum class Kind { kAccepted, kRetryable, kFailed };
  Kind kind = Kind::kFailed;
  int64_t rejected_spans = 0;  // from partial_success when accepted
  double retry_after_s = -1;   // the server's hint (Retry-After, RetryInfo); < 0 when none
  std::string message;         // why, when not accepted
};

struct ExporterConfig {
  Protocol protocol = Protocol::kGrpc;
  std::string endpoint;  // host:port, optionally prefixed with http://
  bool gzip = false;     // HTTP: the body given to Export is already gzip; gRPC: compress messages
  double timeout_s = 30;
  int connection_index = 0;  // gives each gRPC channel its own TCP connection
};

// Not thread-safe: one exporter per sending thread. Connection problems surface from Export (as
// retryable results), not here; fails (InvalidArgument) only on an endpoint without a port.
class Exporter {
 public:
  virtual ~Exporter() = default;
  // Sends `*body` (left unchanged when Export returns). Transport errors, HTTP 429/502/503/504 and
  // the retryable gRPC codes (UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, ABORTED, ...)
  // give kRetryable; other statuses give kFailed with the server's message.
  virtual ExportResult Export(std::string* body) = 0;
};

absl::StatusOr<std::unique_ptr<Exporter>> MakeExporter(const ExporterConfig& config);

// Splits "host:port" or "http://host:port[/]" into host and port. InvalidArgument names the
// endpoint when the port is missing.
absl::Status SplitEndpoint(std::string_view endpoint, std::string* host, std::string* port);

// How an HTTP status answers an export: 2xx accepted; 429, 502, 503, 504 retryable; else failed.
ExportResult::Kind ClassifyHttpStatus(int status);

// Seconds from a Retry-After header holding delta-seconds; -1 when empty or not a number (an
// HTTP-date is treated as absent).
double ParseRetryAfter(std::string_view header);

// The retry delay in seconds from a serialized google.rpc.Status carrying a google.rpc.RetryInfo
// detail (gRPC's grpc-status-details-bin); -1 when there is none.
double RetryDelayFromStatusDetails(std::string_view status_details);

}  // namespace teletrace::loadgen
