// Grafana Tempo's HTTP query API, so Grafana's Tempo data source (and tempo-cli style tools) work
// against Teletrace on any storage backend. Served on the UI/API port; server/api_families.h sends
// these paths here:
//
//   GET /api/traces/{id}            tempopb.Trace: OTLP protobuf (resource spans in field 1) when
//                                   Accept contains application/protobuf, else JSON {"batches"}
//   GET /api/v2/traces/{id}         tempopb.TraceByIDResponse: protobuf {trace = 1}, or JSON
//                                   {"trace":{"resourceSpans"},"metrics":{}}; ids in JSON are
//                                   base64 as Tempo's jsonpb writes them. Unknown id: 404. The
//                                   start/end parameters are checked and otherwise ignored.
//   GET /api/search                 SearchResponse {"traces","metrics"}: q= (TraceQL, see
//                                   traceql_parser.h for the subset) or tags= (logfmt; name,
//                                   status, service.name, root.service.name, root.name, any other
//                                   key matches a span or resource attribute by its text form),
//                                   minDuration/maxDuration (Go durations, on the trace duration),
//                                   limit (default 20), spss (spans per spanset, default 3),
//                                   start/end (unix seconds; default the last hour)
//   GET /api/search/tags            {"tagNames"}: span and resource attribute names (scope=
//                                   resource|span|intrinsic narrows)
//   GET /api/v2/search/tags         {"scopes":[{"name":"resource","tags"},{"name":"span",...},
//                                   {"name":"intrinsic",...}]}
//   GET /api/search/tag/{name}/values     {"tagValues":["..."]}: the values of span or resource
//                                   attribute {name}, as text
//   GET /api/v2/search/tag/{name}/values  {"tagValues":[{"type","value"}]}: {name} is
//                                   resource.x, span.x, .x or an intrinsic (name, status, kind,
//                                   statusMessage); q= narrows by the pushed-down part of a query
//                                   (ignored when it does not parse, as Grafana sends partial ones)
//   GET /api/echo  "echo";  GET /ready  "ready";  GET /api/status/buildinfo  {"version",...}
//
// Search: the conditions of the query's first spanset that the query model expresses (name,
// status, kind, duration, string equality on span./resource. attributes; see traceql_evaluator.h)
// go to Backend::Search, paged newest first; each new trace among the hits is fetched whole and the
// full query (plus the trace-duration bounds) is evaluated on it here; up to `limit` matching
// traces are returned, newest trace first. The work is bounded by TempoApiLimits; past a bound the
// answer holds the matches found so far and the server logs the cut. Tags endpoints read
// Backend::TagKeys/TagValues over start/end when given, else over the last hour.
//
// Known differences from Tempo: TraceQL pipelines (aggregates, select, by), structural operators,
// arithmetic, negation, nil, event/link/instrumentation scopes and query hints are refused with
// 400; no metrics endpoints (/api/metrics/...), no gRPC streaming search; a trace matches only
// when a span satisfying the first spanset starts inside start/end (Tempo: the trace overlaps the
// range); search results show, per span, the attributes the query's conditions read (plus status
// and kind when read), not Tempo's exact selection; metrics carry inspectedTraces (traces fetched)
// and no byte counts; v1 tag values list every value as text (Tempo v1: strings); without
// start/end, tags and search read the last hour (Tempo: the ingesters' recent
// data); an all-zero trace id renders "0" (Tempo: ""); buildinfo's version is
// "2.6.0-teletrace.<version>" so Grafana enables the features of the Tempo API we follow.
//
// Errors are text/plain, as Tempo's: 400 for bad parameters and unsupported TraceQL (the message
// names the parameter, or the construct and its column), 404 for an unknown trace or path, 405 for
// a method other than GET, 500 for internal errors (logged, not echoed).
//
// Thread safety: Handle may be called concurrently. It blocks on the backend: call it from the
// query thread pool.
#pragma once

#include <cstdint>
#include <functional>

#include "common/http.h"
#include "storage/storage.h"

namespace teletrace::api::tempo {

struct TempoApiLimits {
  size_t default_limit = 20;  // Tempo's default_result_limit
  size_t max_limit = 1000;    // a larger limit is capped here
  size_t default_spans_per_spanset = 3;
  size_t max_spans_per_spanset = 100;
  size_t max_examined_spans = 2'000'000;  // candidate spans a search reads from Backend::Search
  size_t max_fetched_traces = 5'000;      // candidate traces a search fetches whole
  size_t max_tag_values = 10'000;         // values per tag values answer
  uint64_t default_lookback_nano = 3'600'000'000'000;  // a search without start: the last hour
};

class TempoApi {
 public:
  // `backend` must outlive this object. `now` supplies the current time (tests pin it).
  explicit TempoApi(storage::Backend* backend, std::function<uint64_t()> now = nullptr,
                    TempoApiLimits limits = {});

  // Answers a request whose path is one of the above (anything else: 404).
  HttpResponse Handle(const HttpRequest& request);

 private:
  struct Route;
  HttpResponse Echo(const HttpRequest& request, std::string_view arg);
  HttpResponse Ready(const HttpRequest& request, std::string_view arg);
  HttpResponse BuildInfo(const HttpRequest& request, std::string_view arg);
  HttpResponse TraceV1(const HttpRequest& request, std::string_view id);
  HttpResponse TraceV2(const HttpRequest& request, std::string_view id);
  HttpResponse Search(const HttpRequest& request, std::string_view arg);
  HttpResponse TagsV1(const HttpRequest& request, std::string_view arg);
  HttpResponse TagsV2(const HttpRequest& request, std::string_view arg);
  HttpResponse TagValuesV1(const HttpRequest& request, std::string_view name);
  HttpResponse TagValuesV2(const HttpRequest& request, std::string_view name);

  storage::Backend* backend_;
  std::function<uint64_t()> now_;
  TempoApiLimits limits_;
};

}  // namespace teletrace::api::tempo
