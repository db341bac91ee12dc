// Feeds arbitrary bytes to the block operation counts parser: it must return DataLoss, or counts
// with strictly ascending ids and no zero count, which encode back to exactly the input (the format
// has one form per value).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "storage/sqlite/operations_catalog.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto counts = teletrace::storage::sqlite::ParseOperationCounts(input);
  if (!counts.ok()) {
    if (counts.status().code() != absl::StatusCode::kDataLoss) std::abort();
    return 0;
  }
  for (size_t i = 0; i < counts->size(); ++i) {
    if ((*counts)[i].second == 0 || (*counts)[i].first < 0) std::abort();
    if (i > 0 && (*counts)[i].first <= (*counts)[i - 1].first) std::abort();
  }
  if (teletrace::storage::sqlite::EncodeOperationCounts(*counts) != input) std::abort();
  return 0;
}
