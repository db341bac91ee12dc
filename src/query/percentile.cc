#include "query/percentile.h"

#include <cmath>

#include "fmt/format.h"

namespace teletrace::query {

double NearestRank(const std::vector<double>& sorted, double percentile) {
  const size_t n = sorted.size();
  double rank = std::ceil(percentile / 100.0 * static_cast<double>(n));
  if (!(rank >= 1)) rank = 1;  // also catches NaN
  if (rank > static_cast<double>(n)) rank = static_cast<double>(n);
  return sorted[static_cast<size_t>(rank) - 1];
}

std::string PercentileLabel(double percentile) {
  std::string s = fmt::format("{}", percentile);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

}  // namespace teletrace::query
