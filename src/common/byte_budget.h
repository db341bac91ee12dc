// A process-wide bound on the bytes that requests hold in memory at once: bodies being read,
// messages being inflated and decoded, and batches waiting for their commit. Every receiver draws
// from the same ByteBudget, so memory stays bounded across all connections, not per request.
//
//   ByteBudget budget(256 << 20);
//   ByteBudget::Lease lease = budget.TryAcquire(content_length);
//   if (!lease) return Refuse(429);          // retryable: the client backs off
//   if (!lease.Grow(more)) return Refuse(429);
//   ...                                      // released when the lease is destroyed
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

namespace teletrace {

class ByteBudget {
 public:
  // A reservation of bytes, returned to the budget on destruction (or Reset()). Movable, not
  // copyable; an empty lease (failed acquisition) holds nothing and converts to false.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept
        : budget_(std::exchange(other.budget_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
    Lease& operator=(Lease&& other) noexcept {
      if (this != &other) {
        Reset();
        budget_ = std::exchange(other.budget_, nullptr);
        bytes_ = std::exchange(other.bytes_, 0);
      }
      return *this;
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { Reset(); }

    explicit operator bool() const { return budget_ != nullptr; }
    uint64_t bytes() const { return bytes_; }

    // Reserves `more` bytes on top of what the lease holds. False (and nothing changes) when the
    // budget cannot give them or the lease is empty.
    bool Grow(uint64_t more) {
      if (budget_ == nullptr || !budget_->Reserve(more)) return false;
      bytes_ += more;
      return true;
    }

    // Returns everything to the budget; the lease is empty afterwards.
    void Reset() {
      if (budget_ != nullptr) budget_->Return(bytes_);
      budget_ = nullptr;
      bytes_ = 0;
    }

   private:
    friend class ByteBudget;
    Lease(ByteBudget* budget, uint64_t bytes) : budget_(budget), bytes_(bytes) {}
    ByteBudget* budget_ = nullptr;
    uint64_t bytes_ = 0;
  };

  // capacity == 0 means unlimited (every acquisition succeeds; usage is still tracked).
  explicit ByteBudget(uint64_t capacity) : capacity_(capacity) {}
  ByteBudget(const ByteBudget&) = delete;
  ByteBudget& operator=(const ByteBudget&) = delete;

  // A lease of `bytes`, or an empty lease when fewer than `bytes` remain. Thread safe, lock-free.
  // The budget must outlive every lease it gave.
  Lease TryAcquire(uint64_t bytes) {
    if (!Reserve(bytes)) return Lease();
    return Lease(this, bytes);
  }

  uint64_t capacity() const { return capacity_; }
  uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  // Acquisitions refused so far (for /metrics).
  uint64_t refusals() const { return refusals_.load(std::memory_order_relaxed); }

 private:
  bool Reserve(uint64_t bytes) {
    uint64_t current = used_.load(std::memory_order_relaxed);
    while (true) {
      if (capacity_ != 0 && (bytes > capacity_ || current > capacity_ - bytes)) {
        refusals_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
      if (used_.compare_exchange_weak(current, current + bytes, std::memory_order_relaxed)) {
        return true;
      }
    }
  }
  void Return(uint64_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }

  const uint64_t capacity_;
  std::atomic<uint64_t> used_{0};
  std::atomic<uint64_t> refusals_{0};
};

}  // namespace teletrace
