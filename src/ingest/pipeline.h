// The ingest pipeline: a queue bounded in bytes between the receivers and the storage writer, with
// group commit. Receivers Submit decoded, validated batches; one writer thread takes everything
// queued (up to max_batch_spans), writes it in one WriteSpans call (one transaction) and then
// completes every submitter. So an Export is answered only after its spans are durable, and
// concurrent exports share one commit.
//
// Thread safety: Submit may be called from any thread; Stop once, from one thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "common/metrics.h"
#include "model/span.h"
#include "storage/storage.h"

namespace teletrace::ingest {

struct PipelineOptions {
  size_t max_queue_bytes = 64 << 20;  // refuse new batches beyond this much queued
  size_t max_batch_spans = 16384;     // spans per commit at most
};

class Pipeline {
 public:
  // `backend` and `metrics` must outlive the pipeline. Starts the writer thread.
  Pipeline(storage::Backend* backend, PipelineOptions options, Metrics* metrics);
  ~Pipeline();  // calls Stop()

  // Queues `batch` (about `bytes` of memory; pass the encoded request size). `done` is called once:
  // - OK after the spans are committed (from the writer thread);
  // - ResourceExhausted, synchronously, when the queue is full (the caller answers with a
  //   retryable code);
  // - Unavailable, synchronously, after Stop();
  // - the backend's error when the commit failed (nothing of the batch may be assumed stored).
  void Submit(model::SpanBatch batch, size_t bytes, std::function<void(absl::Status)> done);

  // Stops accepting, commits everything queued, completes every submitter, joins the writer.
  void Stop();

  size_t QueuedBytes() const;
  size_t QueuedSpans() const;

 private:
  struct Item {
    model::SpanBatch batch;
    size_t bytes = 0;
    size_t spans = 0;
    std::function<void(absl::Status)> done;
  };
  void WriterLoop();

  storage::Backend* backend_;
  PipelineOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;     // guarded by mu_
  size_t queued_bytes_ = 0;    // guarded by mu_
  size_t queued_spans_ = 0;    // guarded by mu_
  bool stopping_ = false;      // guarded by mu_
  std::thread writer_;
  Histogram* commit_seconds_;
  Counter* commits_;
  Counter* commit_errors_;
};

}  // namespace teletrace::ingest
