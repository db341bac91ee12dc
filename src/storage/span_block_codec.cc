#include "storage/span_block_codec.h"

#include <zstd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <utility>

#include "absl/status/status.h"
#include "fmt/format.h"

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
};

// Protobuf stops at 100 levels, so no value a receiver accepted nests deeper than this; the limit
// only keeps corrupt input from exhausting the stack.
constexpr int kMaxValueDepth = 256;
// The fewest encoded bytes one span can occupy (two indexes, three ids, and one byte for each
// of the 15 remaining fields); bounds the spans a body of n bytes can claim.
constexpr size_t kMinSpanBytes = 2 + 16 + 8 + 8 + 15;

class Writer {
 public:
  std::string& out() { return out_; }

  void Byte(uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void Varint(uint64_t v) {
    char buf[10];
    size_t n = 0;
    while (v >= 0x80) {
      buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    buf[n++] = static_cast<char>(v);
    out_.append(buf, n);
  }
  void Signed(int64_t v) {
    Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void Fixed64(uint64_t v) {
    char buf[8];
    for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>(v >> (8 * i));
    out_.append(buf, 8);
  }
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
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return Fail("varint");
      uint8_t b = static_cast<uint8_t>(*p_++);
      // The tenth byte may only carry the top bit of a 64-bit value.
      if (shift == 63 && b > 1) return Fail("varint");
      result |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return Fail("varint");
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
    *v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
    return true;
  }
  bool Fixed64(uint64_t* v) {
    if (Remaining() < 8) return Fail("fixed64");
    uint64_t r = 0;
    for (int i = 0; i < 8; ++i) r |= uint64_t{static_cast<uint8_t>(p_[i])} << (8 * i);
    p_ += 8;
    *v = r;
    return true;
  }
  bool Str(std::string* s) {
    uint64_t n;
    if (!Varint(&n)) return false;
    if (n > Remaining()) return Fail("string length");
    s->assign(p_, n);
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
    if (depth > kMaxValueDepth) return Fail("attribute value nesting");
    uint8_t tag;
    if (!Byte(&tag)) return false;
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

 private:
  std::unordered_map<const T*, uint32_t> by_pointer_;
  std::unordered_map<std::string, uint32_t> by_encoding_;
  std::string encoded_;
  uint32_t count_ = 0;
};

struct ZstdContexts {
  struct FreeC {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
  };
  struct FreeD {
    void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
  };
  std::unique_ptr<ZSTD_CCtx, FreeC> cctx{ZSTD_createCCtx()};
  std::unique_ptr<ZSTD_DCtx, FreeD> dctx{ZSTD_createDCtx()};
};

// Contexts are reused per thread: creating them costs more than compressing a small block.
ZstdContexts& Contexts() {
  thread_local ZstdContexts contexts;
  return contexts;
}

const model::Resource kEmptyResource;
const model::Scope kEmptyScope;

absl::Status Corrupt(const std::string& detail) {
  return absl::DataLossError(fmt::format("span block: {}", detail));
}

}  // namespace

absl::StatusOr<std::string> EncodeSpanBlock(const std::vector<const model::StoredSpan*>& spans,
                                            const SpanBlockOptions& options) {
  Table<model::Resource> resources;
  Table<model::Scope> scopes;
  Writer body;
  body.Varint(spans.size());
  uint64_t prev_start = 0;
  uint64_t prev_ingestion = 0;
  for (const model::StoredSpan* stored : spans) {
    const model::Span& s = stored->span;
    const model::Resource* resource = stored->resource ? stored->resource.get() : &kEmptyResource;
    const model::Scope* scope = stored->scope ? stored->scope.get() : &kEmptyScope;
    body.Varint(resources.IndexOf(resource, [](Writer& w, const model::Resource& r) {
      w.Resource(r);
    }));
    body.Varint(scopes.IndexOf(scope, [](Writer& w, const model::Scope& sc) { w.Scope(sc); }));
    body.Id(s.trace_id);
    body.Id(s.span_id);
    body.Id(s.parent_span_id);
    body.Str(s.trace_state);
    body.Varint(s.flags);
    body.Str(s.name);
    body.Byte(static_cast<uint8_t>(s.kind));
    // Deltas wrap modulo 2^64, so unordered or out-of-range times still round-trip exactly.
    body.Varint(s.start_time_unix_nano - prev_start);
    body.Varint(s.end_time_unix_nano - s.start_time_unix_nano);
    body.Varint(stored->ingestion_time_unix_nano - prev_ingestion);
    prev_start = s.start_time_unix_nano;
    prev_ingestion = stored->ingestion_time_unix_nano;
    body.KeyValues(s.attributes);
    body.Varint(s.dropped_attributes_count);
    body.Varint(s.events.size());
    for (const auto& e : s.events) {
      body.Varint(e.time_unix_nano - s.start_time_unix_nano);
      body.Str(e.name);
      body.KeyValues(e.attributes);
      body.Varint(e.dropped_attributes_count);
    }
    body.Varint(s.dropped_events_count);
    body.Varint(s.links.size());
    for (const auto& l : s.links) {
      body.Id(l.trace_id);
      body.Id(l.span_id);
      body.Str(l.trace_state);
      body.KeyValues(l.attributes);
      body.Varint(l.dropped_attributes_count);
      body.Varint(l.flags);
    }
    body.Varint(s.dropped_links_count);
    body.Byte(static_cast<uint8_t>(s.status.code));
    body.Str(s.status.message);
  }

  Writer head;
  head.Varint(resources.count());
  head.out().append(resources.encoded());
  head.Varint(scopes.count());
  head.out().append(scopes.encoded());
  head.out().append(body.out());
  const std::string& plain = head.out();
  if (plain.size() > kMaxSpanBlockBodyBytes) {
    return absl::OutOfRangeError(
        fmt::format("span block: {} spans encode to {} bytes, over the limit of {}", spans.size(),
                    plain.size(), kMaxSpanBlockBodyBytes));
  }

  std::string block(1 + ZSTD_compressBound(plain.size()), '\0');
  block[0] = static_cast<char>(kSpanBlockFormatV1);
  size_t n = ZSTD_compressCCtx(Contexts().cctx.get(), block.data() + 1, block.size() - 1,
                               plain.data(), plain.size(), options.zstd_level);
  if (ZSTD_isError(n)) {
    return absl::InternalError(
        fmt::format("span block: zstd compression failed: {}", ZSTD_getErrorName(n)));
  }
  block.resize(1 + n);
  return block;
}

absl::StatusOr<std::string> EncodeSpanBlock(const std::vector<model::StoredSpan>& spans,
                                            const SpanBlockOptions& options) {
  std::vector<const model::StoredSpan*> pointers;
  pointers.reserve(spans.size());
  for (const auto& s : spans) pointers.push_back(&s);
  return EncodeSpanBlock(pointers, options);
}

absl::StatusOr<std::vector<model::StoredSpan>> DecodeSpanBlock(std::string_view block) {
  if (block.empty()) return Corrupt("empty");
  if (static_cast<uint8_t>(block[0]) != kSpanBlockFormatV1) {
    return Corrupt(fmt::format("unknown format version {}", static_cast<uint8_t>(block[0])));
  }
  std::string_view frame = block.substr(1);

  // Streamed so that a forged content size in the frame header allocates nothing up front.
  ZSTD_DCtx* dctx = Contexts().dctx.get();
  ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
  std::string plain;
  unsigned long long declared = ZSTD_getFrameContentSize(frame.data(), frame.size());
  size_t initial = 4 * frame.size() + 4096;
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR &&
      declared < initial) {
    initial = static_cast<size_t>(declared) + 1;
  }
  // One byte over the limit, so that reaching it proves the body too large.
  const size_t limit = kMaxSpanBlockBodyBytes + 1;
  plain.resize(std::min(initial, limit));
  ZSTD_inBuffer in{frame.data(), frame.size(), 0};
  size_t produced = 0;
  while (true) {
    if (produced == plain.size()) {
      if (plain.size() >= limit) return Corrupt("body over the size limit");
      plain.resize(std::min(plain.size() * 2, limit));
    }
    ZSTD_outBuffer out{plain.data(), plain.size(), produced};
    size_t r = ZSTD_decompressStream(dctx, &out, &in);
    produced = out.pos;
    if (ZSTD_isError(r)) {
      return Corrupt(fmt::format("zstd: {}", ZSTD_getErrorName(r)));
    }
    if (r == 0) break;  // frame complete
    if (in.pos == in.size && out.pos < out.size) return Corrupt("truncated zstd frame");
  }
  if (in.pos != in.size) return Corrupt("trailing bytes after zstd frame");
  if (produced > kMaxSpanBlockBodyBytes) return Corrupt("body over the size limit");
  plain.resize(produced);

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

}  // namespace teletrace::storage
