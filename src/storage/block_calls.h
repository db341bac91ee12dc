// A block's calls between services: what the dependencies of a time range need from a block wholly
// inside it, computed when the block is written so that the query does not decode it
// (docs/adr/002-block-summaries.md, "Stored calls").
//
//   WrittenSpans written(batch_spans);  // the spans written together, in their blocks' order
//   std::optional<StoredCalls> calls = CallsOfBlock(written, first, last);
//   if (calls) stored = EncodeBlockCalls(*calls);
//   ...
//   ASSIGN_OR_RETURN(StoredCalls read, ParseBlockCalls(stored));
//   read.AddTo(block_calls);  // as CallsInBlock would count the decoded block, within its range
//
// A call is a span with a parent span id: its parent's service calls its service, and it failed
// when the child span's status is Error. The dependencies of a range count the calls whose child
// and parent spans both start in it. A block's stored calls hold the calls of its spans whose
// parent was found among the spans written with them (the same block or another block of the same
// write), counted per (parent service, child service), and the others (the parent came earlier or
// later, or never) as open calls to be joined through the trace index. Parents found in other
// blocks are summed into the same counts; their start times are bounded so that a reader can tell
// whether the range holds them all.
//
// Format (persisted; a change needs a new version; varints in their shortest form):
//   version byte (1)
//   service count, then each service name (length-prefixed), in first use order
//   edge count, then per edge: parent service, child service, calls (>= 1), errors (<= calls)
//   outside flag (0 or 1); after 1: the earliest and latest start time of the parents found in
//     other blocks (earliest, then latest - earliest)
//   open call count, then per call: trace id (16 bytes), parent span id (8 bytes), child service,
//     error (0 or 1)
// with no trailing bytes.
//
// Thread safety: the functions are pure; a WrittenSpans is immutable once made.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/ids.h"
#include "model/span.h"
#include "query/dependencies.h"
#include "query/query.h"

namespace teletrace::storage {

inline constexpr uint8_t kBlockCallsVersion = 1;

// A block keeps no stored calls when more of its calls than this stay open (spans exported one
// by one, without their parents): each would cost ~27 bytes, and the block is decoded instead.
inline constexpr size_t kMaxOpenCalls = 64;

// A call whose parent span is not in the child's block (nor, for stored calls, written with it).
struct OpenCall {
  std::pair<TraceId, SpanId> parent;
  std::string child_service;
  bool error = false;
  bool operator==(const OpenCall&) const = default;
};

// One block's calls as the dependencies query merges them.
struct BlockCalls {
  query::DependencyCounter counter;  // calls whose parent span was found, per service pair
  std::vector<OpenCall> open;        // the others, to be joined with their parents
};

// The calls of one decoded block's `spans` whose child starts in `range`: counted when the parent
// span is among `spans` and starts in `range` too (else dropped), open when it is not among them.
BlockCalls CallsInBlock(const std::vector<model::StoredSpan>& spans,
                        const query::TimeRange& range);

// The spans of one write (as stored: one copy of each id), by their ids.
class WrittenSpans {
 public:
  explicit WrittenSpans(std::span<const model::StoredSpan* const> spans);
  std::span<const model::StoredSpan* const> spans() const { return spans_; }
  // The position in spans() of the span with these ids, if it is there.
  std::optional<size_t> Find(const TraceId& trace_id, const SpanId& span_id) const;

 private:
  std::span<const model::StoredSpan* const> spans_;
  absl::flat_hash_map<std::pair<TraceId, SpanId>, size_t> positions_;
};

// A block's calls in their stored form.
struct StoredCalls {
  struct Edge {
    uint32_t parent = 0;  // indexes into services
    uint32_t child = 0;
    uint64_t calls = 0;
    uint64_t errors = 0;
    bool operator==(const Edge&) const = default;
  };
  struct Open {
    TraceId trace_id{};
    SpanId parent_span_id{};
    uint32_t child = 0;
    bool error = false;
    bool operator==(const Open&) const = default;
  };
  std::vector<std::string> services;
  std::vector<Edge> edges;
  // The earliest and latest start of the parents found in other blocks, when some were.
  std::optional<std::pair<uint64_t, uint64_t>> outside_parents;
  std::vector<Open> open;
  bool operator==(const StoredCalls&) const = default;

  // Adds the counts and the open calls to `out`: what CallsInBlock gives for the decoded block
  // over a range that holds it and outside_parents, once the open calls are joined.
  void AddTo(BlockCalls& out) const;
};

// The stored calls of the block written.spans()[first, last): parents looked up among all of
// `written`. nullopt when more than kMaxOpenCalls stay open.
std::optional<StoredCalls> CallsOfBlock(const WrittenSpans& written, size_t first, size_t last);

std::string EncodeBlockCalls(const StoredCalls& calls);

// Reads stored calls. DataLoss naming the problem when `bytes` is empty, truncated, has another
// version, a count larger than its bytes can hold, a service index out of range, an edge with no
// calls or more errors than calls, a flag other than 0 or 1, parents' bounds that overflow, a
// varint not in its shortest form, more than kMaxOpenCalls open calls, or trailing bytes.
absl::StatusOr<StoredCalls> ParseBlockCalls(std::string_view bytes);

}  // namespace teletrace::storage
