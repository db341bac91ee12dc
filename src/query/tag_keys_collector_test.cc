#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "query/engine.h"
#include "query/parse.h"
#include "query/test_spans.h"

namespace teletrace::query {
namespace {

using model::ArrayValue;
using model::KeyValueList;

std::vector<std::string> Render(const std::vector<TagInfo>& tags) {
  std::vector<std::string> out;
  for (const TagInfo& t : tags) out.push_back(t.name + ":" + std::string(ValueTypeName(t.type)));
  return out;
}

TEST(TagKeysCollectorTest, IntrinsicsOnlyWhenNoSpans) {
  std::vector<TagInfo> tags = TagKeysCollector().Finish();
  EXPECT_EQ(Render(tags), (std::vector<std::string>{
                              "externalFields.durationNano:Int",
                              "ingestionTimeUnixNano:Int",
                              "scope.name:Str",
                              "scope.version:Str",
                              "span.endTimeUnixNano:Int",
                              "span.events.name:Str",
                              "span.kind:Str",
                              "span.links.spanId:Str",
                              "span.links.traceId:Str",
                              "span.name:Str",
                              "span.parentSpanId:Str",
                              "span.spanId:Str",
                              "span.startTimeUnixNano:Int",
                              "span.status.code:Str",
                              "span.status.message:Str",
                              "span.traceId:Str",
                              "span.traceState:Str",
                          }));
}

TEST(TagKeysCollectorTest, EveryLevelWithTypes) {
  model::StoredSpan a = testing::MakeSpan(1, 1, 10);
  testing::SetResource(a, {{"service.name", "api"}});
  testing::SetScope(a, "lib", "1", {{"lib.x", true}});
  a.span.attributes = {{"http.method", "GET"},  {"code", 200},         {"ratio", 0.5},
                       {"list", ArrayValue{1}}, {"obj", KeyValueList{}}, {"raw", model::Bytes{"b"}},
                       {"empty", model::AnyValue()}};
  a.span.events = {model::Event{1, "e", {{"exception.type", "E"}}}};
  model::Link link;
  link.attributes = {{"x", 1}};
  a.span.links = {link};
  model::StoredSpan b = testing::MakeSpan(1, 2, 20);
  b.span.attributes = {{"code", "200"}, {"http.method", "POST"}};  // same names, a second type
  b.resource = nullptr;
  b.scope = nullptr;

  TagKeysCollector c;
  c.Add(a);
  c.Add(b);
  c.Add(a);
  std::vector<std::string> attributes;
  for (const std::string& t : Render(std::move(c).Finish())) {
    if (t.find(".attributes.") != std::string::npos) attributes.push_back(t);
  }
  EXPECT_EQ(attributes, (std::vector<std::string>{
                            "resource.attributes.service.name:Str",
                            "scope.attributes.lib.x:Bool",
                            "span.attributes.code:Str",
                            "span.attributes.code:Int",
                            "span.attributes.http.method:Str",
                            "span.attributes.list:Slice",
                            "span.attributes.obj:Map",
                            "span.attributes.ratio:Double",
                            "span.attributes.raw:Bytes",
                            "span.events.attributes.exception.type:Str",
                            "span.links.attributes.x:Int",
                        }));
}

}  // namespace
}  // namespace teletrace::query
