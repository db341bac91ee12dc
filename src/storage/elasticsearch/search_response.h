// Reading the engine's answers. They are untrusted bytes (a proxy, a misbehaving or newer node):
// parsed without exceptions, every member checked for presence and type, a malformed answer an
// error status, never a crash. Pure; thread safe. Fuzzed by search_response_fuzzer.cc.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/span.h"
#include "nlohmann/json.hpp"

namespace teletrace::storage::elasticsearch {

// The member `name` of an object, or null (also when `j` is not an object).
const nlohmann::json* Member(const nlohmann::json& j, std::string_view name);
// The string member `name`, or "" when absent or not a string.
std::string StringMember(const nlohmann::json& j, std::string_view name);

// A `_bulk` answer for `sent` documents of `create` actions: OK when every item was stored or was
// already there (409: the first copy wins); Unavailable when only retryable refusals (429, 5xx)
// happened; Internal naming the first reason otherwise, or when the answer is malformed (no
// `errors` flag, or an item list that does not account for every document).
absl::Status CheckBulkAnswer(const nlohmann::json& answer, size_t sent, std::string_view what);

// One page of a span search (hits.hits[]._source.span, base64 of a one-span block, and
// hits.hits[].sort).
struct SearchPage {
  std::vector<model::StoredSpan> spans;
  nlohmann::json last_sort;  // the last hit's sort values (for search_after); null without hits
};

// DataLoss when a stored span does not decode (not base64, not a one-span block); Internal when
// the answer is malformed (hits without sort values).
absl::StatusOr<SearchPage> ReadSearchPage(const nlohmann::json& answer);

}  // namespace teletrace::storage::elasticsearch
