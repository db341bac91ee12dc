// RANGE_COUNT histograms: spans counted by the range their value falls in, the ranges given by
// ascending lower bounds. Shared by the histogram collector and the ClickHouse backend so that
// every backend puts a value in the same range and names the range the same way.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "query/query.h"

namespace teletrace::query {

// The index of the largest bound <= v, or 0 when v is below every bound (the first range takes
// everything under it). `bounds` is ascending and non-empty; v is not NaN.
inline size_t RangeIndex(const std::vector<double>& bounds, double v) {
  auto it = std::upper_bound(bounds.begin(), bounds.end(), v);
  return it == bounds.begin() ? 0 : static_cast<size_t>(it - bounds.begin()) - 1;
}

// A range's key in the response: its lower bound, as an integer when the bound is one that a
// double holds exactly (durations and counts), else as a double.
inline TagValue RangeKey(double bound) {
  constexpr double kExactIntegers = 9007199254740992.0;  // 2^53
  if (std::trunc(bound) == bound && std::fabs(bound) <= kExactIntegers) {
    return static_cast<int64_t>(bound);
  }
  return bound;
}

}  // namespace teletrace::query
