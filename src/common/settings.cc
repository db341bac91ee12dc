#include "common/settings.h"

#include <charconv>
#include <limits>

#include "fmt/format.h"

namespace teletrace::settings {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

bool ParseDigits(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

absl::Status Invalid(std::string_view key, std::string_view value, std::string_view why) {
  return absl::InvalidArgumentError(fmt::format("{}: invalid value \"{}\": {}", key, value, why));
}

absl::Status Unknown(std::string_view section, std::string_view key,
                     const std::vector<Spec>& known) {
  std::string names;
  for (const Spec& s : known) names += (names.empty() ? "" : ", ") + s.key;
  return absl::InvalidArgumentError(
      fmt::format("{}.{}: unknown setting (known: {})", section, key, names));
}

absl::StatusOr<uint64_t> Unsigned(std::string_view key, std::string_view value, uint64_t min,
                                  uint64_t max) {
  uint64_t n = 0;
  if (!ParseDigits(value, &n) || n < min || n > max) {
    return Invalid(key, value, fmt::format("want an integer from {} to {}", min, max));
  }
  return n;
}

absl::StatusOr<uint64_t> Duration(std::string_view key, std::string_view value) {
  constexpr std::string_view kWant = "want 0 or <number><unit> parts with unit ms, s, m, h, d or w";
  if (value == "0") return 0;
  if (value.empty()) return Invalid(key, value, fmt::format("empty duration ({})", kWant));
  uint64_t total = 0;
  size_t i = 0;
  while (i < value.size()) {
    size_t digits_end = i;
    while (digits_end < value.size() && IsDigit(value[digits_end])) ++digits_end;
    if (digits_end == i || digits_end == value.size()) return Invalid(key, value, kWant);
    uint64_t amount = 0;
    if (!ParseDigits(value.substr(i, digits_end - i), &amount)) {
      return Invalid(key, value, "number out of range");
    }
    uint64_t unit_nano = 0;
    size_t unit_len = 1;
    if (value.substr(digits_end, 2) == "ms") {
      unit_nano = 1000000;
      unit_len = 2;
    } else {
      constexpr uint64_t kSecond = 1000000000;
      switch (value[digits_end]) {
        case 's': unit_nano = kSecond; break;
        case 'm': unit_nano = 60 * kSecond; break;
        case 'h': unit_nano = 3600 * kSecond; break;
        case 'd': unit_nano = 86400 * kSecond; break;
        case 'w': unit_nano = 7 * 86400 * kSecond; break;
        default:
          return Invalid(key, value, fmt::format("unknown unit '{}' ({})", value[digits_end], kWant));
      }
    }
    if (amount > (kMax - total) / unit_nano) return Invalid(key, value, "duration too large");
    total += amount * unit_nano;
    i = digits_end + unit_len;
  }
  return total;
}

absl::StatusOr<uint64_t> Bytes(std::string_view key, std::string_view value, uint64_t max) {
  size_t digits_end = 0;
  while (digits_end < value.size() && IsDigit(value[digits_end])) ++digits_end;
  const std::string want = fmt::format(
      "want a number of bytes up to {}, optionally with a unit KiB, MiB, GiB, TiB, KB, MB, GB or "
      "TB",
      max);
  uint64_t amount = 0;
  if (!ParseDigits(value.substr(0, digits_end), &amount)) return Invalid(key, value, want);
  struct Unit {
    std::string_view name;
    uint64_t scale;
  };
  static constexpr Unit kUnits[] = {
      {"", 1},
      {"KiB", uint64_t{1} << 10}, {"MiB", uint64_t{1} << 20}, {"GiB", uint64_t{1} << 30},
      {"TiB", uint64_t{1} << 40}, {"KB", 1000}, {"MB", 1000000}, {"GB", 1000000000},
      {"TB", 1000000000000}};
  const std::string_view unit = value.substr(digits_end);
  for (const Unit& u : kUnits) {
    if (unit != u.name) continue;
    if (amount > max / u.scale) return Invalid(key, value, want);
    return amount * u.scale;
  }
  return Invalid(key, value, want);
}

absl::StatusOr<bool> Bool(std::string_view key, std::string_view value) {
  for (std::string_view yes : {"true", "1", "yes", "on"}) {
    if (value == yes) return true;
  }
  for (std::string_view no : {"false", "0", "no", "off"}) {
    if (value == no) return false;
  }
  return Invalid(key, value, "want true or false");
}

std::vector<std::string> List(std::string_view value) {
  std::vector<std::string> out;
  while (true) {
    const size_t comma = value.find(',');
    std::string_view item = Trim(value.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace teletrace::settings
