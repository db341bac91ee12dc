#pragma once

// The span fingerprints of SQLite's trace index (table trace_blocks): per trace and block, a
// 3-byte fingerprint of each span id rather than the 8-byte id
// (docs/adr/001-sqlite-block-storage.md, "The trace index"). A fingerprint only says that a block may hold a span; whoever needs
// certainty decodes the block's ids.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/ids.h"

namespace teletrace::storage::sqlite {

inline constexpr size_t kFingerprintBytes = 3;

// The id is hashed first, so that ids that are not random (counters, zero-padded ids) spread.
inline uint32_t SpanFingerprint(const SpanId& id) {
  uint64_t x = 0;
  for (uint8_t byte : id) x = (x << 8) | byte;
  x ^= x >> 33;  // a 64-bit finalizer (murmur3's): every output bit depends on every input bit
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return static_cast<uint32_t>(x >> (64 - 8 * kFingerprintBytes));
}

// Appends `id`'s fingerprint, big-endian.
inline void AppendFingerprint(const SpanId& id, std::string& out) {
  const uint32_t fingerprint = SpanFingerprint(id);
  for (size_t i = kFingerprintBytes; i-- > 0;) {
    out.push_back(static_cast<char>(fingerprint >> (8 * i)));
  }
}

// How many fingerprints a stored value holds (a trailing partial one is ignored), and the i-th.
inline size_t FingerprintCount(std::string_view stored) {
  return stored.size() / kFingerprintBytes;
}
inline uint32_t FingerprintAt(std::string_view stored, size_t i) {
  uint32_t fingerprint = 0;
  for (size_t j = 0; j < kFingerprintBytes; ++j) {
    fingerprint = (fingerprint << 8) | static_cast<uint8_t>(stored[i * kFingerprintBytes + j]);
  }
  return fingerprint;
}

}  // namespace teletrace::storage::sqlite
