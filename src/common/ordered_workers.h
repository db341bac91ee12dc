// Runs jobs on worker threads and hands their results back in submission order, with a bounded
// number outstanding: the caller produces work (reads blocks from a database) while the workers
// compute (decode them), and consumes results in the order a serial loop would have.
//
//   OrderedWorkers<Result> workers(OrderedWorkers<Result>::DefaultThreads(), /*window=*/8);
//   for (...) {
//     if (workers.Full()) Consume(workers.Next());
//     workers.Submit([bytes = std::move(bytes)] { return Decode(bytes); });
//   }
//   while (!workers.Empty()) Consume(workers.Next());
//
// With zero threads every job runs inside Submit, on the caller's thread. The destructor waits
// for running jobs and drops results not taken. Thread safety: one caller thread; jobs run
// concurrently with each other and with the caller, so they must not share mutable state.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace teletrace {

template <typename R>
class OrderedWorkers {
 public:
  // One worker per core, at most 16; none on a single core (the caller's thread does the work).
  static size_t DefaultThreads() {
    const size_t cores = std::max(1u, std::thread::hardware_concurrency());
    return cores == 1 ? 0 : std::min<size_t>(cores, 16);
  }

  OrderedWorkers(size_t threads, size_t window) : window_(std::max<size_t>(window, 1)) {
    threads_.reserve(threads);
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
  }
  ~OrderedWorkers() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      pending_.clear();
    }
    wake_workers_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  OrderedWorkers(const OrderedWorkers&) = delete;
  OrderedWorkers& operator=(const OrderedWorkers&) = delete;

  // True when `window` results are outstanding: take one with Next() before submitting more.
  bool Full() const { return slots_.size() >= window_; }
  bool Empty() const { return slots_.empty(); }
  // Results submitted and not yet taken.
  size_t Outstanding() const { return slots_.size(); }

  void Submit(std::function<R()> job) {
    auto slot = std::make_shared<Slot>();
    slots_.push_back(slot);
    if (threads_.empty()) {
      slot->result.emplace(job());
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_.emplace_back(std::move(slot), std::move(job));
    }
    wake_workers_.notify_one();
  }

  // The oldest outstanding result, waiting for it. Requires !Empty().
  R Next() {
    std::shared_ptr<Slot> slot = std::move(slots_.front());
    slots_.pop_front();
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&slot] { return slot->result.has_value(); });
    return std::move(*slot->result);
  }

 private:
  struct Slot {
    std::optional<R> result;  // guarded by mu_ once the slot is queued
  };

  void Work() {
    while (true) {
      std::pair<std::shared_ptr<Slot>, std::function<R()>> task;
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_workers_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
        if (stopping_) return;
        task = std::move(pending_.front());
        pending_.pop_front();
      }
      R result = task.second();
      {
        std::lock_guard<std::mutex> lock(mu_);
        task.first->result.emplace(std::move(result));
      }
      done_.notify_all();
    }
  }

  const size_t window_;
  std::deque<std::shared_ptr<Slot>> slots_;  // the caller's, in submission order

  std::mutex mu_;
  std::condition_variable wake_workers_;
  std::condition_variable done_;
  std::deque<std::pair<std::shared_ptr<Slot>, std::function<R()>>> pending_;  // guarded by mu_
  bool stopping_ = false;                                                    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace teletrace
