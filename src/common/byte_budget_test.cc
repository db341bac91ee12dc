#include "common/byte_budget.h"

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace teletrace {
namespace {

TEST(ByteBudgetTest, LeasesReserveAndReturnExactly) {
  ByteBudget budget(100);
  ByteBudget::Lease a = budget.TryAcquire(60);
  ASSERT_TRUE(a);
  EXPECT_EQ(a.bytes(), 60u);
  EXPECT_EQ(budget.used(), 60u);
  ByteBudget::Lease b = budget.TryAcquire(41);
  EXPECT_FALSE(b);
  EXPECT_EQ(b.bytes(), 0u);
  EXPECT_EQ(budget.refusals(), 1u);
  EXPECT_TRUE(a.Grow(40));
  EXPECT_EQ(budget.used(), 100u);
  EXPECT_FALSE(a.Grow(1));
  EXPECT_EQ(a.bytes(), 100u);
  a.Reset();
  EXPECT_FALSE(a);
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_EQ(budget.refusals(), 2u);
}

TEST(ByteBudgetTest, MovedLeaseReturnsOnce) {
  ByteBudget budget(10);
  {
    ByteBudget::Lease a = budget.TryAcquire(7);
    ByteBudget::Lease b = std::move(a);
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): the moved-from lease is empty by contract
    EXPECT_EQ(b.bytes(), 7u);
    ByteBudget::Lease c;
    c = std::move(b);
    EXPECT_EQ(budget.used(), 7u);
  }
  EXPECT_EQ(budget.used(), 0u);
}

TEST(ByteBudgetTest, NeverOvercommitsUnderContention) {
  ByteBudget budget(1000);
  std::atomic<uint64_t> peak{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        ByteBudget::Lease lease = budget.TryAcquire(300);
        if (lease) {
          uint64_t used = budget.used();
          uint64_t seen = peak.load();
          while (used > seen && !peak.compare_exchange_weak(seen, used)) {
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(peak.load(), 900u);  // three leases of 300 fit; a fourth never does
  EXPECT_EQ(budget.used(), 0u);
}

TEST(ByteBudgetTest, ZeroCapacityIsUnlimitedButCounted) {
  ByteBudget budget(0);
  ByteBudget::Lease lease = budget.TryAcquire(uint64_t{1} << 40);
  ASSERT_TRUE(lease);
  EXPECT_EQ(budget.used(), uint64_t{1} << 40);
  EXPECT_EQ(budget.refusals(), 0u);
}

TEST(ByteBudgetTest, HugeRequestDoesNotWrap) {
  ByteBudget budget(100);
  ByteBudget::Lease a = budget.TryAcquire(50);
  EXPECT_FALSE(budget.TryAcquire(UINT64_MAX));
  EXPECT_FALSE(a.Grow(UINT64_MAX - 10));
  EXPECT_EQ(budget.used(), 50u);
}

}  // namespace
}  // namespace teletrace
