// Feeds arbitrary bytes to the stored calls parser: it must return DataLoss, or calls whose
// service indexes are in range and whose edges have calls and no more errors than calls, which
// encode back to exactly the input (the format has one form per value).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "storage/block_calls.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using teletrace::storage::StoredCalls;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<StoredCalls> calls = teletrace::storage::ParseBlockCalls(input);
  if (!calls.ok()) {
    if (calls.status().code() != absl::StatusCode::kDataLoss) std::abort();
    return 0;
  }
  const size_t services = calls->services.size();
  for (const StoredCalls::Edge& e : calls->edges) {
    if (e.parent >= services || e.child >= services || e.calls == 0 || e.errors > e.calls) {
      std::abort();
    }
  }
  for (const StoredCalls::Open& o : calls->open) {
    if (o.child >= services) std::abort();
  }
  if (calls->open.size() > teletrace::storage::kMaxOpenCalls) std::abort();
  if (calls->outside_parents && calls->outside_parents->first > calls->outside_parents->second) {
    std::abort();
  }
  if (teletrace::storage::EncodeBlockCalls(*calls) != input) std::abort();
  teletrace::storage::BlockCalls added;
  calls->AddTo(added);  // reads every index
  return 0;
}
