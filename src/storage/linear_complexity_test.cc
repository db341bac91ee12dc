// The per-block work of the write path is linear in its spans: one span with 100k distinct
// attributes, and 100k spans in one block, through the block codec (encode and decode), the block
// summary and the block value counts. The value counts once looked every attribute up by key,
// which made 100k attributes cost about two minutes; the 5-second bounds separate that from the
// linear code (well under a second here) by more than 20x.
#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "common/cpu_time_for_test.h"
#include "gtest/gtest.h"
#include "query/query.h"
#include "storage/block_summary.h"
#include "storage/block_value_counts.h"
#include "storage/span_block_codec.h"

namespace teletrace::storage {
namespace {

constexpr int kN = 100000;
constexpr auto kBound = std::chrono::seconds(5) * kBuildSlowdown;

// The CPU time `fn` took on this thread.
template <typename Fn>
std::chrono::nanoseconds Timed(Fn&& fn) {
  const std::chrono::nanoseconds start = ThreadCpuTime();
  fn();
  return ThreadCpuTime() - start;
}

// A span with `attributes` distinct keys "k<i>" = i (int) or "v<i>" (string) alternately, then
// "k7" again with "last", which must win.
model::StoredSpan WideSpan(int attributes) {
  model::StoredSpan stored;
  stored.resource = std::make_shared<model::Resource>();
  stored.scope = std::make_shared<model::Scope>();
  model::Span& span = stored.span;
  span.trace_id[15] = 1;
  span.span_id[7] = 1;
  span.name = "wide";
  span.start_time_unix_nano = 100;
  span.end_time_unix_nano = 200;
  span.attributes.reserve(attributes + 1);
  for (int i = 0; i < attributes; ++i) {
    if (i % 2 == 0) {
      span.attributes.push_back({fmt::format("k{}", i), int64_t{i}});
    } else {
      span.attributes.push_back({fmt::format("k{}", i), fmt::format("v{}", i)});
    }
  }
  span.attributes.push_back({"k7", "last"});
  return stored;
}

// `n` spans, each with its own resource (a distinct pointer), over n / 100 traces whose ids all
// share their first 8 bytes, as chosen ids can: tables keyed by a prefix of an id pile them up.
std::vector<model::StoredSpan> ManySpans(int n) {
  std::vector<model::StoredSpan> spans(n);
  auto scope = std::make_shared<model::Scope>();
  for (int s = 0; s < n; ++s) {
    model::StoredSpan& stored = spans[s];
    auto resource = std::make_shared<model::Resource>();
    resource->attributes.push_back({"service.name", fmt::format("svc{}", s % 10)});
    stored.resource = std::move(resource);
    stored.scope = scope;
    model::Span& span = stored.span;
    span.trace_id[0] = 0xAB;
    span.trace_id[14] = static_cast<uint8_t>((s / 100) >> 8);
    span.trace_id[15] = static_cast<uint8_t>(s / 100);
    span.span_id[5] = static_cast<uint8_t>(s >> 16);
    span.span_id[6] = static_cast<uint8_t>(s >> 8);
    span.span_id[7] = static_cast<uint8_t>(s);
    if (s % 100 != 0) span.parent_span_id = spans[s - s % 100].span.span_id;
    span.name = fmt::format("op{}", s % 50);
    span.start_time_unix_nano = 1000 + s;
    span.end_time_unix_nano = 2000 + s;
    span.attributes.push_back({"i", int64_t{s}});
  }
  return spans;
}

query::Key SpanKey(std::string name) {
  query::Key key;
  key.level = query::KeyLevel::kSpan;
  key.text = "span.attributes." + name;
  key.name = std::move(name);
  return key;
}

// Every (value, count) the counts carry for `key`; empty when the key is not counted.
std::vector<std::pair<query::TagValue, uint64_t>> CountsOf(const BlockValueCounts& counts,
                                                           const query::Key& key) {
  std::vector<std::pair<query::TagValue, uint64_t>> out;
  counts.ForEachCount(key, [&](const query::TagValue& v, uint64_t n) { out.emplace_back(v, n); });
  return out;
}

TEST(LinearComplexityTest, SpanWith100kAttributesRoundTripsThroughTheCodec) {
  const model::StoredSpan span = WideSpan(kN);
  absl::StatusOr<std::string> block;
  absl::StatusOr<std::vector<model::StoredSpan>> decoded;
  auto took = Timed([&] {
    block = EncodeSpanBlock(std::vector<const model::StoredSpan*>{&span});
    if (block.ok()) decoded = DecodeSpanBlock(*block);
  });
  ASSERT_TRUE(block.ok()) << block.status();
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->size(), 1u);
  EXPECT_EQ((*decoded)[0].span, span.span);
  EXPECT_EQ(*model::FindAttribute((*decoded)[0].span.attributes, "k7"), model::AnyValue("last"));
  EXPECT_LT(took, kBound);
}

TEST(LinearComplexityTest, SpanWith100kAttributesBuildsValueCountsAndSummary) {
  const model::StoredSpan span = WideSpan(kN);
  std::string counts_bytes, summary_bytes;
  auto took = Timed([&] {
    BlockValueCountsBuilder counts;
    counts.Add(span);
    counts_bytes = std::move(counts).Finish();
    BlockSummaryBuilder summary;
    summary.Add(span);
    summary_bytes = std::move(summary).Finish();
  });
  EXPECT_LT(took, kBound);
  absl::StatusOr<BlockValueCounts> counts = BlockValueCounts::Parse(counts_bytes);
  ASSERT_TRUE(counts.ok()) << counts.status();
  // 100k span attribute keys (k7 once) and span.name, span.kind, span.status.code, scope.name.
  EXPECT_EQ(counts->KeyCount(), static_cast<size_t>(kN) + 4);
  using Counts = std::vector<std::pair<query::TagValue, uint64_t>>;
  EXPECT_EQ(CountsOf(*counts, SpanKey("k7")), (Counts{{std::string("last"), 1}}));
  EXPECT_EQ(CountsOf(*counts, SpanKey("k8")), (Counts{{int64_t{8}, 1}}));
  EXPECT_EQ(CountsOf(*counts, SpanKey("k99999")), (Counts{{std::string("v99999"), 1}}));

  absl::StatusOr<BlockSummary> summary = BlockSummary::Parse(summary_bytes);
  ASSERT_TRUE(summary.ok()) << summary.status();
  query::Filter filter;
  filter.key = SpanKey("k7");
  filter.op = query::Operator::kEquals;
  filter.value = query::Scalar(std::string("last"));
  EXPECT_TRUE(summary->MayMatch(filter));
}

TEST(LinearComplexityTest, BlockOf100kSpansWithCollidingTraceIdPrefixesRoundTrips) {
  const std::vector<model::StoredSpan> spans = ManySpans(kN);
  absl::StatusOr<std::string> block;
  absl::StatusOr<std::vector<model::StoredSpan>> decoded;
  std::string counts_bytes;
  auto took = Timed([&] {
    block = EncodeSpanBlock(spans);
    if (block.ok()) decoded = DecodeSpanBlock(*block);
    BlockValueCountsBuilder counts;
    BlockSummaryBuilder summary;
    for (const model::StoredSpan& s : spans) {
      counts.Add(s);
      summary.Add(s);
    }
    counts_bytes = std::move(counts).Finish();
    std::move(summary).Finish();
  });
  ASSERT_TRUE(block.ok()) << block.status();
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->size(), spans.size());
  for (size_t i : {size_t{0}, size_t{1}, size_t{4321}, spans.size() - 1}) {
    EXPECT_EQ((*decoded)[i].span, spans[i].span) << i;
    EXPECT_EQ(*(*decoded)[i].resource, *spans[i].resource) << i;
  }
  absl::StatusOr<BlockValueCounts> counts = BlockValueCounts::Parse(counts_bytes);
  ASSERT_TRUE(counts.ok()) << counts.status();
  query::Key service;
  service.level = query::KeyLevel::kResource;
  service.name = "service.name";
  uint64_t total = 0;
  size_t values = 0;
  EXPECT_TRUE(counts->ForEachCount(service, [&](const query::TagValue&, uint64_t n) {
    total += n;
    ++values;
  }));
  EXPECT_EQ(values, 10u);
  EXPECT_EQ(total, static_cast<uint64_t>(kN));
  EXPECT_LT(took, kBound);
}

}  // namespace
}  // namespace teletrace::storage
