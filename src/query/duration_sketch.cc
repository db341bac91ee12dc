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

double DurationSketch::LogGamma() { return kLogGamma; }

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
  // A small sketch (a block's, a group's) merged into a large one (a query's) mostly adds to
  // buckets the large one has: then the counts are added in place, with no allocation.
  // `positions` calls at(position here, count) for each of other's buckets, or returns false at
  // the first one missing. Indexes are distinct and ascending, so bucket `index` lies at most
  // (index - the index at `from`) positions after `from`: each is searched in that window, mostly
  // a few buckets wide.
  if (other.buckets_.size() * 4 <= buckets_.size()) {
    auto positions = [this, &other](auto&& at) {
      size_t from = 0;
      for (const auto& [index, n] : other.buckets_) {
        if (buckets_[from].first > index) return false;
        const auto begin = buckets_.begin() + static_cast<ptrdiff_t>(from);
        const size_t width = std::min<size_t>(buckets_.size() - from,
                                              size_t{index - begin->first} + 1);
        const auto it = std::lower_bound(
            begin, begin + static_cast<ptrdiff_t>(width), index,
            [](const std::pair<uint32_t, uint64_t>& b, uint32_t i) { return b.first < i; });
        if (it == buckets_.end() || it->first != index) return false;
        from = static_cast<size_t>(it - buckets_.begin());
        at(from, n);
      }
      return true;
    };
    if (positions([](size_t, uint64_t) {})) {
      positions([this](size_t at, uint64_t n) { buckets_[at].second += n; });
      count_ += other.count_;
      return;
    }
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

DurationSketch DurationSketch::Sum(const std::vector<const DurationSketch*>& sketches) {
  // Counted in a table of every bucket, walked between the lowest and highest index used: linear
  // in the buckets given and the range they span, where merging one by one is quadratic.
  thread_local std::vector<uint64_t> counts(kMaxBuckets, 0);
  uint32_t lo = kMaxBuckets, hi = 0;
  DurationSketch out;
  for (const DurationSketch* sketch : sketches) {
    if (sketch->Empty()) continue;
    lo = std::min(lo, sketch->buckets_.front().first);
    hi = std::max(hi, sketch->buckets_.back().first);
    for (const auto& [index, n] : sketch->buckets_) counts[index] += n;
    out.count_ += sketch->count_;
  }
  for (uint32_t index = lo; index <= hi && lo < kMaxBuckets; ++index) {
    if (counts[index] == 0) continue;
    out.buckets_.emplace_back(index, counts[index]);
    counts[index] = 0;
  }
  return out;
}

void DurationSketchSum::Merge(const DurationSketch& other) {
  if (other.Empty()) return;
  pending_.push_back(other);
  if (pending_.size() >= kBatch) Flush();
}

const DurationSketch& DurationSketchSum::Get() {
  Flush();
  return sum_;
}

void DurationSketchSum::Flush() {
  if (pending_.empty()) return;
  std::vector<const DurationSketch*> all = {&sum_};
  for (const DurationSketch& p : pending_) all.push_back(&p);
  sum_ = DurationSketch::Sum(all);
  pending_.clear();
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

void DurationSketch::AppendTo(std::string& out, Form form) const {
  encoding::AppendVarint(&out, buckets_.size());
  uint32_t previous = 0;
  for (const auto& [index, n] : buckets_) {
    const uint64_t delta = index - previous;
    previous = index;
    if (form == Form::kPlain) {
      encoding::AppendVarint(&out, delta);
      encoding::AppendVarint(&out, n);
    } else {
      encoding::AppendVarint(&out, delta << 1 | (n == 1 ? 1 : 0));
      if (n != 1) encoding::AppendVarint(&out, n);
    }
  }
}

absl::Status DurationSketch::ReadFrom(std::string_view& in, DurationSketch& out, Form form) {
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
    uint64_t delta, n = 1;
    if (!varint(&delta)) return Corrupt(fmt::format("truncated bucket {}", b));
    if (form == Form::kCompact) {
      const bool one = (delta & 1) != 0;
      delta >>= 1;
      if (!one) {
        if (!varint(&n)) return Corrupt(fmt::format("truncated bucket {}", b));
        // One span is said by the flag only, so that each sketch has one encoding.
        if (n == 1) return Corrupt(fmt::format("bucket {} counts one span without the flag", b));
      }
    } else if (!varint(&n)) {
      return Corrupt(fmt::format("truncated bucket {}", b));
    }
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
