#include "common/ordered_workers.h"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace teletrace {
namespace {

// Jobs finishing out of order (later ones sleep less) still come back in submission order.
TEST(OrderedWorkersTest, ResultsComeBackInSubmissionOrder) {
  for (size_t threads : {0, 1, 3}) {
    OrderedWorkers<int> workers(threads, 4);
    std::vector<int> got;
    for (int i = 0; i < 40; ++i) {
      if (workers.Full()) got.push_back(workers.Next());
      workers.Submit([i] {
        std::this_thread::sleep_for(std::chrono::microseconds(200 * ((40 - i) % 7)));
        return i;
      });
    }
    while (!workers.Empty()) got.push_back(workers.Next());
    ASSERT_EQ(got.size(), 40u) << threads;
    for (int i = 0; i < 40; ++i) EXPECT_EQ(got[i], i) << threads;
  }
}

TEST(OrderedWorkersTest, AtMostWindowJobsAreOutstanding) {
  OrderedWorkers<int> workers(2, 3);
  std::atomic<int> started{0};
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(workers.Full());
    workers.Submit([&started, i] {
      started.fetch_add(1);
      return i;
    });
  }
  EXPECT_TRUE(workers.Full());
  EXPECT_EQ(workers.Next(), 0);
  EXPECT_FALSE(workers.Full());
  EXPECT_EQ(workers.Next(), 1);
  EXPECT_EQ(workers.Next(), 2);
  EXPECT_TRUE(workers.Empty());
  EXPECT_EQ(started.load(), 3);
}

TEST(OrderedWorkersTest, WithoutThreadsJobsRunOnTheCallersThread) {
  OrderedWorkers<std::thread::id> workers(0, 2);
  workers.Submit([] { return std::this_thread::get_id(); });
  EXPECT_EQ(workers.Next(), std::this_thread::get_id());
}

TEST(OrderedWorkersTest, WorkersRunJobsOffTheCallersThread) {
  OrderedWorkers<std::thread::id> workers(2, 2);
  workers.Submit([] { return std::this_thread::get_id(); });
  EXPECT_NE(workers.Next(), std::this_thread::get_id());
}

// Results nobody takes (a scan that stopped at an error) are dropped: the destructor waits for
// the running job, starts no other, and none runs after it returns.
TEST(OrderedWorkersTest, DestroyingWithOutstandingJobsIsSafe) {
  std::atomic<int> ran{0};
  {
    OrderedWorkers<std::string> workers(1, 50);
    for (int i = 0; i < 50; ++i) {
      workers.Submit([&ran] {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ran.fetch_add(1);
        return std::string(1000, 'x');
      });
    }
  }
  const int at_destruction = ran.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(ran.load(), at_destruction);
}

}  // namespace
}  // namespace teletrace
