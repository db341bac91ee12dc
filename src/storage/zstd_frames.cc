#include "storage/zstd_frames.h"

#include <zstd.h>

#include <algorithm>
#include <memory>

#include "fmt/format.h"

namespace teletrace::storage {
namespace {

struct ZstdContexts {
  struct FreeC {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
  };
  struct FreeD {
    void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
  };
  std::unique_ptr<ZSTD_CCtx, FreeC> cctx{ZSTD_createCCtx()};
  std::unique_ptr<ZSTD_DCtx, FreeD> dctx{ZSTD_createDCtx()};
};

// Contexts are reused per thread: creating them costs more than compressing a small block.
ZstdContexts& Contexts() {
  thread_local ZstdContexts contexts;
  return contexts;
}

}  // namespace

absl::StatusOr<std::string> ZstdCompress(std::string_view plain, int level,
                                         std::string_view what) {
  std::string frame(ZSTD_compressBound(plain.size()), '\0');
  size_t n = ZSTD_compressCCtx(Contexts().cctx.get(), frame.data(), frame.size(), plain.data(),
                               plain.size(), level);
  if (ZSTD_isError(n)) {
    return absl::InternalError(
        fmt::format("{}: zstd compression failed: {}", what, ZSTD_getErrorName(n)));
  }
  frame.resize(n);
  return frame;
}

absl::StatusOr<std::string> ZstdDecompress(std::string_view frame, size_t max_bytes,
                                           std::string_view what) {
  auto corrupt = [what](std::string_view detail) {
    return absl::DataLossError(fmt::format("{}: {}", what, detail));
  };
  ZSTD_DCtx* dctx = Contexts().dctx.get();
  ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
  std::string plain;
  unsigned long long declared = ZSTD_getFrameContentSize(frame.data(), frame.size());
  // In one call when the frame declares a size it could plausibly hold (the frames written here
  // do): a streamed decode costs several microseconds more per frame, which small sections and
  // block groups feel. A forged size then allocates at most kMaxRatio times the frame.
  constexpr size_t kMaxRatio = 64;
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR &&
      declared <= max_bytes && declared <= kMaxRatio * frame.size() + 65536) {
    plain.resize(static_cast<size_t>(declared));
    size_t n = ZSTD_decompressDCtx(dctx, plain.data(), plain.size(), frame.data(), frame.size());
    if (!ZSTD_isError(n) && n == plain.size()) return plain;
    // A wrong declared size, a damaged or truncated frame, trailing bytes: the streamed decode
    // below says which.
    ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
    plain.clear();
  }
  // Streamed, so that a forged content size in the frame header allocates nothing up front.
  size_t initial = 4 * frame.size() + 4096;
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR &&
      declared < initial) {
    initial = static_cast<size_t>(declared) + 1;
  }
  // One byte over the limit, so that reaching it proves the body too large.
  const size_t limit = max_bytes + 1;
  plain.resize(std::min(initial, limit));
  ZSTD_inBuffer in{frame.data(), frame.size(), 0};
  size_t produced = 0;
  while (true) {
    if (produced == plain.size()) {
      if (plain.size() >= limit) return corrupt("body over the size limit");
      plain.resize(std::min(plain.size() * 2, limit));
    }
    ZSTD_outBuffer out{plain.data(), plain.size(), produced};
    size_t r = ZSTD_decompressStream(dctx, &out, &in);
    produced = out.pos;
    if (ZSTD_isError(r)) return corrupt(fmt::format("zstd: {}", ZSTD_getErrorName(r)));
    if (r == 0) break;  // frame complete
    if (in.pos == in.size && out.pos < out.size) return corrupt("truncated zstd frame");
  }
  if (in.pos != in.size) return corrupt("trailing bytes after zstd frame");
  if (produced > max_bytes) return corrupt("body over the size limit");
  plain.resize(produced);
  return plain;
}

}  // namespace teletrace::storage
