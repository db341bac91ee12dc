#include <string>

#include "gtest/gtest.h"
#include "query/engine.h"
#include "query/parse.h"
#include "query/test_spans.h"

namespace teletrace::query {
namespace {

using testing::MakeSpan;
using testing::Sid;
using testing::Tid;

bool SameCursor(const Cursor& a, const Cursor& b) {
  return a.sort_value == b.sort_value && a.trace_id == b.trace_id && a.span_id == b.span_id;
}

TEST(CursorTest, RoundTripsUnderEverySort) {
  Cursor c{0xfedcba9876543210ULL, Tid(0xab, 0xcd), Sid(0x12, 0xff)};
  for (SortField field : {SortField::kStartTime, SortField::kDuration}) {
    for (bool ascending : {false, true}) {
      Sort sort{field, ascending};
      std::string token = EncodeCursor(sort, c);
      EXPECT_EQ(token.size(), 46u);
      EXPECT_EQ(token.find_first_not_of(
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                std::string::npos)
          << token;
      absl::StatusOr<Cursor> back = DecodeCursor(sort, token, "metadata.nextToken");
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_TRUE(SameCursor(*back, c));
    }
  }
}

TEST(CursorTest, ZeroAndMaxValuesRoundTrip) {
  Sort sort;
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, UINT64_MAX}) {
    Cursor c{v, Tid(0), Sid(0)};
    absl::StatusOr<Cursor> back = DecodeCursor(sort, EncodeCursor(sort, c), "t");
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->sort_value, v);
  }
}

void ExpectInvalidCursor(const Sort& sort, std::string_view token, const std::string& reason) {
  absl::StatusOr<Cursor> c = DecodeCursor(sort, token, "metadata.nextToken");
  ASSERT_FALSE(c.ok()) << token;
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(), "metadata.nextToken: invalid cursor: " + reason);
}

TEST(CursorTest, RejectsACursorMadeForAnotherSort) {
  Cursor c{42, Tid(1), Sid(2)};
  std::string token = EncodeCursor(Sort{SortField::kStartTime, false}, c);
  ExpectInvalidCursor(Sort{SortField::kStartTime, true}, token, "made for a different sort");
  ExpectInvalidCursor(Sort{SortField::kDuration, false}, token, "made for a different sort");
}

TEST(CursorTest, RejectsGarbage) {
  Sort sort;
  std::string good = EncodeCursor(sort, Cursor{7, Tid(1), Sid(1)});
  ExpectInvalidCursor(sort, "", "wrong length (0 bytes)");
  ExpectInvalidCursor(sort, "abc", "wrong length (2 bytes)");
  ExpectInvalidCursor(sort, good + "AAAA", "wrong length (37 bytes)");
  ExpectInvalidCursor(sort, good.substr(0, 44), "wrong length (33 bytes)");
  ExpectInvalidCursor(sort, "a", "not URL-safe base64");
  ExpectInvalidCursor(sort, good.substr(0, 45) + "=", "not URL-safe base64");
  ExpectInvalidCursor(sort, good.substr(0, 10) + "+" + good.substr(11), "not URL-safe base64");
  ExpectInvalidCursor(sort, good.substr(0, 10) + "/" + good.substr(11), "not URL-safe base64");
  ExpectInvalidCursor(sort, "not a cursor at all!", "not URL-safe base64");
  // The last character carries 4 unused bits; a token with them set is not canonical.
  std::string noncanonical = good;
  noncanonical.back() = noncanonical.back() == 'B' ? 'C' : 'B';
  ExpectInvalidCursor(sort, noncanonical, "not URL-safe base64");
}

TEST(CursorTest, RejectsOtherVersionsAndSortBits) {
  Sort sort;
  std::string good = EncodeCursor(sort, Cursor{7, Tid(1), Sid(1)});
  // Byte 0 is the version: its value is in the first two characters. "AA" decodes to version 0.
  ExpectInvalidCursor(sort, "AA" + good.substr(2), "unsupported version 0");
  ExpectInvalidCursor(sort, "Ag" + good.substr(2), "unsupported version 2");
  // Byte 1 (sort bits) with bit 3 set: characters 1-2 carry it; "AQg" = 01 08 ...
  ExpectInvalidCursor(sort, "AQg" + good.substr(3), "unknown sort");
}

// Pins the token format: the seed tokens under tests/fixtures/cursor were written independently
// of this code, so a change to the record layout shows up here.
TEST(CursorTest, DecodesPinnedTokens) {
  absl::StatusOr<Cursor> start_desc = DecodeCursor(
      Sort{SortField::kStartTime, false}, "AQAXl5z-PYXNFUv5LzV3s02mo86SnQ4ORzYA8GeqC6kCtw", "t");
  ASSERT_TRUE(start_desc.ok()) << start_desc.status();
  EXPECT_EQ(start_desc->sort_value, 1700000000123456789u);
  EXPECT_EQ(ToHex(start_desc->trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(ToHex(start_desc->span_id), "00f067aa0ba902b7");
  absl::StatusOr<Cursor> duration_asc = DecodeCursor(
      Sort{SortField::kDuration, true}, "AQMAAAAAAAPQkEv5LzV3s02mo86SnQ4ORzYA8GeqC6kCtw", "t");
  ASSERT_TRUE(duration_asc.ok()) << duration_asc.status();
  EXPECT_EQ(duration_asc->sort_value, 250000u);
  EXPECT_EQ(EncodeCursor(Sort{SortField::kStartTime, true}, Cursor{}),
            "AQIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
}

TEST(PositionTest, OrderIsSortValueThenTraceThenSpan) {
  Sort asc{SortField::kStartTime, true};
  Sort desc{SortField::kStartTime, false};
  Cursor a{10, Tid(1), Sid(9)};
  Cursor b{10, Tid(2), Sid(1)};
  Cursor c{10, Tid(2), Sid(2)};
  Cursor d{11, Tid(0), Sid(0)};
  EXPECT_LT(ComparePositions(asc, a, b), 0);
  EXPECT_LT(ComparePositions(asc, b, c), 0);
  EXPECT_LT(ComparePositions(asc, c, d), 0);
  EXPECT_EQ(ComparePositions(asc, c, c), 0);
  EXPECT_GT(ComparePositions(desc, a, b), 0);
  EXPECT_GT(ComparePositions(desc, b, c), 0);
  EXPECT_GT(ComparePositions(desc, c, d), 0);
  EXPECT_EQ(ComparePositions(desc, c, c), 0);
  // Trace ids compare as bytes, most significant first.
  EXPECT_LT(ComparePositions(asc, Cursor{5, Tid(0xff, 0), Sid(0)}, Cursor{5, Tid(0, 1), Sid(0)}),
            0);
}

TEST(PositionTest, PositionOfUsesTheSortField) {
  model::StoredSpan s = MakeSpan(3, 4, 1000, 250);
  Cursor by_start = PositionOf(Sort{SortField::kStartTime, true}, s);
  EXPECT_EQ(by_start.sort_value, 1000u);
  EXPECT_EQ(by_start.trace_id, Tid(3));
  EXPECT_EQ(by_start.span_id, Sid(4));
  EXPECT_EQ(PositionOf(Sort{SortField::kDuration, false}, s).sort_value, 250u);
  s.span.end_time_unix_nano = 10;  // end before start: duration clamps to 0
  EXPECT_EQ(PositionOf(Sort{SortField::kDuration, false}, s).sort_value, 0u);
}

}  // namespace
}  // namespace teletrace::query
