#include "api/teletrace_v1/teletrace_v1_api.h"

#include "api/teletrace_v1/key_resolver.h"
#include "api/teletrace_v1/request_parser.h"
#include "api/teletrace_v1/span_json.h"
#include "api/teletrace_v1/trace_search.h"
#include "absl/strings/numbers.h"
#include "common/build_info.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "fmt/format.h"
#include "query/parse.h"
#include "spdlog/spdlog.h"

namespace teletrace::api::v1 {
namespace {

HttpResponse JsonResponse(std::string body) {
  HttpResponse r;
  r.status = 200;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

HttpResponse MethodNotAllowed(const HttpRequest& request, std::string_view allowed) {
  HttpResponse r;
  r.status = 405;
  r.headers.emplace_back("Allow", std::string(allowed));
  r.body = "{\"errorMessage\":";
  AppendJsonString(&r.body, fmt::format("method {} not allowed on {} (use {})", request.method,
                                        request.path, allowed));
  r.body += "}";
  return r;
}

void AppendSpans(std::string* out, const std::vector<model::StoredSpan>& spans) {
  // A large trace is 100+ MB of JSON: growing the string by doubling would copy it again and touch
  // twice the memory. Once a sample of spans is written, reserve for the rest at their average
  // size (plus a margin, so a few larger spans later on do not force a copy of everything).
  constexpr size_t kSampleSpans = 64;
  const size_t start = out->size();
  out->push_back('[');
  for (size_t i = 0; i < spans.size(); ++i) {
    if (i == kSampleSpans && spans.size() > 2 * kSampleSpans) {
      const size_t average = (out->size() - start) / kSampleSpans;
      out->reserve(out->size() + (spans.size() - i) * average * 9 / 8 + 64);
    }
    if (i > 0) out->push_back(',');
    AppendInternalSpan(out, spans[i]);
  }
  out->push_back(']');
}

void AppendMetadata(std::string* out, const std::optional<query::Cursor>& next,
                    const query::Sort& sort) {
  if (!next.has_value()) {
    out->append("null");
    return;
  }
  out->append("{\"nextToken\":");
  AppendJsonString(out, query::EncodeCursor(sort, *next));
  out->push_back('}');
}

std::optional<std::string> QueryParam(const HttpRequest& request, std::string_view name) {
  for (auto& [k, v] : ParseQueryString(request.query)) {
    if (k == name) return v;
  }
  return std::nullopt;
}

absl::StatusOr<uint64_t> ParseUintParam(std::string_view name, const std::string& value) {
  uint64_t v = 0;
  if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) {
    return absl::InvalidArgumentError(
        fmt::format("{}: must be a non-negative integer, got \"{}\"", name, value));
  }
  if (!absl::SimpleAtoi(value, &v)) {
    return absl::InvalidArgumentError(
        fmt::format("{}: must be at most 18446744073709551615, got \"{}\"", name, value));
  }
  return v;
}

// The sort a trace's pages are cut in; it only binds cursors to trace paging.
constexpr query::Sort kTraceSort{query::SortField::kStartTime, true};

}  // namespace

int HttpStatusFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kFailedPrecondition:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    case absl::StatusCode::kCancelled:
      return 499;  // the client closed the connection: nobody reads this answer
    default:
      return 500;
  }
}

namespace {

// {"50.0": x, ...}
void AppendPercentiles(std::string* out, const std::map<std::string, double>& percentiles) {
  *out += "{";
  bool first = true;
  for (const auto& [name, value] : percentiles) {
    if (!first) *out += ",";
    first = false;
    AppendJsonString(out, name);
    *out += ":";
    AppendTagValue(out, value);
  }
  *out += "}";
}

}  // namespace

HttpResponse ErrorResponse(const absl::Status& status) {
  HttpResponse r;
  r.status = HttpStatusFor(status);
  std::string message(status.message());
  if (r.status == 500) {
    spdlog::error("api: internal error: {}", status.ToString());
    message = "internal error (see the server log)";
  }
  r.body = "{\"errorMessage\":";
  AppendJsonString(&r.body, message);
  r.body += "}";
  return r;
}

std::string PercentDecode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) << 4 | hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ParseQueryString(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string key(part.substr(0, eq));
    std::string value(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
    for (char& c : value) {
      if (c == '+') c = ' ';
    }
    out.emplace_back(PercentDecode(key), PercentDecode(value));
  }
  return out;
}

TeletraceV1Api::TeletraceV1Api(storage::Backend* backend, std::function<uint64_t()> now,
                               IngestPorts ingest_ports)
    : backend_(backend),
      now_(now ? std::move(now) : [] { return NowUnixNano(); }),
      ingest_ports_(ingest_ports) {}

HttpResponse TeletraceV1Api::Handle(const HttpRequest& request) {
  std::string_view path = request.path;
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const bool get = request.method == "GET" || request.method == "HEAD";
  const bool post = request.method == "POST";

  if (path == "/v1/ping") {
    if (!get) return MethodNotAllowed(request, "GET");
    HttpResponse r;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "pong";
    return r;
  }
  if (path == "/v1/system-info") {
    if (!get) return MethodNotAllowed(request, "GET");
    return SystemInfo();
  }
  if (path == "/v1/search") {
    if (!post) return MethodNotAllowed(request, "POST");
    return Search(request);
  }
  if (path == "/v1/traces") {
    if (!post) return MethodNotAllowed(request, "POST");
    return SearchTraces(request);
  }
  if (path == "/v1/dependencies") {
    if (!post) return MethodNotAllowed(request, "POST");
    return ServiceDependencies(request);
  }
  if (path == "/v1/histograms") {
    if (!post) return MethodNotAllowed(request, "POST");
    return Histograms(request);
  }
  if (path == "/v1/tags") {
    if (!get) return MethodNotAllowed(request, "GET");
    return TagKeys(request);
  }
  constexpr std::string_view kTrace = "/v1/trace/";
  if (path.substr(0, kTrace.size()) == kTrace && path.size() > kTrace.size()) {
    if (!get) return MethodNotAllowed(request, "GET");
    return GetTrace(request, path.substr(kTrace.size()));
  }
  constexpr std::string_view kTags = "/v1/tags/";
  if (path.substr(0, kTags.size()) == kTags && path.size() > kTags.size()) {
    std::string_view rest = path.substr(kTags.size());
    constexpr std::string_view kStats = "/statistics";
    if (rest.size() > kStats.size() && rest.substr(rest.size() - kStats.size()) == kStats) {
      if (!post) return MethodNotAllowed(request, "POST");
      return TagStatistics(request, rest.substr(0, rest.size() - kStats.size()));
    }
    if (!post) return MethodNotAllowed(request, "POST");
    return TagValues(request, rest);
  }
  return ErrorResponse(absl::NotFoundError(
      fmt::format("unknown route {} {}", request.method, request.path)));
}

absl::StatusOr<TeletraceV1Api::ResolvedRequest> TeletraceV1Api::ParseResolved(
    const HttpRequest& request) {
  auto body = ParseBody(request.body);
  if (!body.ok()) return body.status();
  // Keys resolve against the stored keys of the request's time range (all time when the
  // timeframe is invalid: the request parser refuses it afterwards anyway).
  std::optional<query::TimeRange> range;
  if (auto parsed = ParseTimeframe(*body, now_()); parsed.ok() && body->contains("timeframe")) {
    range = *parsed;
  }
  ResolvedRequest r{*std::move(body),
                    KeyResolver([this, range] { return backend_->TagKeys({range}); })};
  if (absl::Status st = r.keys.ResolveBody(&r.body); !st.ok()) return st;
  return r;
}

HttpResponse TeletraceV1Api::SystemInfo() {
  auto id = backend_->SystemId();
  if (!id.ok()) return ErrorResponse(id.status());
  std::string body = "{\"systemId\":";
  AppendJsonString(&body, *id);
  body += ",\"version\":";
  AppendJsonString(&body, GetBuildInfo().version);
  body += fmt::format(R"(,"ingest":{{"otlpGrpcPort":{},"otlpHttpPort":{},"zipkinPort":{}}}}})",
                      ingest_ports_.otlp_grpc, ingest_ports_.otlp_http, ingest_ports_.zipkin);
  return JsonResponse(std::move(body));
}

HttpResponse TeletraceV1Api::Search(const HttpRequest& request) {
  auto r = ParseResolved(request);
  if (!r.ok()) return ErrorResponse(r.status());
  auto q = ParseSearchRequest(r->body, now_());
  if (!q.ok()) return ErrorResponse(q.status());
  auto result = backend_->Search(*q);
  if (!result.ok()) return ErrorResponse(result.status());
  std::string out = "{\"metadata\":";
  AppendMetadata(&out, result->next, q->sort);
  out += ",\"spans\":";
  AppendSpans(&out, result->spans);
  out += "}";
  return JsonResponse(std::move(out));
}

HttpResponse TeletraceV1Api::ServiceDependencies(const HttpRequest& request) {
  auto body = ParseBody(request.body);
  if (!body.ok()) return ErrorResponse(body.status());
  auto q = ParseDependenciesRequest(*body, now_());
  if (!q.ok()) return ErrorResponse(q.status());
  auto deps = backend_->Dependencies(*q);
  if (!deps.ok()) return ErrorResponse(deps.status());
  std::string out = "{\"dependencies\":[";
  for (size_t i = 0; i < deps->edges.size(); ++i) {
    const query::DependencyEdge& e = deps->edges[i];
    if (i > 0) out += ",";
    out += "{\"parent\":";
    AppendJsonString(&out, e.parent);
    out += ",\"child\":";
    AppendJsonString(&out, e.child);
    out += fmt::format(R"(,"callCount":{},"errorCount":{}}})", e.calls, e.errors);
  }
  out += fmt::format(R"(],"partial":{}}})", deps->partial);
  return JsonResponse(std::move(out));
}

HttpResponse TeletraceV1Api::SearchTraces(const HttpRequest& request) {
  auto r = ParseResolved(request);
  if (!r.ok()) return ErrorResponse(r.status());
  auto q = ParseTraceSearchRequest(r->body, now_());
  if (!q.ok()) return ErrorResponse(q.status());
  auto result = v1::SearchTraces(backend_, *q);
  if (!result.ok()) return ErrorResponse(result.status());
  std::string out = "{\"traces\":[";
  for (size_t i = 0; i < result->traces.size(); ++i) {
    const TraceSummary& t = result->traces[i];
    if (i > 0) out += ",";
    out += fmt::format(R"({{"traceId":"{}","rootServiceName":)", ToHex(t.trace_id));
    AppendJsonString(&out, t.root_service_name);
    out += ",\"rootName\":";
    AppendJsonString(&out, t.root_name);
    out += fmt::format(
        R"(,"rootFound":{},"startTimeUnixNano":{},"durationNano":{},"spanCount":{},"errorCount":{},"services":[)",
        t.root_found, t.start_unix_nano, t.duration_nano, t.span_count, t.error_count);
    for (size_t k = 0; k < t.services.size(); ++k) {
      if (k > 0) out += ",";
      out += "{\"name\":";
      AppendJsonString(&out, t.services[k].name);
      out += fmt::format(R"(,"spanCount":{},"errorCount":{}}})", t.services[k].spans,
                         t.services[k].errors);
    }
    out += fmt::format(R"(],"complete":{}}})", t.complete);
  }
  out += fmt::format(R"(],"partial":{}}})", result->partial);
  return JsonResponse(std::move(out));
}

HttpResponse TeletraceV1Api::GetTrace(const HttpRequest& request, std::string_view id) {
  query::TraceQuery q;
  auto trace_id = ParseTraceIdHex(PercentDecode(id), "trace id");
  if (!trace_id.ok()) return ErrorResponse(trace_id.status());
  q.trace_id = *trace_id;
  if (auto size = QueryParam(request, "pageSize")) {
    auto n = ParseUintParam("pageSize", *size);
    if (!n.ok()) return ErrorResponse(n.status());
    if (*n == 0 || *n > query::kMaxTracePageSize) {
      return ErrorResponse(absl::InvalidArgumentError(fmt::format(
          "pageSize: must be between 1 and {}, got {}", query::kMaxTracePageSize, *n)));
    }
    q.page_size = *n;
  }
  if (auto token = QueryParam(request, "nextToken"); token && !token->empty()) {
    auto cursor = query::DecodeCursor(kTraceSort, *token, "nextToken");
    if (!cursor.ok()) return ErrorResponse(cursor.status());
    q.after = *cursor;
  }
  auto result = backend_->GetTrace(q);
  if (!result.ok()) return ErrorResponse(result.status());
  std::string out = "{\"metadata\":";
  AppendMetadata(&out, result->next, kTraceSort);
  out += ",\"spans\":";
  AppendSpans(&out, result->spans);
  out += "}";
  return JsonResponse(std::move(out));
}

HttpResponse TeletraceV1Api::TagKeys(const HttpRequest& request) {
  query::TagKeysQuery q;
  auto start = QueryParam(request, "startTimeUnixNanoSec");
  auto end = QueryParam(request, "endTimeUnixNanoSec");
  if (start || end) {
    query::TimeRange range;
    if (start) {
      auto v = ParseUintParam("startTimeUnixNanoSec", *start);
      if (!v.ok()) return ErrorResponse(v.status());
      range.start_unix_nano = *v;
    }
    uint64_t end_ns = 0;
    if (end) {
      auto v = ParseUintParam("endTimeUnixNanoSec", *end);
      if (!v.ok()) return ErrorResponse(v.status());
      end_ns = *v;
    }
    range.end_unix_nano = end_ns == 0 ? now_() : end_ns;
    if (range.end_unix_nano < range.start_unix_nano) {
      return ErrorResponse(absl::InvalidArgumentError("endTime cannot be smaller than startTime"));
    }
    q.range = range;
  }
  auto tags = backend_->TagKeys(q);
  if (!tags.ok()) return ErrorResponse(tags.status());
  std::string out = "{\"Tags\":[";
  for (size_t i = 0; i < tags->size(); ++i) {
    if (i > 0) out += ",";
    out += "{\"name\":";
    AppendJsonString(&out, (*tags)[i].name);
    out += ",\"type\":";
    AppendJsonString(&out, query::ValueTypeName((*tags)[i].type));
    out += "}";
  }
  out += "]}";
  return JsonResponse(std::move(out));
}

HttpResponse TeletraceV1Api::TagValues(const HttpRequest& request, std::string_view tag) {
  auto r = ParseResolved(request);
  if (!r.ok()) return ErrorResponse(r.status());
  auto full_tag = r->keys.Resolve(PercentDecode(tag), "tag");
  if (!full_tag.ok()) return ErrorResponse(full_tag.status());
  auto q = ParseTagValuesRequest(*full_tag, r->body, now_());
  if (!q.ok()) return ErrorResponse(q.status());
  auto result = backend_->TagValues(*q);
  if (!result.ok()) return ErrorResponse(result.status());
  std::string out = "{\"metadata\":null,\"values\":[";
  for (size_t i = 0; i < result->values.size(); ++i) {
    if (i > 0) out += ",";
    out += "{\"value\":";
    AppendTagValue(&out, result->values[i].value);
    out += fmt::format(",\"count\":{}}}", result->values[i].count);
  }
  out += fmt::format("],\"totalDistinctValues\":{}", result->total_distinct);
  // Only asked-for budgets add the key: the original API's answer is unchanged.
  if (q->time_budget) out += fmt::format(",\"partial\":{}", result->partial);
  out += "}";
  return JsonResponse(std::move(out));
}

HttpResponse TeletraceV1Api::TagStatistics(const HttpRequest& request, std::string_view tag) {
  auto r = ParseResolved(request);
  if (!r.ok()) return ErrorResponse(r.status());
  auto full_tag = r->keys.Resolve(PercentDecode(tag), "tag");
  if (!full_tag.ok()) return ErrorResponse(full_tag.status());
  auto q = ParseStatisticsRequest(*full_tag, r->body, now_());
  if (!q.ok()) return ErrorResponse(q.status());
  auto result = backend_->Statistics(*q);
  if (!result.ok()) return ErrorResponse(result.status());
  std::string out = "{\"statistics\":{";
  bool first = true;
  for (const auto& s : q->wanted) {
    auto it = result->find(s.name);
    if (it == result->end()) continue;
    if (!first) out += ",";
    first = false;
    AppendJsonString(&out, s.name);
    out += ":";
    AppendTagValue(&out, it->second);
  }
  out += "}}";
  return JsonResponse(std::move(out));
}

HttpResponse TeletraceV1Api::Histograms(const HttpRequest& request) {
  auto r = ParseResolved(request);
  if (!r.ok()) return ErrorResponse(r.status());
  auto q = ParseHistogramRequest(r->body, now_());
  if (!q.ok()) return ErrorResponse(q.status());
  auto result = backend_->Histograms(*q);
  if (!result.ok()) return ErrorResponse(result.status());
  std::string out = "{\"histograms\":[";
  for (size_t h = 0; h < result->size(); ++h) {
    const query::Histogram& hist = (*result)[h];
    if (h > 0) out += ",";
    out += "{\"histogramLabel\":";
    AppendJsonString(&out, hist.label);
    out += ",\"buckets\":[";
    for (size_t b = 0; b < hist.buckets.size(); ++b) {
      const query::HistogramBucket& bucket = hist.buckets[b];
      if (b > 0) out += ",";
      out += fmt::format("{{\"bucketKey\":{},\"data\":", bucket.bucket_key);
      std::visit(
          [&out](const auto& data) {
            using T = std::decay_t<decltype(data)>;
            if constexpr (std::is_same_v<T, uint64_t>) {
              out += fmt::format("{}", data);
            } else if constexpr (std::is_same_v<T, query::GroupedCount>) {
              out += fmt::format("{{\"totalCount\":{},\"subBuckets\":[", data.total_count);
              for (size_t i = 0; i < data.sub_buckets.size(); ++i) {
                if (i > 0) out += ",";
                out += "{\"key\":";
                AppendTagValue(&out, data.sub_buckets[i].key);
                out += fmt::format(",\"count\":{}}}", data.sub_buckets[i].count);
              }
              out += "]}";
            } else if constexpr (std::is_same_v<T, query::GroupedPercentiles>) {
              out += fmt::format("{{\"totalCount\":{},\"subBuckets\":[", data.total_count);
              for (size_t i = 0; i < data.groups.size(); ++i) {
                if (i > 0) out += ",";
                out += "{\"key\":";
                AppendTagValue(&out, data.groups[i].key);
                out += fmt::format(",\"count\":{},\"percentiles\":", data.groups[i].count);
                AppendPercentiles(&out, data.groups[i].percentiles);
                out += "}";
              }
              out += "]}";
            } else {
              AppendPercentiles(&out, data);
            }
          },
          bucket.data);
      out += "}";
    }
    out += "]}";
  }
  out += "]}";
  return JsonResponse(std::move(out));
}

}  // namespace teletrace::api::v1
