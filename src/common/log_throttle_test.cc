#include "common/log_throttle.h"

#include <string>

#include "gtest/gtest.h"

namespace teletrace {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'000'000);

TEST(LogThrottleTest, OneLinePerKeyPerIntervalWithSuppressedCount) {
  LogThrottle throttle(absl::Seconds(10));
  uint64_t suppressed = 99;
  EXPECT_TRUE(throttle.Admit("too_large", kStart, &suppressed));
  EXPECT_EQ(suppressed, 0u);
  for (int i = 1; i <= 5; ++i) {
    EXPECT_FALSE(throttle.Admit("too_large", kStart + absl::Seconds(i), &suppressed));
  }
  // Another key has its own allowance.
  EXPECT_TRUE(throttle.Admit("budget", kStart + absl::Seconds(1), &suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_FALSE(throttle.Admit("too_large", kStart + absl::Seconds(9), &suppressed));
  EXPECT_TRUE(throttle.Admit("too_large", kStart + absl::Seconds(10), &suppressed));
  EXPECT_EQ(suppressed, 6u);
  // The count restarts after each admitted line.
  EXPECT_TRUE(throttle.Admit("too_large", kStart + absl::Seconds(30), &suppressed));
  EXPECT_EQ(suppressed, 0u);
}

// A flood of distinct keys (say, built from client data) shares one slot beyond kMaxKeys, so the
// throttle's memory stays bounded and the flood is still throttled.
TEST(LogThrottleTest, DistinctKeysBeyondTheCapShareOneSlot) {
  LogThrottle throttle(absl::Seconds(10));
  uint64_t suppressed = 0;
  int admitted = 0;
  for (int i = 0; i < 100'000; ++i) {
    if (throttle.Admit("key" + std::to_string(i), kStart, &suppressed)) ++admitted;
  }
  EXPECT_EQ(admitted, static_cast<int>(LogThrottle::kMaxKeys) + 1);
  EXPECT_TRUE(throttle.Admit("key99999", kStart + absl::Seconds(10), &suppressed));
  EXPECT_EQ(suppressed, 100'000u - LogThrottle::kMaxKeys - 1);
}

}  // namespace
}  // namespace teletrace
