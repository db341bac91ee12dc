#include "query/percentile.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>

#include "fmt/format.h"

namespace teletrace::query {

size_t NearestRankIndex(size_t n, double percentile) {
  double rank = std::ceil(percentile / 100.0 * static_cast<double>(n));
  if (!(rank >= 1)) rank = 1;  // also catches NaN
  if (rank > static_cast<double>(n)) rank = static_cast<double>(n);
  return static_cast<size_t>(rank) - 1;
}

double NearestRank(const std::vector<double>& sorted, double percentile) {
  return sorted[NearestRankIndex(sorted.size(), percentile)];
}

std::vector<double> NearestRanks(std::vector<double>& values,
                                 const std::vector<double>& percentiles) {
  std::vector<size_t> ranks(percentiles.size());
  for (size_t i = 0; i < percentiles.size(); ++i) {
    ranks[i] = NearestRankIndex(values.size(), percentiles[i]);
  }
  std::vector<size_t> order(percentiles.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&ranks](size_t a, size_t b) { return ranks[a] < ranks[b]; });
  // Invariant: values[0, placed) are no larger than anything at or after `placed`, and each rank
  // selected so far holds its sorted value (ranks come in ascending order, so a later one is
  // either the same rank or at or after `placed`).
  std::vector<double> out(percentiles.size());
  size_t placed = 0;
  for (size_t i : order) {
    const size_t r = ranks[i];
    if (r >= placed) {
      auto begin = values.begin() + static_cast<ptrdiff_t>(placed);
      std::nth_element(begin, values.begin() + static_cast<ptrdiff_t>(r), values.end());
      placed = r + 1;
    }
    out[i] = values[r];
  }
  return out;
}

std::string PercentileLabel(double percentile) {
  std::string s = fmt::format("{}", percentile);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

}  // namespace teletrace::query
