#include "storage/memory/memory_backend.h"

#include <algorithm>
#include <array>
#include <mutex>
#include <set>
#include <vector>

#include "common/ids.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "common/uuid.h"
#include "fmt/format.h"
#include "query/engine.h"

namespace teletrace::storage::memory {
namespace {

using model::StoredSpan;

class MemoryBackend final : public Backend {
 public:
  explicit MemoryBackend(MemoryOptions options)
      : options_(std::move(options)), system_id_(NewUuidV4()) {}

  absl::Status WriteSpans(model::SpanBatch batch, uint64_t ingestion_time_unix_nano) override {
    std::vector<StoredSpan> spans = model::Flatten(std::move(batch), ingestion_time_unix_nano);
    std::lock_guard<std::mutex> lock(mu_);
    for (StoredSpan& s : spans) {
      if (stored_ids_.insert(IdOf(s)).second) spans_.push_back(std::move(s));  // first copy wins
    }
    return absl::OkStatus();
  }

  // The scan; the aggregations are the contract's generic fallback over it (scan_fallback.cc).
  absl::Status ScanSpans(const std::optional<query::TimeRange>& range,
                         const std::vector<query::Filter>& filters,
                         const std::function<void(const StoredSpan&)>& fn) override {
    query::SpanMatcher matcher(filters);
    std::lock_guard<std::mutex> lock(mu_);
    for (const StoredSpan& s : spans_) {
      if ((!range || query::InRange(*range, s)) && matcher.Matches(s)) fn(s);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<query::SearchResult> Search(const query::SearchQuery& q) override {
    query::SearchCollector collector(q);
    RETURN_IF_ERROR(ScanSpans(q.range, q.filters, [&](const StoredSpan& s) { collector.Add(s); }));
    return std::move(collector).Finish();
  }

  absl::StatusOr<query::TraceResult> GetTrace(const query::TraceQuery& q) override {
    query::TraceCollector collector(q);
    bool found = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const StoredSpan& s : spans_) {
        if (s.span.trace_id != q.trace_id) continue;
        found = true;
        collector.Add(s);
      }
    }
    if (!found) return absl::NotFoundError(fmt::format("trace {} not found", ToHex(q.trace_id)));
    return std::move(collector).Finish();
  }

  absl::StatusOr<std::string> SystemId() override { return system_id_; }

  absl::Status EnforceRetention() override {
    if (options_.retention_max_age_nano == 0) return absl::OkStatus();
    const uint64_t now = options_.now ? options_.now() : NowUnixNano();
    if (now <= options_.retention_max_age_nano) return absl::OkStatus();
    const uint64_t cutoff = now - options_.retention_max_age_nano;
    std::lock_guard<std::mutex> lock(mu_);
    auto old = [cutoff](const StoredSpan& s) { return s.span.start_time_unix_nano < cutoff; };
    for (const StoredSpan& s : spans_) {
      if (old(s)) stored_ids_.erase(IdOf(s));
    }
    spans_.erase(std::remove_if(spans_.begin(), spans_.end(), old), spans_.end());
    return absl::OkStatus();
  }

  uint64_t DiskBytes() override { return 0; }

 private:
  using SpanKey = std::array<uint8_t, 24>;  // trace id, then span id

  static SpanKey IdOf(const StoredSpan& s) {
    SpanKey key{};
    std::copy(s.span.trace_id.begin(), s.span.trace_id.end(), key.begin());
    std::copy(s.span.span_id.begin(), s.span.span_id.end(), key.begin() + 16);
    return key;
  }

  const MemoryOptions options_;
  const std::string system_id_;
  std::mutex mu_;
  std::vector<StoredSpan> spans_;  // in write order
  std::set<SpanKey> stored_ids_;
};

}  // namespace

std::unique_ptr<Backend> NewMemoryBackend(MemoryOptions options) {
  return std::make_unique<MemoryBackend>(std::move(options));
}

}  // namespace teletrace::storage::memory
