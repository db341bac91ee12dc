// The ingest pipeline: a queue bounded in bytes between the receivers and the storage writer, with
// group commit. Receivers Submit decoded, validated batches; a preparer thread takes what is queued
// (up to max_batch_spans spans and max_batch_bytes bytes) and has the backend prepare it
// (Backend::PrepareWrite: for SQLite, building the blocks on all cores); a committer thread commits
// each prepared group in one transaction (Backend::CommitWrite) and then completes every submitter
// whose spans are all written. So an Export is answered only after its spans are durable,
// concurrent exports share one commit, and the next group is prepared while one commits: the
// serial part of a write is only the commit. One prepared group waits for the committer at most.
//
// A batch larger than one commit is written in slices of at most that size, and between two of its
// slices the preparer takes the other queued batches first (round robin): a giant request delays
// other exports, retention (which waits for the storage write lock) and Stop by one slice, not by
// the whole request. Each slice is its own transaction, so a failure or a Stop part-way leaves the
// earlier slices stored; storage keeps the first copy of a (trace id, span id), so the client's
// retry of the whole request stores each span once.
//
// Thread safety: Submit may be called from any thread; Stop once, from one thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "common/metrics.h"
#include "model/span.h"
#include "storage/storage.h"

namespace teletrace::ingest {

struct PipelineOptions {
  size_t max_queue_bytes = 64 << 20;  // refuse new batches beyond this much queued
  size_t max_batch_spans = 16384;     // spans per commit at most
  // Estimated in-memory span bytes (EstimatedSpanBytes) per commit at most; a single span larger
  // than this is still written, alone. Typical spans estimate at about 1 KB, so max_batch_spans
  // bounds ordinary group commits and this bounds commits of unusually large spans (8 MiB of
  // attributes commit to SQLite in about 0.6 s).
  size_t max_batch_bytes = 8 << 20;
  // How long Stop keeps committing what is queued before it fails the rest with Unavailable.
  std::chrono::milliseconds stop_timeout{5000};
};

// Roughly the memory `span` holds (strings, attributes, events, links): what bounds a commit's
// work, which is linear in it. Linear in the span's size.
size_t EstimatedSpanBytes(const model::Span& span);

class Pipeline {
 public:
  // `backend` and `metrics` must outlive the pipeline. Starts the preparer and committer threads.
  Pipeline(storage::Backend* backend, PipelineOptions options, Metrics* metrics);
  ~Pipeline();  // calls Stop()

  // Queues `batch` (about `bytes` of memory; pass the encoded request size). `done` is called once:
  // - OK after all the batch's spans are committed (from the committer thread);
  // - ResourceExhausted, synchronously, when the queue is full (the caller answers with a
  //   retryable code);
  // - Unavailable, synchronously, after Stop(); or from the pipeline's threads when Stop's timeout
  //   passed before the batch was committed (its earlier slices may be stored; a retry is
  //   harmless);
  // - the backend's error when a commit of its spans failed (its earlier slices may be stored).
  void Submit(model::SpanBatch batch, size_t bytes, std::function<void(absl::Status)> done);

  // Stops accepting and commits what is queued for up to options.stop_timeout, then completes
  // every remaining submitter with Unavailable (a group prepared but not yet committing too) and
  // joins the threads: returns within stop_timeout plus one prepare and one commit of at most
  // max_batch_spans spans and max_batch_bytes bytes.
  void Stop();

  size_t QueuedBytes() const;
  size_t QueuedSpans() const;

 private:
  struct Item {
    model::SpanBatch batch;
    size_t bytes = 0;  // the submitter's size, counted against max_queue_bytes
    size_t spans = 0;
    std::function<void(absl::Status)> done;
    // Spans not yet taken into a commit and their EstimatedSpanBytes, and where the next one is.
    size_t spans_left = 0;
    size_t span_bytes_left = 0;
    // Spans in the group being prepared or committed (so the spans stored by earlier slices are
    // spans - spans_left - spans_taken); 0 while the batch is queued.
    size_t spans_taken = 0;
    size_t resource_index = 0, scope_index = 0, span_index = 0;
    bool started() const { return spans_left != spans; }
  };
  // What one commit may still take.
  struct Budget {
    size_t spans = 0;
    size_t bytes = 0;
    bool empty() const { return spans == 0; }
  };
  // A prepared group on its way to the committer.
  struct Group {
    std::unique_ptr<storage::Backend::PreparedWrite> prepared;
    std::vector<Item> finished;  // every span of these is in the group
    std::optional<Item> partial;  // a batch part of whose spans are in it; the rest queues again
  };
  void PrepareLoop();
  void CommitLoop();
  // Completes `item` with Unavailable: Stop's timeout passed before its spans were committed.
  static void Abandon(Item& item);
  // Stops counting `item` against the queue's bounds (requires mu_).
  void UncountLocked(const Item& item);
  // Moves spans of `item` into `slice` while `budget` allows (at least one into an empty slice);
  // true when `item` has no spans left.
  bool TakeSpans(Item& item, Budget& budget, model::SpanBatch& slice) const;
  bool Fits(const Budget& budget, size_t spans, size_t bytes) const;

  storage::Backend* backend_;
  PipelineOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;     // guarded by mu_
  size_t queued_bytes_ = 0;    // guarded by mu_
  size_t queued_spans_ = 0;    // guarded by mu_
  bool stopping_ = false;      // guarded by mu_
  std::chrono::steady_clock::time_point stop_deadline_;  // guarded by mu_, set with stopping_
  // A split batch whose slice is being committed: it queues again after the commit.
  bool partial_in_flight_ = false;       // guarded by mu_
  std::optional<Group> ready_;           // guarded by mu_: prepared, for the committer
  bool preparer_done_ = false;           // guarded by mu_
  // Committed groups' prepared writes, freed by the preparer (off the commit path).
  std::vector<std::unique_ptr<storage::Backend::PreparedWrite>> spent_;  // guarded by mu_
  std::condition_variable group_cv_;     // ready_ or preparer_done_ changed
  std::thread preparer_;
  std::thread committer_;
  Histogram* prepare_seconds_;
  Histogram* commit_seconds_;
  Counter* commits_;
  Counter* commit_errors_;
};

}  // namespace teletrace::ingest
