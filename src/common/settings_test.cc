#include "common/settings.h"

#include "gtest/gtest.h"

namespace teletrace::settings {
namespace {

constexpr uint64_t kSecond = 1000000000;

TEST(SettingsTest, Durations) {
  EXPECT_EQ(*Duration("k", "0"), 0u);
  EXPECT_EQ(*Duration("k", "250ms"), 250000000u);
  EXPECT_EQ(*Duration("k", "90s"), 90 * kSecond);
  EXPECT_EQ(*Duration("k", "30m"), 1800 * kSecond);
  EXPECT_EQ(*Duration("k", "72h"), 72 * 3600 * kSecond);
  EXPECT_EQ(*Duration("k", "7d"), 7 * 86400 * kSecond);
  EXPECT_EQ(*Duration("k", "2w"), 14 * 86400 * kSecond);
  EXPECT_EQ(*Duration("k", "1h30m"), 5400 * kSecond);
  EXPECT_EQ(*Duration("k", "1s500ms"), 1500000000u);
  EXPECT_EQ(*Duration("k", "0h"), 0u);
  EXPECT_EQ(Duration("storage.sqlite.retention_max_age", "7days").status().message(),
            "storage.sqlite.retention_max_age: invalid value \"7days\": want 0 or <number><unit> "
            "parts with unit ms, s, m, h, d or w");
  EXPECT_EQ(Duration("k", "5x").status().message(),
            "k: invalid value \"5x\": unknown unit 'x' (want 0 or <number><unit> parts with unit "
            "ms, s, m, h, d or w)");
  EXPECT_EQ(Duration("k", "10").status().message(),
            "k: invalid value \"10\": want 0 or <number><unit> parts with unit ms, s, m, h, d or w");
  EXPECT_EQ(Duration("k", "").status().message(),
            "k: invalid value \"\": empty duration (want 0 or <number><unit> parts with unit ms, "
            "s, m, h, d or w)");
  EXPECT_EQ(Duration("k", "99999999999999999999d").status().message(),
            "k: invalid value \"99999999999999999999d\": number out of range");
  EXPECT_EQ(Duration("k", "999999999999d").status().message(),
            "k: invalid value \"999999999999d\": duration too large");
  for (const char* bad : {"h", "-1s", "1.5h", " 1h", "1h ", "1H", "s1"}) {
    EXPECT_EQ(Duration("k", bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(SettingsTest, Unsigned) {
  EXPECT_EQ(*Unsigned("k", "0", 0, 10), 0u);
  EXPECT_EQ(*Unsigned("k", "10", 0, 10), 10u);
  EXPECT_EQ(*Unsigned("k", "18446744073709551615", 0, UINT64_MAX), UINT64_MAX);
  EXPECT_EQ(Unsigned("server.http_port", "70000", 0, 65535).status().message(),
            "server.http_port: invalid value \"70000\": want an integer from 0 to 65535");
  for (const char* bad : {"", "-1", "+1", "1e3", "0x10", " 1", "18446744073709551616"}) {
    EXPECT_EQ(Unsigned("k", bad, 0, UINT64_MAX).status().code(),
              absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(Unsigned("k", "0", 1, 10).ok());
}

TEST(SettingsTest, Bytes) {
  EXPECT_EQ(*Bytes("k", "16777216", UINT64_MAX), 16777216u);
  EXPECT_EQ(*Bytes("k", "16MiB", UINT64_MAX), 16777216u);
  EXPECT_EQ(*Bytes("k", "512KiB", UINT64_MAX), 524288u);
  EXPECT_EQ(*Bytes("k", "2GiB", UINT64_MAX), uint64_t{2} << 30);
  EXPECT_EQ(*Bytes("k", "1TiB", UINT64_MAX), uint64_t{1} << 40);
  EXPECT_EQ(*Bytes("k", "10GB", UINT64_MAX), 10000000000u);
  EXPECT_EQ(*Bytes("k", "3KB", UINT64_MAX), 3000u);
  EXPECT_EQ(*Bytes("k", "0", 0), 0u);
  EXPECT_EQ(Bytes("ingest.max_request_bytes", "3GiB", uint64_t{1} << 31).status().message(),
            "ingest.max_request_bytes: invalid value \"3GiB\": want a number of bytes up to "
            "2147483648, optionally with a unit KiB, MiB, GiB, TiB, KB, MB, GB or TB");
  for (const char* bad : {"", "MiB", "1 MiB", "1mib", "1.5GiB", "-1", "1PiB", "99999999999TiB"}) {
    EXPECT_EQ(Bytes("k", bad, UINT64_MAX).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(SettingsTest, Bools) {
  for (const char* yes : {"true", "1", "yes", "on"}) EXPECT_TRUE(*Bool("k", yes)) << yes;
  for (const char* no : {"false", "0", "no", "off"}) EXPECT_FALSE(*Bool("k", no)) << no;
  EXPECT_EQ(Bool("k", "maybe").status().message(), "k: invalid value \"maybe\": want true or false");
}

TEST(SettingsTest, Lists) {
  EXPECT_EQ(List("a, b,,c ,"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(List(""), std::vector<std::string>{});
  EXPECT_EQ(List(" , "), std::vector<std::string>{});
  EXPECT_EQ(List("http://x:1"), std::vector<std::string>{"http://x:1"});
}

TEST(SettingsTest, UnknownListsTheKnownKeys) {
  const std::vector<Spec> known = {{"path", "", ""}, {"block_spans", "", ""}};
  EXPECT_EQ(Unknown("storage.sqlite", "pth", known).message(),
            "storage.sqlite.pth: unknown setting (known: path, block_spans)");
}

}  // namespace
}  // namespace teletrace::settings
