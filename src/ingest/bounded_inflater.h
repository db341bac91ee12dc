// Inflates a compressed message with a hard bound on its inflated size, checked while inflating:
// a small "decompression bomb" costs at most the bound in memory and the time to produce it, never
// its full inflated size. Each output chunk is announced before it is allocated, so the caller can
// charge it to a ByteBudget.
//
//   std::vector<std::string> chunks;
//   absl::Status s = InflateBounded(Compression::kGzip, {compressed}, 16 << 20,
//                                   [&](uint64_t n) { return lease.Grow(n); }, &chunks);
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace teletrace::ingest {

// kGzip: RFC 1952 (one or more members). kZlib: RFC 1950, which is what gRPC's "deflate" encoding
// and HTTP's "Content-Encoding: deflate" denote.
enum class Compression { kGzip, kZlib };

// Output is produced in chunks of at most this many bytes (smaller ones first).
inline constexpr uint64_t kInflateChunkBytes = 1 << 20;

// Inflates the concatenation of `input` and appends the result to `*output` as chunks (their
// concatenation is the inflated message). `reserve(n)` is called before each chunk of n bytes is
// allocated (the n may exceed what the chunk ends up holding). Returns:
//   OK                  the whole input was one complete stream (gzip: one or more members);
//   ResourceExhausted   the inflated size exceeds `max_output_bytes` (found after producing at
//                       most max_output_bytes + 1 bytes);
//   Unavailable         `reserve` returned false;
//   InvalidArgument     corrupt or truncated input, or (zlib) bytes after the end of the stream.
// On error *output holds what was produced so far; the caller discards it.
absl::Status InflateBounded(Compression compression, const std::vector<std::string_view>& input,
                            uint64_t max_output_bytes,
                            const std::function<bool(uint64_t)>& reserve,
                            std::vector<std::string>* output);

}  // namespace teletrace::ingest
