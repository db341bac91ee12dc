#include "api/teletrace_v1/key_resolver.h"

#include <algorithm>
#include <utility>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "query/parse.h"

namespace teletrace::api::v1 {
namespace {

using nlohmann::json;

// Short names of the intrinsics people search by most.
constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
    {"service", "resource.attributes.service.name"},
    {"name", "span.name"},
    {"duration", "externalFields.durationNano"},
    {"status", "span.status.code"},
    {"kind", "span.kind"},
};

// The levels a bare attribute name may live at, most specific first.
constexpr std::string_view kLevels[] = {"span.attributes.", "resource.attributes.",
                                        "scope.attributes.", "span.events.attributes.",
                                        "span.links.attributes."};

constexpr size_t kMaxSuggestions = 3;
constexpr size_t kSuggestDistance = 2;

std::string_view AttributeName(std::string_view key) {
  for (std::string_view level : kLevels) {
    if (key.substr(0, level.size()) == level) return key.substr(level.size());
  }
  return key;
}

}  // namespace

size_t BoundedEditDistance(std::string_view a, std::string_view b, size_t limit) {
  if (a.size() > b.size()) std::swap(a, b);
  if (b.size() - a.size() > limit) return limit + 1;
  // Row by row, only the cells within `limit` of the diagonal (O(len * limit) in all); the others
  // count as limit + 1.
  const size_t inf = limit + 1;
  std::vector<size_t> prev(b.size() + 1, inf), cur(b.size() + 1, inf);
  for (size_t j = 0; j <= std::min(b.size(), limit); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    const size_t lo = i > limit ? i - limit : 1;
    const size_t hi = std::min(b.size(), i + limit);
    // The cell left of the band: column 0, or outside the band (a stale value of an older row
    // otherwise). Cells right of the band were never written and hold inf.
    cur[lo - 1] = lo == 1 ? (i <= limit ? i : inf) : inf;
    size_t best = cur[lo - 1];
    for (size_t j = lo; j <= hi; ++j) {
      const size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({sub, prev[j] + 1, cur[j - 1] + 1, inf});
      best = std::min(best, cur[j]);
    }
    if (best > limit) return inf;
    std::swap(prev, cur);
  }
  return std::min(prev[b.size()], inf);
}

KeyResolver::KeyResolver(std::function<absl::StatusOr<std::vector<query::TagInfo>>()> load_keys)
    : load_keys_(std::move(load_keys)) {}

absl::StatusOr<const std::vector<query::TagInfo>*> KeyResolver::Keys() {
  if (!keys_.has_value()) {
    absl::StatusOr<std::vector<query::TagInfo>> loaded = load_keys_();
    if (!loaded.ok()) return loaded.status();
    keys_ = std::move(*loaded);
  }
  return &*keys_;
}

absl::StatusOr<std::string> KeyResolver::Resolve(std::string_view text, std::string_view field) {
  if (query::ParseKey(text, field).ok()) return std::string(text);
  for (const auto& [alias, full] : kAliases) {
    if (text == alias) return std::string(full);
  }
  absl::StatusOr<const std::vector<query::TagInfo>*> keys = Keys();
  if (!keys.ok()) return keys.status();
  std::vector<std::string> found;
  for (std::string_view level : kLevels) {
    const std::string full = std::string(level) + std::string(text);
    for (const query::TagInfo& k : **keys) {
      if (k.name == full) {
        found.push_back(full);
        break;
      }
    }
  }
  if (found.size() == 1) return found.front();
  if (found.size() > 1) {
    return absl::InvalidArgumentError(
        fmt::format("{}: \"{}\" is an attribute at several levels ({}); use the full key", field,
                    text, fmt::join(found, ", ")));
  }
  // Unknown: the stored keys nearest to what was typed, as a whole or as an attribute name.
  std::vector<std::pair<size_t, std::string_view>> near;
  for (const query::TagInfo& k : **keys) {
    const size_t d = std::min(BoundedEditDistance(text, k.name, kSuggestDistance),
                              BoundedEditDistance(text, AttributeName(k.name), kSuggestDistance));
    if (d <= kSuggestDistance) near.emplace_back(d, k.name);
  }
  std::sort(near.begin(), near.end());
  std::string message = fmt::format(
      "{}: unknown key \"{}\": neither a full key (span.name, span.attributes.<name>, "
      "resource.attributes.<name>, ...) nor an attribute of the stored spans",
      field, text);
  if (!near.empty()) {
    std::vector<std::string_view> names;
    for (size_t i = 0; i < near.size() && i < kMaxSuggestions; ++i) names.push_back(near[i].second);
    message += fmt::format("; did you mean {}?", fmt::join(names, " or "));
  }
  return absl::InvalidArgumentError(message);
}

absl::Status KeyResolver::ResolveBody(json* body) {
  auto rewrite = [this](json& holder, const char* member, const std::string& field) {
    auto it = holder.find(member);
    if (it == holder.end() || !it->is_string()) return absl::OkStatus();
    absl::StatusOr<std::string> full = Resolve(it->get_ref<const std::string&>(), field);
    if (!full.ok()) return full.status();
    *it = *std::move(full);
    return absl::OkStatus();
  };
  auto filters = body->find("filters");
  if (filters != body->end() && filters->is_array()) {
    for (size_t i = 0; i < filters->size(); ++i) {
      json& f = (*filters)[i];
      if (!f.is_object()) continue;
      auto kv = f.find("keyValueFilter");
      if (kv == f.end() || !kv->is_object()) continue;
      absl::Status st = rewrite(*kv, "key", fmt::format("filters[{}].key", i));
      if (!st.ok()) return st;
    }
  }
  auto aggs = body->find("aggregations");
  if (aggs != body->end() && aggs->is_object()) {
    for (auto& [label, spec] : aggs->items()) {
      if (!spec.is_object()) continue;
      for (const char* member : {"key", "groupBy"}) {
        absl::Status st = rewrite(spec, member, fmt::format("aggregations.{}.{}", label, member));
        if (!st.ok()) return st;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace teletrace::api::v1
