#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "query/engine.h"
#include "query/test_spans.h"

namespace teletrace::query {
namespace {

using testing::MakeSpan;
using testing::Sid;
using testing::Tid;

std::vector<int> SpanIds(const std::vector<model::StoredSpan>& spans) {
  std::vector<int> out;
  for (const auto& s : spans) out.push_back(s.span.span_id[7]);
  return out;
}

std::vector<model::StoredSpan> Trace() {
  // Span 4 and 2 share a start time; span 3 arrives twice.
  return {MakeSpan(1, 5, 500), MakeSpan(1, 4, 200), MakeSpan(1, 3, 300), MakeSpan(1, 2, 200),
          MakeSpan(1, 1, 100), MakeSpan(1, 3, 300), MakeSpan(1, 6, 600)};
}

TraceResult Collect(const TraceQuery& q, const std::vector<model::StoredSpan>& spans) {
  TraceCollector c(q);
  for (const auto& s : spans) c.Add(s);
  return std::move(c).Finish();
}

TEST(TraceCollectorTest, WholeTraceDedupedAndOrdered) {
  TraceQuery q;
  q.trace_id = Tid(1);
  TraceResult r = Collect(q, Trace());
  EXPECT_EQ(SpanIds(r.spans), (std::vector<int>{1, 2, 4, 3, 5, 6}));
  EXPECT_FALSE(r.next.has_value());
}

TEST(TraceCollectorTest, EmptyTrace) {
  TraceResult r = Collect(TraceQuery{}, {});
  EXPECT_TRUE(r.spans.empty());
  EXPECT_FALSE(r.next.has_value());
}

TEST(TraceCollectorTest, PagesWithoutSkipOrRepeat) {
  TraceQuery q;
  q.trace_id = Tid(1);
  q.page_size = 2;
  TraceResult p1 = Collect(q, Trace());
  EXPECT_EQ(SpanIds(p1.spans), (std::vector<int>{1, 2}));
  ASSERT_TRUE(p1.next.has_value());
  EXPECT_EQ(p1.next->sort_value, 200u);
  EXPECT_EQ(p1.next->span_id, Sid(2));
  EXPECT_EQ(p1.next->trace_id, Tid(1));
  q.after = p1.next;
  TraceResult p2 = Collect(q, Trace());
  EXPECT_EQ(SpanIds(p2.spans), (std::vector<int>{4, 3}));
  ASSERT_TRUE(p2.next.has_value());
  q.after = p2.next;
  TraceResult p3 = Collect(q, Trace());
  EXPECT_EQ(SpanIds(p3.spans), (std::vector<int>{5, 6}));
  EXPECT_FALSE(p3.next.has_value());
}

TEST(TraceCollectorTest, PageSizeOfOneWalksEverySpan) {
  TraceQuery q;
  q.page_size = 1;
  std::vector<int> all;
  for (int i = 0; i < 20; ++i) {
    TraceResult r = Collect(q, Trace());
    ASSERT_EQ(r.spans.size(), 1u);
    all.push_back(r.spans[0].span.span_id[7]);
    if (!r.next.has_value()) break;
    q.after = r.next;
  }
  EXPECT_EQ(all, (std::vector<int>{1, 2, 4, 3, 5, 6}));
}

}  // namespace
}  // namespace teletrace::query
