#include "storage/block_calls.h"

#include <algorithm>
#include <cstring>

#include "common/encoding.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "query/engine.h"

namespace teletrace::storage {
namespace {

using encoding::ReadShortestVarint;  // one encoding per value

absl::Status Corrupt(std::string_view detail) {
  return absl::DataLossError(fmt::format("block calls: {}", detail));
}

bool IsError(const model::StoredSpan& s) { return s.span.status.code == model::StatusCode::kError; }

// Reads the stored form, each failure naming what it read.
class Parser {
 public:
  explicit Parser(std::string_view bytes) : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}

  size_t Remaining() const { return static_cast<size_t>(end_ - p_); }

  absl::Status Varint(uint64_t* v, std::string_view what) {
    if (!ReadShortestVarint(&p_, end_, v)) return Corrupt(fmt::format("malformed {}", what));
    return absl::OkStatus();
  }
  // A count of items of at least `min_bytes` each.
  absl::Status Count(uint64_t* n, size_t min_bytes, std::string_view what) {
    RETURN_IF_ERROR(Varint(n, what));
    if (*n > Remaining() / min_bytes) {
      return Corrupt(fmt::format("{} {} in {} bytes", *n, what, Remaining()));
    }
    return absl::OkStatus();
  }
  absl::Status Index(uint32_t* index, size_t services, std::string_view what) {
    uint64_t v = 0;
    RETURN_IF_ERROR(Varint(&v, what));
    if (v >= services) {
      return Corrupt(fmt::format("{} {} out of range ({} services)", what, v, services));
    }
    *index = static_cast<uint32_t>(v);
    return absl::OkStatus();
  }
  absl::Status Flag(bool* flag, std::string_view what) {
    if (p_ == end_) return Corrupt(fmt::format("truncated at {}", what));
    const auto b = static_cast<uint8_t>(*p_++);
    if (b > 1) return Corrupt(fmt::format("{} is {}, not 0 or 1", what, b));
    *flag = b == 1;
    return absl::OkStatus();
  }
  absl::Status Bytes(uint8_t* out, size_t n, std::string_view what) {
    if (Remaining() < n) return Corrupt(fmt::format("truncated at {}", what));
    std::memcpy(out, p_, n);
    p_ += n;
    return absl::OkStatus();
  }
  absl::Status String(std::string* out, std::string_view what) {
    uint64_t size = 0;
    RETURN_IF_ERROR(Varint(&size, what));
    if (size > Remaining()) return Corrupt(fmt::format("truncated at {}", what));
    out->assign(p_, size);
    p_ += size;
    return absl::OkStatus();
  }

 private:
  const char* p_;
  const char* end_;
};

}  // namespace

BlockCalls CallsInBlock(const std::vector<model::StoredSpan>& spans,
                        const query::TimeRange& range) {
  BlockCalls out;
  absl::flat_hash_map<std::pair<TraceId, SpanId>, const model::StoredSpan*> by_key;
  by_key.reserve(spans.size());
  for (const model::StoredSpan& s : spans) {
    by_key.emplace(std::pair(s.span.trace_id, s.span.span_id), &s);
  }
  for (const model::StoredSpan& s : spans) {
    if (IsZeroId(s.span.parent_span_id) || !query::InRange(range, s)) continue;
    auto parent = by_key.find(std::pair(s.span.trace_id, s.span.parent_span_id));
    if (parent == by_key.end()) {
      out.open.push_back({{s.span.trace_id, s.span.parent_span_id},
                          std::string(model::ServiceName(s)),
                          IsError(s)});
    } else if (query::InRange(range, *parent->second)) {
      out.counter.Add(model::ServiceName(*parent->second), model::ServiceName(s), 1,
                      IsError(s) ? 1 : 0);
    }
  }
  return out;
}

WrittenSpans::WrittenSpans(std::span<const model::StoredSpan* const> spans) : spans_(spans) {
  positions_.reserve(spans.size());
  for (size_t i = 0; i < spans.size(); ++i) {
    positions_.emplace(std::pair(spans[i]->span.trace_id, spans[i]->span.span_id), i);
  }
}

std::optional<size_t> WrittenSpans::Find(const TraceId& trace_id, const SpanId& span_id) const {
  auto it = positions_.find(std::pair(trace_id, span_id));
  if (it == positions_.end()) return std::nullopt;
  return it->second;
}

void StoredCalls::AddTo(BlockCalls& out) const {
  for (const Edge& e : edges) {
    out.counter.Add(services[e.parent], services[e.child], e.calls, e.errors);
  }
  for (const Open& o : open) {
    out.open.push_back({{o.trace_id, o.parent_span_id}, services[o.child], o.error});
  }
}

std::optional<StoredCalls> CallsOfBlock(const WrittenSpans& written, size_t first, size_t last) {
  StoredCalls out;
  absl::flat_hash_map<std::string_view, uint32_t> service_index;
  auto service = [&](const model::StoredSpan& s) {
    const std::string_view name = model::ServiceName(s);
    auto [it, added] = service_index.try_emplace(name, static_cast<uint32_t>(out.services.size()));
    if (added) out.services.emplace_back(name);
    return it->second;
  };
  absl::flat_hash_map<std::pair<uint32_t, uint32_t>, size_t> edge_index;
  const std::span<const model::StoredSpan* const> spans = written.spans();
  for (size_t i = first; i < last; ++i) {
    const model::StoredSpan& s = *spans[i];
    if (IsZeroId(s.span.parent_span_id)) continue;
    const std::optional<size_t> parent = written.Find(s.span.trace_id, s.span.parent_span_id);
    const uint32_t child = service(s);
    if (!parent) {
      if (out.open.size() == kMaxOpenCalls) return std::nullopt;
      out.open.push_back({s.span.trace_id, s.span.parent_span_id, child, IsError(s)});
      continue;
    }
    const model::StoredSpan& p = *spans[*parent];
    if (*parent < first || *parent >= last) {
      const uint64_t start = p.span.start_time_unix_nano;
      auto& bounds = out.outside_parents;
      bounds = bounds ? std::pair(std::min(bounds->first, start), std::max(bounds->second, start))
                      : std::pair(start, start);
    }
    const uint32_t from = service(p);
    auto [it, added] = edge_index.try_emplace(std::pair(from, child), out.edges.size());
    if (added) out.edges.push_back({from, child, 0, 0});
    StoredCalls::Edge& edge = out.edges[it->second];
    ++edge.calls;
    if (IsError(s)) ++edge.errors;
  }
  return out;
}

std::string EncodeBlockCalls(const StoredCalls& calls) {
  std::string out(1, static_cast<char>(kBlockCallsVersion));
  encoding::AppendVarint(&out, calls.services.size());
  for (const std::string& s : calls.services) {
    encoding::AppendVarint(&out, s.size());
    out.append(s);
  }
  encoding::AppendVarint(&out, calls.edges.size());
  for (const StoredCalls::Edge& e : calls.edges) {
    encoding::AppendVarint(&out, e.parent);
    encoding::AppendVarint(&out, e.child);
    encoding::AppendVarint(&out, e.calls);
    encoding::AppendVarint(&out, e.errors);
  }
  out.push_back(calls.outside_parents ? 1 : 0);
  if (calls.outside_parents) {
    encoding::AppendVarint(&out, calls.outside_parents->first);
    encoding::AppendVarint(&out, calls.outside_parents->second - calls.outside_parents->first);
  }
  encoding::AppendVarint(&out, calls.open.size());
  for (const StoredCalls::Open& o : calls.open) {
    out.append(reinterpret_cast<const char*>(o.trace_id.data()), o.trace_id.size());
    out.append(reinterpret_cast<const char*>(o.parent_span_id.data()), o.parent_span_id.size());
    encoding::AppendVarint(&out, o.child);
    out.push_back(o.error ? 1 : 0);
  }
  return out;
}

absl::StatusOr<StoredCalls> ParseBlockCalls(std::string_view bytes) {
  if (bytes.empty()) return Corrupt("empty");
  if (static_cast<uint8_t>(bytes[0]) != kBlockCallsVersion) {
    return Corrupt(fmt::format("unknown version {}", static_cast<uint8_t>(bytes[0])));
  }
  Parser in(bytes.substr(1));
  StoredCalls out;
  uint64_t n = 0;
  RETURN_IF_ERROR(in.Count(&n, 1, "services"));  // a length byte each
  out.services.resize(n);
  for (std::string& s : out.services) RETURN_IF_ERROR(in.String(&s, "service name"));
  RETURN_IF_ERROR(in.Count(&n, 4, "edges"));
  out.edges.resize(n);
  for (StoredCalls::Edge& e : out.edges) {
    RETURN_IF_ERROR(in.Index(&e.parent, out.services.size(), "parent service"));
    RETURN_IF_ERROR(in.Index(&e.child, out.services.size(), "child service"));
    RETURN_IF_ERROR(in.Varint(&e.calls, "call count"));
    RETURN_IF_ERROR(in.Varint(&e.errors, "error count"));
    if (e.calls == 0) return Corrupt("an edge without calls");
    if (e.errors > e.calls) {
      return Corrupt(fmt::format("{} errors in {} calls", e.errors, e.calls));
    }
  }
  bool outside = false;
  RETURN_IF_ERROR(in.Flag(&outside, "outside parents flag"));
  if (outside) {
    uint64_t earliest = 0, span = 0;
    RETURN_IF_ERROR(in.Varint(&earliest, "earliest outside parent"));
    RETURN_IF_ERROR(in.Varint(&span, "latest outside parent"));
    if (span > UINT64_MAX - earliest) return Corrupt("outside parents' bounds overflow");
    out.outside_parents.emplace(earliest, earliest + span);
  }
  constexpr size_t kOpenBytes = 16 + 8 + 1 + 1;
  RETURN_IF_ERROR(in.Count(&n, kOpenBytes, "open calls"));
  if (n > kMaxOpenCalls) return Corrupt(fmt::format("{} open calls, at most {}", n, kMaxOpenCalls));
  out.open.resize(n);
  for (StoredCalls::Open& o : out.open) {
    RETURN_IF_ERROR(in.Bytes(o.trace_id.data(), o.trace_id.size(), "open call's trace id"));
    RETURN_IF_ERROR(in.Bytes(o.parent_span_id.data(), o.parent_span_id.size(),
                             "open call's parent span id"));
    RETURN_IF_ERROR(in.Index(&o.child, out.services.size(), "open call's child service"));
    RETURN_IF_ERROR(in.Flag(&o.error, "open call's error flag"));
  }
  if (in.Remaining() != 0) return Corrupt(fmt::format("{} trailing bytes", in.Remaining()));
  return out;
}

}  // namespace teletrace::storage
