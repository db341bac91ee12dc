// Fuzzes the readers of the engine's answers (search_response.h, ErrorText in search_http.h): any
// bytes, as JSON or not, give a status of the documented codes, never a crash, and a search page
// that reads has sort values exactly when it has spans.
//
// Input: byte 0 is the number of documents the bulk answer is checked against; the rest is the
// answer body.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "nlohmann/json.hpp"
#include "storage/elasticsearch/search_http.h"
#include "storage/elasticsearch/search_response.h"

namespace {

using teletrace::storage::elasticsearch::CheckBulkAnswer;
using teletrace::storage::elasticsearch::ErrorText;
using teletrace::storage::elasticsearch::ReadSearchPage;

[[noreturn]] void Fail() { std::abort(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t sent = static_cast<uint8_t>(input[0]);
  std::string_view body = input.substr(1);
  if (ErrorText(body).empty()) Fail();
  nlohmann::json answer = nlohmann::json::parse(body.begin(), body.end(), nullptr,
                                                /*allow_exceptions=*/false);
  if (answer.is_discarded()) return 0;
  absl::Status bulk = CheckBulkAnswer(answer, sent, "fuzz");
  if (!bulk.ok() && !absl::IsUnavailable(bulk) && !absl::IsInternal(bulk)) Fail();
  auto page = ReadSearchPage(answer);
  if (page.ok()) {
    if (page->spans.empty() != page->last_sort.is_null()) Fail();
  } else if (!absl::IsDataLoss(page.status()) && !absl::IsInternal(page.status())) {
    Fail();
  }
  return 0;
}
