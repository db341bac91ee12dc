#include "storage/sqlite/string_counts.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace teletrace::storage::sqlite {
namespace {

using Counted = std::vector<std::pair<std::string_view, uint64_t>>;

std::map<std::string, uint64_t> Contents(const SharedStringCounts& counts) {
  std::map<std::string, uint64_t> out;
  counts.ForEach([&out](std::string_view s, uint64_t n) {
    EXPECT_TRUE(out.emplace(std::string(s), n).second) << "listed twice: " << s;
  });
  EXPECT_EQ(out.size(), counts.size());
  return out;
}

TEST(SqliteStringCountsTest, EmptyTableListsNothing) {
  SharedStringCounts counts;
  EXPECT_EQ(counts.size(), 0u);
  EXPECT_TRUE(Contents(counts).empty());
  counts.Add({});
  EXPECT_TRUE(Contents(counts).empty());
}

TEST(SqliteStringCountsTest, AddsCountsOfEqualStringsAndSkipsZeros) {
  SharedStringCounts counts;
  const std::string nul("a\0", 2);
  counts.Add({{"a", 2}, {"", 1}, {nul, 4}, {"b", 0}});
  counts.Add({{"a", 3}, {"", 5}, {"ab", 7}});
  const std::map<std::string, uint64_t> expected = {{"", 6}, {"a", 5}, {nul, 4}, {"ab", 7}};
  EXPECT_EQ(Contents(counts), expected);
}

// Batches of random strings (short, long, sharing prefixes) drawn from a pool larger than a few
// tables' growth steps, against a std::map: every string with its exact sum. 16 bits of hash in
// the slots mean many strings share them, so the byte comparison decides.
TEST(SqliteStringCountsTest, RandomBatchesMatchAnOrderedMap) {
  std::mt19937_64 rng(7);
  std::vector<std::string> pool;
  for (int i = 0; i < 200000; ++i) {
    std::string s = "user-" + std::to_string(rng() % 1000000);
    if (i % 7 == 0) s += std::string(rng() % 300, static_cast<char>('a' + rng() % 26));
    if (i % 11 == 0) s.clear();
    pool.push_back(std::move(s));
  }
  SharedStringCounts counts;
  std::map<std::string, uint64_t> expected;
  for (int batch = 0; batch < 600; ++batch) {
    Counted counted;
    const size_t size = rng() % 2000;
    for (size_t i = 0; i < size; ++i) {
      const std::string& s = pool[rng() % pool.size()];
      const uint64_t n = rng() % 5;
      counted.emplace_back(s, n);
      if (n != 0) expected[s] += n;
    }
    counts.Add(counted);
  }
  EXPECT_GT(expected.size(), 100000u);
  EXPECT_EQ(Contents(counts), expected);
}

// Block workers add at once: four threads, each its own batches over one pool of strings, give
// the sums a single thread would.
TEST(SqliteStringCountsTest, ConcurrentAddsSumExactly) {
  std::vector<std::string> pool;
  for (int i = 0; i < 20000; ++i) pool.push_back("v" + std::to_string(i));
  SharedStringCounts counts;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&counts, &pool, t] {
      for (int batch = 0; batch < 50; ++batch) {
        Counted counted;
        for (size_t i = static_cast<size_t>(batch); i < pool.size(); i += 50) {
          counted.emplace_back(pool[i], static_cast<uint64_t>(t + 1));
        }
        counts.Add(counted);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::map<std::string, uint64_t> expected;
  for (const std::string& s : pool) expected[s] = 1 + 2 + 3 + 4;
  EXPECT_EQ(Contents(counts), expected);
}

}  // namespace
}  // namespace teletrace::storage::sqlite
