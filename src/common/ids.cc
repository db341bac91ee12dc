#include "common/ids.h"

#include "fmt/format.h"

namespace teletrace {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

template <size_t N>
absl::StatusOr<std::array<uint8_t, N>> ParseHex(std::string_view hex, std::string_view what) {
  if (hex.size() != 2 * N) {
    return absl::InvalidArgumentError(fmt::format("{} must be {} hex characters, got {}", what, 2 * N, hex.size()));
  }
  std::array<uint8_t, N> id{};
  for (size_t i = 0; i < N; ++i) {
    int hi = HexDigit(hex[2 * i]);
    int lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(fmt::format("{} is not hex: \"{}\"", what, hex));
    }
    id[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return id;
}

}  // namespace

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto b = static_cast<uint8_t>(bytes[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 0xf];
  }
  return out;
}

absl::StatusOr<TraceId> ParseTraceIdHex(std::string_view hex, std::string_view what) {
  return ParseHex<16>(hex, what);
}

absl::StatusOr<SpanId> ParseSpanIdHex(std::string_view hex, std::string_view what) {
  return ParseHex<8>(hex, what);
}

}  // namespace teletrace
