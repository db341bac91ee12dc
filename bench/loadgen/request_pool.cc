#include "loadgen/request_pool.h"

#include <algorithm>

#include "common/status_macros.h"

namespace teletrace::loadgen {

const EncodedRequest* RequestPool::ForSend(uint64_t send_index) const {
  if (huge_trace) {
    return send_index < requests.size() ? &requests[send_index] : nullptr;
  }
  if (total_spans == 0) return &requests[send_index % requests.size()];
  uint64_t full = static_cast<uint64_t>(total_spans / batch);
  if (send_index < full) return &requests[send_index % requests.size()];
  if (send_index == full && tail.has_value()) return &*tail;
  return nullptr;
}

absl::StatusOr<RequestPool> BuildRequestPool(const LoadgenOptions& options, Encoding encoding,
                                             uint64_t now_unix_nano) {
  RequestPool pool;
  pool.batch = options.batch;
  pool.generated_at_unix_nano = now_unix_nano;
  TraceGenerator generator(options.shape, options.seed, now_unix_nano);
  ExportRequest request;

  if (options.huge_trace > 0) {
    pool.huge_trace = true;
    pool.total_spans = options.huge_trace;
    generator.BeginHugeTrace(options.huge_trace);
    while (generator.HugeTraceRemaining() > 0) {
      std::vector<GeneratedTrace> traces;
      generator.NextRequest(options.batch, &request, &traces);
      ASSIGN_OR_RETURN(EncodedRequest encoded, EncodeRequest(request, std::move(traces), encoding));
      pool.requests.push_back(std::move(encoded));
    }
    return pool;
  }

  pool.total_spans = options.total_spans;
  int64_t distinct = options.pool;
  if (options.total_spans > 0) {
    distinct =
        std::min<int64_t>(distinct, std::max<int64_t>(1, options.total_spans / options.batch));
  }
  if (options.total_spans == 0 || options.total_spans >= options.batch) {
    for (int64_t i = 0; i < distinct; ++i) {
      std::vector<GeneratedTrace> traces;
      generator.NextRequest(options.batch, &request, &traces);
      ASSIGN_OR_RETURN(EncodedRequest encoded, EncodeRequest(request, std::move(traces), encoding));
      pool.requests.push_back(std::move(encoded));
    }
  }
  int64_t remainder = options.total_spans % options.batch;
  if (options.total_spans > 0 && remainder > 0) {
    std::vector<GeneratedTrace> traces;
    generator.NextRequest(remainder, &request, &traces);
    ASSIGN_OR_RETURN(EncodedRequest encoded, EncodeRequest(request, std::move(traces), encoding));
    pool.tail = std::move(encoded);
  }
  return pool;
}

}  // namespace teletrace::loadgen
