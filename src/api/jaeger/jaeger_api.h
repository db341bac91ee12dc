// The Jaeger query API: the HTTP JSON API that Jaeger UI and Grafana's Jaeger data source call,
// served under /api/ on the UI port from any storage backend.
//
//   GET /api/services                         service names, sorted
//   GET /api/services/{service}/operations    span names of the service, sorted
//   GET /api/operations?service=&spanKind=    [{"name", "spanKind"}], sorted by name then kind
//   GET /api/traces?service=&operation=&tags=&tag=&start=&end=&minDuration=&maxDuration=&limit=
//                                             whole traces holding a span that matches every
//                                             condition, newest first (or traceID=... to fetch)
//   GET /api/traces/{traceID}                 one trace
//   GET /api/dependencies?endTs=&lookback=&service=
//                                             [{"parent", "child", "callCount"}]: one call per span
//                                             whose parent is in range, by the two spans' services
//                                             (a service calling itself included, as in Jaeger)
//
// and Jaeger's api_v3 (OTLP/JSON answers, hex ids, errors {"error": {"httpCode", "message"}}):
//   GET /api/v3/services                      {"services": [...]}
//   GET /api/v3/operations?service=&span_kind= {"operations": [{"name", "spanKind"}]}
//   GET /api/v3/traces/{trace_id}             {"result": {"resourceSpans": [...]}}
//   GET /api/v3/traces?query.service_name=&query.operation_name=&query.start_time_min=
//       &query.start_time_max= (RFC 3339, required)&query.duration_min=&query.duration_max=
//       &query.num_traces=                    the matching traces merged into one result
//
// Answers use Jaeger's envelope {"data", "total", "limit", "offset", "errors"}; errors are
// {"code", "msg"} entries with the HTTP status: 400 for bad parameters (the message names the
// parameter), 404 for an unknown trace or route, 405 for a method other than GET, 500 for internal
// errors (logged, not echoed). Spans render as jaeger_json.h describes.
//
// Tag conditions match, as Jaeger's own stores do, a span whose attributes, resource attributes,
// scope attributes or event attributes hold the key with that value in text form; beyond Jaeger's
// memory store, `error=true|false` matches on the status and `span.kind=server` on the kind, since
// both show as tags. The conditions the query model expresses (service, operation, duration,
// time) are pushed down to the backend, and so is one tag condition, as one search per attribute
// level (its text, number or boolean reading); every tag is then checked exactly here.
//
// Thread safety: Handle may be called concurrently. It blocks on the backend: call it from the
// query thread pool.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "api/jaeger/jaeger_query_params.h"

#include "common/http.h"
#include "storage/storage.h"

namespace teletrace::api::jaeger {

struct JaegerApiLimits {
  size_t max_traces = 1000;             // a search's limit is capped here
  size_t max_result_spans = 1'000'000;  // a search stops adding traces past this many spans
  // Spans a search or dependency computation may examine; past it, the answer covers the newest
  // spans examined (the server logs that it was cut).
  size_t max_examined_spans = 2'000'000;
};

class JaegerApi {
 public:
  // `backend` must outlive this object. `now` supplies the current time (tests pin it).
  explicit JaegerApi(storage::Backend* backend, std::function<uint64_t()> now = nullptr,
                     JaegerApiLimits limits = {});

  // Answers a request whose path starts with "/api/".
  HttpResponse Handle(const HttpRequest& request);

 private:
  struct Route;
  HttpResponse Services(const HttpRequest& request, std::string_view arg);
  HttpResponse ServiceOperations(const HttpRequest& request, std::string_view service);
  HttpResponse Operations(const HttpRequest& request, std::string_view arg);
  HttpResponse FindTraces(const HttpRequest& request, std::string_view arg);
  HttpResponse GetTrace(const HttpRequest& request, std::string_view id);
  HttpResponse Dependencies(const HttpRequest& request, std::string_view arg);
  HttpResponse V3Services(const HttpRequest& request, std::string_view arg);
  HttpResponse V3Operations(const HttpRequest& request, std::string_view arg);
  HttpResponse V3GetTrace(const HttpRequest& request, std::string_view id);
  HttpResponse V3FindTraces(const HttpRequest& request, std::string_view arg);

  // Trace ids of traces holding a span that matches `params`, newest first, at most its limit.
  absl::StatusOr<std::vector<TraceId>> FindTraceIds(const TraceSearchParams& params);
  // One newest-first pass over the spans `q` selects: up to `params.limit` distinct traces with a
  // span that also holds every tag condition, each with that span's start time.
  absl::StatusOr<std::vector<std::pair<TraceId, uint64_t>>> NewestTraces(
      query::SearchQuery q, const TraceSearchParams& params);
  // The sorted (operation, kind) pairs of `service` (kind 0-5 as model::SpanKind; `kinds`
  // restricts them).
  absl::StatusOr<std::set<std::pair<std::string, size_t>>> OperationsOf(
      const std::string& service, const std::vector<size_t>& kinds);

  storage::Backend* backend_;
  std::function<uint64_t()> now_;
  JaegerApiLimits limits_;
};

}  // namespace teletrace::api::jaeger
