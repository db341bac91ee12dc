#include "api/teletrace_v1/span_json.h"

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace teletrace::api::v1 {
namespace {

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

}  // namespace
}  // namespace teletrace::api::v1
