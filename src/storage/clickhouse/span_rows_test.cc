#include "storage/clickhouse/span_rows.h"

#include <zstd.h>

#include <memory>
#include <optional>
#include <string>

#include "common/golden_test_util.h"
#include "gtest/gtest.h"
#include "storage/clickhouse/row_binary.h"

namespace teletrace::storage::clickhouse {
namespace {

model::StoredSpan SpanWithAttribute(std::string value) {
  model::StoredSpan s;
  s.resource = std::make_shared<model::Resource>(
      model::Resource{{{"service.name", model::AnyValue("svc")}}, 1, "schema"});
  s.scope = std::make_shared<model::Scope>(model::Scope{"lib", "1", {}, 0, ""});
  s.span.trace_id.fill(7);
  s.span.span_id.fill(8);
  s.span.name = "op";
  s.span.start_time_unix_nano = 1700000000123456789ULL;
  s.span.end_time_unix_nano = 1700000000223456789ULL;
  s.span.attributes = {{"big", model::AnyValue(std::move(value))},
                       {"arr", model::AnyValue(model::ArrayValue{model::AnyValue(int64_t{1})})}};
  s.ingestion_time_unix_nano = 42;
  return s;
}

TEST(SpanColumnTest, RoundTripsSmallAndMultiBlockSpans) {
  for (size_t size : {size_t{0}, size_t{10}, size_t{300000}}) {
    SCOPED_TRACE(size);
    model::StoredSpan span = SpanWithAttribute(std::string(size, 'x'));
    absl::StatusOr<std::string> column = EncodeSpanColumn(span);
    ASSERT_TRUE(column.ok()) << column.status();
    // Stored uncompressed: ClickHouse compresses the column.
    EXPECT_GT(column->size(), size);
    absl::StatusOr<model::StoredSpan> back = DecodeSpanColumn(*column);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->span, span.span);
    EXPECT_EQ(*back->resource, *span.resource);
    EXPECT_EQ(*back->scope, *span.scope);
    EXPECT_EQ(back->ingestion_time_unix_nano, 42u);
  }
}

// Rows written before span block format 2 hold a format 1 body without its zstd frame. The fixture
// block holds two spans, so a successful decode ends at the span count check.
TEST(SpanColumnTest, ReadsFormatOneValues) {
  const std::optional<std::string> fixture = golden::ReadFixture("blocks/small_v1.block");
  if (!fixture) GTEST_SKIP() << "TELETRACE_SOURCE_DIR not set";
  const std::string& block = *fixture;
  ASSERT_GT(block.size(), 1u);
  ASSERT_EQ(block[0], 1);
  unsigned long long size = ZSTD_getFrameContentSize(block.data() + 1, block.size() - 1);
  ASSERT_LT(size, 1u << 20);
  std::string value(1 + size, '\x01');
  ASSERT_EQ(ZSTD_decompress(value.data() + 1, size, block.data() + 1, block.size() - 1), size);
  absl::StatusOr<model::StoredSpan> span = DecodeSpanColumn(value);
  EXPECT_EQ(span.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(span.status().message(), "clickhouse: span column value holds 2 spans, expected 1");
}

TEST(SpanColumnTest, MalformedValuesAreDataLoss) {
  EXPECT_EQ(DecodeSpanColumn("").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeSpanColumn("\x01garbage").status().code(), absl::StatusCode::kDataLoss);
  absl::StatusOr<std::string> column = EncodeSpanColumn(SpanWithAttribute("v"));
  ASSERT_TRUE(column.ok());
  EXPECT_EQ(DecodeSpanColumn(column->substr(0, column->size() - 3)).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(SpanRowTest, RowHasEveryColumnAndTypedAttributes) {
  model::StoredSpan span = SpanWithAttribute("v");
  // A repeated key: the last occurrence wins, as model::FindAttribute reads it.
  span.span.attributes.push_back({"big", model::AnyValue(int64_t{5})});
  RowBinaryWriter out;
  ASSERT_TRUE(AppendSpanRow(span, out).ok());
  RowBinaryReader r(out.data());
  EXPECT_EQ(*r.UInt16(), 19675);  // 2023-11-14
  absl::StatusOr<std::string_view> rest = r.Fixed(4);  // start_hour
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(*r.String(), "svc");
  EXPECT_EQ(*r.String(), "op");
  EXPECT_EQ(*r.UInt64(), 1700000000123456789ULL);
  EXPECT_FALSE(r.AtEnd());
  EXPECT_NE(SpanInsertColumns().find("(start_date, start_hour, service_name, name, "),
            std::string::npos);
  EXPECT_NE(SpanInsertColumns().find(", attr_keys, attr_types, attr_str, attr_int, attr_dbl, "),
            std::string::npos);
  EXPECT_EQ(SpanInsertColumns().substr(SpanInsertColumns().size() - 7), ", span)");
}

TEST(RowBinaryTest, ReadsWhatItWritesAndRejectsTruncation) {
  RowBinaryWriter w;
  w.UInt8(1);
  w.UInt16(513);
  w.UInt64(UINT64_MAX);
  w.Int64(-2);
  w.Float64(-0.5);
  w.String(std::string(300, 'a'));
  w.Fixed("abc");
  RowBinaryReader r(w.data());
  EXPECT_EQ(*r.UInt8(), 1);
  EXPECT_EQ(*r.UInt16(), 513);
  EXPECT_EQ(*r.UInt64(), UINT64_MAX);
  EXPECT_EQ(*r.Int64(), -2);
  EXPECT_EQ(*r.Float64(), -0.5);
  EXPECT_EQ(*r.String(), std::string(300, 'a'));
  EXPECT_EQ(*r.Fixed(3), "abc");
  EXPECT_TRUE(r.AtEnd());
  EXPECT_EQ(r.UInt8().status().code(), absl::StatusCode::kDataLoss);

  RowBinaryReader truncated(std::string_view(w.data()).substr(0, 15));
  ASSERT_TRUE(truncated.UInt8().ok());
  ASSERT_TRUE(truncated.UInt16().ok());
  ASSERT_TRUE(truncated.UInt64().ok());
  absl::StatusOr<int64_t> cut = truncated.Int64();
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(cut.status().message(),
            "clickhouse: RowBinary response ends inside a 8-byte integer at byte 11");
  // A length claiming more bytes than there are.
  RowBinaryReader bad_length("\xff\x01x");
  EXPECT_EQ(bad_length.String().status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace teletrace::storage::clickhouse
