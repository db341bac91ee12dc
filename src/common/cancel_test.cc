#include "common/cancel.h"

#include <thread>

#include "gtest/gtest.h"

namespace teletrace {
namespace {

TEST(CancelTest, NoFlagIsNeverCancelled) {
  EXPECT_FALSE(Cancelled());
  EXPECT_TRUE(CheckCancelled().ok());
  ScopedCancellation none(nullptr);
  EXPECT_FALSE(Cancelled());
}

TEST(CancelTest, TheInstalledFlagDecidesUntilTheScopeEnds) {
  std::atomic<bool> outer{false};
  std::atomic<bool> inner{true};
  {
    ScopedCancellation a(&outer);
    EXPECT_FALSE(Cancelled());
    {
      ScopedCancellation b(&inner);
      EXPECT_EQ(CheckCancelled(),
                absl::CancelledError("the client closed the connection; the query was stopped"));
    }
    EXPECT_FALSE(Cancelled());
    outer.store(true);
    EXPECT_TRUE(Cancelled());
  }
  EXPECT_FALSE(Cancelled());
}

TEST(CancelTest, TheFlagIsPerThread) {
  std::atomic<bool> set{true};
  ScopedCancellation scope(&set);
  bool other_thread_cancelled = true;
  std::thread([&] { other_thread_cancelled = Cancelled(); }).join();
  EXPECT_FALSE(other_thread_cancelled);
  EXPECT_TRUE(Cancelled());
}

}  // namespace
}  // namespace teletrace
