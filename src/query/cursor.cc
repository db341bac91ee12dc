// Cursor tokens and the total order they point into.
//
// A token is URL-safe base64 (RFC 4648 section 5, no padding) of a fixed 34-byte record:
//   byte 0      format version (kCursorVersion)
//   byte 1      the sort it was made for: bit 0 = field (0 start time, 1 duration),
//               bit 1 = ascending; other bits zero
//   bytes 2-9   sort value, big-endian
//   bytes 10-25 trace id
//   bytes 26-33 span id
// Binding the sort into the token makes a cursor from one sort unusable under another, instead of
// silently paging from a meaningless position.
#include <algorithm>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "query/engine.h"
#include "query/parse.h"

namespace teletrace::query {
namespace {

constexpr uint8_t kCursorVersion = 1;
constexpr size_t kRecordSize = 2 + 8 + 16 + 8;
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

uint8_t SortByte(const Sort& sort) {
  return static_cast<uint8_t>((sort.field == SortField::kDuration ? 1 : 0) |
                              (sort.ascending ? 2 : 0));
}

std::string Base64UrlEncode(const std::string& in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16 | static_cast<uint8_t>(in[i + 1]) << 8 |
                 static_cast<uint8_t>(in[i + 2]);
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
    out += kAlphabet[v & 63];
  }
  if (in.size() - i == 1) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
  } else if (in.size() - i == 2) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16 | static_cast<uint8_t>(in[i + 1]) << 8;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
  }
  return out;
}

int Base64UrlDigit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// Strict: only the URL-safe alphabet, no padding, and unused trailing bits must be zero, so each
// record has exactly one token.
bool Base64UrlDecode(std::string_view in, std::string* out) {
  if (in.size() % 4 == 1) return false;
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int d = Base64UrlDigit(c);
    if (d < 0) return false;
    acc = (acc << 6 | static_cast<uint32_t>(d)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>(acc >> bits & 0xff));
    }
  }
  return (acc & ((1u << bits) - 1)) == 0;
}

absl::Status InvalidCursor(std::string_view field, std::string_view reason) {
  return absl::InvalidArgumentError(fmt::format("{}: invalid cursor: {}", field, reason));
}

template <size_t N>
int CompareBytes(const std::array<uint8_t, N>& a, const std::array<uint8_t, N>& b) {
  return std::memcmp(a.data(), b.data(), N);
}

}  // namespace

std::string EncodeCursor(const Sort& sort, const Cursor& cursor) {
  std::string record;
  record.reserve(kRecordSize);
  record.push_back(static_cast<char>(kCursorVersion));
  record.push_back(static_cast<char>(SortByte(sort)));
  for (int shift = 56; shift >= 0; shift -= 8) {
    record.push_back(static_cast<char>(cursor.sort_value >> shift & 0xff));
  }
  record.append(IdBytes(cursor.trace_id));
  record.append(IdBytes(cursor.span_id));
  return Base64UrlEncode(record);
}

absl::StatusOr<Cursor> DecodeCursor(const Sort& sort, std::string_view token,
                                    std::string_view field) {
  std::string record;
  if (!Base64UrlDecode(token, &record)) return InvalidCursor(field, "not URL-safe base64");
  if (record.size() != kRecordSize) {
    return InvalidCursor(field, fmt::format("wrong length ({} bytes)", record.size()));
  }
  auto byte = [&](size_t i) { return static_cast<uint8_t>(record[i]); };
  if (byte(0) != kCursorVersion) {
    return InvalidCursor(field, fmt::format("unsupported version {}", byte(0)));
  }
  if (byte(1) > 3) return InvalidCursor(field, "unknown sort");
  if (byte(1) != SortByte(sort)) return InvalidCursor(field, "made for a different sort");
  Cursor cursor;
  for (size_t i = 2; i < 10; ++i) cursor.sort_value = cursor.sort_value << 8 | byte(i);
  std::string_view rest(record);
  IdFromBytes(rest.substr(10, 16), &cursor.trace_id);
  IdFromBytes(rest.substr(26, 8), &cursor.span_id);
  return cursor;
}

Cursor PositionOf(const Sort& sort, const model::StoredSpan& span) {
  Cursor c;
  c.sort_value = sort.field == SortField::kStartTime ? span.span.start_time_unix_nano
                                                     : span.span.DurationNano();
  c.trace_id = span.span.trace_id;
  c.span_id = span.span.span_id;
  return c;
}

int ComparePositions(const Sort& sort, const Cursor& a, const Cursor& b) {
  int c = 0;
  if (a.sort_value != b.sort_value) {
    c = a.sort_value < b.sort_value ? -1 : 1;
  } else if (int t = CompareBytes(a.trace_id, b.trace_id); t != 0) {
    c = t < 0 ? -1 : 1;
  } else if (int s = CompareBytes(a.span_id, b.span_id); s != 0) {
    c = s < 0 ? -1 : 1;
  }
  return sort.ascending ? c : -c;
}

}  // namespace teletrace::query
