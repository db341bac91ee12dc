#include "query/duration_sketch.h"

#include <algorithm>
#include <cmath>

#include "common/encoding.h"
#include "fmt/format.h"

namespace teletrace::query {
namespace {

constexpr double kGamma = (1 + kDurationSketchRelativeError) / (1 - kDurationSketchRelativeError);
const double kLogGamma = std::log(kGamma);

absl::Status Corrupt(std::string_view what) {
  return absl::DataLossError(fmt::format("duration sketch: {}", what));
}

}  // namespace

uint32_t DurationSketch::BucketOf(double value) {
  if (!(value > 0)) return 0;
  if (value <= 1) return 1;
  const double i = std::ceil(std::log(value) / kLogGamma) + 1;
  return i >= kMaxBuckets - 1 ? kMaxBuckets - 1 : static_cast<uint32_t>(i);
}

void DurationSketch::Add(const std::vector<double>& values) {
  std::vector<uint32_t> indices;
  indices.reserve(values.size());
  for (double v : values) {
    if (!std::isnan(v)) indices.push_back(BucketOf(v));
  }
  if (indices.empty()) return;
  std::sort(indices.begin(), indices.end());
  DurationSketch added;
  for (uint32_t i : indices) {
    if (added.buckets_.empty() || added.buckets_.back().first != i) {
      added.buckets_.emplace_back(i, 0);
    }
    ++added.buckets_.back().second;
  }
  added.count_ = indices.size();
  Merge(added);
}

void DurationSketch::Merge(const DurationSketch& other) {
  if (other.Empty()) return;
  if (Empty()) {
    *this = other;
    return;
  }
  std::vector<std::pair<uint32_t, uint64_t>> merged;
  merged.reserve(buckets_.size() + other.buckets_.size());
  auto a = buckets_.begin();
  auto b = other.buckets_.begin();
  while (a != buckets_.end() || b != other.buckets_.end()) {
    if (b == other.buckets_.end() || (a != buckets_.end() && a->first < b->first)) {
      merged.push_back(*a++);
    } else if (a == buckets_.end() || b->first < a->first) {
      merged.push_back(*b++);
    } else {
      merged.emplace_back(a->first, a->second + b->second);
      ++a;
      ++b;
    }
  }
  buckets_ = std::move(merged);
  count_ += other.count_;
}

double DurationSketch::ValueAtRank(uint64_t rank) const {
  uint64_t seen = 0;
  for (const auto& [index, n] : buckets_) {
    seen += n;
    if (rank < seen) {
      if (index == 0) return 0;
      return 2 * std::pow(kGamma, static_cast<double>(index) - 1) / (kGamma + 1);
    }
  }
  return buckets_.empty() ? 0 : ValueAtRank(count_ - 1);
}

double ApproximateRank(const DurationSketch& sketch, uint64_t rank, double min, double max) {
  if (rank == 0) return min;
  if (rank + 1 >= sketch.Count()) return max;
  return std::clamp(sketch.ValueAtRank(rank), min, max);
}

void DurationSketch::AppendTo(std::string& out) const {
  encoding::AppendVarint(&out, buckets_.size());
  uint32_t previous = 0;
  for (const auto& [index, n] : buckets_) {
    encoding::AppendVarint(&out, index - previous);
    encoding::AppendVarint(&out, n);
    previous = index;
  }
}

absl::Status DurationSketch::ReadFrom(std::string_view& in, DurationSketch& out) {
  const char* p = in.data();
  const char* end = in.data() + in.size();
  auto varint = [&](uint64_t* v) {
    return encoding::ReadVarint(&p, end, v) == encoding::ReadResult::kOk;
  };
  uint64_t buckets;
  if (!varint(&buckets)) return Corrupt("truncated bucket count");
  if (buckets > kMaxBuckets) return Corrupt(fmt::format("{} buckets", buckets));
  out = DurationSketch();
  out.buckets_.reserve(buckets);
  uint64_t index = 0;
  for (uint64_t b = 0; b < buckets; ++b) {
    uint64_t delta, n;
    if (!varint(&delta) || !varint(&n)) return Corrupt(fmt::format("truncated bucket {}", b));
    if (b > 0 && delta == 0) return Corrupt(fmt::format("bucket {} out of order", b));
    if (delta >= kMaxBuckets - index) return Corrupt(fmt::format("bucket {} past the last", b));
    index += delta;
    if (n == 0) return Corrupt(fmt::format("bucket {} counts nothing", b));
    if (n > UINT64_MAX - out.count_) return Corrupt("the total count overflows");
    out.buckets_.emplace_back(static_cast<uint32_t>(index), n);
    out.count_ += n;
  }
  in.remove_prefix(static_cast<size_t>(p - in.data()));
  return absl::OkStatus();
}

absl::StatusOr<DurationSketch> DurationSketch::FromBuckets(
    std::vector<std::pair<uint32_t, uint64_t>> buckets) {
  std::sort(buckets.begin(), buckets.end());
  DurationSketch out;
  for (size_t b = 0; b < buckets.size(); ++b) {
    const uint32_t index = buckets[b].first;
    const uint64_t n = buckets[b].second;
    auto refuse = [&](std::string_view why) {
      return absl::InvalidArgumentError(fmt::format("duration sketch: bucket {} {}", index, why));
    };
    if (index >= kMaxBuckets) return refuse(fmt::format("is past the last ({})", kMaxBuckets - 1));
    if (b > 0 && buckets[b - 1].first == index) return refuse("is given twice");
    if (n == 0) return refuse("counts nothing");
    if (n > UINT64_MAX - out.count_) return refuse("overflows the total count");
    out.buckets_.emplace_back(index, n);
    out.count_ += n;
  }
  return out;
}

}  // namespace teletrace::query
