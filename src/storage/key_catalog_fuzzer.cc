// Feeds arbitrary bytes to the key catalog parser: it must return DataLoss or keys that are
// attribute keys in strict order, which encode back to exactly the input (a catalog has one form).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "storage/key_catalog.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::vector<teletrace::query::TagInfo>> keys =
      teletrace::storage::ParseKeyCatalog(input);
  if (!keys.ok()) {
    if (keys.status().code() != absl::StatusCode::kDataLoss) std::abort();
    return 0;
  }
  if (teletrace::storage::EncodeKeyCatalog(*keys) != input) std::abort();
  return 0;
}
