// Stopping a request's work once nobody waits for its answer. The HTTP server gives each request
// a flag it sets (once, to true) when the client closes the connection before the response (a
// browser abandoning a superseded search does that); the query path installs the flag for its
// thread with a ScopedCancellation, and long loops (a backend's block scan, a remote store's
// transfer) poll CheckCancelled() and give up with CANCELLED.
//
//   ScopedCancellation scope(request.cancelled.get());
//   for (const Block& b : blocks) {
//     RETURN_IF_ERROR(CheckCancelled());
//     ...
//   }
#pragma once

#include <atomic>

#include "absl/status/status.h"

namespace teletrace {

// Makes `flag` (may be null: never cancelled) the current thread's flag until destruction, when
// the previous one is restored. Not movable: it lives on the stack of the work it covers.
class ScopedCancellation {
 public:
  explicit ScopedCancellation(const std::atomic<bool>* flag);
  ~ScopedCancellation();
  ScopedCancellation(const ScopedCancellation&) = delete;
  ScopedCancellation& operator=(const ScopedCancellation&) = delete;

 private:
  const std::atomic<bool>* previous_;
};

// Whether the current thread's work was cancelled (false when no flag is installed).
bool Cancelled();

// CANCELLED ("the client closed the connection; the query was stopped") when Cancelled(), else OK.
absl::Status CheckCancelled();

}  // namespace teletrace
