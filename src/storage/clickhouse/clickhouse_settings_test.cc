#include "storage/clickhouse/clickhouse_settings.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace teletrace::storage::clickhouse {
namespace {

using ::testing::ElementsAre;

TEST(ClickHouseSettingsTest, Defaults) {
  absl::StatusOr<ClickHouseSettings> s = ParseClickHouseSettings({});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(s->endpoints, ElementsAre("http://127.0.0.1:8123"));
  EXPECT_EQ(s->database, "teletrace");
  EXPECT_EQ(s->cluster, "");
  EXPECT_EQ(s->user, "default");
  EXPECT_EQ(s->insert_batch_spans, 10000u);
  EXPECT_EQ(s->flush_interval_nano, 0u);
  EXPECT_EQ(s->retention_max_age_nano, uint64_t{168} * 3600 * 1000000000);
  EXPECT_EQ(s->retention_max_bytes, 0u);
}

TEST(ClickHouseSettingsTest, ParsesEveryKey) {
  absl::StatusOr<ClickHouseSettings> s = ParseClickHouseSettings({
      {"endpoints", "http://a:8123/, https://b.example:8443"},
      {"database", "traces_1"},
      {"cluster", "main"},
      {"user", "tt"},
      {"password", "p w"},
      {"tls_ca_file", "/etc/ca.pem"},
      {"insert_batch_spans", "500"},
      {"flush_interval", "250ms"},
      {"retention_max_age", "7d"},
      {"retention_max_bytes", "1000000"},
      {"request_timeout", "1m30s"},
  });
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(s->endpoints, ElementsAre("http://a:8123", "https://b.example:8443"));
  EXPECT_EQ(s->database, "traces_1");
  EXPECT_EQ(s->cluster, "main");
  EXPECT_EQ(s->user, "tt");
  EXPECT_EQ(s->password, "p w");
  EXPECT_EQ(s->tls_ca_file, "/etc/ca.pem");
  EXPECT_EQ(s->insert_batch_spans, 500u);
  EXPECT_EQ(s->flush_interval_nano, 250000000u);
  EXPECT_EQ(s->retention_max_age_nano, uint64_t{7} * 86400 * 1000000000);
  EXPECT_EQ(s->retention_max_bytes, 1000000u);
  EXPECT_EQ(s->request_timeout_nano, uint64_t{90} * 1000000000);
}

TEST(ClickHouseSettingsTest, RejectsUnknownKeyNamingIt) {
  absl::StatusOr<ClickHouseSettings> s = ParseClickHouseSettings({{"hosts", "x"}});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(),
            "storage.clickhouse.hosts: unknown setting (known: endpoints, database, cluster, user, "
            "password, tls_ca_file, insert_batch_spans, flush_interval, retention_max_age, "
            "retention_max_bytes, request_timeout)");
}

TEST(ClickHouseSettingsTest, DeclaredDefaultsAreTheStructsDefaults) {
  BackendSettings declared;
  for (const settings::Spec& spec : ClickHouseSettingSpecs()) declared[spec.key] = spec.default_value;
  absl::StatusOr<ClickHouseSettings> parsed = ParseClickHouseSettings(declared);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const ClickHouseSettings defaults;
  EXPECT_EQ(parsed->endpoints, defaults.endpoints);
  EXPECT_EQ(parsed->database, defaults.database);
  EXPECT_EQ(parsed->cluster, defaults.cluster);
  EXPECT_EQ(parsed->user, defaults.user);
  EXPECT_EQ(parsed->password, defaults.password);
  EXPECT_EQ(parsed->tls_ca_file, defaults.tls_ca_file);
  EXPECT_EQ(parsed->insert_batch_spans, defaults.insert_batch_spans);
  EXPECT_EQ(parsed->flush_interval_nano, defaults.flush_interval_nano);
  EXPECT_EQ(parsed->retention_max_age_nano, defaults.retention_max_age_nano);
  EXPECT_EQ(parsed->retention_max_bytes, defaults.retention_max_bytes);
  EXPECT_EQ(parsed->request_timeout_nano, defaults.request_timeout_nano);
}

TEST(ClickHouseSettingsTest, RejectsBadValuesNamingTheKey) {
  struct Case {
    std::string key, value, message;
  };
  const Case cases[] = {
      {"endpoints", "127.0.0.1:8123",
       "storage.clickhouse.endpoints: invalid value \"127.0.0.1:8123\": endpoint "
       "\"127.0.0.1:8123\" must start with http:// or https://"},
      {"endpoints", "http://a,",
       "storage.clickhouse.endpoints: invalid value \"http://a,\": empty endpoint in the list"},
      {"database", "drop table; x",
       "storage.clickhouse.database: invalid value \"drop table; x\": use letters, digits and "
       "underscores only, not starting with a digit"},
      {"cluster", "1c",
       "storage.clickhouse.cluster: invalid value \"1c\": use letters, digits and underscores "
       "only, not starting with a digit"},
      {"insert_batch_spans", "0",
       "storage.clickhouse.insert_batch_spans: invalid value \"0\": want an integer from 1 to "
       "1000000"},
      {"flush_interval", "5x",
       "storage.clickhouse.flush_interval: invalid value \"5x\": unknown unit 'x' (want 0 or "
       "<number><unit> parts with unit ms, s, m, h, d or w)"},
      {"retention_max_age", "",
       "storage.clickhouse.retention_max_age: invalid value \"\": empty duration (want 0 or "
       "<number><unit> parts with unit ms, s, m, h, d or w)"},
      {"retention_max_bytes", "-1",
       "storage.clickhouse.retention_max_bytes: invalid value \"-1\": want a number of bytes up "
       "to 18446744073709551615, optionally with a unit KiB, MiB, GiB, TiB, KB, MB, GB or TB"},
      {"request_timeout", "500us",
       "storage.clickhouse.request_timeout: invalid value \"500us\": unknown unit 'u' (want 0 or "
       "<number><unit> parts with unit ms, s, m, h, d or w)"},
      {"request_timeout", "0",
       "storage.clickhouse.request_timeout: invalid value \"0\": must be at least 1ms"},
      {"user", "", "storage.clickhouse.user: invalid value \"\": must not be empty"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ClickHouseSettings> s = ParseClickHouseSettings({{c.key, c.value}});
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << c.key;
    EXPECT_EQ(s.status().message(), c.message);
  }
}

}  // namespace
}  // namespace teletrace::storage::clickhouse
