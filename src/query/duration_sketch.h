// A mergeable sketch of span durations, and the per-block duration aggregates built on it: what
// lets a backend answer duration statistics and histograms over whole blocks without decoding
// them (docs/adr/002-block-summaries.md, "Duration aggregates").
//
//   DurationSketch sketch;
//   sketch.Add(durations);                      // non-negative values, nanoseconds
//   sketch.Merge(other_sketch);
//   double p99 = sketch.ValueAtRank(NearestRankIndex(sketch.Count(), 99));
//
// The sketch keeps a count per logarithmic bucket: bucket i > 0 holds the values in
// (g^(i-2), g^(i-1)] with g = (1 + a) / (1 - a), a = kDurationSketchRelativeError; bucket 0 holds
// zero. A value read back is the bucket's midpoint in that relative sense, so it is within a of
// every value the bucket holds: any rank's value is within a (relative) of the exact one. Counts
// per bucket are exact, so Count() and the rank arithmetic are exact. At most kMaxBuckets buckets
// exist (2^64 ns needs 2,219), so memory is bounded whatever the number of values.
//
// Thread safety: none; a sketch is used by one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace teletrace::query {

inline constexpr double kDurationSketchRelativeError = 0.01;

class DurationSketch {
 public:
  // One past the largest bucket index: values up to 2^64.
  static constexpr uint32_t kMaxBuckets = 2230;

  // Adds values (nanoseconds; a negative value counts as 0, NaN is skipped).
  void Add(const std::vector<double>& values);
  void Merge(const DurationSketch& other);
  // The sketch of every value of `sketches` (many small ones: the groups of a block). The total
  // must fit 64 bits, as it does for the spans of one block.
  static DurationSketch Sum(const std::vector<const DurationSketch*>& sketches);

  uint64_t Count() const { return count_; }
  bool Empty() const { return count_ == 0; }
  // The value of 0-based rank `rank` (< Count()) in ascending order, within the relative error.
  double ValueAtRank(uint64_t rank) const;

  // Serialized forms. kPlain: varint bucket count, then per bucket in ascending index order the
  // varint index (the first absolute, the others as the difference to the previous one) and the
  // varint count (>= 1). kCompact, for sketches of few values, where most buckets count one: per
  // bucket the varint (difference << 1 | 1) for a count of one, else (difference << 1) and the
  // varint count (>= 2).
  enum class Form { kPlain, kCompact };
  // The serialized sketch, appended.
  void AppendTo(std::string& out, Form form = Form::kPlain) const;
  // Reads a sketch AppendTo wrote in `form` from the front of `in`, advancing it. DataLoss naming
  // the problem on truncated input, an index out of order or past kMaxBuckets, a zero count (in
  // kCompact, a count of one written out), or a total that overflows 64 bits.
  static absl::Status ReadFrom(std::string_view& in, DurationSketch& out,
                               Form form = Form::kPlain);
  // A sketch from (bucket index, count) pairs in any order, e.g. counted by another engine.
  // InvalidArgument naming the problem for an index past kMaxBuckets, an index given twice, a zero
  // count or a total that overflows 64 bits.
  static absl::StatusOr<DurationSketch> FromBuckets(
      std::vector<std::pair<uint32_t, uint64_t>> buckets);

  static uint32_t BucketOf(double value);
  // log(g), the divisor of BucketOf's logarithm, for engines that compute bucket indices.
  static double LogGamma();
  bool operator==(const DurationSketch&) const = default;

 private:
  std::vector<std::pair<uint32_t, uint64_t>> buckets_;  // (index, count), ascending, count > 0
  uint64_t count_ = 0;
};

// Many sketches merged into one (a query's blocks, or their groups): they wait and are summed a
// batch at a time (DurationSketch::Sum), which is linear where merging each into a large sketch
// rebuilds it whenever one of its buckets is new. Memory stays bounded: at most kBatch sketches
// wait.
class DurationSketchSum {
 public:
  static constexpr size_t kBatch = 32;
  void Merge(const DurationSketch& other);
  void Add(const std::vector<double>& values) { sum_.Add(values); }
  bool Empty() const { return sum_.Empty() && pending_.empty(); }
  // Every value merged or added so far.
  const DurationSketch& Get();

 private:
  void Flush();
  DurationSketch sum_;
  std::vector<DurationSketch> pending_;
};

// The value of 0-based rank `rank` among the values of `sketch`, whose exact minimum and maximum
// are `min` and `max`: those two exactly for the first and last rank, else the sketch's value
// kept inside them (which only brings it closer).
double ApproximateRank(const DurationSketch& sketch, uint64_t rank, double min, double max);

// What a block's spans add up to on the duration axis. The statistics and histogram collectors
// take whole blocks from these (StatisticsCollector::AddAggregates, HistogramCollector).
struct DurationAggregates {
  uint64_t count = 0;
  uint64_t min = 0;  // of DurationNano(); meaningful when count > 0
  uint64_t max = 0;
  unsigned __int128 sum = 0;  // exact: 2^64 spans of 2^64 ns cannot overflow it
  DurationSketch sketch;      // holds every one of the `count` durations
  bool operator==(const DurationAggregates&) const = default;
};

}  // namespace teletrace::query
