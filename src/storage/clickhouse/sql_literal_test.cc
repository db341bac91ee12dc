#include "storage/clickhouse/sql_literal.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace teletrace::storage::clickhouse {
namespace {

TEST(SqlStringTest, QuotesPlainText) {
  EXPECT_EQ(SqlString(""), "''");
  EXPECT_EQ(SqlString("GET /home"), "'GET /home'");
  EXPECT_EQ(SqlString("caf\xc3\xa9 \xe2\x9c\x93"), "'caf\xc3\xa9 \xe2\x9c\x93'");
}

TEST(SqlStringTest, EscapesQuoteAndBackslash) {
  EXPECT_EQ(SqlString("it's"), "'it\\'s'");
  EXPECT_EQ(SqlString("a\\b"), "'a\\\\b'");
  EXPECT_EQ(SqlString("\\'"), "'\\\\\\''");
  // An injection attempt stays one literal.
  EXPECT_EQ(SqlString("x' OR 1 = 1 --"), "'x\\' OR 1 = 1 --'");
  EXPECT_EQ(SqlString("x\\' OR 1 = 1 --"), "'x\\\\\\' OR 1 = 1 --'");
}

TEST(SqlStringTest, EscapesEveryControlByte) {
  EXPECT_EQ(SqlString(std::string("\0", 1)), "'\\0'");
  EXPECT_EQ(SqlString("\n\t\r\b\f"), "'\\n\\t\\r\\b\\f'");
  EXPECT_EQ(SqlString("\x01\x1f\x7f"), "'\\x01\\x1F\\x7F'");
  // Bytes above 0x7f (UTF-8 or not) pass through.
  EXPECT_EQ(SqlString("\xff\x80"), "'\xff\x80'");
  for (int b = 0; b < 0x20; ++b) {
    std::string escaped = SqlString(std::string(1, static_cast<char>(b)));
    EXPECT_EQ(escaped[1], '\\') << b;
  }
}

TEST(SqlLiteralTest, Numbers) {
  EXPECT_EQ(SqlInt(0), "0");
  EXPECT_EQ(SqlInt(-42), "-42");
  EXPECT_EQ(SqlInt(std::numeric_limits<int64_t>::max()), "9223372036854775807");
  EXPECT_EQ(SqlInt(std::numeric_limits<int64_t>::min()), "toInt64('-9223372036854775808')");
  EXPECT_EQ(SqlUInt(18446744073709551615ULL), "18446744073709551615");
  EXPECT_EQ(SqlDouble(1.0), "reinterpretAsFloat64(unhex('000000000000f03f'))");
  EXPECT_EQ(SqlDouble(-0.0), "reinterpretAsFloat64(unhex('0000000000000080'))");
  EXPECT_EQ(SqlDouble(std::numeric_limits<double>::infinity()),
            "reinterpretAsFloat64(unhex('000000000000f07f'))");
}

TEST(SqlLiteralTest, Bytes) {
  EXPECT_EQ(SqlBytes(""), "unhex('')");
  EXPECT_EQ(SqlBytes(std::string("\x00\xff\x10", 3)), "unhex('00ff10')");
}

}  // namespace
}  // namespace teletrace::storage::clickhouse
