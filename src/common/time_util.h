// Wall-clock time as integer nanoseconds since the Unix epoch, the unit OTLP uses.
#pragma once

#include <chrono>
#include <cstdint>

namespace teletrace {

inline uint64_t NowUnixNano() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace teletrace
