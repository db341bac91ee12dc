// Exact per-block value counts for low-cardinality keys, so TagValues without filters can answer a
// block that lies wholly inside its range without decompressing it
// (docs/adr/002-block-summaries.md, "Value counts").
//
//   BlockValueCountsBuilder builder;
//   for (const StoredSpan* s : block) builder.Add(*s);
//   std::string bytes = std::move(builder).Finish();             // stored beside the block
//   ...
//   ASSIGN_OR_RETURN(BlockValueCounts counts, BlockValueCounts::Parse(bytes));
//   bool counted = counts.ForEachCount(key, [&](const TagValue& v, uint64_t n) { ... });
//   if (!counted) { /* decode the block for this key */ }
//
// Counted keys (IsCountedKey): every resource, scope and span attribute key, and the intrinsics
// span.name, span.kind, span.status.code and scope.name. For each such key a block carries, the
// table (typed value -> number of spans carrying it) is kept when the key has at most
// kMaxCountedValues distinct values in the block; otherwise the key is recorded as not counted.
// The values a span contributes are exactly those TagValuesCollector::Add counts
// (TagValuesCollector::ForEachCountedValue), and values are distinct as CompareTagValues sees them,
// each represented as the first span of the block carried it, so merging the counts of whole
// blocks gives the collector the same result as decoding them. The serialized form is persisted:
// changing it needs a new format version.
//
// Groups (a blob of their own, BlockValueCountsBuilder::Groups): the block's spans grouped by
// (service.name, status code, span kind), each group with its span count and duration aggregates,
// so that a query whose filters read only those fields (one service's search panels: the
// span-count histogram by status, the duration facet; the services overview: requests and latency
// of server and consumer spans per service) takes a block wholly inside its range from the groups
// that pass without decoding it (FromGroups), durations per service included
// (ForEachGroupDurations). A block whose spans form more than kMaxGroups groups, or whose
// service.name is not a string, keeps none. Compressed, they are stored apart from the counts,
// which they would push past one database page, and read only by the queries they answer. Groups
// of format 1 (written before kinds were grouped) stay readable for the other two keys. (Span
// names are left out for size: docs/adr/002-block-summaries.md, "Groups by service and status
// code", "Kinds in groups".)
// Group attributes (a blob of their own, BlockValueCountsBuilder::GroupAttributes): per group, the
// counts of the values of each span attribute key the block counts (at most
// kMaxGroupValueEntries (group, value) pairs per key, else the key is recorded as not counted per
// group), so that one service's attribute facets (the search page's HTTP facets once a service is
// picked) take a block wholly inside the range from its kept groups instead of reading its refs
// and the key's column (docs/adr/002-block-summaries.md, "Attribute values per group").
//
// Thread safety: a BlockValueCounts is immutable and may be shared; a builder is used by one
// thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "model/span.h"
#include "query/duration_sketch.h"
#include "query/query.h"

namespace teletrace::storage {

// Keys with more distinct values than this in a block are not counted for that block.
inline constexpr size_t kMaxCountedValues = 64;

// Blocks whose spans form more groups than this keep none.
inline constexpr size_t kMaxGroups = 256;

// A span attribute key whose values form more (group, value) pairs than this in a block is not
// counted per group (its counts per group would cost about as much as its column).
inline constexpr size_t kMaxGroupValueEntries = 256;

// True for the keys the counts cover: resource, scope and span attributes, and the intrinsics
// span.name, span.kind, span.status.code and scope.name.
bool IsCountedKey(const query::Key& key);

// True for the keys blocks' groups are made of: resource service.name, span.status.code and
// span.kind.
bool IsGroupKey(const query::Key& key);

// How BlockValueCounts::FromGroups reads a block's groups.
struct GroupsRead {
  bool keep_reads_kind = false;  // the filters read span.kind
  bool sketches = true;          // the caller reads duration sketches
  // A span attribute key (its name) whose counts per group the caller reads from `attributes`,
  // the block's group attributes (empty when it has none); empty for none.
  std::string_view attribute = {};
  std::string_view attributes = {};
};

class BlockValueCounts {
 public:
  // Reads serialized counts. Errors: DataLoss naming what is wrong when `bytes` is truncated, has
  // an unknown format version, an unknown value type, a zero count, more than kMaxCountedValues
  // values for a key, keys out of order or (format 1) trailing bytes. The result copies `bytes`.
  // The duration aggregates of format 2 are checked by Durations().
  static absl::StatusOr<BlockValueCounts> Parse(std::string_view bytes);

  // For a key IsCountedKey accepts: calls `fn(value, spans)` for each value the block's spans carry
  // for `key` and returns true; a key no span of the block carries returns true without calls.
  // Returns false without calls when the key has too many values in the block (or is not a counted
  // key): the block must be decoded.
  bool ForEachCount(const query::Key& key,
                    const std::function<void(const query::TagValue&, uint64_t)>& fn) const;

  // Keys recorded (counted or not), for tests and size reports.
  size_t KeyCount() const { return keys_.size(); }

  // The block's duration aggregates (every span's DurationNano()), read from the bytes on each
  // call (Parse only finds where they start, so that tag values do not pay for them). NotFound in
  // format 1; DataLoss naming the problem when they are malformed (the counts stay usable).
  absl::StatusOr<query::DurationAggregates> Durations() const;

  // The counts of the block's spans that `keep` accepts, from its serialized groups: `keep` is
  // called once per group with a span holding only the group's fields (a resource with its
  // service.name, or an empty one, and the status code; every other field empty), and the result
  // holds the counts of those two keys and the duration aggregates of the kept groups' spans; its
  // ForEachCount answers false for every other key but `read.attribute`, which it answers as a
  // block's counts do when the group attributes count it per group. `keep` must read only those
  // two fields, so that it accepts a group exactly when it accepts each of the group's spans.
  // DataLoss naming the problem when `groups` is malformed (the block is then decoded).
  // Groups of format 1 hold no span kinds: with `read.keep_reads_kind` (a filter on span.kind)
  // they are refused (FailedPrecondition), else the kind is not counted (ForEachCount answers
  // false). Without `read.sketches` no duration sketch is read: Durations() then holds an empty
  // sketch (its count, bounds and sum stay right) and ForEachGroupDurations answers false.
  static absl::StatusOr<BlockValueCounts> FromGroups(
      std::string_view groups, const std::function<bool(const model::StoredSpan&)>& keep,
      GroupsRead read = {});
  // For a group key (IsGroupKey) of counts FromGroups made: calls `fn(value, durations)` once per
  // kept group with its value of `key` and its duration aggregates (a value may come more than
  // once: the kept spans carrying it are those of all its calls), and returns true. False without
  // calls for other counts and keys, and for span.kind from groups of format 1.
  bool ForEachGroupDurations(
      const query::Key& key,
      const std::function<void(const query::TagValue&, const query::DurationAggregates&)>& fn)
      const;
  // The spans the counts hold (the block's, or the kept groups'), as their duration aggregates
  // say; 0 in format 1 (Durations() tells whether the number is sound).
  uint64_t SpanCount() const { return span_count_; }

  // Format 2 is format 1 followed by the duration aggregates; both are read.
  static constexpr uint8_t kFormatVersion = 2;

 private:
  // Positions rather than views into bytes_: a short bytes_ lives inside the object (small string
  // optimisation), so a view would dangle once the counts are moved.
  struct KeyEntry {
    char level;            // 'r' resource, 's' scope, 'a' span attribute, 'i' intrinsic
    size_t name_offset;    // of the name in bytes_
    size_t name_size;
    size_t values_offset;  // offset in bytes_ of the first value
    size_t value_count;    // 0 = not counted
  };
  std::string_view NameOf(const KeyEntry& e) const {
    return std::string_view(bytes_).substr(e.name_offset, e.name_size);
  }
  BlockValueCounts() = default;

  std::string bytes_;
  std::vector<KeyEntry> keys_;  // sorted by (level, name)
  size_t durations_offset_ = 0;  // in bytes_; 0 = format 1, none
  bool subset_ = false;          // FromGroups': keys not stored are unknown, not absent
  bool kinds_known_ = false;     // FromGroups' of groups with span kinds
  bool sketches_ = true;          // FromGroups' read the groups' sketches
  // FromGroups': the span attribute read from the groups' counts per group (counted, or carried
  // by no span of the block); empty for none.
  std::string attribute_;
  // FromGroups': each kept group's value of each group key (span.kind, span.status.code,
  // service.name), by its number in group_values_, and its duration aggregates.
  struct KeptGroup {
    uint32_t values[3] = {};
    query::DurationAggregates durations;
  };
  std::vector<KeptGroup> kept_groups_;
  std::vector<std::optional<query::TagValue>> group_values_[3];  // none: no value (no service)
  query::DurationAggregates kept_durations_;  // FromGroups': of every kept group
  uint64_t span_count_ = 0;      // from the duration aggregates; 0 in format 1
};

// Counts the values of one block's spans, sums up their durations and serializes both.
class BlockValueCountsBuilder {
 public:
  BlockValueCountsBuilder();
  void Add(const model::StoredSpan& span);
  // The serialized groups (BlockValueCounts::FromGroups reads them), or an empty string when the
  // block keeps none. Internal when compression fails. Called before Finish.
  absl::StatusOr<std::string> Groups() const;
  // The serialized group attributes (FromGroups reads them with GroupsRead::attributes), or an
  // empty string when the block keeps no groups. Internal when compression fails.
  absl::StatusOr<std::string> GroupAttributes() const;
  // The serialized counts (see BlockValueCounts for the format's guarantees).
  std::string Finish() &&;

 private:
  struct ValueCounts {
    // Distinct values in first-seen order with their counts; cleared once the key overflows.
    std::vector<std::pair<query::TagValue, uint64_t>> values;
    bool overflow = false;
    // Span attributes: per span carrying a counted value, its group's index times
    // kMaxCountedValues plus the value's index (groups_ and values stay below 256 and 64).
    std::vector<uint16_t> cells;
    // A double value seen in two forms that compare equal (0.0 and -0.0, NaNs): counts per group
    // could not say which form a group's first span carried, so the key is not counted per group.
    bool forms_differ = false;
  };
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  using KeyTable = std::unordered_map<std::string, ValueCounts, KeyHash, std::equal_to<>>;

  // The table entry of the key last seen at each position of an attribute list. Spans of a block
  // mostly list the same keys in the same order, so one string comparison usually finds the
  // entry, without hashing the key. The pointers stay valid: the table's nodes never move.
  using PositionCache = std::vector<std::pair<const std::string*, ValueCounts*>>;

  // With `group` (span attributes: the span's group, or kNoGroup), records each counted value's
  // cell.
  static constexpr uint32_t kNoGroup = UINT32_MAX;
  void CountAttributes(char level, const model::KeyValueList& attributes, uint64_t spans,
                       uint32_t group = kNoGroup);
  void CountKey(KeyTable& table, std::string_view name, const query::Key& key,
                const model::StoredSpan& span, uint64_t spans);
  static ValueCounts& CountsOf(KeyTable& table, std::string_view name);
  static ValueCounts& CountsAt(KeyTable& table, PositionCache& cache, size_t position,
                               std::string_view name);
  // Each returns the value's index in counts.values, or -1 when nothing is counted (an overflowed
  // key, a value that counts nothing).
  static int AddValue(ValueCounts& counts, const query::TagValue& value, uint64_t spans);
  // AddValue(ToTagValue(value)) without building the TagValue unless it is a new one.
  static int AddAttributeValue(ValueCounts& counts, const model::AnyValue& value, uint64_t spans);
  static int AddString(ValueCounts& counts, const std::string& value, uint64_t spans);

  // Per level: resource 'r', scope 's', span 'a', intrinsic 'i'.
  KeyTable resource_, scope_, span_, intrinsic_;
  PositionCache resource_positions_, scope_positions_, span_positions_;
  ValueCounts* name_counts_ = nullptr;  // intrinsic_'s entry for the span name
  // Spans of one block mostly share a few resources and scopes: their keys are counted once per
  // resource (scope) with the number of spans that share it.
  std::vector<std::pair<const model::StoredSpan*, uint64_t>> resources_, scopes_;
  std::unordered_map<const void*, size_t> resource_index_, scope_index_;
  // Likewise span.kind and span.status.code, which depend only on the span's enum values (the
  // values seen, in first-seen order, parallel to the lists).
  std::vector<std::pair<const model::StoredSpan*, uint64_t>> kinds_, statuses_;
  std::vector<int> kind_values_, status_values_;
  std::vector<uint64_t> durations_;  // every span's, for the duration aggregates
  static query::DurationAggregates AggregatesOf(const std::vector<uint64_t>& durations);

  // Groups: the service.name of each entry of resources_ (an index into services_, kNoService or
  // kNotString), and per (service, status code, span kind) the durations of its spans.
  static constexpr uint32_t kNoService = UINT32_MAX, kNotString = UINT32_MAX - 1;
  uint32_t ServiceOf(size_t resource);
  // The span's group index, or kNoGroup once the block keeps no groups.
  uint32_t AddToGroup(uint32_t service, const model::StoredSpan& span, uint64_t duration);
  // GroupAttributes' uncompressed form, and one key's entry after its size (`spans` is scratch).
  std::string AttributesPerGroup() const;
  void AppendAttributeCounts(std::string& out, const ValueCounts& counts,
                             std::vector<uint32_t>& spans) const;
  std::vector<uint32_t> resource_services_;
  std::vector<std::string> services_;
  struct Group {
    uint32_t service;
    uint8_t status_code;
    uint8_t kind;
    std::vector<uint64_t> durations;
  };
  std::vector<Group> groups_;
  bool groups_dropped_ = false;  // too many, or a service.name that is not a string
};

}  // namespace teletrace::storage
