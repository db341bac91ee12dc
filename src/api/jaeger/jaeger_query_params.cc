#include "api/jaeger/jaeger_query_params.h"

#include <algorithm>
#include <limits>
#include <map>

#include "absl/strings/numbers.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace teletrace::api::jaeger {
namespace {

absl::Status Invalid(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

// Go's units, longest first so "ms" is not read as "m".
struct Unit {
  std::string_view name;
  uint64_t nanos;
};
constexpr Unit kUnits[] = {
    {"ns", 1},          {"us", 1'000},         {"\xC2\xB5s", 1'000}, {"\xCE\xBCs", 1'000},
    {"ms", 1'000'000},  {"s", 1'000'000'000},  {"m", 60'000'000'000}, {"h", 3'600'000'000'000},
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// logfmt: key=value pairs separated by spaces; a value may be "double quoted" with \" and \\.
absl::Status ParseLogfmt(std::string_view text, std::map<std::string, std::string>* out) {
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    if (i == text.size()) break;
    const size_t key_start = i;
    while (i < text.size() && text[i] != '=' && text[i] != ' ') ++i;
    std::string key(text.substr(key_start, i - key_start));
    if (i == text.size() || text[i] != '=') {
      return Invalid(fmt::format("malformed 'tags' parameter: expected key=value, got \"{}\"", key));
    }
    ++i;  // '='
    std::string value;
    if (i < text.size() && text[i] == '"') {
      ++i;
      bool closed = false;
      while (i < text.size()) {
        char c = text[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\' && i < text.size()) c = text[i++];
        value.push_back(c);
      }
      if (!closed) {
        return Invalid(fmt::format("malformed 'tags' parameter: unterminated quote in the value of \"{}\"", key));
      }
    } else {
      const size_t value_start = i;
      while (i < text.size() && text[i] != ' ') ++i;
      value = std::string(text.substr(value_start, i - value_start));
    }
    (*out)[std::move(key)] = std::move(value);
  }
  return absl::OkStatus();
}

absl::Status ParseJsonTags(std::string_view text, std::map<std::string, std::string>* out) {
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr,
                                           /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Invalid("malformed 'tags' parameter: expected a JSON object of strings");
  }
  for (auto& [key, value] : j.items()) {
    if (!value.is_string()) {
      return Invalid(fmt::format("malformed 'tags' parameter: the value of \"{}\" is not a string",
                                 key));
    }
    (*out)[key] = value.get_ref<const std::string&>();
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ParseMicros(std::string_view param, const std::string& value) {
  int64_t micros = 0;
  if (!absl::SimpleAtoi(value, &micros) || micros < 0) {
    return Invalid(fmt::format("unable to parse param '{}': expected microseconds since the epoch, "
                               "got \"{}\"",
                               param, value));
  }
  if (static_cast<uint64_t>(micros) > std::numeric_limits<uint64_t>::max() / 1000) {
    return Invalid(fmt::format("unable to parse param '{}': {} is out of range", param, value));
  }
  return static_cast<uint64_t>(micros) * 1000;
}

}  // namespace

absl::StatusOr<uint64_t> ParseGoDuration(std::string_view text, std::string_view param) {
  auto bad = [&](std::string_view why) {
    return Invalid(fmt::format("unable to parse param '{}': {} in duration \"{}\"", param, why,
                               text));
  };
  std::string_view s = text;
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (!s.empty() && s[0] == '-') return bad("negative value");
  if (s == "0") return 0;
  if (s.empty()) return bad("no value");
  // Whole nanoseconds, accumulated in long double only for the fraction; the integer part is exact.
  uint64_t total = 0;
  constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();  // Go's limit
  while (!s.empty()) {
    uint64_t whole = 0;
    size_t i = 0;
    bool overflow = false;
    while (i < s.size() && IsDigit(s[i])) {
      const uint64_t digit = static_cast<uint64_t>(s[i] - '0');
      if (whole > (kMax - digit) / 10) overflow = true;
      if (!overflow) whole = whole * 10 + digit;
      ++i;
    }
    const size_t whole_digits = i;
    uint64_t frac = 0, frac_scale = 1;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && IsDigit(s[i])) {
        if (frac_scale <= 1'000'000'000'000'000ull) {  // more digits cannot matter at ns precision
          frac = frac * 10 + static_cast<uint64_t>(s[i] - '0');
          frac_scale *= 10;
        }
        ++i;
      }
      if (whole_digits == 0 && frac_scale == 1) return bad("no digits");
    } else if (whole_digits == 0) {
      return bad("expected a number");
    }
    if (overflow) return bad("value out of range");
    s.remove_prefix(i);
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (s.substr(0, u.name.size()) == u.name &&
          (unit == nullptr || u.name.size() > unit->name.size())) {
        unit = &u;
      }
    }
    if (unit == nullptr) return bad("missing or unknown unit (use ns, us, ms, s, m or h)");
    s.remove_prefix(unit->name.size());
    if (whole > kMax / unit->nanos) return bad("value out of range");
    uint64_t part = whole * unit->nanos;
    // frac / frac_scale of a unit, rounded down to whole nanoseconds, without overflow: the unit is
    // at most 3.6e12 ns and frac_scale at most 1e19, so split the division.
    part += static_cast<uint64_t>(static_cast<long double>(frac) * unit->nanos / frac_scale);
    if (part > kMax - total) return bad("value out of range");
    total += part;
  }
  return total;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseTags(
    const std::vector<std::string>& tag_params, const std::vector<std::string>& tags_params) {
  std::map<std::string, std::string> tags;
  for (const std::string& tag : tag_params) {
    const size_t colon = tag.find(':');
    if (colon == std::string::npos) {
      return Invalid(fmt::format(
          "malformed 'tag' parameter, expecting key:value, received: {}", tag));
    }
    tags[tag.substr(0, colon)] = tag.substr(colon + 1);
  }
  for (const std::string& text : tags_params) {
    size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) continue;
    if (text[first] == '{') {
      if (absl::Status s = ParseJsonTags(text, &tags); !s.ok()) return s;
    } else if (absl::Status s = ParseLogfmt(text, &tags); !s.ok()) {
      return s;
    }
  }
  return std::vector<std::pair<std::string, std::string>>(tags.begin(), tags.end());
}

absl::StatusOr<TraceId> ParseJaegerTraceId(std::string_view text) {
  if (text.empty() || text.size() > 32) {
    return Invalid(fmt::format("malformed trace id \"{}\": expected 1 to 32 hex digits",
                               text.substr(0, 64)));
  }
  std::string padded(32 - text.size(), '0');
  padded.append(text);
  absl::StatusOr<TraceId> id = ParseTraceIdHex(padded);
  if (!id.ok()) {
    return Invalid(fmt::format("malformed trace id \"{}\": expected 1 to 32 hex digits", text));
  }
  return id;
}

std::string JaegerTraceIdHex(const TraceId& id) {
  std::string hex = ToHex(id);
  if (hex.compare(0, 16, "0000000000000000") == 0) hex.erase(0, 16);
  return hex;
}

absl::StatusOr<TraceSearchParams> ParseTraceSearchParams(
    const std::vector<std::pair<std::string, std::string>>& params, uint64_t now_unix_nano,
    size_t max_limit) {
  TraceSearchParams out;
  std::vector<std::string> tag_params, tags_params;
  std::optional<std::string> start, end, limit, min_duration, max_duration;
  for (const auto& [key, value] : params) {
    if (key == "service") {
      out.service = value;
    } else if (key == "operation") {
      out.operation = value;
    } else if (key == "tag") {
      tag_params.push_back(value);
    } else if (key == "tags") {
      tags_params.push_back(value);
    } else if (key == "start") {
      start = value;
    } else if (key == "end") {
      end = value;
    } else if (key == "limit") {
      limit = value;
    } else if (key == "minDuration") {
      min_duration = value;
    } else if (key == "maxDuration") {
      max_duration = value;
    } else if (key == "traceID") {
      absl::StatusOr<TraceId> id = ParseJaegerTraceId(value);
      if (!id.ok()) return id.status();
      out.trace_ids.push_back(*id);
    }
    // Others (lookback, prettyPrint, spanKind, ...) are accepted and ignored, as Jaeger does.
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> tags =
      ParseTags(tag_params, tags_params);
  if (!tags.ok()) return tags.status();
  out.tags = std::move(*tags);

  out.end_unix_nano = now_unix_nano;
  if (end.has_value() && !end->empty()) {
    absl::StatusOr<uint64_t> v = ParseMicros("end", *end);
    if (!v.ok()) return v.status();
    out.end_unix_nano = *v;
  }
  out.start_unix_nano = out.end_unix_nano > kDefaultTraceLookbackNano
                            ? out.end_unix_nano - kDefaultTraceLookbackNano
                            : 0;
  if (start.has_value() && !start->empty()) {
    absl::StatusOr<uint64_t> v = ParseMicros("start", *start);
    if (!v.ok()) return v.status();
    out.start_unix_nano = *v;
  }
  if (out.start_unix_nano > out.end_unix_nano) {
    return Invalid("'start' must not be after 'end'");
  }

  out.limit = kDefaultTraceLimit;
  if (limit.has_value() && !limit->empty()) {
    int64_t v = 0;
    if (!absl::SimpleAtoi(*limit, &v) || v < 0 || v > std::numeric_limits<int32_t>::max()) {
      return Invalid(fmt::format("unable to parse param 'limit': expected a non-negative integer, "
                                 "got \"{}\"",
                                 *limit));
    }
    if (v > 0) out.limit = static_cast<size_t>(v);
  }
  out.limit = std::min(out.limit, max_limit);

  if (min_duration.has_value() && !min_duration->empty()) {
    absl::StatusOr<uint64_t> v = ParseGoDuration(*min_duration, "minDuration");
    if (!v.ok()) return v.status();
    out.min_duration_nano = *v;
  }
  if (max_duration.has_value() && !max_duration->empty()) {
    absl::StatusOr<uint64_t> v = ParseGoDuration(*max_duration, "maxDuration");
    if (!v.ok()) return v.status();
    out.max_duration_nano = *v;
  }
  if (out.max_duration_nano.has_value() && out.min_duration_nano != 0 &&
      *out.max_duration_nano < out.min_duration_nano) {
    return Invalid("'maxDuration' should be greater than 'minDuration'");
  }
  if (out.trace_ids.empty() && out.service.empty()) {
    return Invalid("parameter 'service' is required");
  }
  return out;
}

}  // namespace teletrace::api::jaeger
