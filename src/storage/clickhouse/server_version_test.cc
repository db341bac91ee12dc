#include "storage/clickhouse/server_version.h"

#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace teletrace::storage::clickhouse {
namespace {

ServerVersion V(uint32_t major, uint32_t minor, uint32_t patch = 0) {
  return ServerVersion{major, minor, patch};
}

TEST(ServerVersionTest, ParsesWhatServersAnswer) {
  absl::StatusOr<ServerVersion> debian = ParseServerVersion("18.16.1\n");
  ASSERT_TRUE(debian.ok()) << debian.status();
  EXPECT_EQ(debian->ToString(), "18.16.1");
  absl::StatusOr<ServerVersion> current = ParseServerVersion("26.9.2.1\n");
  ASSERT_TRUE(current.ok()) << current.status();
  EXPECT_EQ(current->ToString(), "26.9.2");
  absl::StatusOr<ServerVersion> two_parts = ParseServerVersion(" 25.8 ");
  ASSERT_TRUE(two_parts.ok()) << two_parts.status();
  EXPECT_EQ(two_parts->ToString(), "25.8.0");
}

TEST(ServerVersionTest, RejectsWhatIsNotAVersionWithAMessage) {
  struct Case {
    std::string text;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"", "clickhouse: server version \"\": empty"},
           {"\n", "clickhouse: server version \"\": empty"},
           {"abc",
            "clickhouse: server version \"abc\": does not start with a major version number"},
           {"-1.2", "clickhouse: server version \"-1.2\": does not start with a major version "
                    "number"},
           {"26", "clickhouse: server version \"26\": no minor version after the major one"},
           {"26.x", "clickhouse: server version \"26.x\": the minor version is not a number"},
           {"26.9.", "clickhouse: server version \"26.9.\": the patch version is not a number"},
           {"26.9.2-beta", "clickhouse: server version \"26.9.2-beta\": unexpected characters "
                           "after the version"},
           {"26.9.2.1.", "clickhouse: server version \"26.9.2.1.\": a version part is not a "
                         "number"},
           // What std::atoi would have wrapped or read as 0 is an error.
           {"99999999999999999999.1", "clickhouse: server version \"99999999999999999999.1\": "
                                      "does not start with a major version number"},
           {"4294967296.1", "clickhouse: server version \"4294967296.1\": does not start with a "
                            "major version number"},
           {"26.9\x01", "clickhouse: server version \"26.9\\x01\": unexpected characters after "
                        "the version"},
           {"Code: 516. DB::Exception: x", "clickhouse: server version \"Code: 516. "
                                           "DB::Exception: x\": does not start with a major "
                                           "version number"},
       }) {
    absl::StatusOr<ServerVersion> v = ParseServerVersion(c.text);
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_EQ(v.status().message(), c.message);
  }
  // A huge answer is shown truncated.
  absl::StatusOr<ServerVersion> huge = ParseServerVersion(std::string(100000, 'x'));
  EXPECT_EQ(huge.status().message(),
            "clickhouse: server version \"" + std::string(64, 'x') +
                "\"...: does not start with a major version number");
}

TEST(ServerVersionTest, OnlyEighteenGetsTheLowCardinalitySetting) {
  const QuerySettings eighteen = {{"allow_experimental_low_cardinality_type", "1"}};
  struct Case {
    ServerVersion version;
    bool cluster;
    QuerySettings ddl;
    bool low_cardinality;
  };
  for (const Case& c : std::vector<Case>{
           {V(18, 16, 1), false, eighteen, true},
           // 18.x runs ON CLUSTER DDL without the request's settings.
           {V(18, 16, 1), true, eighteen, false},
           {V(18, 99), false, eighteen, true},
           {V(19, 0), false, {}, true},
           {V(19, 0), true, {}, true},
           {V(24, 8, 4), false, {}, true},
           {V(25, 8, 2), false, {}, true},
           {V(26, 9, 2), false, {}, true},
           {V(26, 9, 2), true, {}, true},
       }) {
    VersionSettings s = SettingsForVersion(c.version, c.cluster);
    EXPECT_EQ(s.ddl_settings, c.ddl) << c.version.ToString() << " cluster=" << c.cluster;
    EXPECT_EQ(s.low_cardinality, c.low_cardinality) << c.version.ToString();
  }
}

TEST(ServerVersionTest, SkipIndexesFromTwentyOneEight) {
  for (const auto& [version, skip_indices] : std::vector<std::pair<ServerVersion, bool>>{
           {V(18, 16, 1), false},
           {V(20, 12), false},
           {V(21, 7), false},
           {V(21, 8), true},
           {V(24, 8, 4), true},
           {V(26, 9, 2), true},
       }) {
    EXPECT_EQ(SettingsForVersion(version, false).skip_indices, skip_indices) << version.ToString();
    EXPECT_EQ(SettingsForVersion(version, true).skip_indices, skip_indices) << version.ToString();
  }
}

TEST(ServerVersionTest, AtLeastComparesMajorThenMinor) {
  EXPECT_TRUE(V(18, 16).AtLeast(18, 16));
  EXPECT_FALSE(V(18, 14).AtLeast(18, 16));
  EXPECT_TRUE(V(19, 1).AtLeast(18, 16));
  EXPECT_FALSE(V(1, 1).AtLeast(18, 16));
  EXPECT_TRUE(V(26, 0).AtLeast(25, 8));
}

}  // namespace
}  // namespace teletrace::storage::clickhouse
