// zstd frames for the storage formats (span blocks, block groups): compression with a context
// reused per thread, and decompression that refuses more than a bound and allocates as the frame
// really decodes, never up front from a forged size in its header.
//
//   ASSIGN_OR_RETURN(std::string frame, ZstdCompress(plain, 3, "span block"));
//   ASSIGN_OR_RETURN(std::string plain, ZstdDecompress(frame, kMaxBytes, "span block"));
//
// Thread safety: safe from any thread (each has its own contexts).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace teletrace::storage {

// One zstd frame holding `plain`. Internal, naming `what`, when zstd fails (not for any input).
absl::StatusOr<std::string> ZstdCompress(std::string_view plain, int level, std::string_view what);

// The content of the single zstd frame `frame`. DataLoss "<what>: ..." when it is malformed,
// truncated, followed by other bytes, or holds more than `max_bytes`.
absl::StatusOr<std::string> ZstdDecompress(std::string_view frame, size_t max_bytes,
                                           std::string_view what);

}  // namespace teletrace::storage
