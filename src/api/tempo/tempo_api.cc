#include "api/tempo/tempo_api.h"

#include <algorithm>
#include <set>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "api/jaeger/jaeger_json.h"
#include "api/jaeger/jaeger_query_params.h"
#include "api/otlp/otlp_encoding.h"
#include "api/teletrace_v1/teletrace_v1_api.h"
#include "api/tempo/traceql_evaluator.h"
#include "api/tempo/traceql_parser.h"
#include "common/build_info.h"
#include "common/encoding.h"
#include "common/json_string.h"
#include "common/time_util.h"
#include "fmt/format.h"
#include "query/parse.h"
#include "spdlog/spdlog.h"

namespace teletrace::api::tempo {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;
using FieldKind = TraceqlField::Kind;

constexpr uint64_t kNanosPerSecond = 1'000'000'000;
// Grafana gates features on the Tempo version it reads from buildinfo; we answer as the Tempo
// release whose API we follow, with Teletrace's own version as the pre-release part.
constexpr std::string_view kTempoApiVersion = "2.6.0";
// Tempo's words for a trace whose root span it has not seen.
constexpr std::string_view kNoRoot = "<root span not yet received>";

HttpResponse Text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

HttpResponse Json(std::string body) {
  HttpResponse r;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

HttpResponse Error(const absl::Status& status) {
  const int code = v1::HttpStatusFor(status);
  if (code == 500) {
    spdlog::error("tempo api: internal error: {}", status.ToString());
    return Text(500, "internal error (see the server log)");
  }
  return Text(code, std::string(status.message()));
}

const std::string* Param(const Params& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) return &v;
  }
  return nullptr;
}

absl::StatusOr<std::optional<uint64_t>> UintParam(const Params& params, std::string_view name) {
  const std::string* text = Param(params, name);
  if (text == nullptr || text->empty()) return std::optional<uint64_t>();
  uint64_t v = 0;
  if (!absl::SimpleAtoi(*text, &v) || text->front() == '-' || text->front() == '+') {
    return absl::InvalidArgumentError(fmt::format(
        "invalid parameter {}: expected a non-negative integer, got \"{}\"", name, *text));
  }
  return std::optional<uint64_t>(v);
}

// start/end in unix seconds; std::nullopt when neither is given.
absl::StatusOr<std::optional<query::TimeRange>> RangeParams(const Params& params, uint64_t now,
                                                            uint64_t default_lookback) {
  absl::StatusOr<std::optional<uint64_t>> start = UintParam(params, "start");
  if (!start.ok()) return start.status();
  absl::StatusOr<std::optional<uint64_t>> end = UintParam(params, "end");
  if (!end.ok()) return end.status();
  // Without either, the last hour, as search defaults: tag keys over all stored data would decode
  // every block of a large store on each load of Grafana's search editor.
  constexpr uint64_t kMaxSeconds = UINT64_MAX / kNanosPerSecond - 1;
  query::TimeRange range;
  range.end_unix_nano = end->has_value()
                            ? std::min(**end, kMaxSeconds) * kNanosPerSecond + (kNanosPerSecond - 1)
                            : now;
  range.start_unix_nano = start->has_value() ? std::min(**start, kMaxSeconds) * kNanosPerSecond
                          : range.end_unix_nano > default_lookback
                              ? range.end_unix_nano - default_lookback
                              : 0;
  if (range.start_unix_nano > range.end_unix_nano) {
    return absl::InvalidArgumentError("invalid parameters: start must not be after end");
  }
  return std::optional<query::TimeRange>(range);
}

absl::StatusOr<size_t> CountParam(const Params& params, std::string_view name, size_t default_value,
                                  size_t max_value) {
  absl::StatusOr<std::optional<uint64_t>> v = UintParam(params, name);
  if (!v.ok()) return v.status();
  if (!v->has_value()) return default_value;
  if (**v == 0) {
    return absl::InvalidArgumentError(
        fmt::format("invalid parameter {}: must be a positive integer", name));
  }
  return static_cast<size_t>(std::min<uint64_t>(**v, max_value));
}

// Tempo's rendering of a trace id in search results: hex without leading zeros.
std::string TraceIdText(const TraceId& id) {
  std::string hex = ToHex(id);
  const size_t nonzero = hex.find_first_not_of('0');
  return nonzero == std::string::npos ? "0" : hex.substr(nonzero);
}

// An attribute value as tempopb.common.v1.AnyValue in jsonpb (64-bit integers as strings); false
// for kinds a search result does not show (bytes, arrays, maps, empty).
bool AppendAnyValue(std::string* out, const model::AnyValue& value) {
  if (const auto* s = std::get_if<std::string>(&value.value)) {
    out->append("{\"stringValue\":");
    AppendJsonString(out, *s);
  } else if (const auto* i = std::get_if<int64_t>(&value.value)) {
    out->append(fmt::format("{{\"intValue\":\"{}\"", *i));
  } else if (const auto* d = std::get_if<double>(&value.value)) {
    out->append("{\"doubleValue\":");
    jaeger::AppendGoFloat(out, *d);
  } else if (const auto* b = std::get_if<bool>(&value.value)) {
    out->append(*b ? "{\"boolValue\":true" : "{\"boolValue\":false");
  } else {
    return false;
  }
  out->push_back('}');
  return true;
}

std::string_view StatusWord(model::StatusCode code) {
  switch (code) {
    case model::StatusCode::kError:
      return "error";
    case model::StatusCode::kOk:
      return "ok";
    case model::StatusCode::kUnset:
      return "unset";
  }
  return "unset";
}

std::string_view KindWord(model::SpanKind kind) {
  switch (kind) {
    case model::SpanKind::kUnspecified:
      return "unspecified";
    case model::SpanKind::kInternal:
      return "internal";
    case model::SpanKind::kServer:
      return "server";
    case model::SpanKind::kClient:
      return "client";
    case model::SpanKind::kProducer:
      return "producer";
    case model::SpanKind::kConsumer:
      return "consumer";
  }
  return "unspecified";
}

// The referenced fields' values on `s`, as a search result's span attributes.
void AppendSpanAttributes(std::string* out, const model::StoredSpan& s,
                          const std::vector<TraceqlField>& fields) {
  std::string list;
  auto add = [&](std::string_view key, const model::AnyValue& value) {
    const size_t mark = list.size();
    list.append(list.empty() ? "[" : ",");
    list.append("{\"key\":");
    AppendJsonString(&list, key);
    list.append(",\"value\":");
    if (!AppendAnyValue(&list, value)) {
      list.resize(mark);
      return;
    }
    list.push_back('}');
  };
  for (const TraceqlField& f : fields) {
    const model::AnyValue* v = nullptr;
    const model::AnyValue* resource_value =
        s.resource != nullptr ? model::FindAttribute(s.resource->attributes, f.attribute) : nullptr;
    switch (f.kind) {
      case FieldKind::kSpanAttribute:
        v = model::FindAttribute(s.span.attributes, f.attribute);
        break;
      case FieldKind::kResourceAttribute:
        v = resource_value;
        break;
      case FieldKind::kAnyAttribute:
        v = model::FindAttribute(s.span.attributes, f.attribute);
        if (v == nullptr) v = resource_value;
        break;
      case FieldKind::kStatus:
        add("status", std::string(StatusWord(s.span.status.code)));
        break;
      case FieldKind::kKind:
        add("kind", std::string(KindWord(s.span.kind)));
        break;
      case FieldKind::kStatusMessage:
        if (!s.span.status.message.empty()) add("statusMessage", s.span.status.message);
        break;
      default:
        break;  // name and duration are fields of the span; trace intrinsics are not shown
    }
    if (v != nullptr) add(f.attribute, *v);
  }
  if (list.empty()) return;
  out->append(",\"attributes\":");
  out->append(list).push_back(']');
}

// One trace of a SearchResponse.
void AppendTraceMetadata(std::string* out, const std::vector<model::StoredSpan>& spans,
                         const std::vector<size_t>& matched, size_t spans_per_spanset,
                         const std::vector<TraceqlField>& fields) {
  const TraceFacts facts = ComputeTraceFacts(spans);
  out->append("{\"traceID\":");
  AppendJsonString(out, TraceIdText(spans.front().span.trace_id));
  out->append(",\"rootServiceName\":");
  if (facts.root == nullptr) {
    AppendJsonString(out, kNoRoot);
  } else {
    AppendJsonString(out, facts.root->resource != nullptr
                              ? model::ServiceName(*facts.root->resource)
                              : std::string_view());
    out->append(",\"rootTraceName\":");
    AppendJsonString(out, facts.root->span.name);
  }
  out->append(fmt::format(",\"startTimeUnixNano\":\"{}\"", facts.start_unix_nano));
  const uint64_t duration_ms = (facts.end_unix_nano - facts.start_unix_nano) / 1'000'000;
  if (duration_ms > 0) out->append(fmt::format(",\"durationMs\":{}", duration_ms));
  std::string spanset = "{\"spans\":[";
  for (size_t i = 0; i < matched.size() && i < spans_per_spanset; ++i) {
    const model::StoredSpan& s = spans[matched[i]];
    if (i > 0) spanset.push_back(',');
    spanset.append("{\"spanID\":");
    AppendJsonString(&spanset, ToHex(s.span.span_id));
    if (!s.span.name.empty()) {
      spanset.append(",\"name\":");
      AppendJsonString(&spanset, s.span.name);
    }
    spanset.append(fmt::format(",\"startTimeUnixNano\":\"{}\",\"durationNanos\":\"{}\"",
                               s.span.start_time_unix_nano, s.span.DurationNano()));
    AppendSpanAttributes(&spanset, s, fields);
    spanset.push_back('}');
  }
  spanset.append(fmt::format("],\"matched\":{}}}", matched.size()));
  out->append(",\"spanSet\":").append(spanset);
  out->append(",\"spanSets\":[").append(spanset).append("]}");
}

TraceqlCondition TagCondition(FieldKind kind, std::string attribute, std::string text,
                              TraceqlLiteral value, bool text_form) {
  TraceqlCondition c;
  c.field.kind = kind;
  c.field.attribute = std::move(attribute);
  c.field.text = std::move(text);
  c.value = std::move(value);
  c.text_form = text_form;
  return c;
}

// tags= conditions as one spanset filter, mapped as Tempo maps its well-known search tags.
absl::StatusOr<SpansetExpr> TagsQuery(
    const std::vector<std::pair<std::string, std::string>>& tags) {
  SpansetExpr out;
  out.filter.kind = TraceqlFieldExpr::Kind::kAnd;
  for (const auto& tag : tags) {
    const std::string& key = tag.first;  // not a structured binding: clang 14 cannot capture one
    const std::string& value = tag.second;
    TraceqlFieldExpr e;
    e.kind = TraceqlFieldExpr::Kind::kCondition;
    if (key == "name") {
      e.condition = TagCondition(FieldKind::kName, "", key, value, false);
    } else if (key == "status" || key == "status.code") {
      static constexpr std::pair<std::string_view, model::StatusCode> kCodes[] = {
          {"error", model::StatusCode::kError},
          {"ok", model::StatusCode::kOk},
          {"unset", model::StatusCode::kUnset}};
      const auto* code = std::find_if(std::begin(kCodes), std::end(kCodes),
                                      [&](const auto& c) { return c.first == value; });
      if (code == std::end(kCodes)) {
        return absl::InvalidArgumentError(fmt::format(
            "invalid parameter tags: {} must be error, ok or unset, got \"{}\"", key, value));
      }
      e.condition = TagCondition(FieldKind::kStatus, "", key, code->second, false);
    } else if (key == "root.service.name") {
      e.condition = TagCondition(FieldKind::kRootServiceName, "", key, value, false);
    } else if (key == "root.name") {
      e.condition = TagCondition(FieldKind::kRootName, "", key, value, false);
    } else if (key == "service.name") {
      e.condition = TagCondition(FieldKind::kResourceAttribute, key, key, value, false);
    } else {
      e.condition = TagCondition(FieldKind::kAnyAttribute, key, key, value, true);
    }
    out.filter.children.push_back(std::move(e));
  }
  if (out.filter.children.empty()) out.filter.kind = TraceqlFieldExpr::Kind::kTrue;
  return out;
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

// The intrinsics the TraceQL subset reads, as /api/v2/search/tags lists them.
const std::vector<std::string>& IntrinsicNames() {
  static const std::vector<std::string> kNames = {
      "duration",      "kind",          "name",           "rootName",       "rootServiceName",
      "span:duration", "span:kind",     "span:name",      "span:status",    "span:statusMessage",
      "status",        "statusMessage", "trace:duration", "trace:rootName", "trace:rootService",
      "traceDuration"};
  return kNames;
}

constexpr std::string_view kSpanPrefix = "span.attributes.";
constexpr std::string_view kResourcePrefix = "resource.attributes.";

absl::StatusOr<query::TagValuesResult> Values(storage::Backend* backend, std::string_view key,
                                              const std::optional<query::TimeRange>& range,
                                              const std::vector<query::Filter>& filters,
                                              size_t limit) {
  query::TagValuesQuery q;
  absl::StatusOr<query::Key> parsed = query::ParseKey(key, "tag");
  if (!parsed.ok()) return parsed.status();
  q.key = *std::move(parsed);
  q.range = range;
  q.filters = filters;
  q.limit = limit;
  return backend->TagValues(q);
}

std::string ValueText(const query::TagValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* i = std::get_if<int64_t>(&v)) return fmt::format("{}", *i);
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  std::string out;
  jaeger::AppendGoFloat(&out, std::get<double>(v));
  return out;
}

std::string_view ValueTypeWord(const query::TagValue& v) {
  if (std::holds_alternative<std::string>(v)) return "string";
  if (std::holds_alternative<int64_t>(v)) return "int";
  if (std::holds_alternative<bool>(v)) return "bool";
  return "float";
}

}  // namespace

struct TempoApi::Route {
  std::string_view prefix;  // path without the leading "/"
  bool has_argument;
  std::string_view suffix;
  HttpResponse (TempoApi::*handler)(const HttpRequest&, std::string_view);
};

TempoApi::TempoApi(storage::Backend* backend, std::function<uint64_t()> now, TempoApiLimits limits)
    : backend_(backend),
      now_(now ? std::move(now) : [] { return NowUnixNano(); }),
      limits_(limits) {}

HttpResponse TempoApi::Handle(const HttpRequest& request) {
  static constexpr Route kRoutes[] = {
      {"api/echo", false, "", &TempoApi::Echo},
      {"ready", false, "", &TempoApi::Ready},
      {"api/status/buildinfo", false, "", &TempoApi::BuildInfo},
      {"api/traces/", true, "", &TempoApi::TraceV1},
      {"api/v2/traces/", true, "", &TempoApi::TraceV2},
      {"api/search", false, "", &TempoApi::Search},
      {"api/search/tags", false, "", &TempoApi::TagsV1},
      {"api/v2/search/tags", false, "", &TempoApi::TagsV2},
      {"api/search/tag/", true, "/values", &TempoApi::TagValuesV1},
      {"api/v2/search/tag/", true, "/values", &TempoApi::TagValuesV2},
  };
  std::string_view path = request.path;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  for (const Route& route : kRoutes) {
    std::string_view arg;
    if (!route.has_argument) {
      if (path != route.prefix) continue;
    } else {
      if (path.size() <= route.prefix.size() + route.suffix.size() ||
          !path.starts_with(route.prefix) || !path.ends_with(route.suffix)) {
        continue;
      }
      arg =
          path.substr(route.prefix.size(), path.size() - route.prefix.size() - route.suffix.size());
      if (route.suffix.empty() && arg.find('/') != std::string_view::npos) continue;
    }
    if (request.method != "GET" && request.method != "HEAD") {
      HttpResponse r = Text(
          405, fmt::format("method {} not allowed on {} (use GET)", request.method, request.path));
      r.headers.emplace_back("Allow", "GET");
      return r;
    }
    return (this->*route.handler)(request, arg);
  }
  return Text(404, fmt::format("no such endpoint: {}", request.path));
}

HttpResponse TempoApi::Echo(const HttpRequest&, std::string_view) { return Text(200, "echo"); }

HttpResponse TempoApi::Ready(const HttpRequest&, std::string_view) { return Text(200, "ready"); }

HttpResponse TempoApi::BuildInfo(const HttpRequest&, std::string_view) {
  const teletrace::BuildInfo& info = GetBuildInfo();
  std::string body = "{\"version\":";
  AppendJsonString(&body, fmt::format("{}-teletrace.{}", kTempoApiVersion, info.version));
  body.append(",\"revision\":");
  AppendJsonString(&body, info.commit);
  body.append(",\"branch\":\"\",\"buildUser\":\"\",\"buildDate\":");
  AppendJsonString(&body, info.date);
  body.append(",\"goVersion\":\"\"}");
  return Json(std::move(body));
}

namespace {

// The trace `id_text` names, or the error response.
absl::StatusOr<std::vector<model::StoredSpan>> FetchTrace(storage::Backend* backend,
                                                          const HttpRequest& request,
                                                          std::string_view id_text) {
  const Params params = v1::ParseQueryString(request.query);
  for (std::string_view name : {"start", "end"}) {
    absl::StatusOr<std::optional<uint64_t>> v = UintParam(params, name);
    if (!v.ok()) return v.status();
  }
  absl::StatusOr<TraceId> id = jaeger::ParseJaegerTraceId(v1::PercentDecode(id_text));
  if (!id.ok()) return id.status();
  query::TraceQuery tq;
  tq.trace_id = *id;
  absl::StatusOr<query::TraceResult> trace = backend->GetTrace(tq);
  if (!trace.ok()) return trace.status();
  if (trace->spans.empty()) return absl::NotFoundError("trace not found");
  return std::move(trace->spans);
}

bool WantsProtobuf(const HttpRequest& request) {
  return request.Header("accept").find("application/protobuf") != std::string_view::npos;
}

HttpResponse Protobuf(std::string body) {
  HttpResponse r;
  r.content_type = "application/protobuf";
  r.body = std::move(body);
  return r;
}

}  // namespace

HttpResponse TempoApi::TraceV1(const HttpRequest& request, std::string_view id) {
  absl::StatusOr<std::vector<model::StoredSpan>> spans = FetchTrace(backend_, request, id);
  if (absl::IsNotFound(spans.status())) return Text(404, "trace not found");
  if (!spans.ok()) return Error(spans.status());
  if (WantsProtobuf(request)) return Protobuf(otlp::EncodeOtlpTracesProtobuf(*spans));
  std::string body;
  otlp::AppendOtlpTracesJson(&body, *spans, {.base64_ids = true, .resource_spans_key = "batches"});
  return Json(std::move(body));
}

HttpResponse TempoApi::TraceV2(const HttpRequest& request, std::string_view id) {
  absl::StatusOr<std::vector<model::StoredSpan>> spans = FetchTrace(backend_, request, id);
  if (absl::IsNotFound(spans.status())) return Text(404, "trace not found");
  if (!spans.ok()) return Error(spans.status());
  if (WantsProtobuf(request)) {
    // TraceByIDResponse { Trace trace = 1; }, Trace being TracesData's wire twin.
    const std::string trace = otlp::EncodeOtlpTracesProtobuf(*spans);
    std::string body;
    body.push_back(static_cast<char>((1 << 3) | 2));
    encoding::AppendVarint(&body, trace.size());
    body.append(trace);
    return Protobuf(std::move(body));
  }
  std::string body = "{\"trace\":";
  otlp::AppendOtlpTracesJson(&body, *spans, {.base64_ids = true});
  body.append(",\"metrics\":{}}");
  return Json(std::move(body));
}

HttpResponse TempoApi::Search(const HttpRequest& request, std::string_view) {
  const Params params = v1::ParseQueryString(request.query);
  const uint64_t now = now_();
  absl::StatusOr<std::optional<query::TimeRange>> range =
      RangeParams(params, now, limits_.default_lookback_nano);
  if (!range.ok()) return Error(range.status());
  query::TimeRange search_range = range->value_or(query::TimeRange{
      now > limits_.default_lookback_nano ? now - limits_.default_lookback_nano : 0, now});
  absl::StatusOr<size_t> limit =
      CountParam(params, "limit", limits_.default_limit, limits_.max_limit);
  if (!limit.ok()) return Error(limit.status());
  absl::StatusOr<size_t> spss =
      CountParam(params, "spss", limits_.default_spans_per_spanset, limits_.max_spans_per_spanset);
  if (!spss.ok()) return Error(spss.status());
  uint64_t min_duration = 0, max_duration = UINT64_MAX;
  for (auto [name, target] :
       {std::pair{"minDuration", &min_duration}, std::pair{"maxDuration", &max_duration}}) {
    const std::string* text = Param(params, name);
    if (text == nullptr || text->empty()) continue;
    absl::StatusOr<uint64_t> v = jaeger::ParseGoDuration(*text, name);
    if (!v.ok()) return Error(v.status());
    *target = *v;
  }
  if (min_duration > max_duration) {
    return Text(400, "invalid parameters: minDuration must not be greater than maxDuration");
  }

  absl::StatusOr<SpansetExpr> expr;
  const std::string* q = Param(params, "q");
  if (q != nullptr && !q->empty()) {
    expr = ParseTraceql(*q);
  } else {
    const std::string* tags = Param(params, "tags");
    absl::StatusOr<std::vector<std::pair<std::string, std::string>>> parsed =
        jaeger::ParseTags({}, tags != nullptr && !tags->empty() ? std::vector<std::string>{*tags}
                                                                : std::vector<std::string>{});
    if (!parsed.ok()) return Error(parsed.status());
    expr = TagsQuery(*parsed);
  }
  if (!expr.ok()) return Error(expr.status());
  const std::vector<TraceqlField> fields = ReferencedFields(*expr);

  query::SearchQuery sq;
  sq.range = search_range;
  sq.filters = TraceqlPushdown(*expr);
  sq.sort = {query::SortField::kStartTime, /*ascending=*/false};
  sq.page_size = query::kMaxPageSize;

  struct Match {
    uint64_t start_unix_nano;
    std::string json;
  };
  std::vector<Match> matches;
  absl::flat_hash_set<TraceId> seen;
  size_t examined = 0;
  bool cut = false;
  while (matches.size() < *limit && !cut) {
    absl::StatusOr<query::SearchResult> page = backend_->Search(sq);
    if (!page.ok()) return Error(page.status());
    for (const model::StoredSpan& s : page->spans) {
      if (matches.size() == *limit) break;
      if (!seen.insert(s.span.trace_id).second) continue;
      if (seen.size() > limits_.max_fetched_traces) {
        cut = true;
        break;
      }
      query::TraceQuery tq;
      tq.trace_id = s.span.trace_id;
      absl::StatusOr<query::TraceResult> trace = backend_->GetTrace(tq);
      if (absl::IsNotFound(trace.status())) continue;  // gone to retention since the search
      if (!trace.ok()) return Error(trace.status());
      if (trace->spans.empty()) continue;
      const TraceFacts facts = ComputeTraceFacts(trace->spans);
      const uint64_t duration = facts.end_unix_nano - facts.start_unix_nano;
      if (duration < min_duration || duration > max_duration) continue;
      const std::vector<size_t> matched = MatchTrace(*expr, trace->spans);
      if (matched.empty()) continue;
      Match m{facts.start_unix_nano, {}};
      AppendTraceMetadata(&m.json, trace->spans, matched, *spss, fields);
      matches.push_back(std::move(m));
    }
    examined += page->spans.size();
    if (!page->next.has_value()) break;
    if (examined >= limits_.max_examined_spans) cut = true;
    sq.after = page->next;
  }
  if (cut) {
    spdlog::warn(
        "tempo api: search stopped after {} candidate spans and {} traces; older matches "
        "are not returned",
        examined, seen.size());
  }
  std::stable_sort(matches.begin(), matches.end(), [](const Match& a, const Match& b) {
    return a.start_unix_nano > b.start_unix_nano;
  });
  std::string body = "{\"traces\":[";
  for (size_t i = 0; i < matches.size(); ++i) {
    if (i > 0) body.push_back(',');
    body.append(matches[i].json);
  }
  body.append(
      fmt::format("],\"metrics\":{{\"inspectedTraces\":{},\"completedJobs\":1,"
                  "\"totalJobs\":1}}}}",
                  std::min(seen.size(), limits_.max_fetched_traces)));
  return Json(std::move(body));
}

namespace {

// Attribute names by scope ("resource", "span") from Backend::TagKeys.
absl::StatusOr<std::pair<std::set<std::string>, std::set<std::string>>> AttributeNames(
    storage::Backend* backend, const std::optional<query::TimeRange>& range) {
  query::TagKeysQuery q;
  q.range = range;
  absl::StatusOr<std::vector<query::TagInfo>> keys = backend->TagKeys(q);
  if (!keys.ok()) return keys.status();
  std::pair<std::set<std::string>, std::set<std::string>> out;
  for (const query::TagInfo& k : *keys) {
    std::string_view name = k.name;
    if (name.starts_with(kResourcePrefix)) {
      out.first.emplace(name.substr(kResourcePrefix.size()));
    } else if (name.starts_with(kSpanPrefix)) {
      out.second.emplace(name.substr(kSpanPrefix.size()));
    }
  }
  return out;
}

absl::StatusOr<std::string> ScopeParam(const Params& params) {
  const std::string* scope = Param(params, "scope");
  if (scope == nullptr || scope->empty() || *scope == "all" || *scope == "none") return "";
  if (*scope != "resource" && *scope != "span" && *scope != "intrinsic") {
    return absl::InvalidArgumentError(fmt::format(
        "invalid parameter scope: expected resource, span, intrinsic or all, got \"{}\"", *scope));
  }
  return *scope;
}

}  // namespace

HttpResponse TempoApi::TagsV1(const HttpRequest& request, std::string_view) {
  const Params params = v1::ParseQueryString(request.query);
  absl::StatusOr<std::string> scope = ScopeParam(params);
  if (!scope.ok()) return Error(scope.status());
  absl::StatusOr<std::optional<query::TimeRange>> range =
      RangeParams(params, now_(), limits_.default_lookback_nano);
  if (!range.ok()) return Error(range.status());
  absl::StatusOr<std::pair<std::set<std::string>, std::set<std::string>>> names =
      AttributeNames(backend_, *range);
  if (!names.ok()) return Error(names.status());
  std::set<std::string> all;
  if (scope->empty() || *scope == "resource") all.insert(names->first.begin(), names->first.end());
  if (scope->empty() || *scope == "span") all.insert(names->second.begin(), names->second.end());
  if (*scope == "intrinsic") all.insert(IntrinsicNames().begin(), IntrinsicNames().end());
  return Json("{\"tagNames\":" + StringArray({all.begin(), all.end()}) + "}");
}

HttpResponse TempoApi::TagsV2(const HttpRequest& request, std::string_view) {
  const Params params = v1::ParseQueryString(request.query);
  absl::StatusOr<std::string> scope = ScopeParam(params);
  if (!scope.ok()) return Error(scope.status());
  absl::StatusOr<std::optional<query::TimeRange>> range =
      RangeParams(params, now_(), limits_.default_lookback_nano);
  if (!range.ok()) return Error(range.status());
  absl::StatusOr<std::pair<std::set<std::string>, std::set<std::string>>> names =
      AttributeNames(backend_, *range);
  if (!names.ok()) return Error(names.status());
  std::string body = "{\"scopes\":[";
  bool first = true;
  auto add = [&](std::string_view name, const std::vector<std::string>& tags) {
    if (!scope->empty() && *scope != name) return;
    if (!first) body.push_back(',');
    first = false;
    body.append(fmt::format("{{\"name\":\"{}\",\"tags\":", name));
    body.append(StringArray(tags)).push_back('}');
  };
  add("resource", {names->first.begin(), names->first.end()});
  add("span", {names->second.begin(), names->second.end()});
  add("intrinsic", IntrinsicNames());
  body.append("]}");
  return Json(std::move(body));
}

HttpResponse TempoApi::TagValuesV1(const HttpRequest& request, std::string_view name_text) {
  const Params params = v1::ParseQueryString(request.query);
  absl::StatusOr<std::optional<query::TimeRange>> range =
      RangeParams(params, now_(), limits_.default_lookback_nano);
  if (!range.ok()) return Error(range.status());
  const std::string name = v1::PercentDecode(name_text);
  std::set<std::string> values;
  for (std::string_view prefix : {kResourcePrefix, kSpanPrefix}) {
    absl::StatusOr<query::TagValuesResult> r =
        Values(backend_, std::string(prefix) + name, *range, {}, limits_.max_tag_values);
    if (!r.ok()) return Error(r.status());
    for (const query::TagValueCount& v : r->values) values.insert(ValueText(v.value));
  }
  std::vector<std::string> list(values.begin(), values.end());
  if (list.size() > limits_.max_tag_values) list.resize(limits_.max_tag_values);
  return Json("{\"tagValues\":" + StringArray(list) + "}");
}

HttpResponse TempoApi::TagValuesV2(const HttpRequest& request, std::string_view name_text) {
  const Params params = v1::ParseQueryString(request.query);
  absl::StatusOr<std::optional<query::TimeRange>> range =
      RangeParams(params, now_(), limits_.default_lookback_nano);
  if (!range.ok()) return Error(range.status());
  std::vector<query::Filter> filters;
  if (const std::string* q = Param(params, "q"); q != nullptr && !q->empty()) {
    // Grafana sends the query being typed, often incomplete; like Tempo, which extracts what
    // matchers it can, an unparsable query narrows nothing instead of failing autocomplete.
    absl::StatusOr<SpansetExpr> expr = ParseTraceql(*q);
    if (expr.ok()) filters = TraceqlPushdown(*expr);
  }
  const std::string name = v1::PercentDecode(name_text);
  // (type, value) pairs, sorted and unique.
  std::set<std::pair<std::string, std::string>> values;
  auto collect = [&](std::string_view key, bool keyword) -> absl::Status {
    absl::StatusOr<query::TagValuesResult> r =
        Values(backend_, key, *range, filters, limits_.max_tag_values);
    if (!r.ok()) return r.status();
    for (const query::TagValueCount& v : r->values) {
      std::string text = ValueText(v.value);
      if (keyword) {
        // Intrinsic status and kind come back as the query model's names ("Error", "Server").
        for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        values.emplace("keyword", std::move(text));
      } else {
        values.emplace(ValueTypeWord(v.value), std::move(text));
      }
    }
    return absl::OkStatus();
  };
  absl::Status status;
  std::string_view n = name;
  if (n.starts_with("resource.")) {
    status = collect(std::string(kResourcePrefix) + std::string(n.substr(9)), false);
  } else if (n.starts_with("span.")) {
    status = collect(std::string(kSpanPrefix) + std::string(n.substr(5)), false);
  } else if (n.starts_with(".") && n.size() > 1) {
    status = collect(std::string(kResourcePrefix) + std::string(n.substr(1)), false);
    if (status.ok()) status = collect(std::string(kSpanPrefix) + std::string(n.substr(1)), false);
  } else if (n == "name" || n == "span:name") {
    status = collect("span.name", false);
  } else if (n == "statusMessage" || n == "span:statusMessage") {
    status = collect("span.status.message", false);
  } else if (n == "status" || n == "span:status") {
    status = collect("span.status.code", true);
  } else if (n == "kind" || n == "span:kind") {
    status = collect("span.kind", true);
  } else {
    return Text(400, fmt::format("invalid tag name \"{}\": expected resource.x, span.x, .x, name, "
                                 "status, statusMessage or kind",
                                 name));
  }
  if (!status.ok()) return Error(status);
  std::string body = "{\"tagValues\":[";
  size_t count = 0;
  for (const auto& [type, value] : values) {
    if (count == limits_.max_tag_values) break;
    if (count++ > 0) body.push_back(',');
    body.append(fmt::format("{{\"type\":\"{}\",\"value\":", type));
    AppendJsonString(&body, value);
    body.push_back('}');
  }
  body.append("]}");
  return Json(std::move(body));
}

}  // namespace teletrace::api::tempo
