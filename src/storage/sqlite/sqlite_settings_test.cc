#include "storage/sqlite/sqlite_settings.h"

#include "gtest/gtest.h"

namespace teletrace::storage::sqlite {
namespace {

constexpr uint64_t kSecond = 1000000000;

TEST(SqliteSettingsTest, Defaults) {
  absl::StatusOr<SqliteSettings> s = ParseSqliteSettings({});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->path, "./teletrace-data");
  EXPECT_EQ(s->retention_max_age_nano, 168 * 3600 * kSecond);
  EXPECT_EQ(s->retention_max_bytes, 0u);
  EXPECT_EQ(s->block_spans, 1024u);
}

TEST(SqliteSettingsTest, ParsesEveryKey) {
  absl::StatusOr<SqliteSettings> s = ParseSqliteSettings({{"path", "/data"},
                                                          {"retention_max_age", "7d"},
                                                          {"retention_max_bytes", "1073741824"},
                                                          {"block_spans", "512"}});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->path, "/data");
  EXPECT_EQ(s->retention_max_age_nano, 7 * 86400 * kSecond);
  EXPECT_EQ(s->retention_max_bytes, 1073741824u);
  EXPECT_EQ(s->block_spans, 512u);
}

TEST(SqliteSettingsTest, Durations) {
  EXPECT_EQ(*ParseDurationNano("0"), 0u);
  EXPECT_EQ(*ParseDurationNano("90s"), 90 * kSecond);
  EXPECT_EQ(*ParseDurationNano("30m"), 1800 * kSecond);
  EXPECT_EQ(*ParseDurationNano("72h"), 72 * 3600 * kSecond);
  EXPECT_EQ(*ParseDurationNano("7d"), 7 * 86400 * kSecond);
  EXPECT_EQ(*ParseDurationNano("1h30m"), 5400 * kSecond);
  EXPECT_EQ(*ParseDurationNano("0h"), 0u);
  for (const char* bad : {"", "h", "10", "1.5h", "-1h", "1w", "1h30", "99999999999999999999d",
                          "300000d"}) {
    EXPECT_EQ(ParseDurationNano(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ParseDurationNano("1w").status().message(), "unknown unit 'w' (want s, m, h or d)");
  EXPECT_EQ(ParseDurationNano("300000d").status().message(), "duration too large");
}

}  // namespace
}  // namespace teletrace::storage::sqlite
