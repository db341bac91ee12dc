#include <string>
#include <utility>
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

// Walks every page of `spans` with `page_size`, returning the span ids in page order.
std::vector<int> WalkPages(TraceQuery q, const std::vector<model::StoredSpan>& spans,
                           size_t page_size) {
  q.page_size = page_size;
  std::vector<int> all;
  for (int page = 0; page < 1000; ++page) {
    TraceResult r = Collect(q, spans);
    std::vector<int> ids = SpanIds(r.spans);
    all.insert(all.end(), ids.begin(), ids.end());
    if (!r.next.has_value()) break;
    q.after = r.next;
  }
  return all;
}

model::StoredSpan Named(model::StoredSpan s, std::string name) {
  s.span.name = std::move(name);
  return s;
}

TEST(TraceCollectorTest, FirstCopyOfADuplicateWinsWhateverItsArrivalOrder) {
  // Span 3's first copy arrives after later-starting spans; its second copy (a retried export in
  // another block) arrives last. Span 5's second copy carries another start time: the first
  // copy's start time places it.
  std::vector<model::StoredSpan> spans = {
      MakeSpan(1, 6, 600),        Named(MakeSpan(1, 3, 300), "first"), MakeSpan(1, 5, 500),
      MakeSpan(1, 1, 100),        MakeSpan(1, 5, 50),                  MakeSpan(1, 2, 200),
      Named(MakeSpan(1, 3, 300), "second")};
  TraceQuery q;
  q.trace_id = Tid(1);
  TraceResult r = Collect(q, spans);
  EXPECT_EQ(SpanIds(r.spans), (std::vector<int>{1, 2, 3, 5, 6}));
  EXPECT_EQ(r.spans[2].span.name, "first");
  EXPECT_EQ(r.spans[3].span.start_time_unix_nano, 500u);
  EXPECT_FALSE(r.next.has_value());
}

TEST(TraceCollectorTest, DuplicateBeforeTheCursorStaysOutEvenIfALaterCopyIsAfterIt) {
  // Span 2's first copy (start 100) lies before the cursor; its later copy (start 900) would lie
  // after it, but the first copy wins, so the page does not show span 2 again.
  std::vector<model::StoredSpan> spans = {MakeSpan(1, 1, 50), MakeSpan(1, 2, 100),
                                          MakeSpan(1, 3, 300), MakeSpan(1, 2, 900)};
  TraceQuery q;
  q.trace_id = Tid(1);
  q.page_size = 5;
  q.after = Cursor{100, Tid(1), Sid(2)};
  TraceResult r = Collect(q, spans);
  EXPECT_EQ(SpanIds(r.spans), (std::vector<int>{3}));
  EXPECT_FALSE(r.next.has_value());
}

TEST(TraceCollectorTest, MovedSpansCollectLikeCopiedOnes) {
  TraceQuery q;
  q.trace_id = Tid(1);
  TraceCollector c(q);
  for (model::StoredSpan& s : Trace()) c.Add(std::move(s));
  TraceResult r = std::move(c).Finish();
  EXPECT_EQ(SpanIds(r.spans), (std::vector<int>{1, 2, 4, 3, 5, 6}));
  EXPECT_FALSE(r.next.has_value());
}

TEST(TraceCollectorTest, PagesSplitSpansThatShareAStartTimeBySpanId) {
  // Twelve spans all starting at 100, arriving in descending id order, each sent twice: pages of
  // 5 are cut between ties, and the cursor (start 100, span id) resumes exactly after the cut.
  std::vector<model::StoredSpan> spans;
  for (int pass = 0; pass < 2; ++pass) {
    for (int id = 12; id >= 1; --id) spans.push_back(MakeSpan(1, static_cast<uint8_t>(id), 100));
  }
  TraceQuery q;
  q.trace_id = Tid(1);
  q.page_size = 5;
  TraceResult p1 = Collect(q, spans);
  EXPECT_EQ(SpanIds(p1.spans), (std::vector<int>{1, 2, 3, 4, 5}));
  ASSERT_TRUE(p1.next.has_value());
  EXPECT_EQ(p1.next->sort_value, 100u);
  EXPECT_EQ(p1.next->span_id, Sid(5));
  q.after = p1.next;
  TraceResult p2 = Collect(q, spans);
  EXPECT_EQ(SpanIds(p2.spans), (std::vector<int>{6, 7, 8, 9, 10}));
  ASSERT_TRUE(p2.next.has_value());
  EXPECT_EQ(p2.next->span_id, Sid(10));
  q.after = p2.next;
  TraceResult p3 = Collect(q, spans);
  EXPECT_EQ(SpanIds(p3.spans), (std::vector<int>{11, 12}));
  EXPECT_FALSE(p3.next.has_value());
}

TEST(TraceCollectorTest, NoNextCursorWhenThePageEndsExactlyAtTheLastSpan) {
  TraceQuery q;
  q.trace_id = Tid(1);
  q.page_size = 3;
  q.after = Cursor{200, Tid(1), Sid(4)};  // leaves spans 3, 5 and 6
  TraceResult r = Collect(q, Trace());
  EXPECT_EQ(SpanIds(r.spans), (std::vector<int>{3, 5, 6}));
  EXPECT_FALSE(r.next.has_value());
}

TEST(TraceCollectorTest, EveryPageSizeWalksALargeTraceOnceInOrder) {
  // 200 spans, start times with many ties (id % 7), arriving in a scrambled order, the first 50
  // ids sent twice: enough for the collector to trim its candidates many times per page.
  std::vector<model::StoredSpan> spans;
  for (int i = 0; i < 200; ++i) {
    int id = (i * 73) % 200 + 1;
    spans.push_back(MakeSpan(1, static_cast<uint8_t>(id), 1000 + id % 7));
  }
  for (int id = 50; id >= 1; --id) {
    spans.push_back(MakeSpan(1, static_cast<uint8_t>(id), 1000 + id % 7));
  }
  std::vector<int> expected;
  for (int start = 0; start < 7; ++start) {
    for (int id = 1; id <= 200; ++id) {
      if (id % 7 == start) expected.push_back(id);
    }
  }
  TraceQuery q;
  q.trace_id = Tid(1);
  EXPECT_EQ(WalkPages(q, spans, 0), expected);
  for (size_t page_size : {1, 2, 3, 7, 64, 199, 200, 201}) {
    EXPECT_EQ(WalkPages(q, spans, page_size), expected) << "page size " << page_size;
  }
}

}  // namespace
}  // namespace teletrace::query
