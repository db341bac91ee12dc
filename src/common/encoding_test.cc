#include "common/encoding.h"

#include <limits>

#include "gtest/gtest.h"

namespace teletrace::encoding {
namespace {

TEST(EncodingTest, VarintsRoundTripAtEveryLength) {
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{300},
                     uint64_t{1} << 35, std::numeric_limits<uint64_t>::max()}) {
    std::string out;
    AppendVarint(&out, v);
    const char* p = out.data();
    uint64_t back = 0;
    ASSERT_EQ(ReadVarint(&p, out.data() + out.size(), &back), ReadResult::kOk) << v;
    EXPECT_EQ(back, v);
    EXPECT_EQ(p, out.data() + out.size());
  }
  std::string three;
  AppendVarint(&three, 300);
  EXPECT_EQ(three, "\xac\x02");
  std::string max;
  AppendVarint(&max, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(max.size(), 10u);
}

TEST(EncodingTest, MalformedVarintsAreRefused) {
  uint64_t v = 0;
  const std::string truncated = "\x80\x80";
  const char* p = truncated.data();
  EXPECT_EQ(ReadVarint(&p, truncated.data() + truncated.size(), &v), ReadResult::kTruncated);
  const std::string empty;
  p = empty.data();
  EXPECT_EQ(ReadVarint(&p, empty.data(), &v), ReadResult::kTruncated);
  // Ten bytes whose last carries more than bit 63, and eleven bytes.
  const std::string wide = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02";
  p = wide.data();
  EXPECT_EQ(ReadVarint(&p, wide.data() + wide.size(), &v), ReadResult::kTooLong);
  const std::string eleven = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x81\x01";
  p = eleven.data();
  EXPECT_EQ(ReadVarint(&p, eleven.data() + eleven.size(), &v), ReadResult::kTooLong);
}

TEST(EncodingTest, ZigZagAndFixed) {
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{1}, std::numeric_limits<int64_t>::min(),
                    std::numeric_limits<int64_t>::max()}) {
    EXPECT_EQ(UnZigZag(ZigZag(v)), v);
  }
  EXPECT_EQ(ZigZag(-1), 1u);
  EXPECT_EQ(ZigZag(1), 2u);
  std::string out;
  AppendFixed(&out, 0x0102030405060708, 8);
  AppendFixed(&out, 0xBEEF, 2);
  EXPECT_EQ(out, std::string("\x08\x07\x06\x05\x04\x03\x02\x01\xef\xbe", 10));
  const char* p = out.data();
  uint64_t v = 0;
  ASSERT_TRUE(ReadFixed(&p, out.data() + out.size(), 8, &v));
  EXPECT_EQ(v, 0x0102030405060708u);
  ASSERT_TRUE(ReadFixed(&p, out.data() + out.size(), 2, &v));
  EXPECT_EQ(v, 0xBEEFu);
  EXPECT_FALSE(ReadFixed(&p, out.data() + out.size(), 1, &v));
}

}  // namespace
}  // namespace teletrace::encoding
