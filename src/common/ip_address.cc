#include "common/ip_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>

#include "fmt/format.h"

namespace teletrace {
namespace {

std::string FormatIp6(const uint8_t b[16]) {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(b, b + 12, kMapped)) return fmt::format("{}.{}.{}.{}", b[12], b[13], b[14], b[15]);
  uint16_t g[8];
  for (int i = 0; i < 8; ++i) g[i] = static_cast<uint16_t>(b[2 * i] << 8 | b[2 * i + 1]);
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i >= 2 && j - i > best_len) best = i, best_len = j - i;
    i = j;
  }
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    out += fmt::format("{:x}", g[i]);
  }
  return out;
}

}  // namespace

std::optional<std::string> CanonicalIpAddress(std::string_view text) {
  // inet_pton needs a terminated string; an address is never longer than this.
  if (text.empty() || text.size() > 64 || text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  const std::string s(text);
  uint8_t bytes[16];
  if (inet_pton(AF_INET, s.c_str(), bytes) == 1) {
    return fmt::format("{}.{}.{}.{}", bytes[0], bytes[1], bytes[2], bytes[3]);
  }
  if (s.find('%') == std::string::npos && inet_pton(AF_INET6, s.c_str(), bytes) == 1) {
    return FormatIp6(bytes);
  }
  return std::nullopt;
}

}  // namespace teletrace
