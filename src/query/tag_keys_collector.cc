#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "model/last_occurrence.h"
#include "query/engine.h"
#include "query/intrinsics.h"

namespace teletrace::query {
namespace {

std::optional<ValueType> TypeOf(const model::AnyValue& v) {
  switch (v.value.index()) {
    case 1:
      return ValueType::kStr;
    case 2:
      return ValueType::kBool;
    case 3:
      return ValueType::kInt;
    case 4:
      return ValueType::kDouble;
    case 5:
      return ValueType::kBytes;
    case 6:
      return ValueType::kSlice;
    case 7:
      return ValueType::kMap;
    default:
      return std::nullopt;  // OTLP's empty value has no type to report
  }
}

struct NameType {
  std::string name;
  ValueType type;
};

// Transparent, so looking up a (string_view, type) pair allocates nothing for keys already seen:
// most spans repeat the keys of the spans before them.
struct NameTypeLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    std::string_view an(a.name);
    std::string_view bn(b.name);
    if (an != bn) return an < bn;
    return a.type < b.type;
  }
};

struct NameTypeView {
  std::string_view name;
  ValueType type;
};

constexpr std::array<std::string_view, 5> kLevelPrefixes = {
    "resource.attributes.", "scope.attributes.", "span.attributes.", "span.events.attributes.",
    "span.links.attributes."};

}  // namespace

struct TagKeysCollector::State {
  // Attribute names and types per level, in the order of kLevelPrefixes.
  std::array<std::set<NameType, NameTypeLess>, 5> levels;
  // The resources and scopes whose attributes were added (up to kRemembered, then forgotten): a
  // block's spans share a few dozen, whose lists are then walked once. Held, so that no other
  // takes their address meanwhile.
  absl::flat_hash_map<const void*, std::shared_ptr<const void>> seen;

  // Whether `shared` (a resource or scope) was added lately; remembers it if not.
  template <typename T>
  bool Seen(const std::shared_ptr<T>& shared) {
    constexpr size_t kRemembered = 1024;
    if (seen.contains(shared.get())) return true;
    if (seen.size() == kRemembered) seen.clear();
    seen.emplace(shared.get(), shared);
    return false;
  }

  // The keys and value kinds (AnyValue's alternative) of the last few attribute lists added per
  // level: spans (and their events and links) mostly list the keys of an earlier one in the same
  // order, with values of the same types, and such a list adds nothing new.
  using ListShape = std::vector<std::pair<std::string, size_t>>;
  static constexpr size_t kRecentLists = 4;
  std::array<std::array<ListShape, kRecentLists>, 5> recent_lists;
  std::array<size_t, 5> next_list{};  // which of a level's recent lists to replace next

  static bool SameShape(const model::KeyValueList& attributes, const ListShape& shape) {
    return attributes.size() == shape.size() &&
           std::equal(attributes.begin(), attributes.end(), shape.begin(),
                      [](const model::KeyValue& a, const std::pair<std::string, size_t>& b) {
                        return a.value.value.index() == b.second && a.key == b.first;
                      });
  }

  // AddAll, unless `attributes` has the shape of one of the level's recent lists.
  void AddList(size_t level, const model::KeyValueList& attributes) {
    if (attributes.empty()) return;
    auto& recent = recent_lists[level];
    for (const ListShape& shape : recent) {
      if (SameShape(attributes, shape)) return;
    }
    AddAll(level, attributes);
    ListShape& shape = recent[next_list[level]];
    next_list[level] = (next_list[level] + 1) % kRecentLists;
    shape.clear();
    for (const model::KeyValue& kv : attributes) shape.emplace_back(kv.key, kv.value.value.index());
  }

  // A key repeated in one list reports only the type of its last occurrence, the value every
  // other layer sees.
  void AddAll(size_t level, const model::KeyValueList& attributes) {
    model::ForEachLastOccurrence(attributes, [&](const model::KeyValue& kv) {
      std::optional<ValueType> type = TypeOf(kv.value);
      if (!type.has_value()) return;
      auto& set = levels[level];
      if (set.find(NameTypeView{kv.key, *type}) == set.end()) set.insert(NameType{kv.key, *type});
    });
  }
};

TagKeysCollector::TagKeysCollector() : state_(std::make_shared<State>()) {}

void TagKeysCollector::Add(const model::StoredSpan& span) {
  State& st = *state_;
  if (span.resource != nullptr && !st.Seen(span.resource)) {
    st.AddAll(0, span.resource->attributes);
  }
  if (span.scope != nullptr && !st.Seen(span.scope)) st.AddAll(1, span.scope->attributes);
  st.AddList(2, span.span.attributes);
  for (const model::Event& e : span.span.events) st.AddList(3, e.attributes);
  for (const model::Link& l : span.span.links) st.AddList(4, l.attributes);
}

void TagKeysCollector::Merge(TagKeysCollector&& part) {
  for (size_t level = 0; level < kLevelPrefixes.size(); ++level) {
    state_->levels[level].merge(part.state_->levels[level]);
  }
}

std::vector<TagInfo> TagKeysCollector::Finish() && {
  State& st = *state_;
  std::vector<TagInfo> out;
  for (const IntrinsicInfo& info : kIntrinsics) {
    out.push_back(TagInfo{std::string(info.name),
                          info.type == IntrinsicType::kNumber ? ValueType::kInt : ValueType::kStr});
  }
  for (size_t level = 0; level < kLevelPrefixes.size(); ++level) {
    for (const NameType& nt : st.levels[level]) {
      out.push_back(TagInfo{std::string(kLevelPrefixes[level]) + nt.name, nt.type});
    }
  }
  std::sort(out.begin(), out.end(), [](const TagInfo& a, const TagInfo& b) {
    if (a.name != b.name) return a.name < b.name;
    return a.type < b.type;
  });
  return out;
}

}  // namespace teletrace::query
