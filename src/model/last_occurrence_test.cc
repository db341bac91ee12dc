#include "model/last_occurrence.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace teletrace::model {
namespace {

// The entries ForEachLastOccurrence visits, as indexes into `attributes`.
std::vector<size_t> Visited(const KeyValueList& attributes) {
  std::vector<size_t> out;
  ForEachLastOccurrence(attributes, [&](const KeyValue& kv) {
    out.push_back(static_cast<size_t>(&kv - attributes.data()));
  });
  return out;
}

TEST(LastOccurrenceTest, VisitsTheLastOccurrenceOfEachKeyInListOrder) {
  EXPECT_EQ(Visited({}), std::vector<size_t>{});
  EXPECT_EQ(Visited({{"a", 1}, {"b", 2}, {"a", 3}, {"c", 4}, {"b", 5}}),
            (std::vector<size_t>{2, 3, 4}));
}

// Both paths (pairwise up to kPairwiseLastOccurrenceMax entries, hashed beyond) agree with
// FindAttribute: exactly the entries it returns, each once, in list order.
TEST(LastOccurrenceTest, AgreesWithFindAttributeOnShortAndLongLists) {
  std::mt19937 rng(7);
  for (size_t n : {size_t{1}, size_t{5}, kPairwiseLastOccurrenceMax,
                   kPairwiseLastOccurrenceMax + 1, size_t{200}}) {
    for (int round = 0; round < 20; ++round) {
      KeyValueList attributes;
      std::uniform_int_distribution<size_t> key(0, n / 2);
      for (size_t i = 0; i < n; ++i) {
        attributes.push_back({"k" + std::to_string(key(rng)), static_cast<int64_t>(i)});
      }
      std::vector<size_t> expected;
      for (size_t i = 0; i < n; ++i) {
        if (FindAttribute(attributes, attributes[i].key) == &attributes[i].value) {
          expected.push_back(i);
        }
      }
      EXPECT_EQ(Visited(attributes), expected) << n;
    }
  }
}

}  // namespace
}  // namespace teletrace::model
