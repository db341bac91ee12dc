// The Zipkin v2 query API (what Zipkin UI and Grafana's Zipkin data source call), served under
// /api/v2/ on the UI port from any storage backend. Spans render as zipkin_json.h describes.
//
//   GET /api/v2/services                        local service names, sorted
//   GET /api/v2/spans?serviceName=              span names of the service, sorted
//   GET /api/v2/remoteServices?serviceName=     remote service names (peer.service) of the
//                                               service's spans, sorted
//   GET /api/v2/traces?serviceName=&spanName=&remoteServiceName=&annotationQuery=&minDuration=
//                      &maxDuration=&endTs=&lookback=&limit=
//                                               [[span...]...]: whole traces holding a span that
//                                               starts in (endTs - lookback, endTs] and matches
//                                               every condition, newest first, at most limit
//   GET /api/v2/trace/{traceId}                 [span...] sorted by start time; 404 if unknown
//   GET /api/v2/dependencies?endTs=&lookback=   [{"parent","child","callCount","errorCount"}]
//   GET /api/v2/autocompleteKeys                [] (no keys are configured for autocompletion)
//   GET /api/v2/autocompleteValues?key=         values of the span attribute `key`, sorted
//
// Errors are plain text, as Zipkin's: 400 for a bad parameter (the message names it), 404 for an
// unknown trace or route, 405 for a method other than GET, 500 for internal errors (logged, not
// echoed).
//
// Service, span name, remote service and durations are pushed down to the backend; each
// annotationQuery term must hold on the matching span itself ("key=value": its Zipkin tag `key`
// is `value`; "key": an annotation with value `key` or a tag named `key`), checked here on the
// spans the backend returns, examining at most ZipkinApiLimits::max_examined_spans.
//
// Thread safety: Handle may be called concurrently. It blocks on the backend: call it from the
// query thread pool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

#include "common/http.h"
#include "storage/storage.h"

namespace teletrace::api::zipkin {

struct ZipkinApiLimits {
  size_t max_traces = 1000;             // a search's limit is capped here
  size_t max_result_spans = 1'000'000;  // a search stops adding traces past this many spans
  // Spans a search or dependency computation may examine; past it, the answer covers the newest
  // spans examined (the server logs that it was cut).
  size_t max_examined_spans = 2'000'000;
};

class ZipkinApi {
 public:
  // `backend` must outlive this object. `now` supplies the current time in ns (tests pin it).
  explicit ZipkinApi(storage::Backend* backend, std::function<uint64_t()> now = nullptr,
                     ZipkinApiLimits limits = {});

  // Answers a request whose path starts with "/api/v2/".
  HttpResponse Handle(const HttpRequest& request);

 private:
  struct Route;
  HttpResponse Services(const HttpRequest& request, std::string_view arg);
  HttpResponse SpanNames(const HttpRequest& request, std::string_view arg);
  HttpResponse RemoteServices(const HttpRequest& request, std::string_view arg);
  HttpResponse Traces(const HttpRequest& request, std::string_view arg);
  HttpResponse Trace(const HttpRequest& request, std::string_view id);
  HttpResponse Dependencies(const HttpRequest& request, std::string_view arg);
  HttpResponse AutocompleteKeys(const HttpRequest& request, std::string_view arg);
  HttpResponse AutocompleteValues(const HttpRequest& request, std::string_view arg);

  storage::Backend* backend_;
  std::function<uint64_t()> now_;
  ZipkinApiLimits limits_;
};

}  // namespace teletrace::api::zipkin
