// Feeds arbitrary bytes to the block value counts parser: it must return an error or counts that
// answer every key without crashing, each counted value with at least one span, and duration
// aggregates whose ranks read back in order inside their bounds; subsets of its groups (kept by
// a predicate the input picks) whose own aggregates are sound and hold no more spans than the
// block.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "storage/block_value_counts.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using teletrace::query::Intrinsic;
  using teletrace::query::Key;
  using teletrace::query::KeyLevel;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto counts = teletrace::storage::BlockValueCounts::Parse(input);
  if (!counts.ok()) {
    if (counts.status().code() != absl::StatusCode::kDataLoss) std::abort();
    return 0;
  }
  std::vector<Key> keys(5);
  keys[0].level = KeyLevel::kResource;
  keys[0].name = "service.name";
  keys[1].level = KeyLevel::kSpan;
  keys[1].name = std::string(input.substr(0, 8));
  keys[2].level = KeyLevel::kScope;
  keys[2].name = "";
  keys[3].level = KeyLevel::kIntrinsic;
  keys[3].intrinsic = Intrinsic::kName;
  keys[4].level = KeyLevel::kIntrinsic;
  keys[4].intrinsic = Intrinsic::kKind;
  for (const Key& key : keys) {
    size_t values = 0;
    counts->ForEachCount(key, [&](const teletrace::query::TagValue&, uint64_t spans) {
      if (spans == 0) std::abort();
      ++values;
    });
    if (values > teletrace::storage::kMaxCountedValues) std::abort();
  }
  absl::StatusOr<teletrace::query::DurationAggregates> d = counts->Durations();
  if (!d.ok() && d.status().code() != absl::StatusCode::kDataLoss &&
      d.status().code() != absl::StatusCode::kNotFound) {
    std::abort();
  }
  if (d.ok() && d->count > 0) {
    const auto min = static_cast<double>(d->min), max = static_cast<double>(d->max);
    double previous = min;
    for (uint64_t rank : {uint64_t{0}, d->count / 3, d->count / 2, d->count - 1}) {
      const double v = teletrace::query::ApproximateRank(d->sketch, rank, min, max);
      if (!(v >= previous && v <= max)) std::abort();
      previous = v;
    }
  }
  // Groups kept by the parity of their name's length and the kind, as a filter would pick them.
  const uint8_t pick = size > 0 ? data[size - 1] : 0;
  absl::StatusOr<std::optional<teletrace::storage::BlockValueCounts>> subset =
      counts->Subset([pick](const teletrace::model::StoredSpan& s) {
        return ((pick >> (s.span.name.size() % 8)) & 1) != 0 ||
               s.span.kind == teletrace::model::SpanKind::kServer;
      });
  if (!subset.ok()) {
    if (subset.status().code() != absl::StatusCode::kDataLoss) std::abort();
    return 0;
  }
  if (!subset->has_value()) return 0;
  const teletrace::storage::BlockValueCounts& kept = **subset;
  // The groups add up to the block's span count.
  if (kept.SpanCount() > counts->SpanCount()) std::abort();
  absl::StatusOr<teletrace::query::DurationAggregates> kept_d = kept.Durations();
  if (!kept_d.ok() || kept_d->count != kept.SpanCount()) std::abort();
  for (const Key& key : keys) {
    uint64_t spans = 0;
    const bool answered = kept.ForEachCount(
        key, [&](const teletrace::query::TagValue&, uint64_t n) { spans += n; });
    if (answered && spans > kept.SpanCount()) std::abort();
    // A subset knows only its group keys: no span attribute or scope key.
    if (answered && !teletrace::storage::IsGroupKey(key)) std::abort();
  }
  return 0;
}
