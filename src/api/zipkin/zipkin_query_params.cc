#include "api/zipkin/zipkin_query_params.h"

#include <charconv>
#include <limits>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace teletrace::api::zipkin {
namespace {

const std::string* Find(const QueryParams& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::string Get(const QueryParams& params, std::string_view name) {
  const std::string* v = Find(params, name);
  return v != nullptr ? *v : std::string();
}

// A positive decimal integer, or nullopt when absent or empty. `scale` converts it to ns.
absl::StatusOr<std::optional<uint64_t>> Positive(const QueryParams& params, std::string_view name,
                                                 uint64_t scale, std::string_view unit) {
  const std::string* text = Find(params, name);
  if (text == nullptr || text->empty()) return std::optional<uint64_t>();
  int64_t v = 0;
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (error != std::errc() || end != text->data() + text->size()) {
    return absl::InvalidArgumentError(
        fmt::format("{} should be an integer ({}): \"{}\"", name, unit, *text));
  }
  if (v <= 0) return absl::InvalidArgumentError(fmt::format("{} should be positive: {}", name, v));
  if (static_cast<uint64_t>(v) > std::numeric_limits<uint64_t>::max() / scale) {
    return absl::InvalidArgumentError(fmt::format("{} is out of range: {}", name, v));
  }
  return std::optional<uint64_t>(static_cast<uint64_t>(v) * scale);
}

constexpr uint64_t kMicros = 1'000;
constexpr uint64_t kMillis = 1'000'000;

}  // namespace

absl::StatusOr<std::vector<AnnotationTerm>> ParseAnnotationQuery(std::string_view text) {
  std::vector<AnnotationTerm> terms;
  constexpr std::string_view kAnd = " and ";
  while (true) {
    size_t at = text.find(kAnd);
    std::string_view term = text.substr(0, at);
    while (!term.empty() && term.front() == ' ') term.remove_prefix(1);
    while (!term.empty() && term.back() == ' ') term.remove_suffix(1);
    if (!term.empty()) {
      size_t eq = term.find('=');
      if (eq == 0) {
        return absl::InvalidArgumentError(
            fmt::format("annotationQuery: term \"{}\" has no key", term));
      }
      if (eq == std::string_view::npos) {
        terms.push_back({std::string(term), std::nullopt});
      } else {
        terms.push_back({std::string(term.substr(0, eq)), std::string(term.substr(eq + 1))});
      }
    }
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + kAnd.size());
  }
  return terms;
}

absl::StatusOr<TraceId> ParseZipkinTraceId(std::string_view text) {
  if (text.size() != 16 && text.size() != 32) {
    return absl::InvalidArgumentError(
        fmt::format("traceId should be 16 or 32 hex characters: \"{}\"", text));
  }
  std::string padded = text.size() == 16 ? std::string(16, '0') + std::string(text)
                                         : std::string(text);
  absl::StatusOr<TraceId> id = ParseTraceIdHex(padded);
  if (!id.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("traceId should be 16 or 32 hex characters: \"{}\"", text));
  }
  return id;
}

absl::StatusOr<TraceSearchParams> ParseTraceSearchParams(const QueryParams& params,
                                                         uint64_t now_unix_nano,
                                                         size_t max_limit) {
  TraceSearchParams p;
  p.service_name = Get(params, "serviceName");
  p.span_name = Get(params, "spanName");
  if (p.span_name == "all") p.span_name.clear();
  p.remote_service_name = Get(params, "remoteServiceName");
  absl::StatusOr<std::vector<AnnotationTerm>> terms =
      ParseAnnotationQuery(Get(params, "annotationQuery"));
  if (!terms.ok()) return terms.status();
  p.annotation_query = *std::move(terms);

  absl::StatusOr<std::optional<uint64_t>> min = Positive(params, "minDuration", kMicros, "µs");
  if (!min.ok()) return min.status();
  absl::StatusOr<std::optional<uint64_t>> max = Positive(params, "maxDuration", kMicros, "µs");
  if (!max.ok()) return max.status();
  if (max->has_value()) {
    if (!min->has_value()) {
      return absl::InvalidArgumentError("maxDuration is only valid with minDuration");
    }
    if (**max < **min) return absl::InvalidArgumentError("maxDuration should be >= minDuration");
  }
  p.min_duration_nano = min->value_or(0);
  p.max_duration_nano = *max;

  absl::StatusOr<std::optional<uint64_t>> end = Positive(params, "endTs", kMillis, "ms");
  if (!end.ok()) return end.status();
  absl::StatusOr<std::optional<uint64_t>> lookback = Positive(params, "lookback", kMillis, "ms");
  if (!lookback.ok()) return lookback.status();
  p.end_unix_nano = end->value_or(now_unix_nano);
  uint64_t back = lookback->value_or(kDefaultLookbackNano);
  p.start_unix_nano = p.end_unix_nano > back ? p.end_unix_nano - back : 0;

  absl::StatusOr<std::optional<uint64_t>> limit = Positive(params, "limit", 1, "traces");
  if (!limit.ok()) return limit.status();
  p.limit = static_cast<size_t>(std::min<uint64_t>(limit->value_or(kDefaultTraceLimit), max_limit));
  return p;
}

absl::StatusOr<DependencyParams> ParseDependencyParams(const QueryParams& params) {
  absl::StatusOr<std::optional<uint64_t>> end = Positive(params, "endTs", kMillis, "ms");
  if (!end.ok()) return end.status();
  if (!end->has_value()) return absl::InvalidArgumentError("endTs is required");
  absl::StatusOr<std::optional<uint64_t>> lookback = Positive(params, "lookback", kMillis, "ms");
  if (!lookback.ok()) return lookback.status();
  DependencyParams p;
  p.end_unix_nano = **end;
  uint64_t back = lookback->value_or(kDefaultLookbackNano);
  p.start_unix_nano = p.end_unix_nano > back ? p.end_unix_nano - back : 0;
  return p;
}

}  // namespace teletrace::api::zipkin
