// DecodeOtlpProtobuf (the wire-format decoder) against libprotobuf's generated parser followed by
// the old conversion (otlp_protobuf_reference_decoder_for_test.h) on random wire bytes: every OTLP
// field, in any order, repeated (scalars: the last wins; messages: merged), with the wrong wire
// type, beside unknown fields of every wire type (groups nested in groups), ids of every length,
// invalid UTF-8 in strings, nesting around protobuf's 100-level limit, non-minimal varints, and
// byte-level corruption. Both must give the same batch and span problems, or both refuse.
#include <cstdint>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "ingest/otlp_protobuf_decoder.h"
#include "ingest/otlp_protobuf_reference_decoder_for_test.h"

namespace teletrace::ingest {
namespace {

class RandomOtlpWire {
 public:
  explicit RandomOtlpWire(uint64_t seed) : rng_(seed) {}

  std::string Request() {
    clean_ = Chance(50);
    std::string out;
    for (size_t i = Pick(4); i > 0; --i) Message(&out, 1, ResourceSpans(0));
    MaybeUnknown(&out, 0);
    return out;
  }

  std::string Corrupt(std::string bytes) {
    if (bytes.empty()) return bytes;
    size_t at = Pick(bytes.size());
    switch (Pick(4)) {
      case 0:
        bytes.erase(at, 1);
        break;
      case 1:
        bytes[at] = static_cast<char>(Pick(256));
        break;
      case 2:
        bytes.insert(at, 1, static_cast<char>(Pick(256)));
        break;
      default:
        bytes.resize(at);
        break;
    }
    return bytes;
  }

  // A request whose one attribute value nests `levels` array values deep.
  static std::string Nested(int levels) {
    std::string value;
    Tag(&value, 1, 2);
    Varint(&value, 4);
    value += "leaf";
    for (int i = 0; i < levels; ++i) {
      std::string array;
      Message(&array, 1, value);  // ArrayValue.values
      value.clear();
      Message(&value, 5, array);  // AnyValue.array_value
    }
    std::string kv;
    Message(&kv, 1, "deep");
    Message(&kv, 2, value);
    std::string span;
    Message(&span, 9, kv);
    std::string ss;
    Message(&ss, 2, span);
    std::string rs;
    Message(&rs, 2, ss);
    std::string request;
    Message(&request, 1, rs);
    return request;
  }

 private:
  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool Chance(int percent) { return static_cast<int>(Pick(100)) < percent; }

  static void Varint(std::string* out, uint64_t v) {
    while (v >= 0x80) {
      out->push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out->push_back(static_cast<char>(v));
  }
  static void Tag(std::string* out, uint32_t number, uint32_t wire_type) {
    Varint(out, uint64_t{number} << 3 | wire_type);
  }
  static void Message(std::string* out, uint32_t number, std::string_view bytes) {
    Tag(out, number, 2);
    Varint(out, bytes.size());
    out->append(bytes);
  }

  // A varint field's value, sometimes beyond 32 bits or written with padding bytes.
  void VarintField(std::string* out, uint32_t number) {
    uint64_t v = Chance(70) ? Pick(8) : (Chance(50) ? (uint64_t{1} << 32) + Pick(4) : ~uint64_t{0});
    if (!clean_ && Chance(5)) {  // non-minimal: protobuf reads it the same
      Tag(out, number, 0);
      out->push_back(static_cast<char>(0x80 | (v & 0x7f)));
      out->push_back(static_cast<char>(0x80 | ((v >> 7) & 0x7f)));
      Varint(out, v >> 14);
      return;
    }
    Tag(out, number, 0);
    Varint(out, v);
  }
  void FixedField(std::string* out, uint32_t number, int bytes) {
    Tag(out, number, bytes == 8 ? 1 : 5);
    uint64_t v = rng_();
    for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
  }
  void StringField(std::string* out, uint32_t number) {
    static constexpr std::string_view kStrings[] = {
        "", "checkout", "GET /cart", "caf\xc3\xa9", "\xf0\x9f\x98\x80", "nul\0byte"};
    std::string s(kStrings[Pick(std::size(kStrings))]);
    if (!clean_ && Chance(4)) s = Chance(50) ? "bad\xff" : "\xed\xa0\x80";  // invalid, a surrogate
    // The decoder reads ASCII eight bytes at a time: a non-ASCII byte anywhere in a longer string.
    if (Chance(10)) s = std::string(Pick(20), 'x') + s + std::string(Pick(20), 'y');
    Message(out, number, s);
  }
  void IdField(std::string* out, uint32_t number, size_t bytes) {
    size_t n = Chance(80) ? bytes : Pick(20);
    std::string id;
    for (size_t i = 0; i < n; ++i) id.push_back(static_cast<char>(Pick(256)));
    Message(out, number, id);
  }

  // Unknown fields of every wire type, groups with nested groups included.
  void MaybeUnknown(std::string* out, int depth) {
    if (!Chance(20)) return;
    uint32_t number = 17 + static_cast<uint32_t>(Pick(2000));
    switch (Pick(5)) {
      case 0:
        VarintField(out, number);
        break;
      case 1:
        FixedField(out, number, 8);
        break;
      case 2:
        FixedField(out, number, 4);
        break;
      case 3:
        Message(out, number, "\x0a\x02hi");
        break;
      default: {
        Tag(out, number, 3);
        if (depth < 3 && Chance(50)) MaybeUnknown(out, depth + 1);
        VarintField(out, 1);
        if (!clean_ && Chance(10)) {
          Tag(out, number + 1, 4);  // a mismatched end: protobuf refuses it
        } else {
          Tag(out, number, 4);
        }
      }
    }
  }

  // Emits `emit` once, twice (repeated: merged or last wins) or not at all; now and then with the
  // wrong wire type instead (an unknown field then).
  template <typename Emit>
  void Some(std::string* out, uint32_t number, const Emit& emit) {
    int roll = static_cast<int>(Pick(100));
    if (roll < 15) return;
    emit(out);
    if (roll < 25) emit(out);
    if (roll < 30) FixedField(out, number, 4);  // wrong wire type for every OTLP field but flags
    MaybeUnknown(out, 0);
  }

  std::string AnyValue(int depth) {
    std::string out;
    switch (Pick(depth > 3 ? 5 : 8)) {
      case 0:
        Some(&out, 1, [&](std::string* o) { StringField(o, 1); });
        break;
      case 1:
        Some(&out, 2, [&](std::string* o) { VarintField(o, 2); });
        break;
      case 2:
        Some(&out, 3, [&](std::string* o) { VarintField(o, 3); });
        break;
      case 3:
        Some(&out, 4, [&](std::string* o) { FixedField(o, 4, 8); });
        break;
      case 4:
        Some(&out, 7, [&](std::string* o) { Message(o, 7, "\x01\x02"); });
        break;
      case 5:
        Some(&out, 5, [&](std::string* o) {
          std::string array;
          for (size_t i = Pick(3); i > 0; --i) Message(&array, 1, AnyValue(depth + 1));
          Message(o, 5, array);
        });
        break;
      case 6:
        Some(&out, 6, [&](std::string* o) { Message(o, 6, Attributes(depth + 1, 1)); });
        break;
      default:  // two members of the oneof: the last one wins
        StringField(&out, 1);
        VarintField(&out, 3);
    }
    return out;
  }

  // KeyValues as repeated field `number` of the enclosing message.
  std::string Attributes(int depth, uint32_t number) {
    std::string out;
    for (size_t i = Pick(4); i > 0; --i) {
      std::string kv;
      Some(&kv, 1, [&](std::string* o) { StringField(o, 1); });
      Some(&kv, 2, [&](std::string* o) { Message(o, 2, AnyValue(depth)); });
      Message(&out, number, kv);
    }
    return out;
  }

  std::string Span() {
    std::string out;
    Some(&out, 1, [&](std::string* o) { IdField(o, 1, 16); });
    Some(&out, 2, [&](std::string* o) { IdField(o, 2, 8); });
    Some(&out, 3, [&](std::string* o) { StringField(o, 3); });
    Some(&out, 4, [&](std::string* o) { IdField(o, 4, 8); });
    Some(&out, 5, [&](std::string* o) { StringField(o, 5); });
    Some(&out, 6, [&](std::string* o) { VarintField(o, 6); });
    Some(&out, 7, [&](std::string* o) { FixedField(o, 7, 8); });
    Some(&out, 8, [&](std::string* o) { FixedField(o, 8, 8); });
    out += Attributes(0, 9);
    Some(&out, 10, [&](std::string* o) { VarintField(o, 10); });
    for (size_t i = Pick(3); i > 0; --i) {
      std::string e;
      Some(&e, 1, [&](std::string* o) { FixedField(o, 1, 8); });
      Some(&e, 2, [&](std::string* o) { StringField(o, 2); });
      e += Attributes(0, 3);
      Some(&e, 4, [&](std::string* o) { VarintField(o, 4); });
      Message(&out, 11, e);
    }
    Some(&out, 12, [&](std::string* o) { VarintField(o, 12); });
    for (size_t i = Pick(3); i > 0; --i) {
      std::string l;
      Some(&l, 1, [&](std::string* o) { IdField(o, 1, 16); });
      Some(&l, 2, [&](std::string* o) { IdField(o, 2, 8); });
      Some(&l, 3, [&](std::string* o) { StringField(o, 3); });
      l += Attributes(0, 4);
      Some(&l, 5, [&](std::string* o) { VarintField(o, 5); });
      Some(&l, 6, [&](std::string* o) { FixedField(o, 6, 4); });
      Message(&out, 13, l);
    }
    Some(&out, 14, [&](std::string* o) { VarintField(o, 14); });
    Some(&out, 15, [&](std::string* o) {
      std::string st;
      Some(&st, 2, [&](std::string* p) { StringField(p, 2); });
      Some(&st, 3, [&](std::string* p) { VarintField(p, 3); });
      Message(o, 15, st);
    });
    Some(&out, 16, [&](std::string* o) { FixedField(o, 16, 4); });
    return out;
  }

  std::string ResourceSpans(int) {
    std::string out;
    Some(&out, 1, [&](std::string* o) {
      std::string r = Attributes(0, 1);
      Some(&r, 2, [&](std::string* p) { VarintField(p, 2); });
      Message(o, 1, r);
    });
    for (size_t i = Pick(3); i > 0; --i) {
      std::string ss;
      Some(&ss, 1, [&](std::string* o) {
        std::string scope;
        Some(&scope, 1, [&](std::string* p) { StringField(p, 1); });
        Some(&scope, 2, [&](std::string* p) { StringField(p, 2); });
        scope += Attributes(0, 3);
        Some(&scope, 4, [&](std::string* p) { VarintField(p, 4); });
        Message(o, 1, scope);
      });
      for (size_t k = Pick(4); k > 0; --k) Message(&ss, 2, Span());
      Some(&ss, 3, [&](std::string* o) { StringField(o, 3); });
      Message(&out, 2, ss);
    }
    Some(&out, 3, [&](std::string* o) { StringField(o, 3); });
    return out;
  }

  std::mt19937_64 rng_;
  bool clean_ = false;
};

TEST(OtlpProtobufDecoderDifferentialTest, AgreesWithLibprotobufOnRandomRequests) {
  size_t decoded = 0, with_problems = 0, refused = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    RandomOtlpWire random(seed);
    for (int i = 0; i < 1500; ++i) {
      std::string bytes = random.Request();
      if (i % 3 == 2) bytes = random.Corrupt(std::move(bytes));
      std::string difference = reference_protobuf::DifferenceFromReference(bytes);
      ASSERT_EQ(difference, "") << "seed " << seed << " request " << i;
      SpanProblems problems;
      absl::StatusOr<model::SpanBatch> batch = DecodeOtlpProtobuf(bytes, &problems);
      if (!batch.ok()) {
        ++refused;
      } else {
        ++decoded;
        if (!problems.empty()) ++with_problems;
      }
    }
  }
  fmt::print("{} decoded ({} with span problems), {} refused\n", decoded, with_problems, refused);
  // Every outcome is exercised in numbers, so agreement is not agreement on one easy case.
  EXPECT_GE(decoded, 2000u);
  EXPECT_GE(with_problems, 500u);
  EXPECT_GE(refused, 1000u);
}

TEST(OtlpProtobufDecoderDifferentialTest, NestingLimitIsProtobufs) {
  // Around the limit: the request, resource spans, scope spans, span, key value and the value
  // itself take 6 of the 100 levels; each array value takes 2 more.
  size_t accepted = 0;
  for (int levels = 40; levels <= 55; ++levels) {
    std::string bytes = RandomOtlpWire::Nested(levels);
    ASSERT_EQ(reference_protobuf::DifferenceFromReference(bytes), "") << levels << " levels";
    if (DecodeOtlpProtobuf(bytes).ok()) ++accepted;
  }
  EXPECT_GT(accepted, 0u);
  EXPECT_LT(accepted, 16u);  // the limit falls inside the range, so both sides of it were checked
}

}  // namespace
}  // namespace teletrace::ingest
