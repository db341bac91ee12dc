#include "ingest/pipeline.h"

#include <chrono>
#include <utility>
#include <vector>

#include "common/time_util.h"
#include "fmt/format.h"

namespace teletrace::ingest {

Pipeline::Pipeline(storage::Backend* backend, PipelineOptions options, Metrics* metrics)
    : backend_(backend),
      options_(options),
      commit_seconds_(metrics->AddHistogram(
          "teletrace_commit_duration_seconds", "Time to commit one group of batches to storage",
          {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})),
      commits_(metrics->AddCounter("teletrace_commits_total", "Group commits to storage")),
      commit_errors_(
          metrics->AddCounter("teletrace_commit_errors_total", "Group commits that failed")) {
  writer_ = std::thread([this] { WriterLoop(); });
}

Pipeline::~Pipeline() { Stop(); }

void Pipeline::Submit(model::SpanBatch batch, size_t bytes,
                      std::function<void(absl::Status)> done) {
  absl::Status refusal;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      refusal = absl::UnavailableError("ingest pipeline is stopping: not accepting spans");
    } else if (queued_bytes_ > 0 && queued_bytes_ + bytes > options_.max_queue_bytes) {
      // An empty queue admits any one batch, so a request larger than the limit (the HTTP and gRPC
      // size caps still bound it) is not refused forever.
      refusal = absl::ResourceExhaustedError(
          fmt::format("ingest queue full: {} of {} bytes queued; retry later", queued_bytes_,
                      options_.max_queue_bytes));
    } else {
      size_t spans = batch.SpanCount();
      queued_bytes_ += bytes;
      queued_spans_ += spans;
      queue_.push_back(Item{std::move(batch), bytes, spans, std::move(done)});
    }
  }
  if (!refusal.ok()) {
    done(std::move(refusal));
    return;
  }
  cv_.notify_one();
}

void Pipeline::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (writer_.joinable()) writer_.join();
}

size_t Pipeline::QueuedBytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_bytes_;
}

size_t Pipeline::QueuedSpans() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_spans_;
}

void Pipeline::WriterLoop() {
  std::vector<Item> group;
  for (;;) {
    group.clear();
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is drained
      // Take whole batches up to max_batch_spans; a single larger batch still goes (alone).
      size_t spans = 0;
      while (!queue_.empty() &&
             (group.empty() || spans + queue_.front().spans <= options_.max_batch_spans)) {
        spans += queue_.front().spans;
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }

    model::SpanBatch merged;
    size_t group_bytes = 0;
    size_t group_spans = 0;
    for (Item& item : group) {
      group_bytes += item.bytes;
      group_spans += item.spans;
      for (model::ResourceSpans& rs : item.batch.resource_spans) {
        merged.resource_spans.push_back(std::move(rs));
      }
    }
    auto started = std::chrono::steady_clock::now();
    absl::Status status = backend_->WriteSpans(std::move(merged), NowUnixNano());
    commit_seconds_->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    commits_->Add();
    if (!status.ok()) commit_errors_->Add();

    {
      // The group's memory stays counted until the commit is over, so the bound covers it too.
      std::lock_guard<std::mutex> lock(mu_);
      queued_bytes_ -= group_bytes;
      queued_spans_ -= group_spans;
    }
    for (Item& item : group) item.done(status);
  }
}

}  // namespace teletrace::ingest
