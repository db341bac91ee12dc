// Feeds arbitrary bytes to the block value counts parser: it must return an error or counts that
// answer every key without crashing, each counted value with at least one span, and duration
// aggregates whose ranks read back in order inside their bounds. The same bytes read as a block's
// groups give an error or sound counts of the kept groups, and read as a fixed block's group
// attributes an error or sound counts of a span attribute over the kept groups.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/block_value_counts.h"

namespace {

using teletrace::query::Intrinsic;
using teletrace::query::Key;
using teletrace::query::KeyLevel;

// The input read as a block's groups, kept by the service name's length, the status code and
// (when the input's second-to-last byte is odd) the span kind (a filter the input picks): an
// error, or counts and per-value durations of the group keys alone whose aggregates are sound.
void CheckGroups(std::string_view input) {
  const uint8_t pick = input.empty() ? 0 : static_cast<uint8_t>(input.back());
  const bool by_kind = input.size() > 1 && (input[input.size() - 2] & 1) != 0;
  absl::StatusOr<teletrace::storage::BlockValueCounts> kept =
      teletrace::storage::BlockValueCounts::FromGroups(
          input,
          [pick, by_kind](const teletrace::model::StoredSpan& s) {
            const auto* v = teletrace::model::FindAttribute(s.resource->attributes, "service.name");
            const size_t n = v == nullptr ? 0 : std::get<std::string>(v->value).size();
            return ((pick >> (n % 8)) & 1) != 0 ||
                   s.span.status.code == teletrace::model::StatusCode::kError ||
                   (by_kind && s.span.kind == teletrace::model::SpanKind::kServer);
          },
          {by_kind, /*sketches=*/true});
  if (!kept.ok()) {
    if (kept.status().code() != absl::StatusCode::kDataLoss &&
        !(by_kind && kept.status().code() == absl::StatusCode::kFailedPrecondition)) {
      std::abort();
    }
    return;
  }
  absl::StatusOr<teletrace::query::DurationAggregates> d = kept->Durations();
  if (!d.ok() || d->count != kept->SpanCount()) std::abort();
  Key span_key, service_key, status_key, kind_key;
  span_key.level = KeyLevel::kSpan;
  span_key.name = "service.name";
  service_key.level = KeyLevel::kResource;
  service_key.name = "service.name";
  status_key.intrinsic = Intrinsic::kStatusCode;
  kind_key.intrinsic = Intrinsic::kKind;
  for (const Key* key : {&span_key, &service_key, &status_key, &kind_key}) {
    uint64_t spans = 0;
    const bool answered = kept->ForEachCount(
        *key, [&](const teletrace::query::TagValue&, uint64_t n) { spans += n; });
    // Group keys only (no span attribute), and never more spans than were kept.
    if (answered && key == &span_key) std::abort();
    if (spans > kept->SpanCount()) std::abort();
    // Per value, durations that add up to at most the kept spans, each inside the kept bounds.
    uint64_t with_durations = 0;
    const bool grouped = kept->ForEachGroupDurations(
        *key, [&](const teletrace::query::TagValue&, const teletrace::query::DurationAggregates& g) {
          if (g.count == 0 || g.sketch.Count() != g.count || g.min < d->min || g.max > d->max) {
            std::abort();
          }
          with_durations += g.count;
        });
    if (grouped && key == &span_key) std::abort();
    if (with_durations > kept->SpanCount()) std::abort();
    // Status codes and kinds: every kept span has one.
    if (grouped && key != &service_key && with_durations != kept->SpanCount()) std::abort();
  }
}

// The groups of a fixed block: 24 spans of three services over every status code and two kinds.
const std::string& FixedGroups() {
  static const std::string groups = [] {
    teletrace::storage::BlockValueCountsBuilder builder;
    std::vector<teletrace::model::StoredSpan> spans(24);
    std::shared_ptr<teletrace::model::Resource> resources[3];
    for (int r = 0; r < 3; ++r) {
      resources[r] = std::make_shared<teletrace::model::Resource>();
      resources[r]->attributes.push_back(
          {"service.name", teletrace::model::AnyValue(std::string(1, static_cast<char>('a' + r)))});
    }
    for (size_t i = 0; i < spans.size(); ++i) {
      spans[i].resource = resources[i % 3];
      spans[i].span.status.code = static_cast<teletrace::model::StatusCode>(i % 3);
      spans[i].span.kind = static_cast<teletrace::model::SpanKind>(1 + i % 2);
      spans[i].span.start_time_unix_nano = 1;
      spans[i].span.end_time_unix_nano = 2 + i;
      builder.Add(spans[i]);
    }
    absl::StatusOr<std::string> built = builder.Groups();
    if (!built.ok() || built->empty()) std::abort();
    return *built;
  }();
  return groups;
}

// The input read as the fixed block's group attributes, for a key the input picks and the groups
// of one status code and one kind kept: an error, or counts of at least one span each, at most
// kMaxCountedValues values, adding up to at most the kept spans.
void CheckGroupAttributes(std::string_view input) {
  if (input.empty()) return;
  const uint8_t pick = static_cast<uint8_t>(input.back());
  const std::string names[] = {"k", "m", "http.method", std::string(input.substr(1, 3))};
  const std::string& name = names[pick % 4];
  absl::StatusOr<teletrace::storage::BlockValueCounts> kept =
      teletrace::storage::BlockValueCounts::FromGroups(
          FixedGroups(),
          [pick](const teletrace::model::StoredSpan& s) {
            return static_cast<int>(s.span.status.code) == (pick >> 2) % 3 ||
                   static_cast<int>(s.span.kind) == 1 + (pick >> 4) % 2;
          },
          {/*keep_reads_kind=*/true, /*sketches=*/false, name, input});
  if (!kept.ok()) {
    if (kept.status().code() != absl::StatusCode::kDataLoss) std::abort();
    return;
  }
  Key key;
  key.level = KeyLevel::kSpan;
  key.name = name;
  uint64_t spans = 0;
  size_t values = 0;
  kept->ForEachCount(key, [&](const teletrace::query::TagValue&, uint64_t n) {
    if (n == 0) std::abort();
    spans += n;
    ++values;
  });
  if (values > teletrace::storage::kMaxCountedValues || spans > kept->SpanCount()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckGroups(input);
  CheckGroupAttributes(input);
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
  return 0;
}
