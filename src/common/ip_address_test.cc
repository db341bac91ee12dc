#include "common/ip_address.h"

#include "gtest/gtest.h"

namespace teletrace {
namespace {

TEST(IpAddressTest, CanonicalFormsAsGoWritesThem) {
  EXPECT_EQ(CanonicalIpAddress("10.1.2.3"), "10.1.2.3");
  EXPECT_EQ(CanonicalIpAddress("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
  EXPECT_EQ(CanonicalIpAddress("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
  EXPECT_EQ(CanonicalIpAddress("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
  EXPECT_EQ(CanonicalIpAddress("::1"), "::1");
  EXPECT_EQ(CanonicalIpAddress("::"), "::");
  EXPECT_EQ(CanonicalIpAddress("::ffff:10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(CanonicalIpAddress("fe80::1:0:0"), "fe80::1:0:0");
}

TEST(IpAddressTest, NotAnAddressIsNullopt) {
  EXPECT_EQ(CanonicalIpAddress(""), std::nullopt);
  EXPECT_EQ(CanonicalIpAddress("300.1.1.1"), std::nullopt);
  EXPECT_EQ(CanonicalIpAddress("01.2.3.4"), std::nullopt);
  EXPECT_EQ(CanonicalIpAddress("fe80::1%eth0"), std::nullopt);
  EXPECT_EQ(CanonicalIpAddress("db.local"), std::nullopt);
  EXPECT_EQ(CanonicalIpAddress(std::string_view("1.2.3.4\0", 8)), std::nullopt);
}

}  // namespace
}  // namespace teletrace
