// The reference backend: every span in memory, every query answered by a full scan through the
// engine's collectors (query/engine.h), nothing pushed down, nothing pruned, nothing precomputed.
// It implements ScanSpans and leaves the aggregations to the storage contract's generic fallback,
// so its conformance run also proves that fallback.
// It is the oracle of the randomized differential tests (a faster backend must answer exactly as
// this one does) and the store of tests that need a Backend but not a database. Not registered
// for users: it keeps nothing across restarts and has no memory bound.
//
// Thread safe: one mutex; readers copy what they return.
#pragma once

#include <memory>

#include "storage/storage.h"

namespace teletrace::storage::memory {

struct MemoryOptions {
  uint64_t retention_max_age_nano = 0;  // 0 = keep forever
  // The clock retention compares with (tests pin it); null = the system clock.
  std::function<uint64_t()> now;
};

std::unique_ptr<Backend> NewMemoryBackend(MemoryOptions options = {});

}  // namespace teletrace::storage::memory
