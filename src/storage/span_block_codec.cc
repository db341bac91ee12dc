#include "storage/span_block_codec.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <deque>
#include <memory>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "storage/zstd_frames.h"

namespace teletrace::storage {
namespace {

using model::AnyValue;
using model::KeyValueList;

// Attribute value tags. Booleans carry their value in the tag: the commonest non-string attribute
// then costs one byte.
enum ValueTag : uint8_t {
  kEmpty = 0,
  kString = 1,
  kFalse = 2,
  kTrue = 3,
  kInt = 4,
  kDouble = 5,
  kBytes = 6,
  kArray = 7,
  kKvList = 8,
  kStringRef = 9,   // columnar attribute values: an index into the key's string table
  kNewString = 10,  // format 3 attribute values: the next string of the key's table, first seen
};

// Protobuf stops at 100 levels, so no value a receiver accepted nests deeper than this; the limit
// only keeps corrupt input from exhausting the stack.
constexpr int kMaxValueDepth = 256;
// The fewest encoded bytes one span can occupy (two indexes, three ids, and one byte for each
// of the 15 remaining fields); bounds the spans a body of n bytes can claim.
constexpr size_t kMinSpanBytes = 2 + 16 + 8 + 8 + 15;

// Whether `block` is in a columnar format: 2, or 3 (format 2 with kNewString values).
bool Columnar(std::string_view block) {
  return !block.empty() && (static_cast<uint8_t>(block[0]) == kSpanBlockFormatV2 ||
                            static_cast<uint8_t>(block[0]) == kSpanBlockFormatV3);
}

// Format 2 writes each span field into its own stream (column) and compresses the concatenation:
// like values sit next to each other, which is what zstd needs to find them. Attribute values get
// one stream per attribute key. The order of this enum is the order of the streams in a block.
enum Stream : int {
  kRefs,            // resource and scope table index, per span
  kTraceRefs,       // trace id table index; the table size means "new id, next in kTraceIds"
  kTraceIds,        // the block's distinct trace ids, 16 bytes each
  kSpanIds,         // 8 bytes per span
  kParents,         // 0 = no parent, p = the span at position p - 1, n + 1 = next in kParentIds
  kParentIds,       // parent span ids not in the block, 8 bytes each
  kTraceStates,     // string per span
  kFlags,           // varint per span
  kNameRefs,        // span name table index; the table size means "new name, next in kNames"
  kNames,           // the block's distinct span names
  kKinds,           // byte per span
  kStarts,          // start time delta to the previous span (mod 2^64)
  kDurations,       // end - start (mod 2^64)
  kIngestions,      // ingestion time delta to the previous span (mod 2^64)
  kAttributeKeys,   // per span: count, then a key table index per attribute (new: next kKeyNames)
  kKeyNames,        // the block's distinct attribute keys
  kRare,            // dropped counts, events and links, per span
  kStatusCodes,     // byte per span
  kStatusMessages,  // string per span
  kStreamCount,
};
constexpr std::string_view kStreamNames[kStreamCount] = {
    "resource and scope", "trace reference", "trace id",    "span id",
    "parent",             "parent id",       "trace state", "flags",
    "name reference",     "name",            "kind",        "start time",
    "duration",           "ingestion time",  "attribute key", "key name",
    "events and links",   "status code",     "status message"};

// Hashes an id by all its bytes, with Abseil's per-process seeded hash. Ids come from clients, so
// they need not be random: keying a table by their first 8 bytes, or hashing those with the
// identity std::hash<uint64_t>, lets a batch of chosen ids pile into one bucket and makes every
// lookup linear in the block. (std::hash of the bytes as a string was ~2% of ingest's CPU.)
struct IdHash {
  template <size_t N>
  size_t operator()(const std::array<uint8_t, N>& id) const {
    return absl::Hash<std::string_view>()(
        std::string_view(reinterpret_cast<const char*>(id.data()), N));
  }
};

class Writer {
 public:
  std::string& out() { return out_; }
  const std::string& out() const { return out_; }

  void Byte(uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void Varint(uint64_t v) { encoding::AppendVarint(&out_, v); }
  void Signed(int64_t v) { Varint(encoding::ZigZag(v)); }
  void Fixed64(uint64_t v) { encoding::AppendFixed(&out_, v, 8); }
  void Str(std::string_view s) {
    Varint(s.size());
    out_.append(s.data(), s.size());
  }
  template <size_t N>
  void Id(const std::array<uint8_t, N>& id) {
    out_.append(reinterpret_cast<const char*>(id.data()), N);
  }

  void Value(const AnyValue& v) {
    switch (v.value.index()) {
      case 0:
        Byte(kEmpty);
        return;
      case 1:
        Byte(kString);
        Str(std::get<std::string>(v.value));
        return;
      case 2:
        Byte(std::get<bool>(v.value) ? kTrue : kFalse);
        return;
      case 3:
        Byte(kInt);
        Signed(std::get<int64_t>(v.value));
        return;
      case 4:
        Byte(kDouble);
        Fixed64(std::bit_cast<uint64_t>(std::get<double>(v.value)));
        return;
      case 5:
        Byte(kBytes);
        Str(std::get<model::Bytes>(v.value).data);
        return;
      case 6: {
        const auto& array = std::get<model::ArrayValue>(v.value);
        Byte(kArray);
        Varint(array.size());
        for (const auto& item : array) Value(item);
        return;
      }
      case 7:
        Byte(kKvList);
        KeyValues(std::get<KeyValueList>(v.value));
        return;
    }
  }
  void KeyValues(const KeyValueList& kvs) {
    Varint(kvs.size());
    for (const auto& kv : kvs) {
      Str(kv.key);
      Value(kv.value);
    }
  }

  void Resource(const model::Resource& r) {
    KeyValues(r.attributes);
    Varint(r.dropped_attributes_count);
    Str(r.schema_url);
  }
  void Scope(const model::Scope& s) {
    Str(s.name);
    Str(s.version);
    KeyValues(s.attributes);
    Varint(s.dropped_attributes_count);
    Str(s.schema_url);
  }

 private:
  std::string out_;
};

// Reads the body. Every accessor returns false on malformed input and records what it was reading.
class Reader {
 public:
  explicit Reader(std::string_view in) : begin_(in.data()), p_(in.data()), end_(p_ + in.size()) {}

  size_t Remaining() const { return static_cast<size_t>(end_ - p_); }
  size_t Offset() const { return static_cast<size_t>(p_ - begin_); }
  const char* what() const { return what_; }

  bool Fail(const char* what) {
    if (what_ == nullptr) what_ = what;
    return false;
  }

  bool Byte(uint8_t* b) {
    if (p_ == end_) return Fail("byte");
    *b = static_cast<uint8_t>(*p_++);
    return true;
  }
  bool Varint(uint64_t* v) {
    // Most of a block's varints (table indexes, counts, kinds) are one byte: read those inline.
    if (p_ != end_ && static_cast<uint8_t>(*p_) < 0x80) {
      *v = static_cast<uint8_t>(*p_++);
      return true;
    }
    return LongVarint(v);
  }
  [[gnu::noinline]] bool LongVarint(uint64_t* v) {
    return encoding::ReadVarint(&p_, end_, v) == encoding::ReadResult::kOk || Fail("varint");
  }
  bool Varint32(uint32_t* v) {
    uint64_t wide;
    if (!Varint(&wide)) return false;
    if (wide > UINT32_MAX) return Fail("32-bit count");
    *v = static_cast<uint32_t>(wide);
    return true;
  }
  // An element count, each element taking at least one byte: bounds allocations by the input.
  bool Count(uint64_t* n) {
    if (!Varint(n)) return false;
    if (*n > Remaining()) return Fail("element count");
    return true;
  }
  bool Signed(int64_t* v) {
    uint64_t u;
    if (!Varint(&u)) return false;
    *v = encoding::UnZigZag(u);
    return true;
  }
  bool Fixed64(uint64_t* v) { return encoding::ReadFixed(&p_, end_, 8, v) || Fail("fixed64"); }
  bool Str(std::string* s) {
    uint64_t n;
    if (!Varint(&n)) return false;
    if (n > Remaining()) return Fail("string length");
    s->assign(p_, n);
    p_ += n;
    return true;
  }
  // The next n bytes (fewer when fewer remain), without reading them.
  std::string_view Peek(size_t n) const { return std::string_view(p_, std::min(n, Remaining())); }
  bool Skip(size_t n) {
    if (n > Remaining()) return Fail("skip");
    p_ += n;
    return true;
  }
  // A length-prefixed byte string, without copying it.
  bool View(std::string_view* s) {
    uint64_t n;
    if (!Varint(&n)) return false;
    if (n > Remaining()) return Fail("stream length");
    *s = std::string_view(p_, n);
    p_ += n;
    return true;
  }
  template <size_t N>
  bool Id(std::array<uint8_t, N>* id) {
    if (Remaining() < N) return Fail("id");
    std::memcpy(id->data(), p_, N);
    p_ += N;
    return true;
  }

  bool Value(AnyValue* v, int depth) {
    uint8_t tag;
    return Byte(&tag) && ValueOfTag(tag, v, depth);
  }
  bool ValueOfTag(uint8_t tag, AnyValue* v, int depth) {
    if (depth > kMaxValueDepth) return Fail("attribute value nesting");
    switch (tag) {
      case kEmpty:
        v->value = std::monostate{};
        return true;
      case kString: {
        std::string s;
        if (!Str(&s)) return false;
        v->value = std::move(s);
        return true;
      }
      case kFalse:
      case kTrue:
        v->value = tag == kTrue;
        return true;
      case kInt: {
        int64_t i;
        if (!Signed(&i)) return false;
        v->value = i;
        return true;
      }
      case kDouble: {
        uint64_t bits;
        if (!Fixed64(&bits)) return false;
        v->value = std::bit_cast<double>(bits);
        return true;
      }
      case kBytes: {
        model::Bytes b;
        if (!Str(&b.data)) return false;
        v->value = std::move(b);
        return true;
      }
      case kArray: {
        uint64_t n;
        if (!Count(&n)) return false;
        model::ArrayValue array(n);
        for (auto& item : array) {
          if (!Value(&item, depth + 1)) return false;
        }
        v->value = std::move(array);
        return true;
      }
      case kKvList: {
        KeyValueList kvs;
        if (!KeyValues(&kvs, depth + 1)) return false;
        v->value = std::move(kvs);
        return true;
      }
      default:
        return Fail("attribute value type");
    }
  }
  bool KeyValues(KeyValueList* kvs, int depth) {
    uint64_t n;
    if (!Count(&n)) return false;
    kvs->resize(n);
    for (auto& kv : *kvs) {
      if (!Str(&kv.key) || !Value(&kv.value, depth)) return false;
    }
    return true;
  }

  bool Resource(model::Resource* r) {
    return KeyValues(&r->attributes, 0) && Varint32(&r->dropped_attributes_count) &&
           Str(&r->schema_url);
  }
  bool Scope(model::Scope* s) {
    return Str(&s->name) && Str(&s->version) && KeyValues(&s->attributes, 0) &&
           Varint32(&s->dropped_attributes_count) && Str(&s->schema_url);
  }

 private:
  const char* begin_;
  const char* p_;
  const char* end_;
  const char* what_ = nullptr;
};

// Assigns table indexes to resources (or scopes), recognising a shared_ptr seen before cheaply and
// an equal value behind a different pointer by its encoding.
template <typename T>
class Table {
 public:
  template <typename EncodeFn>
  uint32_t IndexOf(const T* item, EncodeFn encode) {
    auto by_ptr = by_pointer_.find(item);
    if (by_ptr != by_pointer_.end()) return by_ptr->second;
    Writer w;
    encode(w, *item);
    auto [it, inserted] = by_encoding_.try_emplace(std::move(w.out()), count_);
    if (inserted) {
      encoded_.append(it->first);
      ++count_;
    }
    by_pointer_.emplace(item, it->second);
    return it->second;
  }
  uint32_t count() const { return count_; }
  const std::string& encoded() const { return encoded_; }
  void Clear() {
    by_pointer_.clear();
    by_encoding_.clear();
    encoded_.clear();
    count_ = 0;
  }

 private:
  absl::flat_hash_map<const T*, uint32_t> by_pointer_;
  absl::flat_hash_map<std::string, uint32_t> by_encoding_;
  std::string encoded_;
  uint32_t count_ = 0;
};

const model::Resource kEmptyResource;
const model::Scope kEmptyScope;

absl::Status Corrupt(const std::string& detail) {
  return absl::DataLossError(fmt::format("span block: {}", detail));
}

absl::StatusOr<std::vector<model::StoredSpan>> DecodeV1(std::string_view plain) {
  Reader r(plain);
  auto malformed = [&r]() {
    return Corrupt(fmt::format("malformed {} at body offset {}", r.what(), r.Offset()));
  };

  uint64_t n;
  if (!r.Count(&n)) return malformed();
  std::vector<std::shared_ptr<const model::Resource>> resources;
  for (uint64_t i = 0; i < n; ++i) {
    auto resource = std::make_shared<model::Resource>();
    if (!r.Resource(resource.get())) return malformed();
    resources.push_back(std::move(resource));
  }
  if (!r.Count(&n)) return malformed();
  std::vector<std::shared_ptr<const model::Scope>> scopes;
  for (uint64_t i = 0; i < n; ++i) {
    auto scope = std::make_shared<model::Scope>();
    if (!r.Scope(scope.get())) return malformed();
    scopes.push_back(std::move(scope));
  }

  if (!r.Varint(&n)) return malformed();
  if (n > r.Remaining() / kMinSpanBytes) return Corrupt(fmt::format("span count {} too large", n));
  std::vector<model::StoredSpan> spans(n);
  uint64_t prev_start = 0;
  uint64_t prev_ingestion = 0;
  for (auto& stored : spans) {
    model::Span& s = stored.span;
    uint64_t resource_index, scope_index;
    if (!r.Varint(&resource_index) || !r.Varint(&scope_index)) return malformed();
    if (resource_index >= resources.size() || scope_index >= scopes.size()) {
      return Corrupt(fmt::format("resource {} or scope {} out of range", resource_index,
                                 scope_index));
    }
    stored.resource = resources[resource_index];
    stored.scope = scopes[scope_index];
    uint8_t kind;
    uint64_t start_delta, duration, ingestion_delta;
    if (!r.Id(&s.trace_id) || !r.Id(&s.span_id) || !r.Id(&s.parent_span_id) ||
        !r.Str(&s.trace_state) || !r.Varint32(&s.flags) || !r.Str(&s.name) || !r.Byte(&kind) ||
        !r.Varint(&start_delta) || !r.Varint(&duration) || !r.Varint(&ingestion_delta)) {
      return malformed();
    }
    s.kind = static_cast<model::SpanKind>(kind);
    s.start_time_unix_nano = prev_start + start_delta;
    s.end_time_unix_nano = s.start_time_unix_nano + duration;
    stored.ingestion_time_unix_nano = prev_ingestion + ingestion_delta;
    prev_start = s.start_time_unix_nano;
    prev_ingestion = stored.ingestion_time_unix_nano;
    if (!r.KeyValues(&s.attributes, 0) || !r.Varint32(&s.dropped_attributes_count)) {
      return malformed();
    }
    uint64_t count;
    if (!r.Count(&count)) return malformed();
    s.events.resize(count);
    for (auto& e : s.events) {
      uint64_t offset;
      if (!r.Varint(&offset) || !r.Str(&e.name) || !r.KeyValues(&e.attributes, 0) ||
          !r.Varint32(&e.dropped_attributes_count)) {
        return malformed();
      }
      e.time_unix_nano = s.start_time_unix_nano + offset;
    }
    if (!r.Varint32(&s.dropped_events_count) || !r.Count(&count)) return malformed();
    s.links.resize(count);
    for (auto& l : s.links) {
      if (!r.Id(&l.trace_id) || !r.Id(&l.span_id) || !r.Str(&l.trace_state) ||
          !r.KeyValues(&l.attributes, 0) || !r.Varint32(&l.dropped_attributes_count) ||
          !r.Varint32(&l.flags)) {
        return malformed();
      }
    }
    uint8_t code;
    if (!r.Varint32(&s.dropped_links_count) || !r.Byte(&code) || !r.Str(&s.status.message)) {
      return malformed();
    }
    s.status.code = static_cast<model::StatusCode>(code);
  }
  if (r.Remaining() != 0) {
    return Corrupt(fmt::format("{} unread bytes after the last span", r.Remaining()));
  }
  return spans;
}

// Format 2 sections: a byte saying how the bytes are stored, their length, then the bytes. Each
// stream gets its own zstd frame (with its own entropy tables, which is what makes columns pay)
// unless compressing does not make it smaller.
enum SectionStorage : uint8_t { kStored = 0, kZstd = 1 };

absl::Status AppendSection(const std::string& plain, const SpanBlockOptions& options,
                           std::string& out) {
  auto append = [&out](SectionStorage storage, const std::string& bytes) {
    out.push_back(static_cast<char>(storage));
    encoding::AppendVarint(&out, bytes.size());
    out.append(bytes);
  };
  if (!options.compress) {
    append(kStored, plain);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::string frame, ZstdCompress(plain, options.zstd_level, "span block"));
  if (frame.size() < plain.size()) {
    append(kZstd, frame);
  } else {
    append(kStored, plain);
  }
  return absl::OkStatus();
}

// The attribute values of one key in a columnar block: strings become entries of the key's own
// table, so a repeated value costs a byte or two before compression. A string's first occurrence
// is tagged kNewString (format 3) rather than given its index, which only counts up: a key whose
// values are nearly all distinct (user ids, URLs with ids) then has a values stream of one
// repeated byte, which zstd all but removes (format 2 spent ~2 bytes per span on the indexes).
struct KeyColumn {
  Writer values;
  Writer strings;
  absl::flat_hash_map<std::string_view, uint32_t> string_index;

  void Clear() {
    values.out().clear();
    strings.out().clear();
    string_index.clear();
  }

  void Add(const AnyValue& v) {
    const std::string* s = std::get_if<std::string>(&v.value);
    if (s == nullptr) {
      values.Value(v);
      return;
    }
    auto [it, inserted] =
        string_index.try_emplace(*s, static_cast<uint32_t>(string_index.size()));
    if (inserted) {
      values.Byte(kNewString);
      strings.Str(*s);
    } else {
      values.Byte(kStringRef);
      values.Varint(it->second);
    }
  }
};

// The values and strings sections of one attribute key, and the strings read so far.
struct ColumnReader {
  Reader values;
  Reader strings;
  std::vector<std::string> table;
  bool new_string_tags = false;  // format 3
};

// Reads one attribute value of `column`. False when malformed: the column's readers say what was
// wrong, or neither does when a string index is out of range.
bool ReadColumnValue(ColumnReader& column, AnyValue* value) {
  uint8_t tag;
  if (!column.values.Byte(&tag)) return false;
  if (tag == kNewString && column.new_string_tags) {
    if (!column.strings.Str(&column.table.emplace_back())) return false;
    value->value = column.table.back();
    return true;
  }
  if (tag != kStringRef) return column.values.ValueOfTag(tag, value, 0);
  uint64_t index;
  if (!column.values.Varint(&index)) return false;
  if (index == column.table.size()) {  // how format 2 marks a new string
    if (!column.strings.Str(&column.table.emplace_back())) return false;
  } else if (index > column.table.size()) {
    return false;
  }
  value->value = column.table[index];
  return true;
}

// The group of SpanFields a stream belongs to; 0 for the streams every decode reads.
uint32_t GroupOf(int stream) {
  switch (stream) {
    case kRefs:
      return SpanFields::kResourceAndScope;
    case kTraceRefs:
    case kTraceIds:
    case kSpanIds:
    case kParents:
    case kParentIds:
      return SpanFields::kIds;
    case kNameRefs:
    case kNames:
      return SpanFields::kName;
    case kKinds:
      return SpanFields::kKind;
    case kStatusCodes:
      return SpanFields::kStatusCode;
    case kStatusMessages:
      return SpanFields::kStatusMessage;
    case kRare:
      return SpanFields::kEventsAndLinks;
    case kTraceStates:
    case kFlags:
    case kIngestions:
      return SpanFields::kOther;
    default:
      return 0;  // times; attribute keys depend on the projection's keys
  }
}

// A format 2 block's sections, located first and decompressed only when opened: a projection pays
// for the streams and attribute keys it asks for, not for the whole block. The header comes first,
// then the kStreamCount streams, then two sections (values, strings) per attribute key.
class Sections {
 public:
  absl::Status Locate(std::string_view block) {
    Reader sections(block);
    while (sections.Remaining() != 0) {
      Section section;
      if (!sections.Byte(&section.storage) || !sections.View(&section.bytes)) {
        return Corrupt(fmt::format("malformed section {} at block offset {}", sections.what(),
                                   sections.Offset() + 1));
      }
      if (section.storage != kStored && section.storage != kZstd) {
        return Corrupt(fmt::format("unknown section storage {}", section.storage));
      }
      raw_.push_back(section);
    }
    if (raw_.size() < 1 + kStreamCount) {
      return Corrupt(fmt::format("{} sections, want at least {}", raw_.size(), 1 + kStreamCount));
    }
    return absl::OkStatus();
  }
  size_t size() const { return raw_.size(); }

  // The plain bytes of section `index` (< size()); valid as long as this object.
  absl::Status Open(size_t index, std::string_view* out) {
    const Section& section = raw_[index];
    if (section.storage == kStored) {
      if (section.bytes.size() > budget_) return Corrupt("body over the size limit");
      budget_ -= section.bytes.size();
      *out = section.bytes;
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(std::string plain, ZstdDecompress(section.bytes, budget_, "span block"));
    budget_ -= plain.size();
    *out = decompressed_.emplace_back(std::move(plain));
    return absl::OkStatus();
  }

 private:
  struct Section {
    uint8_t storage = kStored;
    std::string_view bytes;
  };
  std::vector<Section> raw_;
  std::deque<std::string> decompressed_;  // a deque: views into earlier sections stay valid
  size_t budget_ = kMaxSpanBlockBodyBytes;
};

absl::StatusOr<std::vector<SpanTimes>> DecodeTimesV2(std::string_view block, bool status_codes) {
  Sections sections;
  RETURN_IF_ERROR(sections.Locate(block));
  std::string_view header_bytes, starts_bytes, durations_bytes;
  RETURN_IF_ERROR(sections.Open(0, &header_bytes));
  Reader header(header_bytes);
  uint64_t n;
  if (!header.Varint(&n)) {
    return Corrupt(fmt::format("malformed {} at header offset {}", header.what(), header.Offset()));
  }
  RETURN_IF_ERROR(sections.Open(1 + kStarts, &starts_bytes));
  RETURN_IF_ERROR(sections.Open(1 + kDurations, &durations_bytes));
  std::string_view codes_bytes;
  if (status_codes) RETURN_IF_ERROR(sections.Open(1 + kStatusCodes, &codes_bytes));
  Reader starts(starts_bytes), durations(durations_bytes), codes(codes_bytes);
  if (n > starts.Remaining()) {
    return Corrupt(fmt::format("span count {} exceeds the {} bytes of start times", n,
                               starts.Remaining()));
  }
  std::vector<SpanTimes> times(n);
  uint64_t prev_start = 0;
  for (SpanTimes& t : times) {
    uint64_t start_delta, duration;
    if (!starts.Varint(&start_delta)) {
      return Corrupt(fmt::format("malformed {} at offset {} of the start time stream",
                                 starts.what(), starts.Offset()));
    }
    if (!durations.Varint(&duration)) {
      return Corrupt(fmt::format("malformed {} at offset {} of the duration stream",
                                 durations.what(), durations.Offset()));
    }
    t.start_unix_nano = prev_start + start_delta;
    t.end_unix_nano = t.start_unix_nano + duration;
    prev_start = t.start_unix_nano;
    if (status_codes && !codes.Byte(&t.status_code)) {
      return Corrupt(fmt::format("malformed {} at offset {} of the status code stream",
                                 codes.what(), codes.Offset()));
    }
  }
  if (starts.Remaining() != 0 || durations.Remaining() != 0) {
    return Corrupt("unread bytes in the start time or duration stream");
  }
  if (codes.Remaining() != 0) return Corrupt("unread bytes in the status code stream");
  return times;
}

// The first stream whose read failed (a failed read leaves its reader's what() set), named with
// its offset; nullopt when none failed.
std::optional<absl::Status> MalformedStream(const std::vector<Reader>& streams) {
  for (int i = 0; i < kStreamCount; ++i) {
    if (streams[i].what() != nullptr) {
      return Corrupt(fmt::format("malformed {} at offset {} of the {} stream", streams[i].what(),
                                 streams[i].Offset(), kStreamNames[i]));
    }
  }
  return std::nullopt;
}

// An error naming the first stream with bytes left unread; OK when every one was read to its end.
absl::Status AllStreamsRead(const std::vector<Reader>& streams) {
  for (int i = 0; i < kStreamCount; ++i) {
    if (streams[i].Remaining() != 0) {
      return Corrupt(fmt::format("{} unread bytes in the {} stream", streams[i].Remaining(),
                                 kStreamNames[i]));
    }
  }
  return absl::OkStatus();
}

// A columnar block's header: its span and attribute key counts, and its resource and scope tables.
struct Header {
  uint64_t spans = 0;
  uint64_t key_count = 0;
  std::vector<std::shared_ptr<const model::Resource>> resources;
  std::vector<std::shared_ptr<const model::Scope>> scopes;
};

// Reads the header of the located block `raw`, checking its section count against its keys.
absl::StatusOr<Header> ReadHeader(Sections& raw) {
  std::string_view header_bytes;
  RETURN_IF_ERROR(raw.Open(0, &header_bytes));
  Reader r(header_bytes);
  auto malformed = [&r]() {
    return Corrupt(fmt::format("malformed {} at header offset {}", r.what(), r.Offset()));
  };
  Header header;
  uint64_t count;
  if (!r.Varint(&header.spans) || !r.Varint(&header.key_count)) return malformed();
  if (raw.size() - 1 - kStreamCount != 2 * header.key_count) {
    return Corrupt(
        fmt::format("{} sections for {} attribute keys", raw.size(), header.key_count));
  }
  if (!r.Count(&count)) return malformed();
  for (uint64_t i = 0; i < count; ++i) {
    auto resource = std::make_shared<model::Resource>();
    if (!r.Resource(resource.get())) return malformed();
    header.resources.push_back(std::move(resource));
  }
  if (!r.Count(&count)) return malformed();
  for (uint64_t i = 0; i < count; ++i) {
    auto scope = std::make_shared<model::Scope>();
    if (!r.Scope(scope.get())) return malformed();
    header.scopes.push_back(std::move(scope));
  }
  if (r.Remaining() != 0) {
    return Corrupt(fmt::format("{} unread bytes after the header", r.Remaining()));
  }
  return header;
}

// With `rows` (ascending, checked by the caller), only the spans at those positions are built and
// returned; the others are still read (every stream is checked alike) into one reused scratch
// span, which saves their allocations.
absl::StatusOr<std::vector<model::StoredSpan>> DecodeV2(
    std::string_view block, uint8_t format, const SpanFields& fields,
    const std::vector<uint32_t>* rows = nullptr) {
  Sections raw;
  RETURN_IF_ERROR(raw.Locate(block));
  ASSIGN_OR_RETURN(Header header, ReadHeader(raw));
  const uint64_t n = header.spans, key_count = header.key_count;
  const std::vector<std::shared_ptr<const model::Resource>>& resources = header.resources;
  const std::vector<std::shared_ptr<const model::Scope>>& scopes = header.scopes;
  const bool all_attributes = (fields.groups & SpanFields::kAllAttributes) != 0;
  const bool any_attributes = all_attributes || !fields.span_attributes.empty();
  bool need[kStreamCount];
  std::vector<Reader> streams;
  streams.reserve(kStreamCount);
  for (int i = 0; i < kStreamCount; ++i) {
    const uint32_t group = GroupOf(i);
    need[i] = i == kAttributeKeys || i == kKeyNames ? any_attributes
                                                    : group == 0 || (fields.groups & group) != 0;
    std::string_view bytes;
    if (need[i]) RETURN_IF_ERROR(raw.Open(1 + static_cast<size_t>(i), &bytes));
    streams.emplace_back(bytes);
  }
  // Attribute key k's sections are opened when the first span carrying a wanted k is read.
  std::vector<ColumnReader> columns(key_count, ColumnReader{Reader({}), Reader({}), {}});
  std::vector<char> column_open(key_count, 0);  // not vector<bool>: read per attribute
  auto open_column = [&](uint64_t k) -> absl::Status {
    std::string_view values, strings;
    RETURN_IF_ERROR(raw.Open(1 + kStreamCount + 2 * k, &values));
    RETURN_IF_ERROR(raw.Open(2 + kStreamCount + 2 * k, &strings));
    columns[k] = ColumnReader{Reader(values), Reader(strings), {},
                              format >= kSpanBlockFormatV3};
    column_open[k] = true;
    return absl::OkStatus();
  };
  // Every span has exactly one 8-byte span id and at least one byte of start time, either of
  // which bounds what `n` may allocate.
  if (need[kSpanIds] &&
      (n > streams[kSpanIds].Remaining() / 8 || streams[kSpanIds].Remaining() != n * 8)) {
    return Corrupt(fmt::format("span count {} does not match {} bytes of span ids", n,
                               streams[kSpanIds].Remaining()));
  }
  if (n > streams[kStarts].Remaining()) {
    return Corrupt(fmt::format("span count {} exceeds the {} bytes of start times", n,
                               streams[kStarts].Remaining()));
  }
  if (rows != nullptr && !rows->empty() && rows->back() >= n) {
    return absl::InvalidArgumentError(
        fmt::format("span block: row {} of a block of {} spans", rows->back(), n));
  }
  std::vector<model::StoredSpan> spans(rows != nullptr ? rows->size() : n);
  // Every span's id, for parents named by position.
  std::vector<SpanId> span_ids(n);
  if (need[kSpanIds]) {
    for (SpanId& id : span_ids) streams[kSpanIds].Id(&id);
  }
  model::StoredSpan scratch;
  size_t next_row = 0;  // the next position of `rows` to build

  // A failed read leaves its reader's what() set; the error names that stream.
  auto stream_error = [&]() {
    if (std::optional<absl::Status> malformed = MalformedStream(streams)) return *malformed;
    for (size_t k = 0; k < columns.size(); ++k) {
      for (const Reader* column : {&columns[k].values, &columns[k].strings}) {
        if (column->what() != nullptr) {
          return Corrupt(fmt::format("malformed {} at offset {} of the {} of key {}",
                                     column->what(), column->Offset(),
                                     column == &columns[k].values ? "values" : "strings", k));
        }
      }
    }
    return Corrupt("malformed stream");
  };

  std::vector<TraceId> trace_ids;
  std::vector<std::string> names;
  std::vector<std::string> key_names;
  std::vector<char> key_wanted;
  uint64_t prev_start = 0;
  uint64_t prev_ingestion = 0;
  for (uint64_t position = 0; position < n; ++position) {
    model::StoredSpan* out = &scratch;
    if (rows == nullptr) {
      out = &spans[position];
    } else if (next_row < rows->size() && (*rows)[next_row] == position) {
      out = &spans[next_row++];
    }
    const bool building = out != &scratch;
    size_t scratch_attributes = 0;  // the scratch span's attributes are overwritten in place
    model::StoredSpan& stored = *out;
    model::Span& s = stored.span;
    if (need[kSpanIds]) s.span_id = span_ids[position];
    uint64_t v;
    if (need[kRefs]) {
      if (!streams[kRefs].Varint(&v)) return stream_error();
      if (v >= resources.size()) return Corrupt(fmt::format("resource {} out of range", v));
      stored.resource = resources[v];
      if (!streams[kRefs].Varint(&v)) return stream_error();
      if (v >= scopes.size()) return Corrupt(fmt::format("scope {} out of range", v));
      stored.scope = scopes[v];
    }
    if (need[kTraceRefs]) {
      if (!streams[kTraceRefs].Varint(&v)) return stream_error();
      if (v == trace_ids.size()) {
        if (!streams[kTraceIds].Id(&trace_ids.emplace_back())) return stream_error();
      } else if (v > trace_ids.size()) {
        return Corrupt(fmt::format("trace id {} out of range", v));
      }
      s.trace_id = trace_ids[v];
      if (!streams[kParents].Varint(&v)) return stream_error();
      if (v == n + 1) {
        if (!streams[kParentIds].Id(&s.parent_span_id)) return stream_error();
      } else if (v > n + 1) {
        return Corrupt(fmt::format("parent position {} out of range", v));
      } else if (v > 0) {
        s.parent_span_id = span_ids[v - 1];
      } else {
        s.parent_span_id = SpanId{};  // the scratch span may hold another's
      }
    }
    if (need[kTraceStates]) {
      if (!streams[kTraceStates].Str(&s.trace_state)) return stream_error();
      if (!streams[kFlags].Varint32(&s.flags)) return stream_error();
    }
    if (need[kNameRefs]) {
      if (!streams[kNameRefs].Varint(&v)) return stream_error();
      if (v == names.size()) {
        if (!streams[kNames].Str(&names.emplace_back())) return stream_error();
      } else if (v > names.size()) {
        return Corrupt(fmt::format("span name {} out of range", v));
      }
      s.name = names[v];
    }
    uint8_t byte;
    if (need[kKinds]) {
      if (!streams[kKinds].Byte(&byte)) return stream_error();
      s.kind = static_cast<model::SpanKind>(byte);
    }
    uint64_t start_delta, duration;
    if (!streams[kStarts].Varint(&start_delta)) return stream_error();
    if (!streams[kDurations].Varint(&duration)) return stream_error();
    s.start_time_unix_nano = prev_start + start_delta;
    s.end_time_unix_nano = s.start_time_unix_nano + duration;
    prev_start = s.start_time_unix_nano;
    if (need[kIngestions]) {
      uint64_t ingestion_delta;
      if (!streams[kIngestions].Varint(&ingestion_delta)) return stream_error();
      stored.ingestion_time_unix_nano = prev_ingestion + ingestion_delta;
      prev_ingestion = stored.ingestion_time_unix_nano;
    }

    if (need[kAttributeKeys]) {
      if (!streams[kAttributeKeys].Count(&v)) return stream_error();
      if (all_attributes && building) s.attributes.reserve(v);
      for (uint64_t i = 0; i < v; ++i) {
        uint64_t k;
        if (!streams[kAttributeKeys].Varint(&k)) return stream_error();
        if (k == key_names.size() && k < columns.size()) {
          if (!streams[kKeyNames].Str(&key_names.emplace_back())) return stream_error();
          key_wanted.push_back(all_attributes ||
                               std::find(fields.span_attributes.begin(),
                                         fields.span_attributes.end(),
                                         key_names.back()) != fields.span_attributes.end());
        } else if (k >= key_names.size()) {
          return Corrupt(fmt::format("attribute key {} out of range", k));
        }
        if (!key_wanted[k]) continue;
        if (!column_open[k]) RETURN_IF_ERROR(open_column(k));
        if (!building && scratch_attributes == s.attributes.size()) s.attributes.emplace_back();
        model::KeyValue& kv =
            building ? s.attributes.emplace_back() : s.attributes[scratch_attributes++];
        kv.key = key_names[k];
        if (!ReadColumnValue(columns[k], &kv.value)) {
          if (columns[k].values.what() == nullptr && columns[k].strings.what() == nullptr) {
            return Corrupt(fmt::format("string index out of range in the values of {}", kv.key));
          }
          return stream_error();
        }
      }
    }
    if (need[kRare]) {
      Reader& rare = streams[kRare];
      if (!rare.Varint32(&s.dropped_attributes_count)) return stream_error();
      if (!rare.Count(&v)) return stream_error();
      s.events.resize(v);
      for (auto& e : s.events) {
        uint64_t offset;
        if (!(rare.Varint(&offset) && rare.Str(&e.name) && rare.KeyValues(&e.attributes, 0) &&
              rare.Varint32(&e.dropped_attributes_count))) {
          return stream_error();
        }
        e.time_unix_nano = s.start_time_unix_nano + offset;
      }
      if (!rare.Varint32(&s.dropped_events_count)) return stream_error();
      if (!rare.Count(&v)) return stream_error();
      s.links.resize(v);
      for (auto& l : s.links) {
        if (!(rare.Id(&l.trace_id) && rare.Id(&l.span_id) && rare.Str(&l.trace_state) &&
              rare.KeyValues(&l.attributes, 0) && rare.Varint32(&l.dropped_attributes_count) &&
              rare.Varint32(&l.flags))) {
          return stream_error();
        }
      }
      if (!rare.Varint32(&s.dropped_links_count)) return stream_error();
    }
    if (need[kStatusCodes]) {
      if (!streams[kStatusCodes].Byte(&byte)) return stream_error();
      s.status.code = static_cast<model::StatusCode>(byte);
    }
    if (need[kStatusMessages] && !streams[kStatusMessages].Str(&s.status.message)) {
      return stream_error();
    }
  }
  RETURN_IF_ERROR(AllStreamsRead(streams));
  for (size_t k = 0; k < columns.size(); ++k) {
    if (need[kAttributeKeys] && k >= key_names.size()) {
      return Corrupt(fmt::format("values of key {} have no key", k));
    }
    if (!column_open[k]) continue;
    if (columns[k].values.Remaining() != 0 || columns[k].strings.Remaining() != 0) {
      return Corrupt(fmt::format("unread bytes in the values or strings of key {}", k));
    }
  }
  return spans;
}

}  // namespace

namespace {

// What encoding a block allocates, kept by each thread between the blocks it encodes and reused:
// the ClickHouse backend encodes one block per span, where these allocations were most of the
// work. Emptied at the start of each block, and let go entirely once its buffers hold more than
// kKeptBytes or it has more than kKeptColumns key columns (a block of many keys or large values),
// so what a thread keeps stays small whatever blocks it was given.
struct EncoderScratch {
  static constexpr size_t kKeptBytes = size_t{4} << 20;
  static constexpr size_t kKeptColumns = 1024;

  Table<model::Resource> resources;
  Table<model::Scope> scopes;
  std::array<Writer, kStreamCount> streams;
  std::vector<KeyColumn> columns;  // the first `used_columns`: one per key, in key-table order
  size_t used_columns = 0;
  absl::flat_hash_map<SpanId, uint32_t, IdHash> position_of_span;
  absl::flat_hash_map<TraceId, uint32_t, IdHash> trace_table;
  absl::flat_hash_map<std::string_view, uint32_t> name_table;
  absl::flat_hash_map<std::string_view, uint32_t> key_table;
  std::vector<std::string_view> key_names;  // by key index
  std::vector<uint32_t> key_at_position;
  Writer header;
  std::vector<const std::string*> sections;

  void Clear() {
    size_t kept = header.out().capacity();
    for (const Writer& w : streams) kept += w.out().capacity();
    for (const KeyColumn& c : columns) {
      kept += c.values.out().capacity() + c.strings.out().capacity();
    }
    if (kept > kKeptBytes || columns.size() > kKeptColumns) {
      *this = EncoderScratch();
      return;
    }
    resources.Clear();
    scopes.Clear();
    for (Writer& w : streams) w.out().clear();
    for (size_t k = 0; k < used_columns; ++k) columns[k].Clear();
    used_columns = 0;
    position_of_span.clear();
    trace_table.clear();
    name_table.clear();
    key_table.clear();
    key_names.clear();
    key_at_position.clear();
    header.out().clear();
    sections.clear();
  }
};

}  // namespace

absl::StatusOr<std::string> EncodeSpanBlock(const std::vector<const model::StoredSpan*>& spans,
                                            const SpanBlockOptions& options) {
  thread_local EncoderScratch scratch;
  scratch.Clear();
  auto& [resources, scopes, streams, columns, used_columns, position_of_span, trace_table,
         name_table, key_table, key_names, key_at_position, header, sections] = scratch;

  // Parents usually sit in the same block: name them by position instead of repeating 8 bytes.
  position_of_span.reserve(spans.size());
  for (size_t i = 0; i < spans.size(); ++i) {
    position_of_span.try_emplace(spans[i]->span.span_id, static_cast<uint32_t>(i));
  }

  auto key_index = [&](std::string_view key) {
    auto [it, inserted] = key_table.try_emplace(key, static_cast<uint32_t>(key_table.size()));
    if (inserted) {
      streams[kKeyNames].Str(key);
      if (used_columns == columns.size()) columns.emplace_back();
      ++used_columns;
      key_names.push_back(key);
    }
    return it->second;
  };
  constexpr uint32_t kNoKey = UINT32_MAX;

  uint64_t prev_start = 0;
  uint64_t prev_ingestion = 0;
  for (const model::StoredSpan* stored : spans) {
    const model::Span& s = stored->span;
    const model::Resource* resource = stored->resource ? stored->resource.get() : &kEmptyResource;
    const model::Scope* scope = stored->scope ? stored->scope.get() : &kEmptyScope;
    Writer& refs = streams[kRefs];
    refs.Varint(resources.IndexOf(resource, [](Writer& w, const model::Resource& r) {
      w.Resource(r);
    }));
    refs.Varint(scopes.IndexOf(scope, [](Writer& w, const model::Scope& sc) { w.Scope(sc); }));

    // Trace ids: an index into the block's table; the table size itself means "a new id follows".
    auto [trace, new_trace] =
        trace_table.try_emplace(s.trace_id, static_cast<uint32_t>(trace_table.size()));
    streams[kTraceRefs].Varint(trace->second);
    if (new_trace) streams[kTraceIds].Id(s.trace_id);
    streams[kSpanIds].Id(s.span_id);
    if (s.parent_span_id == SpanId{}) {
      streams[kParents].Varint(0);
    } else if (auto parent = position_of_span.find(s.parent_span_id);
               parent != position_of_span.end()) {
      streams[kParents].Varint(uint64_t{parent->second} + 1);
    } else {
      streams[kParents].Varint(spans.size() + 1);
      streams[kParentIds].Id(s.parent_span_id);
    }
    streams[kTraceStates].Str(s.trace_state);
    streams[kFlags].Varint(s.flags);
    auto [name, new_name] =
        name_table.try_emplace(s.name, static_cast<uint32_t>(name_table.size()));
    streams[kNameRefs].Varint(name->second);
    if (new_name) streams[kNames].Str(s.name);
    streams[kKinds].Byte(static_cast<uint8_t>(s.kind));
    // Deltas wrap modulo 2^64, so unordered or out-of-range times still round-trip exactly.
    streams[kStarts].Varint(s.start_time_unix_nano - prev_start);
    streams[kDurations].Varint(s.end_time_unix_nano - s.start_time_unix_nano);
    streams[kIngestions].Varint(stored->ingestion_time_unix_nano - prev_ingestion);
    prev_start = s.start_time_unix_nano;
    prev_ingestion = stored->ingestion_time_unix_nano;

    streams[kAttributeKeys].Varint(s.attributes.size());
    for (size_t i = 0; i < s.attributes.size(); ++i) {
      const model::KeyValue& kv = s.attributes[i];
      // Spans mostly list the same keys in the same order: the key at this position in the last
      // span with as many is usually this one, found by one comparison instead of a hash lookup.
      if (i >= key_at_position.size()) key_at_position.resize(i + 1, kNoKey);
      uint32_t& cached = key_at_position[i];
      const uint32_t k =
          cached != kNoKey && key_names[cached] == kv.key ? cached : (cached = key_index(kv.key));
      streams[kAttributeKeys].Varint(k);
      columns[k].Add(kv.value);
    }
    Writer& rare = streams[kRare];
    rare.Varint(s.dropped_attributes_count);
    rare.Varint(s.events.size());
    for (const auto& e : s.events) {
      rare.Varint(e.time_unix_nano - s.start_time_unix_nano);
      rare.Str(e.name);
      rare.KeyValues(e.attributes);
      rare.Varint(e.dropped_attributes_count);
    }
    rare.Varint(s.dropped_events_count);
    rare.Varint(s.links.size());
    for (const auto& l : s.links) {
      rare.Id(l.trace_id);
      rare.Id(l.span_id);
      rare.Str(l.trace_state);
      rare.KeyValues(l.attributes);
      rare.Varint(l.dropped_attributes_count);
      rare.Varint(l.flags);
    }
    rare.Varint(s.dropped_links_count);
    streams[kStatusCodes].Byte(static_cast<uint8_t>(s.status.code));
    streams[kStatusMessages].Str(s.status.message);
  }

  header.Varint(spans.size());
  header.Varint(used_columns);
  header.Varint(resources.count());
  header.out().append(resources.encoded());
  header.Varint(scopes.count());
  header.out().append(scopes.encoded());

  sections.push_back(&header.out());
  for (Writer& stream : streams) sections.push_back(&stream.out());
  for (size_t k = 0; k < used_columns; ++k) {
    sections.push_back(&columns[k].values.out());
    sections.push_back(&columns[k].strings.out());
  }
  size_t body_bytes = 0;
  for (const std::string* section : sections) body_bytes += section->size();
  if (body_bytes > kMaxSpanBlockBodyBytes) {
    return absl::OutOfRangeError(
        fmt::format("span block: {} spans encode to {} bytes, over the limit of {}", spans.size(),
                    body_bytes, kMaxSpanBlockBodyBytes));
  }
  Writer block;
  // Stored sections add a byte and a length each; compressed ones are smaller.
  if (!options.compress) block.out().reserve(1 + body_bytes + 11 * sections.size());
  block.Byte(kSpanBlockFormatV3);
  for (const std::string* section : sections) {
    RETURN_IF_ERROR(AppendSection(*section, options, block.out()));
  }
  return std::move(block.out());
}

absl::StatusOr<std::string> EncodeSpanBlock(const std::vector<model::StoredSpan>& spans,
                                            const SpanBlockOptions& options) {
  std::vector<const model::StoredSpan*> pointers;
  pointers.reserve(spans.size());
  for (const auto& s : spans) pointers.push_back(&s);
  return EncodeSpanBlock(pointers, options);
}

absl::StatusOr<std::vector<SpanTimes>> DecodeSpanTimes(std::string_view block,
                                                       bool status_codes) {
  if (Columnar(block)) return DecodeTimesV2(block.substr(1), status_codes);
  ASSIGN_OR_RETURN(std::vector<model::StoredSpan> spans, DecodeSpanBlock(block));
  std::vector<SpanTimes> times;
  times.reserve(spans.size());
  for (const model::StoredSpan& s : spans) {
    const auto code = status_codes ? static_cast<uint8_t>(s.span.status.code) : uint8_t{0};
    times.push_back(SpanTimes{s.span.start_time_unix_nano, s.span.end_time_unix_nano, code});
  }
  return times;
}

namespace {

// Whether every value of a columnar key's values stream is a scalar other than an inline string:
// then its strings are exactly the key's table. `new_string_tags`: format 3.
bool OnlyScalarValues(std::string_view values, bool new_string_tags) {
  Reader r(values);
  while (r.Remaining() != 0) {
    uint8_t tag;
    uint64_t u;
    int64_t i;
    std::string_view bytes;
    if (!r.Byte(&tag)) return false;
    switch (tag) {
      case kEmpty:
      case kFalse:
      case kTrue:
        break;
      case kNewString:
        if (!new_string_tags) return false;  // malformed: the decode says so
        break;
      case kStringRef:
        if (!r.Varint(&u)) return false;
        break;
      case kInt:
        if (!r.Signed(&i)) return false;
        break;
      case kDouble:
        if (!r.Fixed64(&u)) return false;
        break;
      case kBytes:
        if (!r.View(&bytes)) return false;
        break;
      default:  // inline strings, arrays, maps: not ruled out here
        return false;
    }
  }
  return true;
}

// Where span attribute `key`'s column lies in a columnar block.
struct ColumnLocation {
  uint64_t key_count = 0;
  std::optional<uint64_t> key;       // the key's index; none when no span of the block has it
  std::string_view values, strings;  // its two sections, when it has one
};

// Locates the sections of `body` (a columnar block after its version byte) in `raw`, and `key`'s
// column among them: key indexes are given in order of first use, which is the order of the names.
// The key count is the sections' (two per key after the streams): the header, which holds the
// resource table, is not read (a tenth of a one-service facet's decompression).
// Nullopt when the section count or the key names are malformed; an error when a section it
// opens cannot be read.
absl::StatusOr<std::optional<ColumnLocation>> LocateColumn(Sections& raw, std::string_view body,
                                                           std::string_view key) {
  RETURN_IF_ERROR(raw.Locate(body));
  const size_t columns = raw.size() - 1 - kStreamCount;  // Locate checked it is not negative
  if (columns % 2 != 0) return std::nullopt;
  ColumnLocation column;
  column.key_count = columns / 2;
  std::string_view names_bytes;
  RETURN_IF_ERROR(raw.Open(1 + kKeyNames, &names_bytes));
  Reader names(names_bytes);
  for (uint64_t k = 0; k < column.key_count; ++k) {
    std::string_view name;
    if (!names.View(&name)) return std::nullopt;
    if (name != key) continue;
    column.key = k;
    RETURN_IF_ERROR(raw.Open(1 + kStreamCount + 2 * k, &column.values));
    RETURN_IF_ERROR(raw.Open(2 + kStreamCount + 2 * k, &column.strings));
    break;
  }
  return column;
}

}  // namespace

absl::StatusOr<bool> MayHoldStringAttribute(std::string_view block, std::string_view key,
                                            const std::vector<std::string>& values) {
  if (!Columnar(block)) return true;
  Sections raw;
  ASSIGN_OR_RETURN(std::optional<ColumnLocation> column, LocateColumn(raw, block.substr(1), key));
  if (!column) return true;        // damaged: the decode says how
  if (!column->key) return false;  // no span of the block has the key
  if (!OnlyScalarValues(column->values, static_cast<uint8_t>(block[0]) >= kSpanBlockFormatV3)) {
    return true;
  }
  Reader strings(column->strings);
  while (strings.Remaining() != 0) {
    std::string_view s;
    if (!strings.View(&s)) return true;
    if (std::find(values.begin(), values.end(), s) != values.end()) return true;
  }
  return false;
}

absl::StatusOr<bool> CountSpanAttributeValues(
    std::string_view block, std::string_view key, const std::optional<StartRange>& starts,
    const std::function<void(const std::vector<std::pair<std::string_view, uint64_t>>&)>&
        on_strings,
    const std::function<void(const model::AnyValue&)>& on_other,
    const std::vector<uint32_t>* positions) {
  if (!Columnar(block)) return false;
  const bool new_string_tags = static_cast<uint8_t>(block[0]) >= kSpanBlockFormatV3;
  Sections raw;
  ASSIGN_OR_RETURN(std::optional<ColumnLocation> column, LocateColumn(raw, block.substr(1), key));
  if (!column) return Corrupt("malformed section count or key names");
  if (!column->key) return true;  // no span of the block has the key
  const uint64_t key_count = column->key_count, target = *column->key;
  std::string_view keys_bytes, starts_bytes;
  RETURN_IF_ERROR(raw.Open(1 + kAttributeKeys, &keys_bytes));
  if (starts) RETURN_IF_ERROR(raw.Open(1 + kStarts, &starts_bytes));
  Reader keys(keys_bytes), values(column->values), strings(column->strings),
      start_deltas(starts_bytes);

  // Spans mostly list the same keys in the same order. A list whose bytes (all one-byte indexes)
  // equal one of the last few seen holds the key as often as that one, and introduces no key, so
  // its indexes are not read again.
  struct Shape {
    std::string_view bytes;  // the indexes, one byte each
    uint64_t occurrences = 0;
  };
  std::array<Shape, 4> shapes{};
  size_t next_shape = 0;
  // Strings are counted by their index in the key's table, and handed over once each at the end.
  std::vector<std::string_view> table;
  std::vector<uint64_t> string_spans;
  constexpr uint64_t kNone = UINT64_MAX;
  uint64_t keys_seen = 0, prev_start = 0;
  size_t next_position = 0;  // of `positions`
  // One list of keys per span: the spans are counted by them, not by the header's span count.
  for (uint64_t i = 0; keys.Remaining() != 0; ++i) {
    bool in_range = true;
    if (starts) {
      uint64_t delta;
      if (!start_deltas.Varint(&delta)) return Corrupt("malformed start times");
      prev_start += delta;
      in_range = starts->first <= prev_start && prev_start <= starts->second;
    }
    if (positions != nullptr) {
      const bool kept = next_position < positions->size() && (*positions)[next_position] == i;
      if (kept) ++next_position;
      in_range = in_range && kept;
    }
    // The span's value is its last occurrence of the key (FindAttribute's).
    uint64_t last_string = kNone;
    std::optional<AnyValue> last_other;
    uint64_t count;
    if (!keys.Count(&count)) return Corrupt("malformed attribute keys");
    const std::string_view list = keys.Peek(count);
    uint64_t occurrences = 0;
    const Shape* seen = nullptr;
    for (const Shape& shape : shapes) {
      if (shape.bytes.size() == count && shape.bytes.data() != nullptr && shape.bytes == list) {
        seen = &shape;
        break;
      }
    }
    if (seen != nullptr) {
      occurrences = seen->occurrences;
      keys.Skip(count);
    } else {
      const size_t before = keys.Remaining();
      for (uint64_t a = 0; a < count; ++a) {
        uint64_t k;
        if (!keys.Varint(&k)) return Corrupt("malformed attribute keys");
        if (k == keys_seen && k < key_count) {
          ++keys_seen;
        } else if (k >= keys_seen) {
          return Corrupt(fmt::format("attribute key {} out of range", k));
        }
        if (k == target) ++occurrences;
      }
      if (before - keys.Remaining() == count) {  // one byte each: `list` is the whole list
        shapes[next_shape] = {list, occurrences};
        next_shape = (next_shape + 1) % shapes.size();
      }
    }
    for (uint64_t o = 0; o < occurrences; ++o) {
      uint8_t tag;
      if (!values.Byte(&tag)) return Corrupt(fmt::format("malformed values of {}", key));
      uint64_t index;
      if (tag == kNewString && new_string_tags) {
        index = table.size();
      } else if (tag == kStringRef) {
        if (!values.Varint(&index) || index > table.size()) {
          return Corrupt(fmt::format("malformed values of {}", key));
        }
      } else {
        last_other.emplace();
        if (!values.ValueOfTag(tag, &*last_other, 0)) {
          return Corrupt(fmt::format("malformed values of {}", key));
        }
        last_string = kNone;
        continue;
      }
      if (index == table.size()) {
        if (!strings.View(&table.emplace_back())) {
          return Corrupt(fmt::format("malformed strings of {}", key));
        }
        string_spans.push_back(0);
      }
      last_string = index;
      last_other.reset();
    }
    if (!in_range) continue;
    if (last_string != kNone) ++string_spans[last_string];
    if (last_other) on_other(*last_other);
  }
  if (keys.Remaining() != 0 || values.Remaining() != 0 || strings.Remaining() != 0 ||
      start_deltas.Remaining() != 0) {
    return Corrupt(fmt::format("unread bytes in the attribute keys or the values of {}", key));
  }
  std::vector<std::pair<std::string_view, uint64_t>> counted;
  counted.reserve(table.size());
  for (size_t i = 0; i < table.size(); ++i) {
    if (string_spans[i] != 0) counted.emplace_back(table[i], string_spans[i]);
  }
  if (!counted.empty()) on_strings(counted);
  return true;
}

absl::StatusOr<std::optional<SpanRefs>> DecodeSpanRefs(std::string_view block,
                                                       const SpanFields& fields,
                                                       const std::optional<StartRange>& starts,
                                                       RowTimes times) {
  constexpr uint32_t kRead = SpanFields::kResourceAndScope | SpanFields::kName |
                             SpanFields::kKind | SpanFields::kStatusCode;
  if (!Columnar(block) || (fields.groups & ~kRead) != 0 || !fields.span_attributes.empty()) {
    return std::nullopt;
  }
  Sections raw;
  RETURN_IF_ERROR(raw.Locate(block.substr(1)));
  ASSIGN_OR_RETURN(Header header, ReadHeader(raw));
  const uint64_t n = header.spans;
  const bool ends = times == RowTimes::kStartsAndEnds;
  // The span count is bounded by the bytes of a stream with at least one byte per span: the start
  // times, or the first other stream read. A block wholly inside a query's range, whose tag
  // values need no times, skips the start times (about a tenth of such a query's work).
  const bool read_starts =
      starts || times != RowTimes::kNone || (fields.groups & kRead) == 0;
  std::vector<Reader> streams;
  streams.reserve(kStreamCount);
  int bounding = read_starts ? kStarts : -1;  // the stream whose size bounds the span count
  for (int i = 0; i < kStreamCount; ++i) {
    std::string_view bytes;
    const uint32_t group = GroupOf(i);
    const bool time = (i == kStarts && read_starts) || (i == kDurations && ends);
    if (time || (group != 0 && (fields.groups & group) != 0)) {
      RETURN_IF_ERROR(raw.Open(1 + static_cast<size_t>(i), &bytes));
      if (bounding < 0 && (i == kRefs || i == kNameRefs || i == kKinds || i == kStatusCodes)) {
        bounding = i;
      }
    }
    streams.emplace_back(bytes);
  }
  if (n > streams[bounding].Remaining()) {
    return Corrupt(fmt::format(
        "span count {} exceeds the {} bytes of {}", n, streams[bounding].Remaining(),
        bounding == kStarts ? "start times"
                            : fmt::format("the {} stream", kStreamNames[bounding])));
  }
  auto stream_error = [&streams]() {
    return MalformedStream(streams).value_or(Corrupt("malformed stream"));
  };
  const bool refs = (fields.groups & SpanFields::kResourceAndScope) != 0;
  const bool named = (fields.groups & SpanFields::kName) != 0;
  const bool kinds = (fields.groups & SpanFields::kKind) != 0;
  const bool codes = (fields.groups & SpanFields::kStatusCode) != 0;
  SpanRefs out;
  if (refs) {
    out.resources = std::move(header.resources);
    out.scopes = std::move(header.scopes);
  } else {
    out.resources.resize(1);
    out.scopes.resize(1);
  }
  if (!named) out.names.resize(1);
  out.rows.reserve(n);
  uint64_t prev_start = 0;
  for (uint64_t i = 0; i < n; ++i) {
    SpanRefs::Row row;
    row.position = static_cast<uint32_t>(i);
    uint64_t v;
    if (read_starts) {
      if (!streams[kStarts].Varint(&v)) return stream_error();
      prev_start += v;
      row.start_unix_nano = prev_start;
    }
    if (ends) {
      if (!streams[kDurations].Varint(&v)) return stream_error();
      row.end_unix_nano = prev_start + v;
    }
    if (refs) {
      if (!streams[kRefs].Varint(&v)) return stream_error();
      if (v >= out.resources.size()) return Corrupt(fmt::format("resource {} out of range", v));
      row.resource = static_cast<uint32_t>(v);
      if (!streams[kRefs].Varint(&v)) return stream_error();
      if (v >= out.scopes.size()) return Corrupt(fmt::format("scope {} out of range", v));
      row.scope = static_cast<uint32_t>(v);
    }
    if (named) {
      if (!streams[kNameRefs].Varint(&v)) return stream_error();
      if (v == out.names.size()) {
        if (!streams[kNames].Str(&out.names.emplace_back())) return stream_error();
      } else if (v > out.names.size()) {
        return Corrupt(fmt::format("span name {} out of range", v));
      }
      row.name = static_cast<uint32_t>(v);
    }
    if (kinds && !streams[kKinds].Byte(&row.kind)) return stream_error();
    if (codes && !streams[kStatusCodes].Byte(&row.status_code)) return stream_error();
    if (starts && (prev_start < starts->first || prev_start > starts->second)) continue;
    out.rows.push_back(row);
  }
  RETURN_IF_ERROR(AllStreamsRead(streams));
  return out;
}

absl::StatusOr<std::vector<model::StoredSpan>> DecodeSpanBlock(std::string_view block,
                                                              const SpanFields& fields) {
  if (block.empty()) return Corrupt("empty");
  const uint8_t format = static_cast<uint8_t>(block[0]);
  if (format < kSpanBlockFormatV1 || format > kSpanBlockFormatV3) {
    return Corrupt(fmt::format("unknown format version {}", format));
  }
  if (Columnar(block)) return DecodeV2(block.substr(1), format, fields);
  ASSIGN_OR_RETURN(std::string plain, ZstdDecompress(block.substr(1), kMaxSpanBlockBodyBytes, "span block"));
  return DecodeV1(plain);
}

absl::StatusOr<std::vector<model::StoredSpan>> DecodeSpanRows(std::string_view block,
                                                             const std::vector<uint32_t>& rows) {
  if (!std::is_sorted(rows.begin(), rows.end()) ||
      std::adjacent_find(rows.begin(), rows.end()) != rows.end()) {
    return absl::InvalidArgumentError("span block: rows not strictly ascending");
  }
  if (Columnar(block)) {
    return DecodeV2(block.substr(1), static_cast<uint8_t>(block[0]), SpanFields::All(), &rows);
  }
  ASSIGN_OR_RETURN(std::vector<model::StoredSpan> spans, DecodeSpanBlock(block));
  if (!rows.empty() && rows.back() >= spans.size()) {
    return absl::InvalidArgumentError(
        fmt::format("span block: row {} of a block of {} spans", rows.back(), spans.size()));
  }
  std::vector<model::StoredSpan> picked;
  picked.reserve(rows.size());
  for (uint32_t row : rows) picked.push_back(std::move(spans[row]));
  return picked;
}

}  // namespace teletrace::storage
