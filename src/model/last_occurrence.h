// Which attributes of a list count: a key repeated in one list has one value, its last occurrence
// (what FindAttribute returns). Every layer that walks a whole list (value counts, the API's JSON,
// ClickHouse rows, tag keys) skips the shadowed entries through this one helper, in time linear in
// the list, where a FindAttribute per entry would be quadratic in it.
//
//   model::ForEachLastOccurrence(span.attributes, [&](const model::KeyValue& kv) { ... });
#pragma once

#include <string_view>
#include <unordered_set>
#include <vector>

#include "model/span.h"

namespace teletrace::model {

// Lists up to this long are checked pairwise: at most 120 comparisons and no allocation, cheaper
// than a hash set for the few attributes of a typical span.
inline constexpr size_t kPairwiseLastOccurrenceMax = 16;

// Calls `fn(const KeyValue&)` for each entry of `attributes` that is the last occurrence of its
// key, in list order. O(n) expected time for any n; `attributes` must not change during the call.
template <typename Fn>
void ForEachLastOccurrence(const KeyValueList& attributes, Fn&& fn) {
  const size_t n = attributes.size();
  if (n <= kPairwiseLastOccurrenceMax) {
    for (size_t i = 0; i < n; ++i) {
      bool shadowed = false;
      for (size_t j = i + 1; j < n && !shadowed; ++j) {
        shadowed = attributes[j].key == attributes[i].key;
      }
      if (!shadowed) fn(attributes[i]);
    }
    return;
  }
  // Walking backwards, an entry is the last occurrence exactly when its key is new.
  std::vector<bool> last(n, false);
  std::unordered_set<std::string_view> seen;
  seen.reserve(n);
  for (size_t i = n; i-- > 0;) last[i] = seen.insert(attributes[i].key).second;
  for (size_t i = 0; i < n; ++i) {
    if (last[i]) fn(attributes[i]);
  }
}

}  // namespace teletrace::model
