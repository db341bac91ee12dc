#include "storage/block_value_counts.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <variant>

#include "common/encoding.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "model/last_occurrence.h"
#include "query/engine.h"
#include "query/values.h"
#include "storage/zstd_frames.h"

namespace teletrace::storage {
namespace {

// Format version 1:
//   u8 version
//   varint key count, then per key in strictly increasing (level, name) order:
//     u8 level ('a' span attribute, 'i' intrinsic, 'r' resource, 's' scope)
//     varint name length, name bytes
//     varint value count: 0 = more than kMaxCountedValues values (not counted), else that many of
//       u8 type (0 string: varint length + bytes; 1 int64: zigzag varint; 2 double: 8 bytes, the
//          IEEE bits little-endian; 3 bool: one byte 0 or 1)
//       varint span count (>= 1)
// Format version 2: the same, then the duration aggregates of the block's spans:
//   varint span count, varint min, varint max (of DurationNano(); 0 when no span)
//   varint low and varint high 64 bits of the sum of the durations
//   the duration sketch (query::DurationSketch::AppendTo), holding span count values
// Every varint is unsigned LEB128 of at most 10 bytes.
//
// Groups, format version 1:
//   u8 version
//   one zstd frame (at most kMaxGroupsBytes decompressed) holding
//     varint span count of the block
//     varint service count, then per service.name value its varint length and bytes (distinct)
//     varint group count (1 to kMaxGroups), then per group, distinct in (service, status code):
//       varint service.name: 0 none, else 1 + its index among the services
//       u8 status code (0-2)
//       the group's duration aggregates as in format 2, of at least one span
//   The groups' span counts add up to the block's.
// Groups, format version 2: as version 1, but groups are distinct in (service, status code, span
// kind), each with
//       varint service.name as in version 1
//       u8 status code (0-2)
//       u8 span kind (0-5)
//       the group's duration aggregates as in format 2, the sketch in its compact form
//       (query::DurationSketch::Form::kCompact)
constexpr uint8_t kGroupsFormatVersion = 2;
// Group attributes (BlockValueCountsBuilder::GroupAttributes), format version 1:
//   u8 version
//   one zstd frame (at most kMaxGroupsBytes decompressed) holding the span attribute keys the
//   block's counts list, counted or not:
//     varint key count, then per key in strictly increasing name order
//       varint name length, name bytes
//       varint size in bytes of the rest of the key's entry (so that readers step over it):
//       varint value count: 0 = not counted per group, else 1 to kMaxCountedValues values as in
//         the counts (each value's form the block's first span carrying it had), distinct
//       varint pair count (1 to kMaxGroupValueEntries), then per pair in strictly increasing
//         (group, value) order: varint group (its position among the block's groups), varint
//         value (its position among the key's values), varint span count (>= 1)
//   A group's spans carrying the key add up to at most its span count.
constexpr uint8_t kGroupAttributesFormatVersion = 1;
constexpr size_t kMaxGroupsBytes = size_t{1} << 20;
constexpr uint8_t kString = 0;
constexpr uint8_t kInt = 1;
constexpr uint8_t kDouble = 2;
constexpr uint8_t kBool = 3;

// Intrinsic names as the API spells them (query/intrinsics.h); the counts store them by name.
constexpr std::string_view kSpanName = "span.name";
constexpr std::string_view kSpanKind = "span.kind";
constexpr std::string_view kStatusCode = "span.status.code";
constexpr std::string_view kScopeName = "scope.name";

// Equality as CompareTagValues sees it: same type, strings and bools exactly, int64s exactly,
// doubles numerically with every NaN one value (an int64 and an equal double stay distinct).
bool SameValue(const query::TagValue& a, const query::TagValue& b) {
  if (a.index() != b.index()) return false;
  if (const double* da = std::get_if<double>(&a)) {
    double db = std::get<double>(b);
    if (std::isnan(*da) || std::isnan(db)) return std::isnan(*da) && std::isnan(db);
    return *da == db;
  }
  return a == b;
}

void PutVarint(std::string& out, uint64_t v) { encoding::AppendVarint(&out, v); }

void PutValue(std::string& out, const query::TagValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    out.push_back(static_cast<char>(kString));
    PutVarint(out, s->size());
    out.append(*s);
  } else if (const int64_t* i = std::get_if<int64_t>(&value)) {
    out.push_back(static_cast<char>(kInt));
    PutVarint(out, encoding::ZigZag(*i));
  } else if (const double* d = std::get_if<double>(&value)) {
    out.push_back(static_cast<char>(kDouble));
    uint64_t bits;
    std::memcpy(&bits, d, sizeof bits);
    encoding::AppendFixed(&out, bits, 8);
  } else {
    out.push_back(static_cast<char>(kBool));
    out.push_back(std::get<bool>(value) ? 1 : 0);
  }
}

// Reads from `bytes` at `*pos`, advancing it; false when the input is malformed.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  bool Varint(uint64_t* v) {
    const char* p = bytes_.data() + pos_;
    if (encoding::ReadVarint(&p, bytes_.data() + bytes_.size(), v) != encoding::ReadResult::kOk) {
      return false;
    }
    pos_ = static_cast<size_t>(p - bytes_.data());
    return true;
  }
  bool Byte(uint8_t* b) {
    if (pos_ >= bytes_.size()) return false;
    *b = static_cast<uint8_t>(bytes_[pos_++]);
    return true;
  }
  bool Bytes(uint64_t n, std::string_view* out) {
    if (n > bytes_.size() - pos_) return false;
    *out = bytes_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  // A value as PutValue wrote it; false on an unknown type or a malformed payload.
  bool Value(query::TagValue* value) {
    uint8_t type;
    if (!Byte(&type)) return false;
    switch (type) {
      case kString: {
        uint64_t n;
        std::string_view s;
        if (!Varint(&n) || !Bytes(n, &s)) return false;
        *value = std::string(s);
        return true;
      }
      case kInt: {
        uint64_t z;
        if (!Varint(&z)) return false;
        *value = encoding::UnZigZag(z);
        return true;
      }
      case kDouble: {
        std::string_view raw;
        if (!Bytes(8, &raw)) return false;
        const char* p = raw.data();
        uint64_t bits = 0;
        encoding::ReadFixed(&p, raw.data() + raw.size(), 8, &bits);
        double d;
        std::memcpy(&d, &bits, sizeof d);
        *value = d;
        return true;
      }
      case kBool: {
        uint8_t b;
        if (!Byte(&b) || b > 1) return false;
        *value = b == 1;
        return true;
      }
      default:
        return false;
    }
  }
  // Value's checks without building the value.
  bool SkipValue() {
    uint8_t type;
    if (!Byte(&type)) return false;
    std::string_view skipped;
    uint64_t n;
    switch (type) {
      case kString:
        return Varint(&n) && Bytes(n, &skipped);
      case kInt:
        return Varint(&n);
      case kDouble:
        return Bytes(8, &skipped);
      case kBool: {
        uint8_t b;
        return Byte(&b) && b <= 1;
      }
      default:
        return false;
    }
  }
  size_t pos() const { return pos_; }
  std::string_view Rest() const { return bytes_.substr(pos_); }
  void Skip(size_t n) { pos_ += n; }
  void Seek(size_t pos) { pos_ = pos; }
  bool AtEnd() const { return pos_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

// The (level, name) the counts store `key` under; false for keys they do not cover.
bool StoredName(const query::Key& key, char* level, std::string_view* name) {
  switch (key.level) {
    case query::KeyLevel::kResource:
      *level = 'r';
      *name = key.name;
      return true;
    case query::KeyLevel::kScope:
      *level = 's';
      *name = key.name;
      return true;
    case query::KeyLevel::kSpan:
      *level = 'a';
      *name = key.name;
      return true;
    case query::KeyLevel::kIntrinsic:
      *level = 'i';
      switch (key.intrinsic) {
        case query::Intrinsic::kName:
          *name = kSpanName;
          return true;
        case query::Intrinsic::kKind:
          *name = kSpanKind;
          return true;
        case query::Intrinsic::kStatusCode:
          *name = kStatusCode;
          return true;
        case query::Intrinsic::kScopeName:
          *name = kScopeName;
          return true;
        default:
          return false;
      }
    case query::KeyLevel::kEvent:
    case query::KeyLevel::kLink:
      return false;
  }
  return false;
}

query::Key IntrinsicKey(query::Intrinsic intrinsic) {
  query::Key key;
  key.level = query::KeyLevel::kIntrinsic;
  key.intrinsic = intrinsic;
  return key;
}

constexpr std::string_view kServiceName = "service.name";

using CountedValues = std::vector<std::pair<query::TagValue, uint64_t>>;

// The keys groups are made of, in the order counts store keys ((level, name) order).
constexpr size_t kGroupKeyCount = 3;
constexpr size_t kKindKey = 0;
const std::vector<query::Key>& GroupKeys() {
  static const std::vector<query::Key> keys = [] {
    query::Key service;
    service.level = query::KeyLevel::kResource;
    service.name = kServiceName;
    return std::vector<query::Key>{IntrinsicKey(query::Intrinsic::kKind),
                                   IntrinsicKey(query::Intrinsic::kStatusCode), service};
  }();
  return keys;
}
// The position of a group key among GroupKeys(), or kGroupKeyCount for another key.
size_t GroupKeyIndex(const query::Key& key) {
  if (query::IsServiceNameKey(key)) return 2;
  if (key.level != query::KeyLevel::kIntrinsic) return kGroupKeyCount;
  if (key.intrinsic == query::Intrinsic::kKind) return kKindKey;
  return key.intrinsic == query::Intrinsic::kStatusCode ? 1 : kGroupKeyCount;
}

// One key of format 1: its level and name, then its values (nullptr: more than kMaxCountedValues).
void AppendKey(std::string& out, char level, std::string_view name, const CountedValues* values) {
  out.push_back(level);
  PutVarint(out, name.size());
  out.append(name);
  PutVarint(out, values == nullptr ? 0 : values->size());
  if (values == nullptr) return;
  for (const auto& [value, n] : *values) {
    PutValue(out, value);
    PutVarint(out, n);
  }
}

void AppendDurations(std::string& out, const query::DurationAggregates& d,
                     query::DurationSketch::Form form = query::DurationSketch::Form::kPlain) {
  PutVarint(out, d.count);
  PutVarint(out, d.min);
  PutVarint(out, d.max);
  PutVarint(out, static_cast<uint64_t>(d.sum));
  PutVarint(out, static_cast<uint64_t>(d.sum >> 64));
  d.sketch.AppendTo(out, form);
}

absl::Status Corrupt(std::string_view what) {
  return absl::DataLossError(fmt::format("block value counts: {}", what));
}

// The duration aggregates of format 2, their sketch in `form`, checked for consistency. Without
// `sketch`, the sketch's bytes are stepped over (the bucket count, then one or two varints per
// bucket) and not built or checked.
absl::Status ReadDurations(Reader& in, query::DurationAggregates& d, bool sketch = true,
                           query::DurationSketch::Form form = query::DurationSketch::Form::kPlain) {
  uint64_t low, high;
  if (!in.Varint(&d.count) || !in.Varint(&d.min) || !in.Varint(&d.max) || !in.Varint(&low) ||
      !in.Varint(&high)) {
    return Corrupt("truncated duration aggregates");
  }
  d.sum = (static_cast<unsigned __int128>(high) << 64) | low;
  if (sketch) {
    std::string_view rest = in.Rest();
    const size_t before = rest.size();
    if (absl::Status read = query::DurationSketch::ReadFrom(rest, d.sketch, form); !read.ok()) {
      return Corrupt(std::string(read.message()));
    }
    in.Skip(before - rest.size());
    if (d.sketch.Count() != d.count) {
      return Corrupt(fmt::format("the duration sketch holds {} of {} spans", d.sketch.Count(),
                                 d.count));
    }
  } else {
    uint64_t buckets;
    if (!in.Varint(&buckets) || buckets > in.Rest().size()) return Corrupt("truncated sketch");
    // Most groups a filter drops are stepped over here: a varint ends at its first byte below
    // 0x80, and the compact form's flag is the low bit of a bucket's first byte.
    const std::string_view rest = in.Rest();
    size_t pos = 0;
    auto step = [&rest, &pos](bool* low_bit) {
      if (pos == rest.size()) return false;
      *low_bit = (rest[pos] & 1) != 0;
      const size_t start = pos;
      while (pos < rest.size() && (static_cast<uint8_t>(rest[pos]) & 0x80) != 0) ++pos;
      if (pos == rest.size() || pos - start >= 10) return false;
      ++pos;
      return true;
    };
    for (uint64_t i = 0; i < buckets; ++i) {
      bool one = false;
      if (!step(&one)) return Corrupt("truncated sketch");
      // The count follows unless the compact form's flag says one.
      if ((form == query::DurationSketch::Form::kPlain || !one) && !step(&one)) {
        return Corrupt("truncated sketch");
      }
    }
    in.Skip(pos);
  }
  const auto count = static_cast<unsigned __int128>(d.count);
  if (d.count == 0 ? (d.min != 0 || d.max != 0 || d.sum != 0)
                   : (d.min > d.max || d.sum < count * d.min || d.sum > count * d.max)) {
    return Corrupt("inconsistent duration aggregates");
  }
  return absl::OkStatus();
}

// The counts per kept group of span attribute `name` from a block's group attributes, added up
// per value: nullopt when the frame does not count the key per group, an empty list
// when no span of the block carries it. `group_spans` and `kept` say, per group, its span count
// and whether the filters keep it. Other keys' entries are stepped over unread.
absl::StatusOr<std::optional<CountedValues>> KeptAttributeCounts(
    std::string_view attributes, std::string_view name, const std::vector<uint64_t>& group_spans,
    const std::vector<char>& kept) {
  // Not empty: an empty `attributes` means none are stored.
  if (static_cast<uint8_t>(attributes[0]) != kGroupAttributesFormatVersion) {
    return Corrupt(fmt::format("unknown group attributes format version {}",
                               static_cast<uint8_t>(attributes[0])));
  }
  ASSIGN_OR_RETURN(std::string plain, ZstdDecompress(attributes.substr(1), kMaxGroupsBytes,
                                                     "block value counts: group attributes"));
  Reader in(plain);
  uint64_t key_count;
  if (!in.Varint(&key_count)) return Corrupt("truncated attribute key count");
  std::optional<CountedValues> found = CountedValues{};
  std::string_view previous;
  for (uint64_t k = 0; k < key_count; ++k) {
    uint64_t n, size;
    std::string_view key, entry;
    if (!in.Varint(&n) || !in.Bytes(n, &key) || !in.Varint(&size) || !in.Bytes(size, &entry)) {
      return Corrupt(fmt::format("truncated attribute key {}", k));
    }
    if (k > 0 && key <= previous) return Corrupt(fmt::format("attribute key {} out of order", k));
    previous = key;
    if (key != name) continue;  // stepped over unread
    Reader e(entry);
    uint64_t value_count;
    if (!e.Varint(&value_count)) return Corrupt(fmt::format("truncated attribute key {}", k));
    if (value_count > kMaxCountedValues) {
      return Corrupt(fmt::format("attribute key {} has {} values, more than {}", k, value_count,
                                 kMaxCountedValues));
    }
    if (value_count == 0) {
      if (!e.AtEnd()) return Corrupt(fmt::format("trailing bytes in attribute key {}", k));
      found.reset();
      continue;
    }
    std::vector<query::TagValue> values(value_count);
    for (uint64_t v = 0; v < value_count; ++v) {
      if (!e.Value(&values[v])) {
        return Corrupt(fmt::format("attribute key {} value {} is malformed", k, v));
      }
    }
    uint64_t pairs;
    if (!e.Varint(&pairs)) return Corrupt(fmt::format("truncated attribute key {}", k));
    if (pairs == 0 || pairs > kMaxGroupValueEntries) {
      return Corrupt(fmt::format("attribute key {} has {} pairs, not 1 to {}", k, pairs,
                                 kMaxGroupValueEntries));
    }
    std::vector<uint64_t> spans(value_count, 0);  // by value: the kept groups' spans carrying it
    std::vector<uint32_t> order;                  // values in first-kept order
    uint64_t last_group = 0, last_value = 0, group_total = 0;
    for (uint64_t p = 0; p < pairs; ++p) {
      uint64_t g, v, count;
      if (!e.Varint(&g) || !e.Varint(&v) || !e.Varint(&count)) {
        return Corrupt(fmt::format("truncated attribute key {} pair {}", k, p));
      }
      if (g >= group_spans.size() || v >= value_count || count == 0) {
        return Corrupt(fmt::format("attribute key {} pair {} out of range", k, p));
      }
      if (p > 0 && std::make_pair(g, v) <= std::make_pair(last_group, last_value)) {
        return Corrupt(fmt::format("attribute key {} pair {} out of order", k, p));
      }
      const uint64_t before = p > 0 && g == last_group ? group_total : 0;
      if (count > group_spans[g] - before) {
        return Corrupt(fmt::format("attribute key {} counts more spans than group {} holds", k, g));
      }
      group_total = before + count;
      last_group = g;
      last_value = v;
      if (kept[g] == 0) continue;
      if (spans[v] == 0) order.push_back(static_cast<uint32_t>(v));
      spans[v] += count;
    }
    if (!e.AtEnd()) return Corrupt(fmt::format("trailing bytes in attribute key {}", k));
    found.emplace();
    for (uint32_t v : order) found->emplace_back(std::move(values[v]), spans[v]);
  }
  if (!in.AtEnd()) return Corrupt("trailing bytes after the group attributes");
  return found;
}

}  // namespace

bool IsGroupKey(const query::Key& key) { return GroupKeyIndex(key) < kGroupKeyCount; }

bool IsCountedKey(const query::Key& key) {
  char level;
  std::string_view name;
  return StoredName(key, &level, &name);
}

absl::StatusOr<BlockValueCounts> BlockValueCounts::Parse(std::string_view bytes) {
  BlockValueCounts counts;
  counts.bytes_ = std::string(bytes);
  Reader in(counts.bytes_);
  uint8_t version;
  if (!in.Byte(&version)) return Corrupt("empty");
  if (version != 1 && version != 2) {
    return Corrupt(fmt::format("unknown format version {}", version));
  }
  uint64_t key_count;
  if (!in.Varint(&key_count)) return Corrupt("truncated key count");
  // Each key takes at least 3 bytes, which bounds the reservation by the input.
  if (key_count > bytes.size() / 3) {
    return Corrupt(fmt::format("{} keys in {} bytes", key_count, bytes.size()));
  }
  counts.keys_.reserve(key_count);
  for (uint64_t k = 0; k < key_count; ++k) {
    uint8_t level;
    uint64_t name_size;
    std::string_view name;
    if (!in.Byte(&level) || !in.Varint(&name_size) || !in.Bytes(name_size, &name)) {
      return Corrupt(fmt::format("truncated key {}", k));
    }
    if (level != 'a' && level != 'i' && level != 'r' && level != 's') {
      return Corrupt(fmt::format("key {} has unknown level {}", k, level));
    }
    if (!counts.keys_.empty()) {
      const KeyEntry& prev = counts.keys_.back();
      if (std::make_pair(prev.level, counts.NameOf(prev)) >=
          std::make_pair(static_cast<char>(level), name)) {
        return Corrupt(fmt::format("key {} out of order", k));
      }
    }
    uint64_t value_count;
    if (!in.Varint(&value_count)) return Corrupt(fmt::format("truncated key {}", k));
    if (value_count > kMaxCountedValues) {
      return Corrupt(fmt::format("key {} has {} values, more than {}", k, value_count,
                                 kMaxCountedValues));
    }
    const size_t name_offset = static_cast<size_t>(name.data() - counts.bytes_.data());
    KeyEntry entry{static_cast<char>(level), name_offset, name.size(), in.pos(),
                   static_cast<size_t>(value_count)};
    for (uint64_t v = 0; v < value_count; ++v) {
      uint64_t spans;
      if (!in.SkipValue() || !in.Varint(&spans)) {
        return Corrupt(fmt::format("key {} value {} is malformed", k, v));
      }
      if (spans == 0) return Corrupt(fmt::format("key {} value {} counts no span", k, v));
    }
    counts.keys_.push_back(entry);
  }
  if (version == 1) {
    if (!in.AtEnd()) return Corrupt("trailing bytes");
    return counts;
  }
  counts.durations_offset_ = in.pos();
  // The span count leads the aggregates; Durations() checks them.
  if (!in.Varint(&counts.span_count_)) counts.span_count_ = 0;
  return counts;
}

absl::StatusOr<query::DurationAggregates> BlockValueCounts::Durations() const {
  if (subset_) return kept_durations_;
  if (durations_offset_ == 0) {
    return absl::NotFoundError("block value counts: format 1 keeps no duration aggregates");
  }
  Reader in(bytes_);
  in.Seek(durations_offset_);
  query::DurationAggregates d;
  RETURN_IF_ERROR(ReadDurations(in, d));
  if (!in.AtEnd()) return Corrupt("trailing bytes");
  return d;
}

bool BlockValueCounts::ForEachCount(
    const query::Key& key, const std::function<void(const query::TagValue&, uint64_t)>& fn) const {
  char level;
  std::string_view name;
  if (!StoredName(key, &level, &name)) return false;
  auto it = std::lower_bound(keys_.begin(), keys_.end(), std::make_pair(level, name),
                             [this](const KeyEntry& e, const std::pair<char, std::string_view>& k) {
                               return std::make_pair(e.level, NameOf(e)) < k;
                             });
  if (it == keys_.end() || it->level != level || NameOf(*it) != name) {
    // Not carried; a subset knows only the group keys and the attribute it read.
    return !subset_ || IsGroupKey(key) ||
           (level == 'a' && !attribute_.empty() && name == attribute_);
  }
  if (it->value_count == 0) return false;
  Reader in(bytes_);
  in.Seek(it->values_offset);
  query::TagValue value;
  for (size_t v = 0; v < it->value_count; ++v) {
    uint64_t spans = 0;
    // Parse validated every value, so these reads succeed.
    in.Value(&value);
    in.Varint(&spans);
    fn(value, spans);
  }
  return true;
}

absl::StatusOr<BlockValueCounts> BlockValueCounts::FromGroups(
    std::string_view groups, const std::function<bool(const model::StoredSpan&)>& keep,
    GroupsRead read) {
  if (groups.empty()) return Corrupt("empty groups");
  const auto version = static_cast<uint8_t>(groups[0]);
  if (version != 1 && version != kGroupsFormatVersion) {
    return Corrupt(fmt::format("unknown groups format version {}", version));
  }
  const bool with_kinds = version >= 2;
  if (read.keep_reads_kind && !with_kinds) {
    return absl::FailedPreconditionError(
        "block value counts: groups of format 1 hold no span kinds");
  }
  const auto form =
      with_kinds ? query::DurationSketch::Form::kCompact : query::DurationSketch::Form::kPlain;
  absl::StatusOr<std::string> plain =
      ZstdDecompress(groups.substr(1), kMaxGroupsBytes, "block value counts: groups");
  if (!plain.ok()) return plain.status();
  Reader in(*plain);
  uint64_t span_count;
  if (!in.Varint(&span_count)) return Corrupt("truncated group span count");
  uint64_t group_count, service_count;
  // Each service takes at least one byte, which bounds the reservation by the input.
  if (!in.Varint(&service_count) || service_count > in.Rest().size()) {
    return Corrupt("truncated group services");
  }
  std::vector<std::string_view> services(service_count);
  for (std::string_view& service : services) {
    uint64_t n;
    if (!in.Varint(&n) || !in.Bytes(n, &service)) return Corrupt("truncated group services");
  }
  if (!in.Varint(&group_count)) return Corrupt("truncated group count");
  if (group_count == 0 || group_count > kMaxGroups) {
    return Corrupt(fmt::format("{} groups, not 1 to {}", group_count, kMaxGroups));
  }
  // One resource per service, shared by the probe spans of its groups.
  std::vector<std::shared_ptr<model::Resource>> resources(service_count);
  model::StoredSpan probe;
  const auto no_service = std::make_shared<model::Resource>();
  // What the kept groups add up to, per key (GroupKeys()' order, which the counts store them in),
  // by the value's number in the groups (kind, status code, 0 or 1 + the service's index); the
  // kind is not known in format 1.
  const std::vector<query::Key>& keys = GroupKeys();
  const size_t value_numbers[kGroupKeyCount] = {
      static_cast<size_t>(model::SpanKind::kConsumer) + 1,
      static_cast<size_t>(model::StatusCode::kError) + 1, services.size() + 1};
  struct Counted {
    std::vector<uint64_t> spans;     // by value number
    std::vector<uint32_t> in_order;  // value numbers in first-kept order
  } counted[kGroupKeyCount];
  BlockValueCounts subset;
  for (size_t k = 0; k < kGroupKeyCount; ++k) {
    counted[k].spans.assign(value_numbers[k], 0);
    subset.group_values_[k].resize(value_numbers[k]);
  }
  query::DurationAggregates kept;
  uint64_t spans = 0;
  std::vector<uint64_t> group_spans;  // by group, for the attributes' counts
  std::vector<char> group_kept;
  group_spans.reserve(group_count);
  group_kept.reserve(group_count);
  for (uint64_t g = 0; g < group_count; ++g) {
    uint64_t service;
    uint8_t status_code, kind = 0;
    if (!in.Varint(&service) || !in.Byte(&status_code) || (with_kinds && !in.Byte(&kind))) {
      return Corrupt(fmt::format("truncated group {}", g));
    }
    if (service > service_count) {
      return Corrupt(fmt::format("group {} names service {} of {}", g, service, service_count));
    }
    if (status_code > static_cast<uint8_t>(model::StatusCode::kError)) {
      return Corrupt(fmt::format("group {} has status code {}", g, status_code));
    }
    if (kind > static_cast<uint8_t>(model::SpanKind::kConsumer)) {
      return Corrupt(fmt::format("group {} has span kind {}", g, kind));
    }
    if (service == 0) {
      probe.resource = no_service;
    } else {
      std::shared_ptr<model::Resource>& resource = resources[service - 1];
      if (resource == nullptr) {
        resource = std::make_shared<model::Resource>();
        resource->attributes.push_back(
            {std::string(kServiceName), model::AnyValue(std::string(services[service - 1]))});
      }
      probe.resource = resource;
    }
    probe.span.status.code = static_cast<model::StatusCode>(status_code);
    probe.span.kind = static_cast<model::SpanKind>(kind);
    const bool kept_group = keep(probe);
    // A group the filters drop adds only its span count: its sketch is stepped over, as are
    // those of every group when the caller needs none.
    query::DurationAggregates d;
    RETURN_IF_ERROR(ReadDurations(in, d, /*sketch=*/kept_group && read.sketches, form));
    if (d.count == 0) return Corrupt(fmt::format("group {} holds no span", g));
    spans += d.count;
    group_spans.push_back(d.count);
    group_kept.push_back(kept_group ? 1 : 0);
    if (!kept_group) continue;
    KeptGroup& group = subset.kept_groups_.emplace_back();
    const uint32_t numbers[kGroupKeyCount] = {kind, status_code, static_cast<uint32_t>(service)};
    for (size_t k = 0; k < kGroupKeyCount; ++k) {
      if (!with_kinds && k == kKindKey) continue;
      const uint32_t number = numbers[k];
      group.values[k] = number;
      Counted& c = counted[k];
      if (c.spans[number] == 0) {
        c.in_order.push_back(number);
        // The value as a span of the group carries it (none for a group without service.name).
        query::TagValuesCollector::ForEachCountedValue(
            keys[k], probe, [&](const query::TagValue& v) { subset.group_values_[k][number] = v; });
      }
      c.spans[number] += d.count;
    }
    kept.min = kept.count == 0 ? d.min : std::min(kept.min, d.min);
    kept.max = kept.count == 0 ? d.max : std::max(kept.max, d.max);
    kept.count += d.count;
    kept.sum += d.sum;
    group.durations = std::move(d);
  }
  if (read.sketches) {
    std::vector<const query::DurationSketch*> sketches;
    sketches.reserve(subset.kept_groups_.size());
    for (const KeptGroup& group : subset.kept_groups_) {
      sketches.push_back(&group.durations.sketch);
    }
    kept.sketch = query::DurationSketch::Sum(sketches);
  }
  if (!in.AtEnd()) return Corrupt("trailing bytes after the groups");
  if (spans != span_count) {
    return Corrupt(fmt::format("the groups hold {} of {} spans", spans, span_count));
  }
  // The counted values of each key, in first-kept order; none past kMaxCountedValues.
  std::optional<CountedValues> values[kGroupKeyCount];
  for (size_t k = 0; k < kGroupKeyCount; ++k) {
    if (!with_kinds && k == kKindKey) continue;
    values[k].emplace();
    for (uint32_t number : counted[k].in_order) {
      const std::optional<query::TagValue>& v = subset.group_values_[k][number];
      if (!v) continue;
      if (values[k]->size() == kMaxCountedValues) {
        values[k].reset();  // too many to count, as in a block
        break;
      }
      values[k]->emplace_back(*v, counted[k].spans[number]);
    }
  }
  // The span attribute asked for, from the groups' attributes: nullopt when they do not count it
  // per group, an empty list when no span of the block carries it.
  std::optional<CountedValues> attribute;
  const bool attribute_read = !read.attribute.empty() && !read.attributes.empty();
  if (attribute_read) {
    ASSIGN_OR_RETURN(attribute, KeptAttributeCounts(read.attributes, read.attribute, group_spans,
                                                    group_kept));
  }
  // The kept groups' counts as a block's, in format 1 (their durations stay apart); a key not
  // known is recorded as not counted.
  std::string out;
  out.push_back(1);
  // Written unless no span of the block carries it (as a block's counts leave such keys out).
  const bool write_attribute = attribute_read && (!attribute || !attribute->empty());
  size_t written = write_attribute ? 1 : 0;
  for (const auto& v : values) written += !v || !v->empty();
  PutVarint(out, written);
  // Span attributes ('a') come first in (level, name) order.
  if (write_attribute) {
    AppendKey(out, 'a', read.attribute, attribute ? &*attribute : nullptr);
  }
  for (size_t k = 0; k < kGroupKeyCount; ++k) {
    if (values[k] && values[k]->empty()) continue;  // no kept span carries the key
    char level;
    std::string_view key_name;
    StoredName(keys[k], &level, &key_name);
    AppendKey(out, level, key_name, values[k] ? &*values[k] : nullptr);
  }
  ASSIGN_OR_RETURN(BlockValueCounts counts, Parse(out));
  subset.bytes_ = std::move(counts.bytes_);
  subset.keys_ = std::move(counts.keys_);
  subset.subset_ = true;
  subset.kinds_known_ = with_kinds;
  subset.sketches_ = read.sketches;
  if (attribute_read) subset.attribute_ = std::string(read.attribute);
  subset.span_count_ = kept.count;
  subset.kept_durations_ = std::move(kept);
  return subset;
}

bool BlockValueCounts::ForEachGroupDurations(
    const query::Key& key,
    const std::function<void(const query::TagValue&, const query::DurationAggregates&)>& fn)
    const {
  if (!subset_) return false;
  const size_t k = GroupKeyIndex(key);
  if (k == kGroupKeyCount || (k == kKindKey && !kinds_known_)) return false;
  if (!sketches_) return false;
  for (const KeptGroup& group : kept_groups_) {
    const std::optional<query::TagValue>& v = group_values_[k][group.values[k]];
    if (v) fn(*v, group.durations);
  }
  return true;
}

BlockValueCountsBuilder::BlockValueCountsBuilder() = default;

void BlockValueCountsBuilder::Add(const model::StoredSpan& span) {
  // Resource and scope keys depend only on the span's resource (scope): count them once per
  // distinct one, with the number of spans sharing it, in first-seen order.
  auto share = [&span](std::unordered_map<const void*, size_t>& index,
                       std::vector<std::pair<const model::StoredSpan*, uint64_t>>& list,
                       const void* ptr) {
    auto [it, inserted] = index.try_emplace(ptr, list.size());
    if (inserted) {
      list.emplace_back(&span, 1);
    } else {
      ++list[it->second].second;
    }
    return it->second;
  };
  const size_t resource = share(resource_index_, resources_, span.resource.get());
  share(scope_index_, scopes_, span.scope.get());
  // span.kind and span.status.code depend only on the enum values: counted once per value too.
  auto share_enum = [&span](std::vector<std::pair<const model::StoredSpan*, uint64_t>>& list,
                            std::vector<int>& seen, int value) {
    auto it = std::find(seen.begin(), seen.end(), value);
    if (it == seen.end()) {
      seen.push_back(value);
      list.emplace_back(&span, 1);
    } else {
      ++list[static_cast<size_t>(it - seen.begin())].second;
    }
  };
  share_enum(kinds_, kind_values_, static_cast<int>(span.span.kind));
  share_enum(statuses_, status_values_, static_cast<int>(span.span.status.code));
  const uint64_t duration = span.span.DurationNano();
  durations_.push_back(duration);
  CountAttributes('a', span.span.attributes, 1, AddToGroup(ServiceOf(resource), span, duration));
  // The one value ForEachCountedValue yields for the name intrinsic (a string, "" included),
  // counted without copying it (the generic CountKey builds a TagValue per span).
  if (name_counts_ == nullptr) name_counts_ = &CountsOf(intrinsic_, kSpanName);
  AddString(*name_counts_, span.span.name, 1);
}

uint32_t BlockValueCountsBuilder::ServiceOf(size_t resource) {
  if (resource < resource_services_.size()) return resource_services_[resource];
  // A new resource (resources_ grows by one at a time): its service.name as a filter reads it.
  const model::StoredSpan& first = *resources_[resource].first;
  const model::AnyValue* value =
      first.resource == nullptr ? nullptr
                                : model::FindAttribute(first.resource->attributes, kServiceName);
  uint32_t service = kNoService;
  if (value != nullptr) {
    const auto* s = std::get_if<std::string>(&value->value);
    if (s == nullptr) {
      service = kNotString;
    } else {
      auto it = std::find(services_.begin(), services_.end(), *s);
      service = static_cast<uint32_t>(it - services_.begin());
      if (it == services_.end()) services_.push_back(*s);
    }
  }
  resource_services_.push_back(service);
  return service;
}

uint32_t BlockValueCountsBuilder::AddToGroup(uint32_t service, const model::StoredSpan& span,
                                             uint64_t duration) {
  if (groups_dropped_) return kNoGroup;
  if (service == kNotString || span.span.kind > model::SpanKind::kConsumer) {
    groups_dropped_ = true;
    return kNoGroup;
  }
  const auto status_code = static_cast<uint8_t>(span.span.status.code);
  const auto kind = static_cast<uint8_t>(span.span.kind);
  // Few groups per block (services x kinds x status codes present): a linear search from the
  // newest.
  auto same = [&](const Group& g) {
    return g.service == service && g.status_code == status_code && g.kind == kind;
  };
  auto it = std::find_if(groups_.rbegin(), groups_.rend(), same);
  if (it != groups_.rend()) {
    it->durations.push_back(duration);
    return static_cast<uint32_t>(groups_.rend() - it - 1);
  }
  if (groups_.size() == kMaxGroups) {
    groups_dropped_ = true;
    groups_.clear();
    return kNoGroup;
  }
  groups_.push_back(Group{service, status_code, kind, {duration}});
  return static_cast<uint32_t>(groups_.size() - 1);
}

void BlockValueCountsBuilder::CountAttributes(char level, const model::KeyValueList& attributes,
                                              uint64_t spans, uint32_t group) {
  KeyTable& table = level == 'r' ? resource_ : (level == 's' ? scope_ : span_);
  PositionCache& cache =
      level == 'r' ? resource_positions_ : (level == 's' ? scope_positions_ : span_positions_);
  // A key repeated in the list has one value (FindAttribute's): count its last occurrence only.
  // The value is taken from the entry itself rather than looked up by key (a lookup per entry is
  // quadratic in the list); for an attribute key that is exactly the one value
  // TagValuesCollector::ForEachCountedValue yields.
  size_t position = 0;
  model::ForEachLastOccurrence(attributes, [&](const model::KeyValue& kv) {
    ValueCounts& counts = CountsAt(table, cache, position++, kv.key);
    const int value = AddAttributeValue(counts, kv.value, spans);
    if (group != kNoGroup && value >= 0) {
      counts.cells.push_back(static_cast<uint16_t>(group * kMaxCountedValues + value));
    }
  });
}

BlockValueCountsBuilder::ValueCounts& BlockValueCountsBuilder::CountsOf(KeyTable& table,
                                                                        std::string_view name) {
  auto it = table.find(name);
  if (it == table.end()) it = table.emplace(std::string(name), ValueCounts{}).first;
  return it->second;
}

BlockValueCountsBuilder::ValueCounts& BlockValueCountsBuilder::CountsAt(KeyTable& table,
                                                                        PositionCache& cache,
                                                                        size_t position,
                                                                        std::string_view name) {
  if (position < cache.size() && cache[position].first != nullptr &&
      *cache[position].first == name) {
    return *cache[position].second;
  }
  auto it = table.find(name);
  if (it == table.end()) it = table.emplace(std::string(name), ValueCounts{}).first;
  if (position >= cache.size()) cache.resize(position + 1);
  cache[position] = {&it->first, &it->second};
  return it->second;
}

int BlockValueCountsBuilder::AddAttributeValue(ValueCounts& counts, const model::AnyValue& value,
                                               uint64_t spans) {
  if (counts.overflow) return -1;
  // The alternatives ToTagValue keeps, compared in place; SameValue's rules (NaN equals NaN).
  auto count = [&counts, spans](const auto& x, auto same) -> int {
    for (size_t i = 0; i < counts.values.size(); ++i) {
      auto& [stored, n] = counts.values[i];
      if (same(stored, x)) {
        n += spans;
        return static_cast<int>(i);
      }
    }
    return -1;
  };
  int found = -1;
  if (const auto* s = std::get_if<std::string>(&value.value)) {
    return AddString(counts, *s, spans);
  } else if (const auto* i = std::get_if<int64_t>(&value.value)) {
    found = count(*i, [](const query::TagValue& t, int64_t x) {
      const auto* ti = std::get_if<int64_t>(&t);
      return ti != nullptr && *ti == x;
    });
  } else if (const auto* d = std::get_if<double>(&value.value)) {
    found = count(*d, [&counts](const query::TagValue& t, double x) {
      const auto* td = std::get_if<double>(&t);
      if (td == nullptr || !(std::isnan(*td) ? std::isnan(x) : *td == x)) return false;
      if (std::memcmp(td, &x, sizeof x) != 0) counts.forms_differ = true;
      return true;
    });
  } else if (const auto* b = std::get_if<bool>(&value.value)) {
    found = count(*b, [](const query::TagValue& t, bool x) {
      const auto* tb = std::get_if<bool>(&t);
      return tb != nullptr && *tb == x;
    });
  } else {
    return -1;  // arrays, maps, bytes and the empty value count nothing
  }
  if (found >= 0) return found;
  // A new value: AddValue appends it (or marks the key overflowed).
  std::optional<query::TagValue> v = query::ToTagValue(value);
  return v ? AddValue(counts, *v, spans) : -1;
}

int BlockValueCountsBuilder::AddString(ValueCounts& counts, const std::string& value,
                                       uint64_t spans) {
  if (counts.overflow) return -1;
  for (size_t i = 0; i < counts.values.size(); ++i) {
    auto& [stored, n] = counts.values[i];
    const auto* s = std::get_if<std::string>(&stored);
    if (s != nullptr && *s == value) {
      n += spans;
      return static_cast<int>(i);
    }
  }
  return AddValue(counts, query::TagValue(value), spans);
}

int BlockValueCountsBuilder::AddValue(ValueCounts& counts, const query::TagValue& v,
                                      uint64_t spans) {
  if (counts.overflow) return -1;
  // At most kMaxCountedValues entries: a linear scan is bounded.
  for (size_t i = 0; i < counts.values.size(); ++i) {
    auto& [value, n] = counts.values[i];
    if (SameValue(value, v)) {
      n += spans;
      return static_cast<int>(i);
    }
  }
  if (counts.values.size() == kMaxCountedValues) {
    counts.overflow = true;
    counts.values.clear();
    counts.values.shrink_to_fit();
    counts.cells.clear();
    counts.cells.shrink_to_fit();
    return -1;
  }
  counts.values.emplace_back(v, spans);
  return static_cast<int>(counts.values.size() - 1);
}

void BlockValueCountsBuilder::CountKey(KeyTable& table, std::string_view name,
                                       const query::Key& key, const model::StoredSpan& span,
                                       uint64_t spans) {
  ValueCounts& counts = CountsOf(table, name);
  if (counts.overflow) return;
  query::TagValuesCollector::ForEachCountedValue(
      key, span, [&](const query::TagValue& v) { AddValue(counts, v, spans); });
}

std::string BlockValueCountsBuilder::Finish() && {
  for (const auto& [first, spans] : resources_) {
    if (first->resource != nullptr) {
      CountAttributes('r', first->resource->attributes, spans);
    }
  }
  for (const auto& [first, spans] : scopes_) {
    if (first->scope != nullptr) CountAttributes('s', first->scope->attributes, spans);
    CountKey(intrinsic_, kScopeName, IntrinsicKey(query::Intrinsic::kScopeName), *first, spans);
  }
  for (const auto& [first, spans] : kinds_) {
    CountKey(intrinsic_, kSpanKind, IntrinsicKey(query::Intrinsic::kKind), *first, spans);
  }
  for (const auto& [first, spans] : statuses_) {
    CountKey(intrinsic_, kStatusCode, IntrinsicKey(query::Intrinsic::kStatusCode), *first, spans);
  }
  std::vector<std::pair<char, const KeyTable::value_type*>> keys;
  for (auto [level, table] : {std::pair<char, const KeyTable*>{'a', &span_}, {'i', &intrinsic_},
                              {'r', &resource_}, {'s', &scope_}}) {
    for (const auto& entry : *table) {
      // A key whose values are all arrays, maps or bytes contributes nothing: leave it out.
      if (!entry.second.overflow && entry.second.values.empty()) continue;
      keys.emplace_back(level, &entry);
    }
  }
  std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return a.second->first < b.second->first;
  });
  std::string out;
  out.push_back(static_cast<char>(BlockValueCounts::kFormatVersion));
  PutVarint(out, keys.size());
  for (const auto& [level, entry] : keys) {
    const ValueCounts& counts = entry->second;
    AppendKey(out, level, entry->first, counts.overflow ? nullptr : &counts.values);
  }
  AppendDurations(out, AggregatesOf(durations_));
  return out;
}

query::DurationAggregates BlockValueCountsBuilder::AggregatesOf(
    const std::vector<uint64_t>& durations) {
  query::DurationAggregates d;
  d.count = durations.size();
  if (!durations.empty()) d.min = UINT64_MAX;
  std::vector<double> values;
  values.reserve(durations.size());
  for (uint64_t n : durations) {
    d.min = std::min(d.min, n);
    d.max = std::max(d.max, n);
    d.sum += n;
    values.push_back(static_cast<double>(n));
  }
  d.sketch.Add(values);
  return d;
}

absl::StatusOr<std::string> BlockValueCountsBuilder::Groups() const {
  if (groups_dropped_ || groups_.empty()) return std::string();
  std::string plain;
  PutVarint(plain, durations_.size());
  PutVarint(plain, services_.size());
  for (const std::string& service : services_) {
    PutVarint(plain, service.size());
    plain.append(service);
  }
  PutVarint(plain, groups_.size());
  for (const Group& g : groups_) {
    PutVarint(plain, g.service == kNoService ? 0 : g.service + 1);
    plain.push_back(static_cast<char>(g.status_code));
    plain.push_back(static_cast<char>(g.kind));
    AppendDurations(plain, AggregatesOf(g.durations), query::DurationSketch::Form::kCompact);
  }
  ASSIGN_OR_RETURN(std::string frame, ZstdCompress(plain, 3, "block groups"));
  return std::string(1, static_cast<char>(kGroupsFormatVersion)) + frame;
}

absl::StatusOr<std::string> BlockValueCountsBuilder::GroupAttributes() const {
  if (groups_dropped_ || groups_.empty()) return std::string();
  ASSIGN_OR_RETURN(std::string frame,
                   ZstdCompress(AttributesPerGroup(), 3, "block group attributes"));
  return std::string(1, static_cast<char>(kGroupAttributesFormatVersion)) + frame;
}

std::string BlockValueCountsBuilder::AttributesPerGroup() const {
  // The keys the block's counts list (Finish), in name order.
  std::vector<const KeyTable::value_type*> keys;
  for (const auto& entry : span_) {
    if (entry.second.overflow || !entry.second.values.empty()) keys.push_back(&entry);
  }
  std::sort(keys.begin(), keys.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  std::string out;
  PutVarint(out, keys.size());
  std::vector<uint32_t> spans;  // by cell
  std::string section;
  for (const auto* entry : keys) {
    PutVarint(out, entry->first.size());
    out.append(entry->first);
    section.clear();
    AppendAttributeCounts(section, entry->second, spans);
    PutVarint(out, section.size());
    out.append(section);
  }
  return out;
}

void BlockValueCountsBuilder::AppendAttributeCounts(std::string& out, const ValueCounts& counts,
                                                    std::vector<uint32_t>& spans) const {
  // Each cell's spans, and the cells holding any (the key's (group, value) pairs).
  size_t pairs = 0;
  if (!counts.overflow && !counts.forms_differ) {
    spans.assign(groups_.size() * kMaxCountedValues, 0);
    for (uint16_t cell : counts.cells) pairs += spans[cell]++ == 0;
  }
  if (pairs == 0 || pairs > kMaxGroupValueEntries) {
    PutVarint(out, 0);  // not counted per group
    return;
  }
  PutVarint(out, counts.values.size());
  for (const auto& value : counts.values) PutValue(out, value.first);
  PutVarint(out, pairs);
  for (size_t cell = 0; cell < spans.size(); ++cell) {
    if (spans[cell] == 0) continue;
    PutVarint(out, cell / kMaxCountedValues);
    PutVarint(out, cell % kMaxCountedValues);
    PutVarint(out, spans[cell]);
  }
}

}  // namespace teletrace::storage
