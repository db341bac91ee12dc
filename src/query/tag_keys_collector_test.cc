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

std::vector<std::string> Attributes(TagKeysCollector c) {
  std::vector<std::string> out;
  for (const std::string& t : Render(std::move(c).Finish())) {
    if (t.find(".attributes.") != std::string::npos) out.push_back(t);
  }
  return out;
}

TEST(TagKeysCollectorTest, RepeatedListsAndSharedResourcesAddTheirKeysOnce) {
  // Spans listing the keys of the span before them, sharing resources and scopes: a list of the
  // same keys with a value of another type, a key shadowed by a later one, and a resource changed
  // in place between spans (a new object each time, as decoded blocks give) still count.
  model::StoredSpan a = testing::MakeSpan(1, 1, 10);
  testing::SetResource(a, {{"service.name", "api"}});
  a.span.attributes = {{"k", "x"}, {"n", 1}};
  model::StoredSpan b = a;
  b.span.attributes = {{"k", "y"}, {"n", 2}};  // same keys and types
  model::StoredSpan c = a;
  c.span.attributes = {{"k", "z"}, {"n", 2.5}};  // n a double now
  model::StoredSpan d = a;
  d.span.attributes = {{"k", true}, {"k", 3}};  // k's last occurrence an int
  model::StoredSpan e = a;
  testing::SetResource(e, {{"service.name", 7}});

  TagKeysCollector one;
  for (const model::StoredSpan* s : {&a, &b, &c, &d, &a, &e}) one.Add(*s);
  const std::vector<std::string> want = {
      "resource.attributes.service.name:Str", "resource.attributes.service.name:Int",
      "span.attributes.k:Str", "span.attributes.k:Int", "span.attributes.n:Int",
      "span.attributes.n:Double"};
  EXPECT_EQ(Attributes(std::move(one)), want);

  // The same spans split into parts and merged.
  TagKeysCollector merged, first, second;
  for (const model::StoredSpan* s : {&a, &b, &c}) first.Add(*s);
  for (const model::StoredSpan* s : {&d, &a, &e}) second.Add(*s);
  merged.Merge(std::move(first));
  merged.Merge(std::move(second));
  EXPECT_EQ(Attributes(std::move(merged)), want);
}

}  // namespace
}  // namespace teletrace::query
