#include "common/cancel.h"

namespace teletrace {
namespace {

thread_local const std::atomic<bool>* current_flag = nullptr;

}  // namespace

ScopedCancellation::ScopedCancellation(const std::atomic<bool>* flag) : previous_(current_flag) {
  current_flag = flag;
}

ScopedCancellation::~ScopedCancellation() { current_flag = previous_; }

bool Cancelled() {
  return current_flag != nullptr && current_flag->load(std::memory_order_relaxed);
}

absl::Status CheckCancelled() {
  if (!Cancelled()) return absl::OkStatus();
  return absl::CancelledError("the client closed the connection; the query was stopped");
}

}  // namespace teletrace
