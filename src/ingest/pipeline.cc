#include "ingest/pipeline.h"

#include <chrono>
#include <utility>
#include <variant>
#include <vector>

#include "common/time_util.h"
#include "fmt/format.h"

namespace teletrace::ingest {
namespace {

size_t AttributesBytes(const model::KeyValueList& attributes);

size_t ValueBytes(const model::AnyValue& v) {
  size_t n = sizeof(model::AnyValue);
  if (const auto* s = std::get_if<std::string>(&v.value)) {
    n += s->size();
  } else if (const auto* b = std::get_if<model::Bytes>(&v.value)) {
    n += b->data.size();
  } else if (const auto* array = std::get_if<model::ArrayValue>(&v.value)) {
    for (const model::AnyValue& element : *array) n += ValueBytes(element);
  } else if (const auto* kvs = std::get_if<model::KeyValueList>(&v.value)) {
    n += AttributesBytes(*kvs);
  }
  return n;
}

size_t AttributesBytes(const model::KeyValueList& attributes) {
  size_t n = 0;
  for (const model::KeyValue& kv : attributes) n += kv.key.size() + ValueBytes(kv.value);
  return n;
}

}  // namespace

size_t EstimatedSpanBytes(const model::Span& span) {
  size_t n = sizeof(model::Span) + span.trace_state.size() + span.name.size() +
             span.status.message.size() + AttributesBytes(span.attributes);
  for (const model::Event& e : span.events) {
    n += sizeof(model::Event) + e.name.size() + AttributesBytes(e.attributes);
  }
  for (const model::Link& l : span.links) {
    n += sizeof(model::Link) + l.trace_state.size() + AttributesBytes(l.attributes);
  }
  return n;
}

Pipeline::Pipeline(storage::Backend* backend, PipelineOptions options, Metrics* metrics)
    : backend_(backend),
      options_(options),
      prepare_seconds_(metrics->AddHistogram(
          "teletrace_prepare_duration_seconds",
          "Time to prepare one group of batches for its commit (e.g. build its blocks)",
          {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})),
      commit_seconds_(metrics->AddHistogram(
          "teletrace_commit_duration_seconds", "Time to commit one group of batches to storage",
          {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})),
      commits_(metrics->AddCounter("teletrace_commits_total", "Group commits to storage")),
      commit_errors_(
          metrics->AddCounter("teletrace_commit_errors_total", "Group commits that failed")) {
  preparer_ = std::thread([this] { PrepareLoop(); });
  committer_ = std::thread([this] { CommitLoop(); });
}

Pipeline::~Pipeline() { Stop(); }

void Pipeline::Submit(model::SpanBatch batch, size_t bytes,
                      std::function<void(absl::Status)> done) {
  // Sized here, on the receiver's thread, so the pipeline's threads spend theirs on writes.
  size_t spans = 0;
  size_t span_bytes = 0;
  for (const model::ResourceSpans& rs : batch.resource_spans) {
    for (const model::ScopeSpans& ss : rs.scope_spans) {
      spans += ss.spans.size();
      for (const model::Span& span : ss.spans) span_bytes += EstimatedSpanBytes(span);
    }
  }
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
      queued_bytes_ += bytes;
      queued_spans_ += spans;
      Item& item = queue_.emplace_back();
      item.batch = std::move(batch);
      item.bytes = bytes;
      item.spans = spans;
      item.done = std::move(done);
      item.spans_left = spans;
      item.span_bytes_left = span_bytes;
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
    if (!stopping_) {
      stopping_ = true;
      stop_deadline_ = std::chrono::steady_clock::now() + options_.stop_timeout;
    }
  }
  cv_.notify_one();
  if (preparer_.joinable()) preparer_.join();
  if (committer_.joinable()) committer_.join();
}

size_t Pipeline::QueuedBytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_bytes_;
}

size_t Pipeline::QueuedSpans() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_spans_;
}

bool Pipeline::Fits(const Budget& budget, size_t spans, size_t bytes) const {
  return budget.spans + spans <= options_.max_batch_spans &&
         budget.bytes + bytes <= options_.max_batch_bytes;
}

bool Pipeline::TakeSpans(Item& item, Budget& budget, model::SpanBatch& slice) const {
  if (!item.started() && Fits(budget, item.spans_left, item.span_bytes_left)) {
    for (model::ResourceSpans& rs : item.batch.resource_spans) {
      slice.resource_spans.push_back(std::move(rs));
    }
    budget.spans += item.spans_left;
    budget.bytes += item.span_bytes_left;
    item.spans_left = 0;
    item.span_bytes_left = 0;
    return true;
  }
  // Span by span: each slice carries its own copy of the resource and scope of the spans it takes
  // (a cost per slice linear in them, and slices are few: each is full but the last).
  std::vector<model::ResourceSpans>& resource_spans = item.batch.resource_spans;
  for (; item.resource_index < resource_spans.size();
       ++item.resource_index, item.scope_index = 0) {
    model::ResourceSpans& rs = resource_spans[item.resource_index];
    model::ResourceSpans* out_rs = nullptr;
    for (; item.scope_index < rs.scope_spans.size(); ++item.scope_index, item.span_index = 0) {
      model::ScopeSpans& ss = rs.scope_spans[item.scope_index];
      model::ScopeSpans* out_ss = nullptr;
      for (; item.span_index < ss.spans.size(); ++item.span_index) {
        model::Span& span = ss.spans[item.span_index];
        const size_t bytes = EstimatedSpanBytes(span);
        if (!budget.empty() && !Fits(budget, 1, bytes)) return false;
        if (out_rs == nullptr) {
          out_rs = &slice.resource_spans.emplace_back();
          out_rs->resource = rs.resource;
        }
        if (out_ss == nullptr) {
          out_ss = &out_rs->scope_spans.emplace_back();
          out_ss->scope = ss.scope;
        }
        out_ss->spans.push_back(std::move(span));
        budget.spans += 1;
        budget.bytes += bytes;
        item.spans_left -= 1;
        item.span_bytes_left -= bytes;
      }
    }
  }
  return true;
}

void Pipeline::Abandon(Item& item) {
  item.done(absl::UnavailableError(fmt::format(
      "ingest pipeline stopped before committing this batch ({} of {} spans stored); retry",
      item.spans - item.spans_left - item.spans_taken, item.spans)));
}

void Pipeline::UncountLocked(const Item& item) {
  queued_bytes_ -= item.bytes;
  queued_spans_ -= item.spans;
}

void Pipeline::PrepareLoop() {
  for (;;) {
    Group group;
    std::deque<Item> abandoned;  // Stop's timeout passed before these were committed
    model::SpanBatch slice;
    std::vector<std::unique_ptr<storage::Backend::PreparedWrite>> spent;  // freed outside mu_
    {
      std::unique_lock<std::mutex> lock(mu_);
      spent.swap(spent_);
      // A split batch's slice in flight comes back to the queue after its commit, so stopping
      // waits for it.
      cv_.wait(lock, [this] { return !queue_.empty() || (stopping_ && !partial_in_flight_); });
      if (queue_.empty()) {  // stopping, and everything is drained
        preparer_done_ = true;
        group_cv_.notify_all();
        return;
      }
      if (stopping_ && std::chrono::steady_clock::now() >= stop_deadline_) {
        abandoned.swap(queue_);
        for (const Item& item : abandoned) UncountLocked(item);
      } else {
        // Whole batches while they fit (group commit); a batch too large for a commit of its own
        // is split, and only when it comes first.
        Budget budget;
        while (!queue_.empty()) {
          Item& front = queue_.front();
          if (!budget.empty() && !Fits(budget, front.spans_left, front.span_bytes_left)) break;
          const size_t left = front.spans_left;
          const bool whole = TakeSpans(front, budget, slice);
          front.spans_taken = left - front.spans_left;
          if (whole) {
            group.finished.push_back(std::move(front));
          } else {
            group.partial = std::move(front);
            partial_in_flight_ = true;
          }
          queue_.pop_front();
          if (group.partial.has_value()) break;
        }
      }
    }
    spent.clear();
    for (Item& item : abandoned) Abandon(item);
    if (!abandoned.empty()) continue;

    auto started = std::chrono::steady_clock::now();
    group.prepared = backend_->PrepareWrite(std::move(slice), NowUnixNano());
    prepare_seconds_->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    std::unique_lock<std::mutex> lock(mu_);
    group_cv_.wait(lock, [this] { return !ready_.has_value(); });
    ready_ = std::move(group);
    group_cv_.notify_all();
  }
}

void Pipeline::CommitLoop() {
  for (;;) {
    Group group;
    bool abandoned = false;  // Stop's timeout passed while the group waited: it is not committed
    {
      std::unique_lock<std::mutex> lock(mu_);
      group_cv_.wait(lock, [this] { return ready_.has_value() || preparer_done_; });
      if (!ready_.has_value()) return;
      group = std::move(*ready_);
      ready_.reset();
      abandoned = stopping_ && std::chrono::steady_clock::now() >= stop_deadline_;
    }
    group_cv_.notify_all();  // the preparer may hand over its next group

    absl::Status status;
    if (!abandoned) {
      auto started = std::chrono::steady_clock::now();
      status = backend_->CommitWrite(*group.prepared);
      commit_seconds_->Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      commits_->Add();
      if (!status.ok()) commit_errors_->Add();
    }
    const bool committed = !abandoned && status.ok();

    {
      // A batch's memory stays counted until its last commit is over, so the bound covers it too.
      std::lock_guard<std::mutex> lock(mu_);
      if (group.partial.has_value()) {
        partial_in_flight_ = false;
        if (committed) {
          // Behind whatever arrived meanwhile, which lets other exports in between its slices.
          group.partial->spans_taken = 0;
          queue_.push_back(std::move(*group.partial));
        } else {
          // A failed slice fails its whole batch: the rest of a split batch is not written.
          group.finished.push_back(std::move(*group.partial));
        }
        group.partial.reset();
      }
      for (const Item& item : group.finished) UncountLocked(item);
      spent_.push_back(std::move(group.prepared));
    }
    cv_.notify_one();
    for (Item& item : group.finished) {
      if (abandoned) {
        Abandon(item);
      } else {
        item.done(status);
      }
    }
  }
}

}  // namespace teletrace::ingest
