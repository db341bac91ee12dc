// The integer encodings every binary format here shares (span blocks, block value counts,
// ClickHouse RowBinary): LEB128 varints, zigzag for signed values, little-endian fixed widths.
// Readers never read past `end` and refuse a varint that does not fit in 64 bits.
#pragma once

#include <cstdint>
#include <string>

namespace teletrace::encoding {

inline void AppendVarint(std::string* out, uint64_t v) {
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, n);
}

// The low `bytes` bytes of `v`, least significant first.
inline void AppendFixed(std::string* out, uint64_t v, int bytes) {
  char buf[8];
  for (int i = 0; i < bytes; ++i) buf[i] = static_cast<char>(v >> (8 * i));
  out->append(buf, static_cast<size_t>(bytes));
}

inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t u) { return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1)); }

enum class ReadResult { kOk, kTruncated, kTooLong };

// Reads a varint from [*p, end) and advances *p past it. kTooLong: more than 64 bits (a tenth
// byte above 1); on failure *p is unspecified.
inline ReadResult ReadVarint(const char** p, const char* end, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*p == end) return ReadResult::kTruncated;
    const auto b = static_cast<uint8_t>(*(*p)++);
    if (shift == 63 && b > 1) return ReadResult::kTooLong;
    result |= uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) {
      *v = result;
      return ReadResult::kOk;
    }
  }
  return ReadResult::kTooLong;  // unreachable: the tenth byte either ends or is refused above
}

// ReadVarint that accepts only the shortest form, for formats with exactly one encoding of each
// value (a longer form ends in a zero byte). False on any failure.
inline bool ReadShortestVarint(const char** p, const char* end, uint64_t* v) {
  const char* start = *p;
  if (ReadVarint(p, end, v) != ReadResult::kOk) return false;
  return *p - start == 1 || (*p)[-1] != 0;
}

// Reads `bytes` little-endian bytes from [*p, end); false (nothing read) when fewer remain.
inline bool ReadFixed(const char** p, const char* end, int bytes, uint64_t* v) {
  if (end - *p < bytes) return false;
  uint64_t r = 0;
  for (int i = 0; i < bytes; ++i) r |= uint64_t{static_cast<uint8_t>((*p)[i])} << (8 * i);
  *p += bytes;
  *v = r;
  return true;
}

}  // namespace teletrace::encoding
