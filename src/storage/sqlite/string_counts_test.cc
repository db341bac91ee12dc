#include "storage/sqlite/string_counts.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace teletrace::storage::sqlite {
namespace {

std::map<std::string, uint64_t> Contents(const StringCounts& counts) {
  std::map<std::string, uint64_t> out;
  counts.ForEach([&out](std::string_view s, uint64_t n) {
    EXPECT_TRUE(out.emplace(std::string(s), n).second) << "listed twice: " << s;
  });
  EXPECT_EQ(out.size(), counts.size());
  return out;
}

TEST(StringCountsTest, EmptyTableListsNothing) {
  StringCounts counts;
  EXPECT_EQ(counts.size(), 0u);
  EXPECT_TRUE(Contents(counts).empty());
  counts.Add({});
  EXPECT_TRUE(Contents(counts).empty());
}

TEST(StringCountsTest, AddsCountsOfEqualStringsAndSkipsZeros) {
  StringCounts counts;
  const std::string nul("a\0", 2);
  counts.Add({{"a", 2}, {"", 1}, {nul, 4}, {"b", 0}});
  counts.Add({{"a", 3}, {"", 5}, {"ab", 7}});
  const std::map<std::string, uint64_t> expected = {{"", 6}, {"a", 5}, {nul, 4}, {"ab", 7}};
  EXPECT_EQ(Contents(counts), expected);
}

// Batches of random strings (short, long, sharing prefixes) drawn from a pool larger than a few
// tables' growth steps, against a std::map: every string with its exact sum. 16 bits of hash in
// the slots mean many strings share them, so the byte comparison decides.
TEST(StringCountsTest, RandomBatchesMatchAnOrderedMap) {
  std::mt19937_64 rng(7);
  std::vector<std::string> pool;
  for (int i = 0; i < 200000; ++i) {
    std::string s = "user-" + std::to_string(rng() % 1000000);
    if (i % 7 == 0) s += std::string(rng() % 300, static_cast<char>('a' + rng() % 26));
    if (i % 11 == 0) s.clear();
    pool.push_back(std::move(s));
  }
  StringCounts counts;
  std::map<std::string, uint64_t> expected;
  for (int batch = 0; batch < 600; ++batch) {
    std::vector<std::pair<std::string_view, uint64_t>> counted;
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

// Merging tables (the block workers' own, at the end of a query) sums equal strings' counts,
// across more strings than one batch.
TEST(StringCountsTest, AddAllSumsAnotherTablesCounts) {
  StringCounts a, b, empty;
  std::map<std::string, uint64_t> expected;
  std::vector<std::string> strings;
  for (int i = 0; i < 5000; ++i) strings.push_back("v" + std::to_string(i));
  std::vector<std::pair<std::string_view, uint64_t>> to_a, to_b;
  for (int i = 0; i < 5000; ++i) {
    if (i % 3 != 0) {
      to_a.emplace_back(strings[i], i + 1);
      expected[strings[i]] += i + 1;
    }
    if (i % 2 == 0) {
      to_b.emplace_back(strings[i], 2);
      expected[strings[i]] += 2;
    }
  }
  a.Add(to_a);
  b.Add(to_b);
  a.AddAll(b);
  a.AddAll(empty);
  EXPECT_EQ(Contents(a), expected);
  EXPECT_EQ(Contents(b).size(), 2500u);  // the other table is left as it was
  empty.AddAll(a);
  EXPECT_EQ(Contents(empty), expected);
}

}  // namespace
}  // namespace teletrace::storage::sqlite
