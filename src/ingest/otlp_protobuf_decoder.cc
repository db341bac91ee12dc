#include "ingest/otlp_protobuf_decoder.h"

#include <climits>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "common/ids.h"
#include "fmt/format.h"
#include "simdjson.h"

namespace teletrace::ingest {
namespace {

// The OTLP wire format read once, straight into the model: no generated message in between, so
// each string is copied once (from the request into the span) instead of twice.
//
// What it accepts and how it reads it is libprotobuf's (3.21) parse of ExportTraceServiceRequest
// followed by the old conversion, which the differential test and fuzzer hold it to: a field with
// an unexpected wire type is an unknown field, unknown fields are skipped (groups included,
// matched by number), the last occurrence of a scalar wins, a repeated singular message merges
// into the first, a oneof member replaces another, strings must be valid UTF-8 (proto3), varints
// take at most 10 bytes (tags 5) and messages nest at most 100 deep (protobuf's default limit,
// groups counted).

constexpr int kMaxDepth = 100;

enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

// One field of a message: its number and wire type and, by wire type, its value.
struct Field {
  uint32_t number = 0;
  uint32_t wire_type = 0;
  uint64_t integer = 0;    // varint, fixed64, fixed32
  std::string_view bytes;  // length-delimited
};

// Reads fields from a message's bytes. Every read returns false on malformed input.
class WireReader {
 public:
  explicit WireReader(std::string_view bytes)
      : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}

  bool Done() const { return p_ == end_; }

  // The next field of a message at `depth` (levels left). A group (no OTLP field is one) is read
  // to its end and returned without a value.
  bool Next(int depth, Field* field) {
    return Read(depth, field) && field->wire_type != kEndGroup;  // an end group outside a group
  }

 private:
  // The next field, or an end-group tag (returned as a field of that wire type).
  bool Read(int depth, Field* field) {
    uint32_t tag;
    if (!Tag(&tag) || tag == 0) return false;
    field->number = tag >> 3;
    field->wire_type = tag & 7;
    if (field->number == 0) return false;
    switch (field->wire_type) {
      case kVarint:
        return Varint<10>(&field->integer);
      case kFixed64:
        return Fixed(8, &field->integer);
      case kFixed32:
        return Fixed(4, &field->integer);
      case kLengthDelimited:
        return Bytes(&field->bytes);
      case kStartGroup:
        return SkipGroup(field->number, depth);
      case kEndGroup:
        return true;
      default:
        return false;  // wire types 6 and 7
    }
  }

  // A varint of at most kMaxBytes bytes; bits past the 64th are dropped, as protobuf drops them.
  template <int kMaxBytes>
  bool Varint(uint64_t* out) {
    uint64_t value = 0;
    for (int i = 0; i < kMaxBytes; ++i) {
      if (p_ == end_) return false;
      const uint8_t b = static_cast<uint8_t>(*p_++);
      value |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) {
        *out = value;
        return true;
      }
    }
    return false;
  }

  // At most 5 bytes; bits past the 32nd are dropped, as protobuf's ReadTag drops them.
  bool Tag(uint32_t* out) {
    uint64_t value;
    if (!Varint<5>(&value)) return false;
    *out = static_cast<uint32_t>(value);
    return true;
  }

  bool Fixed(size_t n, uint64_t* out) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    uint64_t value = 0;
    for (size_t i = 0; i < n; ++i) {
      value |= static_cast<uint64_t>(static_cast<uint8_t>(p_[i])) << (8 * i);
    }
    p_ += n;
    *out = value;
    return true;
  }

  // A length (protobuf's ReadSize: at most 5 bytes, below 2 GiB), then that many bytes.
  bool Bytes(std::string_view* out) {
    uint64_t size;
    if (!Varint<5>(&size) || size >= (uint64_t{1} << 31) ||
        size > static_cast<uint64_t>(end_ - p_)) {
      return false;
    }
    *out = std::string_view(p_, size);
    p_ += size;
    return true;
  }

  // Reads an unknown group's fields to the end-group tag of the same number.
  bool SkipGroup(uint32_t number, int depth) {
    if (--depth < 0) return false;
    Field field;
    do {
      if (!Read(depth, &field)) return false;
    } while (field.wire_type != kEndGroup);
    return field.number == number;
  }

  const char* p_;
  const char* end_;
};

bool IsMessage(const Field& f, uint32_t number) {
  return f.number == number && f.wire_type == kLengthDelimited;
}
bool IsVarint(const Field& f, uint32_t number) {
  return f.number == number && f.wire_type == kVarint;
}

// Whether `bytes` is valid UTF-8. Nearly every string in a span (keys, names, ids, URLs) is short
// and ASCII: eight bytes at a time with no high bit settle those without simdjson's per-call setup,
// which was ~4% of the server's ingest CPU; anything else goes to simdjson.
bool ValidUtf8(std::string_view bytes) {
  constexpr uint64_t kHighBits = 0x8080808080808080ULL;
  uint64_t high = 0;
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i, sizeof word);
    high |= word & kHighBits;
  }
  for (; i < bytes.size(); ++i) high |= static_cast<uint8_t>(bytes[i]) & 0x80u;
  return high == 0 || simdjson::validate_utf8(bytes.data(), bytes.size());
}

// A proto3 string field: the value when it is valid UTF-8.
bool ReadString(const Field& f, std::string* out) {
  if (!ValidUtf8(f.bytes)) return false;
  out->assign(f.bytes.data(), f.bytes.size());
  return true;
}

// Calls parse(field) for each field of `bytes`, a message at `depth` (levels left); false when
// the bytes are malformed or parse returns false.
template <typename Parse>
bool ParseFields(std::string_view bytes, int depth, const Parse& parse) {
  WireReader reader(bytes);
  Field field;
  while (!reader.Done()) {
    if (!reader.Next(depth, &field)) return false;
    if (field.wire_type == kStartGroup) continue;  // an unknown group, already skipped
    if (!parse(field)) return false;
  }
  return true;
}

// How many length-delimited fields of each of `numbers` the message `bytes` holds at its top level:
// the decoder reserves its vectors with them, so a decoded batch takes no more memory than the
// old conversion's exactly sized ones (it sits in the ingest queue). Malformed input just ends the
// count; the parse itself reports it.
template <size_t N>
std::array<size_t, N> CountMessages(std::string_view bytes,
                                    const std::array<uint32_t, N>& numbers) {
  std::array<size_t, N> counts{};
  WireReader reader(bytes);
  Field f;
  while (!reader.Done() && reader.Next(kMaxDepth, &f)) {
    if (f.wire_type != kLengthDelimited) continue;
    for (size_t i = 0; i < N; ++i) counts[i] += f.number == numbers[i] ? 1 : 0;
  }
  return counts;
}

template <typename Vector>
void Reserve(Vector* v, size_t more) {
  v->reserve(v->size() + more);
}

bool ParseAnyValue(std::string_view bytes, int depth, model::AnyValue* out);

bool ParseKeyValue(std::string_view bytes, int depth, model::KeyValue* out) {
  if (--depth < 0) return false;
  return ParseFields(bytes, depth, [&](const Field& f) {
    if (IsMessage(f, 1)) return ReadString(f, &out->key);
    if (IsMessage(f, 2)) return ParseAnyValue(f.bytes, depth, &out->value);
    return true;
  });
}

bool ParseAnyValue(std::string_view bytes, int depth, model::AnyValue* out) {
  if (--depth < 0) return false;
  return ParseFields(bytes, depth, [&](const Field& f) {
    switch (f.number) {
      case 1:
        if (f.wire_type != kLengthDelimited) return true;
        if (!ValidUtf8(f.bytes)) return false;
        out->value = std::string(f.bytes);
        return true;
      case 2:
        if (f.wire_type == kVarint) out->value = f.integer != 0;
        return true;
      case 3:
        if (f.wire_type == kVarint) out->value = static_cast<int64_t>(f.integer);
        return true;
      case 4:
        if (f.wire_type == kFixed64) {
          double d;
          std::memcpy(&d, &f.integer, sizeof d);
          out->value = d;
        }
        return true;
      case 5: {  // array_value: a second occurrence merges into the first
        if (f.wire_type != kLengthDelimited) return true;
        if (!std::holds_alternative<model::ArrayValue>(out->value))
          out->value = model::ArrayValue();
        auto& array = std::get<model::ArrayValue>(out->value);
        Reserve(&array, CountMessages<1>(f.bytes, {1})[0]);
        const int inner = depth - 1;
        if (inner < 0) return false;
        return ParseFields(f.bytes, inner, [&](const Field& e) {
          if (IsMessage(e, 1)) return ParseAnyValue(e.bytes, inner, &array.emplace_back());
          return true;
        });
      }
      case 6: {  // kvlist_value
        if (f.wire_type != kLengthDelimited) return true;
        if (!std::holds_alternative<model::KeyValueList>(out->value)) {
          out->value = model::KeyValueList();
        }
        auto& list = std::get<model::KeyValueList>(out->value);
        Reserve(&list, CountMessages<1>(f.bytes, {1})[0]);
        const int inner = depth - 1;
        if (inner < 0) return false;
        return ParseFields(f.bytes, inner, [&](const Field& e) {
          if (IsMessage(e, 1)) return ParseKeyValue(e.bytes, inner, &list.emplace_back());
          return true;
        });
      }
      case 7:
        if (f.wire_type == kLengthDelimited) out->value = model::Bytes{std::string(f.bytes)};
        return true;
      default:
        return true;
    }
  });
}

// A repeated KeyValue field's next element.
bool ParseAttribute(const Field& f, int depth, model::KeyValueList* attributes) {
  return ParseKeyValue(f.bytes, depth, &attributes->emplace_back());
}

// Copies an id; false with `*why` when `bytes` is neither empty (read as zeros) nor N bytes.
template <size_t N, typename What>
void ReadId(std::string_view bytes, const What& what, std::array<uint8_t, N>* id,
            std::string* why) {
  if (bytes.empty()) return;
  if (bytes.size() == N) {
    std::memcpy(id->data(), bytes.data(), N);
    return;
  }
  if (why->empty()) *why = fmt::format("{} must be {} bytes, got {}", what(), N, bytes.size());
}

model::SpanKind KindFromProto(int kind) {
  // Unknown values (proto3 enums are open) read as unspecified rather than failing the span.
  return kind >= 0 && kind <= 5 ? static_cast<model::SpanKind>(kind)
                                : model::SpanKind::kUnspecified;
}

model::StatusCode StatusCodeFromProto(int code) {
  return code >= 0 && code <= 2 ? static_cast<model::StatusCode>(code) : model::StatusCode::kUnset;
}

// An enum field: protobuf keeps the low 32 bits of the varint as the (open) enum's int.
int EnumValue(uint64_t varint) { return static_cast<int>(static_cast<uint32_t>(varint)); }

bool ParseEvent(std::string_view bytes, int depth, model::Event* out) {
  if (--depth < 0) return false;
  Reserve(&out->attributes, CountMessages<1>(bytes, {3})[0]);
  return ParseFields(bytes, depth, [&](const Field& f) {
    if (f.number == 1 && f.wire_type == kFixed64) out->time_unix_nano = f.integer;
    if (IsMessage(f, 2)) return ReadString(f, &out->name);
    if (IsMessage(f, 3)) return ParseAttribute(f, depth, &out->attributes);
    if (IsVarint(f, 4)) out->dropped_attributes_count = static_cast<uint32_t>(f.integer);
    return true;
  });
}

struct RawIds {
  std::string_view trace_id, span_id;
};

bool ParseLink(std::string_view bytes, int depth, model::Link* out, RawIds* ids) {
  if (--depth < 0) return false;
  Reserve(&out->attributes, CountMessages<1>(bytes, {4})[0]);
  return ParseFields(bytes, depth, [&](const Field& f) {
    if (IsMessage(f, 1)) ids->trace_id = f.bytes;
    if (IsMessage(f, 2)) ids->span_id = f.bytes;
    if (IsMessage(f, 3)) return ReadString(f, &out->trace_state);
    if (IsMessage(f, 4)) return ParseAttribute(f, depth, &out->attributes);
    if (IsVarint(f, 5)) out->dropped_attributes_count = static_cast<uint32_t>(f.integer);
    if (f.number == 6 && f.wire_type == kFixed32) out->flags = static_cast<uint32_t>(f.integer);
    return true;
  });
}

// The span at `bytes`; `*why` gets the first problem with its ids.
bool ParseSpan(std::string_view bytes, int depth, model::Span* out, std::string* why) {
  if (--depth < 0) return false;
  RawIds ids;
  std::string_view parent;
  int kind = 0;
  int code = 0;
  std::vector<RawIds> link_ids;
  const auto [attributes, events, links] = CountMessages<3>(bytes, {9, 11, 13});
  Reserve(&out->attributes, attributes);
  Reserve(&out->events, events);
  Reserve(&out->links, links);
  link_ids.reserve(links);
  const bool ok = ParseFields(bytes, depth, [&](const Field& f) {
    switch (f.number) {
      case 1:
        if (f.wire_type == kLengthDelimited) ids.trace_id = f.bytes;
        return true;
      case 2:
        if (f.wire_type == kLengthDelimited) ids.span_id = f.bytes;
        return true;
      case 3:
        return f.wire_type != kLengthDelimited || ReadString(f, &out->trace_state);
      case 4:
        if (f.wire_type == kLengthDelimited) parent = f.bytes;
        return true;
      case 5:
        return f.wire_type != kLengthDelimited || ReadString(f, &out->name);
      case 6:
        if (f.wire_type == kVarint) kind = EnumValue(f.integer);
        return true;
      case 7:
        if (f.wire_type == kFixed64) out->start_time_unix_nano = f.integer;
        return true;
      case 8:
        if (f.wire_type == kFixed64) out->end_time_unix_nano = f.integer;
        return true;
      case 9:
        return f.wire_type != kLengthDelimited || ParseAttribute(f, depth, &out->attributes);
      case 10:
        if (f.wire_type == kVarint)
          out->dropped_attributes_count = static_cast<uint32_t>(f.integer);
        return true;
      case 11:
        return f.wire_type != kLengthDelimited ||
               ParseEvent(f.bytes, depth, &out->events.emplace_back());
      case 12:
        if (f.wire_type == kVarint) out->dropped_events_count = static_cast<uint32_t>(f.integer);
        return true;
      case 13:
        return f.wire_type != kLengthDelimited ||
               ParseLink(f.bytes, depth, &out->links.emplace_back(), &link_ids.emplace_back());
      case 14:
        if (f.wire_type == kVarint) out->dropped_links_count = static_cast<uint32_t>(f.integer);
        return true;
      case 15: {  // status: a second occurrence merges into the first
        if (f.wire_type != kLengthDelimited) return true;
        const int inner = depth - 1;
        if (inner < 0) return false;
        return ParseFields(f.bytes, inner, [&](const Field& s) {
          if (IsMessage(s, 2)) return ReadString(s, &out->status.message);
          if (IsVarint(s, 3)) code = EnumValue(s.integer);
          return true;
        });
      }
      case 16:
        if (f.wire_type == kFixed32) out->flags = static_cast<uint32_t>(f.integer);
        return true;
      default:
        return true;
    }
  });
  if (!ok) return false;
  ReadId(
      ids.trace_id, [] { return "trace id"; }, &out->trace_id, why);
  ReadId(
      ids.span_id, [] { return "span id"; }, &out->span_id, why);
  ReadId(
      parent, [] { return "parent span id"; }, &out->parent_span_id, why);
  for (size_t i = 0; i < link_ids.size(); ++i) {
    ReadId(
        link_ids[i].trace_id, [i] { return fmt::format("link {} trace id", i); },
        &out->links[i].trace_id, why);
    ReadId(
        link_ids[i].span_id, [i] { return fmt::format("link {} span id", i); },
        &out->links[i].span_id, why);
  }
  out->kind = KindFromProto(kind);
  out->status.code = StatusCodeFromProto(code);
  return true;
}

bool ParseScopeSpans(std::string_view bytes, int depth, size_t r, size_t s, model::ScopeSpans* out,
                     SpanProblems* problems) {
  if (--depth < 0) return false;
  Reserve(&out->spans, CountMessages<1>(bytes, {2})[0]);
  return ParseFields(bytes, depth, [&](const Field& f) {
    if (IsMessage(f, 1)) {  // scope: a second occurrence merges into the first
      const int inner = depth - 1;
      if (inner < 0) return false;
      model::Scope& scope = out->scope;
      Reserve(&scope.attributes, CountMessages<1>(f.bytes, {3})[0]);
      return ParseFields(f.bytes, inner, [&](const Field& g) {
        if (IsMessage(g, 1)) return ReadString(g, &scope.name);
        if (IsMessage(g, 2)) return ReadString(g, &scope.version);
        if (IsMessage(g, 3)) return ParseAttribute(g, inner, &scope.attributes);
        if (IsVarint(g, 4)) scope.dropped_attributes_count = static_cast<uint32_t>(g.integer);
        return true;
      });
    }
    if (IsMessage(f, 2)) {
      const size_t i = out->spans.size();
      std::string why;
      model::Span& span = out->spans.emplace_back();
      if (!ParseSpan(f.bytes, depth, &span, &why)) return false;
      if (!why.empty()) {
        span.trace_id = TraceId{};
        problems->push_back(SpanProblem{r, s, i, std::move(why)});
      }
      return true;
    }
    if (IsMessage(f, 3)) return ReadString(f, &out->scope.schema_url);
    return true;
  });
}

bool ParseResourceSpans(std::string_view bytes, int depth, size_t r, model::ResourceSpans* out,
                        SpanProblems* problems) {
  if (--depth < 0) return false;
  Reserve(&out->scope_spans, CountMessages<1>(bytes, {2})[0]);
  return ParseFields(bytes, depth, [&](const Field& f) {
    if (IsMessage(f, 1)) {  // resource: a second occurrence merges into the first
      const int inner = depth - 1;
      if (inner < 0) return false;
      model::Resource& resource = out->resource;
      Reserve(&resource.attributes, CountMessages<1>(f.bytes, {1})[0]);
      return ParseFields(f.bytes, inner, [&](const Field& g) {
        if (IsMessage(g, 1)) return ParseAttribute(g, inner, &resource.attributes);
        if (IsVarint(g, 2)) resource.dropped_attributes_count = static_cast<uint32_t>(g.integer);
        return true;
      });
    }
    if (IsMessage(f, 2)) {
      const size_t s = out->scope_spans.size();
      return ParseScopeSpans(f.bytes, depth, r, s, &out->scope_spans.emplace_back(), problems);
    }
    if (IsMessage(f, 3)) return ReadString(f, &out->resource.schema_url);
    return true;
  });
}

}  // namespace

absl::StatusOr<model::SpanBatch> DecodeOtlpProtobuf(std::string_view bytes,
                                                    SpanProblems* problems) {
  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError(fmt::format(
        "invalid OTLP protobuf: {} bytes is more than protobuf can parse", bytes.size()));
  }
  model::SpanBatch batch;
  SpanProblems found;
  Reserve(&batch.resource_spans, CountMessages<1>(bytes, {1})[0]);
  const bool ok = ParseFields(bytes, kMaxDepth, [&](const Field& f) {
    if (!IsMessage(f, 1)) return true;
    const size_t r = batch.resource_spans.size();
    return ParseResourceSpans(f.bytes, kMaxDepth, r, &batch.resource_spans.emplace_back(), &found);
  });
  if (!ok) {
    return absl::InvalidArgumentError(fmt::format(
        "invalid OTLP protobuf: cannot parse {} bytes as an ExportTraceServiceRequest (truncated, "
        "corrupt, or nested too deeply)",
        bytes.size()));
  }
  if (problems != nullptr) {
    for (SpanProblem& p : found) problems->push_back(std::move(p));
  }
  return batch;
}

}  // namespace teletrace::ingest
