// Pre-encoded requests and their per-send patching. Encoding a request costs far more CPU than
// the server spends decoding it, so the load generator encodes a pool of requests once and, per
// send, copies one and rewrites only what must change: the second half of every trace id (salted
// per send, so repeated sends store distinct traces) and the timestamps (shifted to "now").
//
//   ASSIGN_OR_RETURN(EncodedRequest encoded, EncodeRequest(request, traces, Encoding::kJson));
//   std::string body;
//   PatchRequest(encoded, SaltForSend(run_id, send_index), now - generated_at, &body);
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ids.h"
#include "loadgen/trace_generator.h"

namespace teletrace::loadgen {

enum class Encoding { kProtobuf, kJson };

struct EncodedRequest {
  Encoding encoding = Encoding::kProtobuf;
  std::string bytes;  // as generated, before any patching
  int64_t span_count = 0;
  std::vector<GeneratedTrace> traces;  // ids as generated, before salting
  // Protobuf: offsets of bytes 8..15 of every trace id. JSON: offsets of hex digits 16..31.
  std::vector<uint32_t> salt_offsets;
  // Protobuf: offsets of every fixed64 timestamp. JSON: offsets of their 19 decimal digits.
  std::vector<uint32_t> time_offsets;
};

// Encodes `request` as OTLP protobuf or OTLP/JSON (hex ids, integer enums, 64-bit integers as
// strings) and records the patch offsets. `traces` are the request's traces as the generator
// reported them. Fails (Internal) only if the request cannot be serialized, or (InvalidArgument)
// if a timestamp does not have 19 decimal digits (years 2001-2286).
absl::StatusOr<EncodedRequest> EncodeRequest(const ExportRequest& request,
                                             std::vector<GeneratedTrace> traces,
                                             Encoding encoding);

// The salt for the send_index-th send of a run: distinct send indexes give distinct salts.
uint64_t SaltForSend(uint64_t run_id, uint64_t send_index);

// A trace id as it goes out after salting.
TraceId SaltTraceId(const TraceId& trace_id, uint64_t salt);

// The time shift (for PatchRequest) that replays a window of spread_nanos ending at
// window_end_unix_nano: a request generated at generated_at_unix_nano, sent as the k-th of n, is
// moved so that what started at generated_at starts at
// window_end - spread + spread * k / n (rounded down to the nanosecond). k is clamped to n; n > 0.
// k and n may be any progress measure (the runner uses elapsed and total nanoseconds for
// --duration runs).
int64_t SpreadTimeShift(uint64_t generated_at_unix_nano, uint64_t window_end_unix_nano,
                        int64_t spread_nanos, uint64_t k, uint64_t n);

// *out = encoded.bytes with every trace id salted and every timestamp moved by time_shift_nanos.
// Reuses *out's capacity; cost is a copy plus a few bytes per span.
void PatchRequest(const EncodedRequest& encoded, uint64_t salt, int64_t time_shift_nanos,
                  std::string* out);

// gzip (RFC 1952) of `data` at zlib `level` into *out. Fails (Internal) on a zlib error.
absl::Status GzipCompress(std::string_view data, int level, std::string* out);

// Inflates gzip data; for tests. Fails (InvalidArgument) on malformed input.
absl::StatusOr<std::string> GzipDecompress(std::string_view data);

}  // namespace teletrace::loadgen
