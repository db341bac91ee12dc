// Keys as people type them. The v1 API's keys are full paths ("span.attributes.user.id"); a
// request may also name an attribute bare ("user.id") or an intrinsic by its short name
// ("service", "name", "duration", "status", "kind"). Before a request is parsed, every such key is
// rewritten to the full key: a bare attribute name to the one level whose stored spans hold it.
// A key that cannot be resolved is a 400 that says why and suggests the nearest stored keys.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "query/query.h"

namespace teletrace::api::v1 {

class KeyResolver {
 public:
  // `load_keys` lists the stored keys (the tag key listing for the request's time range); it is
  // called at most once, and only when a key is neither a full key nor a short intrinsic name.
  explicit KeyResolver(std::function<absl::StatusOr<std::vector<query::TagInfo>>()> load_keys);

  // The full key `text` stands for. `field` names it in errors ("filters[0].key").
  absl::StatusOr<std::string> Resolve(std::string_view text, std::string_view field);

  // Rewrites, in place, the keys of a v1 request body: filters[*].keyValueFilter.key and, for
  // histograms, aggregations.*.key and .groupBy. Values of the wrong JSON type are left for the
  // request parser to refuse.
  absl::Status ResolveBody(nlohmann::json* body);

 private:
  absl::StatusOr<const std::vector<query::TagInfo>*> Keys();

  std::function<absl::StatusOr<std::vector<query::TagInfo>>()> load_keys_;
  std::optional<std::vector<query::TagInfo>> keys_;
};

// Edit distance between `a` and `b` when it is at most `limit`, else limit + 1 (without computing
// more than the band around the diagonal: O(len * limit)).
size_t BoundedEditDistance(std::string_view a, std::string_view b, size_t limit);

}  // namespace teletrace::api::v1
