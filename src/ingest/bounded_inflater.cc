#include "ingest/bounded_inflater.h"

#include <zlib.h>

#include <algorithm>
#include <climits>

#include "fmt/format.h"

namespace teletrace::ingest {
namespace {

constexpr uint64_t kFirstChunkBytes = 16 << 10;

}  // namespace

absl::Status InflateBounded(Compression compression, const std::vector<std::string_view>& input,
                            uint64_t max_output_bytes,
                            const std::function<bool(uint64_t)>& reserve,
                            std::vector<std::string>* output) {
  const char* name = compression == Compression::kGzip ? "gzip" : "deflate";
  z_stream zs{};
  if (inflateInit2(&zs, compression == Compression::kGzip ? 16 + MAX_WBITS : MAX_WBITS) != Z_OK) {
    return absl::InternalError(fmt::format("{}: cannot initialise zlib", name));
  }
  struct Ender {
    z_stream* zs;
    ~Ender() { inflateEnd(zs); }
  } ender{&zs};

  // Producing one byte past the limit is how an oversized message is told apart from one that
  // fills the limit exactly.
  const uint64_t cap = max_output_bytes + 1;
  uint64_t input_bytes = 0;
  for (std::string_view piece : input) input_bytes += piece.size();
  uint64_t next_chunk = 0;
  uint64_t produced = 0;
  size_t next_input = 0;
  bool stream_end = false;
  std::string* chunk = nullptr;
  size_t chunk_used = 0;
  auto load_input = [&] {
    while (zs.avail_in == 0 && next_input < input.size()) {
      std::string_view piece = input[next_input];
      size_t take = std::min<size_t>(piece.size(), UINT_MAX);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(piece.data()));
      zs.avail_in = static_cast<uInt>(take);
      if (take == piece.size()) {
        ++next_input;
      } else {
        // Cannot happen for gRPC messages (< 2 GiB); refuse rather than mis-inflate.
        return false;
      }
    }
    return true;
  };
  auto input_done = [&] { return zs.avail_in == 0 && next_input == input.size(); };

  while (true) {
    if (!load_input()) {
      return absl::InvalidArgumentError(fmt::format("{}: input piece over 4 GiB", name));
    }
    if (stream_end) {
      if (input_done()) break;
      if (compression == Compression::kZlib) {
        return absl::InvalidArgumentError(
            fmt::format("{}: corrupt compressed message: bytes after the end of the stream", name));
      }
      inflateReset(&zs);  // another gzip member follows
      stream_end = false;
    }
    if (chunk == nullptr || chunk_used == chunk->size()) {
      // Chunks start near the expected size and double, so the reservation stays within about
      // twice what is produced, small for small messages and few allocations for large ones.
      next_chunk = next_chunk == 0 ? std::max<uint64_t>(kFirstChunkBytes, 4 * input_bytes)
                                   : 2 * next_chunk;
      next_chunk = std::min(next_chunk, kInflateChunkBytes);
      uint64_t size = std::min<uint64_t>(next_chunk, cap - produced);
      if (!reserve(size)) {
        return absl::UnavailableError(fmt::format(
            "{}: no budget for {} more bytes after inflating {} bytes", name, size, produced));
      }
      output->emplace_back();
      chunk = &output->back();
      chunk->resize(size);
      chunk_used = 0;
    }
    zs.next_out = reinterpret_cast<Bytef*>(chunk->data() + chunk_used);
    zs.avail_out = static_cast<uInt>(chunk->size() - chunk_used);
    int rc = inflate(&zs, Z_NO_FLUSH);
    size_t wrote = chunk->size() - chunk_used - zs.avail_out;
    chunk_used += wrote;
    produced += wrote;
    if (produced > max_output_bytes) {
      chunk->resize(chunk_used);
      return absl::ResourceExhaustedError(
          fmt::format("{}: message inflates to more than {} bytes", name, max_output_bytes));
    }
    if (rc == Z_STREAM_END) {
      stream_end = true;
    } else if (rc == Z_BUF_ERROR || (rc == Z_OK && wrote == 0 && zs.avail_out > 0)) {
      if (input_done() && zs.avail_out > 0) {
        chunk->resize(chunk_used);
        return absl::InvalidArgumentError(
            fmt::format("{}: corrupt compressed message: truncated", name));
      }
    } else if (rc != Z_OK) {
      chunk->resize(chunk_used);
      return absl::InvalidArgumentError(fmt::format(
          "{}: corrupt compressed message: {}", name, zs.msg != nullptr ? zs.msg : "bad data"));
    }
  }
  if (chunk != nullptr) chunk->resize(chunk_used);
  return absl::OkStatus();
}

}  // namespace teletrace::ingest
