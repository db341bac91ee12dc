#include "query/duration_sketch.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "query/percentile.h"

namespace teletrace::query {
namespace {

// Values over every scale a duration takes: zero, single nanoseconds, microseconds to hours, and
// the largest uint64 values.
std::vector<double> Durations(uint64_t seed, size_t n) {
  std::mt19937_64 rng(seed);
  std::vector<double> out;
  for (size_t i = 0; i < n; ++i) {
    switch (rng() % 6) {
      case 0:
        out.push_back(static_cast<double>(rng() % 4));
        break;
      case 1:
        out.push_back(static_cast<double>(rng() % 1000));
        break;
      case 2:
        out.push_back(static_cast<double>(rng() % 1'000'000'000));
        break;
      case 3:
        out.push_back(std::exp(std::uniform_real_distribution<double>(0, 30)(rng)));
        break;
      case 4:
        out.push_back(std::floor(std::exp(std::uniform_real_distribution<double>(10, 25)(rng))));
        break;
      default:
        out.push_back(static_cast<double>(rng()));
        break;
    }
  }
  return out;
}

void ExpectEveryRankWithinTheError(const DurationSketch& sketch, std::vector<double> values) {
  std::sort(values.begin(), values.end());
  ASSERT_EQ(sketch.Count(), values.size());
  for (size_t r = 0; r < values.size(); ++r) {
    const double got = sketch.ValueAtRank(r);
    const double want = values[r];
    if (want == 0) {
      EXPECT_EQ(got, 0) << "rank " << r;
    } else if (want < 1) {
      EXPECT_LE(got, 1) << "rank " << r;
    } else {
      EXPECT_LE(std::abs(got - want), kDurationSketchRelativeError * want * (1 + 1e-12))
          << "rank " << r << " of " << values.size() << ": " << got << " for " << want;
    }
  }
}

TEST(DurationSketchTest, EveryRankIsWithinTheRelativeError) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::vector<double> values = Durations(seed, 1 + seed * 97);
    DurationSketch sketch;
    sketch.Add(values);
    ExpectEveryRankWithinTheError(sketch, values);
  }
}

TEST(DurationSketchTest, BucketsCoverEveryUint64) {
  EXPECT_EQ(DurationSketch::BucketOf(0), 0u);
  EXPECT_EQ(DurationSketch::BucketOf(-5), 0u);
  EXPECT_EQ(DurationSketch::BucketOf(0.5), 1u);
  EXPECT_EQ(DurationSketch::BucketOf(1), 1u);
  EXPECT_EQ(DurationSketch::BucketOf(2), 36u);  // ceil(ln 2 / ln g) + 1 = ceil(34.66) + 1
  EXPECT_LT(DurationSketch::BucketOf(18446744073709551615.0), DurationSketch::kMaxBuckets - 1);
  for (double v = 1; v < 1e19; v *= 1.7) {
    EXPECT_LE(DurationSketch::BucketOf(v), DurationSketch::BucketOf(v * 1.0001)) << v;
  }
}

TEST(DurationSketchTest, MergingEqualsAddingEverything) {
  std::vector<double> a = Durations(7, 500), b = Durations(8, 300), c = Durations(9, 1);
  DurationSketch sa, sb, sc, all;
  sa.Add(a);
  sb.Add(b);
  sc.Add(c);
  std::vector<double> every = a;
  every.insert(every.end(), b.begin(), b.end());
  every.insert(every.end(), c.begin(), c.end());
  all.Add(every);
  DurationSketch merged;
  merged.Merge(sb);
  merged.Merge(DurationSketch());
  merged.Merge(sa);
  merged.Merge(sc);
  EXPECT_EQ(merged, all);
  EXPECT_EQ(merged.Count(), 801u);
  ExpectEveryRankWithinTheError(merged, every);
}

TEST(DurationSketchTest, SmallSketchesMergeIntoLargeOnesAndSumAsAddedOneByOne) {
  // A large sketch holding every bucket of its range (positions found by index), one with gaps
  // (found by search), and small ones inside and outside their ranges.
  DurationSketch dense;
  std::vector<double> dense_values;
  for (double v = 1000; v < 1e7; v *= 1.01) dense_values.push_back(v);
  dense.Add(dense_values);
  DurationSketch sparse;
  std::vector<double> sparse_values;
  for (double v = 1000; v < 1e7; v *= 1.1) sparse_values.push_back(v);
  sparse.Add(sparse_values);
  for (const DurationSketch* large : {&dense, &sparse}) {
    for (const std::vector<double>& small : {std::vector<double>{2000, 2000, 3e6},
                                             std::vector<double>{5000, 1e9},
                                             std::vector<double>{0, 4000}, Durations(3, 20)}) {
      DurationSketch got = *large, want;
      DurationSketch s;
      s.Add(small);
      got.Merge(s);
      std::vector<double> every = large == &dense ? dense_values : sparse_values;
      every.insert(every.end(), small.begin(), small.end());
      want.Add(every);
      EXPECT_EQ(got, want);
      EXPECT_EQ(DurationSketch::Sum({large, &s}), want);
      EXPECT_EQ(DurationSketch::Sum({&s, large, &s}), [&] {
        DurationSketch twice = want;
        twice.Merge(s);
        return twice;
      }());
    }
  }
  EXPECT_EQ(DurationSketch::Sum({}), DurationSketch());
  DurationSketch empty;
  EXPECT_EQ(DurationSketch::Sum({&empty, &dense}), dense);
}

TEST(DurationSketchTest, ASumOfManyEqualsMergingThemOneByOne) {
  DurationSketchSum sum;
  DurationSketch want;
  EXPECT_TRUE(sum.Empty());
  for (uint64_t seed = 1; seed <= 3 * DurationSketchSum::kBatch + 5; ++seed) {
    DurationSketch s;
    s.Add(Durations(seed, seed % 7));  // some empty
    sum.Merge(s);
    want.Merge(s);
    if (seed == 40) {
      sum.Add({1, 2, 3});
      want.Add({1, 2, 3});
    }
  }
  EXPECT_FALSE(sum.Empty());
  EXPECT_EQ(sum.Get(), want);
  EXPECT_EQ(sum.Get(), want);  // reading twice changes nothing
}

TEST(DurationSketchTest, NanIsSkipped) {
  DurationSketch sketch;
  sketch.Add({std::nan(""), 10, std::nan("")});
  EXPECT_EQ(sketch.Count(), 1u);
}

TEST(DurationSketchTest, RoundTripsAndConsumesExactlyItsBytes) {
  for (size_t n : {0, 1, 2, 1000}) {
    DurationSketch sketch;
    sketch.Add(Durations(n, n));
    std::string bytes;
    sketch.AppendTo(bytes);
    bytes += "rest";
    std::string_view in = bytes;
    DurationSketch back;
    back.Add({5});  // replaced, not added to
    ASSERT_TRUE(DurationSketch::ReadFrom(in, back).ok()) << n;
    EXPECT_EQ(back, sketch) << n;
    EXPECT_EQ(in, "rest") << n;
  }
}

TEST(DurationSketchTest, TheCompactFormRoundTripsAndSpendsNoByteOnSingleCounts) {
  for (size_t n : {0, 1, 2, 1000}) {
    DurationSketch sketch;
    sketch.Add(Durations(n, n));
    sketch.Add({7, 7, 7});  // one bucket counting three
    std::string plain, compact;
    sketch.AppendTo(plain);
    sketch.AppendTo(compact, DurationSketch::Form::kCompact);
    if (n == 1000) {
      EXPECT_LT(compact.size(), plain.size() * 3 / 4);  // mostly single counts
    }
    compact += "rest";
    std::string_view in = compact;
    DurationSketch back;
    ASSERT_TRUE(DurationSketch::ReadFrom(in, back, DurationSketch::Form::kCompact).ok()) << n;
    EXPECT_EQ(back, sketch) << n;
    EXPECT_EQ(in, "rest") << n;
  }
  // One bucket of index 5 counting one: a single byte (5 << 1 | 1) after the count.
  DurationSketch one = *DurationSketch::FromBuckets({{5, 1}});
  std::string bytes;
  one.AppendTo(bytes, DurationSketch::Form::kCompact);
  EXPECT_EQ(bytes, std::string("\x01\x0b", 2));
  struct Case {
    std::string bytes;
    std::string message;
  };
  const std::vector<Case> cases = {
      {std::string("\x01\x0a", 2), "duration sketch: truncated bucket 0"},
      {std::string("\x01\x0a\x00", 3), "duration sketch: bucket 0 counts nothing"},
      {std::string("\x01\x0a\x01", 3),
       "duration sketch: bucket 0 counts one span without the flag"},
      {std::string("\x02\x0b\x01", 3), "duration sketch: bucket 1 out of order"},
      {std::string("\x01\xed\x22", 3), "duration sketch: bucket 0 past the last"},
  };
  for (const Case& c : cases) {
    std::string_view in = c.bytes;
    DurationSketch sketch;
    EXPECT_EQ(DurationSketch::ReadFrom(in, sketch, DurationSketch::Form::kCompact),
              absl::DataLossError(c.message))
        << c.message;
  }
}

TEST(DurationSketchTest, MalformedInputIsDataLossNamingTheProblem) {
  struct Case {
    std::string bytes;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"", "duration sketch: truncated bucket count"},
      {std::string("\xb7\x11", 2), "duration sketch: 2231 buckets"},
      {std::string("\x01\x05", 2), "duration sketch: truncated bucket 0"},
      {std::string("\x01\x05\x00", 3), "duration sketch: bucket 0 counts nothing"},
      {std::string("\x02\x05\x01\x00\x01", 5), "duration sketch: bucket 1 out of order"},
      {std::string("\x01\xb6\x11\x01", 4), "duration sketch: bucket 0 past the last"},
      {std::string("\x02\x01\x01\xb5\x11\x01", 6), "duration sketch: bucket 1 past the last"},
      {std::string("\x02\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x01\x01", 14),
       "duration sketch: the total count overflows"},
  };
  for (const Case& c : cases) {
    std::string_view in = c.bytes;
    DurationSketch sketch;
    EXPECT_EQ(DurationSketch::ReadFrom(in, sketch), absl::DataLossError(c.message)) << c.message;
  }
}

TEST(DurationSketchTest, FromBucketsEqualsAddingTheValues) {
  const std::vector<double> values = {0, 1, 1, 250, 251, 1e6, 1e6, 1e6, 3.5e9};
  DurationSketch added;
  added.Add(values);
  std::map<uint32_t, uint64_t> counted;
  for (double v : values) ++counted[DurationSketch::BucketOf(v)];
  std::vector<std::pair<uint32_t, uint64_t>> pairs(counted.begin(), counted.end());
  std::reverse(pairs.begin(), pairs.end());  // any order
  absl::StatusOr<DurationSketch> built = DurationSketch::FromBuckets(pairs);
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ(*built, added);
  EXPECT_EQ(built->Count(), values.size());
}

TEST(DurationSketchTest, FromBucketsRefusesWhatNoSketchHolds) {
  using Pairs = std::vector<std::pair<uint32_t, uint64_t>>;
  EXPECT_EQ(DurationSketch::FromBuckets(Pairs{{2230, 1}}).status(),
            absl::InvalidArgumentError("duration sketch: bucket 2230 is past the last (2229)"));
  EXPECT_EQ(DurationSketch::FromBuckets(Pairs{{7, 1}, {7, 2}}).status(),
            absl::InvalidArgumentError("duration sketch: bucket 7 is given twice"));
  EXPECT_EQ(DurationSketch::FromBuckets(Pairs{{3, 0}}).status(),
            absl::InvalidArgumentError("duration sketch: bucket 3 counts nothing"));
  EXPECT_EQ(DurationSketch::FromBuckets(Pairs{{1, UINT64_MAX}, {2, 1}}).status(),
            absl::InvalidArgumentError("duration sketch: bucket 2 overflows the total count"));
  absl::StatusOr<DurationSketch> empty = DurationSketch::FromBuckets({});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->Empty());
}

}  // namespace
}  // namespace teletrace::query
