#include "storage/elasticsearch/search_response.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace teletrace::storage::elasticsearch {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json Item(int status, std::string type = "") {
  json result = {{"status", status}};
  if (!type.empty()) result["error"] = {{"type", type}, {"reason", "because"}};
  return {{"create", result}};
}

TEST(SearchResponseTest, BulkAnswerAcceptsStoredAndAlreadyStoredOnly) {
  EXPECT_TRUE(CheckBulkAnswer(json{{"errors", false}}, 3, "w").ok());
  EXPECT_TRUE(CheckBulkAnswer(json{{"errors", true},
                                   {"items", {Item(201), Item(409, "version_conflict")}}},
                              2, "w")
                  .ok());
  absl::Status busy = CheckBulkAnswer(
      json{{"errors", true}, {"items", {Item(201), Item(429, "es_rejected_execution_exception")}}},
      2, "w");
  EXPECT_EQ(busy.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(busy.message(),
              HasSubstr("1 spans refused (1 retryable), first: HTTP 429: "
                        "es_rejected_execution_exception: because"));
  absl::Status bad = CheckBulkAnswer(
      json{{"errors", true}, {"items", {Item(429, "busy"), Item(400, "mapper_parsing_exception")}}},
      2, "w");
  EXPECT_EQ(bad.code(), absl::StatusCode::kInternal);
  // Items missing from the list must not count as stored.
  absl::Status short_list =
      CheckBulkAnswer(json{{"errors", true}, {"items", {Item(400, "x")}}}, 2, "w");
  EXPECT_THAT(short_list.message(), HasSubstr("lists 1 items for 2 documents"));
  EXPECT_EQ(CheckBulkAnswer(json::array(), 1, "w").code(), absl::StatusCode::kInternal);
}

TEST(SearchResponseTest, SearchPageRefusesUndecodableSpansAndMissingSortValues) {
  absl::StatusOr<SearchPage> empty = ReadSearchPage(json::object());
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->spans.empty());
  EXPECT_TRUE(empty->last_sort.is_null());
  json not_base64 = {{"hits", {{"hits", {{{"_source", {{"span", "%%%"}}}, {"sort", {1}}}}}}}};
  EXPECT_EQ(ReadSearchPage(not_base64).status().code(), absl::StatusCode::kDataLoss);
  json not_a_block = {{"hits", {{"hits", {{{"_source", {{"span", "AAAA"}}}, {"sort", {1}}}}}}}};
  EXPECT_EQ(ReadSearchPage(not_a_block).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace teletrace::storage::elasticsearch
