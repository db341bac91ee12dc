// The Teletrace v1 query API (REFERENCE §2): routes /v1/* requests to the storage reader and
// renders the original system's JSON shapes. Errors are {"errorMessage": "..."}: 400 for invalid
// requests (the message names the field), 404 for unknown routes and traces, 405 for a known route
// with the wrong method, 500 for internal errors (logged, not echoed).
//
// Thread safety: Handle may be called concurrently. It blocks while the backend answers, so the
// server calls it from its query thread pool, never from a network thread.
#pragma once

#include <functional>

#include "api/teletrace_v1/key_resolver.h"
#include "common/http.h"
#include "storage/storage.h"

namespace teletrace::api::v1 {

// The ports this server takes spans on, for clients to show how to send data (0 = off).
struct IngestPorts {
  uint16_t otlp_grpc = 0;
  uint16_t otlp_http = 0;
  uint16_t zipkin = 0;
};

class TeletraceV1Api {
 public:
  // `backend` must outlive this object. `now` supplies the current time (tests pin it).
  explicit TeletraceV1Api(storage::Backend* backend, std::function<uint64_t()> now = nullptr,
                          IngestPorts ingest_ports = {});

  // Answers a request whose path starts with "/v1/" (or is "/v1").
  HttpResponse Handle(const HttpRequest& request);

 private:
  HttpResponse Search(const HttpRequest& request);
  HttpResponse SearchTraces(const HttpRequest& request);
  HttpResponse GetTrace(const HttpRequest& request, std::string_view id);
  HttpResponse TagKeys(const HttpRequest& request);
  HttpResponse TagValues(const HttpRequest& request, std::string_view tag);
  HttpResponse TagStatistics(const HttpRequest& request, std::string_view tag);
  HttpResponse Histograms(const HttpRequest& request);
  HttpResponse ServiceDependencies(const HttpRequest& request);
  HttpResponse SystemInfo();
  // A request body parsed, its keys resolved ("user.id" -> "span.attributes.user.id"), and the
  // resolver, for a path's :tag.
  struct ResolvedRequest {
    nlohmann::json body;
    KeyResolver keys;
  };
  absl::StatusOr<ResolvedRequest> ParseResolved(const HttpRequest& request);

  storage::Backend* backend_;
  std::function<uint64_t()> now_;
  IngestPorts ingest_ports_;
};

// The one mapping from our status codes to HTTP statuses for the query APIs.
int HttpStatusFor(const absl::Status& status);
// {"errorMessage": ...} with the mapped status; internal errors are logged and not echoed.
HttpResponse ErrorResponse(const absl::Status& status);

// "%2F" -> "/", "+" stays "+" (paths, not forms). Invalid escapes are kept as they are.
std::string PercentDecode(std::string_view s);
// "a=1&b=x%20y" -> {{"a","1"},{"b","x y"}}.
std::vector<std::pair<std::string, std::string>> ParseQueryString(std::string_view query);

}  // namespace teletrace::api::v1
