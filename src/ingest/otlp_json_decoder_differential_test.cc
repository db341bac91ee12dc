// DecodeOtlpJson (simdjson) against the decoder it replaced (nlohmann::json's DOM, kept as
// otlp_json_reference_decoder_for_test.h) on random OTLP/JSON text: every field in every accepted
// form (camelCase and snake_case names, integers as numbers, strings, exponents and beyond 64 bits,
// enum names and numbers, hex and base64 ids, nulls, repeated keys, unknown members), wrong types
// anywhere, and byte-level corruption. Both must give the same batch and span problems, or the
// same error message.
#include <cstdint>
#include <random>
#include <string>

#include "absl/strings/match.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "ingest/otlp_json_decoder.h"
#include "ingest/otlp_json_reference_decoder_for_test.h"

namespace teletrace::ingest {
namespace {

class RandomOtlpJson {
 public:
  explicit RandomOtlpJson(uint64_t seed) : rng_(seed) {}

  // Half the requests are clean: every value of the right type and in range (ids aside, which fail
  // per span), so that whole batches with span problems decode too.
  std::string Request() {
    clean_ = Chance(50);
    std::string out = "{";
    Member(&out, "resourceSpans", "resource_spans",
           [&] { return List(3, [&] { return ResourceSpans(); }); });
    MaybeUnknown(&out);
    return Close(out, '}');
  }

  // `text` with one random corruption: a byte dropped, replaced or inserted, or the end cut off.
  std::string Corrupt(std::string text) {
    if (text.empty()) return text;
    size_t at = Pick(text.size());
    static constexpr std::string_view kBytes = "{}[],:\"\\0123456789.-+eE tfn\x80\xff";
    switch (Pick(4)) {
      case 0:
        text.erase(at, 1);
        break;
      case 1:
        text[at] = kBytes[Pick(kBytes.size())];
        break;
      case 2:
        text.insert(at, 1, kBytes[Pick(kBytes.size())]);
        break;
      default:
        text.resize(at);
        break;
    }
    return text;
  }

 private:
  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool Chance(int percent) { return static_cast<int>(Pick(100)) < percent; }

  static std::string Close(std::string out, char close) {
    if (out.back() == ',') out.pop_back();
    out += close;
    return out;
  }

  // Appends `"name": value,` for a field the decoder knows: usually once under one of its
  // spellings, sometimes absent, null, repeated, or given under both.
  template <typename Value>
  void Member(std::string* out, std::string_view camel, std::string_view snake,
              const Value& value) {
    int roll = static_cast<int>(Pick(100));
    if (roll < 15) return;
    auto name = [&] { return snake.empty() || Chance(75) ? camel : snake; };
    if (roll < 20) {
      *out += fmt::format("\"{}\":null,", name());
    } else if (roll < 25) {  // repeated: the last occurrence counts
      *out += fmt::format("\"{}\":{},\"{}\":{},", name(), value(), name(),
                          Chance(20) ? "null" : value());
    } else if (roll < 30 && !snake.empty()) {  // both spellings: camelCase wins unless null
      *out +=
          fmt::format("\"{}\":{},\"{}\":{},", snake, value(), camel, Chance(30) ? "null" : value());
    } else {
      *out += fmt::format("\"{}\":{},", name(), !clean_ && Chance(2) ? WrongType() : value());
    }
  }

  void MaybeUnknown(std::string* out) {
    if (Chance(15)) *out += fmt::format("\"unknown{}\":{},", Pick(3), Anything(3));
  }

  template <typename Item>
  std::string List(size_t max, const Item& item) {
    std::string out = "[";
    for (size_t i = Pick(max + 1); i > 0; --i) out += item() + ",";
    return Close(out, ']');
  }

  std::string WrongType() {
    static constexpr std::string_view kValues[] = {"true", "1", "\"x\"", "[]", "{}", "1.5", "-1"};
    return std::string(kValues[Pick(std::size(kValues))]);
  }

  std::string Anything(int depth) {
    switch (depth <= 0 ? Pick(4) : Pick(6)) {
      case 0:
        return Number();
      case 1:
        return String();
      case 2:
        return Chance(50) ? "true" : "null";
      case 3:
        return "\"" + Hex(Pick(20)) + "\"";
      case 4:
        return List(3, [&] { return Anything(depth - 1); });
      default: {
        std::string out = "{";
        for (size_t i = Pick(3); i > 0; --i)
          out += fmt::format("\"k{}\":{},", Pick(4), Anything(depth - 1));
        return Close(out, '}');
      }
    }
  }

  std::string String() {
    static constexpr std::string_view kStrings[] = {"",
                                                    "checkout",
                                                    "GET /cart",
                                                    "caf\\u00e9 \\ud83d\\ude00",
                                                    "line\\nbreak",
                                                    "q\\\"uote",
                                                    "\xc3\xa9t\xc3\xa9",
                                                    "nul\\u0000byte",
                                                    "NaN",
                                                    "Infinity",
                                                    "-Infinity",
                                                    "12",
                                                    "-3",
                                                    "1e3",
                                                    "18446744073709551616",
                                                    "0x10",
                                                    " 7",
                                                    "SPAN_KIND_SERVER",
                                                    "STATUS_CODE_ERROR",
                                                    "AAEC"};
    return fmt::format("\"{}\"", kStrings[Pick(std::size(kStrings))]);
  }

  // A number in one of JSON's and OTLP/JSON's forms, valid or not for the field it lands in.
  std::string Number() {
    if (clean_ || Chance(75))
      return Chance(50) ? fmt::format("{}", Pick(9)) : fmt::format("\"{}\"", Pick(9));
    static constexpr std::string_view kNumbers[] = {"0",
                                                    "1",
                                                    "2",
                                                    "5",
                                                    "-1",
                                                    "-0",
                                                    "42",
                                                    "4294967295",
                                                    "4294967296",
                                                    "1700000000000000000",
                                                    "9223372036854775807",
                                                    "9223372036854775808",
                                                    "18446744073709551615",
                                                    "18446744073709551616",
                                                    "100000000000000000000",
                                                    "-9223372036854775809",
                                                    "1.0",
                                                    "1.5",
                                                    "-2.5",
                                                    "1e3",
                                                    "1E+2",
                                                    "2.5e-3",
                                                    "1e15",
                                                    "1000000000000000.5",
                                                    "5e9",
                                                    "-3.0",
                                                    "1e300",
                                                    "0.001",
                                                    "1.7e18",
                                                    "123456789012345678901234567890"};
    std::string_view n = kNumbers[Pick(std::size(kNumbers))];
    return Chance(30) ? fmt::format("\"{}\"", n) : std::string(n);
  }

  std::string Hex(size_t bytes) {
    std::string out;
    for (size_t i = 0; i < 2 * bytes; ++i)
      out += "0123456789abcdefABCDEF"[Pick(Chance(90) ? 16 : 22)];
    return out;
  }

  std::string Id(size_t bytes) {
    switch (Pick(30)) {
      case 0:
        return "\"\"";
      case 1:
        return "\"W47/95gDgQPSabYzgT/GDA==\"";  // base64
      case 2:
        return fmt::format("\"{}\"", Hex(bytes - 1));
      case 3:
        return fmt::format("\"{}zz\"", Hex(bytes - 1));
      default:
        return fmt::format("\"{}\"", Hex(bytes));
    }
  }

  std::string Enum(std::initializer_list<std::string_view> names) {
    switch (clean_ ? Pick(1) * 3 : Pick(4)) {
      case 0:
        return fmt::format("\"{}\"", *(names.begin() + Pick(names.size())));
      case 1:
        return "\"NOT_A_NAME\"";
      case 2:
        return Number();
      default:
        return fmt::format("{}", Pick(names.size() + 2));
    }
  }

  std::string AnyValue(int depth) {
    if (depth > 4 && Chance(50)) return "{}";
    std::string out = "{";
    switch (Pick(9)) {
      case 0:
        Member(&out, "stringValue", "string_value", [&] { return String(); });
        break;
      case 1:
        Member(&out, "boolValue", "bool_value", [&] { return Chance(50) ? "true" : "false"; });
        break;
      case 2:
        Member(&out, "intValue", "int_value", [&] { return Number(); });
        break;
      case 3:
        Member(&out, "doubleValue", "double_value",
               [&] { return clean_ || Chance(70) ? Number() : String(); });
        break;
      case 4:
        Member(&out, "bytesValue", "bytes_value", [&] {
          static constexpr std::string_view kBase64[] = {"\"3q2+7w==\"", "\"3q2-7w\"", "\"!!\"",
                                                         "\"\""};
          return std::string(kBase64[clean_ ? 0 : Pick(std::size(kBase64))]);
        });
        break;
      case 5:
        Member(&out, "arrayValue", "array_value", [&] {
          std::string a = "{";
          Member(&a, "values", "", [&] { return List(3, [&] { return AnyValue(depth + 1); }); });
          return Close(a, '}');
        });
        break;
      case 6:
        Member(&out, "kvlistValue", "kvlist_value", [&] {
          std::string a = "{";
          Member(&a, "values", "", [&] { return Attributes(depth + 1); });
          return Close(a, '}');
        });
        break;
      case 7:  // two kinds at once: the first in the decoder's order wins
        Member(&out, "intValue", "int_value", [&] { return Number(); });
        Member(&out, "stringValue", "string_value", [&] { return String(); });
        break;
      default:
        break;  // the empty value
    }
    MaybeUnknown(&out);
    return Close(out, '}');
  }

  std::string Attributes(int depth = 0) {
    return List(4, [&] {
      std::string kv = "{";
      Member(&kv, "key", "", [&] { return String(); });
      Member(&kv, "value", "", [&] { return AnyValue(depth); });
      MaybeUnknown(&kv);
      return Close(kv, '}');
    });
  }

  std::string Event() {
    std::string out = "{";
    Member(&out, "timeUnixNano", "time_unix_nano", [&] { return Number(); });
    Member(&out, "name", "", [&] { return String(); });
    Member(&out, "attributes", "", [&] { return Attributes(); });
    Member(&out, "droppedAttributesCount", "dropped_attributes_count", [&] { return Number(); });
    return Close(out, '}');
  }

  std::string Link() {
    std::string out = "{";
    Member(&out, "traceId", "trace_id", [&] { return Id(16); });
    Member(&out, "spanId", "span_id", [&] { return Id(8); });
    Member(&out, "traceState", "trace_state", [&] { return String(); });
    Member(&out, "attributes", "", [&] { return Attributes(); });
    Member(&out, "droppedAttributesCount", "dropped_attributes_count", [&] { return Number(); });
    Member(&out, "flags", "", [&] { return Number(); });
    return Close(out, '}');
  }

  std::string Span() {
    std::string out = "{";
    Member(&out, "traceId", "trace_id", [&] { return Id(16); });
    Member(&out, "spanId", "span_id", [&] { return Id(8); });
    Member(&out, "parentSpanId", "parent_span_id", [&] { return Id(8); });
    Member(&out, "traceState", "trace_state", [&] { return String(); });
    Member(&out, "flags", "", [&] { return Number(); });
    Member(&out, "name", "", [&] { return String(); });
    Member(&out, "kind", "", [&] {
      return Enum({"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_SERVER", "SPAN_KIND_CONSUMER"});
    });
    Member(&out, "startTimeUnixNano", "start_time_unix_nano", [&] { return Number(); });
    Member(&out, "endTimeUnixNano", "end_time_unix_nano", [&] { return Number(); });
    Member(&out, "attributes", "", [&] { return Attributes(); });
    Member(&out, "droppedAttributesCount", "dropped_attributes_count", [&] { return Number(); });
    Member(&out, "events", "", [&] { return List(2, [&] { return Event(); }); });
    Member(&out, "droppedEventsCount", "dropped_events_count", [&] { return Number(); });
    Member(&out, "links", "", [&] { return List(2, [&] { return Link(); }); });
    Member(&out, "droppedLinksCount", "dropped_links_count", [&] { return Number(); });
    Member(&out, "status", "", [&] {
      std::string s = "{";
      Member(&s, "message", "", [&] { return String(); });
      Member(&s, "code", "", [&] {
        return Enum({"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"});
      });
      return Close(s, '}');
    });
    MaybeUnknown(&out);
    return Close(out, '}');
  }

  std::string ResourceSpans() {
    std::string out = "{";
    Member(&out, "resource", "", [&] {
      std::string r = "{";
      Member(&r, "attributes", "", [&] { return Attributes(); });
      Member(&r, "droppedAttributesCount", "dropped_attributes_count", [&] { return Number(); });
      return Close(r, '}');
    });
    Member(&out, "schemaUrl", "schema_url", [&] { return String(); });
    Member(&out, "scopeSpans", "scope_spans", [&] {
      return List(2, [&] {
        std::string ss = "{";
        Member(&ss, "scope", "", [&] {
          std::string s = "{";
          Member(&s, "name", "", [&] { return String(); });
          Member(&s, "version", "", [&] { return String(); });
          Member(&s, "attributes", "", [&] { return Attributes(); });
          Member(&s, "droppedAttributesCount", "dropped_attributes_count",
                 [&] { return Number(); });
          return Close(s, '}');
        });
        Member(&ss, "schemaUrl", "schema_url", [&] { return String(); });
        Member(&ss, "spans", "", [&] { return List(4, [&] { return Span(); }); });
        return Close(ss, '}');
      });
    });
    return Close(out, '}');
  }

  std::mt19937_64 rng_;
  bool clean_ = false;
};

TEST(OtlpJsonDecoderDifferentialTest, AgreesWithTheReferenceDecoderOnRandomRequests) {
  size_t decoded = 0, with_problems = 0, refused_fields = 0, refused_syntax = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    RandomOtlpJson random(seed);
    for (int i = 0; i < 1500; ++i) {
      std::string json = random.Request();
      if (i % 3 == 2) json = random.Corrupt(std::move(json));
      std::string difference = reference_json::DifferenceFromReference(json);
      ASSERT_EQ(difference, "") << "seed " << seed << " request " << i << ": " << json;
      SpanProblems problems;
      absl::StatusOr<model::SpanBatch> batch = DecodeOtlpJson(json, &problems);
      if (batch.ok()) {
        ++decoded;
        if (!problems.empty()) ++with_problems;
      } else if (absl::StartsWith(batch.status().message(), "invalid OTLP JSON: ")) {
        ++refused_syntax;
      } else {
        ++refused_fields;
      }
    }
  }
  fmt::print("{} decoded ({} with span problems), {} refused for a field, {} for syntax\n", decoded,
             with_problems, refused_fields, refused_syntax);
  // Every outcome is exercised in numbers, so agreement is not agreement on one easy case.
  EXPECT_GE(decoded, 1000u);
  EXPECT_GE(with_problems, 200u);
  EXPECT_GE(refused_fields, 1000u);
  EXPECT_GE(refused_syntax, 1000u);
}

}  // namespace
}  // namespace teletrace::ingest
