#include <algorithm>
#include <cstring>
#include <tuple>
#include <unordered_set>
#include <utility>

#include "query/engine.h"

namespace teletrace::query {
namespace {

// A span's place in a trace: start time, then span id (unique within a trace after dedupe).
using TracePosition = std::pair<uint64_t, SpanId>;

// A candidate span: its position and where its copy sits in State::spans. Sorting these small
// records, then moving each span once into the result, is far cheaper than keeping the spans
// themselves in an ordered tree.
struct Entry {
  uint64_t start_time_unix_nano;
  SpanId span_id;
  size_t index;  // into State::spans; kNotKept for a span before the cursor

  TracePosition Position() const { return {start_time_unix_nano, span_id}; }
  bool operator<(const Entry& o) const {
    return std::tie(start_time_unix_nano, span_id) < std::tie(o.start_time_unix_nano, o.span_id);
  }
};

constexpr size_t kNotKept = static_cast<size_t>(-1);

uint64_t SpanIdKey(const SpanId& id) {
  uint64_t key;
  std::memcpy(&key, id.data(), sizeof(key));
  return key;
}

}  // namespace

struct TraceCollector::State {
  TraceQuery query;
  // Candidates in arrival order. Without a page size, every span after the cursor (a trace is
  // never truncated). With one, Trim keeps them to the first page_size + 1 after the cursor (the
  // extra one proves a next page exists), so memory stays bounded by the page, not the trace.
  std::vector<model::StoredSpan> spans;
  // Without a page size: one entry per span added, in arrival order (so duplicates can be resolved
  // in Finish by one sort instead of a hash lookup per span). With one: one per element of spans,
  // in any order.
  std::vector<Entry> entries;
  // With a page size, every span id added (the first copy of a span wins): dropping duplicates as
  // they arrive is what lets Trim bound the candidates.
  std::unordered_set<uint64_t> seen;
  // With a page size, once a trim has happened: spans at or past this position cannot enter it.
  std::optional<TracePosition> bound;

  template <typename S>
  void Add(S&& span);
  // Keeps only the page_size + 1 smallest candidates and sets `bound` to the largest of them.
  void Trim();
  // Without a page size: drops every copy of a span id but the first added, and the spans before
  // the cursor.
  void Dedupe();
};

template <typename S>
void TraceCollector::State::Add(S&& span) {
  const TracePosition position{span.span.start_time_unix_nano, span.span.span_id};
  const bool after_cursor =
      !query.after.has_value() ||
      position > TracePosition{query.after->sort_value, query.after->span_id};
  if (query.page_size == 0) {
    entries.push_back({position.first, position.second, after_cursor ? spans.size() : kNotKept});
    if (after_cursor) spans.push_back(std::forward<S>(span));
    return;
  }
  if (!seen.insert(SpanIdKey(span.span.span_id)).second) return;
  if (!after_cursor) return;
  if (bound.has_value() && position >= *bound) return;
  entries.push_back({position.first, position.second, spans.size()});
  spans.push_back(std::forward<S>(span));
  // Trimming at twice the page keeps the cost per added span constant.
  if (entries.size() >= 2 * (query.page_size + 1)) Trim();
}

void TraceCollector::State::Dedupe() {
  // Entries are in arrival order, so a stable sort by span id puts each id's first copy first.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.span_id < b.span_id; });
  size_t out = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const bool first_copy = i == 0 || entries[i].span_id != entries[i - 1].span_id;
    if (first_copy && entries[i].index != kNotKept) entries[out++] = entries[i];
  }
  entries.resize(out);
}

void TraceCollector::State::Trim() {
  const size_t keep = query.page_size + 1;
  std::nth_element(entries.begin(), entries.begin() + (keep - 1), entries.end());
  bound = entries[keep - 1].Position();
  entries.resize(keep);
  std::vector<model::StoredSpan> kept;
  kept.reserve(2 * keep);
  for (Entry& e : entries) {
    kept.push_back(std::move(spans[e.index]));
    e.index = kept.size() - 1;
  }
  spans = std::move(kept);
}

TraceCollector::TraceCollector(const TraceQuery& query) : state_(std::make_shared<State>()) {
  state_->query = query;
}

void TraceCollector::Add(const model::StoredSpan& span) { state_->Add(span); }

void TraceCollector::Add(model::StoredSpan&& span) { state_->Add(std::move(span)); }

TraceResult TraceCollector::Finish() && {
  State& st = *state_;
  if (st.query.page_size == 0) st.Dedupe();
  // Positions are unique (span ids are, after dedupe), so the order is total without a tiebreak.
  std::sort(st.entries.begin(), st.entries.end());
  TraceResult result;
  const size_t page_size = st.query.page_size;
  const size_t n = page_size == 0 ? st.entries.size() : std::min(page_size, st.entries.size());
  result.spans.reserve(n);
  for (size_t i = 0; i < n; ++i) result.spans.push_back(std::move(st.spans[st.entries[i].index]));
  if (n < st.entries.size()) {
    result.next = Cursor{st.entries[n - 1].start_time_unix_nano, st.query.trace_id,
                         st.entries[n - 1].span_id};
  }
  return result;
}

}  // namespace teletrace::query
