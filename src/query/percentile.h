// Percentiles by the nearest-rank method, shared by the statistics and histogram collectors.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace teletrace::query {

// The nearest-rank percentile of `sorted` (ascending, non-empty): the value at 1-based rank
// ceil(p / 100 * n), clamped to [1, n]. Chosen because it always returns an observed value (no
// interpolation), which is what a latency percentile should report and what every backend can
// compute exactly the same way.
double NearestRank(const std::vector<double>& sorted, double percentile);

// The 0-based index of that rank among n > 0 values.
size_t NearestRankIndex(size_t n, double percentile);

// The same nearest-rank percentiles of `values` (unsorted, non-empty, no NaN), in the order of
// `percentiles`, found by selection instead of a full sort: O(n) per distinct rank, the ranks
// visited in ascending order over a shrinking tail. Reorders `values`.
std::vector<double> NearestRanks(std::vector<double>& values,
                                 const std::vector<double>& percentiles);

// The label a histogram bucket uses for a percentile: shortest form, at least one decimal
// ("50.0", "99.9", "99.95").
std::string PercentileLabel(double percentile);

}  // namespace teletrace::query
