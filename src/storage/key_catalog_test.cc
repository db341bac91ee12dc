#include "storage/key_catalog.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "query/engine.h"
#include "query/test_spans.h"

namespace teletrace::storage {
namespace {

using query::TagInfo;
using query::ValueType;

std::vector<model::StoredSpan> Spans() {
  model::StoredSpan a = query::testing::MakeSpan(1, 1, 10);
  query::testing::SetResource(a, {{"service.name", "api"}});
  query::testing::SetScope(a, "lib", "1", {{"lib.x", true}});
  a.span.attributes = {{"http.method", "GET"}, {"code", 200}, {"list", model::ArrayValue{1}}};
  a.span.events = {model::Event{1, "e", {{"exception.type", "E"}}}};
  model::Link link;
  link.attributes = {{"x", 1.5}};
  a.span.links = {link};
  model::StoredSpan b = query::testing::MakeSpan(1, 2, 20);
  b.span.attributes = {{"code", "200"}, {"code", true}};  // shadowed: only the bool counts
  return {a, b};
}

std::vector<const model::StoredSpan*> Pointers(const std::vector<model::StoredSpan>& spans) {
  std::vector<const model::StoredSpan*> out;
  for (const model::StoredSpan& s : spans) out.push_back(&s);
  return out;
}

TEST(KeyCatalogTest, HoldsTheAttributeKeysTagKeysReports) {
  const std::vector<model::StoredSpan> spans = Spans();
  absl::StatusOr<std::vector<TagInfo>> keys = ParseKeyCatalog(KeyCatalogOf(Pointers(spans)));
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(*keys, (std::vector<TagInfo>{
                       {"resource.attributes.service.name", ValueType::kStr},
                       {"scope.attributes.lib.x", ValueType::kBool},
                       {"span.attributes.code", ValueType::kInt},
                       {"span.attributes.code", ValueType::kBool},
                       {"span.attributes.http.method", ValueType::kStr},
                       {"span.attributes.list", ValueType::kSlice},
                       {"span.events.attributes.exception.type", ValueType::kStr},
                       {"span.links.attributes.x", ValueType::kDouble},
                   }));
  // Exactly the collector's answer without its intrinsics.
  query::TagKeysCollector collector;
  for (const model::StoredSpan& s : spans) collector.Add(s);
  std::vector<TagInfo> all = std::move(collector).Finish();
  std::erase_if(all, [](const TagInfo& k) {
    return k.name.find(".attributes.") == std::string::npos;
  });
  EXPECT_EQ(*keys, all);
}

TEST(KeyCatalogTest, EqualKeySetsEncodeAlike) {
  std::vector<model::StoredSpan> spans = Spans();
  const std::string forward = KeyCatalogOf(Pointers(spans));
  std::swap(spans[0], spans[1]);
  EXPECT_EQ(KeyCatalogOf(Pointers(spans)), forward);
  EXPECT_EQ(KeyCatalogOf({}), std::string("\x01\x00", 2));
  EXPECT_EQ(ParseKeyCatalog(KeyCatalogOf({}))->size(), 0u);
}

TEST(KeyCatalogTest, EveryTruncationIsDataLoss) {
  const std::vector<model::StoredSpan> spans = Spans();
  const std::string bytes = KeyCatalogOf(Pointers(spans));
  for (size_t n = 0; n < bytes.size(); ++n) {
    absl::StatusOr<std::vector<TagInfo>> keys = ParseKeyCatalog(bytes.substr(0, n));
    ASSERT_EQ(keys.status().code(), absl::StatusCode::kDataLoss) << n;
    EXPECT_NE(keys.status().message().find("key catalog: "), std::string::npos) << n;
  }
}

TEST(KeyCatalogTest, MalformedCatalogsNameTheProblem) {
  auto message = [](const std::string& bytes) {
    absl::StatusOr<std::vector<TagInfo>> keys = ParseKeyCatalog(bytes);
    EXPECT_EQ(keys.status().code(), absl::StatusCode::kDataLoss);
    return std::string(keys.status().message());
  };
  const std::string a = EncodeKeyCatalog({{"span.attributes.a", ValueType::kStr}});
  EXPECT_EQ(message(std::string("\x02\x00", 2)), "key catalog: unknown version 2");
  std::string typed = a;
  typed[2] = 7;
  EXPECT_EQ(message(typed), "key catalog: unknown value type 7 of key 0");
  EXPECT_EQ(message(EncodeKeyCatalog({{"span.name", ValueType::kStr}})),
            "key catalog: key 0 is not an attribute key: \"span.name\"");
  std::string reversed = EncodeKeyCatalog({{"span.attributes.b", ValueType::kInt},
                                           {"span.attributes.a", ValueType::kStr}});
  EXPECT_EQ(message(reversed),
            "key catalog: key 1 out of order or repeated: \"span.attributes.a\"");
  std::string twice = EncodeKeyCatalog({{"span.attributes.a", ValueType::kStr},
                                        {"span.attributes.a", ValueType::kStr}});
  EXPECT_EQ(message(twice), "key catalog: key 1 out of order or repeated: \"span.attributes.a\"");
  EXPECT_EQ(message(a + "x"), "key catalog: 1 trailing bytes");
  EXPECT_EQ(message(std::string("\x01\x7f", 2)), "key catalog: 127 keys in 0 bytes");
  // A count or length in a longer form than needed: a catalog has one encoding.
  EXPECT_EQ(message(std::string("\x01\x80\x00", 3)), "key catalog: malformed key count");
  std::string padded = a;
  padded[3] = static_cast<char>(padded[3] | 0x80);
  padded.insert(4, 1, '\0');
  EXPECT_EQ(message(padded), "key catalog: malformed name of key 0");
}

}  // namespace
}  // namespace teletrace::storage
