#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "query/engine.h"
#include "query/parse.h"
#include "query/test_spans.h"

namespace teletrace::query {
namespace {

using testing::MakeSpan;
using testing::Sid;
using testing::Tid;

// "trace:span" of each span, for readable expectations.
std::vector<std::string> Ids(const std::vector<model::StoredSpan>& spans) {
  std::vector<std::string> out;
  for (const auto& s : spans) {
    out.push_back(std::to_string(s.span.trace_id[15]) + ":" + std::to_string(s.span.span_id[7]));
  }
  return out;
}

SearchResult Collect(const SearchQuery& q, const std::vector<model::StoredSpan>& spans) {
  SearchCollector c(q);
  for (const auto& s : spans) c.Add(s);
  return std::move(c).Finish();
}

// Spans with many equal start times, in a shuffled order.
std::vector<model::StoredSpan> TiedSpans() {
  std::vector<model::StoredSpan> spans;
  for (uint8_t t = 1; t <= 4; ++t) {
    for (uint8_t s = 1; s <= 3; ++s) spans.push_back(MakeSpan(t, s, 100, t * 10 + s));
  }
  spans.push_back(MakeSpan(9, 1, 50));
  spans.push_back(MakeSpan(9, 2, 150));
  spans.push_back(MakeSpan(9, 3, 150));
  std::mt19937 rng(7);
  std::shuffle(spans.begin(), spans.end(), rng);
  return spans;
}

TEST(SearchCollectorTest, FirstPageAscendingAndDescending) {
  SearchQuery q;
  q.page_size = 4;
  q.sort = Sort{SortField::kStartTime, true};
  SearchResult asc = Collect(q, TiedSpans());
  EXPECT_EQ(Ids(asc.spans), (std::vector<std::string>{"9:1", "1:1", "1:2", "1:3"}));
  ASSERT_TRUE(asc.next.has_value());
  EXPECT_EQ(asc.next->sort_value, 100u);
  EXPECT_EQ(asc.next->trace_id, Tid(1));
  EXPECT_EQ(asc.next->span_id, Sid(3));

  q.sort.ascending = false;
  SearchResult desc = Collect(q, TiedSpans());
  EXPECT_EQ(Ids(desc.spans), (std::vector<std::string>{"9:3", "9:2", "4:3", "4:2"}));
  ASSERT_TRUE(desc.next.has_value());
  EXPECT_EQ(desc.next->span_id, Sid(2));
  EXPECT_EQ(desc.next->trace_id, Tid(4));
}

// Pages through every span via encoded cursors; no span may be skipped or repeated, even though
// most share one start time.
void PageThroughAll(Sort sort, size_t page_size) {
  std::vector<model::StoredSpan> spans = TiedSpans();
  std::vector<model::StoredSpan> expected = spans;
  std::sort(expected.begin(), expected.end(), [&](const auto& a, const auto& b) {
    return ComparePositions(sort, PositionOf(sort, a), PositionOf(sort, b)) < 0;
  });
  std::vector<model::StoredSpan> seen;
  std::optional<std::string> token;
  for (int page = 0; page < 100; ++page) {
    SearchQuery q;
    q.sort = sort;
    q.page_size = page_size;
    if (token.has_value()) {
      absl::StatusOr<Cursor> after = DecodeCursor(sort, *token, "metadata.nextToken");
      ASSERT_TRUE(after.ok()) << after.status();
      q.after = *after;
    }
    std::shuffle(spans.begin(), spans.end(), std::mt19937(page));
    SearchResult r = Collect(q, spans);
    EXPECT_LE(r.spans.size(), page_size);
    seen.insert(seen.end(), r.spans.begin(), r.spans.end());
    if (!r.next.has_value()) break;
    EXPECT_EQ(r.spans.size(), page_size);
    token = EncodeCursor(sort, *r.next);
  }
  EXPECT_EQ(Ids(seen), Ids(expected));
}

TEST(SearchCollectorTest, PagingNeverSkipsOrRepeatsAcrossTies) {
  for (SortField field : {SortField::kStartTime, SortField::kDuration}) {
    for (bool ascending : {true, false}) {
      for (size_t page_size : {1, 2, 3, 5, 15, 16, 100}) {
        SCOPED_TRACE(::testing::Message() << "field " << static_cast<int>(field) << " asc "
                                          << ascending << " page " << page_size);
        PageThroughAll(Sort{field, ascending}, page_size);
      }
    }
  }
}

TEST(SearchCollectorTest, NextIsSetOnlyWhenMoreFollow) {
  std::vector<model::StoredSpan> spans = {MakeSpan(1, 1, 10), MakeSpan(1, 2, 20),
                                          MakeSpan(1, 3, 30)};
  SearchQuery q;
  q.sort.ascending = true;
  q.page_size = 3;
  SearchResult exact = Collect(q, spans);
  EXPECT_EQ(exact.spans.size(), 3u);
  EXPECT_FALSE(exact.next.has_value());
  q.page_size = 2;
  SearchResult more = Collect(q, spans);
  EXPECT_EQ(Ids(more.spans), (std::vector<std::string>{"1:1", "1:2"}));
  ASSERT_TRUE(more.next.has_value());
  EXPECT_EQ(more.next->sort_value, 20u);
  q.after = *more.next;
  SearchResult last = Collect(q, spans);
  EXPECT_EQ(Ids(last.spans), (std::vector<std::string>{"1:3"}));
  EXPECT_FALSE(last.next.has_value());
  SearchResult none = Collect(SearchQuery{}, {});
  EXPECT_TRUE(none.spans.empty());
  EXPECT_FALSE(none.next.has_value());
}

TEST(SearchCollectorTest, SkipsExactDuplicates) {
  model::StoredSpan a = MakeSpan(1, 1, 10);
  model::StoredSpan b = MakeSpan(1, 2, 20);
  model::StoredSpan a_again = MakeSpan(1, 1, 10);
  SearchQuery q;
  q.page_size = 2;
  SearchResult r = Collect(q, {a, b, a_again, b, a});
  EXPECT_EQ(Ids(r.spans), (std::vector<std::string>{"1:2", "1:1"}));
  EXPECT_FALSE(r.next.has_value());  // the duplicates do not count as "more"
  q.page_size = 1;
  SearchResult one = Collect(q, {a, a, b, b});
  EXPECT_EQ(Ids(one.spans), (std::vector<std::string>{"1:2"}));
  EXPECT_TRUE(one.next.has_value());
}

TEST(SearchCollectorTest, SpansIngestedBetweenPagesBeforeTheCursorStayOut) {
  std::vector<model::StoredSpan> spans = {MakeSpan(1, 1, 10), MakeSpan(1, 2, 20),
                                          MakeSpan(1, 3, 30), MakeSpan(1, 4, 40)};
  SearchQuery q;
  q.sort.ascending = true;
  q.page_size = 2;
  SearchResult first = Collect(q, spans);
  ASSERT_TRUE(first.next.has_value());
  spans.push_back(MakeSpan(2, 9, 15));  // arrives late, sorts into the first page
  spans.push_back(MakeSpan(0, 9, 20));  // ties with the cursor, before it by trace id
  spans.push_back(MakeSpan(3, 9, 20));  // ties with the cursor, after it by trace id
  q.after = *first.next;
  SearchResult second = Collect(q, spans);
  EXPECT_EQ(Ids(second.spans), (std::vector<std::string>{"3:9", "1:3"}));
}

TEST(SearchCollectorTest, SortsByDuration) {
  SearchQuery q;
  q.sort = Sort{SortField::kDuration, false};
  q.page_size = 10;
  SearchResult r = Collect(q, {MakeSpan(1, 1, 10, 5), MakeSpan(1, 2, 5, 500),
                               MakeSpan(1, 3, 1, 50)});
  EXPECT_EQ(Ids(r.spans), (std::vector<std::string>{"1:2", "1:3", "1:1"}));
}

TEST(SearchCollectorTest, CanSkipWhenThePageIsFullAndTheRangeCannotWin) {
  SearchQuery q;
  q.sort.ascending = true;
  q.page_size = 2;
  SearchCollector c(q);
  EXPECT_FALSE(c.CanSkip(0, 1000));
  c.Add(MakeSpan(1, 1, 100));
  c.Add(MakeSpan(1, 2, 200));
  EXPECT_FALSE(c.CanSkip(500, 600));  // only 2 kept: a third would prove a next page
  c.Add(MakeSpan(1, 3, 300));
  EXPECT_TRUE(c.CanSkip(301, 600));
  EXPECT_FALSE(c.CanSkip(300, 600));  // a tie may still win on ids
  EXPECT_FALSE(c.CanSkip(0, 50));
  c.Add(MakeSpan(1, 4, 150));  // evicts 300
  EXPECT_TRUE(c.CanSkip(201, 250));
  EXPECT_FALSE(c.CanSkip(199, 250));

  q.sort.ascending = false;
  SearchCollector d(q);
  d.Add(MakeSpan(1, 1, 100));
  d.Add(MakeSpan(1, 2, 200));
  d.Add(MakeSpan(1, 3, 300));
  EXPECT_TRUE(d.CanSkip(0, 99));
  EXPECT_FALSE(d.CanSkip(0, 100));
  EXPECT_FALSE(d.CanSkip(400, 500));
}

TEST(SearchCollectorTest, CanSkipRangesBeforeTheCursor) {
  SearchQuery q;
  q.sort.ascending = true;
  q.page_size = 10;
  q.after = Cursor{500, Tid(1), Sid(1)};
  SearchCollector asc(q);
  EXPECT_TRUE(asc.CanSkip(0, 499));
  EXPECT_FALSE(asc.CanSkip(0, 500));
  EXPECT_FALSE(asc.CanSkip(600, 700));
  q.sort.ascending = false;
  SearchCollector desc(q);
  EXPECT_TRUE(desc.CanSkip(501, 900));
  EXPECT_FALSE(desc.CanSkip(500, 900));
  EXPECT_FALSE(desc.CanSkip(0, 100));
  // The cursor itself and everything before it never enters the page.
  desc.Add(MakeSpan(1, 1, 500));
  desc.Add(MakeSpan(0, 1, 500));  // before the cursor's trace id: descending, so after it
  desc.Add(MakeSpan(2, 1, 500));  // descending: before the cursor
  desc.Add(MakeSpan(2, 1, 600));
  SearchResult r = std::move(desc).Finish();
  EXPECT_EQ(Ids(r.spans), (std::vector<std::string>{"0:1"}));
}

}  // namespace
}  // namespace teletrace::query
