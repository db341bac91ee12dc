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

TEST(SqliteSettingsTest, DeclaredDefaultsAreTheStructsDefaults) {
  BackendSettings declared;
  for (const settings::Spec& spec : SqliteSettingSpecs()) declared[spec.key] = spec.default_value;
  absl::StatusOr<SqliteSettings> parsed = ParseSqliteSettings(declared);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const SqliteSettings defaults;
  EXPECT_EQ(parsed->path, defaults.path);
  EXPECT_EQ(parsed->retention_max_age_nano, defaults.retention_max_age_nano);
  EXPECT_EQ(parsed->retention_max_bytes, defaults.retention_max_bytes);
  EXPECT_EQ(parsed->block_spans, defaults.block_spans);
}

TEST(SqliteSettingsTest, SharedVocabularyWithTheKeyNamed) {
  absl::StatusOr<SqliteSettings> s =
      ParseSqliteSettings({{"retention_max_age", "2w"}, {"retention_max_bytes", "50GiB"}});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->retention_max_age_nano, 14 * 86400 * kSecond);
  EXPECT_EQ(s->retention_max_bytes, uint64_t{50} << 30);
  EXPECT_EQ(ParseSqliteSettings({{"block_spans", "0"}}).status().message(),
            "storage.sqlite.block_spans: invalid value \"0\": want an integer from 1 to 65536");
  EXPECT_EQ(ParseSqliteSettings({{"retention_max_age", "1h30"}}).status().message(),
            "storage.sqlite.retention_max_age: invalid value \"1h30\": want 0 or <number><unit> "
            "parts with unit ms, s, m, h, d or w");
  EXPECT_EQ(ParseSqliteSettings({{"path", ""}}).status().message(),
            "storage.sqlite.path: invalid value \"\": must not be empty");
  EXPECT_EQ(ParseSqliteSettings({{"pth", "/x"}}).status().message(),
            "storage.sqlite.pth: unknown setting (known: path, retention_max_age, "
            "retention_max_bytes, block_spans, operations_max_bytes)");
}

}  // namespace
}  // namespace teletrace::storage::sqlite
