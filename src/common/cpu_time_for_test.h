// For complexity tests (test code only): the CPU time of the calling thread, which unlike wall
// time is not inflated by other processes on a shared machine, and how much slower this build runs
// than an optimised one. A complexity test bounds CPU time by `bound * kBuildSlowdown`, generous
// enough for a linear algorithm on any build and far below what a quadratic one takes.
#pragma once

#include <time.h>

#include <chrono>

namespace teletrace {

inline std::chrono::nanoseconds ThreadCpuTime() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TELETRACE_SANITIZED_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TELETRACE_SANITIZED_BUILD 1
#endif
#endif

// Sanitizers cost up to ~15x; an unoptimised (debug) build ~5x more.
inline constexpr int kBuildSlowdown =
#ifdef TELETRACE_SANITIZED_BUILD
    20 *
#endif
#ifndef __OPTIMIZE__
    5 *
#endif
    1;

}  // namespace teletrace
