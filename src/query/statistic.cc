#include <charconv>
#include <string>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "query/parse.h"

namespace teletrace::query {
namespace {

// Digits, optionally followed by '.' and more digits: no signs, exponents or spaces, so "p50" is
// the only spelling of the 50th percentile besides "p50.0".
bool IsPlainDecimal(std::string_view s) {
  size_t i = 0;
  size_t int_digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++int_digits;
  if (int_digits == 0) return false;
  if (i == s.size()) return true;
  if (s[i] != '.') return false;
  ++i;
  size_t frac_digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++frac_digits;
  return frac_digits > 0 && i == s.size();
}

}  // namespace

absl::StatusOr<Statistic> ParseStatistic(std::string_view text, std::string_view field) {
  Statistic stat;
  stat.name = std::string(text);
  if (text == "min" || text == "max" || text == "avg" || text == "count" || text == "sum") {
    return stat;
  }
  if (text.size() > 1 && text[0] == 'p' && IsPlainDecimal(text.substr(1))) {
    std::string_view number = text.substr(1);
    double value = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec == std::errc() && end == number.data() + number.size()) {
      if (!(value > 0 && value <= 100)) {
        return absl::InvalidArgumentError(fmt::format(
            "{}: percentile \"{}\" must be greater than 0 and at most 100", field, text));
      }
      stat.percentile = value;
      return stat;
    }
  }
  return absl::InvalidArgumentError(fmt::format(
      "{}: unknown statistic \"{}\" (expected min, max, avg, count, sum or a percentile like "
      "p50, p99.9)",
      field, text));
}

}  // namespace teletrace::query
