#include "storage/span_refs_query.h"

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

namespace teletrace::storage {
namespace {

using query::Intrinsic;
using query::KeyLevel;

enum Field { kResource, kScope, kName, kKind, kStatusCode, kFieldCount };

std::optional<Field> FieldOf(const query::Key& key) {
  switch (key.level) {
    case KeyLevel::kResource:
      return kResource;
    case KeyLevel::kScope:
      return kScope;
    case KeyLevel::kIntrinsic:
      switch (key.intrinsic) {
        case Intrinsic::kScopeName:
        case Intrinsic::kScopeVersion:
          return kScope;
        case Intrinsic::kName:
          return kName;
        case Intrinsic::kKind:
          return kKind;
        case Intrinsic::kStatusCode:
          return kStatusCode;
        default:
          return std::nullopt;
      }
    default:
      return std::nullopt;
  }
}

// A span with only field `field` set to entry `i` of its table: all a filter or key of that
// field reads.
class Probe {
 public:
  explicit Probe(const SpanRefs& refs) : refs_(refs) {}

  // Only the field set last is reset: building a whole StoredSpan per probe was ~9% of the
  // Jaeger API's operations query.
  const model::StoredSpan& At(Field field, uint32_t i) {
    if (last_ != field) Reset(last_);
    last_ = field;
    switch (field) {
      case kResource:
        span_.resource = refs_.resources[i];
        break;
      case kScope:
        span_.scope = refs_.scopes[i];
        break;
      case kName:
        span_.span.name = refs_.names[i];
        break;
      case kKind:
        span_.span.kind = static_cast<model::SpanKind>(i);
        break;
      case kStatusCode:
        span_.span.status.code = static_cast<model::StatusCode>(i);
        break;
      case kFieldCount:
        break;
    }
    return span_;
  }

 private:
  void Reset(Field field) {
    switch (field) {
      case kResource:
        span_.resource = nullptr;
        break;
      case kScope:
        span_.scope = nullptr;
        break;
      case kName:
        span_.span.name.clear();
        break;
      case kKind:
        span_.span.kind = model::SpanKind::kUnspecified;
        break;
      case kStatusCode:
        span_.span.status.code = model::StatusCode::kUnset;
        break;
      case kFieldCount:
        break;
    }
  }

  const SpanRefs& refs_;
  model::StoredSpan span_;
  Field last_ = kFieldCount;
};

uint32_t IndexOf(Field field, const SpanRefs::Row& row) {
  switch (field) {
    case kResource:
      return row.resource;
    case kScope:
      return row.scope;
    case kName:
      return row.name;
    case kKind:
      return row.kind;
    case kStatusCode:
      return row.status_code;
    case kFieldCount:
      break;
  }
  return 0;
}

size_t TableSize(Field field, const SpanRefs& refs) {
  switch (field) {
    case kResource:
      return refs.resources.size();
    case kScope:
      return refs.scopes.size();
    case kName:
      return refs.names.size();
    default:
      return 256;  // kinds and status codes are bytes
  }
}

bool IsTime(const query::Key& key) {
  return key.level == KeyLevel::kIntrinsic &&
         (key.intrinsic == Intrinsic::kStartTime || key.intrinsic == Intrinsic::kEndTime ||
          key.intrinsic == Intrinsic::kDuration);
}

}  // namespace

bool ReadsOnlyRefs(const SpanFields& fields) {
  constexpr uint32_t kRefs = SpanFields::kResourceAndScope | SpanFields::kName |
                             SpanFields::kKind | SpanFields::kStatusCode;
  return (fields.groups & ~kRefs) == 0 && fields.span_attributes.empty();
}

bool ReadsOnlyRefs(const query::Key& key) { return FieldOf(key).has_value(); }

bool FiltersReadOnlyRefs(const std::vector<query::Filter>& filters, bool times) {
  return std::all_of(filters.begin(), filters.end(), [times](const query::Filter& f) {
    return ReadsOnlyRefs(f.key) || (times && IsTime(f.key));
  });
}

void KeepMatching(const std::vector<query::Filter>& filters, SpanRefs& refs) {
  if (filters.empty()) return;
  Probe probe(refs);
  // Per field: the filters that read it, and whether each table entry passes them all (1), fails
  // (0) or is not yet known (-1: kinds and status codes, tested when first met).
  std::array<std::vector<query::Filter>, kFieldCount> by_field;
  std::vector<query::Filter> on_times;  // tested per row, on a span holding the row's times
  for (const query::Filter& f : filters) {
    if (std::optional<Field> field = FieldOf(f.key)) {
      by_field[*field].push_back(f);
    } else {
      on_times.push_back(f);
    }
  }
  const query::SpanMatcher times_matcher(on_times);
  model::StoredSpan times_probe;
  std::array<std::vector<int8_t>, kFieldCount> passes;
  std::array<std::optional<query::SpanMatcher>, kFieldCount> matchers;
  for (int f = 0; f < kFieldCount; ++f) {
    const Field field = static_cast<Field>(f);
    if (by_field[f].empty()) continue;
    matchers[f].emplace(by_field[f]);
    passes[f].assign(TableSize(field, refs), -1);
    if (field == kKind || field == kStatusCode) continue;
    for (uint32_t i = 0; i < passes[f].size(); ++i) {
      passes[f][i] = matchers[f]->Matches(probe.At(field, i)) ? 1 : 0;
    }
  }
  auto passes_all = [&](const SpanRefs::Row& row) {
    for (int f = 0; f < kFieldCount; ++f) {
      if (passes[f].empty()) continue;
      const Field field = static_cast<Field>(f);
      const uint32_t i = IndexOf(field, row);
      int8_t& pass = passes[f][i];
      if (pass < 0) pass = matchers[f]->Matches(probe.At(field, i)) ? 1 : 0;
      if (pass == 0) return false;
    }
    if (on_times.empty()) return true;
    times_probe.span.start_time_unix_nano = row.start_unix_nano;
    times_probe.span.end_time_unix_nano = row.end_unix_nano;
    return times_matcher.Matches(times_probe);
  };
  std::erase_if(refs.rows, [&](const SpanRefs::Row& row) { return !passes_all(row); });
}

void AddTagValues(const query::Key& key, const SpanRefs& refs,
                  query::TagValuesCollector& collector) {
  Probe probe(refs);
  const Field key_field = *FieldOf(key);
  std::vector<uint64_t> counts(TableSize(key_field, refs), 0);
  std::vector<uint32_t> first_seen;  // key table entries in the order spans first carry them
  for (const SpanRefs::Row& row : refs.rows) {
    const uint32_t i = IndexOf(key_field, row);
    if (counts[i]++ == 0) first_seen.push_back(i);
  }
  for (uint32_t i : first_seen) {
    query::TagValuesCollector::ForEachCountedValue(
        key, probe.At(key_field, i),
        [&](const query::TagValue& v) { collector.AddCounted(v, counts[i]); });
  }
}

void SetSpanFields(const SpanRefs& refs, const SpanRefs::Row& row, const SpanFields& fields,
                   model::StoredSpan& span) {
  span.span.start_time_unix_nano = row.start_unix_nano;
  span.span.end_time_unix_nano = row.end_unix_nano;
  if ((fields.groups & SpanFields::kResourceAndScope) != 0) {
    if (span.resource != refs.resources[row.resource]) span.resource = refs.resources[row.resource];
    if (span.scope != refs.scopes[row.scope]) span.scope = refs.scopes[row.scope];
  }
  if ((fields.groups & SpanFields::kName) != 0 && span.span.name != refs.names[row.name]) {
    span.span.name = refs.names[row.name];
  }
  if ((fields.groups & SpanFields::kKind) != 0) {
    span.span.kind = static_cast<model::SpanKind>(row.kind);
  }
  if ((fields.groups & SpanFields::kStatusCode) != 0) {
    span.span.status.code = static_cast<model::StatusCode>(row.status_code);
  }
}

}  // namespace teletrace::storage
