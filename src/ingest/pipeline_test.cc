#include "ingest/pipeline.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "ingest/fake_backend_for_test.h"

namespace teletrace::ingest {
namespace {

using testing::FakeBackend;
using testing::MakeBatch;

// Collects the status given to one submitter's `done`.
struct Completion {
  std::promise<absl::Status> promise;
  std::future<absl::Status> future = promise.get_future();
  std::function<void(absl::Status)> Callback() {
    return [this](absl::Status s) { promise.set_value(std::move(s)); };
  }
  bool Ready() { return future.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }
};

TEST(PipelineTest, AcknowledgesOnlyAfterWriteSpansReturned) {
  FakeBackend backend;
  Metrics metrics;
  Pipeline pipeline(&backend, PipelineOptions{}, &metrics);
  backend.Hold();
  Completion c;
  pipeline.Submit(MakeBatch(2), 100, c.Callback());
  backend.WaitForWrites(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(c.Ready());
  EXPECT_EQ(pipeline.QueuedBytes(), 100u);  // still counted while its commit is in flight
  EXPECT_EQ(pipeline.QueuedSpans(), 2u);
  backend.Release();
  EXPECT_TRUE(c.future.get().ok());
  ASSERT_EQ(backend.batches().size(), 1u);
  EXPECT_EQ(backend.batches()[0], MakeBatch(2));
  pipeline.Stop();
  EXPECT_EQ(pipeline.QueuedBytes(), 0u);
  EXPECT_EQ(pipeline.QueuedSpans(), 0u);
}

TEST(PipelineTest, GroupCommitMergesQueuedSubmissions) {
  FakeBackend backend;
  Metrics metrics;
  Pipeline pipeline(&backend, PipelineOptions{}, &metrics);
  backend.HoldPrepares();
  Completion a, b, c;
  pipeline.Submit(MakeBatch(1, 1), 10, a.Callback());
  backend.WaitForPrepares(1);  // a is being prepared; b and c queue behind it
  pipeline.Submit(MakeBatch(2, 10), 10, b.Callback());
  pipeline.Submit(MakeBatch(3, 20), 10, c.Callback());
  EXPECT_EQ(pipeline.QueuedSpans(), 6u);
  backend.ReleasePrepares();
  EXPECT_TRUE(a.future.get().ok());
  EXPECT_TRUE(b.future.get().ok());
  EXPECT_TRUE(c.future.get().ok());
  pipeline.Stop();

  std::vector<model::SpanBatch> batches = backend.batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0], MakeBatch(1, 1));
  model::SpanBatch merged = MakeBatch(2, 10);
  merged.resource_spans.push_back(MakeBatch(3, 20).resource_spans[0]);
  EXPECT_EQ(batches[1], merged);
  EXPECT_EQ(metrics.Render().find("teletrace_commits_total 2") != std::string::npos, true)
      << metrics.Render();
}

// The serial part of a write is its commit: the next group is prepared while one commits, then
// committed after it.
TEST(PipelineTest, PreparesTheNextGroupWhileOneCommits) {
  FakeBackend backend;
  Metrics metrics;
  Pipeline pipeline(&backend, PipelineOptions{}, &metrics);
  backend.Hold();
  Completion a, b;
  pipeline.Submit(MakeBatch(1, 1), 10, a.Callback());
  backend.WaitForWrites(1);  // a commits
  pipeline.Submit(MakeBatch(1, 2), 10, b.Callback());
  backend.WaitForPrepares(2);  // b is prepared meanwhile
  EXPECT_EQ(backend.writes_started(), 1);
  EXPECT_FALSE(a.Ready());
  EXPECT_FALSE(b.Ready());
  EXPECT_EQ(pipeline.QueuedSpans(), 2u);
  backend.Release();
  EXPECT_TRUE(a.future.get().ok());
  EXPECT_TRUE(b.future.get().ok());
  pipeline.Stop();
  std::vector<model::SpanBatch> batches = backend.batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0], MakeBatch(1, 1));
  EXPECT_EQ(batches[1], MakeBatch(1, 2));
}

TEST(PipelineTest, CommitTakesAtMostMaxBatchSpans) {
  FakeBackend backend;
  Metrics metrics;
  Pipeline pipeline(&backend, PipelineOptions{.max_queue_bytes = 1000, .max_batch_spans = 3},
                    &metrics);
  backend.HoldPrepares();
  Completion a, b, c, d, e;
  pipeline.Submit(MakeBatch(1, 1), 10, a.Callback());
  backend.WaitForPrepares(1);
  pipeline.Submit(MakeBatch(2, 10), 10, b.Callback());
  pipeline.Submit(MakeBatch(2, 20), 10, c.Callback());
  pipeline.Submit(MakeBatch(1, 30), 10, d.Callback());
  pipeline.Submit(MakeBatch(5, 40), 10, e.Callback());  // larger than a commit: split
  backend.ReleasePrepares();
  for (Completion* x : {&a, &b, &c, &d, &e}) EXPECT_TRUE(x->future.get().ok());
  pipeline.Stop();
  std::vector<model::SpanBatch> batches = backend.batches();
  ASSERT_EQ(batches.size(), 5u);
  EXPECT_EQ(batches[0].SpanCount(), 1u);
  EXPECT_EQ(batches[1].SpanCount(), 2u);  // b; c would make 4
  EXPECT_EQ(batches[2].SpanCount(), 3u);  // c + d
  EXPECT_EQ(batches[2].resource_spans.size(), 2u);
  // e in two slices, each with its own copy of the resource and scope.
  model::SpanBatch first = MakeBatch(3, 40);
  model::SpanBatch rest = MakeBatch(2, 43);
  EXPECT_EQ(batches[3], first);
  EXPECT_EQ(batches[4], rest);
}

// Records the order in which submitters were completed, and with what.
class CompletionLog {
 public:
  std::function<void(absl::Status)> Callback(std::string name) {
    return [this, name = std::move(name)](absl::Status s) {
      std::lock_guard<std::mutex> lock(mu_);
      entries_.push_back(s.ok() ? name : name + ": " + s.ToString());
      cv_.notify_all();
    };
  }
  std::vector<std::string> WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return entries_.size() >= n; });
    return entries_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> entries_;
};

TEST(PipelineTest, SplitsABatchLargerThanACommitAndAcknowledgesAfterItsLastSlice) {
  FakeBackend backend;
  Metrics metrics;
  Pipeline pipeline(&backend, PipelineOptions{.max_queue_bytes = 1000, .max_batch_spans = 4},
                    &metrics);
  backend.Hold();
  Completion giant;
  pipeline.Submit(MakeBatch(10, 1), 500, giant.Callback());
  backend.WaitForWrites(1);
  EXPECT_FALSE(giant.Ready());
  EXPECT_EQ(pipeline.QueuedBytes(), 500u);
  backend.Release();
  EXPECT_TRUE(giant.future.get().ok());
  pipeline.Stop();
  std::vector<model::SpanBatch> batches = backend.batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0], MakeBatch(4, 1));
  EXPECT_EQ(batches[1], MakeBatch(4, 5));
  EXPECT_EQ(batches[2], MakeBatch(2, 9));
  EXPECT_EQ(pipeline.QueuedBytes(), 0u);
  EXPECT_EQ(pipeline.QueuedSpans(), 0u);
}

TEST(PipelineTest, SplitsByEstimatedBytesSoHugeSpansGoOneACommit) {
  FakeBackend backend;
  Metrics metrics;
  Pipeline pipeline(&backend,
                    PipelineOptions{.max_queue_bytes = 1 << 30,
                                    .max_batch_spans = 16384,
                                    .max_batch_bytes = 1 << 20},
                    &metrics);
  // Three spans of 20,000 attributes each (~0.9 MB apiece in memory): two exceed the budget.
  model::SpanBatch batch = MakeBatch(3, 1);
  for (model::Span& span : batch.resource_spans[0].scope_spans[0].spans) {
    for (int i = 0; i < 20000; ++i) span.attributes.push_back({fmt::format("k{}", i), int64_t{i}});
  }
  ASSERT_GT(EstimatedSpanBytes(batch.resource_spans[0].scope_spans[0].spans[0]), 1u << 19);
  Completion c;
  pipeline.Submit(batch, 1000, c.Callback());
  EXPECT_TRUE(c.future.get().ok());
  pipeline.Stop();
  std::vector<model::SpanBatch> batches = backend.batches();
  ASSERT_EQ(batches.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_EQ(batches[i].SpanCount(), 1u);
    const model::Span& got = batches[i].resource_spans[0].scope_spans[0].spans[0];
    EXPECT_EQ(got, batch.resource_spans[0].scope_spans[0].spans[i]);
  }
}

// The attack: one giant request must not make other exports wait for all of it. The small export
// submitted while the giant one's first slice is being written is committed right after that slice,
// before the giant one's remaining slices.
TEST(PipelineTest, SmallExportIsCommittedBetweenTheSlicesOfAGiantOne) {
  FakeBackend backend;
  Metrics metrics;
  Pipeline pipeline(&backend, PipelineOptions{.max_queue_bytes = 1 << 20, .max_batch_spans = 10},
                    &metrics);
  CompletionLog log;
  backend.Hold();
  pipeline.Submit(MakeBatch(100, 1), 1000, log.Callback("giant"));
  backend.WaitForWrites(1);  // the giant's first slice is being written
  pipeline.Submit(MakeBatch(1, 500), 10, log.Callback("small"));
  backend.Release();
  EXPECT_EQ(log.WaitFor(2), (std::vector<std::string>{"small", "giant"}));
  pipeline.Stop();
  std::vector<model::SpanBatch> batches = backend.batches();
  ASSERT_EQ(batches.size(), 11u);
  EXPECT_EQ(batches[0], MakeBatch(10, 1));
  EXPECT_EQ(batches[1], MakeBatch(1, 500));  // alone: the giant's rest would not fit beside it
  for (size_t i = 2; i < 11; ++i) {
    EXPECT_EQ(batches[i], MakeBatch(10, static_cast<int>(1 + 10 * (i - 1)))) << i;
  }
}

TEST(PipelineTest, AFailedSliceFailsItsBatchAndWritesNoMoreOfIt) {
  FakeBackend backend;
  Metrics metrics;
  Pipeline pipeline(&backend, PipelineOptions{.max_queue_bytes = 1000, .max_batch_spans = 3},
                    &metrics);
  backend.FailNext(absl::OkStatus());
  backend.FailNext(absl::InternalError("sqlite: write batch of 3 spans: disk I/O error"));
  Completion giant, next;
  pipeline.Submit(MakeBatch(10, 1), 100, giant.Callback());
  absl::Status s = giant.future.get();
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(s.message(), "sqlite: write batch of 3 spans: disk I/O error");
  EXPECT_EQ(backend.batches().size(), 2u);
  EXPECT_EQ(pipeline.QueuedBytes(), 0u);
  EXPECT_EQ(pipeline.QueuedSpans(), 0u);
  pipeline.Submit(MakeBatch(1, 50), 10, next.Callback());
  EXPECT_TRUE(next.future.get().ok());
  pipeline.Stop();
  EXPECT_EQ(backend.batches().size(), 3u);
}

// SIGTERM during a giant request: Stop returns after the slice in flight, once its timeout has
// passed, and the unwritten rest of the request is refused as retryable.
TEST(PipelineTest, StopReturnsAfterTheSliceInFlightOnceItsTimeoutPassed) {
  FakeBackend backend;
  Metrics metrics;
  Pipeline pipeline(&backend,
                    PipelineOptions{.max_queue_bytes = 1 << 20,
                                    .max_batch_spans = 10,
                                    .stop_timeout = std::chrono::milliseconds(0)},
                    &metrics);
  backend.Hold();
  Completion giant, queued;
  pipeline.Submit(MakeBatch(100, 1), 1000, giant.Callback());
  backend.WaitForWrites(1);
  pipeline.Submit(MakeBatch(1, 500), 10, queued.Callback());
  std::thread stopper([&] { pipeline.Stop(); });
  // Wait until Stop has taken effect (a refusal), so the writer sees it after this slice.
  std::vector<std::unique_ptr<Completion>> admitted;  // queued before Stop: refused like `queued`
  for (;;) {
    auto probe = std::make_unique<Completion>();
    pipeline.Submit(MakeBatch(1, 900), 0, probe->Callback());
    if (probe->Ready()) break;
    admitted.push_back(std::move(probe));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  backend.Release();
  stopper.join();
  absl::Status s = giant.future.get();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(),
            "ingest pipeline stopped before committing this batch (10 of 100 spans stored); retry");
  absl::Status q = queued.future.get();
  EXPECT_EQ(q.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(q.message(),
            "ingest pipeline stopped before committing this batch (0 of 1 spans stored); retry");
  for (auto& probe : admitted) {
    EXPECT_EQ(probe->future.get().code(), absl::StatusCode::kUnavailable);
  }
  EXPECT_EQ(backend.batches().size(), 1u);
  EXPECT_EQ(backend.batches()[0], MakeBatch(10, 1));
  EXPECT_EQ(pipeline.QueuedBytes(), 0u);
  EXPECT_EQ(pipeline.QueuedSpans(), 0u);
}

TEST(PipelineTest, RefusesSynchronouslyWhenQueueFull) {
  FakeBackend backend;
  Metrics metrics;
  Pipeline pipeline(&backend, PipelineOptions{.max_queue_bytes = 100, .max_batch_spans = 16384},
                    &metrics);
  backend.Hold();
  Completion a, b, c;
  pipeline.Submit(MakeBatch(1), 60, a.Callback());
  backend.WaitForWrites(1);
  pipeline.Submit(MakeBatch(1, 2), 40, b.Callback());  // exactly at the limit: admitted
  pipeline.Submit(MakeBatch(1, 3), 1, c.Callback());
  ASSERT_TRUE(c.Ready());  // refused before Submit returned
  absl::Status refused = c.future.get();
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.message(), "ingest queue full: 100 of 100 bytes queued; retry later");
  EXPECT_EQ(pipeline.QueuedBytes(), 100u);
  EXPECT_EQ(pipeline.QueuedSpans(), 2u);
  backend.Release();
  EXPECT_TRUE(a.future.get().ok());
  EXPECT_TRUE(b.future.get().ok());
  pipeline.Stop();
  EXPECT_EQ(backend.batches().size(), 2u);
}

TEST(PipelineTest, AdmitsOneOversizedBatchIntoAnEmptyQueue) {
  FakeBackend backend;
  Metrics metrics;
  Pipeline pipeline(&backend, PipelineOptions{.max_queue_bytes = 100, .max_batch_spans = 16384},
                    &metrics);
  Completion a;
  pipeline.Submit(MakeBatch(1), 500, a.Callback());
  EXPECT_TRUE(a.future.get().ok());
}

TEST(PipelineTest, BackendErrorGoesToEverySubmitterOfThatCommit) {
  FakeBackend backend;
  Metrics metrics;
  Pipeline pipeline(&backend, PipelineOptions{}, &metrics);
  backend.HoldPrepares();
  backend.FailNext(absl::OkStatus());
  backend.FailNext(absl::InternalError("sqlite: write batch of 3 spans: disk I/O error"));
  Completion a, b, c, d;
  pipeline.Submit(MakeBatch(1, 1), 10, a.Callback());
  backend.WaitForPrepares(1);
  pipeline.Submit(MakeBatch(1, 2), 10, b.Callback());
  pipeline.Submit(MakeBatch(2, 3), 10, c.Callback());
  backend.ReleasePrepares();
  EXPECT_TRUE(a.future.get().ok());
  for (Completion* x : {&b, &c}) {
    absl::Status s = x->future.get();
    EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
    EXPECT_EQ(s.message(), "sqlite: write batch of 3 spans: disk I/O error");
  }
  pipeline.Submit(MakeBatch(1, 9), 10, d.Callback());  // the next commit succeeds again
  EXPECT_TRUE(d.future.get().ok());
  pipeline.Stop();
  std::string rendered = metrics.Render();
  EXPECT_NE(rendered.find("teletrace_commits_total 3"), std::string::npos) << rendered;
  EXPECT_NE(rendered.find("teletrace_commit_errors_total 1"), std::string::npos) << rendered;
  EXPECT_NE(rendered.find("teletrace_commit_duration_seconds_count 3"), std::string::npos)
      << rendered;
  EXPECT_NE(rendered.find("teletrace_prepare_duration_seconds_count 3"), std::string::npos)
      << rendered;
}

TEST(PipelineTest, StopDrainsThenRefusesWithUnavailable) {
  FakeBackend backend;
  Metrics metrics;
  Pipeline pipeline(&backend, PipelineOptions{.max_queue_bytes = 1000, .max_batch_spans = 1},
                    &metrics);
  backend.Hold();
  Completion a, b, c, late;
  pipeline.Submit(MakeBatch(1, 1), 10, a.Callback());
  backend.WaitForWrites(1);
  pipeline.Submit(MakeBatch(1, 2), 10, b.Callback());
  pipeline.Submit(MakeBatch(1, 3), 10, c.Callback());
  std::thread stopper([&] { pipeline.Stop(); });
  // Probe until Stop has taken effect. The writer is held inside a's commit, so an admitted probe
  // stays pending (it will be drained like b and c) and a refusal is the only ready outcome.
  std::vector<std::unique_ptr<Completion>> admitted;
  absl::Status refusal;
  for (;;) {
    auto probe = std::make_unique<Completion>();
    pipeline.Submit(MakeBatch(1, 50), 1, probe->Callback());
    if (probe->Ready()) {
      refusal = probe->future.get();
      break;
    }
    admitted.push_back(std::move(probe));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(refusal.code(), absl::StatusCode::kUnavailable);
  backend.Release();
  stopper.join();
  for (Completion* x : {&a, &b, &c}) EXPECT_TRUE(x->future.get().ok());
  for (auto& probe : admitted) EXPECT_TRUE(probe->future.get().ok());
  EXPECT_EQ(backend.batches().size(), 3u + admitted.size());
  pipeline.Submit(MakeBatch(1, 4), 10, late.Callback());
  ASSERT_TRUE(late.Ready());
  absl::Status s = late.future.get();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "ingest pipeline is stopping: not accepting spans");
  EXPECT_EQ(pipeline.QueuedBytes(), 0u);
  pipeline.Stop();  // a second Stop is harmless
}

TEST(PipelineTest, ConcurrentSubmittersAllComplete) {
  FakeBackend backend;
  Metrics metrics;
  Pipeline pipeline(&backend, PipelineOptions{.max_queue_bytes = 1 << 20, .max_batch_spans = 64},
                    &metrics);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::promise<void> committed;
        pipeline.Submit(MakeBatch(2, t * 1000 + i * 2), 64, [&](absl::Status s) {
          if (s.ok()) ok.fetch_add(1);
          committed.set_value();
        });
        committed.get_future().wait();
      }
    });
  }
  for (auto& t : threads) t.join();
  pipeline.Stop();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  size_t spans = 0;
  for (const auto& b : backend.batches()) spans += b.SpanCount();
  EXPECT_EQ(spans, static_cast<size_t>(2 * kThreads * kPerThread));
}

}  // namespace
}  // namespace teletrace::ingest
