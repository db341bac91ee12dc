// The reader takes bytes from the network: every malformed response must be a DataLoss error
// naming where it broke, never a read past the end or an allocation sized by the input.
#include "storage/clickhouse/row_binary.h"

#include <string>

#include "gtest/gtest.h"

namespace teletrace::storage::clickhouse {
namespace {

TEST(RowBinaryTest, RoundTripsEveryType) {
  RowBinaryWriter w;
  w.UInt8(7);
  w.UInt16(0xBEEF);
  w.UInt64(UINT64_MAX);
  w.Int64(INT64_MIN);
  w.Float64(-0.5);
  w.String("caf\xc3\xa9");
  w.Fixed(std::string("\x00\x01\x02", 3));
  w.VarUInt(UINT64_MAX);
  RowBinaryReader r(w.data());
  EXPECT_EQ(*r.UInt8(), 7);
  EXPECT_EQ(*r.UInt16(), 0xBEEF);
  EXPECT_EQ(*r.UInt64(), UINT64_MAX);
  EXPECT_EQ(*r.Int64(), INT64_MIN);
  EXPECT_EQ(*r.Float64(), -0.5);
  EXPECT_EQ(*r.String(), "caf\xc3\xa9");
  EXPECT_EQ(*r.Fixed(3), std::string("\x00\x01\x02", 3));
  EXPECT_EQ(*r.VarUInt(), UINT64_MAX);
  EXPECT_TRUE(r.AtEnd());
}

TEST(RowBinaryTest, TruncatedNumbersAreErrors) {
  const std::string data("\x01\x02\x03", 3);  // the reader keeps a view: the bytes must outlive it
  RowBinaryReader r(data);
  absl::StatusOr<uint64_t> v = r.UInt64();
  EXPECT_EQ(v.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(v.status().message(),
            "clickhouse: RowBinary response ends inside a 8-byte integer at byte 0");
  // Nothing was consumed: smaller reads still see the bytes.
  EXPECT_EQ(*r.UInt16(), 0x0201);
  EXPECT_EQ(r.UInt16().status().message(),
            "clickhouse: RowBinary response ends inside a 2-byte integer at byte 2");
  EXPECT_EQ(*r.UInt8(), 3);
  EXPECT_EQ(r.UInt8().status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(r.Float64().status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(r.Int64().status().code(), absl::StatusCode::kDataLoss);
}

TEST(RowBinaryTest, HugeLengthPrefixIsAnErrorNotAnAllocation) {
  // A String whose length prefix claims 2^64-1 bytes, followed by 3 bytes.
  RowBinaryWriter w;
  w.VarUInt(UINT64_MAX);
  w.Fixed("abc");
  RowBinaryReader r(w.data());
  absl::StatusOr<std::string_view> s = r.String();
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(s.status().message(),
            "clickhouse: RowBinary response ends inside a string at byte 10");
  // One byte more than there is.
  RowBinaryWriter w2;
  w2.VarUInt(4);
  w2.Fixed("abc");
  RowBinaryReader r2(w2.data());
  EXPECT_EQ(r2.String().status().message(),
            "clickhouse: RowBinary response ends inside a string at byte 1");
}

TEST(RowBinaryTest, FixedStringPastTheEndIsAnError) {
  RowBinaryReader r("0123456789abcde");  // 15 bytes where a 16-byte trace id is expected
  absl::StatusOr<std::string_view> id = r.Fixed(16);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(id.status().message(),
            "clickhouse: RowBinary response ends inside a fixed string at byte 0");
  EXPECT_EQ(r.Fixed(SIZE_MAX).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(*r.Fixed(15), "0123456789abcde");
  EXPECT_EQ(r.Fixed(1).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(*r.Fixed(0) == "");
}

TEST(RowBinaryTest, MalformedLengthsAreErrors) {
  // Ends inside the varint.
  const std::string cut_bytes("\x80\x80", 2);
  RowBinaryReader cut(cut_bytes);
  EXPECT_EQ(cut.String().status().message(),
            "clickhouse: RowBinary response ends inside a length at byte 2");
  // Ten bytes whose last one carries more than bit 63.
  const std::string wide_bytes = std::string(9, '\xff') + "\x02";
  RowBinaryReader wide(wide_bytes);
  EXPECT_EQ(wide.VarUInt().status().message(),
            "clickhouse: RowBinary length at byte 0 does not fit in 64 bits");
  // Eleven bytes: a continuation bit on the tenth.
  const std::string longer_bytes = std::string(10, '\x80') + "\x01";
  RowBinaryReader longer(longer_bytes);
  EXPECT_EQ(longer.VarUInt().status().message(),
            "clickhouse: RowBinary length at byte 0 does not fit in 64 bits");
  RowBinaryReader empty("");
  EXPECT_TRUE(empty.AtEnd());
  EXPECT_EQ(empty.String().status().code(), absl::StatusCode::kDataLoss);
}

TEST(RowBinaryTest, EveryPrefixOfAValidRowFailsCleanly) {
  RowBinaryWriter w;
  w.UInt64(1);
  w.String("a longer string value");
  w.Fixed("0123456789abcdef");
  w.UInt16(3);
  const std::string row = w.data();
  for (size_t n = 0; n < row.size(); ++n) {
    RowBinaryReader r(std::string_view(row).substr(0, n));
    absl::Status status;
    if (absl::StatusOr<uint64_t> a = r.UInt64(); !a.ok()) {
      status = a.status();
    } else if (absl::StatusOr<std::string_view> b = r.String(); !b.ok()) {
      status = b.status();
    } else if (absl::StatusOr<std::string_view> c = r.Fixed(16); !c.ok()) {
      status = c.status();
    } else {
      status = r.UInt16().status();
    }
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << n;
  }
}

}  // namespace
}  // namespace teletrace::storage::clickhouse
