#include "api/teletrace_v1/span_json.h"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "common/cpu_time_for_test.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace teletrace::api::v1 {
namespace {

// AppendInternalSpan(GoldenSpans()), one span a line, as the serializer wrote it before it was
// optimized for large traces.
constexpr char kGolden[] =
    "{\"resource\":{\"attributes\":{\"service.name\":\"checkout\",\"host.cpus\":8},\"droppedA"
    "ttributesCount\":1},\"scope\":{\"name\":\"lib\",\"version\":\"1.2.3\",\"attributes\":{},"
    "\"droppedAttributesCount\":0},\"span\":{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\""
    ",\"spanId\":\"a1a2a3a4a5a6a7a8\",\"traceState\":\"\",\"parentSpanId\":\"\",\"flags\":257"
    ",\"name\":\"GET /cart \\\"quoted\\\"\\n\",\"kind\":\"Server\",\"startTimeUnixNano\":1700"
    "000000123456789,\"endTimeUnixNano\":1700000000223456790,\"attributes\":{\"str\":\"v\",\""
    "int\":-42,\"dbl\":2.0,\"bool\":true,\"arr\":[1,\"x\",false],\"map\":{\"k\":\"v\"},\"byte"
    "s\":\"AQL/\",\"dup\":\"second\"},\"droppedAttributesCount\":0,\"events\":[{\"timeUnixNan"
    "o\":1700000000123456790,\"name\":\"exception\",\"attributes\":{\"exception.type\":\"Boom"
    "\"},\"droppedAttributesCount\":2}],\"droppedEventsCount\":0,\"links\":[{\"traceId\":\"ff"
    "ffffffffffffffffffffffffffff01\",\"spanId\":\"0000000000000001\",\"traceState\":\"k=v\","
    "\"attributes\":{\"link.kind\":\"follows\"},\"droppedAttributesCount\":0,\"flags\":1}],\""
    "droppedLinksCount\":0,\"status\":{\"message\":\"it broke\",\"code\":\"Error\"}},\"extern"
    "alFields\":{\"durationNano\":100000001},\"ingestionTimeUnixNano\":1700000001000000000}\n"
    "{\"resource\":{\"attributes\":{},\"droppedAttributesCount\":0},\"scope\":{\"name\":\"\","
    "\"version\":\"\",\"attributes\":{},\"droppedAttributesCount\":0},\"span\":{\"traceId\":"
    "\"00000000000000000000000000000000\",\"spanId\":\"0000000000000000\",\"traceState\":\"\""
    ",\"parentSpanId\":\"\",\"flags\":0,\"name\":\"\",\"kind\":\"Unspecified\",\"startTimeUni"
    "xNano\":0,\"endTimeUnixNano\":0,\"attributes\":{},\"droppedAttributesCount\":0,\"events"
    "\":[],\"droppedEventsCount\":0,\"links\":[],\"droppedLinksCount\":0,\"status\":{\"messag"
    "e\":\"\",\"code\":\"Unset\"}},\"externalFields\":{\"durationNano\":0},\"ingestionTimeUni"
    "xNano\":0}\n"
    "{\"resource\":{\"attributes\":{\"service.name\":\"checkout\",\"host.cpus\":8},\"droppedA"
    "ttributesCount\":1},\"scope\":{\"name\":\"\",\"version\":\"v\\\\2\",\"attributes\":{\"sc"
    "ope.attr\":3},\"droppedAttributesCount\":5},\"span\":{\"traceId\":\"0102030405060708090a"
    "0b0c0d0e0f10\",\"spanId\":\"a1a2a3a4a5a6a7a8\",\"traceState\":\"vendor=a\\tb\",\"parentS"
    "panId\":\"00000000000000ff\",\"flags\":257,\"name\":\"ctl\\u0001\\u001f\x7f bs\\\\ \\u00"
    "08\\u000c\\r \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 bad\\ufffd \\ufffd\\ufffd \\ufffd\\uff"
    "fd\\ufffd \\ufffd\\ufffd end\",\"kind\":\"Consumer\",\"startTimeUnixNano\":1844674407370"
    "9551615,\"endTimeUnixNano\":0,\"attributes\":{\"d2\":-0.0,\"d3\":1e-07,\"d4\":123456789."
    "0,\"d5\":0.1,\"d6\":\"NaN\",\"d7\":\"Infinity\",\"d8\":\"-Infinity\",\"d9\":-2.5e-300,\""
    "i1\":-9223372036854775808,\"i2\":9223372036854775807,\"i3\":0,\"b0\":\"\",\"b1\":\"YQ=="
    "\",\"b2\":\"YWI=\",\"b4\":\"YWJjZA==\",\"empty\":\"\",\"none\":null,\"arr0\":[],\"nested"
    "\":[[1.5,false],{\"x\":\"z\"}],\"kv0\":{},\"k\\\"ey\\n\":\"v\\\"al\",\"d1\":\"shadows th"
    "e first d1\"},\"droppedAttributesCount\":4294967295,\"events\":[{\"timeUnixNano\":170000"
    "0000123456790,\"name\":\"exception\",\"attributes\":{\"exception.type\":\"Boom\"},\"drop"
    "pedAttributesCount\":2},{\"timeUnixNano\":5,\"name\":\"e2\",\"attributes\":{},\"droppedA"
    "ttributesCount\":0},{\"timeUnixNano\":6,\"name\":\"e3 \\\"q\\\"\",\"attributes\":{\"n\":"
    "1.0},\"droppedAttributesCount\":7}],\"droppedEventsCount\":3,\"links\":[{\"traceId\":\"f"
    "fffffffffffffffffffffffffffff01\",\"spanId\":\"0000000000000001\",\"traceState\":\"k=v\""
    ",\"attributes\":{\"link.kind\":\"follows\"},\"droppedAttributesCount\":0,\"flags\":1},{"
    "\"traceId\":\"00000000000000000000000000000000\",\"spanId\":\"0123456789abcdef\",\"trace"
    "State\":\"\",\"attributes\":{},\"droppedAttributesCount\":0,\"flags\":0}],\"droppedLinks"
    "Count\":9,\"status\":{\"message\":\"\",\"code\":\"Ok\"}},\"externalFields\":{\"durationN"
    "ano\":0},\"ingestionTimeUnixNano\":0}\n";

model::StoredSpan MakeSpan() {
  auto resource = std::make_shared<model::Resource>();
  resource->attributes = {{"service.name", "checkout"}, {"host.cpus", 8}};
  resource->dropped_attributes_count = 1;
  auto scope = std::make_shared<model::Scope>();
  scope->name = "lib";
  scope->version = "1.2.3";
  model::StoredSpan s;
  s.resource = resource;
  s.scope = scope;
  s.span.trace_id = *ParseTraceIdHex("0102030405060708090a0b0c0d0e0f10");
  s.span.span_id = *ParseSpanIdHex("a1a2a3a4a5a6a7a8");
  s.span.name = "GET /cart \"quoted\"\n";
  s.span.kind = model::SpanKind::kServer;
  s.span.start_time_unix_nano = 1700000000123456789;
  s.span.end_time_unix_nano = 1700000000223456790;
  s.span.flags = 257;
  s.span.attributes = {{"str", "v"},
                       {"int", int64_t{-42}},
                       {"dbl", 2.0},
                       {"bool", true},
                       {"arr", model::ArrayValue{1, "x", false}},
                       {"map", model::KeyValueList{{"k", "v"}}},
                       {"bytes", model::Bytes{"\x01\x02\xff"}},
                       {"dup", "first"},
                       {"dup", "second"}};
  s.span.events.push_back({1700000000123456790, "exception", {{"exception.type", "Boom"}}, 2});
  model::Link link;
  link.trace_id = *ParseTraceIdHex("ffffffffffffffffffffffffffffff01");
  link.span_id = *ParseSpanIdHex("0000000000000001");
  link.trace_state = "k=v";
  link.attributes = {{"link.kind", "follows"}};
  link.flags = 1;
  s.span.links.push_back(link);
  s.span.status = {"it broke", model::StatusCode::kError};
  s.ingestion_time_unix_nano = 1700000001000000000;
  return s;
}

void SetScopeForGolden(model::StoredSpan& s) {
  auto scope = std::make_shared<model::Scope>();
  scope->name = "";
  scope->version = "v\\2";
  scope->attributes = {{"scope.attr", int64_t{3}}};
  scope->dropped_attributes_count = 5;
  s.scope = scope;
}
// Spans that reach every branch of the serializer: every value type (including doubles that need
// ".0", exponents, non-finite values), every escape and invalid UTF-8 form, every base64 padding,
// shadowed keys, missing resource and scope, events and links.
std::vector<model::StoredSpan> GoldenSpans() {
  std::vector<model::StoredSpan> spans;
  spans.push_back(MakeSpan());
  model::StoredSpan bare;  // no resource, no scope, every field at its default
  spans.push_back(bare);
  model::StoredSpan s = MakeSpan();
  s.span.parent_span_id = *ParseSpanIdHex("00000000000000ff");
  s.span.kind = model::SpanKind::kConsumer;
  s.span.status = {"", model::StatusCode::kOk};
  s.span.trace_state = "vendor=a\tb";
  s.span.name = "ctl\x01\x1f\x7f bs\\ \b\f\r é€😀 bad\xc3 \xe2\x82 \xf0\x9f\x98 \xff\x80 end";
  s.span.start_time_unix_nano = UINT64_MAX;
  s.span.end_time_unix_nano = 0;
  s.span.attributes = {{"d1", 1e300},
                       {"d2", -0.0},
                       {"d3", 1e-7},
                       {"d4", 123456789.0},
                       {"d5", 0.1},
                       {"d6", std::nan("")},
                       {"d7", HUGE_VAL},
                       {"d8", -HUGE_VAL},
                       {"d9", -2.5e-300},
                       {"i1", INT64_MIN},
                       {"i2", INT64_MAX},
                       {"i3", int64_t{0}},
                       {"b0", model::Bytes{""}},
                       {"b1", model::Bytes{"a"}},
                       {"b2", model::Bytes{"ab"}},
                       {"b4", model::Bytes{"abcd"}},
                       {"empty", ""},
                       {"none", model::AnyValue()},
                       {"arr0", model::ArrayValue{}},
                       {"nested", model::ArrayValue{model::ArrayValue{1.5, false},
                                                    model::KeyValueList{{"x", "y"}, {"x", "z"}}}},
                       {"kv0", model::KeyValueList{}},
                       {"k\"ey\n", "v\"al"},
                       {"d1", "shadows the first d1"}};
  s.span.events.push_back({5, "e2", {}, 0});
  s.span.events.push_back({6, "e3 \"q\"", {{"n", 1.0}}, 7});
  model::Link link2;
  link2.span_id = *ParseSpanIdHex("0123456789abcdef");
  s.span.links.push_back(link2);
  s.span.dropped_attributes_count = 4294967295u;
  s.span.dropped_events_count = 3;
  s.span.dropped_links_count = 9;
  s.ingestion_time_unix_nano = 0;
  SetScopeForGolden(s);
  spans.push_back(s);
  return spans;
}

TEST(SpanJsonTest, InternalSpanHasEveryFieldExactly) {
  std::string out;
  AppendInternalSpan(&out, MakeSpan());
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["resource"]["attributes"], nlohmann::json::parse(R"({"service.name":"checkout","host.cpus":8})"));
  EXPECT_EQ(j["resource"]["droppedAttributesCount"], 1);
  EXPECT_EQ(j["scope"]["name"], "lib");
  EXPECT_EQ(j["scope"]["version"], "1.2.3");
  const auto& span = j["span"];
  EXPECT_EQ(span["traceId"], "0102030405060708090a0b0c0d0e0f10");
  EXPECT_EQ(span["spanId"], "a1a2a3a4a5a6a7a8");
  EXPECT_EQ(span["parentSpanId"], "");
  EXPECT_EQ(span["name"], "GET /cart \"quoted\"\n");
  EXPECT_EQ(span["kind"], "Server");
  EXPECT_EQ(span["flags"], 257);
  EXPECT_EQ(span["startTimeUnixNano"].get<uint64_t>(), 1700000000123456789u);
  EXPECT_EQ(span["endTimeUnixNano"].get<uint64_t>(), 1700000000223456790u);
  EXPECT_EQ(span["attributes"]["str"], "v");
  EXPECT_EQ(span["attributes"]["int"], -42);
  EXPECT_TRUE(span["attributes"]["dbl"].is_number_float());
  EXPECT_EQ(span["attributes"]["bool"], true);
  EXPECT_EQ(span["attributes"]["arr"], nlohmann::json::parse(R"([1,"x",false])"));
  EXPECT_EQ(span["attributes"]["map"], nlohmann::json::parse(R"({"k":"v"})"));
  EXPECT_EQ(span["attributes"]["bytes"], "AQL/");
  EXPECT_EQ(span["attributes"]["dup"], "second");
  EXPECT_EQ(span["attributes"].size(), 8u);
  ASSERT_EQ(span["events"].size(), 1u);
  EXPECT_EQ(span["events"][0]["timeUnixNano"].get<uint64_t>(), 1700000000123456790u);
  EXPECT_EQ(span["events"][0]["name"], "exception");
  EXPECT_EQ(span["events"][0]["attributes"]["exception.type"], "Boom");
  EXPECT_EQ(span["events"][0]["droppedAttributesCount"], 2);
  ASSERT_EQ(span["links"].size(), 1u);
  EXPECT_EQ(span["links"][0]["traceId"], "ffffffffffffffffffffffffffffff01");
  EXPECT_EQ(span["links"][0]["spanId"], "0000000000000001");
  EXPECT_EQ(span["links"][0]["traceState"], "k=v");
  EXPECT_EQ(span["links"][0]["attributes"]["link.kind"], "follows");
  EXPECT_EQ(span["links"][0]["flags"], 1);
  EXPECT_EQ(span["status"]["code"], "Error");
  EXPECT_EQ(span["status"]["message"], "it broke");
  EXPECT_EQ(j["externalFields"]["durationNano"].get<uint64_t>(), 100000001u);
  EXPECT_EQ(j["ingestionTimeUnixNano"].get<uint64_t>(), 1700000001000000000u);
}

TEST(SpanJsonTest, StringsAreEscapedAndInvalidUtf8Replaced) {
  std::string out;
  AppendJsonString(&out, std::string("a\"b\\c\x01\xff\xc3\xa9", 9));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\u0001\\ufffd\xc3\xa9\"");
}

TEST(SpanJsonTest, DoublesAlwaysReadBackAsDoubles) {
  std::string out;
  AppendAnyValue(&out, model::AnyValue(3.0));
  EXPECT_EQ(out, "3.0");
  out.clear();
  AppendAnyValue(&out, model::AnyValue(0.25));
  EXPECT_EQ(out, "0.25");
}

// The exact bytes of the trace API's spans: the UI and the integration tests parse them, so a
// change here must be a conscious one.
TEST(SpanJsonTest, InternalSpansMatchTheGoldenBytes) {
  std::string out;
  for (const model::StoredSpan& s : GoldenSpans()) {
    AppendInternalSpan(&out, s);
    out.push_back('\n');
  }
  EXPECT_EQ(out, kGolden);
}

// A key repeated anywhere in a list (not only next to its twin) is written once, with the value
// of its last occurrence, at the position of that occurrence; both for short lists and for lists
// long enough to take the hashed path.
TEST(SpanJsonTest, RepeatedKeysKeepTheirLastOccurrenceInShortAndLongLists) {
  std::string out;
  AppendAttributes(&out, {{"a", 1}, {"b", 2}, {"a", 3}, {"c", 4}, {"b", 5}});
  EXPECT_EQ(out, R"({"a":3,"c":4,"b":5})");

  model::KeyValueList long_list;
  for (int i = 0; i < 40; ++i) long_list.push_back({"k" + std::to_string(i % 20), i});
  out.clear();
  AppendAttributes(&out, long_list);
  nlohmann::json parsed = nlohmann::json::parse(out);
  ASSERT_EQ(parsed.size(), 20u);
  EXPECT_EQ(parsed["k0"], 20);
  EXPECT_EQ(parsed["k19"], 39);
  EXPECT_EQ(out.substr(0, 9), R"({"k0":20,)");
}

// The attack: a span with N distinct attributes made the writer compare every pair of keys; at
// 200k that is 2e10 comparisons (about 40 s), while linear code takes about 0.1 s. The 2-second
// bound separates the two by 20x.
TEST(SpanJsonTest, SpanWith200kAttributesIsWrittenInLinearTime) {
  constexpr int kN = 200000;
  model::StoredSpan span;
  span.resource = std::make_shared<model::Resource>();
  span.scope = std::make_shared<model::Scope>();
  for (int i = 0; i < kN; ++i) span.span.attributes.push_back({"k" + std::to_string(i), i});
  span.span.attributes.push_back({"k7", "last"});
  std::string out;
  const std::chrono::nanoseconds start = ThreadCpuTime();
  AppendInternalSpan(&out, span);
  const std::chrono::nanoseconds took = ThreadCpuTime() - start;
  EXPECT_LT(took, std::chrono::seconds(2) * kBuildSlowdown);
  nlohmann::json parsed = nlohmann::json::parse(out);
  const nlohmann::json& attributes = parsed["span"]["attributes"];
  EXPECT_EQ(attributes.size(), static_cast<size_t>(kN));
  EXPECT_EQ(attributes["k7"], "last");
  EXPECT_EQ(attributes["k199999"], 199999);
}

}  // namespace
}  // namespace teletrace::api::v1
