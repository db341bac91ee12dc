#include "storage/elasticsearch/search_response.h"

#include "absl/strings/escaping.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "storage/elasticsearch/search_http.h"
#include "storage/span_block_codec.h"

namespace teletrace::storage::elasticsearch {
namespace {

using json = nlohmann::json;

// A _bulk item's error as "type: reason".
std::string ItemReason(const json& result) {
  const json* error = Member(result, "error");
  if (error == nullptr) return "no reason given";
  return ErrorText(json{{"error", *error}}.dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace

const json* Member(const json& j, std::string_view name) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(name);
  return it == j.end() ? nullptr : &*it;
}

std::string StringMember(const json& j, std::string_view name) {
  const json* m = Member(j, name);
  return m != nullptr && m->is_string() ? m->get_ref<const std::string&>() : std::string();
}

absl::Status CheckBulkAnswer(const json& answer, size_t sent, std::string_view what) {
  const json* errors = Member(answer, "errors");
  if (errors == nullptr || !errors->is_boolean()) {
    return absl::InternalError(
        fmt::format("elasticsearch: {}: the answer has no \"errors\" flag", what));
  }
  if (!errors->get<bool>()) return absl::OkStatus();
  // Some items failed: each must be accounted for, or an item missing from the list would count
  // as stored.
  const json* items = Member(answer, "items");
  if (items == nullptr || !items->is_array() || items->size() != sent) {
    return absl::InternalError(fmt::format(
        "elasticsearch: {}: the answer lists {} items for {} documents", what,
        items != nullptr && items->is_array() ? items->size() : 0, sent));
  }
  size_t retryable = 0, failed = 0;
  std::string first_reason;
  for (const json& item : *items) {
    const json* result = item.is_object() && item.size() == 1 ? &item.begin().value() : nullptr;
    const json* status = result != nullptr ? Member(*result, "status") : nullptr;
    const int64_t code =
        status != nullptr && status->is_number_integer() ? status->get<int64_t>() : 0;
    if ((code >= 200 && code < 300) || code == 409) continue;  // 409: already stored
    (code == 429 || code >= 500 ? retryable : failed)++;
    if (first_reason.empty()) {
      first_reason = result == nullptr ? "a malformed item"
                                       : fmt::format("HTTP {}: {}", code, ItemReason(*result));
    }
  }
  if (retryable == 0 && failed == 0) return absl::OkStatus();
  std::string text = fmt::format("elasticsearch: {}: {} spans refused ({} retryable), first: {}",
                                 what, retryable + failed, retryable, first_reason);
  return failed == 0 ? absl::UnavailableError(text) : absl::InternalError(text);
}

absl::StatusOr<SearchPage> ReadSearchPage(const json& answer) {
  SearchPage page;
  const json* hits = Member(answer, "hits");
  const json* list = hits != nullptr ? Member(*hits, "hits") : nullptr;
  if (list == nullptr || !list->is_array()) return page;  // filter_path drops an empty list
  std::string raw;
  for (const json& hit : *list) {
    const json* source = Member(hit, "_source");
    if (!absl::Base64Unescape(source != nullptr ? StringMember(*source, "span") : "", &raw)) {
      return absl::DataLossError("elasticsearch: a stored span is not valid base64");
    }
    ASSIGN_OR_RETURN(std::vector<model::StoredSpan> decoded, DecodeSpanBlock(raw));
    if (decoded.size() != 1) {
      return absl::DataLossError(fmt::format(
          "elasticsearch: a stored span document holds {} spans, expected 1", decoded.size()));
    }
    page.spans.push_back(std::move(decoded[0]));
  }
  if (!list->empty()) {
    const json* sort = Member(list->back(), "sort");
    if (sort == nullptr || !sort->is_array() || sort->empty()) {
      return absl::InternalError("elasticsearch: search hits came without sort values");
    }
    page.last_sort = *sort;
  }
  return page;
}

}  // namespace teletrace::storage::elasticsearch
