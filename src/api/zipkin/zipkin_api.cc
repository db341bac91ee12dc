#include "api/zipkin/zipkin_api.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "api/teletrace_v1/teletrace_v1_api.h"
#include "api/zipkin/zipkin_json.h"
#include "api/zipkin/zipkin_query_params.h"
#include "common/json_string.h"
#include "common/time_util.h"
#include "fmt/format.h"
#include "query/parse.h"
#include "spdlog/spdlog.h"

namespace teletrace::api::zipkin {
namespace {

constexpr std::string_view kServiceKey = "resource.attributes.service.name";
constexpr std::string_view kRemoteServiceKey = "span.attributes.peer.service";

HttpResponse Json(std::string body) {
  return HttpResponse{200, "application/json", {}, std::move(body)};
}

HttpResponse Error(int status, std::string message) {
  return HttpResponse{status, "text/plain; charset=utf-8", {}, std::move(message)};
}

// The one mapping from a status to Zipkin's plain-text errors.
HttpResponse Error(const absl::Status& status) {
  const int code = v1::HttpStatusFor(status);
  if (code == 500) {
    spdlog::error("zipkin api: internal error: {}", status.ToString());
    return Error(500, "internal error (see the server log)");
  }
  return Error(code, std::string(status.message()));
}

query::Filter MakeFilter(std::string_view key, query::Operator op, query::Scalar value) {
  query::Filter f;
  f.key = *query::ParseKey(key, "zipkin");  // our own constant keys: always valid
  f.op = op;
  f.value = std::move(value);
  absl::Status valid = query::ValidateFilter(f, "zipkin");
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

// The string values of `key` among spans matching `filters`, sorted.
absl::StatusOr<std::vector<std::string>> Values(storage::Backend* backend, std::string_view key,
                                                std::vector<query::Filter> filters) {
  query::TagValuesQuery q;
  absl::StatusOr<query::Key> parsed = query::ParseKey(key, "key");
  if (!parsed.ok()) return parsed.status();
  q.key = *std::move(parsed);
  q.filters = std::move(filters);
  absl::StatusOr<query::TagValuesResult> values = backend->TagValues(q);
  if (!values.ok()) return values.status();
  std::vector<std::string> names;
  for (const query::TagValueCount& v : values->values) {
    if (const auto* s = std::get_if<std::string>(&v.value); s != nullptr && !s->empty()) {
      names.push_back(*s);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

HttpResponse StringList(const absl::StatusOr<std::vector<std::string>>& values) {
  if (!values.ok()) return Error(values.status());
  return Json(StringArray(*values));
}

bool MatchesAnnotationQuery(const model::StoredSpan& span,
                            const std::vector<AnnotationTerm>& terms) {
  if (terms.empty()) return true;
  const ZipkinSpan z = ToZipkinSpan(span);
  for (const AnnotationTerm& term : terms) {
    auto tag = z.tags.find(term.key);
    if (term.value.has_value()) {
      if (tag == z.tags.end() || tag->second != *term.value) return false;
      continue;
    }
    bool found = tag != z.tags.end();
    for (size_t i = 0; !found && i < z.annotations.size(); ++i) {
      found = z.annotations[i].value == term.key;
    }
    if (!found) return false;
  }
  return true;
}

void AppendTrace(std::string* out, const std::vector<model::StoredSpan>& spans) {
  out->push_back('[');
  for (size_t i = 0; i < spans.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendZipkinSpan(out, ToZipkinSpan(spans[i]));
  }
  out->push_back(']');
}

}  // namespace

struct ZipkinApi::Route {
  std::string_view path;  // after /api/v2/; with a trailing '/' the rest is an argument
  HttpResponse (ZipkinApi::*handler)(const HttpRequest&, std::string_view);
};

ZipkinApi::ZipkinApi(storage::Backend* backend, std::function<uint64_t()> now,
                     ZipkinApiLimits limits)
    : backend_(backend),
      now_(now ? std::move(now) : [] { return NowUnixNano(); }),
      limits_(limits) {}

HttpResponse ZipkinApi::Handle(const HttpRequest& request) {
  static constexpr Route kRoutes[] = {
      {"services", &ZipkinApi::Services},
      {"spans", &ZipkinApi::SpanNames},
      {"remoteServices", &ZipkinApi::RemoteServices},
      {"traces", &ZipkinApi::Traces},
      {"trace/", &ZipkinApi::Trace},
      {"dependencies", &ZipkinApi::Dependencies},
      {"autocompleteKeys", &ZipkinApi::AutocompleteKeys},
      {"autocompleteValues", &ZipkinApi::AutocompleteValues},
  };
  constexpr std::string_view kPrefix = "/api/v2/";
  std::string_view path = request.path;
  if (path.substr(0, kPrefix.size()) == kPrefix) {
    path.remove_prefix(kPrefix.size());
    for (const Route& route : kRoutes) {
      std::string_view arg;
      if (route.path.back() == '/') {
        if (path.size() <= route.path.size() || path.substr(0, route.path.size()) != route.path) {
          continue;
        }
        arg = path.substr(route.path.size());
      } else if (path != route.path) {
        continue;
      }
      if (request.method != "GET" && request.method != "HEAD") {
        HttpResponse r = Error(405, fmt::format("method {} not allowed on {} (use GET)",
                                                request.method, request.path));
        r.headers.emplace_back("Allow", "GET");
        return r;
      }
      return (this->*route.handler)(request, arg);
    }
  }
  return Error(404, fmt::format("no such endpoint: {}", request.path));
}

// Without empty strings, which Zipkin does not list.
std::vector<std::string> NonEmpty(std::vector<std::string> strings) {
  std::erase(strings, std::string());
  return strings;
}

HttpResponse ZipkinApi::Services(const HttpRequest&, std::string_view) {
  absl::StatusOr<std::vector<std::string>> services = backend_->Services();
  if (!services.ok()) return StringList(services.status());
  return StringList(NonEmpty(*std::move(services)));
}

HttpResponse ZipkinApi::SpanNames(const HttpRequest& request, std::string_view) {
  std::string service;
  for (const auto& [k, v] : v1::ParseQueryString(request.query)) {
    if (k == "serviceName") service = v;
  }
  if (service.empty()) return Error(400, "serviceName is required");
  absl::StatusOr<std::vector<std::string>> names = storage::OperationNames(*backend_, service);
  if (!names.ok()) return StringList(names.status());
  return StringList(NonEmpty(*std::move(names)));
}

HttpResponse ZipkinApi::RemoteServices(const HttpRequest& request, std::string_view) {
  std::string service;
  for (const auto& [k, v] : v1::ParseQueryString(request.query)) {
    if (k == "serviceName") service = v;
  }
  if (service.empty()) return Error(400, "serviceName is required");
  return StringList(Values(backend_, kRemoteServiceKey,
                           {MakeFilter(kServiceKey, query::Operator::kEquals, service)}));
}

HttpResponse ZipkinApi::AutocompleteKeys(const HttpRequest&, std::string_view) {
  return Json("[]");
}

HttpResponse ZipkinApi::AutocompleteValues(const HttpRequest& request, std::string_view) {
  std::string key;
  for (const auto& [k, v] : v1::ParseQueryString(request.query)) {
    if (k == "key") key = v;
  }
  if (key.empty()) return Error(400, "key is required");
  return StringList(Values(backend_, "span.attributes." + key, {}));
}

HttpResponse ZipkinApi::Traces(const HttpRequest& request, std::string_view) {
  absl::StatusOr<TraceSearchParams> params = ParseTraceSearchParams(
      v1::ParseQueryString(request.query), now_(), limits_.max_traces);
  if (!params.ok()) return Error(params.status());

  query::SearchQuery q;
  q.range = {params->start_unix_nano, params->end_unix_nano};
  if (!params->service_name.empty()) {
    q.filters.push_back(MakeFilter(kServiceKey, query::Operator::kEquals, params->service_name));
  }
  if (!params->span_name.empty()) {
    q.filters.push_back(MakeFilter("span.name", query::Operator::kEquals, params->span_name));
  }
  if (!params->remote_service_name.empty()) {
    q.filters.push_back(
        MakeFilter(kRemoteServiceKey, query::Operator::kEquals, params->remote_service_name));
  }
  if (params->min_duration_nano > 0) {
    q.filters.push_back(MakeFilter("externalFields.durationNano", query::Operator::kGte,
                                   static_cast<int64_t>(params->min_duration_nano)));
  }
  if (params->max_duration_nano.has_value()) {
    q.filters.push_back(MakeFilter("externalFields.durationNano", query::Operator::kLte,
                                   static_cast<int64_t>(*params->max_duration_nano)));
  }
  q.sort = {query::SortField::kStartTime, /*ascending=*/false};
  q.page_size = query::kMaxPageSize;

  std::vector<TraceId> trace_ids;
  absl::flat_hash_set<TraceId> seen;
  size_t examined = 0;
  while (trace_ids.size() < params->limit) {
    absl::StatusOr<query::SearchResult> page = backend_->Search(q);
    if (!page.ok()) return Error(page.status());
    for (const model::StoredSpan& s : page->spans) {
      if (trace_ids.size() == params->limit) break;
      if (seen.contains(s.span.trace_id) ||
          !MatchesAnnotationQuery(s, params->annotation_query)) {
        continue;
      }
      seen.insert(s.span.trace_id);
      trace_ids.push_back(s.span.trace_id);
    }
    examined += page->spans.size();
    if (!page->next.has_value()) break;
    if (examined >= limits_.max_examined_spans) {
      spdlog::warn("zipkin api: trace search stopped after {} spans; older matches are not "
                   "returned",
                   examined);
      break;
    }
    q.after = page->next;
  }

  std::string body = "[";
  size_t spans = 0, traces = 0;
  for (const TraceId& id : trace_ids) {
    if (spans >= limits_.max_result_spans) break;
    query::TraceQuery tq;
    tq.trace_id = id;
    absl::StatusOr<query::TraceResult> trace = backend_->GetTrace(tq);
    if (absl::IsNotFound(trace.status())) continue;  // gone to retention since the search
    if (!trace.ok()) return Error(trace.status());
    if (traces++ > 0) body.push_back(',');
    AppendTrace(&body, trace->spans);
    spans += trace->spans.size();
  }
  body.push_back(']');
  return Json(std::move(body));
}

HttpResponse ZipkinApi::Trace(const HttpRequest&, std::string_view id_text) {
  absl::StatusOr<TraceId> id = ParseZipkinTraceId(id_text);
  if (!id.ok()) return Error(id.status());
  query::TraceQuery tq;
  tq.trace_id = *id;
  absl::StatusOr<query::TraceResult> trace = backend_->GetTrace(tq);
  if (absl::IsNotFound(trace.status())) {
    return Error(404, fmt::format("trace {} not found", ZipkinTraceIdHex(*id)));
  }
  if (!trace.ok()) return Error(trace.status());
  std::string body;
  AppendTrace(&body, trace->spans);
  return Json(std::move(body));
}

HttpResponse ZipkinApi::Dependencies(const HttpRequest& request, std::string_view) {
  absl::StatusOr<DependencyParams> params =
      ParseDependencyParams(v1::ParseQueryString(request.query));
  if (!params.ok()) return Error(params.status());

  absl::StatusOr<query::DependenciesResult> deps = backend_->Dependencies(
      {{params->start_unix_nano, params->end_unix_nano}, /*service=*/"",
       limits_.max_examined_spans});
  if (!deps.ok()) return Error(deps.status());
  if (deps->partial) {
    spdlog::warn("zipkin api: dependencies are partial (past {} spans or open calls)",
                 limits_.max_examined_spans);
  }
  // A call is a parent and child span in different services (within a service there is no link,
  // as in Zipkin's dependency linker), both named.
  std::string body = "[";
  for (const query::DependencyEdge& edge : deps->edges) {
    if (edge.parent == edge.child || edge.parent.empty() || edge.child.empty()) continue;
    if (body.size() > 1) body.push_back(',');
    body.append("{\"parent\":");
    AppendJsonString(&body, edge.parent);
    body.append(",\"child\":");
    AppendJsonString(&body, edge.child);
    body.append(fmt::format(",\"callCount\":{}", edge.calls));
    if (edge.errors > 0) body.append(fmt::format(",\"errorCount\":{}", edge.errors));
    body.push_back('}');
  }
  body.push_back(']');
  return Json(std::move(body));
}

}  // namespace teletrace::api::zipkin
