// Test support: the reference backend (storage/memory) with hooks for the code under test's
// observers. WriteSpans (which CommitWrite calls) records each batch, can be held inside the call
// (to observe what happens while a commit is in flight) and can be told to fail; PrepareWrite can
// be held too (so that batches queue up behind it and go into one group); what it accepts is
// stored in the reference backend, so every reader method answers as a real store would. Thread
// safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "storage/memory/memory_backend.h"
#include "storage/storage.h"

namespace teletrace::ingest::testing {

class FakeBackend : public storage::Backend {
 public:
  absl::Status WriteSpans(model::SpanBatch batch, uint64_t ingestion_time_unix_nano) override {
    std::unique_lock<std::mutex> lock(mu_);
    Pass(writes_, lock);
    absl::Status status;
    if (!statuses_.empty()) {
      status = statuses_.front();
      statuses_.pop_front();
    }
    batches_.push_back(batch);
    if (status.ok()) status = store_->WriteSpans(std::move(batch), ingestion_time_unix_nano);
    return status;
  }

  std::unique_ptr<PreparedWrite> PrepareWrite(model::SpanBatch batch,
                                              uint64_t ingestion_time_unix_nano) override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      Pass(prepares_, lock);
    }
    return Backend::PrepareWrite(std::move(batch), ingestion_time_unix_nano);
  }

  // While held, WriteSpans waits after counting itself as started.
  void Hold() { SetHeld(writes_, true); }
  void Release() { SetHeld(writes_, false); }
  // Waits until `n` WriteSpans calls have started.
  void WaitForWrites(int n) { WaitForStarts(writes_, n); }

  // While held, PrepareWrite waits after counting itself as started.
  void HoldPrepares() { SetHeld(prepares_, true); }
  void ReleasePrepares() { SetHeld(prepares_, false); }
  // Waits until `n` PrepareWrite calls have started.
  void WaitForPrepares(int n) { WaitForStarts(prepares_, n); }

  // The next WriteSpans calls return these, in order; then OK.
  void FailNext(absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    statuses_.push_back(std::move(status));
  }
  std::vector<model::SpanBatch> batches() const {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_;
  }
  int writes_started() const {
    std::lock_guard<std::mutex> lock(mu_);
    return writes_.started;
  }

  absl::StatusOr<query::SearchResult> Search(const query::SearchQuery& q) override {
    return store_->Search(q);
  }
  absl::StatusOr<query::TraceResult> GetTrace(const query::TraceQuery& q) override {
    return store_->GetTrace(q);
  }
  absl::StatusOr<std::vector<query::TagInfo>> TagKeys(const query::TagKeysQuery& q) override {
    return store_->TagKeys(q);
  }
  absl::StatusOr<query::TagValuesResult> TagValues(const query::TagValuesQuery& q) override {
    return store_->TagValues(q);
  }
  absl::StatusOr<query::StatisticsResult> Statistics(const query::StatisticsQuery& q) override {
    return store_->Statistics(q);
  }
  absl::StatusOr<query::HistogramResult> Histograms(const query::HistogramQuery& q) override {
    return store_->Histograms(q);
  }
  absl::StatusOr<std::string> SystemId() override { return store_->SystemId(); }
  absl::Status EnforceRetention() override { return store_->EnforceRetention(); }
  uint64_t DiskBytes() override { return 0; }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // A point inside a call where tests can count the calls and hold them (guarded by mu_).
  struct Gate {
    bool held = false;
    int started = 0;
  };
  void Pass(Gate& gate, std::unique_lock<std::mutex>& lock) {
    ++gate.started;
    cv_.notify_all();
    cv_.wait(lock, [&gate] { return !gate.held; });
  }
  void SetHeld(Gate& gate, bool held) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      gate.held = held;
    }
    cv_.notify_all();
  }
  void WaitForStarts(Gate& gate, int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return gate.started >= n; });
  }
  Gate writes_;
  Gate prepares_;
  std::deque<absl::Status> statuses_;
  std::vector<model::SpanBatch> batches_;
  const std::unique_ptr<storage::Backend> store_ = storage::memory::NewMemoryBackend();
};

// A batch of `n` valid spans under one resource and scope, with span ids 1..n (+ `first_id` - 1).
inline model::SpanBatch MakeBatch(int n, int first_id = 1) {
  model::SpanBatch batch;
  model::ResourceSpans& rs = batch.resource_spans.emplace_back();
  rs.resource.attributes.push_back({"service.name", "test"});
  model::ScopeSpans& ss = rs.scope_spans.emplace_back();
  for (int i = 0; i < n; ++i) {
    model::Span& span = ss.spans.emplace_back();
    span.trace_id[15] = 1;
    span.span_id[7] = static_cast<uint8_t>(first_id + i);
    span.span_id[6] = static_cast<uint8_t>((first_id + i) >> 8);
    span.name = "op";
    span.start_time_unix_nano = 100;
    span.end_time_unix_nano = 200;
  }
  return batch;
}

}  // namespace teletrace::ingest::testing
