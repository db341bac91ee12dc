#include "api/jaeger/jaeger_api.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "api/jaeger/jaeger_json.h"
#include "api/jaeger/jaeger_query_params.h"
#include "api/otlp/otlp_encoding.h"
#include "api/teletrace_v1/teletrace_v1_api.h"
#include "common/json_string.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "fmt/format.h"
#include "query/intrinsics.h"
#include "query/parse.h"
#include "spdlog/spdlog.h"

namespace teletrace::api::jaeger {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

constexpr std::string_view kServiceKey = "resource.attributes.service.name";

// Jaeger's envelope around `data` (already JSON).
HttpResponse Envelope(std::string_view data, size_t total) {
  HttpResponse r;
  r.status = 200;
  r.content_type = "application/json";
  r.body.reserve(data.size() + 64);
  r.body.append("{\"data\":");
  r.body.append(data);
  r.body.append(fmt::format(",\"total\":{},\"limit\":0,\"offset\":0,\"errors\":null}}", total));
  return r;
}

HttpResponse Error(int status, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = fmt::format(R"({{"data":null,"total":0,"limit":0,"offset":0,"errors":[{{"code":{},"msg":)",
                       status);
  AppendJsonString(&r.body, message);
  r.body.append("}]}");
  return r;
}

HttpResponse Error(const absl::Status& status) {
  const int code = v1::HttpStatusFor(status);
  if (code == 500) {
    spdlog::error("jaeger api: internal error: {}", status.ToString());
    return Error(500, "internal error (see the server log)");
  }
  return Error(code, std::string(status.message()));
}

std::string Param(const Params& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

query::Filter MakeFilter(std::string_view key, query::Operator op, query::Scalar value) {
  query::Filter f;
  f.key = *query::ParseKey(key, "jaeger");  // our own constant keys: always valid
  f.op = op;
  f.value = std::move(value);
  absl::Status valid = query::ValidateFilter(f, "jaeger");  // normalises kind names
  (void)valid;
  return f;
}

std::string StringArray(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(&out, values[i]);
  }
  out.push_back(']');
  return out;
}

// Jaeger's span kind words, indexed by model::SpanKind.
constexpr std::string_view kJaegerKinds[] = {"", "internal", "server", "client", "producer",
                                             "consumer"};

// True when `value` (an attribute) reads as `text` under Jaeger's comparison.
bool HasTag(const model::KeyValueList& attributes, std::string_view key, std::string_view text) {
  const model::AnyValue* v = model::FindAttribute(attributes, key);
  return v != nullptr && AttributeAsString(*v) == text;
}

// A span matches a tag condition when its attributes, its resource's, its scope's or one of its
// events' hold it. `error` and `span.kind` also match the tags the rendering adds.
bool MatchesTags(const model::StoredSpan& s,
                 const std::vector<std::pair<std::string, std::string>>& tags) {
  for (const auto& [key, text] : tags) {
    bool found = HasTag(s.span.attributes, key, text) ||
                 (s.resource != nullptr && HasTag(s.resource->attributes, key, text)) ||
                 (s.scope != nullptr && HasTag(s.scope->attributes, key, text));
    for (size_t i = 0; !found && i < s.span.events.size(); ++i) {
      found = HasTag(s.span.events[i].attributes, key, text);
    }
    if (!found && key == "error") {
      found = (text == "true") == (s.span.status.code == model::StatusCode::kError);
    }
    if (!found && key == "span.kind") {
      found = !text.empty() && kJaegerKinds[static_cast<size_t>(s.span.kind)] == text;
    }
    if (!found) return false;
  }
  return true;
}

absl::StatusOr<uint64_t> ParseMillis(const Params& params, std::string_view name,
                                     uint64_t default_value) {
  std::string text = Param(params, name);
  if (text.empty()) return default_value;
  int64_t v = 0;
  if (!absl::SimpleAtoi(text, &v) || v < 0 ||
      static_cast<uint64_t>(v) > std::numeric_limits<uint64_t>::max() / 1'000'000) {
    return absl::InvalidArgumentError(fmt::format(
        "unable to parse param '{}': expected non-negative milliseconds, got \"{}\"", name, text));
  }
  return static_cast<uint64_t>(v) * 1'000'000;
}

}  // namespace

struct JaegerApi::Route {
  std::string_view prefix;  // path without /api/
  bool has_argument;        // the rest of the path is an argument ("traces/{id}")
  std::string_view suffix;  // after the argument ("operations" in services/{s}/operations)
  HttpResponse (JaegerApi::*handler)(const HttpRequest&, std::string_view);
};

JaegerApi::JaegerApi(storage::Backend* backend, std::function<uint64_t()> now,
                     JaegerApiLimits limits)
    : backend_(backend),
      now_(now ? std::move(now) : [] { return NowUnixNano(); }),
      limits_(limits) {}

HttpResponse JaegerApi::Handle(const HttpRequest& request) {
  static constexpr Route kRoutes[] = {
      {"services", false, "", &JaegerApi::Services},
      {"services/", true, "/operations", &JaegerApi::ServiceOperations},
      {"operations", false, "", &JaegerApi::Operations},
      {"traces", false, "", &JaegerApi::FindTraces},
      {"traces/", true, "", &JaegerApi::GetTrace},
      {"dependencies", false, "", &JaegerApi::Dependencies},
      {"v3/services", false, "", &JaegerApi::V3Services},
      {"v3/operations", false, "", &JaegerApi::V3Operations},
      {"v3/traces", false, "", &JaegerApi::V3FindTraces},
      {"v3/traces/", true, "", &JaegerApi::V3GetTrace},
  };
  std::string_view path = request.path;
  path.remove_prefix(std::min(path.size(), std::string_view("/api/").size()));
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  for (const Route& route : kRoutes) {
    std::string_view arg;
    if (!route.has_argument) {
      if (path != route.prefix) continue;
    } else {
      if (path.size() <= route.prefix.size() + route.suffix.size() ||
          path.substr(0, route.prefix.size()) != route.prefix ||
          path.substr(path.size() - route.suffix.size()) != route.suffix) {
        continue;
      }
      arg = path.substr(route.prefix.size(),
                        path.size() - route.prefix.size() - route.suffix.size());
    }
    if (request.method != "GET" && request.method != "HEAD") {
      HttpResponse r = Error(405, fmt::format("method {} not allowed on {} (use GET)",
                                              request.method, request.path));
      r.headers.emplace_back("Allow", "GET");
      return r;
    }
    return (this->*route.handler)(request, arg);
  }
  return Error(404, fmt::format("no such endpoint: {}", request.path));
}

absl::StatusOr<std::set<std::pair<std::string, size_t>>> JaegerApi::OperationsOf(
    const std::string& service, const std::vector<size_t>& kinds) {
  ASSIGN_OR_RETURN(std::vector<storage::Backend::Operation> all, backend_->Operations(service));
  std::set<std::pair<std::string, size_t>> operations;
  for (storage::Backend::Operation& op : all) {
    const auto kind = static_cast<size_t>(op.kind);
    if (std::find(kinds.begin(), kinds.end(), kind) != kinds.end()) {
      operations.emplace(std::move(op.name), kind);
    }
  }
  return operations;
}

// The kinds `text` selects: all for "", none for a word that is not a kind.
std::vector<size_t> KindsSelected(std::string_view text) {
  std::vector<size_t> kinds;
  for (size_t k = 0; k < std::size(kJaegerKinds); ++k) {
    if (text.empty() || kJaegerKinds[k] == text) kinds.push_back(k);
  }
  return kinds;
}

HttpResponse JaegerApi::Services(const HttpRequest&, std::string_view) {
  absl::StatusOr<std::vector<std::string>> names = backend_->Services();
  if (!names.ok()) return Error(names.status());
  // Jaeger answers null, not [], when there is nothing; clients handle both, tools compare bytes.
  return Envelope(names->empty() ? "null" : StringArray(*names), names->size());
}

HttpResponse JaegerApi::ServiceOperations(const HttpRequest&, std::string_view service) {
  absl::StatusOr<std::vector<std::string>> names =
      storage::OperationNames(*backend_, std::string(service));
  if (!names.ok()) return Error(names.status());
  return Envelope(names->empty() ? "null" : StringArray(*names), names->size());
}

std::string OperationsArray(const std::set<std::pair<std::string, size_t>>& operations) {
  std::string data = "[";
  for (const auto& [name, kind] : operations) {
    if (data.size() > 1) data.push_back(',');
    data.append("{\"name\":");
    AppendJsonString(&data, name);
    data.append(",\"spanKind\":");
    AppendJsonString(&data, kJaegerKinds[kind]);
    data.push_back('}');
  }
  data.push_back(']');
  return data;
}

HttpResponse JaegerApi::Operations(const HttpRequest& request, std::string_view) {
  const Params params = v1::ParseQueryString(request.query);
  const std::string service = Param(params, "service");
  if (service.empty()) return Error(400, "parameter 'service' is required");
  const std::string kind_param = Param(params, "spanKind");
  const std::vector<size_t> kinds = KindsSelected(kind_param);
  if (kinds.empty()) {
    return Error(400, fmt::format("unsupported spanKind \"{}\" (use server, client, producer, "
                                  "consumer or internal)",
                                  kind_param));
  }
  absl::StatusOr<std::set<std::pair<std::string, size_t>>> operations =
      OperationsOf(service, kinds);
  if (!operations.ok()) return Error(operations.status());
  return Envelope(OperationsArray(*operations), operations->size());
}

// Filters, one per attribute level, whose union holds every span that can match the tag
// condition `key`=`text` (the condition's text as a string, and as the number or boolean it
// spells), so a tag search prunes blocks like any filtered search; the exact text comparison is
// still made on the spans returned. Empty when there is no such condition to push down (only
// error/span.kind conditions, which are checked on the status and kind).
std::vector<query::Filter> TagAlternatives(
    const std::vector<std::pair<std::string, std::string>>& tags) {
  for (const auto& [key, text] : tags) {
    if (key.empty() || key == "error" || key == "span.kind") continue;
    std::vector<query::Scalar> operands = {text};
    int64_t i = 0;
    double d = 0;
    if (absl::SimpleAtoi(text, &i)) {
      operands.emplace_back(i);
    } else if (absl::SimpleAtod(text, &d) && std::isfinite(d)) {
      operands.emplace_back(d);
    } else if (text == "true" || text == "false") {
      operands.emplace_back(text == "true");
    }
    std::vector<query::Filter> alternatives;
    for (std::string_view prefix : {"span.attributes.", "resource.attributes.", "scope.attributes.",
                                    "span.events.attributes."}) {
      absl::StatusOr<query::Key> k = query::ParseKey(std::string(prefix) + key, "tags");
      if (!k.ok()) return {};
      query::Filter f;
      f.key = *k;
      f.op = query::Operator::kIn;
      f.values = operands;
      if (!query::ValidateFilter(f, "tags").ok()) return {};
      alternatives.push_back(std::move(f));
    }
    return alternatives;
  }
  return {};
}

absl::StatusOr<std::vector<std::pair<TraceId, uint64_t>>> JaegerApi::NewestTraces(
    query::SearchQuery q, const TraceSearchParams& params) {
  std::vector<std::pair<TraceId, uint64_t>> traces;
  absl::flat_hash_set<TraceId> seen;
  size_t examined = 0;
  // The first page asks for a few spans per trace wanted, and each next one for twice as many, up
  // to the largest page: a search whose filters few spans match reads blocks until its page is
  // full, so a first page of 1,000 spans for 20 traces read most of a large store.
  size_t page_size = std::clamp<size_t>(4 * params.limit, 64, query::kMaxPageSize);
  while (traces.size() < params.limit) {
    q.page_size = std::max<size_t>(1, std::min(page_size, limits_.max_examined_spans - examined));
    page_size = std::min(2 * page_size, query::kMaxPageSize);
    ASSIGN_OR_RETURN(query::SearchResult page, backend_->Search(q));
    for (const model::StoredSpan& s : page.spans) {
      if (traces.size() == params.limit) break;
      if (seen.contains(s.span.trace_id) || !MatchesTags(s, params.tags)) continue;
      seen.insert(s.span.trace_id);
      traces.emplace_back(s.span.trace_id, s.span.start_time_unix_nano);
    }
    examined += page.spans.size();
    if (!page.next.has_value()) break;
    if (examined >= limits_.max_examined_spans) {
      spdlog::warn("jaeger api: trace search for service \"{}\" stopped after {} spans; older "
                   "matches are not returned",
                   params.service, examined);
      break;
    }
    q.after = page.next;
  }
  return traces;
}

absl::StatusOr<std::vector<TraceId>> JaegerApi::FindTraceIds(const TraceSearchParams& params) {
  query::SearchQuery q;
  q.range = {params.start_unix_nano, params.end_unix_nano};
  q.filters.push_back(MakeFilter(kServiceKey, query::Operator::kEquals, params.service));
  if (!params.operation.empty()) {
    q.filters.push_back(MakeFilter("span.name", query::Operator::kEquals, params.operation));
  }
  if (params.min_duration_nano > 0) {
    q.filters.push_back(MakeFilter("externalFields.durationNano", query::Operator::kGte,
                                   static_cast<int64_t>(params.min_duration_nano)));
  }
  if (params.max_duration_nano.has_value()) {
    q.filters.push_back(MakeFilter("externalFields.durationNano", query::Operator::kLte,
                                   static_cast<int64_t>(*params.max_duration_nano)));
  }
  q.sort = {query::SortField::kStartTime, /*ascending=*/false};

  // With a tag condition: one stream per attribute level that may hold it. A trace among the
  // `limit` newest (by their newest matching span) is among the `limit` newest of the stream of
  // that span's level, so merging the streams' answers by that time is exact.
  std::vector<query::SearchQuery> streams;
  for (query::Filter& f : TagAlternatives(params.tags)) {
    streams.push_back(q);
    streams.back().filters.push_back(std::move(f));
  }
  if (streams.empty()) streams.push_back(q);
  absl::flat_hash_map<TraceId, uint64_t> newest;
  for (const query::SearchQuery& stream : streams) {
    ASSIGN_OR_RETURN(auto traces, NewestTraces(stream, params));
    for (const auto& [id, start] : traces) {
      auto [it, added] = newest.try_emplace(id, start);
      if (!added) it->second = std::max(it->second, start);
    }
  }
  std::vector<std::pair<TraceId, uint64_t>> merged(newest.begin(), newest.end());
  std::sort(merged.begin(), merged.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first > b.first;
  });
  if (merged.size() > params.limit) merged.resize(params.limit);
  std::vector<TraceId> trace_ids;
  trace_ids.reserve(merged.size());
  for (const auto& [id, start] : merged) trace_ids.push_back(id);
  return trace_ids;
}

HttpResponse JaegerApi::FindTraces(const HttpRequest& request, std::string_view) {
  absl::StatusOr<TraceSearchParams> params =
      ParseTraceSearchParams(v1::ParseQueryString(request.query), now_(), limits_.max_traces);
  if (!params.ok()) return Error(params.status());
  std::vector<TraceId> trace_ids = params->trace_ids;
  if (trace_ids.empty()) {
    absl::StatusOr<std::vector<TraceId>> found = FindTraceIds(*params);
    if (!found.ok()) return Error(found.status());
    trace_ids = std::move(*found);
  }

  std::string data = "[";
  std::string errors;  // traces asked for by id and not found, as Jaeger lists them
  size_t spans = 0, traces = 0;
  for (const TraceId& id : trace_ids) {
    if (spans >= limits_.max_result_spans) break;
    query::TraceQuery tq;
    tq.trace_id = id;
    absl::StatusOr<query::TraceResult> trace = backend_->GetTrace(tq);
    if (absl::IsNotFound(trace.status())) {
      // Asked by id; a found-by-search trace can only be gone to retention since.
      if (!params->trace_ids.empty()) {
        errors.append(errors.empty() ? "[" : ",");
        errors.append(R"({"msg":"trace not found","traceID":")" + JaegerTraceIdHex(id) + "\"}");
      }
      continue;
    }
    if (!trace.ok()) return Error(trace.status());
    if (traces++ > 0) data.push_back(',');
    AppendJaegerTrace(&data, trace->spans);
    spans += trace->spans.size();
  }
  data.push_back(']');
  HttpResponse r = Envelope(data, 0);
  if (!errors.empty()) {
    errors.push_back(']');
    r.body.resize(r.body.size() - std::string_view("null}").size());
    r.body.append(errors).push_back('}');
  }
  return r;
}

HttpResponse JaegerApi::GetTrace(const HttpRequest&, std::string_view id_text) {
  absl::StatusOr<TraceId> id = ParseJaegerTraceId(id_text);
  if (!id.ok()) return Error(id.status());
  query::TraceQuery tq;
  tq.trace_id = *id;
  absl::StatusOr<query::TraceResult> trace = backend_->GetTrace(tq);
  if (absl::IsNotFound(trace.status())) return Error(404, "trace not found");
  if (!trace.ok()) return Error(trace.status());
  std::string data = "[";
  AppendJaegerTrace(&data, trace->spans);
  data.push_back(']');
  return Envelope(data, 0);
}

HttpResponse JaegerApi::Dependencies(const HttpRequest& request, std::string_view) {
  const Params params = v1::ParseQueryString(request.query);
  absl::StatusOr<uint64_t> end = ParseMillis(params, "endTs", now_());
  if (!end.ok()) return Error(end.status());
  absl::StatusOr<uint64_t> lookback = ParseMillis(params, "lookback", 24ull * 3600 * 1'000'000'000);
  if (!lookback.ok()) return Error(lookback.status());
  const std::string service = Param(params, "service");  // edges from or to it only

  absl::StatusOr<query::DependenciesResult> deps = backend_->Dependencies(
      {{*end > *lookback ? *end - *lookback : 0, *end}, service, limits_.max_examined_spans});
  if (!deps.ok()) return Error(deps.status());
  if (deps->partial) {
    spdlog::warn("jaeger api: dependencies are partial (past {} spans or open calls)",
                 limits_.max_examined_spans);
  }
  std::string data = "[";
  for (const query::DependencyEdge& edge : deps->edges) {
    if (data.size() > 1) data.push_back(',');
    data.append("{\"parent\":");
    AppendJsonString(&data, edge.parent);
    data.append(",\"child\":");
    AppendJsonString(&data, edge.child);
    data.append(fmt::format(",\"callCount\":{}}}", edge.calls));
  }
  data.push_back(']');
  return Envelope(data, 0);
}

// ---- api_v3 ----

namespace {

HttpResponse V3Error(int status, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.body = fmt::format(R"({{"error":{{"httpCode":{},"message":)", status);
  AppendJsonString(&r.body, message);
  r.body.append("}}");
  return r;
}

HttpResponse V3Error(const absl::Status& status) {
  const int code = v1::HttpStatusFor(status);
  if (code == 500) {
    spdlog::error("jaeger api v3: internal error: {}", status.ToString());
    return V3Error(500, "internal error (see the server log)");
  }
  return V3Error(code, std::string(status.message()));
}

HttpResponse V3Result(const std::vector<model::StoredSpan>& spans) {
  HttpResponse r;
  r.body = "{\"result\":";
  otlp::AppendOtlpTracesJson(&r.body, spans);
  r.body.push_back('}');
  return r;
}

absl::StatusOr<uint64_t> ParseRfc3339(std::string_view name, const std::string& text) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error) || t < absl::UnixEpoch()) {
    return absl::InvalidArgumentError(
        fmt::format("malformed parameter {}: expected an RFC 3339 time, got \"{}\"", name, text));
  }
  return static_cast<uint64_t>(absl::ToUnixNanos(t));
}

}  // namespace

HttpResponse JaegerApi::V3Services(const HttpRequest&, std::string_view) {
  absl::StatusOr<std::vector<std::string>> names = backend_->Services();
  if (!names.ok()) return V3Error(names.status());
  HttpResponse r;
  r.body = "{\"services\":" + StringArray(*names) + "}";
  return r;
}

HttpResponse JaegerApi::V3Operations(const HttpRequest& request, std::string_view) {
  const Params params = v1::ParseQueryString(request.query);
  const std::string service = Param(params, "service");
  std::set<std::pair<std::string, size_t>> operations;
  if (!service.empty()) {  // Jaeger answers an empty list without a service
    absl::StatusOr<std::set<std::pair<std::string, size_t>>> found =
        OperationsOf(service, KindsSelected(Param(params, "span_kind")));
    if (!found.ok()) return V3Error(found.status());
    operations = std::move(*found);
  }
  HttpResponse r;
  r.body = "{\"operations\":" + OperationsArray(operations) + "}";
  return r;
}

HttpResponse JaegerApi::V3GetTrace(const HttpRequest&, std::string_view id_text) {
  absl::StatusOr<TraceId> id = ParseJaegerTraceId(id_text);
  if (!id.ok()) {
    return V3Error(400, fmt::format("malformed parameter trace_id: {}", std::string(id.status().message())));
  }
  query::TraceQuery tq;
  tq.trace_id = *id;
  absl::StatusOr<query::TraceResult> trace = backend_->GetTrace(tq);
  if (absl::IsNotFound(trace.status())) return V3Error(404, "No traces found");
  if (!trace.ok()) return V3Error(trace.status());
  return V3Result(trace->spans);
}

HttpResponse JaegerApi::V3FindTraces(const HttpRequest& request, std::string_view) {
  const Params query = v1::ParseQueryString(request.query);
  const std::string start = Param(query, "query.start_time_min");
  const std::string end = Param(query, "query.start_time_max");
  if (start.empty() || end.empty()) {
    return V3Error(400, "query.start_time_min and query.start_time_max are required");
  }
  TraceSearchParams params;
  params.service = Param(query, "query.service_name");
  params.operation = Param(query, "query.operation_name");
  absl::StatusOr<uint64_t> start_nano = ParseRfc3339("query.start_time_min", start);
  if (!start_nano.ok()) return V3Error(start_nano.status());
  absl::StatusOr<uint64_t> end_nano = ParseRfc3339("query.start_time_max", end);
  if (!end_nano.ok()) return V3Error(end_nano.status());
  if (*start_nano > *end_nano) {
    return V3Error(400, "query.start_time_min must not be after query.start_time_max");
  }
  params.start_unix_nano = *start_nano;
  params.end_unix_nano = *end_nano;
  for (const char* name : {"query.duration_min", "query.duration_max"}) {
    const std::string text = Param(query, name);
    if (text.empty()) continue;
    absl::StatusOr<uint64_t> d = ParseGoDuration(text, name);
    if (!d.ok()) {
      return V3Error(d.status());
    }
    if (std::string_view(name) == "query.duration_min") {
      params.min_duration_nano = *d;
    } else {
      params.max_duration_nano = *d;
    }
  }
  params.limit = kDefaultTraceLimit;
  if (const std::string text = Param(query, "query.num_traces"); !text.empty()) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(text, &n) || n < 0) {
      return V3Error(400, fmt::format("malformed parameter query.num_traces: expected a "
                                      "non-negative integer, got \"{}\"",
                                      text));
    }
    if (n > 0) params.limit = static_cast<size_t>(n);
  }
  params.limit = std::min(params.limit, limits_.max_traces);
  if (params.service.empty()) return V3Error(400, "query.service_name is required");

  absl::StatusOr<std::vector<TraceId>> ids = FindTraceIds(params);
  if (!ids.ok()) return V3Error(ids.status());
  std::vector<model::StoredSpan> spans;
  for (const TraceId& id : *ids) {
    if (spans.size() >= limits_.max_result_spans) break;
    query::TraceQuery tq;
    tq.trace_id = id;
    absl::StatusOr<query::TraceResult> trace = backend_->GetTrace(tq);
    if (absl::IsNotFound(trace.status())) continue;  // gone to retention since
    if (!trace.ok()) return V3Error(trace.status());
    std::move(trace->spans.begin(), trace->spans.end(), std::back_inserter(spans));
  }
  if (spans.empty()) return V3Error(404, "No traces found");
  return V3Result(spans);
}

}  // namespace teletrace::api::jaeger
